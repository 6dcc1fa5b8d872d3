//! An XP change's common case in one statement (`db::one_call`), tried before the full unit of
//! work when the process allows it, and gathered into batches: the changes that arrive while
//! the database is busy with earlier ones go in one statement and one commit. Counts which path
//! each change took and how many batches ran.
//!
//! Why batches: an award's own work in PostgreSQL is small next to what every statement and
//! every transaction costs (executor start-up, the score-count trigger, the commit's WAL
//! flush); a batch pays those once for all its changes (measured in docs/operations.md). A
//! change never waits for a batch to fill: a worker takes whatever is queued when it is free,
//! so a quiet server runs batches of one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::Actor;
use super::idempotency::Idempotency;
use super::progress::XpChange;
use crate::db::achievements::Thresholds;
use crate::db::one_call::{self, ActivityCall, Change};
use crate::domain::UserKey;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Changes in one batch, at most.
pub const BATCH_CHANGES: usize = 16;
/// Batches in flight at once per process (each holds one pooled connection while it runs).
/// While a worker ran a lone change at once, 1, 2, 3, 4 and 8 were level (bench api, awardXp,
/// 32 clients). Since workers wait beside a running batch, three cut the awards' p99 against
/// two (18.1 → 17.1 ms, awards/s +2 %, 3 rounds): a change less often waits behind two whole
/// batches.
pub const BATCH_WORKERS: usize = 3;
/// How long a worker waits for more changes before it runs what it found, when it found
/// several or another batch is still running: under load, bigger batches (+10-15 % awards/s
/// in bench api at 500 µs, 2 runs; waiting beside a running batch too, 9.5 → 12.8 changes a
/// batch and +8 % awards/s, 4 rounds).
pub const BATCH_LINGER: Duration = Duration::from_micros(500);
/// Changes waiting for a worker, at most; a change beyond it waits to be queued.
pub const BATCH_QUEUE: usize = 1_024;

/// How many changes took each path, and in how many batches the one calls ran
/// (`ttfd_xp_changes_total{path}`, `ttfd_xp_change_batches_total`). How long each change
/// waited for its batch and how long each batch ran are histograms (`crate::metrics`).
#[derive(Debug, Default)]
pub struct OneCallPaths {
    pub enabled: bool,
    pub one_call: AtomicU64,
    /// Changes the one call declined, and all of them when it is off.
    pub full: AtomicU64,
    pub batches: AtomicU64,
}

type Reply = oneshot::Sender<AppResult<Option<serde_json::Value>>>;

/// A change waiting for a batch: what to apply, where to answer, and since when it waits.
type Queued = (Change, Reply, Instant);

/// The queue of changes waiting for a batch, and the workers that run them.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Queued>,
}

impl Batcher {
    pub fn start(pool: PgPool, catalog: Arc<Thresholds>, paths: Arc<OneCallPaths>) -> Self {
        let (queue, waiting) = mpsc::channel(BATCH_QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        let running = Arc::new(AtomicUsize::new(0));
        for _ in 0..BATCH_WORKERS {
            let (pool, catalog, paths, waiting, running) = (
                pool.clone(),
                catalog.clone(),
                paths.clone(),
                waiting.clone(),
                running.clone(),
            );
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(BATCH_CHANGES);
                loop {
                    let mut waiting = waiting.lock().await;
                    if waiting.recv_many(&mut batch, BATCH_CHANGES).await == 0 {
                        // The process's state (and with it every sender) is gone.
                        break;
                    }
                    // Several changes waiting, or another batch still running, say the
                    // database is the bottleneck: a moment more gathers a bigger batch. One
                    // change alone on an idle database never waits.
                    let busy = batch.len() > 1 || running.load(Ordering::Acquire) > 0;
                    if busy && batch.len() < BATCH_CHANGES {
                        tokio::time::sleep(BATCH_LINGER).await;
                        while batch.len() < BATCH_CHANGES {
                            let Ok(change) = waiting.try_recv() else { break };
                            batch.push(change);
                        }
                    }
                    drop(waiting);
                    paths.batches.fetch_add(1, Ordering::Relaxed);
                    running.fetch_add(1, Ordering::AcqRel);
                    let started = Instant::now();
                    let changes = batch
                        .drain(..)
                        .map(|(change, reply, queued)| {
                            crate::metrics::xp_change_waited(started - queued);
                            (change, reply)
                        })
                        .collect();
                    run(&pool, &catalog, changes).await;
                    crate::metrics::xp_change_batch_ran(started.elapsed());
                    running.fetch_sub(1, Ordering::AcqRel);
                }
            });
        }
        Batcher { queue }
    }

    async fn submit(&self, change: Change) -> AppResult<Option<serde_json::Value>> {
        let (reply, answer) = oneshot::channel();
        let gone = || AppError::internal("the XP change batches have stopped");
        self.queue
            .send((change, reply, Instant::now()))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Runs one batch and answers each change. When PostgreSQL refuses the batch (it wrote
/// nothing: a key stored meanwhile, a check that one change fails), each change runs alone,
/// so one change's error is its own. A lost connection is every change's error: whether the
/// batch committed is not known, and a change must not be applied twice.
async fn run(pool: &PgPool, catalog: &Thresholds, batch: Vec<(Change, Reply)>) {
    let changes: Vec<&Change> = batch.iter().map(|(c, _)| c).collect();
    match one_call::changes(pool, &changes, catalog).await {
        Ok(results) => {
            for ((_, reply), result) in batch.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(sqlx::Error::Database(e)) if batch.len() > 1 => {
            tracing::warn!(error = %e, changes = batch.len(), "PostgreSQL refused a batch of XP changes; running them one at a time");
            for (change, reply) in batch {
                let alone = one_call::changes(pool, &[&change], catalog).await;
                let _ = reply.send(alone.map(|mut r| r.pop().flatten()).map_err(AppError::from));
            }
        }
        Err(e) => {
            let e = AppError::from(e);
            for (_, reply) in batch {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// The change, done and committed in one statement (maybe beside others); `None` when the full
/// path must run (the statement declined it, having written nothing, or this process does not
/// try it).
pub async fn attempt(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    xp: i32,
    reason: Option<&str>,
    activity: Option<ActivityCall>,
    idem: Option<&Idempotency>,
) -> AppResult<Option<XpChange>> {
    let paths = &state.one_call;
    let done = if paths.enabled {
        let change = Change {
            key: key.clone(),
            xp,
            reason: reason.map(str::to_owned),
            source: actor.source_by_key(key),
            api_key: actor.key_id(),
            activity,
            idempotency: idem.map(Idempotency::stored_under),
        };
        state.xp_batches.submit(change).await?
    } else {
        None
    };
    let Some(result) = done else {
        paths.full.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    };
    paths.one_call.fetch_add(1, Ordering::Relaxed);
    state.events.committed();
    serde_json::from_value(result)
        .map(Some)
        .map_err(|e| AppError::internal(format!("a one-call change's result: {e}")))
}
