//! `ttfd season start`: ends the current season and starts a new one.

use anyhow::anyhow;
use clap::Subcommand;
use sqlx::PgPool;

use crate::domain::Name;
use crate::state::{AppState, StateConfig};

#[derive(Subcommand, Debug)]
pub(super) enum SeasonCommand {
    /// End the current season (its final standings are kept) and start a new one.
    Start {
        #[arg(value_parser = super::name_arg)]
        name: Name,
    },
}

pub(super) async fn start(pool: &PgPool, name: &Name, config: &StateConfig) -> anyhow::Result<()> {
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
