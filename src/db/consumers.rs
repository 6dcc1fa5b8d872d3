//! `event_consumers`: each pull consumer's acknowledged position in the event log.

use sqlx::{PgConnection, PgExecutor};

use super::events::AFTER_HISTORY;
use crate::domain::ConsumerName;
use crate::domain::cursor::EventCursor;
use crate::error::AppResult;

/// A consumer's position and owner (`None` for a consumer nobody created yet, or one made
/// before consumers had owners).
pub async fn position(
    ex: impl PgExecutor<'_>,
    name: &ConsumerName,
) -> AppResult<(EventCursor, Option<String>)> {
    let row: Option<(i64, i64, Option<String>)> =
        sqlx::query_as("SELECT txid, seq, owner FROM event_consumers WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(ex)
            .await?;
    Ok(match row {
        Some((txid, seq, owner)) => (EventCursor { txid, seq }, owner),
        None => (AFTER_HISTORY, None),
    })
}

/// How many consumers `owner` has.
pub async fn count_owned(ex: impl PgExecutor<'_>, owner: &str) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM event_consumers WHERE owner = $1")
            .bind(owner)
            .fetch_one(ex)
            .await?,
    )
}

/// Locks (creating it at the origin, owned by `owner`, if needed) the consumer's row for the
/// transaction; a row without an owner becomes `owner`'s. Returns its position and owner.
pub async fn lock(
    tx: &mut PgConnection,
    name: &ConsumerName,
    owner: &str,
) -> AppResult<(EventCursor, String)> {
    sqlx::query(
        "INSERT INTO event_consumers (name, txid, seq, owner) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET owner = $4 WHERE event_consumers.owner IS NULL",
    )
    .bind(name.as_str())
    .bind(AFTER_HISTORY.txid)
    .bind(AFTER_HISTORY.seq)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    let (txid, seq, owner): (i64, i64, String) =
        sqlx::query_as("SELECT txid, seq, owner FROM event_consumers WHERE name = $1 FOR UPDATE")
            .bind(name.as_str())
            .fetch_one(&mut *tx)
            .await?;
    Ok((EventCursor { txid, seq }, owner))
}

/// A page of consumers by name, after `after`.
pub async fn list(
    ex: impl PgExecutor<'_>,
    after: &str,
    limit: i64,
) -> AppResult<Vec<(String, Option<String>, i64, i64, chrono::DateTime<chrono::Utc>)>> {
    Ok(sqlx::query_as(
        "SELECT name, owner, txid, seq, updated_at FROM event_consumers WHERE name > $1 ORDER BY name LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

/// Forgets a consumer: its next read starts at the oldest retained event.
pub async fn delete(ex: impl PgExecutor<'_>, name: &ConsumerName) -> AppResult<bool> {
    let done = sqlx::query("DELETE FROM event_consumers WHERE name = $1")
        .bind(name.as_str())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set(tx: &mut PgConnection, name: &ConsumerName, to: EventCursor) -> AppResult<()> {
    sqlx::query("UPDATE event_consumers SET txid = $2, seq = $3, updated_at = now() WHERE name = $1")
        .bind(name.as_str())
        .bind(to.txid)
        .bind(to.seq)
        .execute(tx)
        .await?;
    Ok(())
}

/// Stable events in `(from, to]`.
pub async fn count_between(ex: impl PgExecutor<'_>, from: EventCursor, to: EventCursor) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM cross_platform_events WHERE (txid, seq) > ($1, $2) AND (txid, seq) <= ($3, $4)",
    )
    .bind(from.txid)
    .bind(from.seq)
    .bind(to.txid)
    .bind(to.seq)
    .fetch_one(ex)
    .await?)
}
