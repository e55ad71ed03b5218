//! The command line: clap definitions and dispatch. Typed errors inside; one human sentence here.

// Everything the CLI prints passes the secret scrubber (invariant 6): these shadow std's print
// macros here and in every command module declared below, so no call site can forget.
macro_rules! println {
    () => { ::std::println!() };
    ($($arg:tt)*) => { ::std::println!("{}", $crate::secret::scrub(&::std::format!($($arg)*))) };
}
macro_rules! print {
    ($($arg:tt)*) => { ::std::print!("{}", $crate::secret::scrub(&::std::format!($($arg)*))) };
}
macro_rules! eprintln {
    () => { ::std::eprintln!() };
    ($($arg:tt)*) => { ::std::eprintln!("{}", $crate::secret::scrub(&::std::format!($($arg)*))) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { ::std::eprint!("{}", $crate::secret::scrub(&::std::format!($($arg)*))) };
}

mod apply_cmd;
mod autoscale_cmd;
mod config_cmd;
mod demo_cmd;
mod doctor_cmd;
mod inventory_cmd;
mod node_cmd;
mod node_hooks_cmd;
mod node_scale_in_cmd;
mod plan_cmd;
mod scale_cmd;
mod sim_clock;
mod sim_cmd;
mod tui_cmd;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
    /// The command line itself is wrong (EX_USAGE in BSD's sysexits.h): a missing or malformed
    /// flag, an unknown command, flags that do not go together. Kept apart from 2, which means
    /// "changes pending", "changed meanwhile" or "in progress".
    pub const USAGE: u8 = 64;
}

/// A command line that cannot be run as given: exits [`exit::USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Fail with a usage error (exit 64).
macro_rules! usage {
    ($($arg:tt)*) => { return Err(anyhow::Error::new($crate::cli::UsageError(::std::format!($($arg)*)))) };
}
pub(crate) use usage;

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

    /// Tests of the binary only: decide with the built-in simulator's clock (see `sim_clock`)
    #[arg(long, global = true, hide = true)]
    pub sim_clock: bool,

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
    /// Change a scale set's Azure Autoscale setting: the active profile's minimum/maximum/default,
    /// or enable/disable it (exit 0 done, 1 refused, 2 changed meanwhile)
    ///
    /// Prints the proposal (the setting, its active profile now and after, whether Autoscale will
    /// then move the capacity, the guard's verdict with every reason), asks for `yes` on a
    /// terminal (pass --yes without one), reads the setting again right before the write and
    /// writes only if it is unchanged (autoscale settings have no ETag). Everything is journaled.
    Autoscale(autoscale_cmd::AutoscaleArgs),
    /// Octopus HA nodes: list, drain, undrain, delete, task-cap, scale-in, admit (exit 0 done, 2 in
    /// progress, 1 error)
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

    /// The clock a headless command plans, journals and decides with.
    pub fn clock(&self, profile: &crate::config::Profile) -> anyhow::Result<crate::clock::Clock> {
        sim_clock::clock(self.sim_clock, profile)
    }
}

/// Before a command changes anything: settle the intents an earlier run left without a result
/// (a kill, or a console quit while a change ran) against the real state. A failure to settle is
/// said and the command goes on: the intents stay pending for the next run.
fn settle_first(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    profile: &crate::config::Profile,
    journal: &crate::journal::Journal,
    clock: &crate::clock::Clock,
) {
    let collector = crate::inventory::Collector::new(profile).with_clock(clock.clone());
    if let Err(why) = runtime.block_on(crate::executor::settle_and_report(name, journal, &collector)) {
        eprintln!("scaleguard: warning: cannot settle interrupted changes yet: {why}");
    }
}

/// Parse arguments, run, and turn any error into one sentence on stderr.
pub fn main() -> ExitCode {
    scrub_panic_messages();
    let cli = match parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are answers, not errors; every other clap error is a usage error.
            let code = if err.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("scaleguard: {}", error_sentence(&err));
            let usage = err.downcast_ref::<UsageError>().is_some();
            ExitCode::from(if usage { exit::USAGE } else { exit::ERROR })
        }
    }
}

/// Parse the command line; Err holds clap's message (help, version, or a usage error).
pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let _log = prepare_data_dir(cli.command.as_ref());
    let headless = !matches!(
        cli.command,
        None | Some(Command::Tui(_) | Command::Demo(_) | Command::Sim(_) | Command::Config(_))
    );
    if cli.sim_clock && !headless {
        anyhow::bail!(
            "--sim-clock is honoured by the headless commands that read a profile, not by this one"
        );
    }
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
        Command::Autoscale(args) => autoscale_cmd::run(&cli, args),
        Command::Node(cmd) => node_cmd::run(&cli, cmd),
    }
}

/// The whole cause chain on one line, outermost first, each cause once: an error that already
/// quotes its source (many library errors do) does not get it appended again.
/// `value` as pretty JSON on stdout, scrubbed of every known secret (server text inside it may
/// quote one).
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", crate::secret::scrub(&serde_json::to_string_pretty(value)?));
    Ok(())
}

fn error_sentence(err: &anyhow::Error) -> String {
    let mut sentence = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if sentence.contains(&text) {
            continue;
        }
        if !sentence.is_empty() {
            sentence.push_str(": ");
        }
        sentence.push_str(&text);
    }
    sentence
}

/// Before a command that uses the data dir: make an older version's files private (0700/0600),
/// and for headless commands start the log when `SCALEGUARD_LOG` asks for one (the console
/// always logs). Returns the log's guard, to keep until the command ends.
fn prepare_data_dir(command: Option<&Command>) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let console = matches!(command, None | Some(Command::Tui(_)) | Some(Command::Demo(_)));
    if matches!(command, Some(Command::Sim(_)) | Some(Command::Config(_))) {
        return None;
    }
    let dir = crate::tui::data_dir()?;
    for problem in crate::private_fs::tighten_data_dir(&dir) {
        eprintln!("scaleguard: warning: {problem}");
    }
    (!console && crate::logging::requested()).then(|| crate::logging::init(&dir, "info")).flatten()
}

/// A panic message may quote a value that holds a secret: print it scrubbed (with the backtrace
/// RUST_BACKTRACE asks for).
fn scrub_panic_messages() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        eprintln!("thread '{name}' {info}");
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            eprintln!("{backtrace}");
        } else {
            eprintln!("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace");
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_quotes_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::IsADirectory, "Is a directory (os error 21)");
        let err =
            anyhow::Error::new(io).context("cannot read config file /etc: Is a directory (os error 21)");
        assert_eq!(error_sentence(&err), "cannot read config file /etc: Is a directory (os error 21)");
        let err = anyhow::anyhow!("connection refused").context("GET /api").context("could not read targets");
        assert_eq!(error_sentence(&err), "could not read targets: GET /api: connection refused");
    }
}
