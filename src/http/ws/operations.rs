//! What a client sends on an open connection: `connection_init`, pings, subscriptions and
//! their end; and the operations they start, each in its own task.

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::protocol::{
    ClientMessage, Protocol, ServerMessage, error_message, next_message, presented_secret,
};
use super::{Close, Outgoing, Session};
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
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
        let generation = self.generation;
        let loaders = Loaders::uncached(&self.state.app);
        let (request, phase) = request::build(params, self.actor.clone(), loaders, false);
        let schema = self.state.schema.clone();
        let out = self.out.clone();
        let done = self.done.clone();
        let protocol = self.protocol;
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            let _place = place;
            let id = task_id;
            let mut responses = schema.execute_stream(request);
            while let Some(response) = responses.next().await {
                let message = if phase.rejected() {
                    // Rejected before execution (parse or validation): `error`, and no
                    // `complete` in graphql-transport-ws.
                    let errors = response
                        .errors
                        .iter()
                        .filter_map(|e| serde_json::to_value(e).ok())
                        .collect();
                    let _ = out
                        .send(Outgoing::Text(error_message(protocol, &id, errors)))
                        .await;
                    let _ = done.send((id, generation));
                    return;
                } else {
                    next_message(protocol, &id, &response)
                };
                if out.send(Outgoing::Text(message)).await.is_err() {
                    return;
                }
            }
            let complete = ServerMessage::Complete { id: &id }.text();
            let _ = out.send(Outgoing::Text(complete)).await;
            let _ = done.send((id, generation));
        });
        self.operations.insert(id, (generation, task.abort_handle()));
    }
}
