//! The rows of the users the boards' pages show, kept in memory so that a page costs no SQL
//! once its users were read. A row is dropped when an event or an account notification names
//! its user (before the boards count that event as applied, so a read with `consistentAfter`
//! never gets an older row), on every load and season start, and after `TTL` whatever
//! happens (a few columns change without an event: `last_active` on an unchanged upsert, the
//! time zone).
//!
//! Written by hand: a row read from the database may already be older than an event the
//! follower is dropping meanwhile, so a read only stores rows no drop has touched since it
//! started. The general caches (moka, quick_cache) have no such check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::db::users::UserRow;

/// Rows kept at most; a full cache starts over (a page's rows come back on its next read).
pub const CAPACITY: usize = 65_536;

/// How long a row is served at most.
pub const TTL: Duration = Duration::from_secs(1);

/// Drops are remembered per slot of the id space (a stored row is refused when its slot was
/// dropped after its read began; another id in the same slot only costs a refused store).
const SLOTS: usize = 1024;

#[derive(Default)]
pub struct RowCache {
    inner: Mutex<Inner>,
}

struct Inner {
    rows: HashMap<Uuid, (Instant, Arc<UserRow>)>,
    /// Counts drops; a read notes it before it goes to the database.
    generation: u64,
    /// The generation of each slot's last drop.
    dropped: Box<[u64; SLOTS]>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            rows: HashMap::new(),
            generation: 0,
            dropped: Box::new([0; SLOTS]),
        }
    }
}

fn slot(id: &Uuid) -> usize {
    // v7 ids start with their time: the low bits are random.
    (id.as_u128() as usize) % SLOTS
}

/// What a read found: the rows held, the ids to read, and when and at which generation the
/// rows read for it begin (`put` stores them under both).
pub struct Lookup {
    pub held: Vec<Arc<UserRow>>,
    pub missing: Vec<Uuid>,
    generation: u64,
    /// A row's age counts from before its read.
    at: Instant,
}

impl RowCache {
    pub fn get(&self, ids: &[Uuid]) -> Lookup {
        let inner = self.inner.lock().expect("rows");
        let now = Instant::now();
        let mut lookup = Lookup {
            held: Vec::with_capacity(ids.len()),
            missing: Vec::new(),
            generation: inner.generation,
            at: now,
        };
        for id in ids {
            match inner.rows.get(id) {
                Some((at, row)) if now.duration_since(*at) < TTL => lookup.held.push(row.clone()),
                _ => lookup.missing.push(*id),
            }
        }
        lookup
    }

    /// Stores the rows read for `lookup`, each unless its slot was dropped since it began.
    pub fn put(&self, lookup: &Lookup, rows: &[Arc<UserRow>]) {
        let mut inner = self.inner.lock().expect("rows");
        if inner.rows.len() + rows.len() > CAPACITY {
            inner.rows.clear();
        }
        for row in rows {
            if inner.dropped[slot(&row.id)] <= lookup.generation {
                inner.rows.insert(row.id, (lookup.at, row.clone()));
            }
        }
    }

    /// Drops the rows of `ids`.
    pub fn forget(&self, ids: impl IntoIterator<Item = Uuid>) {
        let mut inner = self.inner.lock().expect("rows");
        inner.generation += 1;
        let generation = inner.generation;
        for id in ids {
            inner.rows.remove(&id);
            inner.dropped[slot(&id)] = generation;
        }
    }

    /// Drops every row.
    pub fn clear(&self) {
        let mut inner = self.inner.lock().expect("rows");
        inner.generation += 1;
        let generation = inner.generation;
        inner.rows.clear();
        inner.dropped.fill(generation);
    }

    /// Rows held (`ttfd_boards_rows_held`).
    pub fn len(&self) -> usize {
        self.inner.lock().expect("rows").rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: Uuid) -> Arc<UserRow> {
        Arc::new(UserRow {
            id,
            identities: Default::default(),
            username: "u".into(),
            display_name: "u".into(),
            xp: 0,
            coins: 0,
            rank_id: 1,
            rewarded_rank_id: 1,
            games_played: 0,
            games_won: 0,
            total_voice_time: 0,
            messages_sent: 0,
            current_season_xp: 0,
            daily_streak: 0,
            last_daily: None,
            created_at: chrono::Utc::now(),
            last_active: chrono::Utc::now(),
            primary_platform: "telegram".into(),
            time_zone: None,
            streak_freezes: 0,
            last_daily_day: None,
            last_message_xp_at: None,
        })
    }

    #[test]
    fn a_row_read_before_a_drop_is_not_stored_after_it() {
        let cache = RowCache::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let read = cache.get(&[a, b]);
        assert_eq!(read.missing, [a, b]);
        cache.forget([a]);
        cache.put(&read, &[row(a), row(b)]);
        let again = cache.get(&[a, b]);
        assert!(
            again.missing.contains(&a),
            "the row of a, read before its drop, was refused"
        );
        if slot(&a) != slot(&b) {
            assert_eq!(again.held.len(), 1, "b, untouched, was stored");
        }
        cache.put(&again, &[row(a)]);
        assert!(cache.get(&[a]).missing.is_empty(), "read after the drop: stored");
        cache.clear();
        assert_eq!(cache.get(&[a, b]).missing, [a, b]);
        let late = cache.get(&[a]);
        cache.clear();
        cache.put(&late, &[row(a)]);
        assert!(cache.is_empty(), "a clear refuses every read begun before it");
    }
}
