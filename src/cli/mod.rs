//! The `ttfd` command line: `serve` (the default), `migrate`, `schema`, `config`, `keys`,
//! `season`, `import` and `bench`. This file parses the line, sets up logging and dispatches;
//! each command with more to it than a line lives in its own file, beside `database.rs` (the
//! database every command opens) and `rules.rs` (`--rules`).

#[cfg(feature = "bench")]
mod bench;
mod database;
mod import;
mod keys;
mod rules;
mod season;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[cfg(feature = "bench")]
use bench::BenchCommand;
pub use database::{Database, DbArgs, Statements};
use import::ImportArgs;
use keys::KeysCommand;
pub use rules::RulesArgs;
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

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Lines are written to stderr by a thread of their own, in bursts: a request's task formats
    // its line and queues it instead of making a write(2) per line (`user(ref)` +5 to +11 % in
    // A/Bs, docs/operations.md). Never lossy: a full queue (128,000 lines) makes the logger
    // wait, as stderr itself did. `flushed` writes what is queued when main returns.
    let (stderr, flushed) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("ttfd-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    // Colours only for a terminal: a log file or a pipeline gets plain lines, not escape codes.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(stderr);
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
            Command::Bench { bench, db } => bench::run(bench, &db).await,
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
    // The log's queued lines before the error line.
    drop(flushed);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<import::ImportRejected>() => ExitCode::from(import::ImportRejected::EXIT_STATUS),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
