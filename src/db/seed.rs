//! The Python shared module's database (`ttfd import seed --from`): read in one read-only
//! snapshot; and what only a seed import writes here: its achievements and its event history.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::error::AppResult;

/// The seed's users and events, each row as the JSON object of its columns, users by id and
/// events in their original order.
pub struct Snapshot {
    pub users: Vec<serde_json::Map<String, Value>>,
    pub events: Vec<serde_json::Map<String, Value>>,
}

/// Reads `unified_users` and `cross_platform_events` from the seed's database in one
/// repeatable-read, read-only transaction, so users and events agree.
pub async fn read(source: &mut PgConnection) -> AppResult<Snapshot> {
    let mut tx = source.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let rows = |sql: &'static str| sqlx::query_scalar::<_, sqlx::types::Json<Value>>(sql);
    let objects = |values: Vec<sqlx::types::Json<Value>>| {
        values
            .into_iter()
            .filter_map(|v| match v.0 {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let users = rows("SELECT to_jsonb(u) FROM unified_users u ORDER BY u.id")
        .fetch_all(&mut *tx)
        .await?;
    let events = rows("SELECT to_jsonb(e) FROM cross_platform_events e ORDER BY e.created_at, e.id")
        .fetch_all(&mut *tx)
        .await?;
    tx.rollback().await?;
    Ok(Snapshot {
        users: objects(users),
        events: objects(events),
    })
}

/// A catalog entry a seed unlock needs: one of the rules' (written only when the database
/// lacks it, as when no server has run yet), or a name the rules do not know, kept as a
/// retired entry (listed nowhere, never unlocked again) so its holders keep it.
pub struct Entry<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub retired: bool,
}

/// Records the seed's unlocks (`(user, code)`, no rewards: they were paid in the seed),
/// creating the entries they need first (an existing entry is left as it is).
pub async fn record_achievements(
    tx: &mut PgConnection,
    entries: &[Entry<'_>],
    unlocks: &[(Uuid, String)],
) -> AppResult<()> {
    let codes: Vec<&str> = entries.iter().map(|e| e.code).collect();
    let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
    let descriptions: Vec<&str> = entries.iter().map(|e| e.description).collect();
    let retired: Vec<bool> = entries.iter().map(|e| e.retired).collect();
    sqlx::query(
        "INSERT INTO achievements (code, name, description, retired_at) \
         SELECT code, name, description, CASE WHEN retired THEN now() END \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[]) AS e(code, name, description, retired) \
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(&codes)
    .bind(&names)
    .bind(&descriptions)
    .bind(&retired)
    .execute(&mut *tx)
    .await?;
    let users: Vec<Uuid> = unlocks.iter().map(|(u, _)| *u).collect();
    let codes: Vec<&str> = unlocks.iter().map(|(_, c)| c.as_str()).collect();
    sqlx::query(
        "INSERT INTO user_achievements (user_id, achievement_code) \
         SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(&users)
    .bind(&codes)
    .execute(tx)
    .await?;
    Ok(())
}

/// One seed event, ready to be history.
pub struct HistoryEvent {
    pub id: Uuid,
    pub user_id: Uuid,
    pub event_type: &'static str,
    pub source_platform: &'static str,
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

/// Writes the seed's events as history: transaction id 0, so they sort before every event
/// this service wrote, in their original order, and are never delivered live or to a pull
/// consumer (consumers start after history). An event imported before is skipped. Returns
/// how many were written.
pub async fn write_history(tx: &mut PgConnection, events: &[HistoryEvent]) -> AppResult<u64> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let users: Vec<Uuid> = events.iter().map(|e| e.user_id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type).collect();
    let platforms: Vec<&str> = events.iter().map(|e| e.source_platform).collect();
    let data: Vec<sqlx::types::Json<&Value>> = events.iter().map(|e| sqlx::types::Json(&e.data)).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.created_at).collect();
    let written = sqlx::query(
        "INSERT INTO cross_platform_events (id, txid, user_id, event_type, source_platform, data, created_at) \
         SELECT id, 0, user_id, event_type, source_platform, data, created_at \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[]) \
             AS e(id, user_id, event_type, source_platform, data, created_at) \
         ORDER BY created_at, id ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&users)
    .bind(&types)
    .bind(&platforms)
    .bind(&data)
    .bind(&times)
    .execute(tx)
    .await?;
    Ok(written.rows_affected())
}
