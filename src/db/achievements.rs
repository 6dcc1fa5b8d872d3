//! `achievements` (the catalog) and `user_achievements` (who unlocked what, when).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::AppResult;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct AchievementRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub reward_xp: i32,
    pub reward_coins: i32,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct UnlockRow {
    pub user_id: Uuid,
    #[sqlx(flatten)]
    pub achievement: AchievementRow,
    pub unlocked_at: DateTime<Utc>,
}

pub async fn catalog(ex: impl PgExecutor<'_>) -> AppResult<Vec<AchievementRow>> {
    Ok(sqlx::query_as(
        "SELECT code, name, description, reward_xp, reward_coins FROM achievements \
         WHERE retired_at IS NULL ORDER BY code",
    )
    .fetch_all(ex)
    .await?)
}

/// The unlocks of several users at once, oldest first.
pub async fn unlocked_by(ex: impl PgExecutor<'_>, users: &[Uuid]) -> AppResult<Vec<UnlockRow>> {
    Ok(sqlx::query_as(
        "SELECT ua.user_id, a.code, a.name, a.description, a.reward_xp, a.reward_coins, ua.unlocked_at \
         FROM user_achievements ua JOIN achievements a ON a.code = ua.achievement_code \
         WHERE ua.user_id = ANY($1) ORDER BY ua.unlocked_at, a.code",
    )
    .bind(users)
    .fetch_all(ex)
    .await?)
}

/// Makes the catalog table match the rules (the rules file is the source of the catalog):
/// their achievements are written and live, every other one is retired.
pub async fn sync_catalog(
    pool: &sqlx::PgPool,
    catalog: &[crate::domain::rules::AchievementRule],
) -> AppResult<()> {
    let mut tx = pool.begin().await?;
    let codes: Vec<&str> = catalog.iter().map(|a| a.code.as_str()).collect();
    let names: Vec<&str> = catalog.iter().map(|a| a.name.as_str()).collect();
    let descriptions: Vec<&str> = catalog.iter().map(|a| a.description.as_str()).collect();
    let xp: Vec<i32> = catalog.iter().map(|a| a.reward_xp).collect();
    let coins: Vec<i32> = catalog.iter().map(|a| a.reward_coins).collect();
    sqlx::query(
        "INSERT INTO achievements (code, name, description, reward_xp, reward_coins) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) \
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, \
             reward_xp = EXCLUDED.reward_xp, reward_coins = EXCLUDED.reward_coins, retired_at = NULL",
    )
    .bind(&codes)
    .bind(&names)
    .bind(&descriptions)
    .bind(&xp)
    .bind(&coins)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE achievements SET retired_at = now() WHERE retired_at IS NULL AND code <> ALL($1)")
        .bind(&codes)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn held(ex: impl PgExecutor<'_>, user: Uuid) -> AppResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT achievement_code FROM user_achievements WHERE user_id = $1")
            .bind(user)
            .fetch_all(ex)
            .await?,
    )
}

/// Records the unlock; false when the user already had it.
pub async fn unlock(ex: impl PgExecutor<'_>, user: Uuid, code: &str) -> AppResult<bool> {
    let done = sqlx::query(
        "INSERT INTO user_achievements (user_id, achievement_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(code)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The catalog's unlock rules as SQL can test them against a user row: parallel arrays of code,
/// column and threshold. A tier's unlock asks for the lowest rank of that tier (a tier no rank
/// reaches is left out: nobody earns it). A process builds its own once (`AppState`).
#[derive(Debug, Default)]
pub struct Thresholds {
    pub codes: Vec<String>,
    pub columns: Vec<&'static str>,
    pub values: Vec<i32>,
}

impl Thresholds {
    pub fn of(catalog: &[crate::domain::rules::AchievementRule], ranks: &crate::domain::RankTable) -> Self {
        use crate::domain::achievements::lowest_rank_of_tier;
        use crate::domain::rules::Unlock as U;
        let mut out = Thresholds::default();
        for a in catalog {
            let (column, n) = match &a.unlock {
                U::GamesPlayed(n) => ("games_played", *n),
                U::GamesWon(n) => ("games_won", *n),
                U::VoiceSeconds(n) => ("total_voice_time", *n),
                U::MessagesSent(n) => ("messages_sent", *n),
                U::DailyStreak(n) => ("daily_streak", *n),
                U::Xp(n) => ("xp", *n),
                U::Tier(t) => match lowest_rank_of_tier(t, ranks.all()) {
                    Some(rank) => ("rank_id", rank),
                    None => continue,
                },
            };
            out.codes.push(a.code.clone());
            out.columns.push(column);
            out.values.push(n);
        }
        out
    }
}

/// Whose earned achievements `record_earned` records.
pub enum Earners {
    /// Every account an import created or changed (its staging table `import_apply`).
    Imported,
    /// Every account: for `bench load`, whose users come with counters, run alone.
    Everyone,
}

/// Records, for `earners`, the achievements their stored counters already earn: unlocked now,
/// without rewards or events (the import's rows bring their history, not new deeds). Only
/// codes the catalog holds unretired; one statement.
///
/// Measured on a million-user import, this statement was the import's slowest:
/// - Each user row is read once and tested against every rule in one expression (an array of
///   one `CASE` per rule, non-null where earned). Joining the rules as a table of thresholds
///   had the planner scan the users once per rule (14.3 s against 3.9 s for 3 million unlocks).
/// - It leaves out the unlocks already held with an anti-join, not `ON CONFLICT` (a
///   speculative insertion per row: 11 s of 3.2 million rows): nothing else can unlock
///   meanwhile, since every unlock locks its user's row first and the import holds
///   `unified_users` in EXCLUSIVE mode (and were one to, the unique key would fail the import,
///   never double an unlock).
/// - Rows go in key order so the primary key's index is appended to, not searched from the
///   root for every row.
pub async fn record_earned(tx: &mut PgConnection, catalog: &Thresholds, earners: Earners) -> AppResult<u64> {
    let active: Vec<String> = self::catalog(&mut *tx)
        .await?
        .into_iter()
        .map(|a| a.code)
        .collect();
    let mut codes = Vec::new();
    let mut tests = Vec::new();
    for ((code, column), value) in catalog.codes.iter().zip(&catalog.columns).zip(&catalog.values) {
        if active.contains(code) {
            codes.push(code);
            // `column` is one of `Thresholds::of`'s names and `value` an integer: nothing
            // from outside reaches the text.
            tests.push(format!(
                "CASE WHEN u.{column} >= {value} THEN $1[{}] END",
                codes.len()
            ));
        }
    }
    if tests.is_empty() {
        return Ok(0);
    }
    let users = match earners {
        Earners::Imported => {
            "(SELECT DISTINCT user_id FROM import_apply) a JOIN unified_users u ON u.id = a.user_id"
        }
        Earners::Everyone => "unified_users u",
    };
    let sql = format!(
        "INSERT INTO user_achievements (user_id, achievement_code) \
         SELECT u.id, e.code FROM {users} \
         CROSS JOIN LATERAL unnest(ARRAY[{tests}]::text[]) AS e(code) \
         WHERE e.code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_achievements h \
             WHERE h.user_id = u.id AND h.achievement_code = e.code) \
         ORDER BY u.id, e.code",
        tests = tests.join(", ")
    );
    let done = sqlx::query(&sql).bind(codes).execute(&mut *tx).await?;
    Ok(done.rows_affected())
}
