//! Users' scores as the boards hold them: every user's in one snapshot (the in-memory boards'
//! load, `crate::board`), and some users' by primary key (what the boards and the response
//! cache read after each dispatched batch). The season score is `None` for a user not on the current
//! season's board (no change since it started), as the SQL path's `season_id` test has it.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::AppResult;

/// A user's all-time score and, when on the current season's board, the season's.
pub type Scores = (Uuid, i32, Option<i32>);

const SELECT: &str = "SELECT id, xp, CASE WHEN season_id = (SELECT id FROM seasons WHERE ended_at IS NULL) \
     THEN current_season_xp END FROM unified_users";

/// Every user, in one statement (one snapshot), handed to `each` as the rows stream in (a
/// million rows at once would double the memory a load needs).
pub async fn all(ex: impl PgExecutor<'_>, mut each: impl FnMut(Scores)) -> AppResult<()> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query_as::<_, Scores>(SELECT).fetch(ex);
    while let Some(row) = rows.try_next().await? {
        each(row);
    }
    Ok(())
}

/// The users of `ids` that exist.
pub async fn of(ex: impl PgExecutor<'_>, ids: &[Uuid]) -> AppResult<Vec<Scores>> {
    let sql = format!("{SELECT} WHERE id = ANY($1)");
    Ok(sqlx::query_as(&sql).bind(ids).fetch_all(ex).await?)
}
