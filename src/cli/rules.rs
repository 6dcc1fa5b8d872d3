//! `--rules`: the progression rules file every command that changes progress reads.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;

use crate::state::StateConfig;

#[derive(Args, Debug, Clone)]
pub struct RulesArgs {
    /// Progression rules (TOML); every value not in the file keeps its default (`ttfd config`).
    // Global: accepted after a subcommand too (`ttfd season start NAME --rules FILE`).
    #[arg(long, env = "TTFD_RULES", global = true)]
    pub rules: Option<PathBuf>,
}

impl RulesArgs {
    /// The state of a one-shot command: these rules, written to the catalog only when given.
    pub fn state_config(&self) -> anyhow::Result<StateConfig> {
        Ok(StateConfig {
            rules: self.load()?,
            write_catalog: self.rules.is_some(),
            process: crate::state::Process::OneShot,
            ..StateConfig::default()
        })
    }

    pub fn load(&self) -> anyhow::Result<crate::domain::rules::Rules> {
        let Some(path) = &self.rules else {
            return Ok(Default::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        crate::domain::rules::Rules::from_toml(&text)
            .map_err(|e| anyhow!("invalid rules in {}:\n{e}", path.display()))
    }
}
