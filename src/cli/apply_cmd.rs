//! `scaleguard apply`: plan, show, confirm, then run exactly the plan's changes through the
//! executor (journal → fresh re-check → act → journal).
//!
//! Exit codes: 0 every change done (or nothing to do), 2 some changes skipped because the world
//! changed since the plan (run again), 1 an error, a refusal or a failed change.

use super::inventory_cmd::Format;
use super::plan_cmd::{incomplete, observe_and_plan, save, table};
use super::{exit, Cli};
use crate::config::ConfigFile;
use crate::executor::{
    confirm_word, confirmation_for, delete_count, ActionReport, Change, Confirmation, ExecEvent, Executor,
    InterruptedIntent,
};
use crate::journal::{self, Journal, Outcome};
use crate::model::{Action, ActionKind, Plan, PlannedAction};
use crate::service_messages::set_variable;
use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking (runbooks); large deletes also need --confirm-count
    #[arg(long)]
    pub yes: bool,

    /// Only these kinds of change (comma-separated: delete-target, deploy, complete-lifecycle, lifecycle-heartbeat)
    #[arg(long, value_delimiter = ',', value_name = "KINDS", value_parser = parse_kind)]
    pub only: Vec<ActionKind>,

    /// With --yes: the exact number of targets to delete, required when it exceeds confirm_over
    #[arg(long, value_name = "N")]
    pub confirm_count: Option<usize>,

    /// Why, for the journal
    #[arg(long, default_value = "scaleguard apply")]
    pub reason: String,

    /// Print Octopus service messages setting output variables (for a runbook step)
    #[arg(long)]
    pub octopus_output: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_kind(raw: &str) -> Result<ActionKind, String> {
    match ActionKind::parse(raw) {
        Some(
            kind @ (ActionKind::DeleteTarget
            | ActionKind::Deploy
            | ActionKind::CompleteLifecycle
            | ActionKind::LifecycleHeartbeat),
        ) => Ok(kind),
        _ => Err(format!(
            "`{raw}` is not a change kind (use delete-target, deploy, complete-lifecycle, lifecycle-heartbeat)"
        )),
    }
}

#[derive(Serialize)]
struct ApplyOutput<'a> {
    plan: &'a Plan,
    interrupted: Vec<InterruptedOutput>,
    reports: &'a [ActionReport],
}

#[derive(Serialize)]
struct InterruptedOutput {
    intent_id: String,
    summary: String,
    outcome: Outcome,
}

pub fn run(cli: &Cli, args: &ApplyArgs) -> anyhow::Result<u8> {
    if args.octopus_output && args.format == Format::Json {
        super::usage!("--octopus-output prints service messages beside the table; it cannot be combined with --format json");
    }
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path)?;
    let (name, profile) = config.profile(cli.profile.as_deref())?;
    if profile.read_only {
        bail!("profile `{name}` is read-only (read_only = true): apply refuses to change anything");
    }
    let journal_path =
        journal::default_path().context("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let journal = Journal::open(&journal_path)?;
    let clock = cli.clock(profile)?;
    let executor =
        Executor::with_clock(&name, profile, journal, clock).context("cannot build the Octopus client")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;

    let interrupted = runtime.block_on(settle_interrupted(&name, &executor))?;
    for settled in &interrupted {
        eprintln!("scaleguard: an earlier run was interrupted: {}", describe(settled));
    }

    let snapshot = runtime.block_on(executor.collector().collect());
    let (plan, mut history) =
        observe_and_plan(&name, profile, &snapshot, executor.collector().clock().now())?;
    if let Some(sentence) = incomplete(&snapshot) {
        if !snapshot.inventory_complete() {
            // Nothing acts on partial data; the plan is shown so the operator sees why.
            if args.format == Format::Table {
                print!("{}", table(&plan));
            }
            bail!("not applying: the inventory is incomplete: {sentence}");
        }
        eprintln!("scaleguard: warning: {sentence}");
    }
    let chosen: Vec<PlannedAction> = plan
        .pending_changes()
        .filter(|p| args.only.is_empty() || args.only.contains(&p.action.kind()))
        .cloned()
        .collect();
    if args.format == Format::Table {
        print!("{}", table(&plan));
    }

    let reports = if chosen.is_empty() {
        if args.format == Format::Table {
            println!("\nNothing to apply.");
        }
        Vec::new()
    } else {
        confirm(args, &chosen, profile.reconcile.confirm_over, &confirm_word(&name, profile))?;
        let show_progress = args.format == Format::Table;
        let mut progress = |event: ExecEvent| {
            if let (true, ExecEvent::Finished(report)) = (show_progress, event) {
                println!("{}", report_line(&report));
            }
        };
        if show_progress {
            let reach = crate::model::tenant_reach(&chosen)
                .map_or(String::new(), |r| format!(" (deploys reach {r})"));
            println!("\nApplying {} change(s){reach}:", chosen.len());
        }
        let reports = runtime.block_on(executor.run(&chosen, &args.reason, &mut history, &mut progress));
        save(&name, &history)?;
        reports
    };

    if args.format == Format::Json {
        let output = ApplyOutput {
            plan: &plan,
            interrupted: interrupted.iter().map(interrupted_output).collect(),
            reports: &reports,
        };
        super::print_json(&output)?;
    }
    if args.octopus_output {
        for line in output_variables(&plan, &reports) {
            println!("{line}");
        }
    }
    Ok(exit_code(&reports))
}

/// Settle intents an earlier run left without a result, under the apply lock so no live change
/// owns them.
async fn settle_interrupted(name: &str, executor: &Executor) -> anyhow::Result<Vec<InterruptedIntent>> {
    let mut warn = |line: String| eprintln!("scaleguard: warning: {line}");
    crate::executor::settle_pending(name, executor.journal(), executor.collector(), &mut warn)
        .await
        .map_err(|why| anyhow::anyhow!("cannot settle interrupted changes: {why}"))
}

fn describe(settled: &InterruptedIntent) -> String {
    let output = interrupted_output(settled);
    match &settled.outcome {
        Outcome::Done => format!("{}: it had been done", output.summary),
        Outcome::Skipped(why) | Outcome::Failed(why) => format!("{}: {why}", output.summary),
    }
}

fn interrupted_output(settled: &InterruptedIntent) -> InterruptedOutput {
    let summary = settled.intent.action.summary();
    InterruptedOutput {
        intent_id: settled.intent.intent_id.to_string(),
        summary,
        outcome: settled.outcome.clone(),
    }
}

/// Ask on a terminal (a plain `yes`, or the scale set's name when the one confirmation rule
/// asks for it); headless needs --yes, and --confirm-count N for a large delete.
fn confirm(args: &ApplyArgs, chosen: &[PlannedAction], confirm_over: u32, word: &str) -> anyhow::Result<()> {
    let needed = confirmation_for(Change::Plan { actions: chosen, confirm_over, word });
    let deletes = delete_count(chosen);
    if args.yes {
        return match (&needed, args.confirm_count) {
            (Confirmation::Plain, _) => Ok(()),
            (Confirmation::Typed { .. }, Some(given)) if given == deletes => Ok(()),
            (Confirmation::Typed { .. }, Some(given)) => {
                bail!("--confirm-count {given} does not match the {deletes} target(s) this apply would delete; nothing done")
            }
            (Confirmation::Typed { why, .. }, None) => bail!(
                "this apply needs the typed confirmation ({why}): pass --confirm-count {deletes} with --yes; nothing done"
            ),
        };
    }
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without a terminal to ask on: pass --yes (see `scaleguard apply --help`)");
    }
    let (prompt, expected) = match &needed {
        Confirmation::Plain => {
            (format!("Apply these {} change(s)? Type yes: ", chosen.len()), "yes".to_string())
        }
        Confirmation::Typed { word, why } => {
            (format!("This needs the typed confirmation ({why}). Type `{word}` to confirm: "), word.clone())
        }
    };
    print!("\n{prompt}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != expected {
        bail!("not confirmed; nothing done");
    }
    Ok(())
}

fn report_line(report: &ActionReport) -> String {
    match &report.outcome {
        Outcome::Done => {
            let detail = report.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
            format!("  done     {}{detail}", report.summary)
        }
        Outcome::Skipped(why) => format!("  skipped  {}: {why}", report.summary),
        Outcome::Failed(why) => format!("  FAILED   {}: {why}", report.summary),
    }
}

/// The step template's variables (VMSSHasServersToDeployTo, VMSSDeploymentTargetIds,
/// VMSSDeploymentTargetNames) plus the number of targets deleted, so a runbook can swap it in.
fn output_variables(plan: &Plan, reports: &[ActionReport]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut names = Vec::new();
    for planned in &plan.actions {
        if let Action::Deploy { target_ids, target_names, .. } = &planned.action {
            for (id, name) in target_ids.iter().zip(target_names) {
                if !ids.contains(id) {
                    ids.push(id.clone());
                    names.push(name.clone());
                }
            }
        }
    }
    let deleted = plan
        .actions
        .iter()
        .filter(|p| p.action.is_destructive())
        .filter(|p| reports.iter().any(|r| r.action_id == p.id && r.outcome == Outcome::Done))
        .count();
    let has_new = if ids.is_empty() { "False" } else { "True" };
    vec![
        set_variable("VMSSHasServersToDeployTo", has_new),
        set_variable("VMSSDeploymentTargetIds", &ids.join(",")),
        set_variable("VMSSDeploymentTargetNames", &names.join(",")),
        set_variable("ScaleguardDeletedTargetCount", &deleted.to_string()),
    ]
}

fn exit_code(reports: &[ActionReport]) -> u8 {
    if reports.iter().any(|r| matches!(r.outcome, Outcome::Failed(_))) {
        exit::ERROR
    } else if reports.iter().any(|r| matches!(r.outcome, Outcome::Skipped(_))) {
        exit::PENDING
    } else {
        exit::OK
    }
}
