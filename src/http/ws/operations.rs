//! What a client sends on an open connection: `connection_init`, pings, subscriptions and
//! their end; and the operations they start, each in its own task: alone, or as a member of
//! a group that shares one execution (`shared.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::protocol::{
    ClientMessage, Protocol, ServerMessage, error_message, next_frame, next_message, presented_secret,
    rejection,
};
use super::shared::{Execution, GroupKey, Membership, Shared};
use super::{Close, Outgoing, Session};
use crate::domain::cursor::EventCursor;
use crate::error::AppError;
use crate::events::EventHub;
use crate::graphql::loaders::Loaders;
use crate::graphql::phases::RequestPhase;
use crate::graphql::{DeliveredCursor, ResumeAfter};
use crate::http::request::{self, Params, Presented};
use crate::limits::{Caller, Place};

impl Session {
    /// A control message. The queue only fills when the client stopped reading while still
    /// sending: then the message is dropped and the writer's timeout ends the connection.
    fn send(&self, message: ServerMessage<'_>) {
        let _ = self.control.try_send(Outgoing::Text(message.text()));
    }

    pub(super) async fn handle(&mut self, text: &str) -> Result<(), Close> {
        const INVALID: Close = Close(4400, "Invalid message received");
        let message: ClientMessage = serde_json::from_str(text).map_err(|_| INVALID)?;
        let transport_ws = self.protocol == Protocol::TransportWs;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.init_received {
                    return Err(Close(4429, "Too many initialisation requests"));
                }
                self.init_received = true;
                if let Some(secret) = payload.as_ref().and_then(presented_secret) {
                    // Follow key changes before verifying: a revocation that lands while the
                    // key is being verified is then still heard, and re-checked.
                    self.key_changes = Some(self.state.app.keys.changes());
                    // A refused key costs its address, as over HTTP.
                    self.actor = request::identify(&self.state, Presented::Secret(secret), self.peer)
                        .await
                        .map_err(|_| Close(4403, "Forbidden"))?;
                }
                self.acked = true;
                self.send(ServerMessage::ConnectionAck);
                if !transport_ws {
                    self.send(ServerMessage::Ka);
                }
                Ok(())
            }
            ClientMessage::Ping { payload } if transport_ws => {
                self.send(ServerMessage::Pong { payload });
                Ok(())
            }
            ClientMessage::Pong {} if transport_ws => Ok(()),
            ClientMessage::Subscribe { id, payload } if transport_ws => {
                self.subscribe(id, payload.into()).await
            }
            ClientMessage::Start { id, payload } if !transport_ws => self.subscribe(id, payload.into()).await,
            ClientMessage::Complete { id } if transport_ws => {
                self.stop(&id);
                Ok(())
            }
            ClientMessage::Stop { id } if !transport_ws => {
                if self.stop(&id) {
                    self.send(ServerMessage::Complete { id: &id });
                }
                Ok(())
            }
            ClientMessage::ConnectionTerminate {} if !transport_ws => Err(Close(1000, "Normal closure")),
            _ => Err(INVALID),
        }
    }

    /// Starts an operation, once the connection is acknowledged and within the caller's limits.
    async fn subscribe(&mut self, id: String, request: Params) -> Result<(), Close> {
        if !self.acked {
            return Err(Close(4401, "Unauthorized"));
        }
        if self.operations.contains_key(&id) {
            // The spec's reason names the id; a static reason keeps frames small.
            return Err(Close(4409, "Subscriber for this id already exists"));
        }
        if self.operations.len() >= self.config.max_operations {
            let message = format!("at most {} operations per connection", self.config.max_operations);
            self.send_error(
                &id,
                vec![json!({ "message": message, "extensions": { "code": "RATE_LIMITED" } })],
            );
            return Ok(());
        }
        // Operations on an open socket never pass the HTTP layer: count them here.
        match self.admit().await {
            Ok(place) => self.start(id, request, place),
            Err(e) => {
                let error = async_graphql::Error::from(e).into_server_error(Default::default());
                let error = serde_json::to_value(error).unwrap_or(Value::Null);
                self.send_error(&id, vec![error]);
            }
        }
        Ok(())
    }

    /// Ends the operation `id`; false when none runs.
    fn stop(&mut self, id: &str) -> bool {
        let Some((_, handle)) = self.operations.remove(id) else {
            return false;
        };
        handle.abort();
        true
    }

    fn send_error(&self, id: &str, errors: Vec<Value>) {
        let _ = self
            .control
            .try_send(Outgoing::Text(error_message(self.protocol, id, errors)));
    }

    /// Counts an operation against the caller's rate limit and takes one of the caller's
    /// subscription places (a key's, or the address's without a key), held until the
    /// operation ends.
    async fn admit(&self) -> Result<Option<Place<Caller>>, AppError> {
        let Some(caller) = request::caller(&self.actor, self.peer) else {
            return Ok(None);
        };
        self.state.limits.check(&caller).await?;
        self.state.limits.hold_subscription(caller).map(Some)
    }

    fn start(&mut self, id: String, params: Params, place: Option<Place<Caller>>) {
        self.generation += 1;
        let run = Run {
            id: id.clone(),
            generation: self.generation,
            protocol: self.protocol,
            out: self.out.clone(),
            done: self.done.clone(),
        };
        let task = match GroupKey::of(&params, self.actor.key_id()) {
            Some(key) => {
                let shared = self.state.shared.clone();
                let (schema, app, actor) = (
                    self.state.schema.clone(),
                    self.state.app.clone(),
                    self.actor.clone(),
                );
                // Where this member starts: events after the current head (as alone).
                let joined_at = app.events.head();
                let group = shared.join(key, self.config.shared_queue, || {
                    let delivered = DeliveredCursor::default();
                    let (request, phase) =
                        request::build(params.clone(), actor.clone(), Loaders::uncached(&app), false);
                    let results = schema.execute_stream(request.data(delivered.clone()));
                    Execution {
                        results,
                        phase,
                        delivered,
                    }
                });
                let rest = move |after: EventCursor| {
                    let (request, phase) = request::build(params, actor, Loaders::uncached(&app), false);
                    (schema.execute_stream(request.data(ResumeAfter(after))), phase)
                };
                let hub = self.state.app.events.clone();
                tokio::spawn(async move {
                    let _place = place;
                    run.member(group, hub, joined_at, rest).await
                })
            }
            None => {
                let (request, phase) = request::build(
                    params,
                    self.actor.clone(),
                    Loaders::uncached(&self.state.app),
                    false,
                );
                let results = self.state.schema.execute_stream(request);
                tokio::spawn(async move {
                    let _place = place;
                    run.alone(results, phase).await
                })
            }
        };
        self.operations.insert(id, (self.generation, task.abort_handle()));
    }
}

/// Where one operation's messages go.
struct Run {
    id: String,
    generation: u64,
    protocol: Protocol,
    out: mpsc::Sender<Outgoing>,
    done: mpsc::UnboundedSender<(String, u64)>,
}

impl Run {
    /// Sends each result of an operation of its own.
    async fn alone(
        self,
        mut results: impl Stream<Item = async_graphql::Response> + Unpin,
        phase: Arc<RequestPhase>,
    ) {
        while let Some(response) = results.next().await {
            if phase.rejected() {
                // Rejected before execution (parse or validation): `error`, and no
                // `complete` in graphql-transport-ws.
                return self.rejected(rejection(&response)).await;
            }
            if !self.send(next_message(self.protocol, &self.id, &response)).await {
                return;
            }
        }
        self.complete().await
    }

    /// Sends a group's results; a member the group leaves behind goes on alone (`rest`) from
    /// the last event it received, or from where it joined.
    async fn member<S>(
        self,
        group: Membership,
        hub: EventHub,
        joined_at: EventCursor,
        rest: impl FnOnce(EventCursor) -> (S, Arc<RequestPhase>),
    ) where
        S: Stream<Item = async_graphql::Response> + Unpin,
    {
        let Membership {
            results: mut group,
            mut receiving,
        } = group;
        // Ended before it received (rejected): its last message is waiting all the same.
        let _ = receiving.wait_for(|receiving| *receiving).await;
        let subscribed = hub.subscribed();
        let mut last = joined_at;
        loop {
            match group.recv().await {
                Ok(Shared::Next(payload, cursor)) => {
                    if !self.send(next_frame(self.protocol, &self.id, &payload)).await {
                        return;
                    }
                    last = cursor.unwrap_or(last);
                }
                Ok(Shared::Rejected(errors)) => return self.rejected(errors.to_vec()).await,
                Ok(Shared::Complete) | Err(RecvError::Closed) => return self.complete().await,
                Err(RecvError::Lagged(_)) => {
                    // Alone, its own operation counts it.
                    drop((group, subscribed));
                    hub.stats.left_behind.fetch_add(1, Ordering::Relaxed);
                    let (results, phase) = rest(last);
                    return self.alone(results, phase).await;
                }
            }
        }
    }

    async fn send(&self, text: String) -> bool {
        self.out.send(Outgoing::Text(text)).await.is_ok()
    }

    async fn rejected(self, errors: Vec<Value>) {
        let _ = self
            .out
            .send(Outgoing::Text(error_message(self.protocol, &self.id, errors)))
            .await;
        let _ = self.done.send((self.id, self.generation));
    }

    async fn complete(self) {
        let complete = ServerMessage::Complete { id: &self.id }.text();
        let _ = self.out.send(Outgoing::Text(complete)).await;
        let _ = self.done.send((self.id, self.generation));
    }
}
