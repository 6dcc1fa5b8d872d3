//! GraphQL over websocket, in both protocols clients use: `graphql-transport-ws` (the graphql-ws
//! library) and the legacy `graphql-ws` (subscriptions-transport-ws). Written here rather than
//! taken from async-graphql, which lacks the spec's close codes (4400, 4401, 4403, 4408, 4409,
//! 4429), an init timeout, the duplicate-id check, a subscription cap and server pings.
//!
//! `mod.rs` holds the connection: the upgrade, its caps and the session loop with its writer;
//! `operations.rs` the messages a client sends; `protocol.rs` the two protocols' messages;
//! `shared.rs` the groups of identical subscriptions that share one execution.

mod operations;
mod protocol;
mod shared;

pub use shared::SharedStreams;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;

use super::HttpState;
use crate::auth::KeyChange;
use crate::service::Actor;
use protocol::Protocol;

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
    /// Results a group of identical subscriptions holds for members that have not taken them
    /// yet: a member further behind leaves the group and catches up alone from the table.
    pub shared_queue: usize,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            init_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            max_operations: 100,
            max_message_bytes: 64 * 1024,
            write_timeout: Duration::from_secs(10),
            shared_queue: 1024,
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
