//! `seasons` and `season_standings`.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::AppResult;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct SeasonRow {
    pub id: i32,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct StandingRow {
    pub season_id: i32,
    pub user_id: Uuid,
    pub position: i32,
    pub xp: i32,
}

pub async fn list(ex: impl PgExecutor<'_>) -> AppResult<Vec<SeasonRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, started_at, ended_at FROM seasons ORDER BY id")
            .fetch_all(ex)
            .await?,
    )
}

/// Ends the current season and starts `name`, in the caller's transaction: freezes every
/// user's season XP and position (ties share), then resets season XP, each in one statement.
/// Returns the ended season, the new one and the ended season's champion (if anyone scored).
pub async fn start(tx: &mut PgConnection, name: &str) -> AppResult<(SeasonRow, SeasonRow, Option<Uuid>)> {
    // The one statement allowed to touch every user: lift the per-statement limit for this
    // transaction only.
    sqlx::query("SET LOCAL statement_timeout = '10min'")
        .execute(&mut *tx)
        .await?;
    let ended: SeasonRow = sqlx::query_as(
        "UPDATE seasons SET ended_at = now() WHERE id = (SELECT id FROM seasons WHERE ended_at IS NULL FOR UPDATE) \
         RETURNING id, name, started_at, ended_at",
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO season_standings (season_id, user_id, position, xp) \
         SELECT $1, id, rank() OVER (ORDER BY current_season_xp DESC), current_season_xp \
         FROM unified_users WHERE current_season_xp > 0",
    )
    .bind(ended.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE unified_users SET current_season_xp = 0 WHERE current_season_xp > 0")
        .execute(&mut *tx)
        .await?;
    let started: SeasonRow =
        sqlx::query_as("INSERT INTO seasons (name) VALUES ($1) RETURNING id, name, started_at, ended_at")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
    let champion: Option<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM season_standings WHERE season_id = $1 ORDER BY position, user_id LIMIT 1",
    )
    .bind(ended.id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok((ended, started, champion))
}

pub async fn standings(
    ex: impl PgExecutor<'_>,
    season: i32,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> AppResult<Vec<StandingRow>> {
    Ok(sqlx::query_as(
        "SELECT season_id, user_id, position, xp FROM season_standings \
         WHERE season_id = $1 AND ($2::int IS NULL OR (position, user_id) > ($2, $3)) \
         ORDER BY position, user_id LIMIT $4",
    )
    .bind(season)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

pub async fn of_user(ex: impl PgExecutor<'_>, user: Uuid) -> AppResult<Vec<StandingRow>> {
    Ok(sqlx::query_as(
        "SELECT season_id, user_id, position, xp FROM season_standings WHERE user_id = $1 ORDER BY season_id",
    )
    .bind(user)
    .fetch_all(ex)
    .await?)
}
