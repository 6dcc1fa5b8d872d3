-- The Python shared module's schema, as its README lists it (columns, unique platform ids,
-- the indexes, the "at least one platform" check): the source of `ttfd import seed` tests.
CREATE TABLE unified_users (
    id SERIAL PRIMARY KEY,
    telegram_id VARCHAR(50) UNIQUE,
    discord_id VARCHAR(50) UNIQUE,
    website_email VARCHAR(255) UNIQUE,
    username VARCHAR(255),
    display_name VARCHAR(255),
    xp INTEGER DEFAULT 0,
    coins INTEGER DEFAULT 0,
    rank_id INTEGER DEFAULT 1,
    games_played INTEGER DEFAULT 0,
    games_won INTEGER DEFAULT 0,
    total_voice_time INTEGER DEFAULT 0,
    messages_sent INTEGER DEFAULT 0,
    achievements JSONB DEFAULT '[]'::jsonb,
    current_season_xp INTEGER DEFAULT 0,
    season_rank INTEGER,
    daily_streak INTEGER DEFAULT 0,
    last_daily TIMESTAMP,
    created_at TIMESTAMP DEFAULT NOW(),
    last_active TIMESTAMP DEFAULT NOW(),
    platforms JSONB DEFAULT '[]'::jsonb,
    primary_platform VARCHAR(20),
    CONSTRAINT at_least_one_platform CHECK (
        telegram_id IS NOT NULL OR discord_id IS NOT NULL OR website_email IS NOT NULL)
);
CREATE INDEX idx_unified_users_telegram ON unified_users (telegram_id);
CREATE INDEX idx_unified_users_discord ON unified_users (discord_id);
CREATE INDEX idx_unified_users_website ON unified_users (website_email);
CREATE INDEX idx_unified_users_xp ON unified_users (xp DESC);
CREATE TABLE cross_platform_events (
    id UUID PRIMARY KEY,
    user_id INTEGER REFERENCES unified_users (id) ON DELETE CASCADE,
    event_type VARCHAR(50) NOT NULL,
    source_platform VARCHAR(20) NOT NULL,
    data JSONB DEFAULT '{}'::jsonb,
    processed BOOLEAN DEFAULT FALSE,
    processed_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX idx_cross_platform_events_user ON cross_platform_events (user_id);
CREATE INDEX idx_cross_platform_events_processed ON cross_platform_events (processed);
CREATE INDEX idx_cross_platform_events_created ON cross_platform_events (created_at);
