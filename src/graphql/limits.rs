//! Every GraphQL limit in one place: the schema's depth, complexity and directive limits, and
//! each list's page size (its default and its largest). the limits table in docs/security.md is written from
//! these, and the resolvers and cost estimates read them from here.

use crate::error::AppError;

pub const DEPTH: usize = 16;
pub const COMPLEXITY: usize = 20_000;
pub const RECURSIVE_DEPTH: usize = 32;
pub const DIRECTIVES_PER_FIELD: usize = 16;

/// A list's page size.
#[derive(Clone, Copy, Debug)]
pub struct PageSize {
    pub default: i32,
    pub max: i32,
}

impl PageSize {
    const fn new(default: i32, max: i32) -> PageSize {
        PageSize { default, max }
    }

    /// The size a request asks for (`name` is its argument), checked: INVALID_INPUT outside
    /// 1 to the maximum.
    pub fn take(&self, name: &str, asked: Option<i32>) -> Result<i64, AppError> {
        let size = asked.unwrap_or(self.default);
        if (1..=self.max).contains(&size) {
            Ok(i64::from(size))
        } else {
            Err(AppError::invalid(format!(
                "{name} must be between 1 and {}",
                self.max
            )))
        }
    }

    /// What the cost estimate counts for the list: its length, bounded even for a request that
    /// will be refused.
    pub fn cost(&self, asked: Option<i32>) -> usize {
        asked.unwrap_or(self.default).clamp(0, self.max) as usize
    }
}

pub const LEADERBOARD: PageSize = PageSize::new(10, 100);
pub const SEASON_STANDINGS: PageSize = PageSize::new(50, 100);
/// `User.seasonStandings`: the most recent ended seasons.
pub const USER_STANDINGS: PageSize = PageSize::new(20, 100);
pub const HISTORY: PageSize = PageSize::new(50, 500);
pub const LEDGER: PageSize = PageSize::new(50, 500);
pub const SEASONS: PageSize = PageSize::new(100, 500);
pub const BOOSTS: PageSize = PageSize::new(100, 500);
pub const PENDING: PageSize = PageSize::new(100, 1000);
pub const CONSUMERS: PageSize = PageSize::new(100, 1000);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_size_is_checked_and_its_cost_bounded() {
        assert_eq!(LEADERBOARD.take("first", None).unwrap(), 10);
        assert_eq!(LEADERBOARD.take("first", Some(100)).unwrap(), 100);
        assert!(LEADERBOARD.take("first", Some(0)).is_err());
        assert!(LEADERBOARD.take("first", Some(101)).is_err());
        assert_eq!(LEADERBOARD.cost(Some(1_000_000)), 100);
        assert_eq!(LEADERBOARD.cost(Some(-5)), 0);
    }
}
