//! Every GraphQL limit in one struct (`LIMITS`): the schema's depth, complexity and directive
//! limits, and each list's page size (its default and its largest). The resolvers and cost
//! estimates read them from here, and the limits table in docs/security.md is written from
//! `GraphqlLimits::table_rows` (a test compares them).

use crate::error::AppError;

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

/// Every GraphQL limit: the schema's and each list field's page size.
#[derive(Clone, Copy, Debug)]
pub struct GraphqlLimits {
    pub depth: usize,
    pub complexity: usize,
    pub recursive_depth: usize,
    pub directives_per_field: usize,
    /// `leaderboard`.
    pub leaderboard: PageSize,
    /// `seasonStandings`.
    pub season_standings: PageSize,
    /// `User.seasonStandings`: the most recent ended seasons.
    pub user_standings: PageSize,
    /// `events`.
    pub history: PageSize,
    /// `ledger`.
    pub ledger: PageSize,
    /// `seasons`.
    pub seasons: PageSize,
    /// `xpBoosts`.
    pub boosts: PageSize,
    /// `pendingEvents`.
    pub pending_events: PageSize,
    /// `consumers`.
    pub consumers: PageSize,
    /// The longest a read with `consistentAfter` waits for the boards in memory to hold that
    /// event, in milliseconds; past it, the read takes the SQL path.
    pub consistent_after_wait_ms: u64,
}

pub const LIMITS: GraphqlLimits = GraphqlLimits {
    depth: 16,
    complexity: 20_000,
    recursive_depth: 32,
    directives_per_field: 16,
    leaderboard: PageSize::new(10, 100),
    season_standings: PageSize::new(50, 100),
    user_standings: PageSize::new(20, 100),
    history: PageSize::new(50, 500),
    ledger: PageSize::new(50, 500),
    seasons: PageSize::new(100, 500),
    boosts: PageSize::new(100, 500),
    pending_events: PageSize::new(100, 1000),
    consumers: PageSize::new(100, 1000),
    consistent_after_wait_ms: 1000,
};

impl GraphqlLimits {
    /// The rows of the limits table in docs/security.md (a test checks that the page holds
    /// them as written here).
    pub fn table_rows(&self) -> Vec<String> {
        let mut rows = vec![format!(
            "| query depth / complexity / directives | {} / {} / {} per field | |",
            self.depth,
            thousands(self.complexity),
            self.directives_per_field
        )];
        let pages = [
            ("leaderboard", self.leaderboard),
            ("seasonStandings", self.season_standings),
            ("User.seasonStandings", self.user_standings),
            ("events", self.history),
            ("ledger", self.ledger),
            ("seasons", self.seasons),
            ("xpBoosts", self.boosts),
            ("pendingEvents", self.pending_events),
            ("consumers", self.consumers),
        ];
        rows.extend(pages.iter().map(|(field, size)| {
            format!(
                "| `{field}(first:)` | {} by default, at most {} | |",
                thousands(size.default as usize),
                thousands(size.max as usize)
            )
        }));
        rows.push(format!(
            "| `consistentAfter` wait for the boards in memory | {} ms, then the SQL path | |",
            thousands(self.consistent_after_wait_ms as usize)
        ));
        rows
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_size_is_checked_and_its_cost_bounded() {
        assert_eq!(LIMITS.leaderboard.take("first", None).unwrap(), 10);
        assert_eq!(LIMITS.leaderboard.take("first", Some(100)).unwrap(), 100);
        assert!(LIMITS.leaderboard.take("first", Some(0)).is_err());
        assert!(LIMITS.leaderboard.take("first", Some(101)).is_err());
        assert_eq!(LIMITS.leaderboard.cost(Some(1_000_000)), 100);
        assert_eq!(LIMITS.leaderboard.cost(Some(-5)), 0);
    }

    #[test]
    fn the_documented_limits_table_is_written_from_these_limits() {
        let page = include_str!("../../docs/security.md");
        for row in LIMITS.table_rows() {
            assert!(page.contains(&row), "docs/security.md lacks the row\n{row}");
        }
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(100), "100");
    }
}
