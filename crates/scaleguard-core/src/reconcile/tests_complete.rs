//! Absence evidence only from listings proven complete (issue 13, items 1–3) and a history whose
//! clock ran ahead.

use super::testkit::*;
use super::tests_deletes::{deleted_ids, refresh};
use super::*;
use crate::model::{Instance, ProvisioningState};
use crate::snapshot::Snapshot;

fn three_targets() -> Vec<crate::model::Target> {
    vec![
        target_on("Machines-1", "web", 1),
        target_on("Machines-2", "web", 2),
        target_on("Machines-3", "web", 3),
    ]
}

fn all_three(secs: i64) -> Snapshot {
    SnapshotBuilder::new(at(secs))
        .set("web", 3, vec![vm("web", 1), vm("web", 2), vm("web", 3)])
        .targets(three_targets())
        .build()
}

/// The set lists `instances` for capacity 3.
fn listed(secs: i64, instances: Vec<Instance>) -> Snapshot {
    SnapshotBuilder::new(at(secs)).set("web", 3, instances).targets(three_targets()).build()
}

fn note<'p>(plan: &'p Plan, id: &str) -> &'p crate::model::PlannedAction {
    plan.actions.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("no {id} in {plan:#?}"))
}

fn streak(history: &History, target: &str) -> Option<u32> {
    history.target(target).and_then(|t| t.absence.as_ref()).map(|s| s.listings)
}

#[test]
fn an_updating_set_that_lost_its_pages_deletes_nothing() {
    let mut history = History::default();
    refresh(&mut history, &all_three(0));
    // The set says Updating; page 1 (VM 1) came without its nextLink.
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400, 500, 600] {
        let truncated = SnapshotBuilder::new(at(secs))
            .set("web", 3, vec![vm("web", 1)])
            .set_state(ProvisioningState::Updating)
            .targets(three_targets())
            .build();
        plan = refresh(&mut history, &truncated);
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:#?}");
    }
    assert_eq!(streak(&history, "Machines-2"), None, "an unproven listing is no absence evidence");
    let held = note(&plan, "note:unproven-listing:azure/sub-1/rg/web");
    assert!(held.reason.contains("deletes are held") && held.reason.contains("rg/web"), "{held:?}");
    assert!(held.observations.iter().any(|o| o.contains("Updating")), "{held:?}");
    assert!(
        held.observations.iter().any(|o| o.contains("1 distinct VM(s) listed for capacity 3")),
        "{held:?}"
    );
    assert!(plan.actions.iter().any(|a| a.id == "wait:azure/sub-1/rg/web"), "it still drives a wait");
}

#[test]
fn a_delete_needs_absence_in_listings_of_the_settled_set() {
    let mut history = History::default();
    refresh(&mut history, &all_three(0));
    // Scale-in 3 → 2 while Updating: listings then are not counted ...
    for secs in [100, 200, 300] {
        let updating = SnapshotBuilder::new(at(secs))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .set_state(ProvisioningState::Updating)
            .targets(three_targets())
            .build();
        assert!(deleted_ids(&refresh(&mut history, &updating)).is_empty());
    }
    // ... only the settled set's listings are, K = 3 of them over the grace.
    let settled = |secs| {
        SnapshotBuilder::new(at(secs))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .targets(three_targets())
            .build()
    };
    for secs in [400, 500, 600] {
        assert!(deleted_ids(&refresh(&mut history, &settled(secs))).is_empty(), "at {secs}");
    }
    assert_eq!(deleted_ids(&refresh(&mut history, &settled(700))), ["Machines-3"]);
}

#[test]
fn a_vm_present_in_an_unproven_listing_still_ends_a_streak() {
    let mut history = History::default();
    refresh(&mut history, &all_three(0));
    refresh(&mut history, &listed(100, vec![vm("web", 1), vm("web", 2)]));
    assert_eq!(streak(&history, "Machines-3"), None, "short listing of a settled set: no evidence");
    let proven = SnapshotBuilder::new(at(200))
        .set("web", 2, vec![vm("web", 1), vm("web", 2)])
        .targets(three_targets())
        .build();
    refresh(&mut history, &proven);
    assert_eq!(streak(&history, "Machines-3"), Some(1));
    let updating = SnapshotBuilder::new(at(300))
        .set("web", 3, vec![vm("web", 3)])
        .set_state(ProvisioningState::Updating)
        .targets(three_targets())
        .build();
    refresh(&mut history, &updating);
    assert_eq!(streak(&history, "Machines-3"), None, "a listed VM exists, whatever else is missing");
}

#[test]
fn still_valid_refuses_a_delete_when_the_fresh_listing_is_unproven() {
    let profile = profile();
    let mut history = History::default();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    refresh(&mut history, &all_three(0));
    for secs in [100, 200, 300, 400] {
        let scaled_in = SnapshotBuilder::new(at(secs))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .targets(three_targets())
            .build();
        plan = refresh(&mut history, &scaled_in);
    }
    let delete = plan.actions.iter().find(|a| a.action.is_destructive()).expect("delete").action.clone();
    // Right before the DELETE: the set is Updating again and the listing lost a page.
    let fresh = SnapshotBuilder::new(at(500))
        .set("web", 2, vec![vm("web", 1)])
        .set_state(ProvisioningState::Updating)
        .targets(three_targets())
        .build();
    let mut fresh_history = history.clone();
    fresh_history.observe_snapshot(&fresh, &profile);
    let why = still_valid(&delete, &fresh, &fresh_history, &profile).expect_err("held");
    assert!(why.contains("not proven complete") && why.contains("Updating"), "{why}");
}

#[test]
fn a_duplicated_vm_entry_hides_a_missing_vm_and_deletes_nothing() {
    let mut history = History::default();
    refresh(&mut history, &all_three(0));
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400, 500] {
        // VM 2 listed on two pages, VM 3 missing: three entries for capacity 3.
        plan = refresh(&mut history, &listed(secs, vec![vm("web", 1), vm("web", 2), vm("web", 2)]));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:#?}");
    }
    assert_eq!(streak(&history, "Machines-3"), None);
    let held = note(&plan, "note:unproven-listing:azure/sub-1/rg/web");
    assert!(held.observations.iter().any(|o| o.contains("instance 2 listed 2 times")), "{held:?}");
}

#[test]
fn a_repeated_vm_id_under_two_instance_ids_is_not_complete() {
    let mut history = History::default();
    refresh(&mut history, &all_three(0));
    let twin = Instance { vm_id: Some("vm-web-2".into()), ..vm("web", 4) };
    for secs in [100, 200, 300, 400, 500] {
        let plan = refresh(&mut history, &listed(secs, vec![vm("web", 1), vm("web", 2), twin.clone()]));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}");
    }
    assert_eq!(streak(&history, "Machines-3"), None);
}

fn unnamed(instance_id: u32) -> Instance {
    Instance { computer_name: None, ..vm("web", instance_id) }
}

#[test]
fn a_vm_whose_name_cannot_be_read_blocks_deletes_in_its_set() {
    let mut history = History::default();
    refresh(&mut history, &all_three(0));
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400, 500] {
        // A complete listing, but VM 3 carries no computer name (a specialized image).
        plan = refresh(&mut history, &listed(secs, vec![vm("web", 1), vm("web", 2), unnamed(3)]));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:#?}");
    }
    assert_eq!(streak(&history, "Machines-3"), None, "never counted as absent");
    let shown = note(&plan, "note:unnamed-vm:azure/sub-1/rg/web");
    assert!(shown.observations.iter().any(|o| o.contains("instance 3")), "{shown:?}");
    assert!(shown.reason.contains("not deleted"), "{shown:?}");
}

#[test]
fn an_empty_computer_name_is_unreadable_too() {
    let mut history = History::default();
    refresh(&mut history, &all_three(0));
    for secs in [100, 200, 300, 400, 500] {
        let blank = Instance { computer_name: Some("  ".into()), ..vm("web", 3) };
        let plan = refresh(&mut history, &listed(secs, vec![vm("web", 1), vm("web", 2), blank]));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}");
    }
}

#[test]
fn an_unnamed_vm_blocks_only_its_own_set_and_never_matched_targets() {
    let mut history = History::default();
    let targets = vec![
        target_on("Machines-1", "web", 1),
        target_on("Machines-2", "web", 2),
        target_on("Machines-9", "api", 9),
        target("Machines-0", "never-seen"),
    ];
    let snapshot = |secs, web: Vec<Instance>| {
        SnapshotBuilder::new(at(secs))
            .set("web", 2, web)
            .set("api", 1, vec![Instance { computer_name: None, ..vm("api", 5) }])
            .targets(targets.clone())
            .build()
    };
    refresh(&mut history, &snapshot(0, vec![vm("web", 1), vm("web", 2)]));
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400, 500] {
        plan = refresh(&mut history, &snapshot(secs, vec![vm("web", 1), vm("web", 3)]));
    }
    // web is fully named: its gone VM's target goes; api's unnamed VM holds api's and the never-matched.
    assert_eq!(deleted_ids(&plan), ["Machines-2"]);
}

#[test]
fn a_history_from_the_future_is_detected_and_grants_no_evidence() {
    let mut history = History::default();
    refresh(&mut history, &all_three(7_200));
    for secs in [7_300, 7_400, 7_500] {
        refresh(&mut history, &listed(secs, vec![vm("web", 1), vm("web", 2)]).with_capacity(2));
    }
    assert_eq!(streak(&history, "Machines-3"), Some(3), "written by a machine two hours ahead");
    // This machine's clock says 10:00: the history's 12:05 is in the future.
    let plan = refresh(&mut history, &listed(0, vec![vm("web", 1), vm("web", 2)]).with_capacity(2));
    assert!(deleted_ids(&plan).is_empty());
    assert_eq!(history.last_observed_at, Some(at(0)), "this refresh is recorded, not ignored");
    assert_eq!(streak(&history, "Machines-3"), Some(1), "future evidence discarded, counting restarts");
    let skew = note(&plan, "note:clock-skew");
    assert!(skew.reason.contains("12:05:00") && skew.reason.contains("10:00:00"), "{skew:?}");
}

#[test]
fn a_replayed_or_slightly_older_snapshot_is_still_just_ignored() {
    let mut history = History::default();
    refresh(&mut history, &all_three(100));
    let plan = refresh(&mut history, &listed(90, vec![vm("web", 1), vm("web", 2)]).with_capacity(2));
    assert_eq!(history.last_observed_at, Some(at(100)));
    assert!(!plan.actions.iter().any(|a| a.id == "note:clock-skew"));
}

trait WithCapacity {
    fn with_capacity(self, capacity: u32) -> Snapshot;
}

impl WithCapacity for Snapshot {
    fn with_capacity(mut self, capacity: u32) -> Snapshot {
        for set in &mut self.scale_sets {
            if let Ok(listing) = &mut set.listing {
                listing.state.capacity = capacity;
            }
        }
        self
    }
}

#[test]
fn a_repeated_entry_never_makes_a_set_steady_for_deploys() {
    let deploys = |instances: Vec<Instance>| {
        let snapshot = SnapshotBuilder::new(at(0))
            .set("web", 2, instances)
            .targets(vec![target_on("Machines-1", "web", 1)])
            .project(project("Projects-1", Some("Releases-1")))
            .build();
        let plan = refresh(&mut History::default(), &snapshot);
        let kinds: Vec<_> = plan.actions.iter().map(|a| a.action.kind()).collect();
        (plan.actions.iter().filter(|a| a.action.kind() == crate::model::ActionKind::Deploy).count(), kinds)
    };
    let (steady, kinds) = deploys(vec![vm("web", 1), vm("web", 2)]);
    assert_eq!(steady, 1, "the control case deploys: {kinds:?}");
    // VM 2 is still being created, hidden behind a second entry for VM 1.
    let (doubtful, kinds) = deploys(vec![vm("web", 1), vm("web", 1)]);
    assert_eq!(doubtful, 0, "{kinds:?}");
    assert!(kinds.contains(&crate::model::ActionKind::Wait), "{kinds:?}");
}
