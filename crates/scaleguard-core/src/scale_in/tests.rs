//! The likely victims of a Flexible set's scale-in policy, and the Uniform path left as it was.

use super::*;
use crate::model::{Placement, PowerState, ScaleSetKey, SetLayout};
use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "sub".into(),
        resource_group: "rg".into(),
        name: "flex".into(),
    }
}

/// A Flexible VM in `zone` and fault domain `fd`, created `minutes` after a fixed start.
fn vm(suffix: &str, zone: Option<&str>, fd: i32, minutes: i64) -> Instance {
    Instance {
        scale_set: key().into(),
        instance_id: format!("flex_{suffix}"),
        vm_id: Some(format!("vm-{suffix}")),
        name: format!("flex_{suffix}"),
        computer_name: Some(format!("flex{suffix}")),
        guest_computer_name: None,
        provisioning_state: ProvisioningState::Succeeded,
        power_state: PowerState::Running,
        latest_model_applied: None,
        protected_from_scale_in: None,
        placement: Placement {
            zone: zone.map(str::to_string),
            fault_domain: Some(fd),
            created_at: Some(start() + time::Duration::minutes(minutes)),
        },
        aws: None,
    }
}

fn start() -> OffsetDateTime {
    datetime!(2026-01-05 09:00 UTC)
}

fn state(mode: OrchestrationMode, rule: &str) -> ScaleSetState {
    ScaleSetState {
        key: key(),
        location: None,
        capacity: 4,
        provisioning_state: ProvisioningState::Succeeded,
        overprovision: false,
        orchestration_mode: mode,
        scale_in_rules: vec![rule.into()],
        etag: Some("\"1\"".into()),
        last_changed: None,
        layout: SetLayout::default(),
        aws: None,
    }
}

fn names(victims: &[Instance]) -> Vec<&str> {
    victims.iter().map(|v| v.instance_id.as_str()).collect()
}

#[test]
fn default_takes_from_the_fullest_zone_then_its_fullest_fault_domain_the_newest_first() {
    // Zone 1 holds three VMs (two in fault domain 0), zone 2 one.
    let vms = vec![
        vm("a1", Some("1"), 0, 0),
        vm("a2", Some("1"), 0, 10),
        vm("a3", Some("1"), 1, 20),
        vm("b1", Some("2"), 0, 30),
    ];
    let victims = likely_by_policy("Default", &vms, 3);
    assert_eq!(names(&victims), vec!["flex_a2"], "zone 1, fault domain 0, its newest");
    let victims = likely_by_policy("Default", &vms, 2);
    // After a2, zone 1 still has two: a1 (fd 0) and a3 (fd 1), fault domains tie: the greater.
    assert_eq!(names(&victims), vec!["flex_a2", "flex_a3"]);
}

#[test]
fn newest_and_oldest_balance_zones_then_go_by_age() {
    let vms = vec![vm("a1", Some("1"), 0, 0), vm("a2", Some("1"), 0, 50), vm("b1", Some("2"), 0, 99)];
    assert_eq!(names(&likely_by_policy("NewestVM", &vms, 2)), vec!["flex_a2"], "zone 1 is fuller");
    assert_eq!(names(&likely_by_policy("OldestVM", &vms, 2)), vec!["flex_a1"]);
    assert_eq!(names(&likely_by_policy("oldestvm", &vms, 1)), vec!["flex_a1", "flex_b1"], "then zones tie");
}

#[test]
fn protected_and_deleting_vms_are_never_chosen() {
    let mut guarded = vm("new", None, 0, 90);
    guarded.protected_from_scale_in = Some(true);
    let mut going = vm("going", None, 0, 95);
    going.provisioning_state = ProvisioningState::Deleting;
    let vms = vec![vm("old", None, 0, 0), guarded, going];
    // Two live VMs, capacity 1: one goes, and it is not the protected one.
    assert_eq!(names(&likely_by_policy("NewestVM", &vms, 1)), vec!["flex_old"]);
    assert!(likely_by_policy("NewestVM", &vms[1..2], 0).is_empty(), "only a protected VM: none");
}

#[test]
fn an_unknown_creation_time_counts_as_the_newest() {
    let mut creating = vm("c", None, 0, 0);
    creating.placement.created_at = None;
    let vms = vec![vm("old", None, 0, 5), creating];
    assert_eq!(names(&likely_by_policy("Default", &vms, 1)), vec!["flex_c"]);
}

#[test]
fn uniform_sets_keep_the_highest_ids_first_preview() {
    let mut vms: Vec<Instance> = (0..4).map(|i| vm(&i.to_string(), None, 0, i)).collect();
    for vm in &mut vms {
        vm.instance_id = vm.instance_id.trim_start_matches("flex_").to_string();
        vm.protected_from_scale_in = Some(false);
    }
    let uniform = expected_victims(&state(OrchestrationMode::Uniform, "Default"), &vms, 2);
    assert_eq!(names(&uniform), vec!["3", "2"]);
    assert_eq!(
        basis(&state(OrchestrationMode::Uniform, "Default")),
        "highest ids first, protected ones kept"
    );
}

#[test]
fn the_flexible_basis_names_the_policy_and_says_azure_decides() {
    let basis = basis(&state(OrchestrationMode::Flexible, "NewestVM"));
    assert!(basis.contains("scale-in policy NewestVM"), "{basis}");
    assert!(basis.contains("Azure decides"), "{basis}");
    assert!(!basis.contains("highest"), "{basis}");
    let mut none = state(OrchestrationMode::Flexible, "");
    none.scale_in_rules.clear();
    assert!(super::basis(&none).contains("policy Default"));
}

proptest! {
    /// Whatever the placement: exactly the surplus goes (or every unprotected VM when fewer),
    /// never a protected or deleting VM, never one twice, and the order of the listing does not
    /// matter (pages may come in any order).
    #[test]
    fn victims_are_the_surplus_of_unprotected_live_vms(
        spec in proptest::collection::vec((0..3u8, 0..3i32, 0..100i64, any::<bool>(), any::<bool>()), 0..14),
        capacity in 0u32..16,
        rule in prop_oneof![Just("Default"), Just("NewestVM"), Just("OldestVM"), Just("Custom")],
    ) {
        let vms: Vec<Instance> = spec.iter().enumerate().map(|(i, (zone, fd, age, protected, deleting))| {
            let zone = ["1", "2", "3"][*zone as usize];
            let mut vm = vm(&format!("{i:08x}"), Some(zone), *fd, *age);
            vm.protected_from_scale_in = Some(*protected);
            if *deleting {
                vm.provisioning_state = ProvisioningState::Deleting;
            }
            vm
        }).collect();
        let victims = likely_by_policy(rule, &vms, capacity);
        let live = vms.iter().filter(|v| v.provisioning_state != ProvisioningState::Deleting).count();
        let eligible = vms
            .iter()
            .filter(|v| v.provisioning_state != ProvisioningState::Deleting && !v.is_protected())
            .count();
        prop_assert_eq!(victims.len(), live.saturating_sub(capacity as usize).min(eligible));
        prop_assert!(victims.iter().all(|v| !v.is_protected() && v.provisioning_state != ProvisioningState::Deleting));
        let mut ids: Vec<&str> = names(&victims);
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), victims.len());
        let reversed: Vec<Instance> = vms.iter().rev().cloned().collect();
        prop_assert_eq!(likely_by_policy(rule, &reversed, capacity), victims);
    }
}
