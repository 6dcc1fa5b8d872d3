//! `ttfd import`: a platform's existing users into unified accounts.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Args;

use super::{Database, DbArgs, RulesArgs};
use crate::state::AppState;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(super) enum ImportSource {
    Telegram,
    Discord,
    Website,
    /// A MEE6 leaderboard export (JSON), as Discord users.
    Mee6,
    /// The Python shared module's database (`--from postgres://...`) or an export of its
    /// `unified_users` (CSV or JSON Lines).
    Seed,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(super) enum XpMerge {
    /// Add the record's XP to the account's: each platform's activity counts.
    Sum,
    /// Keep the larger: for a platform that mirrored another's XP.
    Max,
}

#[derive(Args, Debug)]
pub(super) struct ImportArgs {
    #[arg(value_enum)]
    source: ImportSource,
    /// CSV with a header row, JSON Lines, or (mee6) the export's JSON.
    #[arg(required_unless_present = "from")]
    file: Option<PathBuf>,
    /// seed only: the shared module's PostgreSQL, read in one read-only snapshot (its users
    /// and its events).
    #[arg(long = "from", conflicts_with = "file")]
    from: Option<String>,
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

/// An import stopped by bad rows, having written nothing (its message is printed already):
/// exit status 2.
#[derive(Debug)]
pub(super) struct ImportRejected;

impl ImportRejected {
    pub(super) const EXIT_STATUS: u8 = 2;
}

impl std::fmt::Display for ImportRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nothing was imported")
    }
}

impl std::error::Error for ImportRejected {}

pub(super) async fn run(args: ImportArgs) -> anyhow::Result<()> {
    use crate::domain::import::{Source, XpPolicy};
    use crate::service::import::{self, files};
    let source = match args.source {
        ImportSource::Telegram => Source::Telegram,
        ImportSource::Discord => Source::Discord,
        ImportSource::Website => Source::Website,
        ImportSource::Mee6 => Source::Mee6,
        ImportSource::Seed => Source::Seed,
    };
    let config = args.rules.state_config()?;
    // Drawn only on a terminal.
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{msg:24} [{bar:40}] {bytes}/{total_bytes} {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message("reading");
    let parsed = match (&args.file, &args.from) {
        (_, Some(url)) if source == Source::Seed => read_seed_database(url).await?,
        (_, Some(_)) => bail!("--from reads the shared module's database: it goes with `ttfd import seed`"),
        (Some(path), None) => {
            let format =
                files::Format::choose(source, args.format.as_deref(), path).map_err(|e| anyhow!(e))?;
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            bar.set_length(file.metadata().map(|m| m.len()).unwrap_or(0));
            files::read(source, format, std::io::BufReader::new(file), &|bytes| {
                bar.set_position(bytes)
            })
            .map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
        (None, None) => bail!("name the file to import"),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));

    // Its bulk statements are long by nature: it logs its phases and their durations instead.
    let database = Database::open_for(&args.db, super::Statements::Bulk).await?;
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
    print_import_report(&report, source, args.from.is_some(), args.dry_run);
    if !report.written && !report.rejected.is_empty() && !args.skip_invalid && !args.dry_run {
        eprintln!(
            "error: nothing was imported: {} row(s) rejected. Fix them, or pass --skip-invalid to import the rest.",
            report.rejected.len()
        );
        return Err(ImportRejected.into());
    }
    Ok(())
}

/// The seed's database, read-only, in one snapshot.
async fn read_seed_database(url: &str) -> anyhow::Result<crate::service::import::files::Parsed> {
    use sqlx::Connection;
    let options: sqlx::postgres::PgConnectOptions = url.parse().context("--from is not a PostgreSQL URL")?;
    let mut source = sqlx::PgConnection::connect_with(&options)
        .await
        .context("cannot reach the shared module's database")?;
    let parsed = crate::service::import::seed::read_database(&mut source)
        .await
        .map_err(|e| {
            anyhow!(
                "reading the shared module's database: {}",
                e.public_message_or_detail()
            )
        });
    let _ = source.close().await;
    parsed
}

fn print_import_report(
    report: &crate::service::import::Report,
    source: crate::domain::import::Source,
    from_database: bool,
    dry_run: bool,
) {
    let unit = match source {
        crate::domain::import::Source::Mee6 => "player",
        _ if from_database => "id",
        _ => "line",
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
    if report.history + report.history_skipped > 0 {
        println!(
            "{} events brought over as history, {} skipped (their user was not imported, or not an event type this service knows)",
            report.history, report.history_skipped
        );
    }
}
