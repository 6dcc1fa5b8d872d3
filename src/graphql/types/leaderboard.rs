//! The leaderboard types: its scope, entries, edges and connection.

use async_graphql::{Enum, Object, SimpleObject};

use super::{PageInfo, User};
use crate::db::leaderboard::Board;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LeaderboardScope {
    AllTime,
    Season,
}

impl From<LeaderboardScope> for Board {
    fn from(s: LeaderboardScope) -> Board {
        match s {
            LeaderboardScope::AllTime => Board::AllTime,
            LeaderboardScope::Season => Board::Season,
        }
    }
}

#[derive(SimpleObject)]
pub struct LeaderboardEntry {
    /// 1 = best; ties share a position.
    pub position: i32,
    /// The score on this board: all-time xp, or season xp for SEASON.
    pub xp: i32,
    pub user: User,
}

#[derive(SimpleObject)]
pub struct LeaderboardEdge {
    pub cursor: String,
    pub node: LeaderboardEntry,
}

pub struct LeaderboardConnection {
    pub edges: Vec<LeaderboardEdge>,
    pub page_info: PageInfo,
}

#[Object]
impl LeaderboardConnection {
    /// The page (at most `first`).
    async fn edges(&self) -> &[LeaderboardEdge] {
        &self.edges
    }
    /// The page's entries (at most `first`).
    async fn nodes(&self) -> Vec<&LeaderboardEntry> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}
