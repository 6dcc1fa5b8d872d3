-- One-time codes that link a second platform to an account: made by a bot for the user in
-- front of it, redeemed on another platform within ten minutes. Only a hash is kept.
CREATE TABLE link_codes (
    code_hash  bytea       PRIMARY KEY CHECK (length(code_hash) = 32),
    user_id    uuid        NOT NULL REFERENCES unified_users (id) ON DELETE CASCADE,
    platform   text        NOT NULL CHECK (platform IN ('telegram', 'discord', 'website')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX link_codes_user_idx ON link_codes (user_id);

-- Failed redemptions, counted per caller and target to stop guessing; shared by every
-- server process.
CREATE TABLE link_code_failures (
    scope     text        NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_code_failures_scope_idx ON link_code_failures (scope, failed_at);
