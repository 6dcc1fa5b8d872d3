//! `score_counts` and `score_changes`: how many users hold each score, so a leaderboard
//! position is a sum over a few hundred rows instead of a count over the users above (see the
//! migration). The sums are SQL fragments inlined into each statement: a SQL function would be
//! planned afresh on every call. Triggers on `unified_users` append to `score_changes`; `compact` folds them
//! into `score_counts`.

use sqlx::{PgExecutor, PgPool};

use crate::error::AppResult;

/// Folds pending score changes into the counts. One compactor at a time across processes (an
/// advisory lock); the others skip the round. Returns how many change rows were folded.
pub async fn compact(pool: &PgPool) -> AppResult<u64> {
    let mut tx = pool.begin().await?;
    let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext('ttfd_score_compactor'))")
        .fetch_one(&mut *tx)
        .await?;
    if !ours {
        return Ok(0);
    }
    // Deleting and counting in one statement: a reader sees the rows either still pending or
    // already counted, never both or neither. The counts it brought to 0 are deleted next, by
    // key (scanning the whole table for zeros took milliseconds on every fold).
    let (folded, boards, levels, buckets): (i64, Vec<i32>, Vec<i16>, Vec<i32>) = sqlx::query_as(
        "WITH moved AS (DELETE FROM score_changes RETURNING board, score, users), \
         folded AS ( \
             INSERT INTO score_counts (board, level, bucket, users) \
             SELECT board, l.level, score >> (6 * l.level), sum(users) \
             FROM moved, (VALUES (0), (1), (2), (3)) l (level) \
             GROUP BY 1, 2, 3 HAVING sum(users) <> 0 \
             ON CONFLICT (board, level, bucket) DO UPDATE SET users = score_counts.users + EXCLUDED.users \
             RETURNING board, level, bucket, users) \
         SELECT (SELECT count(*) FROM moved), \
             coalesce(array_agg(board) FILTER (WHERE users = 0), '{}'), \
             coalesce(array_agg(level) FILTER (WHERE users = 0), '{}'), \
             coalesce(array_agg(bucket) FILTER (WHERE users = 0), '{}') \
         FROM folded",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !boards.is_empty() {
        sqlx::query(
            "DELETE FROM score_counts \
             WHERE (board, level, bucket) IN (SELECT * FROM unnest($1::int[], $2::smallint[], $3::int[])) \
               AND users = 0",
        )
        .bind(boards)
        .bind(levels)
        .bind(buckets)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(folded as u64)
}

/// Clears the dead rows that folding leaves in the queue.
pub async fn vacuum(pool: &PgPool) -> AppResult<()> {
    sqlx::query("VACUUM score_changes").execute(pool).await?;
    Ok(())
}

/// The board id of the current season.
pub const CURRENT_SEASON_BOARD: &str = "(SELECT id FROM seasons WHERE ended_at IS NULL)";

/// SQL for how many users score strictly more than `score` on `board` (both SQL
/// expressions): whole buckets above the score's at each level, inside the parent bucket, plus
/// what is still pending. One scan of each table, so a position costs a few hundred index
/// entries whatever the number of users. Bounds are bigint: ((score >> 6) + 1) << 6 passes
/// the int range at the top.
pub fn above(board: &str, score: &str) -> String {
    format!(
        "((SELECT coalesce(sum(users), 0)::bigint FROM score_counts WHERE board = {board} AND ( \
              (level = 3 AND bucket > {score} >> 18) \
           OR (level = 2 AND bucket > {score} >> 12 AND bucket < (({score} >> 18) + 1)::bigint << 6) \
           OR (level = 1 AND bucket > {score} >> 6 AND bucket < (({score} >> 12) + 1)::bigint << 6) \
           OR (level = 0 AND bucket > {score} AND bucket < (({score} >> 6) + 1)::bigint << 6))) \
         + (SELECT coalesce(sum(users), 0) FROM score_changes WHERE board = {board} AND score > {score}))"
    )
}

/// SQL for how many users hold exactly `score` (> 0) on `board`.
pub fn holding(board: &str, score: &str) -> String {
    format!(
        "((SELECT coalesce(sum(users), 0)::bigint FROM score_counts WHERE board = {board} AND level = 0 AND bucket = {score}) \
         + (SELECT coalesce(sum(users), 0) FROM score_changes WHERE board = {board} AND score = {score}))"
    )
}

/// Position (1 = best; ties share) of each score: 1 + the users who score strictly more.
/// `board` is SQL: `0` for all-time, `CURRENT_SEASON_BOARD` for the season.
///
/// The array is read through a sub-select so that no plan knows its length: with
/// `unnest($1)` each execution's own plan counts the actual scores and always looks cheaper
/// than the prepared plan (which assumes 100), so PostgreSQL planned every call afresh.
pub async fn positions(ex: impl PgExecutor<'_>, board: &str, scores: &[i32]) -> AppResult<Vec<(i32, i64)>> {
    let sql = format!(
        "SELECT v.score, {} + 1 FROM unnest((SELECT $1::int[])) AS v(score)",
        above(board, "v.score")
    );
    Ok(sqlx::query_as(&sql).bind(scores).fetch_all(ex).await?)
}
