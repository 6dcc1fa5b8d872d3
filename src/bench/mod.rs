//! `ttfd bench`: the data generator (`load`), the API against its SQL ceiling (`api`), the
//! subscription fan-out (`events`) and the legacy import (`import`). Each starts the server as a child process, so its memory
//! and start-up can be read, unless given the URL of a running one.

mod api;
mod events;
mod import;
mod load;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::domain::Name;
use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};

pub use api::{ApiBench, run_api};
pub use events::{EventsBench, run_events};
pub use import::{ImportBench, run_import};
pub use load::{LoadBench, run_load};

/// Latency histogram in 10 µs buckets up to 10 s.
pub struct Histogram {
    buckets: Vec<AtomicU64>,
}

impl Histogram {
    const BUCKET_US: u64 = 10;

    pub fn new() -> Histogram {
        Histogram {
            buckets: (0..=1_000_000).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn record(&self, d: Duration) {
        let i = (d.as_micros() as u64 / Self::BUCKET_US).min(self.buckets.len() as u64 - 1) as usize;
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The upper bound of the bucket holding the `p` quantile.
    pub fn percentile(&self, p: f64) -> Duration {
        let total = self.count();
        let target = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= target {
                return Duration::from_micros((i as u64 + 1) * Self::BUCKET_US);
            }
        }
        Duration::MAX
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS for {pid}"))
}

/// A server started by the bench.
pub struct Server {
    pub child: tokio::process::Child,
    pub base: String,
    /// From spawning the process to `/readyz` answering 200.
    pub ready_in: Duration,
}

/// The server a bench measures: the running one at `url` (its base, without `/graphql`), or
/// one started here on `database_url` with `env` (returned too: it stops when dropped).
pub async fn server_or(
    url: Option<&str>,
    database_url: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<(String, Option<Server>)> {
    Ok(match url {
        Some(url) => (
            url.trim_end_matches('/').trim_end_matches("/graphql").to_owned(),
            None,
        ),
        None => {
            let server = start_server(database_url, env).await?;
            (server.base.clone(), Some(server))
        }
    })
}

/// Starts `ttfd serve` on `database_url` with extra environment and waits until it is ready.
pub async fn start_server(database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
    let spawned = Instant::now();
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", "127.0.0.1:0", "--event-retention-days", "0"])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn,ttfd::cli=info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start the server")?;
    let mut lines = BufReader::new(child.stderr.take().context("server stderr")?).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow!("the server exited"))?;
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().trim_end_matches("/graphql").to_owned();
        }
    };
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("server: {line}");
        }
    });
    let http = reqwest::Client::new();
    let ready_in = loop {
        if let Ok(res) = http.get(format!("{base}/readyz")).send().await
            && res.status().is_success()
        {
            break spawned.elapsed();
        }
        if spawned.elapsed() > Duration::from_secs(30) {
            bail!("the server was not ready within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    Ok(Server {
        child,
        base,
        ready_in,
    })
}

/// An admin key for the bench's own requests, made in the database; revoked by `revoke_key`.
/// Returns its name, id and secret.
pub async fn bench_key(pool: &PgPool) -> anyhow::Result<(Name, uuid::Uuid, String)> {
    let secret = crate::auth::new_secret().map_err(|e| anyhow!(e.public_message_or_detail()))?;
    let name = Name::parse("name", &format!("bench-{}", uuid::Uuid::now_v7()))
        .map_err(|e| anyhow!(String::from(e)))?;
    let id = crate::db::api_keys::create(
        pool,
        &name,
        crate::domain::access::Role::Admin,
        &crate::auth::hash(&secret),
    )
    .await
    .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    Ok((name, id, secret))
}

pub async fn revoke_key(pool: &PgPool, name: &Name) {
    let _ = crate::db::api_keys::revoke(pool, name).await;
}

pub async fn graphql(http: &reqwest::Client, url: &str, key: &str, query: &str) -> anyhow::Result<Value> {
    let res: Value = http
        .post(url)
        .bearer_auth(key)
        .json(&json!({ "query": query }))
        .send()
        .await?
        .json()
        .await?;
    if res.get("errors").is_some() {
        bail!("GraphQL errors: {res}");
    }
    Ok(res["data"].clone())
}
