-- Rate limits shared by every server process: one token bucket per caller (an API key, or a
-- client address for the public). Processes take tokens in small leases, so a bucket sees one
-- statement per lease, not one per request. Unlogged: after a crash every bucket starts full,
-- which costs nothing worth a WAL write per lease.
CREATE UNLOGGED TABLE rate_limit_buckets (
    caller     text             PRIMARY KEY,
    tokens     double precision NOT NULL CHECK (tokens >= 0),
    updated_at timestamptz      NOT NULL
);
CREATE INDEX rate_limit_buckets_updated_idx ON rate_limit_buckets (updated_at);

-- Refills the caller's bucket (up to `capacity`, at `per_second`), takes up to `want` whole
-- tokens, and says how many it took; with none, how long until one is there.
CREATE FUNCTION rate_limit_take(
    p_caller text, p_capacity double precision, p_per_second double precision, p_want integer,
    OUT granted integer, OUT wait_seconds double precision)
LANGUAGE plpgsql AS $$
DECLARE
    available double precision;
BEGIN
    INSERT INTO rate_limit_buckets AS b (caller, tokens, updated_at)
    VALUES (p_caller, p_capacity, clock_timestamp())
    ON CONFLICT (caller) DO UPDATE SET
        tokens = least(p_capacity,
                       b.tokens + greatest(0, extract(epoch FROM clock_timestamp() - b.updated_at)) * p_per_second),
        updated_at = clock_timestamp()
    RETURNING tokens INTO available;
    granted := least(p_want, floor(available))::integer;
    UPDATE rate_limit_buckets SET tokens = available - granted WHERE caller = p_caller;
    wait_seconds := CASE WHEN granted > 0 THEN 0 ELSE (1 - available) / p_per_second END;
END
$$;
