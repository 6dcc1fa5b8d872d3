//! `ttfd keys`: create, list and revoke API keys (against the database; no server needed).

use anyhow::{anyhow, bail};
use clap::Subcommand;
use sqlx::PgPool;

#[derive(Subcommand, Debug)]
pub(super) enum KeysCommand {
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

pub(super) async fn run(pool: &PgPool, command: KeysCommand) -> anyhow::Result<()> {
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
