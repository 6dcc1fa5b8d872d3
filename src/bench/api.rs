//! `ttfd bench api`: throughput and latency of the hot operations through HTTP and GraphQL,
//! each beside its ceiling: the same SQL, run by the same code below the GraphQL layer
//! (`db` and `service`), straight against the database with the same concurrency.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use sqlx::PgPool;

use super::load::{FIRST_TELEGRAM_ID, bench_users};
use super::{Histogram, bench_key, ms, revoke_key, rss_kib, server_or};
use crate::db::api_keys::ApiKey;
use crate::db::leaderboard::{self, Board, Start};
use crate::domain::access::Role;
use crate::domain::cursor::LeaderboardCursor;
use crate::domain::{ExternalId, Platform, UserKey};
use crate::service::Actor;
use crate::service::activity::Kind;
use crate::state::{AppState, StateConfig};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// `leaderboard(first: 10)` with positions, names and rank badges.
    Leaderboard,
    /// `user(ref: {telegramId})` with xp, rank and position, for random users.
    User,
    /// `awardXp` of 5 to random users.
    Award,
    /// `recordMessage` for random users.
    Message,
    /// `User.position` of the user in last place, one client.
    Position,
    /// `leaderboard(first: 10, after:)` from the 50,000th entry.
    Deep,
    /// `leaderboard(first: 10, around:)` random users.
    Around,
}

/// How deep the `deep` operation's page starts.
const DEEP: i64 = 50_000;

/// The fixed targets of some operations.
struct Targets {
    /// The Telegram id of the user in last place.
    last: String,
    /// The entry `DEEP` places down the all-time board.
    deep: LeaderboardCursor,
}

#[derive(Args, Debug, Clone)]
pub struct ApiBench {
    /// A running server to measure (its database must be this one). By default the bench
    /// starts its own and also reads its start-up time and memory.
    #[arg(long)]
    pub url: Option<String>,
    /// Concurrent clients (HTTP) and concurrent tasks (SQL ceiling).
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Measured seconds per operation and path, after a one-second warm-up.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Connection pool of the started server and of the SQL ceiling.
    #[arg(long, default_value_t = 20)]
    pub connections: u32,
    /// Operations to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "leaderboard,user,award,message,position,deep,around"
    )]
    pub ops: Vec<Op>,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Leaderboard => "leaderboard(first: 10)",
            Op::User => "user(ref) with rank, position",
            Op::Award => "awardXp",
            Op::Message => "recordMessage",
            Op::Position => "User.position, last of all",
            Op::Deep => "leaderboard 50,000 deep",
            Op::Around => "leaderboard(around:)",
        }
    }

    fn query(self) -> &'static str {
        match self {
            Op::Leaderboard => {
                "{ leaderboard(first: 10) { nodes { position xp user { displayName rank { name color } } } } }"
            }
            Op::User | Op::Position => {
                "query($t: String!) { user(ref: {telegramId: $t}) { displayName xp rank { name } position } }"
            }
            Op::Award => "mutation($t: String!) { awardXp(user: {telegramId: $t}, delta: 5) { xp rankUp } }",
            Op::Message => "mutation($t: String!) { recordMessage(user: {telegramId: $t}) { delta xp } }",
            Op::Deep => {
                "query($t: String!) { leaderboard(first: 10, after: $t) { nodes { position xp user { displayName } } } }"
            }
            Op::Around => {
                "query($t: String!) { leaderboard(first: 10, around: {telegramId: $t}) { nodes { position xp user { displayName } } } }"
            }
        }
    }

    fn clients(self, clients: usize) -> usize {
        if self == Op::Position { 1 } else { clients }
    }
}

/// What one run of an operation measured.
struct Run {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// A small xorshift: which user each request addresses (no need for a crypto RNG).
struct Pick(u64);

impl Pick {
    fn next(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as i64
    }
}

/// Runs `clients` loops of `call` for a warm-up second, then for `seconds`, recording each
/// call's latency. `call` gets a random user number below `users` and says whether the call
/// succeeded.
async fn drive<F, Fut>(clients: usize, seconds: u64, users: i64, call: F) -> Run
where
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let latency = Arc::new(Histogram::new());
    let errors = Arc::new(AtomicU64::new(0));
    let warm_until = Instant::now() + Duration::from_secs(1);
    let measure_until = warm_until + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (call, latency, errors) = (call.clone(), latency.clone(), errors.clone());
            tokio::spawn(async move {
                let mut pick = Pick(0x9E37_79B9_7F4A_7C15 ^ ((c as u64 + 1) * 7919));
                loop {
                    let started = Instant::now();
                    if started >= measure_until {
                        break;
                    }
                    let ok = call(pick.next(users)).await;
                    if started >= warm_until {
                        latency.record(started.elapsed());
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let latency = Arc::try_unwrap(latency).unwrap_or_default();
    Run {
        requests: latency.count(),
        errors: errors.load(Ordering::Relaxed),
        elapsed: Duration::from_secs(seconds),
        latency,
    }
}

fn telegram_id(i: i64) -> String {
    (FIRST_TELEGRAM_ID + i).to_string()
}

async fn over_http(op: Op, url: &str, key: &str, users: i64, targets: &Targets, args: &ApiBench) -> Run {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()
        .expect("HTTP client");
    let (url, auth) = (format!("{url}/graphql"), format!("Bearer {key}"));
    let (last, deep) = (targets.last.clone(), targets.deep.encode(Board::AllTime.name()));
    let query = serde_json::to_string(op.query()).expect("a JSON string");
    drive(op.clients(args.clients), args.seconds, users, move |i| {
        let user = match op {
            Op::Position => last.clone(),
            Op::Deep => deep.clone(),
            _ => telegram_id(i),
        };
        let body = format!(r#"{{"query":{query},"variables":{{"t":"{user}"}}}}"#);
        let request = http
            .post(&url)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body)
            .send();
        async move {
            match request.await {
                Ok(res) if res.status().is_success() => res
                    .bytes()
                    .await
                    .is_ok_and(|b| !b.windows(9).any(|w| w == b"\"errors\":")),
                _ => false,
            }
        }
    })
    .await
}

async fn over_sql(
    op: Op,
    state: &AppState,
    actor: &Actor,
    users: i64,
    targets: &Targets,
    args: &ApiBench,
) -> Run {
    let (state, actor, last, deep) = (state.clone(), actor.clone(), targets.last.clone(), targets.deep);
    drive(op.clients(args.clients), args.seconds, users, move |i| {
        let (state, actor) = (state.clone(), actor.clone());
        let user = match op {
            Op::Position => last.clone(),
            _ => telegram_id(i),
        };
        async move {
            let Ok(id) = ExternalId::parse(Platform::Telegram, &user) else {
                return false;
            };
            let key = UserKey::External(id);
            let pool = &state.pool;
            match op {
                Op::Leaderboard => leaderboard::page(pool, Board::AllTime, Start::Top, 11)
                    .await
                    .is_ok(),
                Op::Deep => leaderboard::page(pool, Board::AllTime, Start::After(deep), 11)
                    .await
                    .is_ok(),
                Op::Around => {
                    let Ok(Some(user)) = crate::db::users::find(pool, &key).await else {
                        return false;
                    };
                    match leaderboard::start_before(pool, Board::AllTime, &user, 5).await {
                        Ok(start) => leaderboard::page(pool, Board::AllTime, start, 11).await.is_ok(),
                        Err(_) => false,
                    }
                }
                Op::User | Op::Position => matches!(
                    crate::db::users::find_with_position(pool, &key).await,
                    Ok(Some(_))
                ),
                Op::Award => crate::service::progress::award_xp(
                    &state,
                    &actor,
                    &crate::service::progress::DeltaRequest {
                        key,
                        delta: 5,
                        reason: None,
                        idempotency_key: None,
                    },
                )
                .await
                .is_ok(),
                Op::Message => {
                    crate::service::activity::record(&state, &actor, &key, Kind::Message, None, None)
                        .await
                        .is_ok()
                }
            }
        }
    })
    .await
}

fn row(op: &str, path: &str, clients: usize, run: &Run, ratio: Option<f64>) {
    println!(
        "{op:<30} {path:<8} {clients:>7} {:>10.0} {:>8.2} {:>8.2} {:>8} {:>7}",
        run.per_second(),
        ms(run.latency.percentile(0.50)),
        ms(run.latency.percentile(0.99)),
        run.errors,
        ratio.map(|r| format!("{:.0} %", r * 100.0)).unwrap_or_default(),
    );
}

pub async fn run_api(pool: &PgPool, database_url: &str, args: ApiBench) -> anyhow::Result<()> {
    let users = bench_users(pool).await?;
    if users == 0 {
        bail!("no bench users: run `ttfd bench load` first");
    }
    let (key_name, key_id, key) = bench_key(pool).await?;
    let result = measure(pool, database_url, &key, key_id, users, &args).await;
    revoke_key(pool, &key_name).await;
    result
}

async fn measure(
    pool: &PgPool,
    database_url: &str,
    key: &str,
    key_id: uuid::Uuid,
    users: i64,
    args: &ApiBench,
) -> anyhow::Result<()> {
    // The user in last place: least xp, and last among those in the board's order.
    let last: String =
        sqlx::query_scalar("SELECT telegram_id FROM unified_users ORDER BY xp, id DESC LIMIT 1")
            .fetch_one(pool)
            .await
            .context("the last user")?;
    let (score, id): (i32, uuid::Uuid) =
        sqlx::query_as("SELECT xp, id FROM unified_users ORDER BY xp DESC, id OFFSET $1 LIMIT 1")
            .bind(DEEP.min(users - 1))
            .fetch_one(pool)
            .await
            .context("the deep entry")?;
    let targets = Targets {
        last,
        deep: LeaderboardCursor { score, id },
    };
    let connections = args.connections.to_string();
    let (url, server) = server_or(
        args.url.as_deref(),
        database_url,
        &[
            ("TTFD_DB_MAX_CONNECTIONS", connections.as_str()),
            ("TTFD_RATE_LIMIT_PER_KEY", "1000000000"),
        ],
    )
    .await?;
    let pid = server.as_ref().and_then(|s| s.child.id());
    let idle_rss = pid.map(rss_kib).transpose()?;

    // The ceiling runs the service layer in this process, on a pool of the server's size.
    let ceiling_pool = crate::db::connect((*pool.connect_options()).clone(), args.connections)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    // The ceiling is the SQL path: no boards in memory here. Nor any background work: an event
    // hub and a score compactor here would load the database the measured server runs on.
    let config = StateConfig {
        boards_in_memory: false,
        process: crate::state::Process::OneShot,
        ..StateConfig::default()
    };
    let state = AppState::start(ceiling_pool, &config)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    let actor = Actor {
        key: Some(ApiKey {
            id: key_id,
            name: "bench".into(),
            role: Role::Admin,
        }),
    };

    println!(
        "{users} users; {} clients; {} s per run; pool of {} connections; {} cores",
        args.clients,
        args.seconds,
        args.connections,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<30} {:<8} {:>7} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "operation", "path", "clients", "req/s", "p50 ms", "p99 ms", "errors", "of SQL"
    );
    for op in &args.ops {
        let clients = op.clients(args.clients);
        let sql = over_sql(*op, &state, &actor, users, &targets, args).await;
        let http = over_http(*op, &url, key, users, &targets, args).await;
        row(
            op.label(),
            "graphql",
            clients,
            &http,
            Some(http.per_second() / sql.per_second()),
        );
        row("", "sql", clients, &sql, None);
    }
    if let (Some(server), Some(pid), Some(idle)) = (&server, pid, idle_rss) {
        println!(
            "server: ready {:.0} ms after start; memory {:.1} MiB idle, {:.1} MiB after the runs",
            ms(server.ready_in),
            idle as f64 / 1024.0,
            rss_kib(pid)? as f64 / 1024.0
        );
    }
    state.close().await;
    Ok(())
}
