//! `scaleguard` / `scaleguard tui`: the operations console for a profile.

use super::{exit, Cli};
use crate::config::{ConfigError, ConfigFile};
use crate::tui::{self, Session};
use anyhow::Context;
use clap::Args;
use std::io::IsTerminal;

#[derive(Debug, Clone, Default, Args)]
pub struct TuiArgs {
    /// Look, never touch: hide and refuse every key and command that changes anything
    #[arg(long)]
    pub read_only: bool,
}

/// The console needs a terminal on both ends; scripts want `plan` instead.
pub fn require_terminal() -> anyhow::Result<()> {
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        anyhow::bail!("the console needs an interactive terminal; for scripts use `scaleguard plan`")
    }
}

/// A console session for one profile of the config file.
fn session(config: &ConfigFile, name: Option<&str>, read_only: bool) -> anyhow::Result<Session> {
    let (name, profile) = config.profile(name)?;
    let history_file = super::plan_cmd::history_path(&name)?;
    let approvals = tui::approvals_for(&name, profile);
    Ok(Session {
        profile_name: name,
        profile: profile.clone(),
        profiles: config.profiles.keys().cloned().collect(),
        read_only,
        demo: None,
        history_file: Some(history_file),
        approvals,
    })
}

pub fn run(cli: &Cli, args: &TuiArgs) -> anyhow::Result<u8> {
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path).map_err(|err| match err {
        ConfigError::NotFound(_) => {
            anyhow::anyhow!("{err}\n  to see the console first, run `scaleguard demo` (a built-in simulator)")
        }
        other => other.into(),
    })?;
    let first = session(&config, cli.profile.as_deref(), args.read_only)?;
    require_terminal()?;
    let data_dir = tui::data_dir().context("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let _log = tui::init_logging(&data_dir);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(tui::run_terminal(first, |name| session(&config, Some(name), args.read_only)))?;
    Ok(exit::OK)
}
