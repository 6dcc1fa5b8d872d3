//! `cross_platform_events`: the durable log every mutation appends to in its own transaction,
//! read in (txid, seq) order. Reads only return rows of transactions older than every
//! transaction still running, so a cursor handed out never has an earlier row appear behind it.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
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
pub async fn append(
    tx: &mut PgConnection,
    api_key_id: Option<Uuid>,
    events: &[NewEvent],
) -> AppResult<Vec<(Uuid, EventCursor)>> {
    if events.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
    let users: Vec<Uuid> = events.iter().map(|e| e.user_id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let sources: Vec<&str> = events.iter().map(|e| e.source.as_str()).collect();
    let data: Vec<&serde_json::Value> = events.iter().map(|e| &e.data).collect();
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data, api_key_id) \
         SELECT id, user_id, event_type, source_platform, data, $6 \
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
    .bind(api_key_id)
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, txid, seq)| (id, EventCursor { txid, seq }))
        .collect())
}

/// The last event the current transaction wrote, if any.
pub async fn last_of_transaction(tx: &mut PgConnection) -> AppResult<Option<EventCursor>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT txid, seq FROM cross_platform_events \
         WHERE txid = pg_current_xact_id()::text::bigint ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(tx)
    .await?;
    Ok(row.map(|(txid, seq)| EventCursor { txid, seq }))
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct EventRow {
    pub id: Uuid,
    pub txid: i64,
    pub seq: i64,
    pub user_id: Uuid,
    pub event_type: String,
    pub source_platform: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl EventRow {
    pub fn cursor(&self) -> EventCursor {
        EventCursor {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

/// Which events a reader wants; empty lists and `None` mean "any".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    pub types: Option<Vec<EventType>>,
    pub platforms: Option<Vec<Platform>>,
    pub user_id: Option<Uuid>,
}

impl EventFilter {
    pub fn matches(&self, e: &EventRow) -> bool {
        self.types
            .as_ref()
            .is_none_or(|ts| ts.iter().any(|t| t.as_str() == e.event_type))
            && self
                .platforms
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|p| p.as_str() == e.source_platform))
            && self.user_id.is_none_or(|u| u == e.user_id)
    }
}

/// The start of the log, before any event.
pub const ORIGIN: EventCursor = EventCursor {
    txid: i64::MIN,
    seq: i64::MIN,
};

/// Where a pull consumer that never acknowledged starts: after the history a seed import
/// brought (written with transaction id 0), before every event this service wrote (real
/// transaction ids start at 3).
pub const AFTER_HISTORY: EventCursor = EventCursor {
    txid: 0,
    seq: i64::MAX,
};

const COLUMNS: &str = "id, txid, seq, user_id, event_type, source_platform, data, created_at";
const STABLE: &str = "txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

/// The newest `limit` stable events, oldest first.
pub async fn latest(ex: impl PgExecutor<'_>, filter: &EventFilter, limit: i64) -> AppResult<Vec<EventRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cross_platform_events \
         WHERE {STABLE} \
           AND ($1::text[] IS NULL OR event_type = ANY($1)) \
           AND ($2::text[] IS NULL OR source_platform = ANY($2)) \
           AND ($3::uuid IS NULL OR user_id = $3) \
         ORDER BY txid DESC, seq DESC LIMIT $4"
    );
    let (types, platforms) = filter_binds(filter);
    let mut rows: Vec<EventRow> = sqlx::query_as(&sql)
        .bind(types)
        .bind(platforms)
        .bind(filter.user_id)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// The filter's types and platforms as the database spells them.
fn filter_binds(filter: &EventFilter) -> (Option<Vec<&'static str>>, Option<Vec<&'static str>>) {
    (
        filter
            .types
            .as_ref()
            .map(|ts| ts.iter().map(|t| t.as_str()).collect()),
        filter
            .platforms
            .as_ref()
            .map(|ps| ps.iter().map(|p| p.as_str()).collect()),
    )
}

/// Up to `limit` stable events after `after` (and not after `until`), oldest first.
pub async fn read(
    ex: impl PgExecutor<'_>,
    after: EventCursor,
    until: Option<EventCursor>,
    filter: &EventFilter,
    limit: i64,
) -> AppResult<Vec<EventRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cross_platform_events \
         WHERE (txid, seq) > ($1, $2) AND {STABLE} \
           AND ($3::bigint IS NULL OR (txid, seq) <= ($3, $4)) \
           AND ($5::text[] IS NULL OR event_type = ANY($5)) \
           AND ($6::text[] IS NULL OR source_platform = ANY($6)) \
           AND ($7::uuid IS NULL OR user_id = $7) \
         ORDER BY txid, seq LIMIT $8"
    );
    let (types, platforms) = filter_binds(filter);
    Ok(sqlx::query_as(&sql)
        .bind(after.txid)
        .bind(after.seq)
        .bind(until.map(|c| c.txid))
        .bind(until.map(|c| c.seq))
        .bind(types)
        .bind(platforms)
        .bind(filter.user_id)
        .bind(limit)
        .fetch_all(ex)
        .await?)
}

/// Rings the doorbell of every server's event listener. Sent after the writing transaction
/// committed, never inside it: PostgreSQL serialises the commits of all transactions that
/// NOTIFY (a cluster-wide lock held through the commit's WAL flush).
pub async fn ring(ex: impl PgExecutor<'_>, channel: &str, payload: &str) -> AppResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(ex)
        .await?;
    Ok(())
}

/// Rows the dispatcher reads per statement. Written into the statement, and small: with
/// `LIMIT $n`, or a literal of 100 or more, PostgreSQL judged the generic plan dearer and
/// planned this read afresh on every dispatch (0.2 ms of bind per read, about one read per
/// commit under load).
pub const DISPATCH_BATCH: i64 = 50;

/// What the dispatcher reads: every event after `after`, and whether more exist that are not
/// stable yet (an older transaction is still running).
pub async fn read_for_dispatch(
    ex: impl PgExecutor<'_>,
    after: EventCursor,
) -> AppResult<(Vec<EventRow>, bool)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        event: EventRow,
        stable: bool,
    }
    let sql = format!(
        "SELECT {COLUMNS}, {STABLE} AS stable FROM cross_platform_events \
         WHERE (txid, seq) > ($1, $2) ORDER BY txid, seq LIMIT {DISPATCH_BATCH}"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(after.txid)
        .bind(after.seq)
        .fetch_all(ex)
        .await?;
    let held_back = rows.iter().any(|r| !r.stable);
    Ok((
        rows.into_iter()
            .take_while(|r| r.stable)
            .map(|r| r.event)
            .collect(),
        held_back,
    ))
}

/// The cursor of the newest stable event (the origin when there is none).
pub async fn stable_head(ex: impl PgExecutor<'_>) -> AppResult<EventCursor> {
    let sql = format!(
        "SELECT txid, seq FROM cross_platform_events WHERE {STABLE} ORDER BY txid DESC, seq DESC LIMIT 1"
    );
    let row: Option<(i64, i64)> = sqlx::query_as(&sql).fetch_optional(ex).await?;
    Ok(row.map(|(txid, seq)| EventCursor { txid, seq }).unwrap_or(ORIGIN))
}

/// Deletes activity events (games, voice time, messages, daily claims) older than `before`, a
/// batch at a time; returns how many went. Everything else is the ledger or the accounts'
/// history, and stays.
pub async fn prune_activity(ex: impl PgExecutor<'_>, before: DateTime<Utc>, batch: i64) -> AppResult<u64> {
    let done = sqlx::query(
        "DELETE FROM cross_platform_events WHERE id IN \
         (SELECT id FROM cross_platform_events WHERE created_at < $1 \
            AND event_type IN ('game_played', 'voice_time', 'message_sent', 'daily_claimed') LIMIT $2)",
    )
    .bind(before)
    .bind(batch)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
