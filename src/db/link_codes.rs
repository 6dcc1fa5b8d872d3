//! `link_codes` and `link_code_failures`.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::AppResult;

#[derive(sqlx::FromRow)]
pub struct CodeRow {
    pub user_id: Uuid,
    pub platform: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn create(
    ex: impl PgExecutor<'_>,
    code_hash: &[u8],
    user_id: Uuid,
    platform: &str,
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query("INSERT INTO link_codes (code_hash, user_id, platform, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(code_hash)
        .bind(user_id)
        .bind(platform)
        .bind(expires_at)
        .execute(ex)
        .await?;
    Ok(())
}

/// The code's row, not locked.
pub async fn find(ex: impl PgExecutor<'_>, code_hash: &[u8]) -> AppResult<Option<CodeRow>> {
    Ok(
        sqlx::query_as("SELECT user_id, platform, expires_at, used_at FROM link_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(ex)
            .await?,
    )
}

/// The code's row, locked for the transaction.
pub async fn lock(tx: &mut PgConnection, code_hash: &[u8]) -> AppResult<Option<CodeRow>> {
    Ok(sqlx::query_as(
        "SELECT user_id, platform, expires_at, used_at FROM link_codes WHERE code_hash = $1 FOR UPDATE",
    )
    .bind(code_hash)
    .fetch_optional(tx)
    .await?)
}

pub async fn mark_used(tx: &mut PgConnection, code_hash: &[u8]) -> AppResult<()> {
    sqlx::query("UPDATE link_codes SET used_at = now() WHERE code_hash = $1")
        .bind(code_hash)
        .execute(tx)
        .await?;
    Ok(())
}

/// Reserves a guess in every scope whose failures since `since` are under its limit, all or
/// none: each scope is locked (advisory, in name order) while it is counted, so concurrent
/// guesses are counted one after another. `Err` holds when the fullest scope frees up.
pub async fn reserve_guess(
    pool: &sqlx::PgPool,
    scopes: &[(String, i64)],
    since: DateTime<Utc>,
) -> AppResult<Result<Vec<i64>, DateTime<Utc>>> {
    let mut sorted: Vec<&(String, i64)> = scopes.iter().collect();
    sorted.sort();
    let mut tx = pool.begin().await?;
    let mut ids = Vec::with_capacity(sorted.len());
    for (scope, limit) in sorted {
        sqlx::query("SELECT pg_advisory_xact_lock(3, hashtext($1))")
            .bind(scope)
            .execute(&mut *tx)
            .await?;
        let (failures, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT count(*), min(failed_at) FROM link_code_failures WHERE scope = $1 AND failed_at > $2",
        )
        .bind(scope)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        if failures >= *limit {
            tx.rollback().await?;
            return Ok(Err(oldest.unwrap_or(since)));
        }
        let id: i64 = sqlx::query_scalar("INSERT INTO link_code_failures (scope) VALUES ($1) RETURNING id")
            .bind(scope)
            .fetch_one(&mut *tx)
            .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(Ok(ids))
}

/// Releases reserved guesses (the guess was right, or was no guess at all).
pub async fn release_guess(ex: impl PgExecutor<'_>, ids: &[i64]) -> AppResult<()> {
    sqlx::query("DELETE FROM link_code_failures WHERE id = ANY($1)")
        .bind(ids)
        .execute(ex)
        .await?;
    Ok(())
}

/// Forgets failures older than `before`: they no longer count against anyone.
pub async fn prune_failures(ex: impl PgExecutor<'_>, before: DateTime<Utc>) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM link_code_failures WHERE failed_at < $1")
        .bind(before)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}
