//! Hot responses served without running again: a query whose root fields are all top pages
//! of the leaderboard (no `after`, no `around`) is cached as the serialised body, keyed by
//! everything that can change it (document, operation name, variables, extensions and the
//! caller: one key, or the public), so no caller is ever served another's response.
//!
//! A cached response is dropped when it may show something else: an event of a user it shows,
//! an event after which another user's score reaches one of its pages (the new total an XP
//! change names, else read by primary key, one statement per dispatched batch), a merge, an
//! import or a season start, and a new account or new names (`PROFILES_CHANNEL`). A response computed while something was
//! dropped is not stored, so none outlives a change it did not see.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::operation::{self, RequestKey};
use super::request::Params;
use crate::board::Boards;
use crate::db::leaderboard::Board;
use crate::events::{EventHub, LiveEvent, ProfileChange};
use crate::graphql::shown::ShownPage;

/// The most responses one process keeps by default; past it, the cache starts over.
pub const DEFAULT_ENTRIES: usize = 256;

/// The longest the cache waits for the boards in memory to take in a batch of events.
const BOARDS_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Events after which every cached response is dropped: they change many accounts at once.
const CHANGES_MANY: [&str; 3] = ["accounts_merged", "imported", "season_started"];

/// Events that change no score (they matter only for the users a page shows).
const SCORE_NEUTRAL: [&str; 2] = ["coins_change", "account_linked"];

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct CacheKey {
    /// What the metrics call the operation (as `phases.rs` does: its name, else its field).
    label: String,
    request: RequestKey,
}

impl CacheKey {
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The key of a request that may be cached: a query of leaderboard top pages only.
    pub fn of(params: &Params, caller: Option<Uuid>) -> Option<CacheKey> {
        // Most requests are not leaderboard pages: they cost a substring search, no lookup.
        if !params.query.contains("leaderboard") {
            return None;
        }
        let root = operation::root(params)?;
        let top_pages = root
            .fields
            .iter()
            .all(|f| f.name == "leaderboard" && !f.is_given("after") && !f.is_given("around"));
        if root.ty != OperationType::Query || !top_pages {
            return None;
        }
        Some(CacheKey {
            request: root.key(params, caller),
            label: root.name.unwrap_or_else(|| "leaderboard".into()),
        })
    }
}

struct Entry {
    body: Bytes,
    pages: Vec<ShownPage>,
}

#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<CacheKey, Entry>>,
    /// The most entries kept (0: none).
    capacity: usize,
    /// Counts drops: a response computed across one is not stored.
    generation: AtomicU64,
}

impl ResponseCache {
    /// Starts following the events and account changes of `hub`, after `boards`: pages are
    /// read from them, so a response is dropped only once they hold the change (else a page
    /// computed in between would be stored from the boards as they were).
    pub fn start(hub: EventHub, boards: Arc<Boards>, capacity: usize) -> Arc<ResponseCache> {
        let cache = Arc::new(ResponseCache {
            capacity,
            ..ResponseCache::default()
        });
        tokio::spawn(follow(Arc::downgrade(&cache), hub, boards));
        cache
    }

    pub fn get(&self, key: &CacheKey) -> Option<Bytes> {
        let entries = self.entries.lock().expect("response cache");
        entries.get(key).map(|e| e.body.clone())
    }

    /// Taken before a response is computed, and given back to `put`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores a response computed from `generation` on, unless something was dropped since.
    pub fn put(&self, key: CacheKey, generation: u64, body: Bytes, pages: Vec<ShownPage>) {
        let mut entries = self.entries.lock().expect("response cache");
        if self.generation.load(Ordering::Acquire) != generation || self.capacity == 0 {
            return;
        }
        // Full: start over, as the parse caches do. Churn then costs what no cache costs.
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, Entry { body, pages });
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("response cache").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the responses `dropped` picks.
    fn drop_where(&self, dropped: impl Fn(&[ShownPage]) -> bool) {
        let mut entries = self.entries.lock().expect("response cache");
        // Counted even when nothing is held: a response being computed may show the change.
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, e| !dropped(&e.pages));
    }

    /// Whether any cached response's pages match.
    fn any(&self, matches: impl Fn(&[ShownPage]) -> bool) -> bool {
        let entries = self.entries.lock().expect("response cache");
        entries.values().any(|e| matches(&e.pages))
    }

    fn clear(&self) {
        self.drop_where(|_| true);
    }

    /// What a dispatched batch of events drops.
    async fn events(&self, hub: &EventHub, batch: &[Arc<LiveEvent>]) {
        if batch
            .iter()
            .any(|e| CHANGES_MANY.contains(&e.row.event_type.as_str()))
        {
            return self.clear();
        }
        let mut users: Vec<Uuid> = batch.iter().map(|e| e.row.user_id).collect();
        users.sort_unstable();
        users.dedup();
        self.drop_where(|pages| users.iter().any(|u| pages.iter().any(|p| p.shows(*u))));
        if self.is_empty() {
            return;
        }
        // Users not shown: do their scores now reach a page? An XP change names the new
        // all-time total, and some events change no score: then nothing needs reading.
        let totals: Option<Vec<i32>> = batch
            .iter()
            .filter(|e| !SCORE_NEUTRAL.contains(&e.row.event_type.as_str()))
            .map(|e| match e.row.event_type.as_str() {
                "xp_change" => e.row.data["xp"].as_i64().and_then(|xp| i32::try_from(xp).ok()),
                _ => None,
            })
            .collect();
        let seasons_cached = self.any(|pages| pages.iter().any(|p| p.board == Board::Season));
        if let (Some(totals), false) = (&totals, seasons_cached) {
            return self.drop_where(|pages| pages.iter().any(|p| totals.iter().any(|xp| p.reached_by(*xp))));
        }
        // The boards' own read: a season score only for users on the season's board.
        match crate::db::boards::of(&hub.pool, &users).await {
            Ok(scores) => self.drop_where(|pages| {
                pages.iter().any(|p| {
                    scores.iter().any(|(_, xp, season)| match p.board {
                        Board::AllTime => p.reached_by(*xp),
                        Board::Season => season.is_some_and(|s| p.reached_by(s)),
                    })
                })
            }),
            Err(e) => {
                tracing::warn!(error = ?e, "cannot read scores for the response cache; dropping it");
                self.clear();
            }
        }
    }
}

/// Follows the hub for as long as the cache lives.
async fn follow(cache: std::sync::Weak<ResponseCache>, hub: EventHub, boards: Arc<Boards>) {
    let (mut events, _) = hub.subscribe();
    // Account changes come through the boards when they follow, once they hold them.
    let mut profiles = if boards.follows() {
        boards.profile_changes()
    } else {
        hub.profile_changes()
    };
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(cache) = cache.upgrade() else { return };
                match event {
                    Ok(first) => {
                        let mut batch = vec![first];
                        while let Ok(more) = events.try_recv() {
                            batch.push(more);
                        }
                        if let Some(last) = batch.last().filter(|_| boards.follows()) {
                            // Not ready (loading) is fine too: pages then take the SQL path.
                            boards.caught_up(last.row.cursor(), BOARDS_WAIT).await;
                        }
                        cache.events(&hub, &batch).await;
                    }
                    Err(RecvError::Lagged(_)) => cache.clear(),
                    Err(RecvError::Closed) => return,
                }
            }
            change = profiles.recv() => {
                let Some(cache) = cache.upgrade() else { return };
                match change {
                    Ok(ProfileChange::One(user)) => cache.drop_where(|pages| pages.iter().any(|p| {
                        // A new account joins a page that is not full.
                        p.shows(user) || !p.full
                    })),
                    Ok(ProfileChange::All) | Err(RecvError::Lagged(_)) => cache.clear(),
                    Err(RecvError::Closed) => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::{Map, Value};

    fn key(query: &str, variables: Value) -> Option<CacheKey> {
        let Value::Object(variables) = variables else {
            panic!("variables are an object");
        };
        let params = Params {
            query: query.into(),
            operation_name: None,
            variables,
            extensions: Map::new(),
        };
        CacheKey::of(&params, None)
    }

    #[test]
    fn only_queries_of_top_pages_are_cached() {
        use serde_json::json;
        assert!(key("{ leaderboard(first: 10) { nodes { xp } } }", json!({})).is_some());
        assert!(key("query($s: LeaderboardScope) { a: leaderboard(scope: $s) { nodes { xp } } b: leaderboard { nodes { xp } } }", json!({})).is_some());
        assert!(
            key(
                "query($a: String) { leaderboard(after: $a) { nodes { xp } } }",
                json!({"a": null})
            )
            .is_some()
        );
        assert!(
            key(
                "query($a: String) { leaderboard(after: $a) { nodes { xp } } }",
                json!({"a": "c"})
            )
            .is_none()
        );
        assert!(key("{ leaderboard(around: {id: \"x\"}) { nodes { xp } } }", json!({})).is_none());
        assert!(key("{ leaderboard { nodes { xp } } ranks { id } }", json!({})).is_none());
        assert!(key("mutation { leaderboard { nodes { xp } } }", json!({})).is_none());
        let q = "query($n: Int) { leaderboard(first: $n) { nodes { xp } } }";
        assert_eq!(
            key(q, json!({"n": 5, "unused": 1})),
            key(q, json!({"n": 5, "unused": 2})),
            "variables the operation does not declare change nothing"
        );
        assert_ne!(key(q, json!({"n": 5})), key(q, json!({"n": 6})));
    }

    #[test]
    fn a_response_computed_across_a_drop_is_not_stored() {
        let cache = ResponseCache {
            capacity: 1,
            ..ResponseCache::default()
        };
        let key = key("{ leaderboard { nodes { xp } } }", serde_json::json!({})).unwrap();
        let before = cache.generation();
        cache.clear();
        cache.put(key.clone(), before, Bytes::from_static(b"{}"), vec![]);
        assert!(cache.get(&key).is_none());
        cache.put(key.clone(), cache.generation(), Bytes::from_static(b"{}"), vec![]);
        assert!(cache.get(&key).is_some());
    }
}
