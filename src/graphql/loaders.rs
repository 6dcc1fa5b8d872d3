//! Per-request batching loaders: every per-user lookup of one request is one SQL statement,
//! whatever the number of users. Caches live for one request only (a shared cache would leak
//! values across callers); a subscription's loaders batch but keep nothing, so no value loaded
//! for one event is served with a later one.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::achievements::{self, UnlockRow};
use crate::db::leaderboard::{self, Board};
use crate::db::users::{self, UserRow};
use crate::error::AppError;
use crate::state::AppState;

pub struct Loaders {
    /// Set by a `consistentAfter` the boards in memory did not reach in time: this request's
    /// leaderboard reads take the SQL path.
    pub sql_only: std::sync::atomic::AtomicBool,
    pub users: DataLoader<UserLoader, HashMapCache>,
    pub positions: DataLoader<PositionLoader, HashMapCache>,
    pub achievements: DataLoader<AchievementLoader, HashMapCache>,
}

impl Loaders {
    pub fn new(app: &AppState) -> Loaders {
        let pool = &app.pool;
        Loaders {
            sql_only: std::sync::atomic::AtomicBool::new(false),
            users: DataLoader::with_cache(UserLoader(pool.clone()), tokio::spawn, HashMapCache::default()),
            positions: DataLoader::with_cache(
                PositionLoader(app.read_pool.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            achievements: DataLoader::with_cache(
                AchievementLoader(pool.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
        }
    }

    /// For a subscription, which lives across many events: loads batch, nothing is cached.
    pub fn uncached(app: &AppState) -> Loaders {
        let loaders = Loaders::new(app);
        loaders.users.enable_all_cache(false);
        loaders.positions.enable_all_cache(false);
        loaders.achievements.enable_all_cache(false);
        loaders
    }
}

pub struct UserLoader(PgPool);

impl Loader<Uuid> for UserLoader {
    type Value = UserRow;
    type Error = AppError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UserRow>, AppError> {
        Ok(users::by_ids(&self.0, ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect())
    }
}

/// Position of a score on a board; users with equal scores share it. Read where leaderboards
/// are read (a replica, if configured).
pub struct PositionLoader(PgPool);

impl Loader<(Board, i32)> for PositionLoader {
    type Value = i64;
    type Error = AppError;

    async fn load(&self, keys: &[(Board, i32)]) -> Result<HashMap<(Board, i32), i64>, AppError> {
        let mut out = HashMap::with_capacity(keys.len());
        for board in [Board::AllTime, Board::Season] {
            let scores: Vec<i32> = keys
                .iter()
                .filter(|(b, _)| *b == board)
                .map(|(_, s)| *s)
                .collect();
            if scores.is_empty() {
                continue;
            }
            for (score, position) in leaderboard::positions(&self.0, board, &scores).await? {
                out.insert((board, score), position);
            }
        }
        Ok(out)
    }
}

pub struct AchievementLoader(PgPool);

impl Loader<Uuid> for AchievementLoader {
    type Value = Vec<UnlockRow>;
    type Error = AppError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<UnlockRow>>, AppError> {
        let mut out: HashMap<Uuid, Vec<UnlockRow>> = ids.iter().map(|id| (*id, Vec::new())).collect();
        for row in achievements::unlocked_by(&self.0, ids).await? {
            out.entry(row.user_id).or_default().push(row);
        }
        Ok(out)
    }
}
