-- Each named consumer's position in the event log (replaces the seeds' single `processed`
-- flag): several consumers each see every event, and one that was offline resumes where it
-- acknowledged. Positions are cursors, so they survive the pruning of old events.
CREATE TABLE event_consumers (
    name       text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    txid       bigint      NOT NULL,
    seq        bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
