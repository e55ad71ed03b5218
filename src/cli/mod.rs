//! The command line: clap definitions and dispatch. Typed errors inside; one human sentence here.

mod apply_cmd;
mod config_cmd;
mod demo_cmd;
mod doctor_cmd;
mod inventory_cmd;
mod node_cmd;
mod plan_cmd;
mod scale_cmd;
mod sim_cmd;
mod tui_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes shared by every headless command (terraform's -detailed-exitcode convention).
pub mod exit {
    /// Success, nothing to do.
    pub const OK: u8 = 0;
    /// Error (or problems found).
    pub const ERROR: u8 = 1;
    /// Success, changes pending (plan) / could not check (doctor).
    pub const PENDING: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "scaleguard",
    version,
    about = "Operations console for Octopus Deploy on auto-scaling groups",
    long_about = "scaleguard shows Azure VM Scale Sets and Octopus Deploy side by side and turns the \
                  difference into actions an operator approves. Start with `scaleguard sim` to run the \
                  built-in simulator, or `scaleguard config init` to write a config file."
)]
pub struct Cli {
    /// Config file [default: the platform config dir, scaleguard/config.toml]
    #[arg(long, global = true, env = "SCALEGUARD_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile to use [default: the file's default_profile]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Console options when no subcommand is given (bare `scaleguard` opens the console)
    #[command(flatten)]
    pub console: tui_cmd::TuiArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the operations console for a profile (the default)
    Tui(tui_cmd::TuiArgs),
    /// Start the built-in simulator in-process and open the console on it: start here
    Demo(demo_cmd::DemoArgs),
    /// Run the built-in simulator (Azure Resource Manager + Octopus REST) on loopback
    Sim(sim_cmd::SimArgs),
    /// Inspect and create config files
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Print one snapshot of the scale sets, their VMs, Octopus targets, HA nodes and server version
    Inventory(inventory_cmd::InventoryArgs),
    /// Print the reconcile plan (exit 0 nothing to do, 2 changes pending, 1 error)
    Plan(plan_cmd::PlanArgs),
    /// Plan, confirm, then run the plan's changes (exit 0 done, 2 some skipped, 1 error)
    Apply(apply_cmd::ApplyArgs),
    /// Check Octopus and scale-set settings against the recommendations (exit 0 no errors, 1 errors
    /// found, 2 could not check)
    Doctor(doctor_cmd::DoctorArgs),
    /// Change a scale set's capacity by hand, within the guard's limits (exit 0 done, 1 refused, 2 changed meanwhile)
    ///
    /// Prints the proposal (current and target capacity, limits, the instances a scale-in is
    /// expected to remove, the guard's verdict with every reason), asks for `yes` on a terminal
    /// (pass --yes without one), then changes the capacity only if the scale set still has the
    /// ETag it was read with, and waits for Azure's operation. Everything is journaled.
    ///
    /// Exit codes: 0 done; 1 refused, cancelled or failed; 2 the scale set changed between the
    /// read and the write (HTTP 412): nothing was done; the fresh proposal is printed; ask again.
    Scale(scale_cmd::ScaleArgs),
    /// Protect an instance from scale-in (or remove the protection with --off)
    Protect(scale_cmd::ProtectArgs),
    /// Octopus HA nodes: list, drain, undrain, delete, task-cap (exit 0 done, 2 in progress, 1 error)
    #[command(subcommand)]
    Node(node_cmd::NodeCommand),
}

impl Cli {
    /// The config file path: --config, $SCALEGUARD_CONFIG, or the platform default.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        match &self.config {
            Some(path) => Ok(path.clone()),
            None => crate::config::default_path()
                .ok_or_else(|| anyhow::anyhow!("cannot find the platform config dir: pass --config PATH")),
        }
    }
}

/// Parse arguments, run, and turn any error into one sentence on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("scaleguard: {}", error_sentence(&err));
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let Some(command) = &cli.command else {
        return tui_cmd::run(&cli, &cli.console);
    };
    match command {
        Command::Tui(args) => tui_cmd::run(&cli, args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Sim(args) => sim_cmd::run(args),
        Command::Config(cmd) => config_cmd::run(&cli, cmd),
        Command::Inventory(args) => inventory_cmd::run(&cli, args),
        Command::Plan(args) => plan_cmd::run(&cli, args),
        Command::Apply(args) => apply_cmd::run(&cli, args),
        Command::Doctor(args) => doctor_cmd::run(&cli, args),
        Command::Scale(args) => scale_cmd::run_scale(&cli, args),
        Command::Protect(args) => scale_cmd::run_protect(&cli, args),
        Command::Node(cmd) => node_cmd::run(&cli, cmd),
    }
}

/// The whole cause chain on one line, outermost first.
fn error_sentence(err: &anyhow::Error) -> String {
    err.chain().map(|cause| cause.to_string()).collect::<Vec<_>>().join(": ")
}
