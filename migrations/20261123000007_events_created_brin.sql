-- Retention prunes events by age, and events arrive in time order: a BRIN index finds the old
-- ones as well for that, at a fraction of a B-tree's cost on every insert (a million-event
-- import writes a million index entries otherwise). Ranges not yet summarised match every
-- query, so each filled range is summarised as soon as autovacuum can (autosummarize).
DROP INDEX cross_platform_events_created_idx;
CREATE INDEX cross_platform_events_created_idx ON cross_platform_events
    USING brin (created_at) WITH (autosummarize = on);
