//! XP changes in one call (`ttfd_xp_changes`, migrations `xp_changes_in_batches` and
//! `rank_changes_in_batches`): the common case of awards and activities, changes of rank
//! included, for a batch of users as a single statement. The migrations say what it checks and
//! when it declines an item.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::achievements::Thresholds;
use super::idempotency::StoredUnder;
use crate::domain::{EventType, Platform, UserKey};

/// One change, owned: it waits in a queue for its batch.
pub struct Change {
    pub key: UserKey,
    /// The XP asked for, before boosts (a message's, earned only outside its cooldown).
    pub xp: i32,
    pub reason: Option<String>,
    /// `None`: the user's primary platform.
    pub source: Option<Platform>,
    pub api_key: Option<Uuid>,
    /// `None`: an award.
    pub activity: Option<ActivityCall>,
    pub idempotency: Option<StoredUnder>,
}

/// What an activity counts and the event it writes (its data gets the XP applied).
pub struct ActivityCall {
    pub games: i32,
    pub wins: i32,
    pub voice_seconds: i32,
    pub messages: i32,
    /// A message's cooldown, from `now`.
    pub cooldown_ms: Option<i64>,
    pub now: DateTime<Utc>,
    pub event_type: EventType,
    pub data: serde_json::Value,
}

/// Runs the changes as one transaction (no BEGIN, no COMMIT: a single statement commits by
/// itself). One result per change, in order: the stored result when it applied, `None` when it
/// declined, having written nothing, and the full path must run. An error means nothing was
/// written, or (a lost connection) that it is not known whether the whole batch was.
pub async fn changes(
    ex: impl PgExecutor<'_>,
    batch: &[&Change],
    catalog: &Thresholds,
) -> sqlx::Result<Vec<Option<serde_json::Value>>> {
    let counted = |f: fn(&ActivityCall) -> i32| column(batch, |c| c.activity.as_ref().map_or(0, f));
    let external = |platform: Platform| {
        column(batch, move |c| match &c.key {
            UserKey::External(e) if e.platform() == platform => Some(e.as_str()),
            _ => None,
        })
    };
    let results: Vec<Option<serde_json::Value>> = sqlx::query_scalar(
        "SELECT ttfd_xp_changes($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
    )
    .bind(column(batch, |c| match c.key {
        UserKey::Id(id) => Some(id),
        UserKey::External(_) => None,
    }))
    .bind(external(Platform::Telegram))
    .bind(external(Platform::Discord))
    .bind(external(Platform::Website))
    .bind(column(batch, |c| c.xp))
    .bind(column(batch, |c| c.reason.as_deref()))
    .bind(column(batch, |c| c.source.map(Platform::as_str)))
    .bind(column(batch, |c| c.api_key))
    .bind(event_ids(batch.len()))
    .bind(counted(|a| a.games))
    .bind(counted(|a| a.wins))
    .bind(counted(|a| a.voice_seconds))
    .bind(counted(|a| a.messages))
    .bind(column(batch, |c| c.activity.as_ref().and_then(|a| a.cooldown_ms)))
    .bind(column(batch, |c| {
        c.activity.as_ref().map_or_else(Utc::now, |a| a.now)
    }))
    .bind(column(batch, |c| {
        c.activity.as_ref().map(|a| a.event_type.as_str())
    }))
    .bind(column(batch, |c| c.activity.as_ref().map(|a| &a.data)))
    .bind(column(batch, |c| {
        c.idempotency.as_ref().map(|k| k.scope.as_str())
    }))
    .bind(column(batch, |c| c.idempotency.as_ref().map(|k| k.key.as_str())))
    .bind(column(batch, |c| c.idempotency.as_ref().map(|k| k.operation)))
    .bind(column(batch, |c| {
        c.idempotency.as_ref().map(|k| k.fingerprint.as_str())
    }))
    .bind(&catalog.codes)
    .bind(&catalog.columns)
    .bind(&catalog.values)
    .fetch_one(ex)
    .await?;
    Ok(results)
}

/// The ids of the events the batch may write: four per change, as the function takes them (its
/// XP change, change of rank, rank reward and activity), unused ones skipped.
fn event_ids(changes: usize) -> Vec<Uuid> {
    (0..4 * changes).map(|_| Uuid::now_v7()).collect()
}

/// One parameter array of the batch: the function takes its items as parallel arrays.
fn column<'a, T>(batch: &[&'a Change], f: impl Fn(&'a Change) -> T) -> Vec<T> {
    batch.iter().map(|c| f(c)).collect()
}
