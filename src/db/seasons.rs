//! `seasons` and `season_standings`. A season's XP lives on the user row while it is current;
//! an ended season's XP stays there until the user's first change in a later season moves it
//! into `season_standings`. Final standings read both.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::users::CURRENT_SEASON;
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
    pub xp: i32,
    pub position: i64,
}

pub async fn list(ex: impl PgExecutor<'_>) -> AppResult<Vec<SeasonRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, started_at, ended_at FROM seasons ORDER BY id")
            .fetch_all(ex)
            .await?,
    )
}

pub async fn find(ex: impl PgExecutor<'_>, id: i32) -> AppResult<Option<SeasonRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, started_at, ended_at FROM seasons WHERE id = $1")
            .bind(id)
            .fetch_optional(ex)
            .await?,
    )
}

/// Ends the current season and starts `name`: two rows, whatever the number of users (their
/// season XP now reads as 0 and is archived on their next change). Returns the ended season,
/// the new one and the ended season's champion, if anyone scored.
pub async fn start(tx: &mut PgConnection, name: &str) -> AppResult<(SeasonRow, SeasonRow, Option<Uuid>)> {
    let ended: SeasonRow = sqlx::query_as(
        "UPDATE seasons SET ended_at = now() WHERE ended_at IS NULL RETURNING id, name, started_at, ended_at",
    )
    .fetch_one(&mut *tx)
    .await?;
    let started: SeasonRow =
        sqlx::query_as("INSERT INTO seasons (name) VALUES ($1) RETURNING id, name, started_at, ended_at")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
    let champion: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM unified_users WHERE season_id = $1 AND current_season_xp > 0 \
         ORDER BY current_season_xp DESC, id LIMIT 1",
    )
    .bind(ended.id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok((ended, started, champion))
}

/// Everyone's XP in an ended season: archived rows and rows not moved yet.
const SEASON_SCORES: &str = "SELECT user_id, xp FROM season_standings WHERE season_id = $1 \
    UNION ALL \
    SELECT id, current_season_xp FROM unified_users \
    WHERE season_id = $1 AND current_season_xp > 0 AND season_id <> (SELECT id FROM seasons WHERE ended_at IS NULL)";

pub struct StandingsPage {
    pub rows: Vec<(Uuid, i32)>,
    pub above: i64,
    pub before: i64,
}

/// A page of an ended season's final standings, best first, after `(xp, user)`.
pub async fn standings(
    ex: impl PgExecutor<'_>,
    season: i32,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> AppResult<StandingsPage> {
    let sql = format!(
        "WITH s AS ({SEASON_SCORES}), \
         page AS (SELECT user_id, xp FROM s \
             WHERE $2::int IS NULL OR (xp <= $2 AND (xp < $2 OR user_id > $3)) \
             ORDER BY xp DESC, user_id LIMIT $4), \
         head AS (SELECT xp, user_id FROM page ORDER BY xp DESC, user_id LIMIT 1) \
         SELECT page.user_id, page.xp, \
             (SELECT count(*) FROM s, head WHERE s.xp > head.xp) AS above, \
             (SELECT count(*) FROM s, head WHERE s.xp > head.xp OR (s.xp = head.xp AND s.user_id < head.user_id)) AS before \
         FROM page ORDER BY page.xp DESC, page.user_id"
    );
    let rows: Vec<(Uuid, i32, i64, i64)> = sqlx::query_as(&sql)
        .bind(season)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(ex)
        .await?;
    let (above, before) = rows.first().map(|r| (r.2, r.3)).unwrap_or((0, 0));
    Ok(StandingsPage {
        rows: rows.into_iter().map(|r| (r.0, r.1)).collect(),
        above,
        before,
    })
}

/// A user's final places in the ended seasons they scored in.
pub async fn of_user(ex: impl PgExecutor<'_>, user: Uuid) -> AppResult<Vec<StandingRow>> {
    let sql = format!(
        "WITH mine AS ( \
             SELECT season_id, xp FROM season_standings WHERE user_id = $1 \
             UNION ALL \
             SELECT season_id, current_season_xp FROM unified_users \
             WHERE id = $1 AND current_season_xp > 0 AND season_id <> {CURRENT_SEASON}) \
         SELECT mine.season_id, $1 AS user_id, mine.xp, 1 \
             + (SELECT count(*) FROM season_standings s WHERE s.season_id = mine.season_id AND s.xp > mine.xp) \
             + (SELECT count(*) FROM unified_users u WHERE u.season_id = mine.season_id AND u.current_season_xp > mine.xp) \
             AS position \
         FROM mine ORDER BY mine.season_id"
    );
    Ok(sqlx::query_as(&sql).bind(user).fetch_all(ex).await?)
}
