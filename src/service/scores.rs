//! Keeps the leaderboard's score counts current: pending score changes are folded into the
//! counts a few times a second, so positions stay a sum over few rows.

use std::time::Duration;

use sqlx::PgPool;

use crate::db::scores;

/// How often pending score changes are folded. Readers count pending changes too, so this
/// bounds their number, not the freshness of positions.
pub const COMPACT_INTERVAL: Duration = Duration::from_millis(200);

/// Runs the compactor until the pool closes.
pub fn spawn_compactor(pool: PgPool) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(COMPACT_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            ticks.tick().await;
            if let Err(e) = scores::compact(&pool).await
                && !pool.is_closed()
            {
                tracing::warn!(error = ?e, "folding score changes failed");
            }
        }
    });
}
