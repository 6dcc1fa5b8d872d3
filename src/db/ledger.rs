//! The ledger: a user's XP and coin changes from `cross_platform_events`, with the key that
//! caused each (`api_keys`) and its revert (`event_reverts`).

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::events::EventRow;
use crate::domain::cursor::EventCursor;
use crate::error::AppResult;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct LedgerRow {
    #[sqlx(flatten)]
    pub event: EventRow,
    pub key_name: Option<String>,
    pub reverted_by: Option<Uuid>,
}

const SELECT: &str = "SELECT e.id, e.txid, e.seq, e.user_id, e.event_type, e.source_platform, e.data, \
    e.created_at, k.name AS key_name, r.revert_event_id AS reverted_by \
    FROM cross_platform_events e \
    LEFT JOIN api_keys k ON k.id = e.api_key_id \
    LEFT JOIN event_reverts r ON r.event_id = e.id";

pub async fn page(
    ex: impl PgExecutor<'_>,
    user: Uuid,
    after: EventCursor,
    limit: i64,
) -> AppResult<Vec<LedgerRow>> {
    let sql = format!(
        "{SELECT} WHERE e.user_id = $1 AND e.event_type IN ('xp_change', 'coins_change') \
           AND (e.txid, e.seq) > ($2, $3) \
           AND e.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
         ORDER BY e.txid, e.seq LIMIT $4"
    );
    Ok(sqlx::query_as(&sql)
        .bind(user)
        .bind(after.txid)
        .bind(after.seq)
        .bind(limit)
        .fetch_all(ex)
        .await?)
}

pub async fn entry(ex: impl PgExecutor<'_>, event: Uuid) -> AppResult<Option<LedgerRow>> {
    let sql = format!("{SELECT} WHERE e.id = $1");
    Ok(sqlx::query_as(&sql).bind(event).fetch_optional(ex).await?)
}

/// Claims the revert of `event`; false when it was reverted already.
pub async fn claim_revert(tx: &mut PgConnection, event: Uuid) -> AppResult<bool> {
    let claimed = sqlx::query("INSERT INTO event_reverts (event_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(event)
        .execute(tx)
        .await?;
    Ok(claimed.rows_affected() == 1)
}

pub async fn reverted_by(ex: impl PgExecutor<'_>, event: Uuid) -> AppResult<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT revert_event_id FROM event_reverts WHERE event_id = $1")
            .bind(event)
            .fetch_optional(ex)
            .await?
            .flatten(),
    )
}

pub async fn set_revert_event(tx: &mut PgConnection, event: Uuid, revert: Option<Uuid>) -> AppResult<()> {
    sqlx::query("UPDATE event_reverts SET revert_event_id = $2 WHERE event_id = $1")
        .bind(event)
        .bind(revert)
        .execute(tx)
        .await?;
    Ok(())
}
