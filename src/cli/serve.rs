//! `ttfd serve`: the server, with every limit and setting it takes.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use sqlx::postgres::PgConnectOptions;

use super::{Database, DbArgs, RulesArgs};
use crate::db;
use crate::events::RetentionConfig;
use crate::http::ws::WsConfig;
use crate::http::{self, HttpConfig};
use crate::limits::LimitConfig;
use crate::state::{AppState, StateConfig};

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Address to listen on.
    #[arg(long, env = "TTFD_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "TTFD_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
    /// Where the event listener connects (LISTEN does not pass a transaction-pooling proxy such
    /// as PgBouncer); defaults to the main database.
    #[arg(long, env = "TTFD_LISTEN_DATABASE_URL", hide_env_values = true)]
    pub listen_database_url: Option<String>,
    /// Events kept in memory for live subscribers; slower ones catch up from the table.
    #[arg(long, env = "TTFD_EVENT_BUFFER", default_value_t = 4096)]
    pub event_buffer: usize,
    /// How often the event log is read when no doorbell rang, in milliseconds (doorbells
    /// can be lost while a listener reconnects; this bounds the delay then).
    #[arg(long, env = "TTFD_EVENT_POLL_MS", default_value_t = 1000)]
    pub event_poll_ms: u64,
    /// Keep the leaderboards in memory (positions, pages and `around` without SQL); false:
    /// every leaderboard read takes the SQL path.
    #[arg(long, env = "TTFD_BOARDS_IN_MEMORY", default_value_t = true, action = clap::ArgAction::Set)]
    pub boards_in_memory: bool,
    /// Responses of leaderboard top pages kept in memory and served without running again
    /// (0: none).
    #[arg(long, env = "TTFD_CACHED_RESPONSES", default_value_t = 256)]
    pub cached_responses: usize,
    /// Operations (subscriptions) one websocket connection may run at once.
    #[arg(long, env = "TTFD_WS_MAX_SUBSCRIPTIONS", default_value_t = 100)]
    pub ws_max_subscriptions: usize,
    /// Requests and websocket operations per minute for one API key.
    #[arg(long, env = "TTFD_RATE_LIMIT_PER_KEY", default_value_t = 12_000)]
    pub rate_limit_per_key: u32,
    /// Requests and websocket operations per minute for one address without a key.
    #[arg(long, env = "TTFD_RATE_LIMIT_PER_ADDRESS", default_value_t = 1_200)]
    pub rate_limit_per_address: u32,
    /// Subscriptions one API key may hold at once, over all its connections.
    #[arg(long, env = "TTFD_SUBSCRIPTIONS_PER_KEY", default_value_t = 1_000)]
    pub subscriptions_per_key: usize,
    /// Subscriptions the callers without a key at one address may hold at once.
    #[arg(long, env = "TTFD_SUBSCRIPTIONS_PER_ADDRESS", default_value_t = 100)]
    pub subscriptions_per_address: usize,
    /// Websocket connections one address may hold open at once (per process).
    #[arg(long, env = "TTFD_WS_CONNECTIONS_PER_ADDRESS", default_value_t = 50)]
    pub ws_connections_per_address: usize,
    /// A read replica for leaderboard reads (pages and positions); the main database when
    /// absent. Replicas lag a little: a position read there may trail a write by that lag.
    #[arg(long, env = "TTFD_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
    /// Activity events (games, voice, messages, daily claims) older than this many days are
    /// pruned (0 keeps them forever). The ledger and the accounts' history are never pruned.
    #[arg(long, env = "TTFD_EVENT_RETENTION_DAYS", default_value_t = 30)]
    pub event_retention_days: u32,
    /// Results of keyed mutations are kept this many hours: a retry within it gets the first
    /// result, a later one is a new request.
    #[arg(long, env = "TTFD_IDEMPOTENCY_RETENTION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..))]
    pub idempotency_retention_hours: u32,
}

pub(super) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let db = Database::open(&args.db).await?;
    let listen_options = args
        .listen_database_url
        .as_deref()
        .map(|url| {
            url.parse()
                .context("TTFD_LISTEN_DATABASE_URL is not a PostgreSQL URL")
        })
        .transpose()?;
    let rules = args.rules.load()?;
    let read_pool = match &args.read_database_url {
        None => None,
        Some(url) => {
            let timeout = args.db.statement_timeout_ms.to_string();
            let options = url
                .parse::<PgConnectOptions>()
                .context("TTFD_READ_DATABASE_URL is not a PostgreSQL URL")?
                .options([("statement_timeout", timeout.as_str())]);
            Some(
                db::connect(options, args.db.db_max_connections)
                    .await
                    .map_err(|e| anyhow!(e.public_message_or_detail()))?,
            )
        }
    };
    let config = StateConfig {
        rules,
        listen_options,
        read_pool,
        event_buffer: args.event_buffer,
        event_poll_interval: Duration::from_millis(args.event_poll_ms.max(10)),
        retention: Some(RetentionConfig {
            max_age: (args.event_retention_days > 0)
                .then(|| Duration::from_secs(u64::from(args.event_retention_days) * 86_400)),
            idempotency_max_age: Duration::from_secs(u64::from(args.idempotency_retention_hours) * 3600),
            interval: Duration::from_secs(3600),
        }),
        // A server's rules are the catalog.
        write_catalog: true,
        process: crate::state::Process::Server,
        one_call: true,
        boards_in_memory: args.boards_in_memory,
    };
    let app = match AppState::start(db.pool.clone(), &config).await {
        Ok(app) => app,
        Err(e) => {
            db.close().await;
            return Err(anyhow!(e.public_message_or_detail()));
        }
    };
    let (going_down, shutdown) = tokio::sync::watch::channel(false);
    let router = http::router_with_shutdown(
        app.clone(),
        &HttpConfig {
            max_body_bytes: args.max_body_bytes,
            ws: WsConfig {
                max_operations: args.ws_max_subscriptions,
                ..WsConfig::default()
            },
            cached_responses: args.cached_responses,
            limits: LimitConfig {
                per_key_per_minute: args.rate_limit_per_key,
                per_address_per_minute: args.rate_limit_per_address,
                subscriptions_per_key: args.subscriptions_per_key,
                subscriptions_per_address: args.subscriptions_per_address,
                connections_per_address: args.ws_connections_per_address,
            },
        },
        shutdown,
    );
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            app.close().await;
            db.close().await;
            return Err(anyhow!("cannot listen on {}: {e}", args.listen));
        }
    };
    tracing::info!("listening on http://{}/graphql", listener.local_addr()?);
    // Without TCP_NODELAY a small websocket frame written while an earlier one is unacknowledged
    // waits for the client's delayed ACK (up to 40 ms): measured, 1 % of deliveries of a busy
    // subscription came 10-40 ms late, and a quiet one's p99 was 41 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    // On SIGTERM/SIGINT: stop accepting, finish in-flight requests, close websockets with
    // 1001, then close the pool and stop the owned PostgreSQL last.
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests, closing websockets");
        let _ = going_down.send(true);
    })
    .await;
    tracing::info!("shutting down");
    app.close().await;
    db.close().await;
    served.context("server error")
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
