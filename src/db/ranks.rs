//! `ranks`: the rank ladder, loaded once at start.

use sqlx::PgPool;

use crate::domain::{Rank, RankTable, Tier};
use crate::error::{AppError, AppResult};

#[derive(sqlx::FromRow)]
struct RankRow {
    id: i32,
    name: String,
    tier: String,
    stars: i32,
    color: String,
    required_xp: i32,
    reward_coins: i32,
    emoji: Option<String>,
}

pub async fn load(pool: &PgPool) -> AppResult<RankTable> {
    let rows: Vec<RankRow> = sqlx::query_as(
        "SELECT id, name, tier, stars, color, required_xp, reward_coins, emoji FROM ranks ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let ranks = rows
        .into_iter()
        .map(|r| {
            Ok(Rank {
                tier: Tier::parse(&r.tier)
                    .ok_or_else(|| AppError::internal(format!("bad tier {}", r.tier)))?,
                id: r.id,
                name: r.name,
                stars: r.stars,
                color: r.color,
                required_xp: r.required_xp,
                reward_coins: r.reward_coins,
                emoji: r.emoji,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    RankTable::new(ranks).map_err(AppError::internal)
}
