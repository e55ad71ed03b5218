//! Pure: find a drain-first scale-in a killed process left unfinished, and rebuild it.
//!
//! The job is a `ScaleInJob` intent with no result; its steps are the victims' `Drain` records and
//! one `DeleteInstances` record after it. As with a drain job, the rebuilt state is a starting
//! point: the session observes the nodes and the scale set again and `ha::scale_in::step` decides
//! from what it sees, so a step the world shows done is never sent again.

use super::resume::{rebuild_drain, Rebuilt};
use crate::drain::{DrainEffect, DrainJob, DrainState};
use crate::ha::scale_in::{ScaleInJob, ScaleInPhase, VictimJob};
use crate::journal::{JournalAction, Outcome, Record, RecordKind};
use crate::model::ScaleSetKey;
use std::collections::HashMap;
use uuid::Uuid;

/// An unfinished scale-in found in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingScaleIn {
    /// The job's start intent: its result closes the job.
    pub intent: Record,
    pub job: ScaleInJob,
    /// (node id, task id) of cancels journaled without a result.
    pub uncertain_cancels: Vec<(String, String)>,
    /// Victims whose "turn drain off" (an abort) has no result yet.
    pub disable_drain_unfinished: Vec<String>,
    /// The VM delete journaled without a result: the job settles it from what the listing shows.
    pub vm_delete_open: Option<Record>,
    /// The victims' drain-on and node-delete steps journaled without a result: the job closes
    /// each once the nodes show it done.
    pub steps_open: Vec<Record>,
    /// The hook holding the victim's instance, as first seen (provider-driven jobs only).
    pub hook: Option<crate::ha::hook::HookWait>,
}

/// The latest unfinished drain-first scale-in an operator started for `profile` (of `key`'s set
/// when given); the provider-driven ones are `pending_hook_jobs`'.
pub fn pending_scale_in(
    records: &[Record],
    profile: &str,
    key: Option<&ScaleSetKey>,
) -> Option<PendingScaleIn> {
    let results = results_by_intent(records);
    let (start, _) = records.iter().enumerate().rev().find(|(_, r)| {
        open_scale_in(r, profile, &results)
            && matches!(&r.action, JournalAction::ScaleInJob { scale_set, hook: None, .. } if key.is_none_or(|k| k == scale_set))
    })?;
    rebuild(records, start, &results, profile)
}

/// Every unfinished provider-driven job of `profile` on `key`'s set (`scaleguard node hooks`: a
/// node drained while a lifecycle hook holds its terminating instance), oldest first.
pub fn pending_hook_jobs(records: &[Record], profile: &str, key: &ScaleSetKey) -> Vec<PendingScaleIn> {
    let results = results_by_intent(records);
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            open_scale_in(r, profile, &results)
                && matches!(&r.action, JournalAction::ScaleInJob { scale_set, hook: Some(_), .. } if scale_set == key)
        })
        .filter_map(|(start, _)| rebuild(records, start, &results, profile))
        .collect()
}

fn results_by_intent(records: &[Record]) -> HashMap<Uuid, &Record> {
    records.iter().filter(|r| r.kind == RecordKind::Result).map(|r| (r.intent_id, r)).collect()
}

fn open_scale_in(record: &Record, profile: &str, results: &HashMap<Uuid, &Record>) -> bool {
    record.kind == RecordKind::Intent
        && record.profile == profile
        && !results.contains_key(&record.intent_id)
        && matches!(record.action, JournalAction::ScaleInJob { .. })
}

/// The job started by the intent at `start`, rebuilt from the records after it.
fn rebuild(
    records: &[Record],
    start: usize,
    results: &HashMap<Uuid, &Record>,
    profile: &str,
) -> Option<PendingScaleIn> {
    let intent = &records[start];
    let JournalAction::ScaleInJob { scale_set, victims, wait_secs, hook } = &intent.action else {
        return None;
    };
    let after = &records[start + 1..];
    let mut uncertain_cancels = Vec::new();
    let mut disable_drain_unfinished = Vec::new();
    let mut aborted = false;
    let mut deleting_nodes = false;
    let mut jobs = Vec::new();
    for victim in victims {
        let fresh = DrainJob {
            node_id: victim.node_id.clone(),
            node_name: victim.node_name.clone(),
            force: false,
            wait_secs: *wait_secs,
            state: DrainState::Requested,
            cancelled: Vec::new(),
        };
        let Rebuilt { job, uncertain_cancels: uncertain, disable } =
            rebuild_drain(fresh, after, results, profile);
        uncertain_cancels.extend(uncertain.into_iter().map(|task| (victim.node_id.clone(), task)));
        match disable {
            Some(false) => {
                aborted = true;
                disable_drain_unfinished.push(victim.node_id.clone());
            }
            Some(true) => aborted = true,
            None => {}
        }
        deleting_nodes |= matches!(job.state, DrainState::Deleting { .. });
        let enabled_drain = after.iter().any(|r| {
            r.kind == RecordKind::Intent
                && r.profile == profile
                && matches!(&r.action, JournalAction::Drain { node_id, effect: DrainEffect::EnableDrain, .. }
                    if *node_id == victim.node_id)
        });
        let mut victim_job = VictimJob::new(victim.clone(), *wait_secs);
        victim_job.drain = job;
        victim_job.enabled_drain = enabled_drain;
        jobs.push(victim_job);
    }
    // A provider-driven job never deletes VMs: another job's delete of this set is not its own.
    let vm_delete = after.iter().rev().filter(|_| hook.is_none()).find(|r| {
        r.kind == RecordKind::Intent
            && r.profile == profile
            && matches!(&r.action, JournalAction::DeleteInstances { scale_set: set, .. } if set == scale_set)
    });
    let phase = if aborted {
        for victim in &mut jobs {
            victim.drain.state = DrainState::Aborted { drain_left_on: false };
        }
        ScaleInPhase::Aborted { drain_left_on: false }
    } else {
        match vm_delete.map(|r| results.get(&r.intent_id).and_then(|result| result.outcome.clone())) {
            Some(Some(Outcome::Done)) if scale_set.provider != "aws" => ScaleInPhase::DeletingNodes,
            // Terminated on AWS: gone only once a listing shows it (see `delete_call_removes`).
            Some(Some(Outcome::Done)) => ScaleInPhase::RemovingVms { sent_at: vm_delete.map(|r| r.time) },
            _ if deleting_nodes => ScaleInPhase::DeletingNodes,
            // Sent, and no word how it went: the listing tells (never sent again while it shows
            // the VMs being deleted).
            Some(None) => ScaleInPhase::RemovingVms { sent_at: vm_delete.map(|r| r.time) },
            // Refused or failed: look again and send what is still there.
            Some(Some(_)) => ScaleInPhase::RemovingVms { sent_at: None },
            None => ScaleInPhase::Draining,
        }
    };
    let vm_delete_open = vm_delete.filter(|r| !results.contains_key(&r.intent_id)).cloned();
    let steps_open = after
        .iter()
        .filter(|r| {
            r.kind == RecordKind::Intent
                && r.profile == profile
                && !results.contains_key(&r.intent_id)
                && matches!(&r.action, JournalAction::Drain { node_id, effect: DrainEffect::EnableDrain | DrainEffect::DeleteNode, .. }
                    if victims.iter().any(|v| v.node_id == *node_id))
        })
        .cloned()
        .collect();
    Some(PendingScaleIn {
        intent: intent.clone(),
        job: ScaleInJob {
            scale_set: scale_set.clone(),
            victims: jobs,
            phase,
            provider_removes: hook.is_some(),
        },
        hook: hook.clone(),
        uncertain_cancels,
        disable_drain_unfinished,
        vm_delete_open,
        steps_open,
    })
}

/// The victims' node ids of every unfinished scale-in of `profile`: a plain drain of one of them
/// would fight the job.
pub fn nodes_in_open_scale_ins(records: &[Record], profile: &str) -> Vec<(String, String)> {
    let finished: std::collections::HashSet<Uuid> =
        records.iter().filter(|r| r.kind == RecordKind::Result).map(|r| r.intent_id).collect();
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent && r.profile == profile && !finished.contains(&r.intent_id))
        .flat_map(|r| match &r.action {
            JournalAction::ScaleInJob { victims, .. } => {
                victims.iter().map(|v| (v.node_id.clone(), v.node_name.clone())).collect()
            }
            _ => vec![],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::Victim;
    use crate::journal::Journal;
    use time::macros::datetime;
    use time::OffsetDateTime;

    const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    fn key() -> ScaleSetKey {
        ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "sub".into(),
            resource_group: "rg".into(),
            name: "vmss-octo".into(),
        }
    }

    fn victim(n: u32) -> Victim {
        Victim {
            node_id: format!("N{n}"),
            node_name: format!("OCTO{n}"),
            instance_id: n.to_string(),
            vm_id: Some(format!("vm-{n}")),
            computer_name: Some(format!("octo{n}")),
            why: "idle".into(),
        }
    }

    fn start(journal: &Journal) -> Record {
        let action = JournalAction::ScaleInJob {
            scale_set: key(),
            victims: vec![victim(1), victim(2)],
            wait_secs: 600,
            hook: None,
        };
        journal.append_intent("prod", "scale in", action, T0).unwrap()
    }

    fn step(journal: &Journal, n: u32, effect: DrainEffect, outcome: Option<Outcome>) {
        let action = JournalAction::Drain { node_id: format!("N{n}"), node_name: format!("OCTO{n}"), effect };
        let intent = journal.append_intent("prod", "step", action, T0).unwrap();
        if let Some(outcome) = outcome {
            journal.append_result(&intent, outcome, T0).unwrap();
        }
    }

    fn delete_vms(journal: &Journal, outcome: Option<Outcome>) {
        let action =
            JournalAction::DeleteInstances { scale_set: key(), instance_ids: vec!["1".into(), "2".into()] };
        let intent = journal.append_intent("prod", "step", action, T0).unwrap();
        if let Some(outcome) = outcome {
            journal.append_result(&intent, outcome, T0).unwrap();
        }
    }

    fn pending(dir: &tempfile::TempDir) -> Option<PendingScaleIn> {
        let (records, _) = crate::journal::read_all(&dir.path().join("j.jsonl")).unwrap();
        pending_scale_in(&records, "prod", Some(&key()))
    }

    #[test]
    fn each_phase_is_rebuilt_from_the_steps_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
        assert_eq!(pending(&dir), None);
        let intent = start(&journal);
        assert_eq!(pending(&dir).unwrap().job.phase, ScaleInPhase::Draining);
        step(&journal, 1, DrainEffect::EnableDrain, Some(Outcome::Done));
        step(&journal, 2, DrainEffect::EnableDrain, None);
        let p = pending(&dir).unwrap();
        assert!(matches!(p.job.victims[0].drain.state, DrainState::WaitingForTasks { .. }));
        assert!(matches!(p.job.victims[1].drain.state, DrainState::DrainEnabling { .. }));
        assert!(p.job.victims.iter().all(|v| v.enabled_drain));
        delete_vms(&journal, None);
        let p = pending(&dir).unwrap();
        assert_eq!(p.job.phase, ScaleInPhase::RemovingVms { sent_at: Some(T0) });
        assert!(p.vm_delete_open.is_some());
        delete_vms(&journal, Some(Outcome::Done));
        assert_eq!(pending(&dir).unwrap().job.phase, ScaleInPhase::DeletingNodes);
        step(&journal, 1, DrainEffect::DeleteNode, None);
        let p = pending(&dir).unwrap();
        assert_eq!(p.job.victims[0].drain.state, DrainState::Deleting { sent_at: T0 });
        let (records, _) = crate::journal::read_all(&dir.path().join("j.jsonl")).unwrap();
        assert_eq!(nodes_in_open_scale_ins(&records, "prod").len(), 2);
        journal.append_result(&intent, Outcome::Done, T0).unwrap();
        assert_eq!(pending(&dir), None);
    }

    #[test]
    fn a_failed_vm_delete_is_looked_at_again_and_an_abort_resumes_aborted() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
        start(&journal);
        delete_vms(&journal, Some(Outcome::Failed("409".into())));
        assert_eq!(pending(&dir).unwrap().job.phase, ScaleInPhase::RemovingVms { sent_at: None });
        step(&journal, 2, DrainEffect::DisableDrain, None);
        let p = pending(&dir).unwrap();
        assert_eq!(p.job.phase, ScaleInPhase::Aborted { drain_left_on: false });
        assert_eq!(p.disable_drain_unfinished, vec!["N2".to_string()]);
    }
}
