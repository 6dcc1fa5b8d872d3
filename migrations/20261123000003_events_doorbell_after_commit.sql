-- Servers ring the events doorbell themselves, after commit (src/events/hub.rs). A NOTIFY
-- inside the writing transaction made PostgreSQL serialise every such commit, WAL flush
-- included, behind one cluster-wide lock: 1,500 instead of 3,800 small transactions a second
-- on the benchmark machine.
DROP TRIGGER cross_platform_events_notify ON cross_platform_events;
DROP FUNCTION cross_platform_events_notify();
