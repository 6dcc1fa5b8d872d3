//! `ttfd bench import`: writes a Telegram bot's user table (or, with `--seed`, the Python
//! shared module's `unified_users`) of N rows as CSV, imports it, and imports it again (which
//! must change nothing), timing both.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, anyhow};
use clap::Args;
use sqlx::PgPool;

use crate::domain::import::{Source, XpPolicy};
use crate::service::import::{self, Options, files};
use crate::state::{AppState, StateConfig};

#[derive(Args, Debug, Clone)]
pub struct ImportBench {
    /// Rows in the generated file.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Generate the shared module's `unified_users` (all three identities on some rows,
    /// achievements, seasons) and import it as `ttfd import seed` does.
    #[arg(long)]
    pub seed: bool,
}

/// The generated users' Telegram ids start here, clear of `bench load`'s.
const FIRST_ID: u64 = 5_000_000_000;

pub async fn run_import(pool: &PgPool, args: ImportBench) -> anyhow::Result<()> {
    let source = if args.seed { Source::Seed } else { Source::Telegram };
    let path = std::env::temp_dir().join(format!("ttfd-bench-import-{}-{}.csv", source.as_str(), args.rows));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).context("create the bench file")?);
    if args.seed {
        writeln!(
            out,
            "id,telegram_id,discord_id,website_email,username,display_name,xp,coins,games_played,games_won,\
             total_voice_time,messages_sent,achievements,current_season_xp,daily_streak,last_daily,created_at,\
             last_active,primary_platform"
        )?;
    } else {
        writeln!(
            out,
            "telegram_id,username,display_name,xp,coins,games_played,games_won,daily_streak,last_daily,created_at"
        )?;
    }
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..args.rows {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let (xp, played) = (rng % 60_000, rng % 200);
        let id = FIRST_ID + i;
        if args.seed {
            // A third also on Discord, a fifth also on the website; some hold an achievement.
            let discord = if i % 3 == 0 {
                (id + 1_000_000_000).to_string()
            } else {
                String::new()
            };
            let email = if i % 5 == 0 {
                format!("user{i}@example.com")
            } else {
                String::new()
            };
            let achievements = if played > 100 {
                r#""[""first_win""]""#
            } else {
                "[]"
            };
            writeln!(
                out,
                "{},{id},{discord},{email},user{i},User {i},{xp},{},{played},{},{},{},{achievements},{},{},\
                 2024-03-01 08:30:00,2023-01-02,2024-03-02 10:00:00,telegram",
                i + 1,
                xp / 10,
                played / 2,
                rng % 7200,
                rng % 500,
                xp / 4,
                i % 30
            )?;
        } else {
            writeln!(
                out,
                "{id},user{i},User {i},{xp},{},{played},{},{},2024-03-01 08:30:00,2023-01-02",
                xp / 10,
                played / 2,
                i % 30
            )?;
        }
    }
    out.flush()?;
    drop(out);
    let size = std::fs::metadata(&path)?.len();
    println!(
        "file: {} rows, {:.1} MB, {}",
        args.rows,
        size as f64 / 1e6,
        path.display()
    );

    let state = AppState::start(pool.clone(), &StateConfig::default())
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    let options = Options {
        source,
        policy: XpPolicy::Sum,
        dry_run: false,
        skip_invalid: false,
    };
    for run in ["first import", "same file again"] {
        let started = Instant::now();
        let file = std::fs::File::open(&path)?;
        let parsed = files::read(source, files::Format::Csv, std::io::BufReader::new(file), &|_| {})
            .map_err(|e| anyhow!(e))?;
        let read = started.elapsed();
        let report = import::run(&state, parsed, &options, &|_| {})
            .await
            .map_err(|e| anyhow!(e.public_message_or_detail()))?;
        println!(
            "{run:<16} {:.1} s (reading {:.1} s): {} created, {} unchanged, {} rejected",
            started.elapsed().as_secs_f64(),
            read.as_secs_f64(),
            report.created,
            report.unchanged,
            report.rejected.len()
        );
    }
    std::fs::remove_file(&path).ok();
    state.close().await;
    Ok(())
}
