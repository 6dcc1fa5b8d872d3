-- Reverted XP and coin changes: at most one revert per change (the primary key makes a second
-- revert a no-op, also when two race). The revert itself is a new, compensating event.
CREATE TABLE event_reverts (
    event_id        uuid        PRIMARY KEY REFERENCES cross_platform_events (id) ON DELETE CASCADE,
    revert_event_id uuid        REFERENCES cross_platform_events (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
