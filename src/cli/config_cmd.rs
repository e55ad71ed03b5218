//! `scaleguard config check|path|init`.

use super::{exit, Cli};
use crate::config::{ConfigError, ConfigFile, EXAMPLE};
use anyhow::Context;
use clap::Subcommand;
use std::io::Write;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config file; prints each problem with its key path (exit 1 on problems)
    Check,
    /// Print the config file path in use
    Path,
    /// Write a commented example config file
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
}

pub fn run(cli: &Cli, cmd: &ConfigCommand) -> anyhow::Result<u8> {
    let path = cli.config_path()?;
    match cmd {
        ConfigCommand::Path => {
            println!("{}", path.display());
            Ok(exit::OK)
        }
        ConfigCommand::Check => match ConfigFile::load(&path) {
            Ok(config) => {
                let (name, _) = config.profile(cli.profile.as_deref())?;
                println!("{}: ok ({} profile(s); using `{name}`)", path.display(), config.profiles.len());
                Ok(exit::OK)
            }
            Err(ConfigError::Invalid { path, problems }) => {
                let mut err = std::io::stderr().lock();
                writeln!(err, "{}: {} problem(s)", path.display(), problems.len())?;
                for problem in problems {
                    writeln!(err, "  {}: {}", problem.key, problem.message)?;
                }
                Ok(exit::ERROR)
            }
            Err(other) => Err(other.into()),
        },
        ConfigCommand::Init { force } => {
            if path.exists() && !force {
                anyhow::bail!("{} already exists; pass --force to overwrite it", path.display());
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(&path, EXAMPLE).with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote an example config to {}", path.display());
            Ok(exit::OK)
        }
    }
}
