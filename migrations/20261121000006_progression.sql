-- Progression: per-user time zones and streak freezes, the message XP cooldown, XP boosts and
-- seasons with final standings.

CREATE TABLE seasons (
    id         integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 64),
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz
);
-- At most one season is current.
CREATE UNIQUE INDEX seasons_one_current ON seasons ((true)) WHERE ended_at IS NULL;
INSERT INTO seasons (name) VALUES ('Season 1');

ALTER TABLE unified_users
    -- The season `current_season_xp` was earned in. XP of an ended season reads as 0, so
    -- starting a season touches no user row; a user's first change in the new season moves
    -- the old value into season_standings.
    ADD COLUMN season_id          integer NOT NULL DEFAULT 1 REFERENCES seasons (id),
    ADD COLUMN time_zone          text CHECK (char_length(time_zone) BETWEEN 1 AND 64),
    ADD COLUMN streak_freezes     integer NOT NULL DEFAULT 0 CHECK (streak_freezes >= 0),
    -- The user's local calendar day of the last daily claim.
    ADD COLUMN last_daily_day     date,
    ADD COLUMN last_message_xp_at timestamptz;

-- Community-wide boosts (user_id NULL) and per-user ones; boosts in force multiply together.
CREATE TABLE xp_boosts (
    id         uuid             PRIMARY KEY,
    user_id    uuid             REFERENCES unified_users (id) ON DELETE CASCADE,
    multiplier double precision NOT NULL CHECK (multiplier > 0 AND multiplier <= 100),
    starts_at  timestamptz      NOT NULL,
    ends_at    timestamptz      NOT NULL,
    reason     text             CHECK (char_length(reason) <= 200),
    created_at timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT xp_boosts_period CHECK (ends_at > starts_at)
);
CREATE INDEX xp_boosts_ends_idx ON xp_boosts (ends_at);

-- The season board reads only the current season's rows, best first.
DROP INDEX unified_users_season_xp_idx;
CREATE INDEX unified_users_season_idx ON unified_users (season_id, current_season_xp DESC, id);

-- Season XP of ended seasons, moved here from the user row at the user's first change in a
-- later season. A season's final standings are these rows plus the rows not moved yet.
CREATE TABLE season_standings (
    season_id integer NOT NULL REFERENCES seasons (id),
    user_id   uuid    NOT NULL REFERENCES unified_users (id) ON DELETE CASCADE,
    xp        integer NOT NULL CHECK (xp > 0),
    PRIMARY KEY (season_id, user_id)
);
CREATE INDEX season_standings_xp_idx ON season_standings (season_id, xp DESC, user_id);
