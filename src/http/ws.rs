//! GraphQL over websocket, in both protocols clients use: `graphql-transport-ws` (the graphql-ws
//! library) and the legacy `graphql-ws` (subscriptions-transport-ws). Written here rather than
//! taken from async-graphql, which lacks the spec's close codes (4400, 4401, 4403, 4408, 4409,
//! 4429), an init timeout, the duplicate-id check, a subscription cap and server pings.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Variables;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;

use super::HttpState;
use crate::auth::{self, KeyChange};
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::graphql::phases::RequestPhase;
use crate::limits::{Caller, Place};
use crate::service::Actor;

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
/// Control messages waiting for a client: acks, pongs, pings, errors, the close.
const CONTROL_QUEUE: usize = 64;
pub const LEGACY_WS: &str = "graphql-ws";

#[derive(Clone, Debug)]
pub struct WsConfig {
    /// A connection must send `connection_init` within this time (else 4408).
    pub init_timeout: Duration,
    /// How often the server pings (`ping`, or `ka` in the legacy protocol).
    pub ping_interval: Duration,
    /// Operations one connection may run at once.
    pub max_operations: usize,
    pub max_message_bytes: usize,
    /// A frame the client does not take within this time closes the connection: a client
    /// that stops reading cannot hold the server's buffers, or its close, forever.
    pub write_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            init_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            max_operations: 100,
            max_message_bytes: 64 * 1024,
            write_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    TransportWs,
    Legacy,
}

impl Protocol {
    fn next_type(self) -> &'static str {
        match self {
            Protocol::TransportWs => "next",
            Protocol::Legacy => "data",
        }
    }
}

pub fn upgrade(ws: WebSocketUpgrade, state: HttpState, peer: Option<IpAddr>) -> Response {
    // Counted before the upgrade: a refused connection costs no task and no socket state.
    let place = match peer.map(|ip| state.limits.hold_connection(ip)) {
        Some(None) => {
            crate::metrics::rate_limited("websocket_connections");
            let refusal = (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::RETRY_AFTER, "1")],
                "too many websocket connections from this address",
            );
            return axum::response::IntoResponse::into_response(refusal);
        }
        Some(Some(place)) => Some(place),
        None => None,
    };
    // A client that names no protocol gets the current one.
    let ws = ws.protocols([TRANSPORT_WS, LEGACY_WS]);
    let protocol = match ws.selected_protocol().map(|p| p.as_bytes()) {
        Some(p) if p == LEGACY_WS.as_bytes() => Protocol::Legacy,
        _ => Protocol::TransportWs,
    };
    let config = state.ws.clone();
    ws.max_message_size(config.max_message_bytes)
        .max_frame_size(config.max_message_bytes)
        .on_upgrade(move |socket| async move {
            let _place = place;
            session(socket, protocol, state, config, peer).await
        })
}

enum Outgoing {
    Text(String),
    Close(u16, &'static str),
}

/// Why a session ends early: a close code and reason.
struct Close(u16, &'static str);

struct Session {
    peer: Option<IpAddr>,
    protocol: Protocol,
    state: HttpState,
    config: WsConfig,
    /// Results of operations: bounded, so a client that does not read slows only them.
    out: mpsc::Sender<Outgoing>,
    /// The protocol's own messages (acks, pongs, pings, errors, the close): never queued
    /// behind results.
    control: mpsc::Sender<Outgoing>,
    done: mpsc::UnboundedSender<(String, u64)>,
    init_received: bool,
    acked: bool,
    actor: Actor,
    operations: HashMap<String, (u64, AbortHandle)>,
    generation: u64,
    /// Key changes, followed once the connection is authenticated with a key.
    key_changes: Option<broadcast::Receiver<KeyChange>>,
}

/// Resolves when the server starts shutting down (never, for a router without a signal).
async fn going_away(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    if shutdown.wait_for(|down| *down).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The next key change, or never when the connection has no key.
async fn next_change(changes: &mut Option<broadcast::Receiver<KeyChange>>) -> KeyChange {
    match changes {
        Some(rx) => match rx.recv().await {
            Ok(change) => change,
            Err(_) => KeyChange::All,
        },
        None => std::future::pending().await,
    }
}

async fn session(
    socket: WebSocket,
    protocol: Protocol,
    state: HttpState,
    config: WsConfig,
    peer: Option<IpAddr>,
) {
    crate::metrics::websocket_opened();
    let (mut sink, mut source) = socket.split();
    // One writer: operations queue their messages on `out`. That queue is bounded, so a client
    // that does not read slows only its own operations, which then catch up from the table.
    // Control messages have their own queue and go first; a frame the client does not take
    // within the write timeout ends the connection.
    let (out, mut out_rx) = mpsc::channel::<Outgoing>(256);
    let (control, mut control_rx) = mpsc::channel::<Outgoing>(CONTROL_QUEUE);
    let write_timeout = config.write_timeout;
    let writer = tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                biased;
                Some(msg) = control_rx.recv() => msg,
                Some(msg) = out_rx.recv() => msg,
                else => break,
            };
            let (frame, last) = match msg {
                Outgoing::Text(t) => (Message::Text(Utf8Bytes::from(t)), false),
                Outgoing::Close(code, reason) => (
                    Message::Close(Some(CloseFrame {
                        code,
                        reason: Utf8Bytes::from_static(reason),
                    })),
                    true,
                ),
            };
            let sent = tokio::time::timeout(write_timeout, sink.send(frame)).await;
            if !matches!(sent, Ok(Ok(()))) || last {
                break;
            }
        }
        let _ = tokio::time::timeout(write_timeout, sink.close()).await;
    });
    let (done, mut done_rx) = mpsc::unbounded_channel();
    let mut s = Session {
        peer,
        protocol,
        state,
        config: config.clone(),
        out,
        control,
        done,
        init_received: false,
        acked: false,
        actor: Actor::default(),
        operations: HashMap::new(),
        generation: 0,
        key_changes: None,
    };
    let init_deadline = tokio::time::sleep(config.init_timeout);
    tokio::pin!(init_deadline);
    let mut pings = tokio::time::interval(config.ping_interval);
    pings.tick().await;
    let shutdown = going_away(s.state.shutdown.clone());
    tokio::pin!(shutdown);

    let closing: Option<Close> = loop {
        tokio::select! {
            incoming = source.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Err(close) = s.handle(text.as_str()).await {
                        break Some(close);
                    }
                }
                Some(Ok(Message::Binary(_))) => break Some(Close(4400, "Invalid message received")),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
            },
            Some((id, generation)) = done_rx.recv() => {
                if s.operations.get(&id).is_some_and(|(g, _)| *g == generation) {
                    s.operations.remove(&id);
                }
            }
            change = next_change(&mut s.key_changes) => {
                // A revoked key stops working at once, on open connections too.
                let mine = s.actor.key_id();
                let concerns_me = match change {
                    KeyChange::One(id) => Some(id) == mine,
                    KeyChange::All => true,
                };
                if concerns_me && let Some(id) = mine {
                    match s.state.app.keys.is_live(id).await {
                        Ok(true) => {}
                        Ok(false) => break Some(Close(4403, "Forbidden")),
                        Err(e) => tracing::warn!(error = ?e, "cannot re-check a websocket's key"),
                    }
                }
            }
            _ = &mut shutdown => {
                // Clients reconnect and resume with `after` set to their last cursor.
                break Some(Close(1001, "Server restarting: reconnect and resume from your last cursor"));
            }
            _ = &mut init_deadline, if !s.init_received => {
                break Some(Close(4408, "Connection initialisation timeout"));
            }
            _ = pings.tick(), if s.acked => {
                let ping = match s.protocol {
                    Protocol::TransportWs => r#"{"type":"ping"}"#,
                    Protocol::Legacy => r#"{"type":"ka"}"#,
                };
                // A client too slow to take its pings is told nothing more: the writer's
                // timeout closes it.
                let _ = s.control.try_send(Outgoing::Text(ping.into()));
            }
        }
    };
    for (_, (_, handle)) in s.operations.drain() {
        handle.abort();
    }
    if let Some(Close(code, reason)) = closing {
        // Results still queued are dropped: the close goes next.
        let _ = s.control.send(Outgoing::Close(code, reason)).await;
    }
    drop(s);
    let _ = writer.await;
    crate::metrics::websocket_closed();
}

impl Session {
    /// A control message. The queue only fills when the client stopped reading while still
    /// sending: then the message is dropped and the writer's timeout ends the connection.
    async fn send(&self, value: Value) {
        let _ = self.control.try_send(Outgoing::Text(value.to_string()));
    }

    async fn handle(&mut self, text: &str) -> Result<(), Close> {
        const INVALID: Close = Close(4400, "Invalid message received");
        let Ok(Value::Object(mut msg)) = serde_json::from_str::<Value>(text) else {
            return Err(INVALID);
        };
        let Some(Value::String(kind)) = msg.remove("type") else {
            return Err(INVALID);
        };
        match (self.protocol, kind.as_str()) {
            (_, "connection_init") => {
                if self.init_received {
                    return Err(Close(4429, "Too many initialisation requests"));
                }
                self.init_received = true;
                let payload = match msg.remove("payload") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(m)) => m,
                    Some(_) => return Err(INVALID),
                };
                if let Some(secret) = presented_secret(&payload) {
                    // Follow key changes before verifying: a revocation that lands while the
                    // key is being verified is then still heard, and re-checked.
                    self.key_changes = Some(self.state.app.keys.changes());
                    let Ok(key) = self.state.app.keys.verify(secret).await else {
                        // A refused key costs its address, as over HTTP: guessing keys over
                        // websockets is no cheaper.
                        if let Some(ip) = self.peer {
                            let _ = self.state.limits.check(&Caller::Address(ip)).await;
                        }
                        return Err(Close(4403, "Forbidden"));
                    };
                    self.actor = Actor { key: Some(key) };
                }
                self.acked = true;
                self.send(json!({ "type": "connection_ack" })).await;
                if self.protocol == Protocol::Legacy {
                    self.send(json!({ "type": "ka" })).await;
                }
                Ok(())
            }
            (Protocol::TransportWs, "ping") => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = msg.remove("payload") {
                    pong["payload"] = payload;
                }
                self.send(pong).await;
                Ok(())
            }
            (Protocol::TransportWs, "pong") => Ok(()),
            (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
                let Some(Value::String(id)) = msg.remove("id") else {
                    return Err(INVALID);
                };
                let Some(Value::Object(payload)) = msg.remove("payload") else {
                    return Err(INVALID);
                };
                if !self.acked {
                    return Err(Close(4401, "Unauthorized"));
                }
                if self.operations.contains_key(&id) {
                    // The spec's reason names the id; a static reason keeps frames small.
                    return Err(Close(4409, "Subscriber for this id already exists"));
                }
                let request = request_from(payload).ok_or(INVALID)?;
                if self.operations.len() >= self.config.max_operations {
                    let message = format!("at most {} operations per connection", self.config.max_operations);
                    self.send_error(
                        &id,
                        vec![json!({ "message": message, "extensions": { "code": "RATE_LIMITED" } })],
                    )
                    .await;
                    return Ok(());
                }
                // Operations on an open socket never pass the HTTP layer: count them here.
                match self.admit().await {
                    Ok(place) => self.start(id, request, place),
                    Err(e) => {
                        let error = async_graphql::Error::from(e).into_server_error(Default::default());
                        let error = serde_json::to_value(error).unwrap_or(Value::Null);
                        self.send_error(&id, vec![error]).await;
                    }
                }
                Ok(())
            }
            (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
                let Some(Value::String(id)) = msg.remove("id") else {
                    return Err(INVALID);
                };
                if let Some((_, handle)) = self.operations.remove(&id) {
                    handle.abort();
                    if self.protocol == Protocol::Legacy {
                        self.send(json!({ "type": "complete", "id": id })).await;
                    }
                }
                Ok(())
            }
            (Protocol::Legacy, "connection_terminate") => Err(Close(1000, "Normal closure")),
            _ => Err(INVALID),
        }
    }

    async fn send_error(&self, id: &str, errors: Vec<Value>) {
        let _ = self
            .control
            .try_send(Outgoing::Text(error_message(self.protocol, id, errors)));
    }

    /// Counts an operation against the caller's rate limit and takes one of the caller's
    /// subscription places (a key's, or the address's without a key), held until the
    /// operation ends.
    async fn admit(&self) -> Result<Option<Place<Caller>>, AppError> {
        let caller = match (self.actor.key_id(), self.peer) {
            (Some(id), _) => Caller::Key(id),
            (None, Some(ip)) => Caller::Address(ip),
            (None, None) => return Ok(None),
        };
        let limits = &self.state.limits;
        limits.check(&caller).await?;
        limits.hold_subscription(caller).map(Some)
    }

    fn start(&mut self, id: String, params: Params, place: Option<Place<Caller>>) {
        self.generation += 1;
        let generation = self.generation;
        let phase = Arc::new(RequestPhase {
            operation_name: params.operation_name.clone(),
            ..RequestPhase::default()
        });
        let mut request = async_graphql::Request::new(params.query)
            .variables(Variables::from_json(Value::Object(params.variables)))
            .data(phase.clone())
            .data(Loaders::uncached(&self.state.app))
            .data(self.actor.clone());
        if let Some(name) = params.operation_name {
            request = request.operation_name(name);
        }
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
            let _ = out
                .send(Outgoing::Text(
                    json!({ "type": "complete", "id": id }).to_string(),
                ))
                .await;
            let _ = done.send((id, generation));
        });
        self.operations.insert(id, (generation, task.abort_handle()));
    }
}

/// A `next` (or legacy `data`) message, serialised straight from the response: going through
/// a `serde_json::Value` would build and drop a tree per event and subscriber.
fn next_message(protocol: Protocol, id: &str, response: &async_graphql::Response) -> String {
    #[derive(serde::Serialize)]
    struct Next<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        id: &'a str,
        payload: &'a async_graphql::Response,
    }
    let next = Next {
        kind: protocol.next_type(),
        id,
        payload: response,
    };
    serde_json::to_string(&next).unwrap_or_else(|e| {
        error_message(
            protocol,
            id,
            vec![json!({ "message": format!("cannot serialise the result: {e}") })],
        )
    })
}

/// The API key a `connection_init` payload carries: `Authorization` (`Bearer <key>` or the key
/// alone) or `apiKey`.
fn presented_secret(payload: &Map<String, Value>) -> Option<&str> {
    for name in ["Authorization", "authorization", "apiKey"] {
        if let Some(Value::String(v)) = payload.get(name) {
            return Some(auth::bearer(v).unwrap_or(v.as_str()));
        }
    }
    None
}

/// An `error` message: graphql-transport-ws carries a list, the legacy protocol one error.
fn error_message(protocol: Protocol, id: &str, errors: Vec<Value>) -> String {
    let payload = match protocol {
        Protocol::TransportWs => Value::Array(errors),
        Protocol::Legacy => errors.into_iter().next().unwrap_or(Value::Null),
    };
    json!({ "type": "error", "id": id, "payload": payload }).to_string()
}

struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Map<String, Value>,
}

fn request_from(mut payload: Map<String, Value>) -> Option<Params> {
    let Some(Value::String(query)) = payload.remove("query") else {
        return None;
    };
    let operation_name = match payload.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return None,
    };
    let variables = match payload.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return None,
    };
    Some(Params {
        query,
        operation_name,
        variables,
    })
}
