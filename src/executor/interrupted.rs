//! Intents a crash, a kill or a quit left without a result. On the next run (holding the apply
//! lock, so no live change owns them: every change holds it from intent to result) each is
//! settled against the real state: the journal then says whether it happened, and the planner and
//! the guard, which read the same state, never repeat it. Reconcile actions, capacity changes,
//! scale-in protection, task caps and lone drain switches are settled here; a drain job's steps
//! are left to the job, which resumes (`node_job::resume`).

use crate::journal::{JournalAction, Outcome, Record, RecordKind};
use crate::model::{same_octopus_id, Action, Deployment};
use crate::snapshot::Snapshot;
use std::collections::HashSet;

/// How every settled result's note starts.
pub const SETTLED: &str = "settled after an interruption";

/// A pending intent and what the fresh state says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptedIntent {
    pub intent: Record,
    pub outcome: Outcome,
    /// "settled after an interruption: capacity is 5, as intended": journaled with the result.
    pub note: String,
}

impl InterruptedIntent {
    /// One line: what it was and how it ended.
    pub fn line(&self) -> String {
        let result = match &self.outcome {
            Outcome::Done => "done".to_string(),
            Outcome::Skipped(why) => format!("skipped ({why})"),
            Outcome::Failed(why) => format!("not done ({why})"),
        };
        format!("{}: {result}", self.intent.action.summary())
    }
}

/// Settle `pending` intents of `profile` against `fresh`. An intent whose evidence could not be
/// read (a failed listing) stays pending for a later run; so does a step of a drain job that is
/// itself unfinished (the job resumes it).
pub fn resolve_interrupted(pending: &[&Record], profile: &str, fresh: &Snapshot) -> Vec<InterruptedIntent> {
    let open_jobs: HashSet<&str> = pending
        .iter()
        .filter(|r| r.profile == profile && r.kind == RecordKind::Intent)
        .flat_map(|r| match &r.action {
            JournalAction::DrainJob { node_id, .. } => vec![node_id.as_str()],
            // A scale-in job's drain steps are its own: it resumes them.
            JournalAction::ScaleInJob { victims, .. } => victims.iter().map(|v| v.node_id.as_str()).collect(),
            _ => vec![],
        })
        .collect();
    pending
        .iter()
        .filter(|record| record.profile == profile)
        .filter_map(|record| {
            let (outcome, seen) = match &record.action {
                JournalAction::Planned { action } => settle(action, fresh)?,
                JournalAction::Scale { scale_set, to, .. } => {
                    let observation = fresh.scale_sets.iter().find(|o| &o.key == scale_set)?;
                    let capacity = observation.listing.as_ref().ok()?.state.capacity;
                    if capacity == *to {
                        (Outcome::Done, format!("capacity is {capacity}, as intended"))
                    } else {
                        let why = format!("capacity is {capacity}, not {to}: the change did not take effect");
                        (Outcome::Failed(why.clone()), why)
                    }
                }
                JournalAction::Protect { scale_set, instance_id, protect } => {
                    let observation = fresh.scale_sets.iter().find(|o| &o.key == scale_set)?;
                    let listing = observation.listing.as_ref().ok()?;
                    let wanted = if *protect { "protected" } else { "unprotected" };
                    match listing.instances.iter().find(|i| &i.instance_id == instance_id) {
                        Some(i) if i.protected_from_scale_in == Some(*protect) => {
                            (Outcome::Done, format!("instance {instance_id} is {wanted}, as intended"))
                        }
                        Some(_) => {
                            let why = format!(
                                "instance {instance_id} is not {wanted}: the change did not take effect"
                            );
                            (Outcome::Failed(why.clone()), why)
                        }
                        None => {
                            let why = format!("instance {instance_id} is gone from {scale_set}");
                            (Outcome::Skipped(why.clone()), why)
                        }
                    }
                }
                JournalAction::Autoscale { scale_set, setting, profile, before, after, .. } => {
                    let observation = fresh.scale_sets.iter().find(|o| &o.key == scale_set)?;
                    let now = observation.others.setting.as_ref().ok()?;
                    settle_autoscale(now.as_ref(), setting, profile.as_deref(), before, after)
                }
                JournalAction::Admit { node_id, task_cap: to, .. }
                | JournalAction::TaskCap { node_id, to, .. } => {
                    let nodes = fresh.nodes.as_ref().ok()?;
                    match nodes.iter().find(|n| &n.id == node_id) {
                        Some(n) if n.max_concurrent_tasks == *to => {
                            (Outcome::Done, format!("{}'s task cap is {to}, as intended", n.name))
                        }
                        Some(n) => {
                            let why =
                                format!("{}'s task cap is {}, not {to}", n.name, n.max_concurrent_tasks);
                            (Outcome::Failed(why.clone()), why)
                        }
                        None => {
                            let why = format!("node {node_id} is gone");
                            (Outcome::Skipped(why.clone()), why)
                        }
                    }
                }
                JournalAction::Drain { node_id, node_name, effect }
                    if !open_jobs.contains(node_id.as_str()) =>
                {
                    let nodes = fresh.nodes.as_ref().ok()?;
                    let node = nodes.iter().find(|n| &n.id == node_id);
                    use crate::drain::DrainEffect;
                    let done = match effect {
                        DrainEffect::EnableDrain => node.map(|n| n.drain),
                        DrainEffect::DisableDrain => node.map(|n| !n.drain),
                        DrainEffect::DeleteNode => Some(node.is_none()),
                        DrainEffect::CancelTask(_) => None,
                    }?;
                    if done {
                        (Outcome::Done, format!("{node_name} shows it done"))
                    } else {
                        let why = format!("{node_name} does not show it done");
                        (Outcome::Failed(why.clone()), why)
                    }
                }
                _ => return None,
            };
            Some(InterruptedIntent { intent: (*record).clone(), outcome, note: format!("{SETTLED}: {seen}") })
        })
        .collect()
}

fn settle(action: &Action, fresh: &Snapshot) -> Option<(Outcome, String)> {
    match action {
        Action::DeleteTarget { target_id, .. } => {
            let targets = fresh.targets.as_ref().ok()?;
            Some(if targets.iter().any(|t| same_octopus_id(&t.id, target_id)) {
                let why = format!("interrupted before it ran: {target_id} is still registered");
                (Outcome::Failed(why.clone()), why)
            } else {
                (Outcome::Done, format!("{target_id} is no longer registered"))
            })
        }
        Action::Deploy { project_id, release_id, target_ids, tenant, .. } => {
            let projects = fresh.projects.as_ref().ok()?;
            let project = projects.iter().find(|p| same_octopus_id(&p.project_id, project_id))?;
            // Only this tenant's deployments (or untenanted ones) count; a tenant gone since
            // cannot be told about: left unsettled.
            let lane = crate::reconcile::Lane::find(project, tenant.as_ref().map(|t| t.id.as_str()))?;
            // The executor's POST names its targets. A whole-environment deployment (no specific
            // targets) "covers" any target on paper, but an old one never reached targets that
            // registered after it: only naming them, or having reached them, shows it happened.
            let created = lane
                .deployments()
                .filter(|d| same_octopus_id(&d.release_id, release_id))
                .any(|d| target_ids.iter().all(|target| names_or_reached(d, target)));
            Some(if created {
                (Outcome::Done, format!("a deployment of {release_id} covers its targets"))
            } else {
                let why = "interrupted before the deployment was created".to_string();
                (Outcome::Failed(why.clone()), why)
            })
        }
        Action::CompleteLifecycle { scale_set, instance_id, transition, .. } => {
            let observation = fresh.scale_sets.iter().find(|s| &s.key == scale_set)?;
            let listing = observation.listing.as_ref().ok()?;
            let instance = listing.instances.iter().find(|i| &i.instance_id == instance_id);
            let waiting = instance.and_then(|i| i.lifecycle_state()).is_some_and(|state| {
                state.hook_wait() == Some(*transition)
                    || state.as_str().eq_ignore_ascii_case("Warmed:Pending:Wait")
            });
            Some(if waiting {
                let why = format!("interrupted before it ran: {instance_id} still waits on its hook");
                (Outcome::Failed(why.clone()), why)
            } else {
                (
                    Outcome::Done,
                    format!("{instance_id} no longer waits on its hook (completed, or timed out)"),
                )
            })
        }
        Action::LifecycleHeartbeat { instance_id, .. } => {
            let why = format!("a heartbeat for {instance_id} only extends a wait: nothing to settle");
            Some((Outcome::Skipped(why.clone()), why))
        }
        Action::Wait { .. } | Action::WaitForDeployment { .. } | Action::Note { .. } => None,
    }
}

/// An Autoscale change against the setting as read now: its values are `after` (done), still
/// `before` (it did not take effect), or neither (someone changed it since: skipped, nothing to
/// redo).
fn settle_autoscale(
    now: Option<&crate::autoscale::Setting>,
    setting: &str,
    profile: Option<&str>,
    before: &crate::autoscale::ProfileValues,
    after: &crate::autoscale::ProfileValues,
) -> (Outcome, String) {
    let Some(now) = now.filter(|s| s.name.eq_ignore_ascii_case(setting)) else {
        let why = format!("the Autoscale setting {setting} is gone");
        return (Outcome::Skipped(why.clone()), why);
    };
    let capacity = match profile {
        Some(name) => now.profiles.iter().find(|p| p.name == name).map(|p| p.capacity),
        None => None,
    };
    let values = crate::autoscale::ProfileValues { enabled: now.enabled, capacity };
    if values == *after {
        (Outcome::Done, format!("Autoscale setting {setting} is {values}, as intended"))
    } else if values == *before {
        let why = format!("Autoscale setting {setting} is still {values}: the change did not take effect");
        (Outcome::Failed(why.clone()), why)
    } else {
        let why = format!(
            "Autoscale setting {setting} is {values}, neither as before nor as intended: changed since"
        );
        (Outcome::Skipped(why.clone()), why)
    }
}

fn names_or_reached(deployment: &Deployment, target_id: &str) -> bool {
    let named = deployment.specific_machine_ids.iter().any(|id| same_octopus_id(id, target_id))
        && deployment.covers(target_id);
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
            note: None,
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
            tenant: None,
        }
    }

    fn intent_of(action: JournalAction) -> Record {
        Record { action, ..intent("prod", delete("Machines-1")) }
    }

    /// Defect 1 of issue 15: a scale the console quit on is settled against the capacity now.
    #[test]
    fn a_scale_is_done_when_the_capacity_is_its_target_and_failed_otherwise() {
        let fresh = SnapshotBuilder::new(at(10)).set("web", 5, vec![]).build();
        let key = fresh.scale_sets[0].key.clone();
        let reached = intent_of(JournalAction::Scale { scale_set: key.clone(), from: Some(3), to: 5 });
        let missed = intent_of(JournalAction::Scale { scale_set: key, from: Some(5), to: 7 });
        let settled = resolve_interrupted(&[&reached, &missed], "prod", &fresh);
        assert_eq!(settled.len(), 2);
        assert_eq!(settled[0].outcome, Outcome::Done);
        assert!(
            settled[0].note.starts_with("settled after an interruption: capacity is 5"),
            "{}",
            settled[0].note
        );
        assert!(matches!(&settled[1].outcome, Outcome::Failed(why) if why.contains("not 7")));
        let unread = SnapshotBuilder::new(at(10)).failed_set("web").build();
        assert!(
            resolve_interrupted(&[&reached], "prod", &unread).is_empty(),
            "a failed listing proves nothing"
        );
    }

    /// Issue 15 defect 1 for Autoscale changes: settled against the setting as read now.
    #[test]
    fn an_autoscale_change_is_settled_against_the_setting_now() {
        use crate::autoscale::{CapacityRange, ProfileValues};
        let range = |minimum, maximum, default| Some(CapacityRange { minimum, maximum, default });
        let before = ProfileValues { enabled: true, capacity: range(2, 6, 3) };
        let after = ProfileValues { enabled: true, capacity: range(2, 8, 3) };
        let setting_with = |maximum: u32| {
            let resource = serde_json::json!({
                "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/web-autoscale",
                "name": "web-autoscale",
                "properties": {
                    "enabled": true,
                    "targetResourceUri": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
                    "profiles": [{"name": "default", "capacity": {"minimum": "2", "maximum": maximum.to_string(), "default": "3"}, "rules": []}]
                }
            });
            crate::autoscale::parse_setting(&resource).expect("a valid setting")
        };
        let with = |setting: Option<crate::autoscale::Setting>| {
            let mut fresh = SnapshotBuilder::new(at(10)).set("web", 3, vec![]).build();
            fresh.scale_sets[0].others.setting = Ok(setting);
            fresh
        };
        let key = with(None).scale_sets[0].key.clone();
        let record = intent_of(JournalAction::Autoscale {
            scale_set: key,
            setting: "web-autoscale".into(),
            profile: Some("default".into()),
            before,
            after,
            concurrency: "re-read".into(),
        });
        let outcome = |fresh: &Snapshot| resolve_interrupted(&[&record], "prod", fresh)[0].outcome.clone();
        assert_eq!(outcome(&with(Some(setting_with(8)))), Outcome::Done);
        assert!(
            matches!(outcome(&with(Some(setting_with(6)))), Outcome::Failed(why) if why.contains("did not take effect"))
        );
        assert!(
            matches!(outcome(&with(Some(setting_with(9)))), Outcome::Skipped(why) if why.contains("changed since"))
        );
        assert!(matches!(outcome(&with(None)), Outcome::Skipped(why) if why.contains("gone")));
        let mut unread = with(None);
        unread.scale_sets[0].others.setting = Err(crate::snapshot::ReadFailure::new("autoscale", "403"));
        assert!(
            resolve_interrupted(&[&record], "prod", &unread).is_empty(),
            "an unread setting proves nothing"
        );
    }

    /// Octopus ids name one document in any case: a fresh listing spelling the ids in another
    /// case settles an interrupted delete and deploy as they really are (they read as "deleted"
    /// and "never created").
    #[test]
    fn interrupted_actions_are_settled_whatever_case_the_server_spells_ids_in() {
        let mut web = project("PROJECTS-1", Some("RELEASES-1"));
        web.deployments = vec![deployment(
            "Deployments-9",
            "projects-1",
            "releases-1",
            &["machines-2"],
            &[],
            TaskState::Queued,
        )];
        let fresh =
            SnapshotBuilder::new(at(10)).targets(vec![target("machines-1", "web-1")]).project(web).build();
        let delete = intent("prod", delete("Machines-1"));
        let deploy = intent("prod", deploy("Releases-1", &["Machines-2"]));
        let settled = resolve_interrupted(&[&delete, &deploy], "prod", &fresh);
        assert_eq!(settled.len(), 2, "{settled:?}");
        assert!(
            matches!(&settled[0].outcome, Outcome::Failed(why) if why.contains("still registered")),
            "{settled:?}"
        );
        assert_eq!(settled[1].outcome, Outcome::Done, "{settled:?}");
    }

    #[test]
    fn protection_and_task_caps_are_settled_against_what_is_there() {
        let mut protected = crate::reconcile::testkit::vm("web", 1);
        protected.protected_from_scale_in = Some(true);
        let mut fresh = SnapshotBuilder::new(at(10)).set("web", 1, vec![protected]).build();
        fresh.nodes = Ok(vec![crate::model::Node {
            id: "N-1".into(),
            name: "OCTO-1".into(),
            last_seen: None,
            is_offline: false,
            drain: false,
            max_concurrent_tasks: 0,
            running_tasks: 0,
            version: None,
        }]);
        let key = fresh.scale_sets[0].key.clone();
        let protect =
            intent_of(JournalAction::Protect { scale_set: key, instance_id: "1".into(), protect: true });
        let cap = intent_of(JournalAction::TaskCap { node_id: "N-1".into(), from: Some(0), to: 5 });
        let undrain = intent_of(JournalAction::Drain {
            node_id: "N-1".into(),
            node_name: "OCTO-1".into(),
            effect: crate::drain::DrainEffect::DisableDrain,
        });
        let job = intent_of(JournalAction::DrainJob {
            node_id: "N-1".into(),
            node_name: "OCTO-1".into(),
            force: false,
            wait_secs: 60,
        });
        let settled = resolve_interrupted(&[&protect, &cap, &undrain], "prod", &fresh);
        let outcomes: Vec<&Outcome> = settled.iter().map(|s| &s.outcome).collect();
        assert_eq!(outcomes[0], &Outcome::Done);
        assert!(matches!(outcomes[1], Outcome::Failed(why) if why.contains("task cap is 0")));
        assert_eq!(outcomes[2], &Outcome::Done, "drain is off");
        let with_job = resolve_interrupted(&[&job, &undrain], "prod", &fresh);
        assert!(with_job.is_empty(), "a drain job's steps are left to the job, which resumes");
        let victim = crate::ha::Victim {
            node_id: "N-1".into(),
            node_name: "OCTO-1".into(),
            instance_id: "1".into(),
            vm_id: None,
            computer_name: None,
            why: "idle".into(),
        };
        let key = fresh.scale_sets[0].key.clone();
        let scale_in = intent_of(JournalAction::ScaleInJob {
            scale_set: key.clone(),
            victims: vec![victim],
            wait_secs: 60,
            hook: None,
        });
        let vm_delete =
            intent_of(JournalAction::DeleteInstances { scale_set: key, instance_ids: vec!["1".into()] });
        let with_scale_in = resolve_interrupted(&[&scale_in, &undrain, &vm_delete], "prod", &fresh);
        assert!(
            with_scale_in.is_empty(),
            "a scale-in's steps, its VM delete too, are left to it: {with_scale_in:?}"
        );
        let admit = intent_of(JournalAction::Admit {
            node_id: "N-1".into(),
            node_name: "OCTO-1".into(),
            task_cap: 5,
        });
        let settled = resolve_interrupted(&[&admit], "prod", &fresh);
        assert!(
            matches!(&settled[0].outcome, Outcome::Failed(why) if why.contains("task cap is 0")),
            "{settled:?}"
        );
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

    /// Found by tests/it/crash_safety.rs: a deploy killed before its POST landed was journaled
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
