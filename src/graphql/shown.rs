//! What the leaderboard pages of one request showed, noted for the response cache
//! (`http/cache.rs`): it drops a cached response when an event could change what it shows.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;

use crate::db::leaderboard::Board;

/// A top page as shown: its board, its users with their scores (best first), and whether it
/// was full (else any newcomer would join it).
#[derive(Clone, Debug)]
pub struct ShownPage {
    pub board: Board,
    pub users: Vec<(Uuid, i32)>,
    pub full: bool,
}

impl ShownPage {
    /// Whether a user now scoring `score` on this page's board could be on it, or move it.
    pub fn reached_by(&self, score: i32) -> bool {
        !self.full || self.users.last().is_none_or(|(_, floor)| score >= *floor)
    }

    pub fn shows(&self, user: Uuid) -> bool {
        self.users.iter().any(|(id, _)| *id == user)
    }
}

/// The pages of one request, or a refusal when it showed what no event tells of.
#[derive(Default)]
pub struct ShownPages {
    pages: Mutex<Vec<ShownPage>>,
    refused: AtomicBool,
}

impl ShownPages {
    pub fn note(&self, page: ShownPage) {
        self.pages.lock().expect("shown pages").push(page);
    }

    /// The response must not be cached: it shows positions on another board (changed by
    /// users it does not show), or a page that does not start at the top.
    pub fn refuse(&self) {
        self.refused.store(true, Ordering::Relaxed);
    }

    /// The pages, unless refused or none.
    pub fn pages(&self) -> Option<Vec<ShownPage>> {
        let pages = self.pages.lock().expect("shown pages");
        (!self.refused.load(Ordering::Relaxed) && !pages.is_empty()).then(|| pages.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_is_reached_from_its_last_score_up() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let page = ShownPage {
            board: Board::AllTime,
            users: vec![(a, 50), (b, 30)],
            full: true,
        };
        assert!(page.reached_by(30) && page.reached_by(99));
        assert!(!page.reached_by(29));
        assert!(page.shows(b) && !page.shows(Uuid::now_v7()));
        let short = ShownPage { full: false, ..page };
        assert!(short.reached_by(0), "anyone joins a page that is not full");
    }
}
