//! Leaderboard reads: from this process's boards in memory (`crate::board`) when they are
//! loaded, else by the SQL path, which stays the reference. Either way a page comes back as
//! rows in order with each entry's score and position.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::db::leaderboard::{self, Board, Start};
use crate::db::users::{self, UserRow};
use crate::domain::leaderboard::positions_from_head;
use crate::error::AppResult;
use crate::state::AppState;

/// Entries of a page in order: the user, their score on the board, their position.
pub struct Page {
    pub rows: Vec<(UserRow, i32, i64)>,
}

/// Up to `n` entries from `start` on (`memory`: the boards in memory may answer).
pub async fn page(state: &AppState, board: Board, start: Start, n: usize, memory: bool) -> AppResult<Page> {
    if let Some(mem) = state.boards.page(board, start, n).filter(|_| memory) {
        let ids: Vec<Uuid> = mem.entries.iter().map(|e| e.id).collect();
        // The rows the boards' row cache holds, the rest by primary key (then held).
        let lookup = state.boards.rows.get(&ids);
        let read: Vec<Arc<UserRow>> = if lookup.missing.is_empty() {
            Vec::new()
        } else {
            let read: Vec<Arc<UserRow>> = users::by_ids(&state.read_pool, &lookup.missing)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect();
            state.boards.rows.put(&lookup, &read);
            read
        };
        let mut by_id: HashMap<Uuid, Arc<UserRow>> =
            lookup.held.into_iter().chain(read).map(|u| (u.id, u)).collect();
        // A user merged away since the board last moved is left out; the next dispatch
        // moves the board.
        let rows = mem
            .entries
            .iter()
            .zip(mem.positions)
            .filter_map(|(e, p)| by_id.remove(&e.id).map(|u| (Arc::unwrap_or_clone(u), e.score, p)))
            .collect();
        return Ok(Page { rows });
    }
    let page = leaderboard::page(&state.read_pool, board, start, n as i64).await?;
    let scores: Vec<i32> = page.rows.iter().map(|u| board.score(u)).collect();
    let positions = positions_from_head(page.above, page.holding_first, &scores);
    let rows = page
        .rows
        .into_iter()
        .zip(scores)
        .zip(positions)
        .map(|((u, s), p)| (u, s, p))
        .collect();
    Ok(Page { rows })
}

/// Where a page centred on `user` starts: `n` entries before them, or the top.
pub async fn start_before(
    state: &AppState,
    board: Board,
    user: &UserRow,
    n: usize,
    memory: bool,
) -> AppResult<Start> {
    let in_memory = memory
        .then(|| state.boards.start_before(board, board.score(user), user.id, n))
        .flatten();
    match in_memory {
        Some(start) => Ok(start),
        None => leaderboard::start_before(&state.read_pool, board, user, n as i64).await,
    }
}

/// The position of a score on a board, when the boards in memory answer (else the caller
/// batches it through its loader).
pub fn position_in_memory(state: &AppState, board: Board, score: i32) -> Option<i64> {
    state.boards.position(board, score)
}
