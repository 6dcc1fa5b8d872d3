//! `unified_users`.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

use crate::domain::merge::Holdings;
use crate::domain::xp::{Progress, XpOutcome};
use crate::domain::{ExternalId, Identities, Name, Platform, UserKey};
use crate::error::AppResult;

/// The current season, as SQL.
pub const CURRENT_SEASON: &str = "(SELECT id FROM seasons WHERE ended_at IS NULL)";

/// Every column of a user; season XP of an ended season reads as 0.
pub const COLUMNS: &str = "id, telegram_id, discord_id, website_email, username, display_name, \
    xp, coins, rank_id, rewarded_rank_id, games_played, games_won, total_voice_time, messages_sent, \
    CASE WHEN season_id = (SELECT id FROM seasons WHERE ended_at IS NULL) THEN current_season_xp ELSE 0 END \
        AS current_season_xp, \
    daily_streak, last_daily, created_at, last_active, \
    primary_platform, time_zone, streak_freezes, last_daily_day, last_message_xp_at";

/// Serialisable: an idempotent mutation that answers with a user stores it as its result.
#[derive(sqlx::FromRow, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct UserRow {
    pub id: Uuid,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub identities: Identities,
    pub username: String,
    pub display_name: String,
    pub xp: i32,
    pub coins: i32,
    pub rank_id: i32,
    pub rewarded_rank_id: i32,
    pub games_played: i32,
    pub games_won: i32,
    pub total_voice_time: i32,
    pub messages_sent: i32,
    pub current_season_xp: i32,
    pub daily_streak: i32,
    pub last_daily: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_active: DateTime<Utc>,
    pub primary_platform: String,
    pub time_zone: Option<String>,
    pub streak_freezes: i32,
    pub last_daily_day: Option<chrono::NaiveDate>,
    pub last_message_xp_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn progress(&self) -> Progress {
        Progress {
            xp: self.xp,
            season_xp: self.current_season_xp,
            coins: self.coins,
            rank_id: self.rank_id,
            rewarded_rank_id: self.rewarded_rank_id,
        }
    }

    /// What a merge combines of this account.
    pub fn holdings(&self) -> Holdings {
        Holdings {
            identities: self.identities.clone(),
            progress: self.progress(),
            games_played: self.games_played,
            games_won: self.games_won,
            total_voice_time: self.total_voice_time,
            messages_sent: self.messages_sent,
            daily_streak: self.daily_streak,
            last_daily: self.last_daily,
            last_daily_day: self.last_daily_day,
            streak_freezes: self.streak_freezes,
            created_at: self.created_at,
            time_zone: self.time_zone.clone(),
            last_message_xp_at: self.last_message_xp_at,
        }
    }

    pub fn primary_platform(&self) -> Platform {
        // The database's check constraint only admits the three spellings.
        Platform::parse(&self.primary_platform).unwrap_or(Platform::Website)
    }
}

pub(crate) fn column(platform: Platform) -> &'static str {
    match platform {
        Platform::Telegram => "telegram_id",
        Platform::Discord => "discord_id",
        Platform::Website => "website_email",
    }
}

/// A row's identity columns, each parsed (the database holds only canonical spellings, which
/// the migration `canonical_ids` checks, so a failure here is a corrupt row).
impl<'r> sqlx::FromRow<'r, PgRow> for Identities {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let mut ids = Identities::default();
        for platform in Platform::ALL {
            let col = column(platform);
            if let Some(raw) = row.try_get::<Option<&str>, _>(col)? {
                let id = ExternalId::parse(platform, raw).map_err(|e| sqlx::Error::ColumnDecode {
                    index: col.into(),
                    source: String::from(e).into(),
                })?;
                ids.set(id);
            }
        }
        Ok(ids)
    }
}

fn key_column(key: &UserKey) -> &'static str {
    match key {
        UserKey::Id(_) => "id",
        UserKey::External(id) => column(id.platform()),
    }
}

fn bind_key<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    key: &'q UserKey,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    match key {
        UserKey::Id(id) => q.bind(*id),
        UserKey::External(id) => q.bind(id.as_str()),
    }
}

async fn fetch_by(ex: impl PgExecutor<'_>, key: &UserKey, suffix: &str) -> AppResult<Option<UserRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM unified_users WHERE {} = $1{suffix}",
        key_column(key)
    );
    Ok(bind_key(sqlx::query_as::<_, UserRow>(&sql), key)
        .fetch_optional(ex)
        .await?)
}

pub async fn find(ex: impl PgExecutor<'_>, key: &UserKey) -> AppResult<Option<UserRow>> {
    fetch_by(ex, key, "").await
}

/// A user with their all-time position, in one statement.
pub async fn find_with_position(ex: impl PgExecutor<'_>, key: &UserKey) -> AppResult<Option<(UserRow, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Ranked {
        #[sqlx(flatten)]
        user: UserRow,
        position: i64,
    }
    let sql = format!(
        "SELECT {COLUMNS}, {} + 1 AS position FROM unified_users WHERE {} = $1",
        super::scores::above("0", "unified_users.xp"),
        key_column(key)
    );
    Ok(bind_key(sqlx::query_as::<_, Ranked>(&sql), key)
        .fetch_optional(ex)
        .await?
        .map(|r| (r.user, r.position)))
}

/// Locks the user's change queue, then reads and row-locks the user for the rest of the
/// transaction (see the migration `user_locks`). Mutations take this lock before any write,
/// so concurrent changes to one user serialise here, none is lost, and their events sort in
/// the order they were applied.
pub async fn lock(tx: &mut PgConnection, key: &UserKey) -> AppResult<Option<UserRow>> {
    const LOCKED: &str = " AND ttfd_lock_user(id) FOR UPDATE";
    if let Some(user) = fetch_by(&mut *tx, key, LOCKED).await? {
        return Ok(Some(user));
    }
    // A merge that committed while we waited may have moved this identity to the surviving
    // account: look again (a new statement sees that commit).
    match key {
        UserKey::External(..) => fetch_by(tx, key, LOCKED).await,
        UserKey::Id(_) => Ok(None),
    }
}

pub async fn by_ids(ex: impl PgExecutor<'_>, ids: &[Uuid]) -> AppResult<Vec<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM unified_users WHERE id = ANY($1)");
    Ok(sqlx::query_as(&sql).bind(ids).fetch_all(ex).await?)
}

/// Get-or-create by platform identity; an existing user gets fresh names and `last_active`.
/// Returns the row and whether it was created or renamed (what shows on a public page).
pub async fn upsert(
    ex: impl PgExecutor<'_>,
    external_id: &ExternalId,
    username: &Name,
    display_name: Option<&Name>,
) -> AppResult<(UserRow, bool)> {
    let platform = external_id.platform();
    let col = column(platform);
    // `before` is the row as the statement found it: whether the names changed.
    let sql = format!(
        "WITH before AS (SELECT username, display_name FROM unified_users WHERE {col} = $2) \
         INSERT INTO unified_users (id, {col}, username, display_name, primary_platform) \
         VALUES ($1, $2, $3, COALESCE($4, $3), $5) \
         ON CONFLICT ({col}) DO UPDATE SET username = EXCLUDED.username, \
             display_name = COALESCE($4, unified_users.display_name), last_active = now() \
         RETURNING {COLUMNS}, (xmax = 0) AS created, \
             ((SELECT username FROM before), (SELECT display_name FROM before)) \
                 IS DISTINCT FROM (username, display_name) AS renamed"
    );
    #[derive(sqlx::FromRow)]
    struct Upserted {
        #[sqlx(flatten)]
        user: UserRow,
        created: bool,
        renamed: bool,
    }
    let row: Upserted = sqlx::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(external_id.as_str())
        .bind(username.as_str())
        .bind(display_name.map(Name::as_str))
        .bind(platform.as_str())
        .fetch_one(ex)
        .await?;
    Ok((row.user, row.created || row.renamed))
}

pub async fn set_external_id(
    tx: &mut PgConnection,
    id: Uuid,
    external_id: &ExternalId,
) -> AppResult<UserRow> {
    let sql = format!(
        "UPDATE unified_users SET {} = $2, last_active = now() WHERE id = $1 RETURNING {COLUMNS}",
        column(external_id.platform())
    );
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .bind(external_id.as_str())
        .fetch_one(tx)
        .await?)
}

/// Moves the season XP of user `$1` earned in an ended season off the user row into
/// `season_standings` (before the row's season XP is written for the current season).
fn archive_sql() -> String {
    format!(
        "INSERT INTO season_standings (season_id, user_id, xp) \
         SELECT season_id, id, current_season_xp FROM unified_users \
         WHERE id = $1 AND season_id <> {CURRENT_SEASON} AND current_season_xp > 0 \
         ON CONFLICT (season_id, user_id) DO NOTHING"
    )
}

pub async fn archive_ended_season(tx: &mut PgConnection, id: Uuid) -> AppResult<()> {
    sqlx::query(&archive_sql()).bind(id).execute(tx).await?;
    Ok(())
}

/// Archives an ended season's XP and writes the new progress in one statement: the archive
/// reads the row as it was before the update.
pub async fn save_progress(tx: &mut PgConnection, id: Uuid, o: &XpOutcome) -> AppResult<UserRow> {
    let sql = format!(
        "WITH archived AS ({}) \
         UPDATE unified_users SET xp = $2, current_season_xp = $3, season_id = {CURRENT_SEASON}, coins = $4, \
             rank_id = $5, rewarded_rank_id = $6, last_active = now() \
         WHERE id = $1 RETURNING {COLUMNS}",
        archive_sql()
    );
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .bind(o.xp)
        .bind(o.season_xp)
        .bind(o.coins)
        .bind(o.new_rank_id)
        .bind(o.rewarded_rank_id)
        .fetch_one(tx)
        .await?)
}

pub async fn save_coins(tx: &mut PgConnection, id: Uuid, coins: i32) -> AppResult<UserRow> {
    let sql =
        format!("UPDATE unified_users SET coins = $2, last_active = now() WHERE id = $1 RETURNING {COLUMNS}");
    Ok(sqlx::query_as(&sql).bind(id).bind(coins).fetch_one(tx).await?)
}

/// Counts activity: one game (won or not), voice seconds, one message; `message_xp_at` moves the
/// message cooldown when this message earned XP.
pub struct Activity {
    pub games: i32,
    pub wins: i32,
    pub voice_seconds: i32,
    pub messages: i32,
    pub message_xp_at: Option<DateTime<Utc>>,
}

pub async fn add_activity(tx: &mut PgConnection, id: Uuid, a: &Activity) -> AppResult<UserRow> {
    let sql = format!(
        "UPDATE unified_users SET games_played = games_played + $2, games_won = games_won + $3, \
             total_voice_time = total_voice_time + $4, messages_sent = messages_sent + $5, \
             last_message_xp_at = COALESCE($6, last_message_xp_at), last_active = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .bind(a.games)
        .bind(a.wins)
        .bind(a.voice_seconds)
        .bind(a.messages)
        .bind(a.message_xp_at)
        .fetch_one(tx)
        .await?)
}

pub async fn save_daily(
    tx: &mut PgConnection,
    id: Uuid,
    streak: i32,
    freezes: i32,
    day: chrono::NaiveDate,
) -> AppResult<UserRow> {
    let sql = format!(
        "UPDATE unified_users SET daily_streak = $2, streak_freezes = $3, last_daily_day = $4, \
             last_daily = now(), last_active = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .bind(streak)
        .bind(freezes)
        .bind(day)
        .fetch_one(tx)
        .await?)
}

pub async fn set_time_zone(ex: impl PgExecutor<'_>, id: Uuid, zone: Option<&str>) -> AppResult<UserRow> {
    let sql = format!("UPDATE unified_users SET time_zone = $2 WHERE id = $1 RETURNING {COLUMNS}");
    Ok(sqlx::query_as(&sql).bind(id).bind(zone).fetch_one(ex).await?)
}
