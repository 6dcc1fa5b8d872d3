//! The event hub of one process: the listening connection, the dispatcher that reads new
//! events from the table onto the broadcast ring, and the doorbell that tells other processes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::{Notify, OnceCell, broadcast, watch};

use crate::auth::{KeyChange, Keys};
use crate::db::events::{self, EventRow};
use crate::db::users::UserRow;
use crate::domain::cursor::EventCursor;
use crate::error::AppResult;

/// The NOTIFY channel servers ring after committing events.
pub const CHANNEL: &str = "ttfd_events";
/// The NOTIFY channel of API key changes (payload: the key id).
pub const KEYS_CHANNEL: &str = "ttfd_keys";
/// The NOTIFY channel of account changes no event tells of: a new account, new names
/// (payload: the user id). Cached responses that show the account are dropped.
pub const PROFILES_CHANNEL: &str = "ttfd_profiles";

/// An account changed without an event: one, or (after the listener missed some) any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileChange {
    One(uuid::Uuid),
    All,
}

#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Where LISTEN connects: it must not go through a transaction-pooling proxy.
    pub listen_options: PgConnectOptions,
    /// Events kept in the shared ring; a subscriber further behind reads the table instead.
    pub buffer: usize,
    /// How often the log is read when no doorbell rings (a missed notification costs at most
    /// this much latency).
    pub poll_interval: Duration,
}

/// One event as delivered live. The user is loaded at most once per event, however many
/// subscribers ask for it.
pub struct LiveEvent {
    pub row: EventRow,
    pub user: OnceCell<Option<UserRow>>,
}

impl LiveEvent {
    pub fn new(row: EventRow) -> Arc<LiveEvent> {
        Arc::new(LiveEvent {
            row,
            user: OnceCell::new(),
        })
    }
}

struct Ring {
    /// The last event published on the ring.
    head: EventCursor,
    sender: broadcast::Sender<Arc<LiveEvent>>,
}

#[derive(Default)]
pub struct HubStats {
    pub dispatched: AtomicU64,
    /// Events handed to subscribers (each subscriber counts).
    pub delivered: AtomicU64,
    pub listener_reconnects: AtomicU64,
    /// Subscribers that fell behind the ring and caught up from the table.
    pub lagged: AtomicU64,
    /// Whether the listening connection is up (readiness).
    pub listening: std::sync::atomic::AtomicBool,
    /// Subscription operations receiving events now: each alone, or each member of a shared
    /// group once the group receives.
    pub subscriptions: AtomicUsize,
    /// Members of a shared subscription that fell behind their group and went on alone.
    pub left_behind: AtomicU64,
}

/// One subscription operation counted in `HubStats::subscriptions` while it lives.
pub struct Subscribed(Arc<HubStats>);

impl Drop for Subscribed {
    fn drop(&mut self) {
        self.0.subscriptions.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub struct EventHub {
    ring: Arc<Mutex<Ring>>,
    pub pool: PgPool,
    pub stats: Arc<HubStats>,
    /// Told about key changes: the same listening connection carries them.
    keys: Keys,
    /// Wakes this process's dispatcher: events committed here need no round trip.
    wake: Arc<Notify>,
    /// Wakes the doorbell task, which tells the other processes.
    bell: Arc<Notify>,
    /// This process's doorbell payload, so its listener can tell its own rings apart.
    bell_id: Arc<str>,
    /// Becomes true when the listener has let go of its connection after the pool closed.
    stopped: watch::Receiver<bool>,
    /// Account changes heard on `PROFILES_CHANNEL`.
    profiles: broadcast::Sender<ProfileChange>,
}

impl EventHub {
    /// Starts the listener and dispatcher of this process.
    pub async fn start(pool: PgPool, config: HubConfig, keys: Keys) -> AppResult<EventHub> {
        let head = events::stable_head(&pool).await?;
        let (stopping, stopped) = watch::channel(false);
        let bell_id = uuid::Uuid::new_v4().to_string();
        let hub = EventHub::new(pool, keys, head, config.buffer, &bell_id, stopped);
        tokio::spawn(hub.clone().listen(config, stopping));
        tokio::spawn(hub.clone().ring_doorbells());
        Ok(hub)
    }

    /// A hub for a one-shot command: no listener, no dispatcher, no doorbell task, nobody
    /// subscribed. Its `committed` wakes nothing; the command rings the servers' doorbell
    /// itself before it exits.
    pub fn inert(pool: PgPool, keys: Keys) -> EventHub {
        let (_, stopped) = watch::channel(true);
        EventHub::new(pool, keys, events::ORIGIN, 16, "one-shot", stopped)
    }

    fn new(
        pool: PgPool,
        keys: Keys,
        head: EventCursor,
        buffer: usize,
        bell_id: &str,
        stopped: watch::Receiver<bool>,
    ) -> EventHub {
        let (sender, _) = broadcast::channel(buffer.max(16));
        EventHub {
            ring: Arc::new(Mutex::new(Ring { head, sender })),
            pool,
            stats: Arc::default(),
            keys,
            wake: Arc::default(),
            bell: Arc::default(),
            bell_id: bell_id.into(),
            stopped,
            profiles: broadcast::channel(256).0,
        }
    }

    /// Account changes no event tells of, from every process.
    pub fn profile_changes(&self) -> broadcast::Receiver<ProfileChange> {
        self.profiles.subscribe()
    }

    /// Says that events were committed: this process dispatches them at once, and the other
    /// processes hear a doorbell. Rings that come while one is being sent fold into one.
    pub fn committed(&self) {
        self.wake.notify_one();
        self.bell.notify_one();
    }

    async fn ring_doorbells(self) {
        while !self.pool.is_closed() {
            self.bell.notified().await;
            if let Err(e) = events::ring(&self.pool, CHANNEL, &self.bell_id).await
                && !self.pool.is_closed()
            {
                // The others still read the table on their timer.
                tracing::warn!(error = ?e, "cannot ring the event doorbell");
            }
        }
    }

    /// A receiver on the ring and the ring's head at that instant: everything after the head
    /// arrives on the receiver, everything up to it is in the table.
    pub fn subscribe(&self) -> (broadcast::Receiver<Arc<LiveEvent>>, EventCursor) {
        let ring = self.ring.lock().expect("event ring");
        (ring.sender.subscribe(), ring.head)
    }

    pub fn head(&self) -> EventCursor {
        self.ring.lock().expect("event ring").head
    }

    /// Subscription operations receiving events (operations that share one execution each
    /// count).
    pub fn subscribers(&self) -> usize {
        self.stats.subscriptions.load(Ordering::Relaxed)
    }

    /// Counts one more subscription operation until the guard drops.
    pub fn subscribed(&self) -> Subscribed {
        self.stats.subscriptions.fetch_add(1, Ordering::Relaxed);
        Subscribed(self.stats.clone())
    }

    /// Waits until the listener has closed its connection, after the pool was closed: a
    /// database stopped before that would see it cut (and the log say so).
    pub async fn closed(&self) {
        let _ = self.stopped.clone().wait_for(|stopped| *stopped).await;
    }

    async fn listen(self, config: HubConfig, stopping: watch::Sender<bool>) {
        // LISTEN gets its own one-connection pool, possibly on another URL than the queries.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(config.listen_options.clone());
        let mut listener: Option<PgListener> = None;
        // Until the pool closes (the process is stopping).
        while !self.pool.is_closed() {
            if listener.is_none() {
                match PgListener::connect_with(&listen_pool).await {
                    Ok(mut l) => match l.listen_all([CHANNEL, KEYS_CHANNEL, PROFILES_CHANNEL]).await {
                        Ok(()) => {
                            // Key and account changes may have been missed while not listening.
                            self.keys.changed(KeyChange::All);
                            let _ = self.profiles.send(ProfileChange::All);
                            self.stats.listening.store(true, Ordering::Relaxed);
                            listener = Some(l);
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot LISTEN; retrying"),
                    },
                    Err(e) => tracing::warn!(error = %e, "cannot open the listening connection; retrying"),
                }
            }
            // Whatever happened (start, doorbell, reconnect, timer), the table says what is new.
            let held_back = match self.dispatch().await {
                Ok(h) => h,
                Err(_) if self.pool.is_closed() => break,
                Err(e) => {
                    tracing::warn!(error = ?e, "cannot read the event log; retrying");
                    true
                }
            };
            // Rows held back by a still-running older transaction are re-read soon.
            let wait = if held_back {
                Duration::from_millis(20)
            } else {
                config.poll_interval
            };
            match listener.as_mut() {
                None => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = self.wake.notified() => {}
                        _ = self.pool.close_event() => {}
                    }
                }
                Some(l) => match self.next_doorbell(l, wait).await {
                    // Woken here, timed out, or hearing from a live connection.
                    Err(_) => self.stats.listening.store(true, Ordering::Relaxed),
                    Ok(Ok(Some(n))) if n.channel() == KEYS_CHANNEL => match n.payload().parse() {
                        Ok(id) => self.keys.changed(KeyChange::One(id)),
                        Err(_) => self.keys.changed(KeyChange::All),
                    },
                    Ok(Ok(Some(n))) if n.channel() == PROFILES_CHANNEL => {
                        let change = n.payload().parse().map_or(ProfileChange::All, ProfileChange::One);
                        let _ = self.profiles.send(change);
                    }
                    Ok(Ok(Some(_))) => self.stats.listening.store(true, Ordering::Relaxed),
                    Ok(Ok(None)) => {
                        self.stats.listening.store(false, Ordering::Relaxed);
                        self.keys.changed(KeyChange::All);
                        // The connection dropped; the next try_recv reconnects, and the read
                        // above fills whatever was committed meanwhile.
                        self.stats.listener_reconnects.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("event listener connection lost; reconnecting");
                    }
                    Ok(Err(_)) if self.pool.is_closed() => break,
                    Ok(Err(e)) => {
                        self.stats.listener_reconnects.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "event listener failed; reconnecting");
                        listener = None;
                        self.stats.listening.store(false, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
            }
        }
        drop(listener);
        listen_pool.close().await;
        let _ = stopping.send(true);
    }

    /// The next notification, unless this process commits events first or `wait` passes
    /// (`Err` then). Its own doorbells are skipped: they were dispatched when rung.
    async fn next_doorbell(
        &self,
        listener: &mut PgListener,
        wait: Duration,
    ) -> Result<sqlx::Result<Option<sqlx::postgres::PgNotification>>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // try_recv is cancel-safe: a notification is never lost to the other branches.
            let heard = tokio::select! {
                heard = listener.try_recv() => heard,
                _ = self.wake.notified() => return Err(()),
                _ = tokio::time::sleep_until(deadline) => return Err(()),
                _ = self.pool.close_event() => return Err(()),
            };
            match &heard {
                Ok(Some(n)) if n.channel() == CHANNEL && n.payload() == &*self.bell_id => continue,
                _ => return Ok(heard),
            }
        }
    }

    /// Publishes every stable event after the head; returns whether newer events exist that
    /// are not stable yet.
    async fn dispatch(&self) -> AppResult<bool> {
        loop {
            let head = self.head();
            let (rows, held_back) = events::read_for_dispatch(&self.pool, head).await?;
            let full = rows.len() as i64 == events::DISPATCH_BATCH;
            if !rows.is_empty() {
                let mut ring = self.ring.lock().expect("event ring");
                for row in rows {
                    let lag = (chrono::Utc::now() - row.created_at)
                        .num_microseconds()
                        .unwrap_or(0);
                    metrics::histogram!("ttfd_event_dispatch_lag_seconds").record(lag as f64 / 1e6);
                    // Only this task moves the head, so nothing was published meanwhile.
                    ring.head = row.cursor();
                    let _ = ring.sender.send(LiveEvent::new(row));
                    self.stats.dispatched.fetch_add(1, Ordering::Relaxed);
                }
            }
            if !full {
                return Ok(held_back);
            }
        }
    }
}
