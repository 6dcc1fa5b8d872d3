-- A pull consumer belongs to the role (and bot platform) that created it: another key's
-- role cannot read or move its position. Consumers made before this rule are claimed by the
-- first caller that uses them.
ALTER TABLE event_consumers
    ADD COLUMN owner text CHECK (owner ~ '^(bot:[a-z]+|website|admin)$');
CREATE INDEX event_consumers_owner_idx ON event_consumers (owner);
