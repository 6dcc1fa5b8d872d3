//! Which achievements a user's counters and state have earned.

use super::Tier;
use super::rules::{AchievementRule, Unlock};

/// The counters and state unlock rules look at.
#[derive(Clone, Copy, Debug, Default)]
pub struct Standing {
    pub games_played: i32,
    pub games_won: i32,
    pub voice_seconds: i32,
    pub messages_sent: i32,
    pub daily_streak: i32,
    pub xp: i32,
    pub tier: Option<Tier>,
}

fn tier_order(t: Tier) -> u8 {
    match t {
        Tier::F => 0,
        Tier::E => 1,
        Tier::D => 2,
        Tier::C => 3,
        Tier::B => 4,
        Tier::A => 5,
        Tier::S => 6,
    }
}

pub fn is_earned(unlock: &Unlock, s: &Standing) -> bool {
    match unlock {
        Unlock::GamesPlayed(n) => s.games_played >= *n,
        Unlock::GamesWon(n) => s.games_won >= *n,
        Unlock::VoiceSeconds(n) => s.voice_seconds >= *n,
        Unlock::MessagesSent(n) => s.messages_sent >= *n,
        Unlock::DailyStreak(n) => s.daily_streak >= *n,
        Unlock::Xp(n) => s.xp >= *n,
        Unlock::Tier(t) => match (Tier::parse(t), s.tier) {
            (Some(want), Some(have)) => tier_order(have) >= tier_order(want),
            _ => false,
        },
    }
}

/// The lowest rank of `tier` or above: what a tier unlock asks of a stored rank (`None` for
/// a tier no rank reaches, or no tier at all).
pub fn lowest_rank_of_tier(tier: &str, ranks: &[super::Rank]) -> Option<i32> {
    let want = Tier::parse(tier)?;
    ranks
        .iter()
        .filter(|r| tier_order(r.tier) >= tier_order(want))
        .map(|r| r.id)
        .min()
}

/// The catalog entries `s` has earned that are not in `held`.
pub fn newly_earned<'a>(
    catalog: &'a [AchievementRule],
    s: &Standing,
    held: &[String],
) -> Vec<&'a AchievementRule> {
    catalog
        .iter()
        .filter(|a| !held.contains(&a.code) && is_earned(&a.unlock, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_requires_its_lowest_rank() {
        let table = crate::domain::ranks::sample_table();
        let lowest_c = table.all().iter().find(|r| r.tier == Tier::C).map(|r| r.id);
        assert_eq!(lowest_rank_of_tier("C", table.all()), lowest_c);
        assert_eq!(lowest_rank_of_tier("Z", table.all()), None);
    }
    use crate::domain::rules::Rules;

    #[test]
    fn thresholds_are_inclusive() {
        let s = Standing {
            games_won: 1,
            messages_sent: 999,
            tier: Some(Tier::C),
            ..Default::default()
        };
        assert!(is_earned(&Unlock::GamesWon(1), &s));
        assert!(!is_earned(&Unlock::MessagesSent(1000), &s));
        assert!(is_earned(&Unlock::MessagesSent(999), &s));
        assert!(is_earned(&Unlock::Tier("C".into()), &s));
        assert!(is_earned(&Unlock::Tier("D".into()), &s), "tier C is above D");
        assert!(!is_earned(&Unlock::Tier("B".into()), &s));
    }

    #[test]
    fn held_achievements_are_not_earned_again() {
        let rules = Rules::default();
        let s = Standing {
            games_won: 3,
            games_played: 100,
            ..Default::default()
        };
        let codes: Vec<&str> = newly_earned(&rules.achievements, &s, &[])
            .iter()
            .map(|a| a.code.as_str())
            .collect();
        assert_eq!(codes, vec!["first_win", "hundred_games"]);
        let held = vec!["first_win".to_owned()];
        let codes: Vec<&str> = newly_earned(&rules.achievements, &s, &held)
            .iter()
            .map(|a| a.code.as_str())
            .collect();
        assert_eq!(codes, vec!["hundred_games"]);
    }
}
