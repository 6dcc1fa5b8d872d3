//! The leaderboards in memory: each process keeps the all-time and current-season boards in
//! order (`order.rs`, held by `lists.rs`), loaded from one snapshot and then kept current from
//! the event stream subscribers get, so positions, pages and `around` cost no SQL but the rows
//! they show.
//!
//! How it follows: after a load it reads the event stream subscribers get from the hub's head
//! before the snapshot, so every change committed after the snapshot comes as an event; a
//! follower that falls behind the hub catches up from the event log, as a subscriber does. For
//! each batch it reads the scores of the users the events name, by primary key, and moves them.
//! A read gives the latest committed state, so a board converges on the database within one
//! dispatch; the SQL path stays the reference. A season start empties the season board at once;
//! a merge moves the surviving account and drops the merged one. An import, a log that cannot
//! be read or a missed account notification reloads; until a load is done, `ready` is false
//! and reads take the SQL path. New accounts write no event: the account notifications
//! (`ttfd_profiles`) bring them.

mod lists;
pub mod order;
pub mod rows;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::db::leaderboard::{Board, Start};
use crate::domain::cursor::EventCursor;
use crate::error::AppResult;
use crate::events::{EventHub, LiveEvent, ProfileChange};
use lists::Lists;
use order::Entry;

/// Events after which the boards load again: they move many accounts at once.
const RELOADS: [&str; 1] = ["imported"];

/// Events applied in one batch at most (one read of their users' scores).
const FOLLOW_BATCH: usize = 1_024;

/// Events that change no score.
const SCORE_NEUTRAL: [&str; 2] = ["coins_change", "account_linked"];

/// Where a page starts on a board, and its entries.
pub struct BoardPage {
    pub entries: Vec<Entry>,
    /// Each entry's position (1 = best; ties share).
    pub positions: Vec<i64>,
}

pub struct Boards {
    /// Whether these boards load and follow at all.
    follows: AtomicBool,
    lists: RwLock<Lists>,
    /// Loaded, and following: reads may use the lists.
    ready: AtomicBool,
    /// Loaded at least once (readiness: a reload later does not take the process out).
    loaded: AtomicBool,
    /// Loads begun (`ttfd_boards_loads_total`).
    loads: AtomicU64,
    /// The last event whose changes the lists hold.
    applied: watch::Sender<EventCursor>,
    /// Account changes, passed on once the lists hold them.
    profiles: broadcast::Sender<ProfileChange>,
    /// The rows pages show, dropped as the lists move.
    pub rows: rows::RowCache,
}

impl Boards {
    /// Boards that never load: every read takes the SQL path.
    pub fn inert() -> Arc<Boards> {
        Arc::new(Boards {
            follows: AtomicBool::new(false),
            lists: RwLock::default(),
            ready: AtomicBool::new(false),
            loaded: AtomicBool::new(false),
            loads: AtomicU64::new(0),
            applied: watch::channel(EventCursor { txid: 0, seq: 0 }).0,
            profiles: broadcast::channel(256).0,
            rows: rows::RowCache::default(),
        })
    }

    /// Starts loading and following `hub` in the background.
    pub fn start(hub: EventHub) -> Arc<Boards> {
        let boards = Boards::inert();
        boards.follows.store(true, Ordering::Release);
        tokio::spawn(follow(Arc::downgrade(&boards), hub));
        boards
    }

    pub fn follows(&self) -> bool {
        self.follows.load(Ordering::Acquire)
    }

    /// Account changes (new accounts, new names), each once the lists hold it.
    pub fn profile_changes(&self) -> broadcast::Receiver<ProfileChange> {
        self.profiles.subscribe()
    }

    /// The last event whose changes the lists hold.
    pub fn applied(&self) -> EventCursor {
        *self.applied.borrow()
    }

    /// Whether the process may take traffic as far as the boards go: loaded once, or not
    /// kept at all.
    pub fn started(&self) -> bool {
        !self.follows() || self.loaded.load(Ordering::Acquire)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The lists, when they may be read.
    fn read(&self) -> Option<std::sync::RwLockReadGuard<'_, Lists>> {
        self.is_ready()
            .then(|| self.lists.read().expect("boards"))
            .filter(|_| self.is_ready())
    }

    /// Users on `board`, or `None` when the SQL path must answer.
    pub fn len(&self, board: Board) -> Option<usize> {
        self.read().map(|l| l.list(board).len())
    }

    /// The position of `score` on `board` (1 = best; ties share).
    pub fn position(&self, board: Board, score: i32) -> Option<i64> {
        Some(self.read()?.list(board).above(score) as i64 + 1)
    }

    /// Up to `n` entries from `start` on, with their positions.
    pub fn page(&self, board: Board, start: Start, n: usize) -> Option<BoardPage> {
        let lists = self.read()?;
        let list = lists.list(board);
        let from = match start {
            Start::Top => 0,
            Start::At(c) => list.rank(&Entry {
                score: c.score,
                id: c.id,
            }),
            // After a cursor: past its own entry too (one id more, in the same score).
            Start::After(c) => match c.id.as_u128().checked_add(1) {
                Some(next) => list.rank(&Entry {
                    score: c.score,
                    id: Uuid::from_u128(next),
                }),
                None => list.above(c.score.saturating_sub(1)),
            },
        };
        let entries = list.range(from, n);
        let positions = entries.iter().map(|e| list.above(e.score) as i64 + 1).collect();
        Some(BoardPage { entries, positions })
    }

    /// Where a page centred on (`score`, `id`) starts: `n` entries before it, or the top.
    pub fn start_before(&self, board: Board, score: i32, id: Uuid, n: usize) -> Option<Start> {
        let lists = self.read()?;
        let list = lists.list(board);
        let rank = list.rank(&Entry { score, id });
        Some(match rank.checked_sub(n) {
            Some(from) => {
                let e = list
                    .range(from, 1)
                    .first()
                    .copied()
                    .unwrap_or(Entry { score, id });
                Start::At(crate::domain::cursor::LeaderboardCursor {
                    score: e.score,
                    id: e.id,
                })
            }
            None => Start::Top,
        })
    }

    /// Waits until the lists hold every change up to `cursor`, for at most `within`; false
    /// when they do not by then (or are not ready).
    pub async fn caught_up(&self, cursor: EventCursor, within: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        let reached = tokio::time::timeout(within, applied.wait_for(|a| *a >= cursor)).await;
        matches!(reached, Ok(Ok(_))) && self.is_ready()
    }

    /// Bytes the lists hold (entries and the per-user scores), for the metrics.
    pub fn bytes(&self) -> usize {
        let lists = self.lists.read().expect("boards");
        lists.bytes()
    }

    /// Loads the lists; returns the cursor the snapshot holds every event up to.
    async fn load(&self, hub: &EventHub) -> AppResult<EventCursor> {
        self.ready.store(false, Ordering::Release);
        self.loads.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        // The hub's head before the snapshot: every event up to it is in the snapshot.
        let head = hub.head();
        // The old lists go first: a reload must not hold two sets at once.
        *self.lists.write().expect("boards") = Lists::default();
        self.rows.clear();
        let lists = Lists::read(&hub.pool).await?;
        let users = lists.users.len();
        *self.lists.write().expect("boards") = lists;
        // The staging vectors of the load are freed; hand their pages back to the system now
        // (mimalloc keeps freed pages mapped for reuse, here ~70 MB at a million users).
        // SAFETY: `mi_collect` only releases memory no allocation holds; with another global
        // allocator (the test binary's) it has nothing to release.
        unsafe { libmimalloc_sys::mi_collect(true) };
        self.applied.send_if_modified(|a| {
            let moved = head > *a;
            *a = (*a).max(head);
            moved
        });
        self.ready.store(true, Ordering::Release);
        self.loaded.store(true, Ordering::Release);
        tracing::info!(
            users,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "leaderboards loaded"
        );
        Ok(head)
    }

    /// Loads begun since the process started: the first, then one per import, unreadable log
    /// or missed account notification.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Applies a dispatched batch.
    async fn events(&self, hub: &EventHub, batch: &[Arc<LiveEvent>]) -> AppResult<()> {
        let types = || batch.iter().map(|e| e.row.event_type.as_str());
        if types().any(|t| RELOADS.contains(&t)) {
            self.load(hub).await?;
        } else {
            if types().any(|t| t == "season_started") {
                self.rows.clear();
                self.lists.write().expect("boards").new_season();
            }
            // A merge names the surviving account; the merged one (`fromUserId`) is gone.
            let merged: Vec<Uuid> = batch
                .iter()
                .filter(|e| e.row.event_type == "accounts_merged")
                .filter_map(|e| e.row.data["fromUserId"].as_str()?.parse().ok())
                .collect();
            // Every event's user, score or not (coins, links), and the merged-away accounts:
            // before the lists move, so no page shows a new place beside an old row.
            self.rows
                .forget(batch.iter().map(|e| e.row.user_id).chain(merged.iter().copied()));
            let mut ids: Vec<Uuid> = batch
                .iter()
                .filter(|e| !SCORE_NEUTRAL.contains(&e.row.event_type.as_str()))
                .map(|e| e.row.user_id)
                .chain(merged)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            self.users(hub, &ids).await?;
        }
        if let Some(last) = batch.last() {
            let cursor = last.row.cursor();
            self.applied.send_if_modified(|a| {
                let moved = cursor > *a;
                *a = (*a).max(cursor);
                moved
            });
        }
        Ok(())
    }

    /// Reads `ids`' scores and moves them.
    async fn users(&self, hub: &EventHub, ids: &[Uuid]) -> AppResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let rows = crate::db::boards::of(&hub.pool, ids).await?;
        self.lists.write().expect("boards").set(ids, &rows);
        Ok(())
    }
}

/// Loads, then follows the hub for as long as the boards live. A failed read leaves the
/// boards not ready until a load succeeds.
async fn follow(boards: Weak<Boards>, hub: EventHub) {
    // Subscribed once the listener is up: the "anything may have changed" it announces when it
    // connects is then already in the first load, not a second one.
    while !hub.stats.listening.load(Ordering::Relaxed) {
        if boards.strong_count() == 0 || hub.pool.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut profiles = hub.profile_changes();
    // The events after the last load's snapshot, in batches of what has arrived. A follower
    // too slow for the hub catches up from the event log rather than loading again: a load
    // reads every user, and under a steady stream of events a follower that reloaded on every
    // lag fell behind again while it loaded (recordMessage at 3,400/s kept a server loading
    // for seconds).
    let mut events = None;
    loop {
        let Some(b) = boards.upgrade() else { return };
        if events.is_none() {
            // Account changes heard before the load are in its snapshot.
            while profiles.try_recv().is_ok() {}
            match b.load(&hub).await {
                Ok(head) => {
                    let stream = crate::events::follow(hub.clone(), head);
                    events = Some(Box::pin(stream.ready_chunks(FOLLOW_BATCH)));
                }
                Err(e) => {
                    if hub.pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = ?e, "cannot load the leaderboards; reads take the SQL path");
                    drop(b);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        drop(b);
        let Some(stream) = events.as_mut() else { continue };
        let outcome = tokio::select! {
            batch = stream.next() => match batch.map(|b| b.into_iter().collect::<AppResult<Vec<_>>>()) {
                Some(Ok(batch)) => {
                    let Some(b) = boards.upgrade() else { return };
                    b.events(&hub, &batch).await
                }
                // The log could not be read (the stream ends after saying so).
                Some(Err(e)) => Err(e),
                None => return,
            },
            change = profiles.recv() => match change {
                Ok(ProfileChange::One(user)) => {
                    let Some(b) = boards.upgrade() else { return };
                    b.rows.forget([user]);
                    let moved = b.users(&hub, &[user]).await;
                    let _ = b.profiles.send(ProfileChange::One(user));
                    moved
                }
                Ok(ProfileChange::All) | Err(RecvError::Lagged(_)) => Err(crate::error::AppError::internal("lagged")),
                Err(RecvError::Closed) => return,
            },
        };
        if let Err(e) = outcome {
            tracing::debug!(error = ?e, "the leaderboards load again");
            events = None;
            if let Some(b) = boards.upgrade() {
                b.ready.store(false, Ordering::Release);
                let _ = b.profiles.send(ProfileChange::All);
            }
        }
    }
}
