//! A configured scale set listed in another orchestration mode than before (re-created, or the
//! profile points at another set): the old set's absence evidence is dropped and a note says so.

use super::testkit::*;
use super::tests_deletes::{deleted_ids, refresh};
use super::*;
use crate::model::{Instance, OrchestrationMode};
use crate::snapshot::Snapshot;

/// The set `web` listing `instances` in `mode`; targets on web-1 and web-2.
fn listing(secs: i64, mode: OrchestrationMode, instances: Vec<Instance>) -> Snapshot {
    let mut snapshot = SnapshotBuilder::new(at(secs))
        .set("web", instances.len() as u32, instances)
        .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
        .build();
    if let Ok(listing) = &mut snapshot.scale_sets[0].listing {
        listing.state.orchestration_mode = mode;
    }
    snapshot
}

/// web-1's host in a Flexible set: a VM named `web_0a1b2c3d` with computer name web-1.
fn flexible_web_1() -> Instance {
    Instance {
        instance_id: "web_0a1b2c3d".into(),
        name: "web_0a1b2c3d".into(),
        vm_id: Some("flex-1".into()),
        ..vm("web", 1)
    }
}

#[test]
fn a_mode_change_restarts_the_absence_count_and_is_noted() {
    let mut history = History::default();
    refresh(&mut history, &listing(0, OrchestrationMode::Uniform, vec![vm("web", 1), vm("web", 2)]));
    // web-2's VM is gone from two complete Uniform listings.
    for secs in [100, 200] {
        let plan = refresh(&mut history, &listing(secs, OrchestrationMode::Uniform, vec![vm("web", 1)]));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}");
    }
    // The set comes back Flexible: a third absent listing 300 s after the first would delete
    // Machines-2 on the old set's evidence.
    let plan = refresh(&mut history, &listing(400, OrchestrationMode::Flexible, vec![flexible_web_1()]));
    assert!(deleted_ids(&plan).is_empty(), "evidence from the Uniform set proves nothing now: {plan:?}");
    let note =
        plan.actions.iter().find(|a| a.id.starts_with("note:mode-changed:")).expect("the change is noted");
    assert!(note.reason.contains("was Uniform when last listed and is Flexible now"), "{}", note.reason);
    assert_eq!(history.set(&set_key("web")).and_then(|s| s.mode), Some(OrchestrationMode::Flexible));
    // Counting starts again: the delete needs K listings spanning the grace on the new set.
    for secs in [500, 600] {
        let plan = refresh(&mut history, &listing(secs, OrchestrationMode::Flexible, vec![flexible_web_1()]));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}");
    }
    let plan = refresh(&mut history, &listing(700, OrchestrationMode::Flexible, vec![flexible_web_1()]));
    assert_eq!(deleted_ids(&plan), ["Machines-2"]);
    assert!(!plan.actions.iter().any(|a| a.id.starts_with("note:mode-changed:")), "said while it matters");
}

#[test]
fn a_set_seen_in_one_mode_only_gets_no_note() {
    let mut history = History::default();
    for secs in [0, 100, 200] {
        let plan = refresh(&mut history, &listing(secs, OrchestrationMode::Flexible, vec![flexible_web_1()]));
        assert!(!plan.actions.iter().any(|a| a.id.starts_with("note:mode-changed:")));
    }
    assert!(history.set(&set_key("web")).is_some_and(|s| s.mode_change.is_none()));
}

#[test]
fn a_vm_of_another_set_in_the_listing_holds_the_sets_deletes() {
    let mut history = History::default();
    refresh(&mut history, &listing(0, OrchestrationMode::Flexible, vec![flexible_web_1(), vm("web", 2)]));
    for secs in [100, 200, 300, 400, 500] {
        let mut snapshot = listing(secs, OrchestrationMode::Flexible, vec![flexible_web_1()]);
        if let Ok(listing) = &mut snapshot.scale_sets[0].listing {
            // web-2's VM now reports another set: left the set, or the filter was not applied.
            listing.foreign.push(crate::snapshot::ForeignVm {
                name: "web_2".into(),
                vm_id: Some("vm-web-2".into()),
                reported_set: Some("/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/other".into()),
            });
        }
        let plan = refresh(&mut history, &snapshot);
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:?}");
        let held =
            plan.actions.iter().find(|a| a.id.starts_with("note:unproven-listing:")).expect("held, and why");
        assert!(held.observations.iter().any(|o| o.contains("VM web_2 reports scale set")), "{held:?}");
    }
}
