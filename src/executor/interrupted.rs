//! Intents a crash or a kill left without a result. On the next run (holding the apply lock, so no
//! live executor owns them) each is settled against the real state: the journal then says whether
//! it happened, and the planner, which reads the same state, never repeats it.

use crate::journal::{JournalAction, Outcome, Record};
use crate::model::{Action, Deployment};
use crate::snapshot::Snapshot;

/// A pending intent and what the fresh state says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptedIntent {
    pub intent: Record,
    pub outcome: Outcome,
}

/// Settle `pending` reconcile intents of `profile` against `fresh`. An intent whose evidence could
/// not be read (a failed listing) stays pending for a later run.
pub fn resolve_interrupted(pending: &[&Record], profile: &str, fresh: &Snapshot) -> Vec<InterruptedIntent> {
    pending
        .iter()
        .filter(|record| record.profile == profile)
        .filter_map(|record| {
            let JournalAction::Planned { action } = &record.action else { return None };
            settle(action, fresh).map(|outcome| InterruptedIntent { intent: (*record).clone(), outcome })
        })
        .collect()
}

fn settle(action: &Action, fresh: &Snapshot) -> Option<Outcome> {
    match action {
        Action::DeleteTarget { target_id, .. } => {
            let targets = fresh.targets.as_ref().ok()?;
            Some(if targets.iter().any(|t| &t.id == target_id) {
                Outcome::Failed(format!("interrupted before it ran: {target_id} is still registered"))
            } else {
                Outcome::Done
            })
        }
        Action::Deploy { project_id, release_id, target_ids, .. } => {
            let projects = fresh.projects.as_ref().ok()?;
            let project = projects.iter().find(|p| &p.project_id == project_id)?;
            // The executor's POST names its targets. A whole-environment deployment (no specific
            // targets) "covers" any target on paper, but an old one never reached targets that
            // registered after it: only naming them, or having reached them, shows it happened.
            let created = project
                .deployments
                .iter()
                .filter(|d| &d.release_id == release_id)
                .any(|d| target_ids.iter().all(|target| names_or_reached(d, target)));
            Some(if created {
                Outcome::Done
            } else {
                Outcome::Failed("interrupted before the deployment was created".into())
            })
        }
        Action::Wait { .. } | Action::WaitForDeployment { .. } | Action::Note { .. } => None,
    }
}

fn names_or_reached(deployment: &Deployment, target_id: &str) -> bool {
    let named =
        deployment.specific_machine_ids.iter().any(|id| id == target_id) && deployment.covers(target_id);
    named || deployment.reached(target_id) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RecordKind;
    use crate::model::TaskState;
    use crate::reconcile::testkit::{at, deployment, project, target, SnapshotBuilder};
    use uuid::Uuid;

    fn intent(profile: &str, action: Action) -> Record {
        Record {
            time: at(0),
            kind: RecordKind::Intent,
            intent_id: Uuid::new_v4(),
            profile: profile.into(),
            operator: "ops".into(),
            reason: "test".into(),
            action: JournalAction::Planned { action },
            outcome: None,
        }
    }

    fn delete(target_id: &str) -> Action {
        Action::DeleteTarget {
            target_id: target_id.into(),
            target_name: target_id.into(),
            last_instance_id: None,
            absent_observations: 3,
            absent_secs: 600,
            requires_confirmation: false,
        }
    }

    fn deploy(release_id: &str, targets: &[&str]) -> Action {
        Action::Deploy {
            project_id: "Projects-1".into(),
            project_name: "Web".into(),
            release_id: release_id.into(),
            release_version: "1.0".into(),
            environment_id: "Environments-1".into(),
            target_ids: targets.iter().map(|t| t.to_string()).collect(),
            target_names: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn a_delete_is_done_when_the_target_is_gone_and_failed_when_it_is_still_there() {
        let fresh = SnapshotBuilder::new(at(10)).targets(vec![target("Machines-2", "web-2")]).build();
        let gone = intent("prod", delete("Machines-1"));
        let still_there = intent("prod", delete("Machines-2"));
        let settled = resolve_interrupted(&[&gone, &still_there], "prod", &fresh);
        assert_eq!(settled.len(), 2);
        assert_eq!(settled[0].outcome, Outcome::Done);
        assert!(matches!(&settled[1].outcome, Outcome::Failed(why) if why.contains("still registered")));
    }

    #[test]
    fn nothing_is_settled_from_a_failed_listing_or_for_another_profile() {
        let failed = SnapshotBuilder::new(at(10)).failed_targets().failed_projects().build();
        let records =
            [intent("prod", delete("Machines-1")), intent("prod", deploy("Releases-1", &["Machines-1"]))];
        let refs: Vec<&Record> = records.iter().collect();
        assert!(resolve_interrupted(&refs, "prod", &failed).is_empty());
        let fresh = SnapshotBuilder::new(at(10)).build();
        assert!(resolve_interrupted(&refs[..1], "staging", &fresh).is_empty());
    }

    #[test]
    fn a_deploy_is_done_only_when_a_deployment_of_that_release_covers_every_target() {
        let mut state = project("Projects-1", Some("Releases-1"));
        state.deployments = vec![deployment(
            "Deployments-1",
            "Projects-1",
            "Releases-1",
            &["Machines-1"],
            &[],
            TaskState::Queued,
        )];
        let fresh = SnapshotBuilder::new(at(10)).project(state).build();
        let covered = intent("prod", deploy("Releases-1", &["Machines-1"]));
        let partly = intent("prod", deploy("Releases-1", &["Machines-1", "Machines-2"]));
        let settled = resolve_interrupted(&[&covered, &partly], "prod", &fresh);
        assert_eq!(settled[0].outcome, Outcome::Done);
        assert!(matches!(settled[1].outcome, Outcome::Failed(_)));
    }

    /// Found by tests/crash_safety.rs: a deploy killed before its POST landed was journaled
    /// "done" because the release's earlier whole-environment deployment "covers" every target.
    #[test]
    fn an_old_whole_environment_deployment_does_not_settle_a_deploy_to_new_targets() {
        let mut state = project("Projects-1", Some("Releases-1"));
        let old =
            deployment("Deployments-1", "Projects-1", "Releases-1", &[], &["Machines-1"], TaskState::Success);
        state.deployments = vec![old];
        let fresh = SnapshotBuilder::new(at(10)).project(state).build();
        let to_new = intent("prod", deploy("Releases-1", &["Machines-7"]));
        let to_reached = intent("prod", deploy("Releases-1", &["Machines-1"]));
        let settled = resolve_interrupted(&[&to_new, &to_reached], "prod", &fresh);
        assert!(matches!(&settled[0].outcome, Outcome::Failed(why) if why.contains("before the deployment")));
        assert_eq!(settled[1].outcome, Outcome::Done, "a target the release reached has it");
    }
}
