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

pub async fn recent_failures(
    ex: impl PgExecutor<'_>,
    scope: &str,
    since: DateTime<Utc>,
) -> AppResult<(i64, Option<DateTime<Utc>>)> {
    Ok(sqlx::query_as(
        "SELECT count(*), min(failed_at) FROM link_code_failures WHERE scope = $1 AND failed_at > $2",
    )
    .bind(scope)
    .bind(since)
    .fetch_one(ex)
    .await?)
}

pub async fn record_failure(ex: impl PgExecutor<'_>, scope: &str) -> AppResult<()> {
    sqlx::query("INSERT INTO link_code_failures (scope) VALUES ($1)")
        .bind(scope)
        .execute(ex)
        .await?;
    Ok(())
}
