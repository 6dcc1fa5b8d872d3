use std::sync::Arc;

use sqlx::PgPool;

use crate::domain::RankTable;

/// What every request shares: the pool and the rank ladder (loaded once; ranks change only by
/// migration).
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub ranks: Arc<RankTable>,
}

impl AppState {
    pub async fn load(pool: PgPool) -> crate::error::AppResult<AppState> {
        let ranks = Arc::new(crate::db::ranks::load(&pool).await?);
        Ok(AppState { pool, ranks })
    }
}
