//! Leaderboard reads over `unified_users`, ordered by (score desc, id asc), where the score is
//! all-time xp or the current season's xp. Both orders have their own index.

use sqlx::PgExecutor;

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

    pub fn name(self) -> &'static str {
        match self {
            Board::AllTime => "all",
            Board::Season => "season",
        }
    }
}

/// One page, plus what positions need: how many users score strictly more than the page's
/// first user (`above`), and how many come before it in the order (`before`).
pub struct Page {
    pub rows: Vec<UserRow>,
    pub above: i64,
    pub before: i64,
}

#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    user: UserRow,
    above: i64,
    before: i64,
}

/// Reads `limit` users after `after` in one statement (one snapshot, so positions agree with
/// the order even while scores change).
pub async fn page(
    ex: impl PgExecutor<'_>,
    board: Board,
    after: Option<LeaderboardCursor>,
    limit: i64,
    offset: i64,
) -> AppResult<Page> {
    let s = board.score_column();
    let rows = board.rows();
    // `s <= $1 AND (s < $1 OR id > $2)` keeps the index range scan starting at the cursor.
    let sql = format!(
        "WITH page AS ( \
             SELECT {COLUMNS} FROM unified_users \
             WHERE {rows} AND ($1::int IS NULL OR ({s} <= $1 AND ({s} < $1 OR id > $2))) \
             ORDER BY {s} DESC, id LIMIT $3 OFFSET $4), \
         head AS (SELECT {s} AS score, id FROM page ORDER BY {s} DESC, id LIMIT 1) \
         SELECT page.*, \
             (SELECT count(*) FROM unified_users u, head WHERE {rows} AND u.{s} > head.score) AS above, \
             (SELECT count(*) FROM unified_users u, head WHERE {rows} \
                 AND (u.{s} > head.score OR (u.{s} = head.score AND u.id < head.id))) AS before \
         FROM page ORDER BY {s} DESC, id"
    );
    let rows: Vec<PageRow> = sqlx::query_as(&sql)
        .bind(after.map(|c| c.score))
        .bind(after.map(|c| c.id))
        .bind(limit)
        .bind(offset)
        .fetch_all(ex)
        .await?;
    let (above, before) = rows.first().map(|r| (r.above, r.before)).unwrap_or((0, 0));
    Ok(Page {
        rows: rows.into_iter().map(|r| r.user).collect(),
        above,
        before,
    })
}

/// Position (1 = best; ties share) of each score on `board`.
pub async fn positions(ex: impl PgExecutor<'_>, board: Board, scores: &[i32]) -> AppResult<Vec<(i32, i64)>> {
    let (s, rows) = (board.score_column(), board.rows());
    let sql = format!(
        "SELECT v.score, (SELECT count(*) FROM unified_users WHERE {rows} AND {s} > v.score) + 1 \
         FROM unnest($1::int[]) AS v(score)"
    );
    Ok(sqlx::query_as(&sql).bind(scores).fetch_all(ex).await?)
}

/// How many users come before `user` in the board's order.
pub async fn index_of(ex: impl PgExecutor<'_>, board: Board, user: &UserRow) -> AppResult<i64> {
    let (s, rows) = (board.score_column(), board.rows());
    let sql =
        format!("SELECT count(*) FROM unified_users WHERE {rows} AND ({s} > $1 OR ({s} = $1 AND id < $2))");
    Ok(sqlx::query_scalar(&sql)
        .bind(board.score(user))
        .bind(user.id)
        .fetch_one(ex)
        .await?)
}
