//! The award in one call (`ttfd_award_xp`, migration `award_in_one_call`): the common case of
//! an XP award as a single statement. The migration says what it checks and when it declines.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::achievements::Thresholds;
use super::idempotency::Keyed;
use crate::domain::{Platform, UserKey};
use crate::error::AppResult;

pub struct OneCallAward<'a> {
    pub key: &'a UserKey,
    pub delta: i32,
    pub reason: Option<&'a str>,
    /// `None`: the user's primary platform.
    pub source: Option<Platform>,
    pub api_key: Option<Uuid>,
    pub catalog: &'a Thresholds<'a>,
    pub idempotency: Option<Keyed<'a>>,
}

/// Runs the award as its own transaction (no BEGIN, no COMMIT: a single statement commits by
/// itself). The stored result when it applied and committed; `None` when it declined, having
/// written nothing, and the full path must run.
pub async fn award(ex: impl PgExecutor<'_>, a: &OneCallAward<'_>) -> AppResult<Option<serde_json::Value>> {
    let (id, platform, external) = match a.key {
        UserKey::Id(id) => (Some(*id), None, None),
        UserKey::External(e) => (None, Some(e.platform().as_str()), Some(e.as_str())),
    };
    let keyed = a.idempotency.as_ref();
    Ok(sqlx::query_scalar(
        "SELECT ttfd_award_xp($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(id)
    .bind(platform)
    .bind(external)
    .bind(a.delta)
    .bind(a.reason)
    .bind(a.source.map(Platform::as_str))
    .bind(a.api_key)
    .bind(Uuid::now_v7())
    .bind(&a.catalog.codes)
    .bind(&a.catalog.columns)
    .bind(&a.catalog.values)
    .bind(keyed.map(|k| k.scope))
    .bind(keyed.map(|k| k.key))
    .bind(keyed.map(|k| k.operation))
    .bind(keyed.map(|k| k.fingerprint))
    .fetch_one(ex)
    .await?)
}
