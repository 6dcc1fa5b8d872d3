//! `cross_platform_events`: the durable log every mutation appends to in its own transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::cursor::EventCursor;
use crate::domain::{EventType, Platform};
use crate::error::AppResult;

#[derive(Clone, Debug)]
pub struct NewEvent {
    pub user_id: Uuid,
    pub event_type: EventType,
    pub source: Platform,
    pub data: serde_json::Value,
}

/// Appends `events` in order with one statement (and so one NOTIFY) and returns their ids and
/// cursors.
pub async fn append(tx: &mut PgConnection, events: &[NewEvent]) -> AppResult<Vec<(Uuid, EventCursor)>> {
    if events.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
    let users: Vec<Uuid> = events.iter().map(|e| e.user_id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let sources: Vec<&str> = events.iter().map(|e| e.source.as_str()).collect();
    let data: Vec<&serde_json::Value> = events.iter().map(|e| &e.data).collect();
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data) \
         SELECT id, user_id, event_type, source_platform, data \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[]) \
             WITH ORDINALITY AS e(id, user_id, event_type, source_platform, data, n) \
         ORDER BY n \
         RETURNING id, txid, seq",
    )
    .bind(&ids)
    .bind(&users)
    .bind(&types)
    .bind(&sources)
    .bind(&data)
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, txid, seq)| (id, EventCursor { txid, seq }))
        .collect())
}
