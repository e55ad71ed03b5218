//! Deletes and the history behind them (invariants 1 and 2).

use super::testkit::*;
use super::*;
use crate::model::{Action, HealthStatus, PowerState, ProvisioningState};

/// Observe then plan, as a refresh does.
pub(super) fn refresh(history: &mut History, snapshot: &crate::snapshot::Snapshot) -> Plan {
    let profile = profile();
    let matched = MatchedSnapshot::new(snapshot, &profile);
    history.observe(&matched);
    plan_matched(&matched, history, snapshot.taken_at, &profile)
}

pub(super) fn deleted_ids(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::DeleteTarget { target_id, .. } => Some(target_id.clone()),
            _ => None,
        })
        .collect()
}

/// web-1 and web-2 registered; web-2's VM is gone after the first refresh.
fn scaled_in(secs: i64) -> crate::snapshot::Snapshot {
    SnapshotBuilder::new(at(secs))
        .set("web", 1, vec![vm("web", 1)])
        .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
        .build()
}

fn both_present(secs: i64) -> crate::snapshot::Snapshot {
    SnapshotBuilder::new(at(secs))
        .set("web", 2, vec![vm("web", 1), vm("web", 2)])
        .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
        .build()
}

#[test]
fn scale_in_target_deleted_only_after_grace_and_k_listings() {
    let mut history = History::default();
    refresh(&mut history, &both_present(0));
    // Three listings but only 200 s apart: not yet.
    for secs in [100, 200, 300] {
        let plan = refresh(&mut history, &scaled_in(secs));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}");
        assert!(plan.actions.iter().any(|a| a.id == "note:absent:Machines-2"), "pending absence is shown");
    }
    // Span reaches 300 s at the fourth listing.
    let plan = refresh(&mut history, &scaled_in(400));
    assert_eq!(deleted_ids(&plan), ["Machines-2"]);
    assert!(!plan.actions.iter().any(|a| a.id == "note:absent:Machines-2"), "the delete replaces the note");
    let delete = plan.actions.iter().find(|a| a.id == "delete-target:Machines-2").expect("stable id");
    assert!(
        delete.observations[0].starts_with("absent from 4 complete listings between 10:01:40 and 10:06:40")
    );
    assert!(matches!(
        delete.action,
        Action::DeleteTarget { absent_observations: 4, absent_secs: 300, requires_confirmation: false, .. }
    ));
}

#[test]
fn long_grace_with_too_few_listings_deletes_nothing() {
    let mut history = History::default();
    refresh(&mut history, &both_present(0));
    refresh(&mut history, &scaled_in(10));
    let plan = refresh(&mut history, &scaled_in(10_000));
    assert!(deleted_ids(&plan).is_empty(), "2 listings < K = 3 however long apart");
}

#[test]
fn deletes_nothing_when_listing_is_partial() {
    let mut history = History::default();
    for secs in [0, 200, 400, 600] {
        refresh(&mut history, &scaled_in(secs));
    }
    let partial = SnapshotBuilder::new(at(800))
        .set("web", 1, vec![vm("web", 1)])
        .failed_set("api")
        .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
        .build();
    let plan = refresh(&mut history, &partial);
    assert!(deleted_ids(&plan).is_empty());
    assert!(plan
        .actions
        .iter()
        .any(|a| a.id.starts_with("note:read-failed:") && a.reason.contains("nothing will be deleted")));
    // The failed listing neither broke nor extended the streak.
    assert_eq!(history.target("Machines-2").and_then(|t| t.absence.as_ref()).map(|s| s.listings), Some(4));
}

#[test]
fn failed_target_listing_is_not_evidence() {
    let mut history = History::default();
    refresh(&mut history, &both_present(0));
    refresh(&mut history, &scaled_in(100));
    let failed = SnapshotBuilder::new(at(500)).set("web", 1, vec![vm("web", 1)]).failed_targets().build();
    assert!(deleted_ids(&refresh(&mut history, &failed)).is_empty());
    assert_eq!(history.target("Machines-2").and_then(|t| t.absence.as_ref()).map(|s| s.listings), Some(1));
}

#[test]
fn present_vm_resets_the_streak() {
    let mut history = History::default();
    for secs in [0, 200, 400] {
        refresh(&mut history, &scaled_in(secs));
    }
    refresh(&mut history, &both_present(500));
    assert!(history.target("Machines-2").is_some_and(|t| t.absence.is_none()));
    assert!(deleted_ids(&refresh(&mut history, &scaled_in(900))).is_empty());
}

#[test]
fn replayed_snapshot_adds_no_listing() {
    let mut history = History::default();
    let snapshot = scaled_in(0);
    for _ in 0..5 {
        refresh(&mut history, &snapshot);
    }
    assert_eq!(history.target("Machines-2").and_then(|t| t.absence.as_ref()).map(|s| s.listings), Some(1));
}

#[test]
fn empty_listing_deletes_nothing_unless_capacity_is_zero() {
    let targets = vec![target_on("Machines-1", "web", 1)];
    let empty = |secs, capacity| {
        SnapshotBuilder::new(at(secs)).set("web", capacity, vec![]).targets(targets.clone()).build()
    };
    let mut history = History::default();
    for secs in [0, 200, 400, 600] {
        assert!(deleted_ids(&refresh(&mut history, &empty(secs, 2))).is_empty());
    }
    assert!(history.target("Machines-1").is_some_and(|t| t.absence.is_none()), "not evidence at all");

    let mut history = History::default();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [0, 200, 400, 600] {
        plan = refresh(&mut history, &empty(secs, 0));
    }
    assert_eq!(deleted_ids(&plan), ["Machines-1"]);
    assert!(plan
        .actions
        .iter()
        .any(|a| matches!(a.action, Action::DeleteTarget { requires_confirmation: true, .. })));
}

#[test]
fn stopped_vm_target_is_not_deleted() {
    let mut history = History::default();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [0, 200, 400, 600, 800] {
        let stopped = crate::model::Instance { power_state: PowerState::Deallocated, ..vm("web", 2) };
        let mut unreachable = target_on("Machines-2", "web", 2);
        unreachable.health = HealthStatus::Unavailable;
        let snapshot = SnapshotBuilder::new(at(secs))
            .set("web", 2, vec![vm("web", 1), stopped])
            .targets(vec![target_on("Machines-1", "web", 1), unreachable])
            .build();
        plan = refresh(&mut history, &snapshot);
    }
    assert!(deleted_ids(&plan).is_empty());
    let note = plan.actions.iter().find(|a| a.id == "note:unreachable:Machines-2").expect("note");
    assert!(
        matches!(&note.action, Action::Note { subject, .. } if subject.contains("VM present, tentacle unreachable"))
    );
}

/// A VM being deleted (a scale-in) will take its tentacle with it: "check the VM" is no advice.
#[test]
fn a_deleting_vm_gets_no_tentacle_unreachable_note() {
    let mut history = History::default();
    let going = crate::model::Instance { provisioning_state: ProvisioningState::Deleting, ..vm("web", 2) };
    let mut unreachable = target_on("Machines-2", "web", 2);
    unreachable.health = HealthStatus::Unavailable;
    let snapshot = SnapshotBuilder::new(at(0))
        .set("web", 2, vec![vm("web", 1), going])
        .targets(vec![target_on("Machines-1", "web", 1), unreachable])
        .build();
    let plan = refresh(&mut history, &snapshot);
    assert!(plan.actions.iter().all(|a| a.id != "note:unreachable:Machines-2"), "{:?}", plan.actions);
}

#[test]
fn deleting_vm_keeps_its_target() {
    let mut history = History::default();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [0, 200, 400, 600] {
        let snapshot = SnapshotBuilder::new(at(secs))
            .set("web", 1, vec![vm("web", 1), vm_in("web", 2, ProvisioningState::Deleting)])
            .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
            .build();
        plan = refresh(&mut history, &snapshot);
    }
    assert!(deleted_ids(&plan).is_empty(), "a Deleting VM is still present");
}

#[test]
fn disabled_target_whose_vm_is_gone_is_deleted_on_the_same_evidence() {
    let mut history = History::default();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [0, 200, 400, 600] {
        let mut disabled = target_on("Machines-2", "web", 2);
        disabled.disabled = true;
        let snapshot = SnapshotBuilder::new(at(secs))
            .set("web", 1, vec![vm("web", 1)])
            .targets(vec![target_on("Machines-1", "web", 1), disabled])
            .build();
        plan = refresh(&mut history, &snapshot);
    }
    assert_eq!(deleted_ids(&plan), ["Machines-2"]);
}

#[test]
fn reused_instance_id_with_new_vm_id_resets_evidence() {
    let mut history = History::default();
    refresh(&mut history, &both_present(0));
    refresh(&mut history, &scaled_in(100));
    refresh(&mut history, &scaled_in(200));
    // Instance 2 comes back as a different VM under the same name.
    let reborn = crate::model::Instance { vm_id: Some("vm-new".into()), ..vm("web", 2) };
    let snapshot = SnapshotBuilder::new(at(300))
        .set("web", 2, vec![vm("web", 1), reborn])
        .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
        .build();
    let plan = refresh(&mut history, &snapshot);
    let record = history.target("Machines-2").expect("record");
    assert!(record.absence.is_none());
    assert_eq!(record.replaced_vm.as_ref().and_then(|v| v.vm_id.as_deref()), Some("vm-web-2"));
    assert_eq!(record.last_vm.as_ref().and_then(|v| v.vm_id.as_deref()), Some("vm-new"));
    assert!(plan.actions.iter().any(|a| a.id == "note:vm-replaced:Machines-2"));
    // The new VM is a new VM: first seen now, not when instance 2 was first listed.
    assert_eq!(history.vms.get("vm:vm-new").map(|v| v.first_seen), Some(at(300)));
    // A later absence starts counting from one.
    refresh(&mut history, &scaled_in(400));
    assert_eq!(history.target("Machines-2").and_then(|t| t.absence.as_ref()).map(|s| s.listings), Some(1));
}

#[test]
fn history_forgets_what_it_no_longer_sees() {
    let mut history = History::default();
    refresh(&mut history, &both_present(0));
    assert_eq!(history.vms.len(), 2);
    // Machines-2 is deleted from Octopus and its VM gone: both records go.
    let after = SnapshotBuilder::new(at(100))
        .set("web", 1, vec![vm("web", 1)])
        .targets(vec![target_on("Machines-1", "web", 1)])
        .build();
    refresh(&mut history, &after);
    assert_eq!(history.targets.keys().collect::<Vec<_>>(), ["Machines-1"]);
    assert_eq!(history.vms.len(), 1);
    // Long silence (failing listings) ages everything out.
    let silent = SnapshotBuilder::new(at(0) + FORGET_AFTER + time::Duration::seconds(200))
        .failed_set("web")
        .failed_targets()
        .build();
    refresh(&mut history, &silent);
    assert!(history.targets.is_empty() && history.vms.is_empty() && history.scale_sets.is_empty());
}

#[test]
fn still_valid_rechecks_delete_against_fresh_state() {
    let mut history = History::default();
    let profile = profile();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [0, 200, 400, 600] {
        plan = refresh(&mut history, &scaled_in(secs));
    }
    let delete = plan.actions.iter().find(|a| a.action.is_destructive()).expect("delete").action.clone();
    let fresh = scaled_in(700);
    let mut fresh_history = history.clone();
    fresh_history.observe_snapshot(&fresh, &profile);
    assert_eq!(still_valid(&delete, &fresh, &fresh_history, &profile), Ok(()));

    // Another console deleted it already.
    let gone = SnapshotBuilder::new(at(700)).set("web", 1, vec![vm("web", 1)]).targets(vec![]).build();
    assert!(
        still_valid(&delete, &gone, &history, &profile).is_err_and(|e| e.contains("no longer registered"))
    );
    // The VM came back.
    let back = both_present(700);
    let mut back_history = history.clone();
    back_history.observe(&MatchedSnapshot::new(&back, &profile));
    assert!(still_valid(&delete, &back, &back_history, &profile).is_err_and(|e| e.contains("present")));
    // The fresh listing failed.
    let failed = SnapshotBuilder::new(at(700))
        .failed_set("web")
        .targets(vec![target_on("Machines-2", "web", 2)])
        .build();
    assert!(still_valid(&delete, &failed, &history, &profile).is_err());
}

#[test]
fn unconfiguring_a_scale_set_deletes_none_of_its_targets() {
    let mut history = History::default();
    let both = SnapshotBuilder::new(at(0))
        .set("web", 1, vec![vm("web", 1)])
        .set("api", 1, vec![vm("api", 1)])
        .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "api", 1)])
        .build();
    refresh(&mut history, &both);
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [200, 400, 600, 800] {
        let web_only = SnapshotBuilder::new(at(secs))
            .set("web", 1, vec![vm("web", 1)])
            .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "api", 1)])
            .build();
        plan = refresh(&mut history, &web_only);
    }
    assert!(deleted_ids(&plan).is_empty());
    let pending = plan.actions.iter().find(|a| a.id == "note:absent:Machines-2").expect("explained");
    assert!(
        pending.observations.iter().any(|o| o.contains("rg/api, which is no longer configured")),
        "{pending:?}"
    );
}

#[test]
fn waits_and_notes_are_always_still_valid() {
    let profile = profile();
    let snapshot = both_present(0);
    let plan = refresh(&mut History::default(), &SnapshotBuilder::new(at(0)).failed_targets().build());
    for planned in &plan.actions {
        assert_eq!(still_valid(&planned.action, &snapshot, &History::default(), &profile), Ok(()));
    }
}
