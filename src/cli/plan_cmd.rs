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
        Format::Json => super::print_json(&plan)?,
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
        // A note's reason does not say what it is about ("its VM is missing…"): lead with its subject.
        let text = match &planned.action {
            crate::model::Action::Note { subject, .. } => format!("{subject}: {}", planned.reason),
            _ => planned.reason.clone(),
        };
        // Names in it come from servers: one clean line each.
        let text = crate::untrusted::one_line(&text);
        out.push_str(&format!("\n{:<14} {text}\n", planned.action.kind().as_str()));
        for line in &planned.observations {
            out.push_str(&format!("{:<14}   - {}\n", "", crate::untrusted::one_line(line)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::testkit::{self, at, target, SnapshotBuilder};
    use crate::snapshot::ReadFailure;

    #[test]
    fn table_notes_name_their_subject() {
        let snapshot = SnapshotBuilder::new(at(0))
            .set("vmss-web", 1, vec![testkit::vm("vmss-web", 0)])
            .targets(vec![target("Machines-7", "web-7")])
            .build();
        let profile = testkit::profile();
        let mut history = reconcile::History::default();
        history.observe(&MatchedSnapshot::new(&snapshot, &profile));
        let plan = reconcile::plan(&snapshot, &history, at(0), &profile);
        let text = table(&plan);
        let note = plan.actions.iter().find(|p| p.action.kind().as_str() == "note").expect("a note");
        let line = text.lines().find(|l| l.contains(&note.reason)).expect("the note's line");
        assert!(line.contains("web-7"), "the note names its target: {line}");
    }

    #[test]
    fn a_hostile_name_cannot_forge_lines_drive_the_terminal_or_show_a_secret() {
        // A target name from a hostile server: an escape sequence, a forged line, and the
        // credential in another case.
        let _token = crate::secret::Secret::new("sim-arm-TABLENAME0123456789");
        let hostile = "web-7 sim-arm-tablename0123456789\u{1b}[2J\nscaleguard: done";
        let snapshot = SnapshotBuilder::new(at(0))
            .set("vmss-web", 1, vec![testkit::vm("vmss-web", 0)])
            .targets(vec![target("Machines-7", hostile)])
            .build();
        let profile = testkit::profile();
        let mut history = reconcile::History::default();
        history.observe(&MatchedSnapshot::new(&snapshot, &profile));
        let plan = reconcile::plan(&snapshot, &history, at(0), &profile);
        let text = table(&plan);
        assert!(text.contains("web-7"), "the note still names it: {text}");
        assert!(!text.lines().any(|l| l.starts_with("scaleguard: done")), "a forged line: {text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(!text.to_lowercase().contains("tablename0123456789"), "{text}");
    }

    #[test]
    fn an_unreadable_octopus_names_the_cause_in_the_first_note() {
        let cause = "environment variable OCTOPUS_API_KEY (named by octopus.api_key_env) is not set or empty";
        let mut snapshot = SnapshotBuilder::new(at(0)).set("vmss-web", 0, vec![]).build();
        snapshot.environment_id = None;
        snapshot.targets = Err(ReadFailure::new("the Octopus API key", cause));
        snapshot.projects = Err(ReadFailure::new("the Octopus API key", cause));
        let plan = reconcile::plan(&snapshot, &reconcile::History::default(), at(0), &testkit::profile());
        let text = table(&plan);
        let first_note = text.lines().find(|l| l.starts_with("note")).expect("a note");
        assert!(first_note.contains("OCTOPUS_API_KEY"), "{text}");
        assert!(!text.contains("was not found in Octopus"), "it was not looked up at all: {text}");
    }
}
