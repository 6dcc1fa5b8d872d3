-- Legacy imports (`ttfd import`). Each imported source record (a Telegram bot's user, a Discord
-- export's member, a website account, a MEE6 player) is remembered with the values it brought,
-- so importing the same file again changes nothing, and a corrected file applies only the
-- difference.
CREATE TABLE import_sources (
    source        text        NOT NULL CHECK (source IN ('telegram', 'discord', 'website', 'mee6')),
    source_id     text        NOT NULL CHECK (char_length(source_id) BETWEEN 1 AND 254),
    xp            integer     NOT NULL CHECK (xp >= 0),
    coins         integer     NOT NULL CHECK (coins >= 0),
    games_played  integer     NOT NULL CHECK (games_played >= 0),
    games_won     integer     NOT NULL CHECK (games_won >= 0),
    voice_seconds integer     NOT NULL CHECK (voice_seconds >= 0),
    messages_sent integer     NOT NULL CHECK (messages_sent >= 0),
    imported_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, source_id)
);

-- One `imported` event per user an import touched, instead of an event per imported change.
ALTER TABLE cross_platform_events DROP CONSTRAINT cross_platform_events_event_type_check;
ALTER TABLE cross_platform_events ADD CONSTRAINT cross_platform_events_event_type_check CHECK (event_type IN (
    'xp_change', 'coins_change', 'rank_up', 'achievement_unlock', 'game_played',
    'voice_time', 'message_sent', 'daily_claimed', 'account_linked', 'accounts_merged',
    'season_started', 'imported'));
