//! `idempotency_keys`: the stored result of each keyed mutation.

use sqlx::PgConnection;

use crate::error::AppResult;

/// The key a single-statement mutation stores its result under (owned: the change may wait in
/// a queue for its batch).
pub struct StoredUnder {
    pub scope: String,
    pub key: String,
    pub operation: &'static str,
    pub fingerprint: String,
}

pub struct StoredResult {
    pub operation: String,
    pub fingerprint: String,
    pub response: serde_json::Value,
}

pub async fn find(tx: &mut PgConnection, scope: &str, key: &str) -> AppResult<Option<StoredResult>> {
    let row: Option<(String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT operation, fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(tx)
    .await?;
    Ok(row.map(|(operation, fingerprint, response)| StoredResult {
        operation,
        fingerprint,
        response,
    }))
}

/// Holds the key for the rest of the transaction.
pub async fn lock(tx: &mut PgConnection, scope: &str, key: &str) -> AppResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(2, hashtext($1 || '|' || $2))")
        .bind(scope)
        .bind(key)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn store(
    tx: &mut PgConnection,
    scope: &str,
    key: &str,
    operation: &str,
    fingerprint: &str,
    response: &serde_json::Value,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, operation, fingerprint, response) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(scope)
    .bind(key)
    .bind(operation)
    .bind(fingerprint)
    .bind(response)
    .execute(tx)
    .await?;
    Ok(())
}

/// Forgets results older than `before`: a retry that late is a new request.
pub async fn prune(ex: impl sqlx::PgExecutor<'_>, before: chrono::DateTime<chrono::Utc>) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(before)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}
