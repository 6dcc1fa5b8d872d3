-- Guesses are reserved before they are checked (so concurrent guesses cannot all pass the
-- limit) and a reservation is released when the guess was right: rows need an id.
ALTER TABLE link_code_failures ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX link_code_failures_failed_at_idx ON link_code_failures (failed_at);
