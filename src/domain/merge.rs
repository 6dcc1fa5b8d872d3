//! The rule of what one account holds after two accounts of one person are merged: identities
//! united, counters summed, the best streak kept, the earliest creation date, and the XP of
//! the merged-away account added as a gain, so the rank follows.

use chrono::{DateTime, NaiveDate, Utc};

use super::Identities;
use super::ranks::RankTable;
use super::xp::{self, Progress, XpOutcome};

/// Whether ranks the merged XP reaches pay their coins: they do when people merge accounts,
/// not when an import joins the accounts of imported XP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankRewards {
    Pay,
    Withhold,
}

/// Everything of an account that a merge combines (the id, names and primary platform are the
/// surviving account's and do not take part).
#[derive(Clone, Debug, PartialEq)]
pub struct Holdings {
    pub identities: Identities,
    pub progress: Progress,
    pub games_played: i32,
    pub games_won: i32,
    pub total_voice_time: i32,
    pub messages_sent: i32,
    pub daily_streak: i32,
    pub last_daily: Option<DateTime<Utc>>,
    pub last_daily_day: Option<NaiveDate>,
    pub streak_freezes: i32,
    pub created_at: DateTime<Utc>,
    pub time_zone: Option<String>,
    pub last_message_xp_at: Option<DateTime<Utc>>,
}

/// Why two accounts cannot be one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// Both hold a different identity on this platform.
    TwoIdentities(super::Platform),
    /// A sum leaves the Int range.
    Overflow,
}

impl MergeError {
    pub fn message(&self) -> String {
        match self {
            MergeError::TwoIdentities(p) => format!("both accounts have a different {} identity", p.as_str()),
            MergeError::Overflow => "the merged totals exceed the Int range".into(),
        }
    }
}

/// What `into` holds once `from` is folded into it. Only ranks neither account was ever paid
/// for pay their reward (unless `rewards` withholds them: then every rank reached counts as
/// paid, and the outcome pays and crosses nothing).
pub fn merged(
    table: &RankTable,
    into: &Holdings,
    from: &Holdings,
    rewards: RankRewards,
) -> Result<(Holdings, XpOutcome), MergeError> {
    let identities = into
        .identities
        .union(&from.identities)
        .map_err(MergeError::TwoIdentities)?;
    let sum = |a: i32, b: i32| a.checked_add(b).ok_or(MergeError::Overflow);
    let (a, b) = (&into.progress, &from.progress);
    let progress = Progress {
        xp: a.xp,
        season_xp: a.season_xp,
        coins: sum(a.coins, b.coins)?,
        rank_id: a.rank_id,
        rewarded_rank_id: a.rewarded_rank_id.max(b.rewarded_rank_id),
    };
    let mut outcome = xp::apply(table, progress, b.xp).map_err(|_| MergeError::Overflow)?;
    if rewards == RankRewards::Withhold {
        outcome.coins = progress.coins;
        outcome.reward_coins = 0;
        outcome.rewarded_rank_id = outcome.rewarded_rank_id.max(outcome.new_rank_id);
        outcome.ranks_up.clear();
    }
    let holdings = Holdings {
        identities,
        progress: Progress {
            xp: outcome.xp,
            season_xp: sum(a.season_xp, b.season_xp)?,
            coins: outcome.coins,
            rank_id: outcome.new_rank_id,
            rewarded_rank_id: outcome.rewarded_rank_id,
        },
        games_played: sum(into.games_played, from.games_played)?,
        games_won: sum(into.games_won, from.games_won)?,
        total_voice_time: sum(into.total_voice_time, from.total_voice_time)?,
        messages_sent: sum(into.messages_sent, from.messages_sent)?,
        daily_streak: into.daily_streak.max(from.daily_streak),
        last_daily: into.last_daily.max(from.last_daily),
        last_daily_day: into.last_daily_day.max(from.last_daily_day),
        streak_freezes: into.streak_freezes.max(from.streak_freezes),
        created_at: into.created_at.min(from.created_at),
        time_zone: into.time_zone.clone().or_else(|| from.time_zone.clone()),
        last_message_xp_at: into.last_message_xp_at.max(from.last_message_xp_at),
    };
    Ok((holdings, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ranks::sample_table;
    use crate::domain::{ExternalId, Platform};

    fn account(ids: &[(Platform, &str)], xp: i32, coins: i32, rank: i32) -> Holdings {
        let mut identities = Identities::default();
        for (p, raw) in ids {
            identities.set(ExternalId::parse(*p, raw).unwrap());
        }
        Holdings {
            identities,
            progress: Progress {
                xp,
                season_xp: xp,
                coins,
                rank_id: rank,
                rewarded_rank_id: rank,
            },
            games_played: 3,
            games_won: 1,
            total_voice_time: 60,
            messages_sent: 10,
            daily_streak: rank,
            last_daily: None,
            last_daily_day: None,
            streak_freezes: 0,
            created_at: Utc::now(),
            time_zone: None,
            last_message_xp_at: None,
        }
    }

    #[test]
    fn merging_sums_counters_unites_identities_and_pays_only_new_ranks() {
        let t = sample_table();
        // 150 xp (rank 2, paid) + 180 xp (rank 2, paid) = 330: rank 4, pays ranks 3 and 4 only.
        let a = account(&[(Platform::Telegram, "1")], 150, 10, 2);
        let b = account(&[(Platform::Discord, "2")], 180, 10, 2);
        let (m, o) = merged(&t, &a, &b, RankRewards::Pay).unwrap();
        assert_eq!(m.identities.columns(), [Some("1"), Some("2"), None]);
        let p = m.progress;
        assert_eq!((p.xp, p.rank_id, p.rewarded_rank_id), (330, 4, 4));
        assert_eq!(o.reward_coins, 20 + 30);
        assert_eq!(p.coins, 10 + 10 + 50);
        assert_eq!(
            (m.games_played, m.games_won, m.total_voice_time, m.messages_sent),
            (6, 2, 120, 20)
        );
        assert_eq!(p.season_xp, 330);
        assert_eq!(m.daily_streak, 2);
    }

    #[test]
    fn an_import_merge_reaches_ranks_without_paying_them() {
        let t = sample_table();
        let a = account(&[(Platform::Telegram, "1")], 150, 10, 2);
        let b = account(&[(Platform::Discord, "2")], 180, 10, 2);
        let (m, o) = merged(&t, &a, &b, RankRewards::Withhold).unwrap();
        let p = m.progress;
        assert_eq!((p.xp, p.rank_id, p.rewarded_rank_id, p.coins), (330, 4, 4, 20));
        assert!(o.ranks_up.is_empty(), "no rank_up events to write");
    }

    #[test]
    fn two_different_identities_on_one_platform_cannot_merge() {
        let t = sample_table();
        let a = account(&[(Platform::Telegram, "1")], 0, 0, 1);
        let b = account(&[(Platform::Telegram, "2")], 0, 0, 1);
        assert_eq!(
            merged(&t, &a, &b, RankRewards::Pay),
            Err(MergeError::TwoIdentities(Platform::Telegram))
        );
    }

    #[test]
    fn sums_that_leave_the_int_range_are_refused() {
        let t = sample_table();
        let a = account(&[], 0, i32::MAX, 1);
        let b = account(&[], 0, 1, 1);
        assert_eq!(
            merged(&t, &a, &b, RankRewards::Pay).unwrap_err(),
            MergeError::Overflow
        );
    }
}
