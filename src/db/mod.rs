//! Every SQL statement of the service, grouped by table. Functions take an executor so that a
//! service can run several of them in one transaction.

pub mod achievements;
pub mod api_keys;
pub mod boards;
pub mod boosts;
pub mod bulk_load;
pub mod consumers;
pub mod events;
pub mod idempotency;
pub mod imports;
pub mod leaderboard;
pub mod ledger;
pub mod link_codes;
pub mod merges;
pub mod one_call;
pub mod owned;
pub mod ranks;
pub mod rate_limits;
pub mod scores;
pub mod seasons;
pub mod seed;
pub mod users;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::{AppError, AppResult};

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// A pooled connection idle for longer than this is pinged before it is handed out.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(10);

pub async fn connect(options: PgConnectOptions, max_connections: u32) -> AppResult<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings every connection it hands out by default: a round trip to PostgreSQL
        // before every statement, on the request's path (under `user(ref)` the acquire was
        // 9 % of the server's CPU samples with the ping, 1.7 % without). The pool also pings
        // each connection it takes back, so one handed out was alive when last used; only
        // one idle for a while is pinged again (the check sqlx's documentation gives). A
        // connection that breaks in between fails its statement with an error, and the pool
        // drops it.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| AppError::internal(format!("cannot connect to PostgreSQL: {e}")))
}

pub async fn migrate(pool: &PgPool) -> AppResult<()> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| AppError::internal(format!("migration failed: {e}")))
}
