//! The community's progression rules: one TOML file (`--rules` / `TTFD_RULES`), every value
//! with a default, validated at start. `ttfd config` prints the effective rules.

use serde::{Deserialize, Serialize};

/// The most achievements a catalog holds: what a query's cost estimate counts on.
pub const MAX_ACHIEVEMENTS: usize = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// The community's IANA time zone: the default calendar for daily claims.
    pub time_zone: String,
    pub games: GameRules,
    pub voice: VoiceRules,
    pub messages: MessageRules,
    pub daily: DailyRules,
    pub achievements: Vec<AchievementRule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GameRules {
    pub xp_win: i32,
    pub xp_loss: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceRules {
    /// XP per whole minute of voice.
    pub xp_per_minute: i32,
    /// Longest voice session one call may report.
    pub max_session_seconds: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessageRules {
    pub xp_per_message: i32,
    /// A user earns message XP at most once per this many seconds; messages inside the
    /// cooldown still count.
    pub cooldown_seconds: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DailyRules {
    pub base_coins: i32,
    pub coins_per_streak_day: i32,
    pub max_coins: i32,
    pub base_xp: i32,
    pub xp_per_streak_day: i32,
    pub max_xp: i32,
    /// A streak freeze is earned every this many streak days...
    pub freeze_every_days: i32,
    /// ...up to this many held at once.
    pub max_freezes: i32,
    /// Gaps longer than this many missed days reset the streak whatever the freezes.
    pub max_missed_days_covered: i32,
}

/// One achievement of the catalog and the threshold that unlocks it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AchievementRule {
    pub code: String,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub reward_xp: i32,
    #[serde(default)]
    pub reward_coins: i32,
    pub unlock: Unlock,
}

/// What unlocks an achievement: a counter reaching a value, or a tier reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Unlock {
    GamesPlayed(i32),
    GamesWon(i32),
    VoiceSeconds(i32),
    MessagesSent(i32),
    DailyStreak(i32),
    Xp(i32),
    /// Reaching this tier (F..S) or above.
    Tier(String),
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            time_zone: "UTC".into(),
            games: GameRules::default(),
            voice: VoiceRules::default(),
            messages: MessageRules::default(),
            daily: DailyRules::default(),
            achievements: default_achievements(),
        }
    }
}

impl Default for GameRules {
    fn default() -> Self {
        GameRules {
            xp_win: 25,
            xp_loss: 5,
        }
    }
}

impl Default for VoiceRules {
    fn default() -> Self {
        VoiceRules {
            xp_per_minute: 2,
            max_session_seconds: 86_400,
        }
    }
}

impl Default for MessageRules {
    fn default() -> Self {
        MessageRules {
            xp_per_message: 5,
            cooldown_seconds: 60,
        }
    }
}

impl Default for DailyRules {
    fn default() -> Self {
        DailyRules {
            base_coins: 10,
            coins_per_streak_day: 5,
            max_coins: 100,
            base_xp: 20,
            xp_per_streak_day: 5,
            max_xp: 100,
            freeze_every_days: 7,
            max_freezes: 2,
            max_missed_days_covered: 3,
        }
    }
}

fn achievement(
    code: &str,
    name: &str,
    description: &str,
    xp: i32,
    coins: i32,
    unlock: Unlock,
) -> AchievementRule {
    AchievementRule {
        code: code.into(),
        name: name.into(),
        description: description.into(),
        reward_xp: xp,
        reward_coins: coins,
        unlock,
    }
}

fn default_achievements() -> Vec<AchievementRule> {
    vec![
        achievement(
            "first_win",
            "First win",
            "Win your first game",
            50,
            25,
            Unlock::GamesWon(1),
        ),
        achievement(
            "hundred_games",
            "Regular",
            "Play 100 games",
            200,
            100,
            Unlock::GamesPlayed(100),
        ),
        achievement(
            "ten_hours_voice",
            "Voice of the server",
            "Spend 10 hours in voice",
            200,
            100,
            Unlock::VoiceSeconds(36_000),
        ),
        achievement(
            "thousand_messages",
            "Chatterbox",
            "Send 1000 messages",
            200,
            100,
            Unlock::MessagesSent(1000),
        ),
        achievement(
            "week_streak",
            "Seven days",
            "Claim the daily reward 7 days in a row",
            100,
            50,
            Unlock::DailyStreak(7),
        ),
        achievement(
            "tier_c",
            "Climber",
            "Reach tier C",
            300,
            150,
            Unlock::Tier("C".into()),
        ),
    ]
}

impl Rules {
    /// Parses a rules file; every missing value takes its default.
    pub fn from_toml(text: &str) -> Result<Rules, String> {
        let rules: Rules = toml::from_str(text).map_err(|e| e.to_string())?;
        rules.validate()?;
        Ok(rules)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Every problem at once, one per line.
    pub fn validate(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, what: &str| {
            if !ok {
                errors.push(what.to_owned());
            }
        };
        check(
            self.time_zone.parse::<chrono_tz::Tz>().is_ok(),
            "time_zone must be an IANA zone such as Europe/Moscow",
        );
        check(
            self.games.xp_win >= 0 && self.games.xp_loss >= 0,
            "games: xp must not be negative",
        );
        check(
            self.voice.xp_per_minute >= 0,
            "voice.xp_per_minute must not be negative",
        );
        check(
            (60..=86_400).contains(&self.voice.max_session_seconds),
            "voice.max_session_seconds must be 60..86400",
        );
        check(
            self.messages.xp_per_message >= 0,
            "messages.xp_per_message must not be negative",
        );
        check(
            (0..=86_400).contains(&self.messages.cooldown_seconds),
            "messages.cooldown_seconds must be 0..86400",
        );
        let d = &self.daily;
        check(
            d.base_coins >= 0 && d.coins_per_streak_day >= 0 && d.max_coins >= d.base_coins,
            "daily: coins must be >= 0 and max_coins >= base_coins",
        );
        check(
            d.base_xp >= 0 && d.xp_per_streak_day >= 0 && d.max_xp >= d.base_xp,
            "daily: xp must be >= 0 and max_xp >= base_xp",
        );
        check(
            d.freeze_every_days >= 1 && d.max_freezes >= 0,
            "daily: freeze_every_days must be >= 1 and max_freezes >= 0",
        );
        check(
            (0..=30).contains(&d.max_missed_days_covered),
            "daily.max_missed_days_covered must be 0..30",
        );
        check(
            self.achievements.len() <= MAX_ACHIEVEMENTS,
            &format!("achievements: at most {MAX_ACHIEVEMENTS}"),
        );
        let mut codes: Vec<&str> = self.achievements.iter().map(|a| a.code.as_str()).collect();
        codes.sort();
        check(
            codes.windows(2).all(|w| w[0] != w[1]),
            "achievements: codes must be unique",
        );
        for a in &self.achievements {
            let code_ok = !a.code.is_empty()
                && a.code.len() <= 64
                && a.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            check(
                code_ok,
                &format!("achievement {:?}: code must be a-z, 0-9 and _", a.code),
            );
            check(
                !a.name.trim().is_empty(),
                &format!("achievement {}: name must not be empty", a.code),
            );
            check(
                a.reward_xp >= 0 && a.reward_coins >= 0,
                &format!("achievement {}: rewards must not be negative", a.code),
            );
            let unlock_ok = match &a.unlock {
                Unlock::Tier(t) => super::Tier::parse(t).is_some(),
                Unlock::GamesPlayed(n)
                | Unlock::GamesWon(n)
                | Unlock::VoiceSeconds(n)
                | Unlock::MessagesSent(n)
                | Unlock::DailyStreak(n)
                | Unlock::Xp(n) => *n >= 1,
            };
            check(
                unlock_ok,
                &format!(
                    "achievement {}: unlock needs a positive threshold or a tier F..S",
                    a.code
                ),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let rules = Rules::default();
        rules.validate().unwrap();
        assert_eq!(Rules::from_toml(&rules.to_toml()).unwrap(), rules);
        assert_eq!(
            Rules::from_toml("").unwrap(),
            rules,
            "an empty file is all defaults"
        );
    }

    #[test]
    fn partial_files_override_only_what_they_name() {
        let rules =
            Rules::from_toml("time_zone = \"Europe/Moscow\"\n[messages]\ncooldown_seconds = 30\n").unwrap();
        assert_eq!(rules.time_zone, "Europe/Moscow");
        assert_eq!(rules.messages.cooldown_seconds, 30);
        assert_eq!(
            rules.messages.xp_per_message,
            MessageRules::default().xp_per_message
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let err = Rules::from_toml("time_zone = \"Mars/Olympus\"\n[games]\nxp_win = -1\n").unwrap_err();
        assert!(err.contains("time_zone") && err.contains("games"), "{err}");
        assert!(
            Rules::from_toml("[games]\nxp_wins = 3\n")
                .unwrap_err()
                .contains("unknown field")
        );
        let bad =
            "[[achievements]]\ncode = \"X Y\"\nname = \"\"\ndescription = \"\"\nunlock = { tier = \"Z\" }\n";
        let err = Rules::from_toml(bad).unwrap_err();
        assert!(
            err.contains("code") && err.contains("name") && err.contains("tier"),
            "{err}"
        );
    }
}
