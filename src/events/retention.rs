use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use crate::db::events;

#[derive(Clone, Debug)]
pub struct RetentionConfig {
    /// Events older than this are deleted; consumers' positions are cursors and survive.
    pub max_age: Duration,
    pub interval: Duration,
}

/// Prunes old events in batches, now and then every `interval`.
pub fn spawn_retention(pool: PgPool, config: RetentionConfig) {
    tokio::spawn(async move {
        loop {
            let before =
                Utc::now() - chrono::Duration::from_std(config.max_age).unwrap_or(chrono::Duration::MAX);
            loop {
                match events::prune(&pool, before, 10_000).await {
                    Ok(0) => break,
                    Ok(n) => tracing::info!(pruned = n, "pruned old events"),
                    Err(e) => {
                        tracing::warn!(error = ?e, "pruning events failed");
                        break;
                    }
                }
            }
            if let Err(e) = crate::db::idempotency::prune(&pool, Utc::now() - chrono::Duration::days(1)).await
            {
                tracing::warn!(error = ?e, "pruning idempotency keys failed");
            }
            tokio::time::sleep(config.interval).await;
        }
    });
}
