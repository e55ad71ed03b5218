//! `scaleguard node scale-in SET --count K` (and `scale SET --capacity N` below the current
//! capacity of the HA nodes' scale set, routed here) and `scaleguard node admit NAME`.
//!
//! The scale-in prints the plan (the guard's verdict, the nodes chosen with their VMs and why),
//! asks for the scale set's name typed on a terminal (`--yes` without one), then runs the one
//! resumable job to its end: drain, remove exactly those VMs, delete the node records. Rerun after
//! an interruption, it resumes the unfinished job (asking again) and repeats no step.
//! Exit codes: 0 done; 2 a drain deadline passed with no answer (the job stays open); 1 refused,
//! cancelled, aborted or failed.

use super::inventory_cmd::Format;
use super::node_cmd::{answer_question_text, OnDeadline};
use super::{exit, Cli};
use crate::config::{ConfigFile, Profile};
use crate::executor::Confirmation;
use crate::journal::Journal;
use crate::node_job::{NodeJobRunner, ScaleInOutcome, ScaleInProgress, ScaleInRunner, ScaleInStatus};
use crate::octopus::OctopusClient;
use anyhow::{bail, Context};
use clap::Args;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ScaleInArgs {
    /// The HA nodes' scale set (the profile's nodes.scale_set)
    pub set: String,
    /// How many nodes, with their VMs, to remove
    #[arg(long, value_name = "K", value_parser = parse_count)]
    pub count: u32,
    /// Why; journaled
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Go ahead without asking (needed when there is no terminal)
    #[arg(long)]
    pub yes: bool,
    /// Go ahead while the set still provisions or its cooldown/Autoscale state is unknown
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for a node's tasks before asking [default: nodes.drain_deadline_secs]
    #[arg(long, value_name = "SECS")]
    pub deadline: Option<u64>,
    /// What to do at a node's drain deadline without a terminal to ask on
    #[arg(long, value_enum, default_value_t = OnDeadline::Stop)]
    pub on_deadline: OnDeadline,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct AdmitArgs {
    /// Node name (case-insensitive) or id
    pub name: String,
    /// The task cap to give it [default: what it had before it was held at 0, else 5]
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub task_cap: Option<u32>,
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

fn parse_count(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("a count is 0 or more; {n} is below 0")),
        Ok(n) => u32::try_from(n).map_err(|_| format!("{n} is too many")),
        Err(_) => Err(format!("`{raw}` is not a whole number")),
    }
}

/// The profile's node runner and scale-in runner, with the journal and the clock.
pub(super) fn runners(
    cli: &Cli,
    deadline: Option<u64>,
) -> anyhow::Result<(
    String,
    Profile,
    ScaleInRunner,
    tokio::runtime::Runtime,
    Arc<Journal>,
    crate::clock::Clock,
)> {
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path)?;
    let (name, profile) = config.profile(cli.profile.as_deref())?;
    if profile.read_only {
        bail!("profile `{name}` is read-only: node commands that change the cluster are refused");
    }
    let client = OctopusClient::new(&profile.octopus, profile.octopus_api_key()?)?;
    let journal_path = crate::journal::default_path()
        .context("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let journal = Arc::new(Journal::open(&journal_path)?);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let clock = cli.clock(profile)?;
    let mut nodes_config = profile.nodes.clone();
    if let Some(secs) = deadline {
        nodes_config.drain_deadline_secs = secs;
    }
    let nodes =
        NodeJobRunner::new(client, journal.clone(), name.clone(), nodes_config).with_clock(clock.clone());
    let runner = ScaleInRunner::new(nodes, profile.clone());
    Ok((name, profile.clone(), runner, runtime, journal, clock))
}

pub fn run_scale_in(cli: &Cli, args: &ScaleInArgs) -> anyhow::Result<u8> {
    let options = Options {
        reason: args.reason.clone(),
        yes: args.yes,
        force: args.force,
        deadline: args.deadline,
        on_deadline: args.on_deadline,
        format: args.format,
    };
    scale_in(cli, &args.set, args.count, &options)
}

/// What a drain-first scale-in was asked with (by `node scale-in` or a routed `scale`).
pub struct Options {
    pub reason: String,
    pub yes: bool,
    pub force: bool,
    pub deadline: Option<u64>,
    pub on_deadline: OnDeadline,
    pub format: Format,
}

pub fn scale_in(cli: &Cli, set: &str, count: u32, options: &Options) -> anyhow::Result<u8> {
    let (name, profile, runner, runtime, journal, clock) = runners(cli, options.deadline)?;
    super::settle_first(&runtime, &name, &profile, &journal, &clock);
    let key = runner.check_set(set)?;
    let json = options.format == Format::Json;
    let poll = Duration::from_secs(profile.console.refresh_secs.max(1));
    let plan = match runner.pending()? {
        Some(pending) => {
            let names: Vec<String> = pending.job.victims.iter().map(|v| v.victim.label()).collect();
            eprintln!(
                "scaleguard: resuming the unfinished drain-first scale-in of {} ({}), {}",
                key.name,
                names.join(", "),
                pending.job.phase.name()
            );
            let question = format!("Resume removing {} from {}?", names.join(", "), key.name);
            if !confirm(&question, options.yes, &key.name, count.max(1))? {
                eprintln!("scaleguard: cancelled; nothing was changed");
                return Ok(exit::ERROR);
            }
            None
        }
        None => {
            let plan = runtime.block_on(runner.plan(&key, count, &options.reason, options.force))?;
            if json {
                if !plan.is_allowed() {
                    super::print_json(&serde_json::json!({"plan": plan.summary(), "outcome": null}))?;
                }
            } else {
                println!("{}", plan.lines().join("\n"));
            }
            if !plan.is_allowed() {
                let refusals = plan.refusals();
                eprintln!("scaleguard: refused for {} reason(s); nothing was changed:", refusals.len());
                for reason in refusals {
                    eprintln!("  - {reason}");
                }
                return Ok(exit::ERROR);
            }
            let names: Vec<String> = plan.choice.victims.iter().map(|v| v.label()).collect();
            let question = format!("Drain and remove {} from {}?", names.join(", "), key.name);
            if !confirm(&question, options.yes, &key.name, count)? {
                eprintln!("scaleguard: cancelled; nothing was changed");
                return Ok(exit::ERROR);
            }
            Some(plan)
        }
    };
    let mut last = String::new();
    let mut on_progress = |progress: &ScaleInProgress| {
        for line in &progress.sent {
            eprintln!("  {line}");
        }
        let line = progress.line();
        if line != last {
            eprintln!("{line}");
            last = line;
        }
    };
    let on_deadline = options.on_deadline;
    let mut on_question = move |progress: &ScaleInProgress| {
        let victim = progress.questions().into_iter().next()?;
        let choice = answer_question_text(&victim.node_name, victim.running_tasks, on_deadline)?;
        Some((victim.node_id.clone(), choice))
    };
    let outcome = runtime.block_on(runner.run(
        plan.as_ref(),
        &options.reason,
        poll,
        true,
        &mut on_progress,
        &mut on_question,
    ))?;
    report(&outcome, options.format, plan.as_ref())
}

/// The set's name typed on a terminal (VMs are destroyed); `--yes` without one.
fn confirm(question: &str, yes: bool, set: &str, count: u32) -> anyhow::Result<bool> {
    let needed = Confirmation::Typed {
        word: set.to_string(),
        why: format!("it deletes {count} VM(s) and their HA node(s)"),
    };
    super::scale_cmd::confirm(question, yes, &needed)
}

fn report(
    outcome: &ScaleInOutcome,
    format: Format,
    plan: Option<&crate::node_job::ScaleInPlan>,
) -> anyhow::Result<u8> {
    let p = &outcome.progress;
    match format {
        Format::Json => super::print_json(&serde_json::json!({
            "plan": plan.map(|p| p.summary()),
            "outcome": outcome,
        }))?,
        Format::Table => {
            let resumed = if p.resumed { " (resumed an interrupted job)" } else { "" };
            let names: Vec<&str> = p.victims.iter().map(|v| v.node_name.as_str()).collect();
            let sentence = match outcome.status {
                ScaleInStatus::Done => format!(
                    "{}: removed {} (drained, VMs {} deleted, node records deleted) after {}s{resumed}",
                    p.scale_set,
                    names.join(", "),
                    p.victims.iter().map(|v| v.instance_id.as_str()).collect::<Vec<_>>().join(", "),
                    p.elapsed_secs
                ),
                ScaleInStatus::NeedsAnswer => format!(
                    "{}: a node is still running tasks past its drain deadline; drain stays on. Rerun to keep waiting, \
                     or pass --on-deadline cancel|abort|undrain{resumed}",
                    p.scale_set
                ),
                ScaleInStatus::InProgress => format!("{}: {}{resumed}", p.scale_set, p.line()),
                ScaleInStatus::Aborted => format!("{}: aborted: {}", p.scale_set, p.reasons.join("; ")),
            };
            println!("{sentence}");
        }
    }
    Ok(match outcome.status {
        ScaleInStatus::Done => exit::OK,
        ScaleInStatus::InProgress | ScaleInStatus::NeedsAnswer => exit::PENDING,
        ScaleInStatus::Aborted => exit::ERROR,
    })
}

pub fn run_admit(cli: &Cli, args: &AdmitArgs) -> anyhow::Result<u8> {
    let (name, profile, runner, runtime, journal, clock) = runners(cli, None)?;
    super::settle_first(&runtime, &name, &profile, &journal, &clock);
    let admission = runtime.block_on(runner.nodes.admission(&args.name))?;
    if args.format == Format::Table {
        println!("Node {} (task cap {})", admission.node_name, admission.task_cap);
        for line in admission.lines() {
            println!("  {line}");
        }
    }
    let question = format!(
        "Record that you verified {} on the node itself and raise its task cap?",
        admission.node_name
    );
    if !super::scale_cmd::confirm(&question, args.yes, &Confirmation::Plain)? {
        eprintln!("scaleguard: cancelled; nothing was changed");
        return Ok(exit::ERROR);
    }
    let outcome = runtime.block_on(runner.nodes.admit(&args.name, args.task_cap, &args.reason))?;
    match args.format {
        Format::Json => super::print_json(&outcome)?,
        Format::Table => println!(
            "{}: admitted (verification journaled), task cap {} -> {}",
            outcome.node_name, outcome.from, outcome.to
        ),
    }
    Ok(exit::OK)
}
