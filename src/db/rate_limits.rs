//! `rate_limit_buckets`: the token buckets every server process shares.

use sqlx::PgExecutor;

use crate::error::AppResult;

/// Takes up to `want` tokens from `caller`'s bucket. Returns how many were taken and, when
/// none, the seconds until one is back.
pub async fn take(
    ex: impl PgExecutor<'_>,
    caller: &str,
    capacity: f64,
    per_second: f64,
    want: u32,
) -> AppResult<(u32, f64)> {
    let (granted, wait): (i32, f64) =
        sqlx::query_as("SELECT granted, wait_seconds FROM rate_limit_take($1, $2, $3, $4)")
            .bind(caller)
            .bind(capacity)
            .bind(per_second)
            .bind(i32::try_from(want).unwrap_or(i32::MAX))
            .fetch_one(ex)
            .await?;
    Ok((granted.max(0) as u32, wait))
}

/// Forgets buckets untouched for longer than any bucket takes to refill.
pub async fn prune(ex: impl PgExecutor<'_>) -> AppResult<u64> {
    Ok(
        sqlx::query("DELETE FROM rate_limit_buckets WHERE updated_at < now() - interval '5 minutes'")
            .execute(ex)
            .await?
            .rows_affected(),
    )
}
