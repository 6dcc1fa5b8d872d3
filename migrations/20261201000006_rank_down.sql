-- One rank event per XP change: `rank_up` names every rank crossed, and a loss that lowers the
-- rank writes `rank_down`.
ALTER TABLE cross_platform_events DROP CONSTRAINT cross_platform_events_event_type_check;
ALTER TABLE cross_platform_events ADD CONSTRAINT cross_platform_events_event_type_check CHECK (event_type IN (
    'xp_change', 'coins_change', 'rank_up', 'rank_down', 'achievement_unlock', 'game_played',
    'voice_time', 'message_sent', 'daily_claimed', 'account_linked', 'accounts_merged',
    'season_started', 'imported')) NOT VALID;
