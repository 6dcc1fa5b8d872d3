//! Retention: pruning old activity events and forgotten idempotent results, on a timer.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use crate::db::events;

#[derive(Clone, Debug)]
pub struct RetentionConfig {
    /// Activity events (games, voice time, messages, daily claims) older than this are deleted
    /// (`None`: kept). The ledger and the accounts' history are never pruned: XP and coin
    /// changes, rank-ups, unlocks, links, merges, imports, season starts. Consumers' positions
    /// are cursors and survive.
    pub max_age: Option<Duration>,
    /// Stored results of keyed mutations older than this are forgotten: a retry that late is
    /// a new request.
    pub idempotency_max_age: Duration,
    pub interval: Duration,
}

/// Prunes old events in batches, now and then every `interval`.
pub fn spawn_retention(pool: PgPool, config: RetentionConfig) {
    tokio::spawn(async move {
        loop {
            let ago =
                |age: Duration| Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
            while let Some(max_age) = config.max_age {
                match events::prune_activity(&pool, ago(max_age), 10_000).await {
                    Ok(0) => break,
                    Ok(n) => tracing::info!(pruned = n, "pruned old activity events"),
                    Err(e) => {
                        tracing::warn!(error = ?e, "pruning events failed");
                        break;
                    }
                }
            }
            let guesses = ago(crate::service::linking::FAILURE_WINDOW);
            if let Err(e) = crate::db::link_codes::prune_failures(&pool, guesses).await {
                tracing::warn!(error = ?e, "pruning link-code failures failed");
            }
            if let Err(e) = crate::db::idempotency::prune(&pool, ago(config.idempotency_max_age)).await {
                tracing::warn!(error = ?e, "pruning idempotency keys failed");
            }
            tokio::time::sleep(config.interval).await;
        }
    });
}
