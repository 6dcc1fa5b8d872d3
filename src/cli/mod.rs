//! The `ttfd` command line: `serve` (the default), `migrate`, `schema`, `config`, `keys`,
//! `season`, `import` and `bench`. This file parses the line and opens the database; each
//! command lives in its own file.

mod import;
mod keys;
mod season;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Args, Parser, Subcommand};
use sqlx::ConnectOptions;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tracing_subscriber::EnvFilter;

use crate::db::{
    self,
    owned::{OwnedOptions, OwnedPostgres},
};
use crate::state::StateConfig;
use import::ImportArgs;
use keys::KeysCommand;
use season::SeasonCommand;
pub use serve::ServeArgs;

/// Names on the command line (API keys, seasons) follow the API's rule.
fn name_arg(raw: &str) -> Result<crate::domain::Name, String> {
    crate::domain::Name::parse("name", raw).map_err(String::from)
}

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
    /// Import a platform's existing users into unified accounts (see docs/import.md).
    Import(ImportArgs),
    /// Benchmarks (see docs/operations.md).
    #[cfg(feature = "bench")]
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
        #[command(flatten)]
        db: DbArgs,
    },
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
            process: crate::state::Process::OneShot,
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

#[cfg(feature = "bench")]
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
            Command::Serve(args) => serve::serve(args).await,
            Command::Migrate(args) => {
                let db = Database::open(&args).await?;
                tracing::info!("migrations are current");
                db.close().await;
                Ok(())
            }
            Command::Keys { keys, db } => {
                let database = Database::open(&db).await?;
                let result = keys::run(&database.pool, keys).await;
                database.close().await;
                result
            }
            #[cfg(feature = "bench")]
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
                let result = season::start(&database.pool, &name, &config).await;
                database.close().await;
                result
            }
            Command::Import(args) => import::run(args).await,
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

/// What a command's statements are expected to take: a server's should be quick, so a slow one
/// is news (a warning with its SQL); a bulk command's are long by nature and it logs its own
/// phases with their durations, so its slow statements are logged at debug only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statements {
    Quick,
    Bulk,
}

impl Database {
    pub async fn open(args: &DbArgs) -> anyhow::Result<Database> {
        Database::open_for(args, Statements::Quick).await
    }

    pub async fn open_for(args: &DbArgs, statements: Statements) -> anyhow::Result<Database> {
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
        let options = match statements {
            Statements::Quick => options,
            Statements::Bulk => options.log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1)),
        };
        let ready = async {
            // Migrations run on their own connection, free of the statement timeout; a long one
            // is expected, and logged at info.
            let migrator = db::connect(
                options
                    .clone()
                    .log_slow_statements(log::LevelFilter::Info, Duration::from_secs(1)),
                1,
            )
            .await?;
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
