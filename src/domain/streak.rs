//! Daily claims: one per calendar day in the user's time zone, a streak that grows on
//! consecutive days, freezes that cover missed days, and a reward that grows with the streak.

use chrono::NaiveDate;

use super::rules::DailyRules;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreakState {
    pub streak: i32,
    /// The local day of the last claim.
    pub last_day: Option<NaiveDate>,
    pub freezes: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub streak: i32,
    pub freezes: i32,
    pub freezes_used: i32,
    pub reward_coins: i32,
    pub reward_xp: i32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ClaimError {
    /// Today's claim was made (or a later day's, after a clock change).
    AlreadyClaimed,
}

/// Claims `today`. A claim on the day after the last one extends the streak. Each missed day
/// consumes one freeze, if held and if the gap is within `max_missed_days_covered`; otherwise
/// the streak restarts at 1. Freezes never add to the count. A claim dated on or before the
/// last one (a clock set back) is refused and changes nothing.
pub fn claim(rules: &DailyRules, state: StreakState, today: NaiveDate) -> Result<Claim, ClaimError> {
    let (streak, freezes_used) = match state.last_day {
        None => (1, 0),
        Some(last) => {
            let gap = (today - last).num_days();
            if gap <= 0 {
                return Err(ClaimError::AlreadyClaimed);
            }
            let missed = gap - 1;
            if missed == 0 {
                (state.streak.saturating_add(1), 0)
            } else if missed <= i64::from(rules.max_missed_days_covered) && missed <= i64::from(state.freezes)
            {
                (state.streak.saturating_add(1), missed as i32)
            } else {
                (1, 0)
            }
        }
    };
    let mut freezes = state.freezes - freezes_used;
    if streak % rules.freeze_every_days == 0 {
        freezes = (freezes + 1).min(rules.max_freezes);
    }
    let days = streak - 1;
    let grow = |base: i32, per_day: i32, max: i32| base.saturating_add(per_day.saturating_mul(days)).min(max);
    Ok(Claim {
        streak,
        freezes,
        freezes_used,
        reward_coins: grow(rules.base_coins, rules.coins_per_streak_day, rules.max_coins),
        reward_xp: grow(rules.base_xp, rules.xp_per_streak_day, rules.max_xp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use chrono_tz::Tz;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn rules() -> DailyRules {
        DailyRules::default() // freeze every 7 days, 2 at most, gaps of up to 3 days covered
    }

    fn run(days: &[NaiveDate]) -> StreakState {
        let mut s = StreakState {
            streak: 0,
            last_day: None,
            freezes: 0,
        };
        for d in days {
            let c = claim(&rules(), s, *d).unwrap();
            s = StreakState {
                streak: c.streak,
                last_day: Some(*d),
                freezes: c.freezes,
            };
        }
        s
    }

    #[test]
    fn consecutive_days_extend_across_month_and_year_ends() {
        let s = run(&[day(2026, 1, 31), day(2026, 2, 1), day(2026, 2, 2)]);
        assert_eq!(s.streak, 3);
        let s = run(&[day(2028, 2, 28), day(2028, 2, 29), day(2028, 3, 1)]);
        assert_eq!(s.streak, 3, "leap day");
        let s = run(&[day(2026, 12, 31), day(2027, 1, 1)]);
        assert_eq!(s.streak, 2);
    }

    #[test]
    fn a_missed_day_resets_without_a_freeze() {
        let s = run(&[day(2026, 3, 1), day(2026, 3, 2), day(2026, 3, 4)]);
        assert_eq!(s.streak, 1);
    }

    #[test]
    fn freezes_are_earned_capped_consumed_per_missed_day_and_add_nothing() {
        let week: Vec<NaiveDate> = (1..=7).map(|d| day(2026, 3, d)).collect();
        let s = run(&week);
        assert_eq!((s.streak, s.freezes), (7, 1));
        // Miss 3/8, claim 3/9: one freeze consumed, the streak continues at 8 (not 9).
        let c = claim(&rules(), s, day(2026, 3, 9)).unwrap();
        assert_eq!((c.streak, c.freezes, c.freezes_used), (8, 0, 1));
        // Two freezes at most.
        let month: Vec<NaiveDate> = (1..=28).map(|d| day(2026, 2, d)).collect();
        assert_eq!(run(&month).freezes, 2);
        // A gap longer than the freezes held resets.
        let s = StreakState {
            streak: 10,
            last_day: Some(day(2026, 3, 1)),
            freezes: 1,
        };
        assert_eq!(claim(&rules(), s, day(2026, 3, 4)).unwrap().streak, 1);
        // A gap longer than any freeze covers resets even with freezes.
        let s = StreakState {
            streak: 10,
            last_day: Some(day(2026, 3, 1)),
            freezes: 9,
        };
        assert_eq!(claim(&rules(), s, day(2026, 3, 6)).unwrap().streak, 1);
    }

    #[test]
    fn the_same_day_or_a_day_in_the_past_is_already_claimed() {
        let s = StreakState {
            streak: 4,
            last_day: Some(day(2026, 3, 10)),
            freezes: 0,
        };
        assert_eq!(
            claim(&rules(), s, day(2026, 3, 10)),
            Err(ClaimError::AlreadyClaimed)
        );
        assert_eq!(
            claim(&rules(), s, day(2026, 3, 9)),
            Err(ClaimError::AlreadyClaimed)
        );
    }

    #[test]
    fn rewards_grow_with_the_streak_up_to_the_cap() {
        let r = rules();
        let first = claim(
            &r,
            StreakState {
                streak: 0,
                last_day: None,
                freezes: 0,
            },
            day(2026, 1, 1),
        )
        .unwrap();
        assert_eq!((first.reward_coins, first.reward_xp), (r.base_coins, r.base_xp));
        let long = StreakState {
            streak: 500,
            last_day: Some(day(2026, 1, 1)),
            freezes: 0,
        };
        let c = claim(&r, long, day(2026, 1, 2)).unwrap();
        assert_eq!((c.reward_coins, c.reward_xp), (r.max_coins, r.max_xp));
    }

    #[test]
    fn the_calendar_day_is_the_users_own() {
        // 23:30 UTC on 31 March is already 1 April in Moscow and still 31 March in New York.
        let instant = Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 0).unwrap();
        let moscow: Tz = "Europe/Moscow".parse().unwrap();
        let new_york: Tz = "America/New_York".parse().unwrap();
        assert_eq!(instant.with_timezone(&moscow).date_naive(), day(2026, 4, 1));
        assert_eq!(instant.with_timezone(&new_york).date_naive(), day(2026, 3, 31));
    }
}
