-- API keys: the database keeps only a SHA-256 of each secret (secrets carry 256 random bits, so
-- a fast hash is enough). Revoking is an update, never a delete: events keep naming their key.
CREATE TABLE api_keys (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    role        text        NOT NULL CHECK (role IN ('bot', 'website', 'admin')),
    platform    text        CHECK (platform IN ('telegram', 'discord', 'website')),
    secret_hash bytea       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CONSTRAINT api_keys_bot_has_platform CHECK ((role = 'bot') = (platform IS NOT NULL))
);

-- Which key caused each event: the ledger's "who".
ALTER TABLE cross_platform_events ADD COLUMN api_key_id uuid REFERENCES api_keys (id);

-- Servers cache keys; a change to a key tells them at commit, so a revoked key stops working
-- at once, on open websockets too.
CREATE FUNCTION api_keys_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ttfd_keys', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_notify
    AFTER UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_notify();
