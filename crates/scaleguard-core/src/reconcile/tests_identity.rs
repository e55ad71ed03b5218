//! Which VM a target stands for (issue 13 review, breaks 5, 6 and 9): a target once matched is
//! deleted only when *that* VM (by vmId, else instance id) is gone; a target never matched is not
//! deleted while a listed VM has no target (it may be that VM's under a name we do not see); a
//! vmId in another case is the same VM; deleting every target of a set needs the typed confirmation.

use super::testkit::*;
use super::tests_deletes::{deleted_ids, refresh};
use super::*;
use crate::config::MatchBy;
use crate::model::{Action, Instance, TaskState};
use crate::snapshot::Snapshot;

fn three_targets() -> Vec<crate::model::Target> {
    vec![
        target_on("Machines-1", "web", 1),
        target_on("Machines-2", "web", 2),
        target_on("Machines-3", "web", 3),
    ]
}

fn listed(secs: i64, instances: Vec<Instance>, targets: Vec<crate::model::Target>) -> Snapshot {
    let capacity = instances.len() as u32;
    SnapshotBuilder::new(at(secs)).set("web", capacity, instances).targets(targets).build()
}

fn web(ids: &[u32]) -> Vec<Instance> {
    ids.iter().map(|id| vm("web", *id)).collect()
}

fn note<'p>(plan: &'p Plan, id: &str) -> Option<&'p crate::model::PlannedAction> {
    plan.actions.iter().find(|a| a.id == id)
}

/// Break 6 generalised: a target no VM ever matched (its name is the VM's under another
/// spelling, or a legacy target) was deleted while the set listed a VM that has no target.
#[test]
fn a_never_matched_target_is_not_deleted_while_a_listed_vm_has_no_target() {
    let mut targets = three_targets();
    targets.pop();
    targets.push(target("Machines-9", "WEB-PROD-03"));
    let mut history = History::default();
    let mut plan = refresh(&mut history, &listed(0, web(&[1, 2, 3]), targets.clone()));
    for secs in [100, 200, 300, 400, 500] {
        plan = refresh(&mut history, &listed(secs, web(&[1, 2, 3]), targets.clone()));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:#?}");
    }
    let held = note(&plan, "note:never-matched-held").expect("the plan says why deletes are held");
    let text = format!("{} {:?}", held.reason, held.observations);
    assert!(text.contains("Machines-9") && text.contains("web-3"), "{text}");
    // Once every listed VM has a target, the never-matched one is gone on the usual evidence.
    targets.push(target_on("Machines-3", "web", 3));
    for secs in [600, 700, 800, 900] {
        plan = refresh(&mut history, &listed(secs, web(&[1, 2, 3]), targets.clone()));
    }
    assert_eq!(deleted_ids(&plan), ["Machines-9"]);
}

/// Break 6 as the report ran it: `match` switched to `instance_name`, so no target's name matched
/// any VM, and every target of a running VM was deleted.
#[test]
fn a_target_whose_vm_is_still_listed_is_kept_when_its_name_stops_matching() {
    let mut history = History::default();
    refresh(&mut history, &listed(0, web(&[1, 2, 3]), three_targets()));
    for secs in [100, 200, 300, 400, 500] {
        let mut snapshot = listed(secs, web(&[1, 2, 3]), three_targets());
        snapshot.scale_sets[0].match_by = MatchBy::InstanceName;
        let plan = refresh(&mut history, &snapshot);
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:#?}");
    }
    for target in ["Machines-1", "Machines-2", "Machines-3"] {
        assert_eq!(history.target(target).and_then(|t| t.absence.as_ref()), None, "{target}");
    }
}

/// The rule still deletes what it must: a matched target goes once its own VM is gone, even
/// while another VM (a new one, not registered yet) has no target.
#[test]
fn a_matched_target_goes_once_its_own_vm_is_gone_whatever_other_vms_lack() {
    let mut history = History::default();
    refresh(&mut history, &listed(0, web(&[1, 2, 3]), three_targets()));
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400] {
        plan = refresh(&mut history, &listed(secs, web(&[1, 2, 4]), three_targets()));
    }
    assert_eq!(deleted_ids(&plan), ["Machines-3"]);
}

/// Break 9: the same vmId spelled in upper case read as a new VM under a reused instance id, and
/// the release was redeployed to every target.
#[test]
fn a_vm_id_in_another_case_is_the_same_vm() {
    let snapshot = |secs, upper: bool| {
        let instances = web(&[1, 2, 3])
            .into_iter()
            .map(|vm| Instance {
                vm_id: vm.vm_id.map(|id| if upper { id.to_ascii_uppercase() } else { id }),
                ..vm
            })
            .collect();
        let mut project = project("Projects-1", Some("Releases-1"));
        let mut reached = deployment(
            "Deployments-1",
            "Projects-1",
            "Releases-1",
            &[],
            &["Machines-1", "Machines-2", "Machines-3"],
            TaskState::Success,
        );
        reached.created = Some(at(-100));
        project.deployments = vec![reached];
        let mut snapshot = listed(secs, instances, three_targets());
        snapshot.projects = Ok(vec![project]);
        snapshot
    };
    let mut history = History::default();
    refresh(&mut history, &snapshot(0, false));
    let plan = refresh(&mut history, &snapshot(100, true));
    for target in ["Machines-1", "Machines-2", "Machines-3"] {
        assert_eq!(history.target(target).and_then(|t| t.replaced_vm.as_ref()), None, "{target}");
    }
    assert!(!plan.has_changes(), "{plan:#?}");
}

/// Deleting every target of a set at once needs the typed confirmation, as capacity 0 does.
#[test]
fn deleting_every_target_of_a_set_needs_the_count_typed() {
    let mut history = History::default();
    refresh(&mut history, &listed(0, web(&[1, 2, 3]), three_targets()));
    // Every VM replaced by new ones that have not registered yet.
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400] {
        plan = refresh(&mut history, &listed(secs, web(&[4, 5, 6]), three_targets()));
    }
    assert_eq!(deleted_ids(&plan), ["Machines-1", "Machines-2", "Machines-3"]);
    for action in plan.actions.iter().filter(|a| a.action.is_destructive()) {
        assert!(
            matches!(action.action, Action::DeleteTarget { requires_confirmation: true, .. }),
            "{action:?}"
        );
        assert!(action.reason.contains("every target of rg/web"), "{}", action.reason);
    }
    // One of three: no confirmation beyond the usual.
    let mut history = History::default();
    refresh(&mut history, &listed(0, web(&[1, 2, 3]), three_targets()));
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400] {
        plan = refresh(&mut history, &listed(secs, web(&[1, 2]), three_targets()));
    }
    assert!(matches!(
        plan.actions.iter().find(|a| a.action.is_destructive()).map(|a| &a.action),
        Some(Action::DeleteTarget { requires_confirmation: false, .. })
    ));
}

/// Break 9's second half: right before a POST, a target that a successful deployment of the
/// release reached is refused, whatever the history says (here: that its VM was replaced).
#[test]
fn still_valid_refuses_a_target_a_successful_deployment_reached_whatever_the_history() {
    let snapshot = |secs, vm_id: &str| {
        let mut project = project("Projects-1", Some("Releases-1"));
        let mut reached =
            deployment("Deployments-1", "Projects-1", "Releases-1", &[], &["Machines-1"], TaskState::Success);
        reached.created = Some(at(-100));
        project.deployments = vec![reached];
        let one = Instance { vm_id: Some(vm_id.into()), ..vm("web", 1) };
        let mut snapshot = listed(secs, vec![one], vec![target_on("Machines-1", "web", 1)]);
        snapshot.projects = Ok(vec![project]);
        snapshot
    };
    let mut history = History::default();
    refresh(&mut history, &snapshot(0, "vm-web-1"));
    // The server now gives instance 1 another vmId: the history takes it for a new VM.
    let fresh = snapshot(100, "vm-other");
    let plan = refresh(&mut history, &fresh);
    assert!(history.target("Machines-1").and_then(|t| t.replaced_vm.as_ref()).is_some());
    assert!(!plan.has_changes(), "no redeploy on a changed vmId alone: {plan:#?}");
    let deploy = Action::Deploy {
        project_id: "Projects-1".into(),
        project_name: "Project Projects-1".into(),
        release_id: "Releases-1".into(),
        release_version: "1.0.Releases-1".into(),
        environment_id: ENVIRONMENT_ID.into(),
        target_ids: vec!["Machines-1".into()],
        target_names: vec!["web-1".into()],
        tenant: None,
    };
    let why = still_valid(&deploy, &fresh, &history, &profile()).expect_err("reached already");
    assert!(why.contains("Machines-1") && why.contains("Deployments-1"), "{why}");
}

/// Break 5: a VM renamed in the guest answers to both names, and the plan says so.
#[test]
fn a_vm_renamed_in_the_guest_keeps_the_target_registered_under_its_new_name() {
    let renamed = |vms: Vec<Instance>| -> Vec<Instance> {
        vms.into_iter()
            .map(|vm| match vm.instance_id.as_str() {
                "3" => Instance { guest_computer_name: Some("WEB-PROD-03".into()), ..vm },
                _ => vm,
            })
            .collect()
    };
    let mut targets = three_targets();
    targets[2] = target("Machines-3", "web-prod-03.corp.local");
    let mut history = History::default();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [0, 100, 200, 300, 400, 500] {
        plan = refresh(&mut history, &listed(secs, renamed(web(&[1, 2, 3])), targets.clone()));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:#?}");
    }
    let matched =
        history.target("Machines-3").and_then(|t| t.last_vm.as_ref()).map(|vm| vm.instance_id.clone());
    assert_eq!(matched.as_deref(), Some("3"));
    let shown = note(&plan, "note:renamed-guest:azure/sub-1/rg/web").expect("the plan says so");
    assert!(
        shown.observations[0].contains("web-3") && shown.observations[0].contains("WEB-PROD-03"),
        "{shown:?}"
    );
}
