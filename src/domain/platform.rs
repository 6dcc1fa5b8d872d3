//! Platforms and event types, with their database spellings.

use async_graphql::Enum;

/// A platform a person can use; each has its own external identity.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Telegram,
    Discord,
    Website,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Telegram, Platform::Discord, Platform::Website];

    /// The spelling stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Telegram => "telegram",
            Platform::Discord => "discord",
            Platform::Website => "website",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The kinds of cross-platform events in the log.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    XpChange,
    CoinsChange,
    /// One per XP change that reaches a higher rank, naming every rank crossed.
    RankUp,
    /// One per XP loss that lowers the rank.
    RankDown,
    AchievementUnlock,
    GamePlayed,
    VoiceTime,
    MessageSent,
    DailyClaimed,
    AccountLinked,
    AccountsMerged,
    SeasonStarted,
    /// A user created or updated by `ttfd import` (one per user, however much was imported).
    Imported,
}

impl EventType {
    pub const ALL: [EventType; 13] = [
        EventType::XpChange,
        EventType::CoinsChange,
        EventType::RankUp,
        EventType::RankDown,
        EventType::AchievementUnlock,
        EventType::GamePlayed,
        EventType::VoiceTime,
        EventType::MessageSent,
        EventType::DailyClaimed,
        EventType::AccountLinked,
        EventType::AccountsMerged,
        EventType::SeasonStarted,
        EventType::Imported,
    ];

    /// The spelling stored in the database (the seeds' snake_case names).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::XpChange => "xp_change",
            EventType::CoinsChange => "coins_change",
            EventType::RankUp => "rank_up",
            EventType::RankDown => "rank_down",
            EventType::AchievementUnlock => "achievement_unlock",
            EventType::GamePlayed => "game_played",
            EventType::VoiceTime => "voice_time",
            EventType::MessageSent => "message_sent",
            EventType::DailyClaimed => "daily_claimed",
            EventType::AccountLinked => "account_linked",
            EventType::AccountsMerged => "accounts_merged",
            EventType::SeasonStarted => "season_started",
            EventType::Imported => "imported",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
        }
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(Platform::parse("TELEGRAM"), None);
        assert_eq!(EventType::parse("processed"), None);
    }
}
