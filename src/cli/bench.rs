//! `ttfd bench`: the benchmarks (built with the default `bench` feature; see docs/operations.md).

use clap::Subcommand;

use super::{Database, DbArgs, Statements};

#[derive(Subcommand, Debug)]
pub(super) enum BenchCommand {
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

pub(super) async fn run(bench: BenchCommand, db: &DbArgs) -> anyhow::Result<()> {
    // Loading users and importing a million rows are bulk work: their long statements are
    // expected (the import logs its phases), not news.
    let statements = match bench {
        BenchCommand::Load(_) | BenchCommand::Import(_) => Statements::Bulk,
        BenchCommand::Events(_) | BenchCommand::Api(_) => Statements::Quick,
    };
    let database = Database::open_for(db, statements).await?;
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
