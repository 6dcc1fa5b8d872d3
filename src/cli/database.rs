//! The database every command opens: `DATABASE_URL`, or the PostgreSQL ttfd runs itself;
//! migrated, with the statement timeout and pool size of `DbArgs`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use sqlx::ConnectOptions;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::db::{
    self,
    owned::{OwnedOptions, OwnedPostgres},
};

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
