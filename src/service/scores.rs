//! Keeps the leaderboard's score counts current: pending score changes are folded into the
//! counts a few times a second, so positions stay a sum over few rows.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::db::scores;

/// How often pending score changes are folded. Readers count pending changes too, so this
/// bounds their number, not the freshness of positions.
pub const COMPACT_INTERVAL: Duration = Duration::from_millis(200);

/// How often the queue of score changes is vacuumed while it is busy. Readers scan what is
/// pending; the dead rows of folded changes would slow them until autovacuum's next round
/// (a minute by default), so the compactor clears them itself.
pub const VACUUM_INTERVAL: Duration = Duration::from_secs(1);

/// Runs the compactor until the pool closes.
pub fn spawn_compactor(pool: PgPool) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(COMPACT_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut folded_since_vacuum = 0;
        let mut vacuumed = Instant::now();
        while !pool.is_closed() {
            ticks.tick().await;
            match scores::compact(&pool).await {
                Ok(n) => folded_since_vacuum += n,
                Err(e) if !pool.is_closed() => tracing::warn!(error = ?e, "folding score changes failed"),
                Err(_) => {}
            }
            if folded_since_vacuum > 0 && vacuumed.elapsed() >= VACUUM_INTERVAL {
                if let Err(e) = scores::vacuum(&pool).await {
                    tracing::debug!(error = ?e, "cannot vacuum score changes");
                }
                folded_since_vacuum = 0;
                vacuumed = Instant::now();
            }
        }
    });
}
