//! `ttfd bench events`: how the subscription fan-out holds up. It runs a server as a child
//! process (so its memory can be read), holds N subscriptions over websocket, sends mutations
//! at a fixed rate, and measures the time from each mutation's HTTP response to each delivery.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use sqlx::PgPool;

use super::{Histogram, bench_key, graphql, revoke_key, rss_kib, server_or};

#[derive(Args, Debug, Clone)]
pub struct EventsBench {
    /// A running server to measure (its database must be this one), started with room for the
    /// subscriptions (`TTFD_WS_MAX_SUBSCRIPTIONS`, `TTFD_SUBSCRIPTIONS_PER_KEY`) and no rate
    /// limit; by default the bench starts its own and also reads its memory.
    #[arg(long)]
    pub url: Option<String>,
    /// Subscriptions to hold.
    #[arg(long, default_value_t = 10_000)]
    pub subscriptions: usize,
    /// Subscriptions per websocket connection.
    #[arg(long, default_value_t = 50)]
    pub per_connection: usize,
    /// How many of the subscriptions match the bench's events (the others filter on another
    /// user, as profile pages do); each event is delivered this many times.
    #[arg(long, default_value_t = 100)]
    pub matching: usize,
    /// Mutations (one event each) per second.
    #[arg(long, default_value_t = 100)]
    pub rate: u32,
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
}

type Sent = Arc<Mutex<HashMap<i64, Instant>>>;

/// Whether subscription `i` of `n` is one of the `matching` ones, spread evenly over the
/// connections.
fn spread(i: usize, n: usize, matching: usize) -> bool {
    matching > 0 && i.is_multiple_of(n / matching) && i / (n / matching) < matching
}

/// One connection carrying `filters.len()` subscriptions; every delivery's latency goes into
/// `latency`.
async fn connection(
    ws_url: String,
    key: String,
    filters: Vec<String>,
    sent: Sent,
    latency: Arc<Histogram>,
    ready: tokio::sync::mpsc::Sender<()>,
) -> anyhow::Result<()> {
    let mut request = ws_url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {key}")}});
    socket.send(Message::text(init.to_string())).await?;
    for (i, user_id) in filters.iter().enumerate() {
        let query = format!(
            "subscription {{ events(filter: {{userId: \"{user_id}\", types: [COINS_CHANGE]}}) {{ cursor data }} }}"
        );
        let msg = json!({"type": "subscribe", "id": i.to_string(), "payload": {"query": query}});
        socket.send(Message::text(msg.to_string())).await?;
    }
    let _ = ready.send(()).await;
    while let Some(msg) = socket.next().await {
        let Message::Text(text) = msg? else { continue };
        let arrived = Instant::now();
        if let Some(coins) = coins_of(&text) {
            // A delivery can beat the mutation's own response: that counts as 0.
            let at = sent.lock().expect("sent").get(&coins).copied();
            latency.record(
                at.map(|t| arrived.saturating_duration_since(t))
                    .unwrap_or_default(),
            );
            continue;
        }
        let v: Value = serde_json::from_str(&text)?;
        match v["type"].as_str() {
            Some("ping") => socket.send(Message::text(r#"{"type":"pong"}"#)).await?,
            Some("error") => bail!("subscription error: {v}"),
            _ => {}
        }
    }
    Ok(())
}

/// The balance a `next` message carries (`coins_change` data holds one `"coins"` key, and
/// nothing else in the message does), read without parsing the message: a full parse of
/// 100,000 messages a second made this client, sharing the machine's two cores with the
/// server, the measured tail (every event's last deliveries waited ~10 ms to be parsed).
fn coins_of(text: &str) -> Option<i64> {
    let rest = text[text.find("\"coins\":")? + "\"coins\":".len()..].trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

pub async fn run_events(pool: &PgPool, database_url: &str, args: EventsBench) -> anyhow::Result<()> {
    if args.matching > args.subscriptions || args.per_connection == 0 || args.rate == 0 {
        bail!("need 0 < per-connection, 0 < rate and matching <= subscriptions");
    }
    let (key_name, _, key) = bench_key(pool).await?;
    let result = measure(database_url, &key, args).await;
    revoke_key(pool, &key_name).await;
    result
}

async fn measure(database_url: &str, key: &str, args: EventsBench) -> anyhow::Result<()> {
    let per_connection = args.per_connection.to_string();
    let subscriptions = args.subscriptions.to_string();
    let (base, server) = server_or(
        args.url.as_deref(),
        database_url,
        &[
            ("TTFD_WS_MAX_SUBSCRIPTIONS", per_connection.as_str()),
            ("TTFD_SUBSCRIPTIONS_PER_KEY", subscriptions.as_str()),
            ("TTFD_RATE_LIMIT_PER_KEY", "100000000"),
            ("TTFD_DB_MAX_CONNECTIONS", "32"),
        ],
    )
    .await?;
    let pid = server.as_ref().and_then(|s| s.child.id());
    let rss = |pid: Option<u32>| pid.map(rss_kib).transpose();
    let http = reqwest::Client::new();
    let gql = format!("{base}/graphql");
    let ws_url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));

    let tg = format!("{}", 900_000_000 + std::process::id());
    let user = graphql(
        &http,
        &gql,
        key,
        &format!("mutation {{ upsertUser(input: {{platform: TELEGRAM, externalId: \"{tg}\", username: \"bench\"}}) {{ id coins }} }}"),
    )
    .await?;
    let user_id = user["upsertUser"]["id"].as_str().context("user id")?.to_owned();
    let other = uuid::Uuid::now_v7().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss(pid)?;

    let sent: Sent = Arc::default();
    let latency = Arc::new(Histogram::new());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(1024);
    let filters: Vec<String> = (0..args.subscriptions)
        .map(|i| {
            if spread(i, args.subscriptions, args.matching) {
                user_id.clone()
            } else {
                other.clone()
            }
        })
        .collect();
    let matching = filters.iter().filter(|f| **f == user_id).count();
    let connections = filters.chunks(args.per_connection).count();
    let opened = Instant::now();
    // Connections drop when the server stops at the end; only earlier failures matter.
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for chunk in filters.chunks(args.per_connection) {
        let task = connection(
            ws_url.clone(),
            key.to_owned(),
            chunk.to_vec(),
            sent.clone(),
            latency.clone(),
            ready_tx.clone(),
        );
        let finished = finished.clone();
        tokio::spawn(async move {
            if let Err(e) = task.await
                && !finished.load(Ordering::Relaxed)
            {
                eprintln!("connection failed: {e:#}");
            }
        });
    }
    for _ in 0..connections {
        ready_rx.recv().await.context("a connection failed to open")?;
    }
    // Let the server register every subscription, then read its memory.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_subscribed = rss(pid)?;
    let opened_in = opened.elapsed();

    let total = args.rate as u64 * args.seconds;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    let mutation =
        format!("mutation {{ adjustCoins(user: {{telegramId: \"{tg}\"}}, delta: 1) {{ coins }} }}");
    let started = Instant::now();
    let mut in_flight = Vec::new();
    for _ in 0..total {
        ticker.tick().await;
        let (http, gql, mutation, sent) = (http.clone(), gql.clone(), mutation.clone(), sent.clone());
        let key = key.to_owned();
        in_flight.push(tokio::spawn(async move {
            let data = graphql(&http, &gql, &key, &mutation).await?;
            let coins = data["adjustCoins"]["coins"].as_i64().context("coins")?;
            sent.lock().expect("sent").insert(coins, Instant::now());
            anyhow::Ok(())
        }));
    }
    for f in in_flight {
        f.await??;
    }
    let sending = started.elapsed();
    let expected = total * matching as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while latency.count() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = latency.count();
    finished.store(true, Ordering::Relaxed);

    println!(
        "subscriptions      {} on {} connections ({} per connection), opened in {:.1} s",
        args.subscriptions,
        connections,
        args.per_connection,
        opened_in.as_secs_f64()
    );
    println!("matching           {matching} subscriptions receive every event");
    println!(
        "events             {total} at {:.0}/s ({} mutations in {:.1} s)",
        total as f64 / sending.as_secs_f64(),
        total,
        sending.as_secs_f64()
    );
    println!("deliveries         {received} of {expected} expected");
    println!(
        "delivery latency   p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (from the mutation's response)",
        latency.percentile(0.50).as_secs_f64() * 1e3,
        latency.percentile(0.90).as_secs_f64() * 1e3,
        latency.percentile(0.99).as_secs_f64() * 1e3,
        latency.percentile(1.0).as_secs_f64() * 1e3,
    );
    if let (Some(idle), Some(subscribed)) = (rss_idle, rss_subscribed) {
        println!(
            "server memory      {:.1} MiB idle, {:.1} MiB with the subscriptions: {:.1} KiB per subscription",
            idle as f64 / 1024.0,
            subscribed as f64 / 1024.0,
            (subscribed.saturating_sub(idle)) as f64 / args.subscriptions as f64
        );
    }
    if received < expected {
        bail!("{} deliveries missing", expected - received);
    }
    Ok(())
}
