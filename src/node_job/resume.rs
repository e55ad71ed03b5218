//! Pure: find a drain job a killed process left unfinished in the journal, and rebuild it.
//!
//! A job is a `DrainJob` intent with no result; its steps are the `Drain` records for the same
//! node after it. The rebuilt state is only a starting point: the executor observes the node
//! again and `step` decides from its real state, so an interrupted step is re-sent only when the
//! node does not show it done, and a finished one never is.

use crate::drain::{DrainEffect, DrainJob, DrainState};
use crate::journal::{JournalAction, Outcome, Record, RecordKind};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// An unfinished job found in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJob {
    /// The job's start intent: its result closes the job.
    pub intent: Record,
    pub job: DrainJob,
    /// Cancels journaled without a result: sent or not, the task's state tells (see executor).
    pub uncertain_cancels: Vec<String>,
    /// A "turn drain off" (abort) was journaled without a result.
    pub disable_drain_unfinished: bool,
}

fn matches_node(node_id: &str, node_name: &str, wanted: &str) -> bool {
    let wanted = wanted.trim();
    node_id.eq_ignore_ascii_case(wanted) || node_name.trim().eq_ignore_ascii_case(wanted)
}

/// The latest unfinished job of `profile` for the node named or numbered `node`.
pub fn pending_job(records: &[Record], profile: &str, node: &str) -> Option<PendingJob> {
    let results: HashMap<Uuid, &Record> =
        records.iter().filter(|r| r.kind == RecordKind::Result).map(|r| (r.intent_id, r)).collect();
    let (start, intent) = records.iter().enumerate().rev().find(|(_, r)| {
        r.kind == RecordKind::Intent
            && r.profile == profile
            && !results.contains_key(&r.intent_id)
            && matches!(&r.action, JournalAction::DrainJob { node_id, node_name, .. }
                if matches_node(node_id, node_name, node))
    })?;
    let JournalAction::DrainJob { node_id, node_name, force, wait_secs } = &intent.action else {
        return None;
    };
    let job = DrainJob {
        node_id: node_id.clone(),
        node_name: node_name.clone(),
        force: *force,
        wait_secs: *wait_secs,
        state: DrainState::Requested,
        cancelled: Vec::new(),
    };
    let Rebuilt { job, uncertain_cancels, disable } =
        rebuild_drain(job, &records[start + 1..], &results, profile);
    Some(PendingJob {
        intent: intent.clone(),
        job,
        uncertain_cancels,
        disable_drain_unfinished: disable == Some(false),
    })
}

/// A drain job rebuilt from its step records.
pub(crate) struct Rebuilt {
    pub job: DrainJob,
    /// Cancels journaled without a result.
    pub uncertain_cancels: Vec<String>,
    /// A "turn drain off" was journaled: Some(true) with its result, Some(false) without.
    pub disable: Option<bool>,
}

/// Rebuild `job` (its state `Requested`) from the `Drain` records of its node in `after` (the
/// records following the job's start intent). `results` maps intent ids to their results.
pub(crate) fn rebuild_drain(
    mut job: DrainJob,
    after: &[Record],
    results: &HashMap<Uuid, &Record>,
    profile: &str,
) -> Rebuilt {
    let mut uncertain_cancels = Vec::new();
    let mut enable: Option<(&Record, Option<&Record>)> = None;
    let mut delete_sent: Option<OffsetDateTime> = None;
    let mut disable: Option<Option<&Record>> = None;
    let steps = after.iter().filter(|r| {
        r.kind == RecordKind::Intent
            && r.profile == profile
            && matches!(&r.action, JournalAction::Drain { node_id: id, .. } if *id == job.node_id)
    });
    for step in steps {
        let JournalAction::Drain { effect, .. } = &step.action else { continue };
        let result = results.get(&step.intent_id).copied();
        let failed = result.is_some_and(|r| matches!(r.outcome, Some(Outcome::Failed(_))));
        match effect {
            DrainEffect::CancelTask(task) if !failed => {
                if result.is_none() {
                    uncertain_cancels.push(task.clone());
                }
                if !job.cancelled.contains(task) {
                    job.cancelled.push(task.clone());
                }
            }
            DrainEffect::CancelTask(_) => {}
            DrainEffect::EnableDrain => enable = Some((step, result)),
            DrainEffect::DeleteNode => delete_sent = Some(step.time),
            DrainEffect::DisableDrain => disable = Some(result),
        }
    }
    job.state = if disable.is_some() {
        DrainState::Aborted { drain_left_on: false }
    } else if let Some(sent_at) = delete_sent {
        DrainState::Deleting { sent_at }
    } else if !job.cancelled.is_empty() {
        DrainState::CancellingTasks { operator_chose: false, requested: job.cancelled.clone() }
    } else {
        match enable {
            Some((_, Some(done))) if done.outcome == Some(Outcome::Done) => {
                let wait = Duration::seconds(i64::try_from(job.wait_secs).unwrap_or(i64::MAX));
                DrainState::WaitingForTasks { deadline: done.time.checked_add(wait).unwrap_or(done.time) }
            }
            Some((sent, None)) => DrainState::DrainEnabling { sent_at: sent.time },
            _ => DrainState::Requested,
        }
    };
    Rebuilt { job, uncertain_cancels, disable: disable.map(|result| result.is_some()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    fn start(journal: &Journal, profile: &str, force: bool) -> Record {
        let action = JournalAction::DrainJob {
            node_id: "N-1".into(),
            node_name: "OCTO-1".into(),
            force,
            wait_secs: 600,
        };
        journal.append_intent(profile, "drain", action, T0).unwrap()
    }

    fn effect(journal: &Journal, effect: DrainEffect, at: OffsetDateTime, outcome: Option<Outcome>) {
        let action = JournalAction::Drain { node_id: "N-1".into(), node_name: "OCTO-1".into(), effect };
        let intent = journal.append_intent("prod", "step", action, at).unwrap();
        if let Some(outcome) = outcome {
            journal.append_result(&intent, outcome, at).unwrap();
        }
    }

    fn records(dir: &tempfile::TempDir) -> Vec<Record> {
        crate::journal::read_all(&dir.path().join("j.jsonl")).unwrap().0
    }

    fn open(dir: &tempfile::TempDir) -> Journal {
        Journal::open(&dir.path().join("j.jsonl")).unwrap()
    }

    #[test]
    fn nothing_pending_in_an_empty_journal_or_for_another_node_or_profile() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        assert_eq!(pending_job(&records(&dir), "prod", "OCTO-1"), None);
        start(&journal, "staging", false);
        assert_eq!(pending_job(&records(&dir), "prod", "OCTO-1"), None);
        assert_eq!(pending_job(&records(&dir), "staging", "OCTO-2"), None);
        assert!(pending_job(&records(&dir), "staging", "octo-1").is_some(), "names match case-insensitively");
        assert!(pending_job(&records(&dir), "staging", "N-1").is_some(), "ids match too");
    }

    #[test]
    fn a_finished_job_is_not_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        let intent = start(&journal, "prod", false);
        journal.append_result(&intent, Outcome::Done, T0).unwrap();
        assert_eq!(pending_job(&records(&dir), "prod", "OCTO-1"), None);
    }

    #[test]
    fn a_job_killed_right_after_starting_restarts_from_requested() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        start(&journal, "prod", true);
        let pending = pending_job(&records(&dir), "prod", "OCTO-1").unwrap();
        assert_eq!(pending.job.state, DrainState::Requested);
        assert!(pending.job.force);
        assert_eq!(pending.job.wait_secs, 600);
    }

    #[test]
    fn drain_enabled_resumes_waiting_with_the_original_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        start(&journal, "prod", false);
        let at = T0 + Duration::seconds(5);
        effect(&journal, DrainEffect::EnableDrain, at, Some(Outcome::Done));
        let pending = pending_job(&records(&dir), "prod", "OCTO-1").unwrap();
        assert_eq!(pending.job.state, DrainState::WaitingForTasks { deadline: at + Duration::seconds(600) });
    }

    #[test]
    fn an_enable_drain_without_result_resumes_as_sent_at_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        start(&journal, "prod", false);
        effect(&journal, DrainEffect::EnableDrain, T0, None);
        let pending = pending_job(&records(&dir), "prod", "OCTO-1").unwrap();
        assert_eq!(pending.job.state, DrainState::DrainEnabling { sent_at: T0 });
    }

    #[test]
    fn cancels_are_remembered_failed_ones_dropped_unfinished_ones_flagged() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        start(&journal, "prod", false);
        effect(&journal, DrainEffect::EnableDrain, T0, Some(Outcome::Done));
        effect(&journal, DrainEffect::CancelTask("T1".into()), T0, Some(Outcome::Done));
        effect(&journal, DrainEffect::CancelTask("T2".into()), T0, Some(Outcome::Failed("500".into())));
        effect(&journal, DrainEffect::CancelTask("T3".into()), T0, None);
        let pending = pending_job(&records(&dir), "prod", "OCTO-1").unwrap();
        assert_eq!(pending.job.cancelled, vec!["T1".to_string(), "T3".to_string()]);
        assert_eq!(pending.uncertain_cancels, vec!["T3".to_string()]);
        assert!(matches!(pending.job.state, DrainState::CancellingTasks { .. }));
    }

    #[test]
    fn a_delete_sent_resumes_deleting_and_an_abort_resumes_aborted() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        start(&journal, "prod", false);
        let at = T0 + Duration::seconds(9);
        effect(&journal, DrainEffect::DeleteNode, at, None);
        let pending = pending_job(&records(&dir), "prod", "OCTO-1").unwrap();
        assert_eq!(pending.job.state, DrainState::Deleting { sent_at: at });
        effect(&journal, DrainEffect::DisableDrain, at, None);
        let pending = pending_job(&records(&dir), "prod", "OCTO-1").unwrap();
        assert_eq!(pending.job.state, DrainState::Aborted { drain_left_on: false });
        assert!(pending.disable_drain_unfinished);
    }

    #[test]
    fn steps_of_an_older_finished_job_do_not_leak_into_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(&dir);
        let old = start(&journal, "prod", false);
        effect(&journal, DrainEffect::CancelTask("T1".into()), T0, Some(Outcome::Done));
        journal.append_result(&old, Outcome::Done, T0).unwrap();
        start(&journal, "prod", false);
        let pending = pending_job(&records(&dir), "prod", "OCTO-1").unwrap();
        assert!(pending.job.cancelled.is_empty());
        assert_eq!(pending.job.state, DrainState::Requested);
    }
}
