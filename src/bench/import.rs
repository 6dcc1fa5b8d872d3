//! `ttfd bench import`: writes a Telegram bot's user table of N rows as CSV, imports it, and
//! imports it again (which must change nothing), timing both.

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
}

/// The generated users' Telegram ids start here, clear of `bench load`'s.
const FIRST_ID: u64 = 5_000_000_000;

pub async fn run_import(pool: &PgPool, args: ImportBench) -> anyhow::Result<()> {
    let path = std::env::temp_dir().join(format!("ttfd-bench-import-{}.csv", args.rows));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).context("create the bench file")?);
    writeln!(
        out,
        "telegram_id,username,display_name,xp,coins,games_played,games_won,daily_streak,last_daily,created_at"
    )?;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..args.rows {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (xp, played) = (seed % 60_000, seed % 200);
        writeln!(
            out,
            "{},user{i},User {i},{xp},{},{played},{},{},2024-03-01 08:30:00,2023-01-02",
            FIRST_ID + i,
            xp / 10,
            played / 2,
            i % 30
        )?;
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
        source: Source::Telegram,
        policy: XpPolicy::Sum,
        dry_run: false,
        skip_invalid: false,
    };
    for run in ["first import", "same file again"] {
        let started = Instant::now();
        let file = std::fs::File::open(&path)?;
        let parsed = files::read(
            Source::Telegram,
            files::Format::Csv,
            std::io::BufReader::new(file),
            &|_| {},
        )
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
