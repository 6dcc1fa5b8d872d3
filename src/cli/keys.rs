//! `ttfd keys`: create, list and revoke API keys (against the database; no server needed).

use anyhow::{anyhow, bail};
use clap::{Subcommand, ValueEnum};
use sqlx::PgPool;

use crate::domain::access::Role;
use crate::domain::{Name, Platform};

#[derive(Subcommand, Debug)]
pub(super) enum KeysCommand {
    /// Create a key; its secret is printed once, as the last line.
    Create {
        #[arg(long, value_parser = super::name_arg)]
        name: Name,
        #[arg(long, value_enum, ignore_case = true)]
        role: RoleArg,
        /// The platform a bot key acts for.
        #[arg(long, value_enum, ignore_case = true)]
        platform: Option<PlatformArg>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by name; it stops working at once, on open websockets too.
    Revoke {
        #[arg(value_parser = super::name_arg)]
        name: Name,
    },
}

/// The role of a new key (`Role::parse` pairs it with the platform).
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(super) enum RoleArg {
    Bot,
    Website,
    Admin,
}

impl RoleArg {
    fn name(self) -> &'static str {
        match self {
            RoleArg::Bot => "bot",
            RoleArg::Website => "website",
            RoleArg::Admin => "admin",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(super) enum PlatformArg {
    Telegram,
    Discord,
    Website,
}

impl From<PlatformArg> for Platform {
    fn from(p: PlatformArg) -> Platform {
        match p {
            PlatformArg::Telegram => Platform::Telegram,
            PlatformArg::Discord => Platform::Discord,
            PlatformArg::Website => Platform::Website,
        }
    }
}

pub(super) async fn run(pool: &PgPool, command: KeysCommand) -> anyhow::Result<()> {
    use crate::db::api_keys;
    let detail = |e: crate::error::AppError| anyhow!(e.public_message_or_detail());
    match command {
        KeysCommand::Create { name, role, platform } => {
            let platform = platform.map(Platform::from);
            let role = Role::parse(role.name(), platform).map_err(|e| anyhow!(e))?;
            let secret = crate::auth::new_secret().map_err(detail)?;
            api_keys::create(pool, &name, role, &crate::auth::hash(&secret))
                .await
                .map_err(detail)?;
            let platform = role
                .platform()
                .map(|p| format!(", {}", p.as_str()))
                .unwrap_or_default();
            println!(
                "Created API key {} ({}{platform}). Its secret, shown only now:",
                name.as_str(),
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
                bail!("no live key named {}", name.as_str());
            }
            println!("Revoked API key {}.", name.as_str());
        }
    }
    Ok(())
}
