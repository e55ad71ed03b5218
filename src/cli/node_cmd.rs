//! `scaleguard node list|drain|undrain|delete|task-cap`: HA nodes, headless.
//!
//! Exit codes: 0 done (or nothing to do), 2 still in progress (drain started without `--wait`
//! while tasks run, or the deadline passed without an answer), 1 error, refusal or abort.
//! Mutating commands ask on a terminal (the node's name, typed, for `delete`) and need `--yes`
//! without one; a `read_only` profile refuses them all, in one gate before anything is sent.

use super::inventory_cmd::Format;
use super::{exit, Cli};
use crate::config::ConfigFile;
use crate::drain::DrainChoice;
use crate::journal::Journal;
use crate::node_job::{
    DrainOptions, JobOutcome, JobProgress, JobStatus, NodeJobRunner, NodeRow, ScaleInRunner,
};
use crate::octopus::OctopusClient;
use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// List the HA nodes: online, drain, task cap, running tasks, unfinished jobs
    List(ListArgs),
    /// Enable drain, wait for the node's tasks (cancel them once it is offline), then delete it.
    /// Rerunning resumes an interrupted drain from the journal.
    Drain(DrainArgs),
    /// Turn drain off (and close an unfinished drain job for the node)
    Undrain(NodeArgs),
    /// Delete a node now; refused while it heartbeats with running tasks unless --force
    Delete(DeleteArgs),
    /// Set a node's task cap (MaxConcurrentTasks); 0 makes it a UI-only node
    TaskCap(TaskCapArgs),
    /// Remove K nodes and their VMs from the HA nodes' scale set, drain first: drain each chosen
    /// node, then delete exactly their VMs, then their node records. Rerunning resumes.
    ScaleIn(super::node_scale_in_cmd::ScaleInArgs),
    /// Record that a new node was verified on the node itself (database, file store, tentacles)
    /// and raise its task cap
    Admit(super::node_scale_in_cmd::AdmitArgs),
    /// AWS: drain the node on an instance Auto Scaling is terminating while its lifecycle hook
    /// holds it (heartbeats extend the wait), complete the hook once drained or at
    /// nodes.hook_deadline_secs, then delete the node record. One pass, or --watch
    Hooks(super::node_hooks_cmd::HooksArgs),
}

impl NodeCommand {
    /// The one read-only gate: every command that changes the cluster says so here.
    pub fn is_mutating(&self) -> bool {
        !matches!(self, NodeCommand::List(_))
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Node name (case-insensitive) or id
    pub name: String,
    /// Confirm without asking (required without a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Why, for the journal
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDeadline {
    /// Stop with exit 2; drain stays on and a rerun resumes
    Stop,
    /// Keep waiting another deadline
    Wait,
    /// Cancel the node's tasks, then delete it
    Cancel,
    /// Give up, leaving drain on
    Abort,
    /// Give up and turn drain off
    Undrain,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Wait until the node is deleted (without it: exit 2 while tasks still run)
    #[arg(long)]
    pub wait: bool,
    /// Cancel the node's running tasks as soon as drain is on, though it is online
    #[arg(long)]
    pub cancel_now: bool,
    /// Seconds to wait for tasks before asking [default: nodes.drain_deadline_secs]
    #[arg(long, value_name = "SECS")]
    pub deadline: Option<u64>,
    /// What to do at the deadline without a terminal to ask on
    #[arg(long, value_enum, default_value_t = OnDeadline::Stop)]
    pub on_deadline: OnDeadline,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Delete even while it heartbeats with running tasks (they fail); a terminal asks for the
    /// node's name, typed
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TaskCapArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// New MaxConcurrentTasks (0 = UI-only node)
    #[arg(allow_negative_numbers = true, value_parser = parse_cap)]
    pub cap: u32,
}

/// A task cap as typed: a sentence for a negative or non-numeric value.
fn parse_cap(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("a task cap is 0 (UI-only) or more; {n} is below 0")),
        Ok(n) => u32::try_from(n).map_err(|_| format!("{n} is more than a task cap can be")),
        Err(_) => Err(format!("`{raw}` is not a whole number of tasks (0 or more)")),
    }
}

pub fn run(cli: &Cli, command: &NodeCommand) -> anyhow::Result<u8> {
    match command {
        NodeCommand::ScaleIn(args) => return super::node_scale_in_cmd::run_scale_in(cli, args),
        NodeCommand::Admit(args) => return super::node_scale_in_cmd::run_admit(cli, args),
        NodeCommand::Hooks(args) => return super::node_hooks_cmd::run_hooks(cli, args),
        _ => {}
    }
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path)?;
    let (profile_name, profile) = config.profile(cli.profile.as_deref())?;
    if command.is_mutating() && profile.read_only {
        bail!("profile `{profile_name}` is read-only: node commands that change the cluster are refused");
    }
    let client = OctopusClient::new(&profile.octopus, profile.octopus_api_key()?)?;
    let journal_path = crate::journal::default_path()
        .context("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let journal = Arc::new(Journal::open(&journal_path)?);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let clock = cli.clock(profile)?;
    if command.is_mutating() {
        super::settle_first(&runtime, &profile_name, profile, &journal, &clock);
    }
    let runner = NodeJobRunner::new(client, journal, profile_name, profile.nodes.clone()).with_clock(clock);
    let poll = Duration::from_secs(profile.console.refresh_secs.max(1));
    let paired = ScaleInRunner::new(runner.clone(), profile.clone());
    runtime.block_on(dispatch(&runner, &paired, command, poll))
}

async fn dispatch(
    runner: &NodeJobRunner,
    paired: &ScaleInRunner,
    command: &NodeCommand,
    poll: Duration,
) -> anyhow::Result<u8> {
    match command {
        NodeCommand::ScaleIn(_) | NodeCommand::Admit(_) | NodeCommand::Hooks(_) => unreachable_command(),
        NodeCommand::List(args) => {
            let rows = paired.list().await?;
            match args.format {
                Format::Json => super::print_json(&rows)?,
                Format::Table => print!("{}", list_table(&rows)),
            }
            Ok(exit::OK)
        }
        NodeCommand::Drain(args) => {
            // A drain ends in the node's delete: the one confirmation rule asks for its name.
            let question = format!("Drain node {} and delete it once its tasks are done?", args.node.name);
            confirm_typed(&args.node, &question)?;
            let options = DrainOptions {
                wait: args.wait,
                cancel_now: args.cancel_now,
                force: false,
                deadline_secs: args.deadline,
                poll_interval: poll,
                reason: args.node.reason.clone(),
            };
            let on_deadline = args.on_deadline;
            let mut ask = move |progress: &JobProgress| answer_question(progress, on_deadline);
            let outcome = runner.run(&args.node.name, &options, &mut printer(), &mut ask).await?;
            report_job(&outcome, args.node.format)
        }
        NodeCommand::Delete(args) => {
            let warning = if args.force { " even if it is running tasks (they will fail)" } else { "" };
            confirm_typed(&args.node, &format!("Delete node {}{warning}?", args.node.name))?;
            let options =
                DrainOptions { poll_interval: poll, reason: args.node.reason.clone(), ..Default::default() };
            let outcome = runner.delete(&args.node.name, args.force, &options, &mut printer()).await?;
            report_job(&outcome, args.node.format)
        }
        NodeCommand::Undrain(args) => {
            confirm_yes(args, &format!("Turn drain off on {}?", args.name))?;
            let outcome = runner.undrain(&args.name, &args.reason).await?;
            match args.format {
                Format::Json => super::print_json(&outcome)?,
                Format::Table if outcome.changed => println!("{}: drain turned off", outcome.node_name),
                Format::Table => println!("{}: drain was already off", outcome.node_name),
            }
            Ok(exit::OK)
        }
        NodeCommand::TaskCap(args) => {
            let what = format!("Set the task cap of {} to {}?", args.node.name, args.cap);
            confirm_yes(&args.node, &what)?;
            let outcome = runner.set_task_cap(&args.node.name, args.cap, &args.node.reason).await?;
            match args.node.format {
                Format::Json => super::print_json(&outcome)?,
                Format::Table if outcome.changed => {
                    println!("{}: task cap {} -> {}", outcome.node_name, outcome.from, outcome.to)
                }
                Format::Table => println!("{}: task cap already {}", outcome.node_name, outcome.to),
            }
            Ok(exit::OK)
        }
    }
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn prompt(question: &str) -> anyhow::Result<String> {
    eprint!("{question} ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// y/N on a terminal (Enter alone is no); `--yes` without one.
fn confirm_yes(args: &NodeArgs, question: &str) -> anyhow::Result<()> {
    if args.yes {
        return Ok(());
    }
    if !interactive() {
        bail!("no terminal to confirm on: pass --yes to run this without asking");
    }
    match prompt(&format!("{question} [y/N]"))?.to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => bail!("not confirmed; nothing was changed"),
    }
}

/// Delete or drain (both end with the node deleted): on a terminal the node's name, typed,
/// always; without one `--yes`.
fn confirm_typed(args: &NodeArgs, question: &str) -> anyhow::Result<()> {
    if !interactive() {
        if args.yes {
            return Ok(());
        }
        bail!("no terminal to confirm on: pass --yes (and --force to delete a node still running tasks)");
    }
    let typed = prompt(&format!("{question} Type its name to confirm:"))?;
    if typed.trim().eq_ignore_ascii_case(args.name.trim()) {
        Ok(())
    } else {
        bail!("the typed name did not match; nothing was changed")
    }
}

/// Progress lines on stderr, each only when something changed.
fn printer() -> impl FnMut(&JobProgress) + Send {
    let mut last = String::new();
    move |progress: &JobProgress| {
        let line =
            format!("{}, {} running: {}", progress.state_name, progress.running_tasks, progress.reason);
        if line != last {
            eprintln!("{}", progress.line());
            last = line;
        }
    }
}

/// Handled before `dispatch` (they build their own runners).
fn unreachable_command() -> anyhow::Result<u8> {
    bail!("internal: this node command is run by node_scale_in_cmd")
}

fn answer_question(progress: &JobProgress, headless: OnDeadline) -> Option<DrainChoice> {
    answer_question_text(&progress.node_name, progress.running_tasks, headless)
}

/// The deadline question for `node` on a terminal, else the `--on-deadline` answer.
pub(super) fn answer_question_text(
    node: &str,
    running_tasks: usize,
    headless: OnDeadline,
) -> Option<DrainChoice> {
    let choice = if interactive() {
        let question = format!(
            "{node} still runs {running_tasks} task(s) past the deadline. [w]ait more, [c]ancel them now, [a]bort leaving drain on, [u]ndrain and abort, [s]top for now?"
        );
        match prompt(&question).ok()?.to_ascii_lowercase().as_str() {
            "w" => OnDeadline::Wait,
            "c" => OnDeadline::Cancel,
            "a" => OnDeadline::Abort,
            "u" => OnDeadline::Undrain,
            _ => OnDeadline::Stop,
        }
    } else {
        headless
    };
    match choice {
        OnDeadline::Stop => None,
        OnDeadline::Wait => Some(DrainChoice::KeepWaiting),
        OnDeadline::Cancel => Some(DrainChoice::CancelTasksNow),
        OnDeadline::Abort => Some(DrainChoice::AbortLeaveDrainOn),
        OnDeadline::Undrain => Some(DrainChoice::AbortTurnDrainOff),
    }
}

fn report_job(outcome: &JobOutcome, format: Format) -> anyhow::Result<u8> {
    match format {
        Format::Json => super::print_json(outcome)?,
        Format::Table => println!("{}", job_sentence(outcome)),
    }
    Ok(match outcome.status {
        JobStatus::Done => exit::OK,
        JobStatus::InProgress | JobStatus::NeedsAnswer => exit::PENDING,
        JobStatus::Aborted => exit::ERROR,
    })
}

fn job_sentence(outcome: &JobOutcome) -> String {
    let p = &outcome.progress;
    let resumed = if p.resumed { " (resumed an interrupted job)" } else { "" };
    match outcome.status {
        JobStatus::Done => format!("{}: removed after {}s{resumed}", p.node_name, p.elapsed_secs),
        JobStatus::InProgress => format!(
            "{}: {} ({} task(s) running); rerun with --wait to finish{resumed}",
            p.node_name, p.state_name, p.running_tasks
        ),
        JobStatus::NeedsAnswer => format!(
            "{}: {} task(s) still running past the deadline; drain stays on. Rerun to keep waiting, \
             or pass --on-deadline cancel|abort|undrain{resumed}",
            p.node_name, p.running_tasks
        ),
        JobStatus::Aborted => format!("{}: aborted: {}", p.node_name, p.reason),
    }
}

fn list_table(rows: &[NodeRow]) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let header =
        ["NAME", "ID", "ONLINE", "DRAIN", "TASK CAP", "RUNNING", "VERSION", "LAST SEEN", "VM", "JOB"];
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.id.clone(),
                yes(r.online),
                yes(r.drain),
                r.task_cap.to_string(),
                r.running_tasks.to_string(),
                r.version.clone().unwrap_or_else(|| "-".into()),
                r.last_seen.and_then(|t| t.format(rfc3339).ok()).unwrap_or_else(|| "never".into()),
                match (&r.vm, &r.vm_unpaired) {
                    (Some(vm), _) => vm.label(),
                    (None, Some(_)) => "unpaired".into(),
                    (None, None) => "-".into(),
                },
                if r.pending_job { "unfinished drain".into() } else { "-".into() },
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |row: Vec<String>| {
        let padded: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in cells {
        out.push_str(&line(row));
    }
    out
}
