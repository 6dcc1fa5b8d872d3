//! How an XP change moves xp, rank, season xp and coins.

use super::ranks::{Rank, RankTable};

/// The part of a user an XP change reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub xp: i32,
    pub season_xp: i32,
    pub coins: i32,
    pub rank_id: i32,
    /// Highest rank whose reward was already paid.
    pub rewarded_rank_id: i32,
}

/// The result of applying a delta, before it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct XpOutcome {
    /// The delta as applied: xp never goes below 0.
    pub applied: i32,
    pub xp: i32,
    pub season_xp: i32,
    pub coins: i32,
    pub old_rank_id: i32,
    pub new_rank_id: i32,
    pub rewarded_rank_id: i32,
    /// Every rank crossed upward, lowest first, with the reward paid for it (0 when that
    /// rank's reward was paid before, after a loss and a climb back).
    pub ranks_up: Vec<(Rank, i32)>,
    pub reward_coins: i32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum XpError {
    /// xp or coins would leave the Int range.
    Overflow,
}

/// Applies `delta` to `p`. A gain that crosses several thresholds pays every crossed rank's
/// reward that was never paid; a loss lowers the rank and takes nothing back.
pub fn apply(table: &RankTable, p: Progress, delta: i32) -> Result<XpOutcome, XpError> {
    let xp = i32::try_from((i64::from(p.xp) + i64::from(delta)).max(0)).map_err(|_| XpError::Overflow)?;
    let applied = xp - p.xp;
    // Season xp follows the applied delta and, like xp, stops at 0.
    let season_xp = p.season_xp.checked_add(applied).ok_or(XpError::Overflow)?.max(0);
    let new_rank_id = table.for_xp(xp).id;
    let ranks_up: Vec<(Rank, i32)> = table
        .between(p.rank_id, new_rank_id)
        .iter()
        .map(|r| {
            let reward = if r.id > p.rewarded_rank_id {
                r.reward_coins
            } else {
                0
            };
            (r.clone(), reward)
        })
        .collect();
    let reward_coins = ranks_up
        .iter()
        .try_fold(0i32, |acc, (_, c)| acc.checked_add(*c))
        .ok_or(XpError::Overflow)?;
    let coins = p.coins.checked_add(reward_coins).ok_or(XpError::Overflow)?;
    Ok(XpOutcome {
        applied,
        xp,
        season_xp,
        coins,
        old_rank_id: p.rank_id,
        new_rank_id,
        rewarded_rank_id: p.rewarded_rank_id.max(new_rank_id),
        ranks_up,
        reward_coins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ranks::sample_table;

    fn fresh() -> Progress {
        Progress {
            xp: 0,
            season_xp: 0,
            coins: 0,
            rank_id: 1,
            rewarded_rank_id: 1,
        }
    }

    #[test]
    fn small_gain_stays_in_rank() {
        let o = apply(&sample_table(), fresh(), 50).unwrap();
        assert_eq!((o.applied, o.xp, o.season_xp, o.new_rank_id), (50, 50, 50, 1));
        assert!(o.ranks_up.is_empty());
        assert_eq!(o.reward_coins, 0);
    }

    #[test]
    fn multi_rank_jump_pays_every_crossed_rank() {
        // 0 -> 350 crosses ranks 2 (100), 3 (200) and 4 (300): rewards 10 + 20 + 30.
        let o = apply(&sample_table(), fresh(), 350).unwrap();
        let ids: Vec<i32> = o.ranks_up.iter().map(|(r, _)| r.id).collect();
        assert_eq!(ids, vec![2, 3, 4]);
        assert_eq!(o.reward_coins, 60);
        assert_eq!(o.coins, 60);
        assert_eq!((o.old_rank_id, o.new_rank_id, o.rewarded_rank_id), (1, 4, 4));
    }

    #[test]
    fn exact_threshold_reaches_the_rank() {
        let o = apply(&sample_table(), fresh(), 100).unwrap();
        assert_eq!(o.new_rank_id, 2);
        assert_eq!(o.reward_coins, 10);
    }

    #[test]
    fn loss_is_clamped_at_zero_and_takes_no_reward_back() {
        let p = Progress {
            xp: 350,
            season_xp: 20,
            coins: 60,
            rank_id: 4,
            rewarded_rank_id: 4,
        };
        let o = apply(&sample_table(), p, -1000).unwrap();
        assert_eq!((o.applied, o.xp, o.season_xp), (-350, 0, 0));
        assert_eq!((o.new_rank_id, o.coins, o.rewarded_rank_id), (1, 60, 4));
        assert!(o.ranks_up.is_empty());
    }

    #[test]
    fn climbing_back_pays_only_ranks_never_paid() {
        // Lost down to rank 2 after being paid up to rank 4; climbing to rank 5 pays rank 5 only.
        let p = Progress {
            xp: 150,
            season_xp: 0,
            coins: 0,
            rank_id: 2,
            rewarded_rank_id: 4,
        };
        let o = apply(&sample_table(), p, 300).unwrap();
        let paid: Vec<(i32, i32)> = o.ranks_up.iter().map(|(r, c)| (r.id, *c)).collect();
        assert_eq!(paid, vec![(3, 0), (4, 0), (5, 40)]);
        assert_eq!(o.reward_coins, 40);
        assert_eq!(o.rewarded_rank_id, 5);
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let p = Progress {
            xp: i32::MAX - 1,
            ..fresh()
        };
        assert_eq!(apply(&sample_table(), p, 2), Err(XpError::Overflow));
        let p = Progress {
            coins: i32::MAX,
            ..fresh()
        };
        assert_eq!(apply(&sample_table(), p, 100), Err(XpError::Overflow));
        // The most negative delta is fine: it clamps at 0.
        assert_eq!(apply(&sample_table(), fresh(), i32::MIN).unwrap().xp, 0);
    }
}
