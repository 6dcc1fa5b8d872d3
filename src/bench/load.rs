//! `ttfd bench load`: fills the database with N bench users (Telegram ids from
//! `FIRST_TELEGRAM_ID`, every third also on Discord), with a steep XP spread like a real
//! community's: most users low, a long tail up the ranks, holding the achievements their
//! counters earn. Loading again adds only the missing.

use std::time::Instant;

use anyhow::anyhow;
use clap::Args;
use sqlx::PgPool;

use crate::db::achievements::{Earners, Thresholds, record_earned};

/// Bench user `i` has Telegram id `FIRST_TELEGRAM_ID + i`.
pub const FIRST_TELEGRAM_ID: i64 = 1_000_000_000;

#[derive(Args, Debug, Clone)]
pub struct LoadBench {
    /// Bench users to have in the database.
    #[arg(long, default_value_t = 1_000_000)]
    pub users: i64,
}

/// Rows per statement: each statement is well inside the statement timeout.
const BATCH: i64 = 50_000;

pub async fn run_load(pool: &PgPool, args: LoadBench) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut added = 0u64;
    let mut from = 0;
    while from < args.users {
        let to = (from + BATCH).min(args.users) - 1;
        // Pareto-distributed xp (α = 1.3), as engagement is: the median user has about 70 xp,
        // one in 400 over 10,000, one in 9,000 past S II (110,000), a handful near 2,000,000.
        let done = sqlx::query(
            "INSERT INTO unified_users (id, telegram_id, discord_id, username, display_name, xp, \
                 current_season_xp, coins, rank_id, rewarded_rank_id, games_played, games_won, \
                 total_voice_time, messages_sent, primary_platform, created_at, last_active) \
             SELECT gen_random_uuid(), ($1 + x.i)::text, \
                 CASE WHEN x.i % 3 = 0 THEN (2000000000000 + x.i)::text END, \
                 'bench' || x.i, 'Bench user ' || x.i, x.xp, x.xp / 5, x.xp / 10, r.id, r.id, \
                 x.xp / 40, x.xp / 100, x.xp * 3, x.xp / 2, 'telegram', \
                 now() - interval '1 second' * x.i, now() \
             FROM (SELECT i, least(floor(100 * (power(1 - random(), -1 / 1.3) - 1)), 2000000)::int AS xp \
                   FROM generate_series($2::bigint, $3::bigint) AS i) x, \
                 LATERAL (SELECT max(id) AS id FROM ranks WHERE required_xp <= x.xp) r \
             ON CONFLICT DO NOTHING",
        )
        .bind(FIRST_TELEGRAM_ID)
        .bind(from)
        .bind(to)
        .execute(pool)
        .await?;
        added += done.rows_affected();
        from = to + 1;
        eprint!(
            "\rloading bench users: {from}/{} ({:.0} s)",
            args.users,
            started.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    // What their counters earn is held, as after an import: otherwise every first award to a
    // bench user would unlock something, which real users' awards seldom do.
    let ranks = crate::db::ranks::load(pool)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    let rules = crate::domain::rules::Rules::default();
    // A fresh database has no catalog until a server starts; unlocks name catalog entries.
    crate::db::achievements::sync_catalog(pool, &rules.achievements)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    let catalog = Thresholds::of(&rules.achievements, &ranks);
    let mut tx = pool.begin().await?;
    // Millions of unlocks in one statement: longer than a request may take.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    let unlocks = record_earned(&mut tx, &catalog, Earners::Everyone)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    tx.commit().await?;
    crate::db::scores::compact(pool)
        .await
        .map_err(|e| anyhow!(e.public_message_or_detail()))?;
    // Settle the tables now rather than let autovacuum do it during a measurement.
    let mut conn = pool.acquire().await?;
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    sqlx::query("VACUUM ANALYZE unified_users, user_achievements, score_counts, score_changes")
        .execute(&mut *conn)
        .await?;
    sqlx::query("RESET statement_timeout").execute(&mut *conn).await?;
    println!(
        "bench users: {} wanted, {added} added, {unlocks} earned achievements recorded, in {:.1} s",
        args.users,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// How many bench users the database holds (they are numbered from 0 without gaps).
pub async fn bench_users(pool: &PgPool) -> anyhow::Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unified_users WHERE telegram_id ~ '^1[0-9]{9}$' AND username LIKE 'bench%'",
    )
    .fetch_one(pool)
    .await?;
    Ok(n)
}
