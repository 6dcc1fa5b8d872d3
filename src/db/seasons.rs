//! `seasons` and `season_standings`. A season's XP lives on the user row while it is current;
//! an ended season's XP stays there until the user's first change in a later season moves it
//! into `season_standings`. Final standings read both.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::leaderboard::from_cursor;
use super::scores;
use super::users::CURRENT_SEASON;
use crate::domain::Name;
use crate::error::AppResult;

#[derive(sqlx::FromRow, Clone, Debug, serde::Serialize, serde::Deserialize)]
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

/// Seasons after season `after` (0: from the first), oldest first, at most `limit`.
pub async fn list(ex: impl PgExecutor<'_>, after: i32, limit: i64) -> AppResult<Vec<SeasonRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, started_at, ended_at FROM seasons WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

pub async fn find(ex: impl PgExecutor<'_>, id: i32) -> AppResult<Option<SeasonRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, started_at, ended_at FROM seasons WHERE id = $1")
            .bind(id)
            .fetch_optional(ex)
            .await?,
    )
}

/// The advisory lock that orders season starts against every change to users.
const SEASON_LOCK: i64 = 0x7474_6664_7365_6173; // "ttfdseas"

/// Holds the current season for the rest of the transaction (shared: changes to users do not
/// wait for each other, only for a season start).
pub async fn hold(tx: &mut PgConnection) -> AppResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind(SEASON_LOCK)
        .execute(tx)
        .await?;
    Ok(())
}

/// Ends the current season and starts `name`: two rows, whatever the number of users (their
/// season XP now reads as 0 and is archived on their next change). Returns the ended season,
/// the new one and the ended season's champion, if anyone scored.
pub async fn start(tx: &mut PgConnection, name: &Name) -> AppResult<(SeasonRow, SeasonRow, Option<Uuid>)> {
    // Waits for every change in flight and holds new ones back until this commits.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SEASON_LOCK)
        .execute(&mut *tx)
        .await?;
    let ended: SeasonRow = sqlx::query_as(
        "UPDATE seasons SET ended_at = now() WHERE ended_at IS NULL RETURNING id, name, started_at, ended_at",
    )
    .fetch_one(&mut *tx)
    .await?;
    let started: SeasonRow =
        sqlx::query_as("INSERT INTO seasons (name) VALUES ($1) RETURNING id, name, started_at, ended_at")
            .bind(name.as_str())
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

/// A page of everyone's XP in an ended season, best first: archived rows and rows not moved
/// yet. Each side reads at most a page from its own index in order, then the two are merged
/// (PostgreSQL does not merge the sorted sides of a UNION ALL by itself: it would sort the
/// whole season). The season is `$1`; after a cursor, `$2` (xp) and `$3` (user) and the page
/// size `$4`; else the page size is `$2`.
fn season_page(after: bool) -> String {
    let (from_archived, from_unmoved, limit) = if after {
        (
            format!("AND {}", from_cursor("xp", "user_id", false, 2)),
            format!("AND {}", from_cursor("current_season_xp", "id", false, 2)),
            "$4",
        )
    } else {
        (String::new(), String::new(), "$2")
    };
    format!(
        "SELECT user_id, xp FROM ( \
             (SELECT user_id, xp FROM season_standings WHERE season_id = $1 {from_archived} \
              ORDER BY xp DESC, user_id LIMIT {limit}) \
             UNION ALL \
             (SELECT id, current_season_xp FROM unified_users \
              WHERE season_id = $1 AND current_season_xp > 0 {from_unmoved} \
                  AND season_id <> {CURRENT_SEASON} \
              ORDER BY current_season_xp DESC, id LIMIT {limit})) s \
         ORDER BY xp DESC, user_id LIMIT {limit}"
    )
}

pub struct StandingsPage {
    pub rows: Vec<(Uuid, i32)>,
    /// Users who scored more than the page's first entry.
    pub above: i64,
    /// Users who scored exactly what the page's first entry did.
    pub holding_first: i64,
}

/// A page of an ended season's final standings, best first, after `(xp, user)`. Positions
/// come from the season's board (`season_standings` counts there too), not from counting.
pub async fn standings(
    ex: impl PgExecutor<'_>,
    season: i32,
    after: Option<(i32, Uuid)>,
    limit: i64,
) -> AppResult<StandingsPage> {
    // The first page has its own statement: `$2 IS NULL OR ...` would be planned afresh on
    // every call.
    let sql = format!(
        "WITH page AS ({page}), \
         head AS MATERIALIZED ( \
             SELECT {above} AS above, {holding} AS holding_first \
             FROM (SELECT max(xp) AS xp FROM page) h) \
         SELECT page.user_id, page.xp, head.above, head.holding_first \
         FROM page, head ORDER BY page.xp DESC, page.user_id",
        page = season_page(after.is_some()),
        above = scores::above("$1", "h.xp"),
        holding = scores::holding("$1", "h.xp"),
    );
    let query = sqlx::query_as(&sql).bind(season);
    let query = match after {
        Some((xp, user)) => query.bind(xp).bind(user),
        None => query,
    };
    let rows: Vec<(Uuid, i32, i64, i64)> = query.bind(limit).fetch_all(ex).await?;
    let (above, holding_first) = rows.first().map(|r| (r.2, r.3)).unwrap_or((0, 0));
    Ok(StandingsPage {
        rows: rows.into_iter().map(|r| (r.0, r.1)).collect(),
        above,
        holding_first,
    })
}

/// A user's final places in the `limit` most recent ended seasons they scored in, oldest
/// first.
pub async fn of_user(ex: impl PgExecutor<'_>, user: Uuid, limit: i64) -> AppResult<Vec<StandingRow>> {
    let sql = format!(
        "WITH mine AS ( \
             SELECT season_id, xp FROM season_standings WHERE user_id = $1 \
             UNION ALL \
             SELECT season_id, current_season_xp FROM unified_users \
             WHERE id = $1 AND current_season_xp > 0 AND season_id <> {CURRENT_SEASON}) \
         SELECT * FROM ( \
             SELECT mine.season_id, $1 AS user_id, mine.xp, 1 + {above} AS position \
             FROM mine ORDER BY mine.season_id DESC LIMIT $2) recent \
         ORDER BY season_id",
        above = scores::above("mine.season_id", "mine.xp"),
    );
    Ok(sqlx::query_as(&sql).bind(user).bind(limit).fetch_all(ex).await?)
}
