//! Subscriptions that share one execution. Operations of one process that are the same
//! (document, operation name, variables, extensions), asked by the same caller (one key, or
//! the public) and that start from now (no `after` cursor) form a group: the first member
//! starts the operation, each event is resolved and serialised once, and every member only
//! wraps the shared payload in its own `next` message. A member too slow for the group's
//! queue leaves it and catches up alone from the last event it received, so none is lost.
//! Written here because async-graphql executes every subscription on its own.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use async_graphql::parser::types::OperationType;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::protocol::rejection;
use crate::domain::cursor::EventCursor;
use crate::graphql::DeliveredCursor;
use crate::graphql::phases::RequestPhase;
use crate::http::operation::{self, RequestKey};
use crate::http::request::Params;

/// What a group sends its members.
#[derive(Clone)]
pub(super) enum Shared {
    /// A result, serialised once: the `payload` of a `next` message, and the cursor of the
    /// event it shows.
    Next(Arc<str>, Option<EventCursor>),
    /// Rejected before execution (parse or validation): the errors of an `error` message.
    Rejected(Arc<Vec<Value>>),
    /// The operation ended.
    Complete,
}

/// The key of a group: everything that decides its operation's results.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct GroupKey(RequestKey);

impl GroupKey {
    /// The key of an operation that may share, or None when it must run alone: it does not
    /// parse, is not a subscription, or starts from a cursor (its replay is its own).
    pub(super) fn of(params: &Params, caller: Option<Uuid>) -> Option<GroupKey> {
        let root = operation::root(params)?;
        if root.ty != OperationType::Subscription || root.fields.iter().any(|f| f.is_given("after")) {
            return None;
        }
        Some(GroupKey(root.key(params, caller)))
    }
}

/// The groups of one process.
#[derive(Default)]
pub struct SharedStreams {
    groups: Mutex<HashMap<GroupKey, Group>>,
}

/// A running group: where its results go, and whether its operation already receives events.
struct Group {
    results: broadcast::Sender<Shared>,
    receiving: watch::Receiver<bool>,
}

/// A member's view of its group.
pub(super) struct Membership {
    pub results: broadcast::Receiver<Shared>,
    /// Turns true once the group's operation receives events (from the start, for a member
    /// that joins a running group).
    pub receiving: watch::Receiver<bool>,
}

/// A started operation: its results, and its phase (rejected or not) and the slot where the
/// subscription resolver notes the cursor of each event it hands out.
pub(super) struct Execution<S> {
    pub results: S,
    pub phase: Arc<RequestPhase>,
    pub delivered: DeliveredCursor,
}

impl SharedStreams {
    /// Joins the group of `key`, starting it with `start` when there is none; a new group
    /// holds up to `queue` results for members that have not taken them yet.
    pub(super) fn join<S>(
        self: &Arc<Self>,
        key: GroupKey,
        queue: usize,
        start: impl FnOnce() -> Execution<S>,
    ) -> Membership
    where
        S: Stream<Item = async_graphql::Response> + Send + Unpin + 'static,
    {
        let mut groups = self.groups.lock().expect("shared streams");
        if let Some(group) = groups.get(&key) {
            return Membership {
                results: group.results.subscribe(),
                receiving: group.receiving.clone(),
            };
        }
        let (sender, results) = broadcast::channel(queue.max(1));
        let (told, receiving) = watch::channel(false);
        groups.insert(
            key.clone(),
            Group {
                results: sender.clone(),
                receiving: receiving.clone(),
            },
        );
        drop(groups);
        tokio::spawn(run(self.clone(), key, sender, told, start()));
        Membership { results, receiving }
    }

    /// Groups running now.
    pub fn groups(&self) -> usize {
        self.groups.lock().expect("shared streams").len()
    }

    /// Ends the group: later joiners start a new one; members get `last`.
    fn finish(&self, key: &GroupKey, sender: &broadcast::Sender<Shared>, last: Shared) {
        let mut groups = self.groups.lock().expect("shared streams");
        if groups.get(key).is_some_and(|g| g.results.same_channel(sender)) {
            groups.remove(key);
        }
        let _ = sender.send(last);
    }
}

/// Runs a group's operation until it ends or no member is left (noticed at the next result).
async fn run<S>(
    registry: Arc<SharedStreams>,
    key: GroupKey,
    sender: broadcast::Sender<Shared>,
    receiving: watch::Sender<bool>,
    execution: Execution<S>,
) where
    S: Stream<Item = async_graphql::Response> + Send + Unpin + 'static,
{
    let Execution {
        mut results,
        phase,
        delivered,
    } = execution;
    // The first poll runs the subscription's resolver, which joins the event ring: from then
    // on the group hears every event, and its members count as subscribed.
    let mut first = Some(poll_fn(|cx| Poll::Ready(results.poll_next_unpin(cx))).await);
    let _ = receiving.send(true);
    loop {
        let response = match first.take() {
            Some(Poll::Ready(response)) => response,
            Some(Poll::Pending) | None => results.next().await,
        };
        let Some(response) = response else {
            break;
        };
        if phase.rejected() {
            registry.finish(&key, &sender, Shared::Rejected(Arc::new(rejection(&response))));
            return;
        }
        let payload: Arc<str> = match serde_json::to_string(&response) {
            Ok(text) => text.into(),
            Err(e) => {
                let message = format!("cannot serialise the result: {e}");
                serde_json::json!({ "errors": [{ "message": message }] })
                    .to_string()
                    .into()
            }
        };
        let cursor = *delivered.0.lock().expect("delivered cursor");
        if sender.send(Shared::Next(payload, cursor)).is_err() {
            // Nobody listens. Under the registry's lock no one can join meanwhile.
            let mut groups = registry.groups.lock().expect("shared streams");
            if sender.receiver_count() == 0 {
                if groups.get(&key).is_some_and(|g| g.results.same_channel(&sender)) {
                    groups.remove(&key);
                }
                return;
            }
        }
    }
    registry.finish(&key, &sender, Shared::Complete);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str, operation_name: Option<&str>) -> Option<GroupKey> {
        with(query, operation_name, serde_json::json!({}))
    }

    fn with(query: &str, operation_name: Option<&str>, variables: Value) -> Option<GroupKey> {
        let Value::Object(variables) = variables else {
            panic!("variables are an object");
        };
        let params = Params {
            query: query.into(),
            operation_name: operation_name.map(Into::into),
            variables,
            extensions: serde_json::Map::new(),
        };
        GroupKey::of(&params, None)
    }

    #[test]
    fn different_variables_different_groups() {
        let q = "subscription($a: String) { events(after: $a) { id } }";
        assert!(
            with(q, None, serde_json::json!({"a": "x"})).is_none(),
            "a cursor replays alone"
        );
        assert_ne!(
            with(q, None, serde_json::json!({"a": null})),
            with(q, None, serde_json::json!({})),
        );
    }

    #[test]
    fn only_subscriptions_from_now_share() {
        assert!(key("subscription { events { id } }", None).is_some());
        assert!(
            key(
                "subscription S($f: EventFilterInput) { events(filter: $f) { id } }",
                None
            )
            .is_some()
        );
        assert!(key("subscription { events(after: \"x\") { id } }", None).is_none());
        assert!(key("query { ranks { name } }", None).is_none());
        assert!(
            key(
                "subscription { ...F } fragment F on Subscription { events { id } }",
                None
            )
            .is_none()
        );
        assert!(key("subscription {", None).is_none());
        let two = "subscription A { events { id } } subscription B { events(after: \"x\") { id } }";
        assert!(key(two, None).is_none(), "two operations and no name");
        assert!(key(two, Some("A")).is_some());
        assert!(key(two, Some("B")).is_none());
        assert!(key(two, Some("C")).is_none());
    }
}
