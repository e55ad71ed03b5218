//! `scaleguard plan`: the reconcile plan, read-only. Exit 0 nothing to do, 2 changes pending, 1 error.
//!
//! Each run adds its listings to the profile's observation history in the data dir, so repeated
//! runbook runs build up the absence evidence a delete needs.

use super::inventory_cmd::Format;
use super::{exit, Cli};
use crate::config::{ConfigFile, Profile};
use crate::inventory::{self, Collector};
use crate::model::Plan;
use crate::reconcile::{self, MatchedSnapshot};
use crate::snapshot::Snapshot;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `<data dir>/history-<profile>.json`, beside the journal.
pub(super) fn history_path(profile: &str) -> anyhow::Result<PathBuf> {
    let journal = crate::journal::default_path()
        .context("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let dir = journal.parent().map(PathBuf::from).unwrap_or_default();
    Ok(dir.join(format!("history-{profile}.json")))
}

pub fn run(cli: &Cli, args: &PlanArgs) -> anyhow::Result<u8> {
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path)?;
    let (name, profile) = config.profile(cli.profile.as_deref())?;
    let clock = cli.clock(profile)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let snapshot = runtime.block_on(Collector::new(profile).with_clock(clock.clone()).collect());
    let (plan, _) = observe_and_plan(&name, profile, &snapshot, clock.now())?;

    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        Format::Table => print!("{}", table(&plan)),
    }
    if let Some(sentence) = incomplete(&snapshot) {
        anyhow::bail!("the plan is incomplete: {sentence}");
    }
    Ok(if plan.has_changes() { exit::PENDING } else { exit::OK })
}

/// Add `snapshot` to the profile's persisted observation history and plan from it at `now`.
pub(super) fn observe_and_plan(
    profile_name: &str,
    profile: &Profile,
    snapshot: &Snapshot,
    now: OffsetDateTime,
) -> anyhow::Result<(Plan, reconcile::History)> {
    let history_file = history_path(profile_name)?;
    // The error names the file; its source (the IO or JSON problem) follows in the chain.
    let mut history = reconcile::load_history(&history_file)?;
    let matched = MatchedSnapshot::new(snapshot, profile);
    history.observe(&matched);
    let plan = reconcile::plan_matched(&matched, &history, now, profile);
    save(profile_name, &history)?;
    Ok((plan, history))
}

/// Persist the history (apply saves again after its fresh reads).
pub(super) fn save(profile_name: &str, history: &reconcile::History) -> anyhow::Result<()> {
    let history_file = history_path(profile_name)?;
    Ok(reconcile::save_history(&history_file, history)?)
}

/// The failed reads of `snapshot` in one sentence, if any.
pub(super) fn incomplete(snapshot: &Snapshot) -> Option<String> {
    let failures: Vec<_> = snapshot.failures().into_iter().cloned().collect();
    (!failures.is_empty()).then(|| inventory::failure_sentence(&failures))
}

pub(super) fn table(plan: &Plan) -> String {
    let mut out = format!("{}\n", reconcile::summarize(plan));
    for planned in &plan.actions {
        out.push_str(&format!("\n{:<14} {}\n", planned.action.kind().as_str(), planned.reason));
        for line in &planned.observations {
            out.push_str(&format!("{:<14}   - {line}\n", ""));
        }
    }
    out
}
