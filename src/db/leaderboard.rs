//! Leaderboard reads over `unified_users`, ordered by (score desc, id asc), where the score is
//! all-time xp or the current season's xp. Both orders have their own index.

use sqlx::PgExecutor;

use super::scores;
use super::users::{COLUMNS, UserRow};
use crate::domain::cursor::LeaderboardCursor;
use crate::error::AppResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Board {
    AllTime,
    Season,
}

impl Board {
    pub fn score_column(self) -> &'static str {
        match self {
            Board::AllTime => "xp",
            Board::Season => "current_season_xp",
        }
    }

    pub fn score(self, u: &UserRow) -> i32 {
        match self {
            Board::AllTime => u.xp,
            Board::Season => u.current_season_xp,
        }
    }

    /// Which rows are on the board: everyone, or those with XP in the current season.
    pub fn rows(self) -> &'static str {
        match self {
            Board::AllTime => "true",
            Board::Season => "season_id = (SELECT id FROM seasons WHERE ended_at IS NULL)",
        }
    }

    /// The board's id in `score_counts`: 0 for all-time, the current season's id.
    pub fn id_sql(self) -> &'static str {
        match self {
            Board::AllTime => "0",
            Board::Season => scores::CURRENT_SEASON_BOARD,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Board::AllTime => "all",
            Board::Season => "season",
        }
    }
}

/// One page of entries in order, with what their positions need: how many users score
/// strictly more than the first entry, and how many hold its score.
pub struct Page {
    pub rows: Vec<UserRow>,
    pub above: i64,
    pub holding_first: i64,
}

#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    user: UserRow,
    above: i64,
    holding_first: i64,
}

/// Where a page starts: after a cursor, or at an entry itself (inclusive).
#[derive(Clone, Copy, Debug)]
pub enum Start {
    Top,
    After(LeaderboardCursor),
    At(LeaderboardCursor),
}

/// SQL keeping the entries from a cursor on, in the order score descending, id ascending
/// (`inclusive`: the cursor's own entry too). The cursor's score is parameter `$first`, its
/// id the next one. Written this way, `score <= $first` starts the index range scan at the
/// cursor.
pub(super) fn from_cursor(score: &str, id: &str, inclusive: bool, first: u8) -> String {
    let after = if inclusive { ">=" } else { ">" };
    let (s, i) = (first, first + 1);
    format!("{score} <= ${s} AND ({score} < ${s} OR {id} {after} ${i})")
}

/// The LIMIT written into a leaderboard statement: at least `rows`, rounded up to a power of
/// two (16 at least). With `LIMIT $n` PostgreSQL plans every execution afresh: its generic
/// plan assumes a tenth of the table is wanted, so the custom plan always looks cheaper
/// (`pg_prepared_statements` showed no generic plan at all). A literal lets each connection
/// keep one plan per bucket (four up to 128 rows); the few extra rows are dropped here.
fn limit_literal(rows: i64) -> i64 {
    (rows.clamp(16, 1 << 20) as u64).next_power_of_two() as i64
}

/// Reads `limit` users from `start` in one statement (one snapshot, so positions agree with
/// the order even while scores change).
pub async fn page(ex: impl PgExecutor<'_>, board: Board, start: Start, limit: i64) -> AppResult<Page> {
    let (s, rows, id) = (board.score_column(), board.rows(), board.id_sql());
    let (cursor, inclusive) = match start {
        Start::Top => (None, false),
        Start::After(c) => (Some(c), false),
        Start::At(c) => (Some(c), true),
    };
    // The top page has its own statement: an `$1 IS NULL OR ...` would make PostgreSQL plan
    // every execution afresh (a custom plan) instead of reusing the prepared one.
    let from = match cursor {
        None => String::new(),
        Some(_) => format!("AND {}", from_cursor(s, "id", inclusive, 1)),
    };
    let sql = format!(
        "WITH page AS ( \
             SELECT {COLUMNS} FROM unified_users WHERE {rows} {from} \
             ORDER BY {s} DESC, id LIMIT {limit_literal}), \
         head AS MATERIALIZED ( \
             SELECT {above} AS above, {holding} AS holding_first \
             FROM (SELECT max({s}) AS score FROM page) h) \
         SELECT page.*, head.above, head.holding_first \
         FROM page, head ORDER BY page.{s} DESC, page.id",
        above = scores::above(id, "h.score"),
        holding = scores::holding(id, "h.score"),
        limit_literal = limit_literal(limit),
    );
    let query = sqlx::query_as(&sql);
    let query = match cursor {
        Some(c) => query.bind(c.score).bind(c.id),
        None => query,
    };
    let mut rows: Vec<PageRow> = query.fetch_all(ex).await?;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let (above, holding_first) = rows.first().map_or((0, 0), |r| (r.above, r.holding_first));
    Ok(Page {
        rows: rows.into_iter().map(|r| r.user).collect(),
        above,
        holding_first,
    })
}

/// Position (1 = best; ties share) of each score on `board`.
pub async fn positions(ex: impl PgExecutor<'_>, board: Board, scores: &[i32]) -> AppResult<Vec<(i32, i64)>> {
    scores::positions(ex, board.id_sql(), scores).await
}

/// The entry `n` places before `user` in the board's order (or the first entry, when fewer
/// come before): where a page centred on the user starts. Walks the index backwards from the
/// user, so it costs `n` rows, not the user's position.
pub async fn start_before(ex: impl PgExecutor<'_>, board: Board, user: &UserRow, n: i64) -> AppResult<Start> {
    if n <= 0 {
        let (score, id) = (board.score(user), user.id);
        return Ok(Start::At(LeaderboardCursor { score, id }));
    }
    let (s, rows) = (board.score_column(), board.rows());
    // `{s} >= $1` bounds the index range where the user stands: with only the OR, the
    // backward scan started at the lowest score and walked every user below (a second for a
    // median user of a million).
    let sql = format!(
        "SELECT {s}, id FROM unified_users WHERE {rows} AND {s} >= $1 AND ({s} > $1 OR id < $2) \
         ORDER BY {s}, id DESC LIMIT {}",
        limit_literal(n)
    );
    let before: Vec<(i32, uuid::Uuid)> = sqlx::query_as(&sql)
        .bind(board.score(user))
        .bind(user.id)
        .fetch_all(ex)
        .await?;
    let nth = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| before.get(i));
    Ok(match nth {
        Some(&(score, id)) => Start::At(LeaderboardCursor { score, id }),
        None => Start::Top,
    })
}
