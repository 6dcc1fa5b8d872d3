-- `ttfd import seed`: rows of the Python shared module's own database are remembered by their
-- seed id, so a second run changes only what changed.
ALTER TABLE import_sources DROP CONSTRAINT import_sources_source_check;
ALTER TABLE import_sources ADD CONSTRAINT import_sources_source_check
    CHECK (source IN ('telegram', 'discord', 'website', 'mee6', 'seed'));

-- The seed's events come over as history with transaction id 0: before every event this
-- service writes (real transaction ids start at 3), in their original order. Pull consumers
-- start after them (see `db::events::AFTER_HISTORY`).
COMMENT ON COLUMN cross_platform_events.txid IS
    'The writing transaction''s id; 0 for history imported from the Python shared module.';
