//! `achievements` (the catalog) and `user_achievements` (who unlocked what, when).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
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
        "SELECT code, name, description, reward_xp, reward_coins FROM achievements ORDER BY code",
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
