//! `xp_boosts`.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::Reason;
use crate::error::AppResult;

#[derive(sqlx::FromRow, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BoostRow {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub multiplier: f64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

const COLUMNS: &str = "id, user_id, multiplier, starts_at, ends_at, reason";

pub async fn create(
    ex: impl PgExecutor<'_>,
    user_id: Option<Uuid>,
    multiplier: f64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    reason: Option<&Reason>,
) -> AppResult<BoostRow> {
    let sql = format!(
        "INSERT INTO xp_boosts (id, user_id, multiplier, starts_at, ends_at, reason) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(multiplier)
        .bind(starts_at)
        .bind(ends_at)
        .bind(reason.map(Reason::as_str))
        .fetch_one(ex)
        .await?)
}

/// The multipliers in force now for `user`: community-wide ones and the user's own.
pub async fn in_force(ex: impl PgExecutor<'_>, user: Uuid) -> AppResult<Vec<f64>> {
    Ok(sqlx::query_scalar(
        "SELECT multiplier FROM xp_boosts \
         WHERE (user_id IS NULL OR user_id = $1) AND starts_at <= now() AND ends_at > now()",
    )
    .bind(user)
    .fetch_all(ex)
    .await?)
}

/// Boosts not ended yet, soonest first.
/// Boosts in force or still to come, soonest first, at most `limit`.
pub async fn current(ex: impl PgExecutor<'_>, limit: i64) -> AppResult<Vec<BoostRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM xp_boosts WHERE ends_at > now() ORDER BY starts_at, id LIMIT $1");
    Ok(sqlx::query_as(&sql).bind(limit).fetch_all(ex).await?)
}
