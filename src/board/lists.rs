//! The lists one process holds: both boards in order, and each user's scores by id (to find a
//! user's entries when they move); how they load and how a user moves.

use uuid::Uuid;

use super::order::{Entry, OrderList};
use crate::db::boards::{self, Scores};
use crate::db::leaderboard::Board;
use crate::error::AppResult;

/// A user's scores as the lists hold them, ordered by id only: the lists' index by user. A
/// blocked list rather than a hash map: 24 bytes a user instead of 29 per bucket of a table
/// that is up to twice the users.
#[derive(Clone, Copy, Debug)]
pub(super) struct Held {
    id: Uuid,
    xp: i32,
    /// `NOT_ON_SEASON`: not on the season's board.
    season: i32,
}

const NOT_ON_SEASON: i32 = i32::MIN;

impl Held {
    fn new(id: Uuid, xp: i32, season: Option<i32>) -> Held {
        Held {
            id,
            xp,
            season: season.unwrap_or(NOT_ON_SEASON),
        }
    }

    fn probe(id: Uuid) -> Held {
        Held::new(id, 0, None)
    }

    fn season(&self) -> Option<i32> {
        (self.season != NOT_ON_SEASON).then_some(self.season)
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Held {}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Default)]
pub(super) struct Lists {
    all: OrderList,
    season: OrderList,
    pub(super) users: OrderList<Held>,
}

impl Lists {
    /// Every user's scores, read in one snapshot.
    pub(super) async fn read(pool: &sqlx::PgPool) -> AppResult<Lists> {
        let (mut all, mut season, mut users) = (Vec::new(), Vec::new(), Vec::new());
        boards::all(pool, |(id, xp, season_xp)| {
            all.push(Entry { score: xp, id });
            if let Some(score) = season_xp {
                season.push(Entry { score, id });
            }
            users.push(Held::new(id, xp, season_xp));
        })
        .await?;
        Ok(Lists {
            all: OrderList::from_entries(all),
            season: OrderList::from_entries(season),
            users: OrderList::from_entries(users),
        })
    }

    /// Bytes held, for the metrics.
    pub(super) fn bytes(&self) -> usize {
        self.all.bytes() + self.season.bytes() + self.users.bytes()
    }

    pub(super) fn list(&self, board: Board) -> &OrderList {
        match board {
            Board::AllTime => &self.all,
            Board::Season => &self.season,
        }
    }

    /// Moves users to the scores read (users of `asked` not among them no longer exist).
    pub(super) fn set(&mut self, asked: &[Uuid], rows: &[Scores]) {
        for id in asked {
            let Some(held) = self.users.find(&Held::probe(*id)) else {
                continue;
            };
            self.users.remove(&held);
            self.all.remove(&Entry {
                score: held.xp,
                id: *id,
            });
            if let Some(score) = held.season() {
                self.season.remove(&Entry { score, id: *id });
            }
        }
        for &(id, xp, season) in rows {
            self.all.insert(Entry { score: xp, id });
            if let Some(score) = season {
                self.season.insert(Entry { score, id });
            }
            self.users.insert(Held::new(id, xp, season));
        }
    }

    /// A new season: nobody is on its board until their first change in it.
    pub(super) fn new_season(&mut self) {
        self.season = OrderList::default();
        // The index is ordered by id alone: its season scores change in place.
        self.users.for_each_mut(|h| h.season = NOT_ON_SEASON);
    }
}
