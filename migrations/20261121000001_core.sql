-- Core schema: ranks, unified users, achievements, the cross-platform event log and
-- idempotency records. Constraints that protect data live here, not only in Rust.

CREATE TABLE ranks (
    id           integer PRIMARY KEY CHECK (id BETWEEN 1 AND 20),
    name         text    NOT NULL UNIQUE,
    tier         text    NOT NULL CHECK (tier IN ('F', 'E', 'D', 'C', 'B', 'A', 'S')),
    stars        integer NOT NULL CHECK (stars BETWEEN 1 AND 3),
    color        text    NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    required_xp  integer NOT NULL UNIQUE CHECK (required_xp >= 0),
    reward_coins integer NOT NULL CHECK (reward_coins >= 0),
    emoji        text
);

-- Thresholds rise steeply (roughly x1.3-1.6 a step); rank 1 is where everyone starts.
INSERT INTO ranks (id, name, tier, stars, color, required_xp, reward_coins, emoji) VALUES
    (1,  'Rank F I',   'F', 1, '#9e9e9e',      0,    0, NULL),
    (2,  'Rank F II',  'F', 2, '#9e9e9e',    100,   50, NULL),
    (3,  'Rank F III', 'F', 3, '#9e9e9e',    250,   75, NULL),
    (4,  'Rank E I',   'E', 1, '#4caf50',    500,  100, NULL),
    (5,  'Rank E II',  'E', 2, '#4caf50',    850,  125, NULL),
    (6,  'Rank E III', 'E', 3, '#4caf50',   1300,  150, NULL),
    (7,  'Rank D I',   'D', 1, '#2196f3',   2000,  200, NULL),
    (8,  'Rank D II',  'D', 2, '#2196f3',   3000,  250, NULL),
    (9,  'Rank D III', 'D', 3, '#2196f3',   4300,  300, NULL),
    (10, 'Rank C I',   'C', 1, '#9c27b0',   6000,  400, NULL),
    (11, 'Rank C II',  'C', 2, '#9c27b0',   8200,  500, NULL),
    (12, 'Rank C III', 'C', 3, '#9c27b0',  11000,  600, NULL),
    (13, 'Rank B I',   'B', 1, '#ff9800',  15000,  800, NULL),
    (14, 'Rank B II',  'B', 2, '#ff9800',  20000, 1000, NULL),
    (15, 'Rank B III', 'B', 3, '#ff9800',  26500, 1250, NULL),
    (16, 'Rank A I',   'A', 1, '#f44336',  35000, 1500, NULL),
    (17, 'Rank A II',  'A', 2, '#f44336',  46000, 2000, NULL),
    (18, 'Rank A III', 'A', 3, '#f44336',  60000, 2500, NULL),
    (19, 'Rank S I',   'S', 1, '#ffc107',  80000, 3500, '👑'),
    (20, 'Rank S II',  'S', 2, '#ffc107', 110000, 5000, '👑');

CREATE TABLE unified_users (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    telegram_id       text        UNIQUE CHECK (telegram_id ~ '^[0-9]{1,20}$'),
    discord_id        text        UNIQUE CHECK (discord_id ~ '^[0-9]{1,20}$'),
    website_email     text        UNIQUE CHECK (
        char_length(website_email) <= 254
        AND website_email = lower(website_email)
        AND website_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    username          text        NOT NULL CHECK (char_length(username) BETWEEN 1 AND 64),
    display_name      text        NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 64),
    xp                integer     NOT NULL DEFAULT 0 CHECK (xp >= 0),
    coins             integer     NOT NULL DEFAULT 0 CHECK (coins >= 0),
    rank_id           integer     NOT NULL DEFAULT 1 REFERENCES ranks (id),
    -- Highest rank whose coin reward was paid: losing XP and climbing back pays nothing twice.
    rewarded_rank_id  integer     NOT NULL DEFAULT 1 REFERENCES ranks (id),
    games_played      integer     NOT NULL DEFAULT 0 CHECK (games_played >= 0),
    games_won         integer     NOT NULL DEFAULT 0 CHECK (games_won BETWEEN 0 AND games_played),
    total_voice_time  integer     NOT NULL DEFAULT 0 CHECK (total_voice_time >= 0),
    messages_sent     integer     NOT NULL DEFAULT 0 CHECK (messages_sent >= 0),
    current_season_xp integer     NOT NULL DEFAULT 0 CHECK (current_season_xp >= 0),
    daily_streak      integer     NOT NULL DEFAULT 0 CHECK (daily_streak >= 0),
    last_daily        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_active       timestamptz NOT NULL DEFAULT now(),
    primary_platform  text        NOT NULL CHECK (primary_platform IN ('telegram', 'discord', 'website')),
    CONSTRAINT unified_users_has_platform
        CHECK (telegram_id IS NOT NULL OR discord_id IS NOT NULL OR website_email IS NOT NULL),
    CONSTRAINT unified_users_primary_platform_linked CHECK (
        (primary_platform = 'telegram' AND telegram_id IS NOT NULL)
        OR (primary_platform = 'discord' AND discord_id IS NOT NULL)
        OR (primary_platform = 'website' AND website_email IS NOT NULL))
);

-- Leaderboards read these in order; the id breaks ties stably (ids are UUIDv7: creation order).
CREATE INDEX unified_users_xp_idx ON unified_users (xp DESC, id);
CREATE INDEX unified_users_season_xp_idx ON unified_users (current_season_xp DESC, id);

CREATE TABLE achievements (
    code         text    PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,64}$'),
    name         text    NOT NULL,
    description  text    NOT NULL,
    reward_xp    integer NOT NULL DEFAULT 0 CHECK (reward_xp >= 0),
    reward_coins integer NOT NULL DEFAULT 0 CHECK (reward_coins >= 0)
);

CREATE TABLE user_achievements (
    user_id          uuid        NOT NULL REFERENCES unified_users (id) ON DELETE CASCADE,
    achievement_code text        NOT NULL REFERENCES achievements (code),
    unlocked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, achievement_code)
);

-- The durable event log. Order is (txid, seq): txid is the writing transaction's id, seq the
-- row's place inside it. Readers only return rows whose transaction is older than every
-- transaction still running (pg_snapshot_xmin), so a row can never appear later behind a
-- cursor that was already handed out, whatever order concurrent transactions commit in.
CREATE TABLE cross_platform_events (
    id              uuid        PRIMARY KEY,
    txid            bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    seq             bigint      GENERATED ALWAYS AS IDENTITY,
    user_id         uuid        NOT NULL REFERENCES unified_users (id),
    event_type      text        NOT NULL CHECK (event_type IN (
        'xp_change', 'coins_change', 'rank_up', 'achievement_unlock', 'game_played',
        'voice_time', 'message_sent', 'daily_claimed', 'account_linked', 'accounts_merged',
        'season_started')),
    source_platform text        NOT NULL CHECK (source_platform IN ('telegram', 'discord', 'website')),
    data            jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(data) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cross_platform_events_order UNIQUE (txid, seq)
);
CREATE INDEX cross_platform_events_user_idx ON cross_platform_events (user_id, txid, seq);
CREATE INDEX cross_platform_events_created_idx ON cross_platform_events (created_at);

-- The doorbell: one notification per writing transaction (identical payloads are folded),
-- delivered at commit, so an aborted transaction wakes nobody. The table stays the truth.
CREATE FUNCTION cross_platform_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ttfd_events', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER cross_platform_events_notify
    AFTER INSERT ON cross_platform_events
    FOR EACH STATEMENT EXECUTE FUNCTION cross_platform_events_notify();

-- A retried mutation with the same key returns the stored result and changes nothing.
-- The row is written in the mutation's own transaction, so a failed attempt leaves none.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 128),
    operation    text        NOT NULL,
    fingerprint  text        NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
