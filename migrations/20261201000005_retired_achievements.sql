-- The rules are the catalog's one source: an achievement the rules no longer name is retired
-- (not listed, not unlockable), never deleted, so the users who hold it keep it.
ALTER TABLE achievements ADD COLUMN retired_at timestamptz;
