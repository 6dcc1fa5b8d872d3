//! The simulator's readers: live websocket subscribers of both protocols that disconnect on
//! purpose and resume after their last cursor, and a pull consumer (`pendingEvents` and
//! `ackEvents`) that acknowledges what it has seen.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::world::{Outcome, World};

/// What a subscriber asks for.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    /// `graphql-transport-ws` or the legacy `graphql-ws`.
    pub protocol: &'static str,
    pub key: Option<String>,
    pub filter: Value,
}

/// An event as a reader received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub id: String,
    pub data: Value,
}

const SUBSCRIPTION: &str = "subscription($f: EventFilter, $a: String) { events(filter: $f, after: $a) { id cursor type userId data } }";

/// Subscribes until aborted, reconnecting to any live server after every drop and after
/// every planned disconnect, always resuming after the last event it received.
pub async fn subscribe(
    world: Arc<World>,
    spec: Spec,
    start: String,
    mut rng: fastrand::Rng,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    let mut after = start;
    loop {
        let servers = world.live_servers();
        if servers.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let base = &servers[rng.usize(0..servers.len())];
        // Planned disconnects: after a seeded number of events (never while stopping).
        let budget = if world.stopped() {
            usize::MAX
        } else {
            rng.usize(5..80)
        };
        match session(base, &spec, &after, budget, &seen).await {
            Ok(last) | Err(last) => {
                if let Some(last) = last {
                    after = last;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(5..60))).await;
    }
}

/// One connection. Returns the cursor of the last event received (`Err` when the connection
/// failed rather than being closed on purpose).
async fn session(
    base: &str,
    spec: &Spec,
    after: &str,
    budget: usize,
    seen: &Mutex<Vec<Seen>>,
) -> Result<Option<String>, Option<String>> {
    let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut request = url.into_client_request().map_err(|_| None)?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", spec.protocol.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|_| None)?;
    let payload = match &spec.key {
        Some(key) => json!({ "Authorization": format!("Bearer {key}") }),
        None => json!({}),
    };
    let legacy = spec.protocol == "graphql-ws";
    let send = |v: Value| Message::text(v.to_string());
    socket
        .send(send(json!({ "type": "connection_init", "payload": payload })))
        .await
        .map_err(|_| None)?;
    let start = json!({
        "id": "1",
        "type": if legacy { "start" } else { "subscribe" },
        "payload": { "query": SUBSCRIPTION, "variables": { "f": spec.filter, "a": after } },
    });
    let mut last = None;
    let mut received = 0;
    loop {
        let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(30), socket.next()).await else {
            return Err(last);
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => return Err(last),
            _ => continue,
        };
        let v: Value = serde_json::from_str(&text).map_err(|_| last.clone())?;
        match v["type"].as_str() {
            Some("connection_ack") => socket.send(send(start.clone())).await.map_err(|_| last.clone())?,
            Some("ping") => socket
                .send(send(json!({ "type": "pong" })))
                .await
                .map_err(|_| last.clone())?,
            Some("next" | "data") => {
                let event = &v["payload"]["data"]["events"];
                let Some(cursor) = event["cursor"].as_str() else {
                    panic!("{}: a result without an event: {v}", spec.name);
                };
                seen.lock().unwrap().push(Seen {
                    id: event["id"].as_str().unwrap_or_default().to_owned(),
                    data: event["data"].clone(),
                });
                last = Some(cursor.to_owned());
                received += 1;
                if received >= budget {
                    let _ = socket.close(None).await;
                    return Ok(last);
                }
            }
            Some("error" | "connection_error" | "complete") => return Err(last),
            _ => {}
        }
    }
}

/// Polls `pendingEvents` and acknowledges each batch (the acknowledgement is retried until it
/// lands, so nothing it handled is handed out again), until aborted.
pub async fn poll(
    world: Arc<World>,
    key: String,
    consumer: String,
    mut rng: fastrand::Rng,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    let read = "query($c: String!) { pendingEvents(consumer: $c, first: 50) { id cursor data } }";
    let ack = "mutation($c: String!, $u: String!) { ackEvents(consumer: $c, upTo: $u) }";
    loop {
        let batch = world
            .call(
                rng.u64(..),
                &key,
                read,
                json!({ "c": consumer }),
                Duration::from_secs(10),
            )
            .await;
        let Outcome::Ok(data) = batch else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let events = data["pendingEvents"].as_array().cloned().unwrap_or_default();
        let Some(last) = events.last().map(|e| e["cursor"].clone()) else {
            tokio::time::sleep(Duration::from_millis(rng.u64(10..100))).await;
            continue;
        };
        seen.lock().unwrap().extend(events.iter().map(|e| Seen {
            id: e["id"].as_str().unwrap_or_default().to_owned(),
            data: e["data"].clone(),
        }));
        while !matches!(
            world
                .call_retrying(rng.u64(..), &key, ack, json!({ "c": consumer, "u": last }))
                .await,
            Outcome::Ok(_)
        ) {}
    }
}
