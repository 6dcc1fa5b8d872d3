//! The `ttfd` command line: `serve` (the default), `migrate`, `schema`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tracing_subscriber::EnvFilter;

use crate::db::{
    self,
    owned::{OwnedOptions, OwnedPostgres},
};
use crate::events::RetentionConfig;
use crate::http::ws::WsConfig;
use crate::http::{self, HttpConfig};
use crate::limits::LimitConfig;
use crate::state::{AppState, StateConfig};

#[derive(Parser, Debug)]
#[command(name = "ttfd", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log format: text for people, json for log pipelines.
    #[arg(long, env = "TTFD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the GraphQL server (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate(DbArgs),
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Print the effective progression rules (defaults merged with --rules), after checking them.
    Config(RulesArgs),
    /// Seasons.
    Season {
        #[command(subcommand)]
        season: SeasonCommand,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        rules: RulesArgs,
    },
    /// Manage API keys (works against the database; no server needed).
    Keys {
        #[command(subcommand)]
        keys: KeysCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import a platform's existing users into unified accounts (see README, Legacy import).
    Import(ImportArgs),
    /// Benchmarks (see README).
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
enum SeasonCommand {
    /// End the current season (its final standings are kept) and start a new one.
    Start { name: String },
}

#[derive(Args, Debug, Clone)]
pub struct RulesArgs {
    /// Progression rules (TOML); every value not in the file keeps its default (`ttfd config`).
    // Global: accepted after a subcommand too (`ttfd season start NAME --rules FILE`).
    #[arg(long, env = "TTFD_RULES", global = true)]
    pub rules: Option<PathBuf>,
}

impl RulesArgs {
    /// The state of a one-shot command: these rules, written to the catalog only when given.
    pub fn state_config(&self) -> anyhow::Result<StateConfig> {
        Ok(StateConfig {
            rules: self.load()?,
            write_catalog: self.rules.is_some(),
            ..StateConfig::default()
        })
    }

    pub fn load(&self) -> anyhow::Result<crate::domain::rules::Rules> {
        let Some(path) = &self.rules else {
            return Ok(Default::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        crate::domain::rules::Rules::from_toml(&text)
            .map_err(|e| anyhow!("invalid rules in {}:\n{e}", path.display()))
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ImportSource {
    Telegram,
    Discord,
    Website,
    /// A MEE6 leaderboard export (JSON), as Discord users.
    Mee6,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum XpMerge {
    /// Add the record's XP to the account's: each platform's activity counts.
    Sum,
    /// Keep the larger: for a platform that mirrored another's XP.
    Max,
}

#[derive(Args, Debug)]
struct ImportArgs {
    #[arg(value_enum)]
    source: ImportSource,
    /// CSV with a header row, JSON Lines, or (mee6) the export's JSON.
    file: PathBuf,
    /// csv or jsonl; by default from the file's extension.
    #[arg(long)]
    format: Option<String>,
    /// Report what would happen and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Import the valid rows even when some are rejected (they are listed).
    #[arg(long)]
    skip_invalid: bool,
    /// How a record's XP meets an existing account's.
    #[arg(long, value_enum, default_value_t = XpMerge::Sum)]
    xp: XpMerge,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    rules: RulesArgs,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a key; its secret is printed once, as the last line.
    Create {
        #[arg(long)]
        name: String,
        /// bot, website or admin.
        #[arg(long)]
        role: String,
        /// The platform a bot key acts for: telegram, discord or website.
        #[arg(long)]
        platform: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by name; it stops working at once, on open websockets too.
    Revoke { name: String },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Subscription fan-out: N subscriptions, mutations at a fixed rate, delivery latency and
    /// server memory per subscription.
    Events(crate::bench::EventsBench),
    /// Fill the database with bench users (default 1,000,000) for `bench api`.
    Load(crate::bench::LoadBench),
    /// The hot operations through HTTP and GraphQL, each beside the same SQL run directly.
    Api(crate::bench::ApiBench),
    /// A generated Telegram user table (default 1,000,000 rows) through `ttfd import`, twice.
    Import(crate::bench::ImportBench),
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// PostgreSQL to use. When absent, ttfd runs its own PostgreSQL from the installed server
    /// binaries, in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Data directory of the owned PostgreSQL (used without DATABASE_URL).
    #[arg(long, env = "TTFD_DATA_DIR", default_value = ".ttfd/postgres", global = true)]
    pub data_dir: PathBuf,
    /// Longest a single SQL statement may run, in milliseconds (0: no limit).
    #[arg(
        long,
        env = "TTFD_STATEMENT_TIMEOUT_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub statement_timeout_ms: u64,
    /// Size of the connection pool.
    #[arg(long, env = "TTFD_DB_MAX_CONNECTIONS", default_value_t = 20, global = true)]
    pub db_max_connections: u32,
}

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

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
    }
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    match &command {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Command::Config(rules) => {
            return match rules.load() {
                Ok(rules) => {
                    print!("{}", rules.to_toml());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve(args) => serve(args).await,
            Command::Migrate(args) => {
                let db = Database::open(&args).await?;
                tracing::info!("migrations are current");
                db.close().await;
                Ok(())
            }
            Command::Keys { keys, db } => {
                let database = Database::open(&db).await?;
                let result = run_keys(&database.pool, keys).await;
                database.close().await;
                result
            }
            Command::Bench { bench, db } => {
                let database = Database::open(&db).await?;
                let (pool, url) = (&database.pool, database.url.as_str());
                let result = match bench {
                    BenchCommand::Events(args) => crate::bench::run_events(pool, url, args).await,
                    BenchCommand::Load(args) => crate::bench::run_load(pool, args).await,
                    BenchCommand::Api(args) => crate::bench::run_api(pool, url, args).await,
                    BenchCommand::Import(args) => crate::bench::run_import(pool, args).await,
                };
                database.close().await;
                result
            }
            Command::Season {
                season: SeasonCommand::Start { name },
                db,
                rules,
            } => {
                let config = rules.state_config()?;
                let database = Database::open(&db).await?;
                let result = start_season(&database.pool, &name, &config).await;
                database.close().await;
                result
            }
            Command::Import(args) => run_import(args).await,
            Command::Schema | Command::Config(_) => unreachable!("handled above"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A migrated database, and the PostgreSQL we run for it when there is no `DATABASE_URL`.
pub struct Database {
    pub pool: PgPool,
    /// How another process reaches the same database.
    pub url: String,
    owned: Option<OwnedPostgres>,
}

impl Database {
    pub async fn open(args: &DbArgs) -> anyhow::Result<Database> {
        let (options, url, owned) = match &args.database_url {
            Some(url) => {
                let options = url
                    .parse::<PgConnectOptions>()
                    .context("DATABASE_URL is not a PostgreSQL URL")?;
                (options, url.clone(), None)
            }
            None => {
                let pg = OwnedPostgres::start(&OwnedOptions {
                    data_dir: args.data_dir.clone(),
                    max_connections: 100,
                    ephemeral: false,
                })
                .await
                .map_err(|e| anyhow!(e))?;
                pg.ensure_database("ttfd").await.map_err(|e| anyhow!(e))?;
                let url = pg.url("ttfd");
                tracing::info!(%url, "owned PostgreSQL is ready");
                (pg.connect_options("ttfd"), url, Some(pg))
            }
        };
        let ready = async {
            // Migrations run on their own connection, free of the statement timeout.
            let migrator = db::connect(options.clone(), 1).await?;
            let migrated = db::migrate(&migrator).await;
            migrator.close().await;
            migrated?;
            let timeout = args.statement_timeout_ms.to_string();
            let options = options.options([("statement_timeout", timeout.as_str())]);
            db::connect(options, args.db_max_connections).await
        };
        let pool = match ready.await {
            Ok(pool) => pool,
            Err(e) => {
                if let Some(pg) = &owned {
                    pg.stop().await;
                }
                return Err(anyhow!(e.public_message_or_detail()));
            }
        };
        Ok(Database { pool, url, owned })
    }

    /// Closes the pool, then stops the owned PostgreSQL: the database goes last.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(pg) = self.owned {
            pg.stop().await;
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
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

async fn run_keys(pool: &PgPool, command: KeysCommand) -> anyhow::Result<()> {
    use crate::db::api_keys;
    use crate::domain::Platform;
    use crate::domain::access::Role;
    let detail = |e: crate::error::AppError| anyhow!(e.public_message_or_detail());
    match command {
        KeysCommand::Create { name, role, platform } => {
            let platform = platform
                .map(|p| Platform::parse(&p.to_lowercase()).ok_or_else(|| anyhow!("unknown platform {p}")))
                .transpose()?;
            let role = Role::parse(&role.to_lowercase(), platform).map_err(|e| anyhow!(e))?;
            let secret = crate::auth::new_secret().map_err(detail)?;
            api_keys::create(pool, &name, role, &crate::auth::hash(&secret))
                .await
                .map_err(detail)?;
            let platform = role
                .platform()
                .map(|p| format!(", {}", p.as_str()))
                .unwrap_or_default();
            println!(
                "Created API key {name} ({}{platform}). Its secret, shown only now:",
                role.name()
            );
            println!("{secret}");
        }
        KeysCommand::List => {
            println!(
                "{:<32} {:<8} {:<9} {:<25} revoked",
                "name", "role", "platform", "created"
            );
            for k in api_keys::list(pool).await.map_err(detail)? {
                println!(
                    "{:<32} {:<8} {:<9} {:<25} {}",
                    k.name,
                    k.role,
                    k.platform.unwrap_or_default(),
                    k.created_at.to_rfc3339(),
                    k.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
                );
            }
        }
        KeysCommand::Revoke { name } => {
            if !api_keys::revoke(pool, &name).await.map_err(detail)? {
                bail!("no live key named {name}");
            }
            println!("Revoked API key {name}.");
        }
    }
    Ok(())
}

/// Exit status of an import stopped by bad rows (nothing written).
const IMPORT_REJECTED: u8 = 2;

async fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    use crate::domain::import::{Source, XpPolicy};
    use crate::service::import::{self, files};
    let source = match args.source {
        ImportSource::Telegram => Source::Telegram,
        ImportSource::Discord => Source::Discord,
        ImportSource::Website => Source::Website,
        ImportSource::Mee6 => Source::Mee6,
    };
    let format = files::Format::choose(source, args.format.as_deref(), &args.file).map_err(|e| anyhow!(e))?;
    let config = args.rules.state_config()?;
    let file =
        std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // Drawn only on a terminal.
    let bar = indicatif::ProgressBar::new(size).with_style(
        indicatif::ProgressStyle::with_template("{msg:24} [{bar:40}] {bytes}/{total_bytes} {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message("reading");
    let parsed = files::read(source, format, std::io::BufReader::new(file), &|bytes| {
        bar.set_position(bytes)
    })
    .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));

    let database = Database::open(&args.db).await?;
    let result = async {
        let state = AppState::start(database.pool.clone(), &config)
            .await
            .map_err(|e| anyhow!(e.public_message_or_detail()))?;
        let options = import::Options {
            source,
            policy: match args.xp {
                XpMerge::Sum => XpPolicy::Sum,
                XpMerge::Max => XpPolicy::Max,
            },
            dry_run: args.dry_run,
            skip_invalid: args.skip_invalid,
        };
        let report = import::run(&state, parsed, &options, &|phase| {
            bar.set_message(phase.to_owned())
        })
        .await;
        state.close().await;
        report.map_err(|e| anyhow!(e.public_message_or_detail()))
    }
    .await;
    bar.finish_and_clear();
    database.close().await;
    let report = result?;
    print_import_report(&report, source, args.dry_run);
    if !report.written && !report.rejected.is_empty() && !args.skip_invalid && !args.dry_run {
        eprintln!(
            "error: nothing was imported: {} row(s) rejected. Fix them, or pass --skip-invalid to import the rest.",
            report.rejected.len()
        );
        std::process::exit(i32::from(IMPORT_REJECTED));
    }
    Ok(())
}

fn print_import_report(
    report: &crate::service::import::Report,
    source: crate::domain::import::Source,
    dry_run: bool,
) {
    let unit = if source == crate::domain::import::Source::Mee6 {
        "player"
    } else {
        "line"
    };
    if !report.unknown_columns.is_empty() {
        println!(
            "unknown columns (not imported): {}",
            report.unknown_columns.join(", ")
        );
    }
    const SHOWN: usize = 1000;
    for r in report.rejected.iter().take(SHOWN) {
        println!("rejected {unit} {}: {}", r.line, r.reason);
    }
    if report.rejected.len() > SHOWN {
        println!("... and {} more rejected rows", report.rejected.len() - SHOWN);
    }
    let verb = if report.written {
        "imported"
    } else if dry_run {
        "dry run, nothing written"
    } else {
        "nothing written"
    };
    println!(
        "{} rows: {} created, {} updated, {} linked, {} merged, {} unchanged, {} rejected ({verb})",
        report.rows,
        report.created,
        report.updated,
        report.linked,
        report.merged,
        report.unchanged,
        report.rejected.len()
    );
}

async fn start_season(pool: &PgPool, name: &str, config: &StateConfig) -> anyhow::Result<()> {
    let state = AppState::start(pool.clone(), config)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    let started = crate::service::seasons::start(&state, &crate::service::Actor::default(), name, None)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    // This process exits now: ring the servers' doorbell before it does.
    crate::db::events::ring(pool, crate::events::CHANNEL, "cli")
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    state.close().await;
    println!("Started season {} ({}).", started.name, started.id);
    Ok(())
}
