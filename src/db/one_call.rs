//! An XP change in one call (`ttfd_xp_change`, migration `xp_change_in_one_call`): the common
//! case of an award or an activity as a single statement. The migration says what it checks
//! and when it declines.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::achievements::Thresholds;
use super::idempotency::Keyed;
use crate::domain::{EventType, Platform, UserKey};
use crate::error::AppResult;

pub struct OneCall<'a> {
    pub key: &'a UserKey,
    /// The XP asked for, before boosts (a message's, earned only outside its cooldown).
    pub xp: i32,
    pub reason: Option<&'a str>,
    /// `None`: the user's primary platform.
    pub source: Option<Platform>,
    pub api_key: Option<Uuid>,
    /// `None`: an award.
    pub activity: Option<ActivityCall<'a>>,
    pub catalog: &'a Thresholds,
    pub idempotency: Option<Keyed<'a>>,
}

/// What an activity counts and the event it writes (its data gets the XP applied).
pub struct ActivityCall<'a> {
    pub games: i32,
    pub wins: i32,
    pub voice_seconds: i32,
    pub messages: i32,
    /// A message's cooldown, from `now`.
    pub cooldown_ms: Option<i64>,
    pub now: DateTime<Utc>,
    pub event_type: EventType,
    pub data: &'a serde_json::Value,
}

/// Runs the change as its own transaction (no BEGIN, no COMMIT: a single statement commits by
/// itself). The stored result when it applied and committed; `None` when it declined, having
/// written nothing, and the full path must run.
pub async fn change(ex: impl PgExecutor<'_>, c: &OneCall<'_>) -> AppResult<Option<serde_json::Value>> {
    let (id, platform, external) = match c.key {
        UserKey::Id(id) => (Some(*id), None, None),
        UserKey::External(e) => (None, Some(e.platform().as_str()), Some(e.as_str())),
    };
    let keyed = c.idempotency.as_ref();
    let activity = c.activity.as_ref();
    let count = |f: fn(&ActivityCall<'_>) -> i32| activity.map_or(0, f);
    Ok(sqlx::query_scalar(
        "SELECT ttfd_xp_change($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17, $18, $19, $20, $21, $22, $23)",
    )
    .bind(id)
    .bind(platform)
    .bind(external)
    .bind(c.xp)
    .bind(c.reason)
    .bind(c.source.map(Platform::as_str))
    .bind(c.api_key)
    .bind([Uuid::now_v7(), Uuid::now_v7()])
    .bind(count(|a| a.games))
    .bind(count(|a| a.wins))
    .bind(count(|a| a.voice_seconds))
    .bind(count(|a| a.messages))
    .bind(activity.and_then(|a| a.cooldown_ms))
    .bind(activity.map_or_else(Utc::now, |a| a.now))
    .bind(activity.map(|a| a.event_type.as_str()))
    .bind(activity.map(|a| a.data))
    .bind(&c.catalog.codes)
    .bind(&c.catalog.columns)
    .bind(&c.catalog.values)
    .bind(keyed.map(|k| k.scope))
    .bind(keyed.map(|k| k.key))
    .bind(keyed.map(|k| k.operation))
    .bind(keyed.map(|k| k.fingerprint))
    .fetch_one(ex)
    .await?)
}
