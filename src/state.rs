//! The shared state of a process (`AppState`: pools, ranks, rules, API key cache, event hub)
//! and what starts it (`StateConfig`; `Process` says whether background work runs).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::auth::Keys;
use crate::board::Boards;
use crate::db::achievements::Thresholds;
use crate::domain::RankTable;
use crate::domain::rules::Rules;
use crate::error::AppResult;
use crate::events::{EventHub, HubConfig, RetentionConfig, spawn_retention};
use crate::service::one_call::{Batcher, OneCallPaths};

/// What every request shares: the pool, the rank ladder (loaded once; ranks change only by
/// migration), this process's event hub and its API key cache.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Where leaderboard pages and positions are read: a replica if configured, else `pool`.
    pub read_pool: PgPool,
    pub ranks: Arc<RankTable>,
    pub events: EventHub,
    pub keys: Keys,
    pub rules: Arc<Rules>,
    /// The rules' achievement unlocks as SQL tests them (the import, the one-call changes).
    pub unlock_thresholds: Arc<Thresholds>,
    /// How XP changes (awards and activities) run: whether their common case is tried in one
    /// statement first, and how many took each path.
    pub one_call: Arc<OneCallPaths>,
    /// The queue of one-call changes and the workers that run them in batches.
    pub xp_batches: Batcher,
    /// The leaderboards in memory (never ready in a one-shot command, or when turned off).
    pub boards: Arc<Boards>,
}

#[derive(Clone, Debug)]
pub struct StateConfig {
    /// Where the event listener connects; the pool's database when `None`.
    pub listen_options: Option<PgConnectOptions>,
    /// A read replica for leaderboard reads; the main pool when `None`.
    pub read_pool: Option<PgPool>,
    pub event_buffer: usize,
    pub event_poll_interval: Duration,
    /// `None`: keep events forever.
    pub retention: Option<RetentionConfig>,
    pub rules: Rules,
    /// Whether these rules are written to the database's catalog: a server's, or rules given
    /// on purpose. A one-shot command run without rules must not write the defaults over the
    /// catalog the servers run with.
    pub write_catalog: bool,
    /// What runs in the background: a server's event hub and score compactor, or nothing.
    pub process: Process,
    /// XP changes try their one-statement common case first; off, every change takes the full
    /// path (the reference the tests compare it with).
    pub one_call: bool,
    /// A server keeps the leaderboards in memory; off, every read takes the SQL path (the
    /// reference the tests compare it with).
    pub boards_in_memory: bool,
}

/// The kind of process the state serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    /// Listens for events and dispatches them, folds score changes into the leaderboard's
    /// counts, and prunes old events when retention is set.
    Server,
    /// A one-shot command (`import`, `season start`): no background work at all, so nothing
    /// runs on its pool when it closes it and stops the database. The servers hear its events
    /// by their doorbell (which the command rings before it exits) or their poll.
    OneShot,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            listen_options: None,
            read_pool: None,
            event_buffer: 4096,
            event_poll_interval: Duration::from_secs(1),
            retention: None,
            rules: Rules::default(),
            write_catalog: true,
            process: Process::Server,
            one_call: true,
            boards_in_memory: true,
        }
    }
}

impl AppState {
    /// Closes the pools and waits for the event listener to let go of its connection: after
    /// this the database may stop without anything here noticing.
    pub async fn close(&self) {
        self.pool.close().await;
        self.read_pool.close().await;
        self.events.closed().await;
    }

    pub async fn start(pool: PgPool, config: &StateConfig) -> AppResult<AppState> {
        let ranks = Arc::new(crate::db::ranks::load(&pool).await?);
        config
            .rules
            .validate()
            .map_err(crate::error::AppError::InvalidInput)?;
        if config.write_catalog {
            crate::db::achievements::sync_catalog(&pool, &config.rules.achievements).await?;
        }
        let keys = Keys::new(pool.clone());
        let mut boards = None;
        let events = match config.process {
            Process::Server => {
                let hub = HubConfig {
                    listen_options: config
                        .listen_options
                        .clone()
                        .unwrap_or_else(|| (*pool.connect_options()).clone()),
                    buffer: config.event_buffer,
                    poll_interval: config.event_poll_interval,
                };
                let events = EventHub::start(pool.clone(), hub, keys.clone()).await?;
                if config.boards_in_memory {
                    boards = Some(Boards::start(events.clone()));
                }
                crate::service::scores::spawn_compactor(pool.clone());
                if let Some(retention) = &config.retention {
                    spawn_retention(pool.clone(), retention.clone());
                }
                events
            }
            Process::OneShot => EventHub::inert(pool.clone(), keys.clone()),
        };
        let unlock_thresholds = Arc::new(Thresholds::of(&config.rules.achievements, &ranks));
        let one_call = Arc::new(OneCallPaths {
            enabled: config.one_call,
            ..OneCallPaths::default()
        });
        let xp_batches = Batcher::start(pool.clone(), unlock_thresholds.clone(), one_call.clone());
        Ok(AppState {
            read_pool: config.read_pool.clone().unwrap_or_else(|| pool.clone()),
            pool,
            ranks,
            events,
            keys,
            rules: Arc::new(config.rules.clone()),
            unlock_thresholds,
            one_call,
            xp_batches,
            boards: boards.unwrap_or_else(Boards::inert),
        })
    }
}
