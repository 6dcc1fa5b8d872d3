//! `event_consumers`: each pull consumer's acknowledged position in the event log.

use sqlx::{PgConnection, PgExecutor};

use super::events::ORIGIN;
use crate::domain::cursor::EventCursor;
use crate::error::AppResult;

pub async fn position(ex: impl PgExecutor<'_>, name: &str) -> AppResult<EventCursor> {
    let row: Option<(i64, i64)> = sqlx::query_as("SELECT txid, seq FROM event_consumers WHERE name = $1")
        .bind(name)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|(txid, seq)| EventCursor { txid, seq }).unwrap_or(ORIGIN))
}

/// Locks (creating at the origin if needed) the consumer's row for the transaction.
pub async fn lock(tx: &mut PgConnection, name: &str) -> AppResult<EventCursor> {
    sqlx::query(
        "INSERT INTO event_consumers (name, txid, seq) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(ORIGIN.txid)
    .bind(ORIGIN.seq)
    .execute(&mut *tx)
    .await?;
    let (txid, seq): (i64, i64) =
        sqlx::query_as("SELECT txid, seq FROM event_consumers WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
    Ok(EventCursor { txid, seq })
}

pub async fn set(tx: &mut PgConnection, name: &str, to: EventCursor) -> AppResult<()> {
    sqlx::query("UPDATE event_consumers SET txid = $2, seq = $3, updated_at = now() WHERE name = $1")
        .bind(name)
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
