//! Sample data for the console's tests and the render bench (not used by the product): a small,
//! fixed world at fixed times, so rendered screens are byte-for-byte repeatable.

use super::app::ConsoleState;
use super::messages::Refresh;
use super::update::apply_refresh;
use crate::config::{MatchBy, Profile, ScaleSetConfig};
use crate::model::{
    Action, Endpoint, HealthStatus, Node, Plan, PlannedAction, PowerState, ProvisioningState, Severity,
};
use crate::reconcile::testkit::{self, at, set_key, SnapshotBuilder};
use crate::snapshot::{ReadFailure, Snapshot};
use time::OffsetDateTime;

/// 2026-01-01 10:00:00 UTC: the fixed "now" of every fixture.
pub fn now() -> OffsetDateTime {
    at(0)
}

pub fn profile() -> Profile {
    let mut profile = testkit::profile();
    profile.scale_sets = vec![ScaleSetConfig {
        provider: "azure".into(),
        subscription_id: "sub-1".into(),
        resource_group: "rg".into(),
        name: "vmss-web".into(),
        match_by: MatchBy::ComputerName,
    }];
    profile
}

pub fn delete(target_id: &str, target_name: &str) -> PlannedAction {
    PlannedAction {
        id: format!("delete-target:{target_id}"),
        action: Action::DeleteTarget {
            target_id: target_id.into(),
            target_name: target_name.into(),
            last_instance_id: Some("9".into()),
            absent_observations: 3,
            absent_secs: 320,
            requires_confirmation: false,
        },
        reason: format!("{target_name}'s VM is gone from the scale set"),
        observations: vec![
            "last seen as rg/vmss-web instance 9 at 09:54:00".into(),
            "absent from 3 complete listings over 320s (need 3 over 300s)".into(),
        ],
    }
}

pub fn deploy(target_id: &str) -> PlannedAction {
    PlannedAction {
        id: format!("deploy:Projects-1:Releases-2:{target_id}"),
        action: Action::Deploy {
            project_id: "Projects-1".into(),
            project_name: "Todo Web".into(),
            release_id: "Releases-2".into(),
            release_version: "1.1.0".into(),
            environment_id: "Environments-1".into(),
            target_ids: vec![target_id.into()],
            target_names: vec![format!("name-of-{target_id}")],
            tenant: None,
        },
        reason: "new target has not had the latest release".into(),
        observations: vec![format!("{target_id} registered, healthy, VM Succeeded")],
    }
}

pub fn plan() -> Plan {
    let wait = PlannedAction {
        id: "wait:rg/vmss-web".into(),
        action: Action::Wait {
            scale_set: set_key("vmss-web"),
            in_progress: 1,
            succeeded: 3,
            capacity: 4,
            waiting_secs: 45,
            timed_out: false,
        },
        reason: "vmss-web is still provisioning (3 of 4 succeeded)".into(),
        observations: vec!["instance 2 Creating".into()],
    };
    let note = PlannedAction {
        id: "note:duplicate-thumbprint".into(),
        action: Action::Note {
            severity: Severity::Warning,
            subject: "two targets share a thumbprint".into(),
        },
        reason: "cloned image: Octopus cannot tell the two apart".into(),
        observations: vec![],
    };
    Plan {
        generated_at: now(),
        actions: vec![wait, delete("Machines-3", "vmss-web-9"), deploy("Machines-2"), note],
    }
}

pub fn nodes() -> Vec<Node> {
    vec![
        Node {
            id: "OctopusServerNodes-1".into(),
            name: "OCTO-NODE-1".into(),
            last_seen: Some(at(-12)),
            is_offline: false,
            drain: false,
            max_concurrent_tasks: 5,
            running_tasks: 2,
            version: Some("2024.3.12741".into()),
        },
        Node {
            id: "OctopusServerNodes-2".into(),
            name: "OCTO-NODE-2".into(),
            last_seen: Some(at(-400)),
            is_offline: true,
            drain: true,
            max_concurrent_tasks: 0,
            running_tasks: 0,
            version: Some("2024.3.12741".into()),
        },
    ]
}

/// Four VMs (one creating, one stopped and on an old model, one protected), three targets (one
/// whose VM is gone), two nodes.
pub fn snapshot() -> Snapshot {
    let mut creating = testkit::vm_in("vmss-web", 2, ProvisioningState::Creating);
    creating.power_state = PowerState::Starting;
    let mut stopped = testkit::vm("vmss-web", 3);
    stopped.power_state = PowerState::Stopped;
    stopped.latest_model_applied = Some(false);
    let mut protected = testkit::vm("vmss-web", 1);
    protected.protected_from_scale_in = Some(true);
    let mut warning = testkit::target_on("Machines-2", "vmss-web", 1);
    warning.health = HealthStatus::HasWarnings;
    let mut gone = testkit::target("Machines-3", "vmss-web-9");
    gone.health = HealthStatus::Unavailable;
    gone.disabled = true;
    let mut targets = vec![testkit::target_on("Machines-1", "vmss-web", 0), warning, gone];
    for target in &mut targets {
        target.machine_policy_id = Some("MachinePolicies-1".into());
        target.endpoint = Endpoint {
            communication_style: "TentaclePassive".into(),
            uri: Some(format!("https://{}:10933/", target.name)),
            thumbprint: None,
        };
    }
    let mut snapshot = SnapshotBuilder::new(now())
        .set("vmss-web", 4, vec![testkit::vm("vmss-web", 0), protected, creating, stopped])
        .targets(targets)
        .build();
    snapshot.nodes = Ok(nodes());
    snapshot.server_version = Ok("2024.3.12741".into());
    snapshot
}

/// The fixture world as the console shows it after one refresh at `now()`.
pub fn model() -> ConsoleState {
    let profile = profile();
    let mut model = ConsoleState::new("prod", &profile, now());
    model.size = (120, 40);
    apply_refresh(&mut model, Refresh { snapshot: snapshot(), plan: plan(), finished_at: now() });
    model
}

/// The same world, later, after a refresh whose ARM and node reads failed.
pub fn model_with_failed_refresh(later_secs: i64) -> ConsoleState {
    let mut model = model();
    let mut snapshot = snapshot();
    snapshot.taken_at = at(later_secs);
    snapshot.scale_sets[0].listing = Err(ReadFailure::new(
        "scale set rg/vmss-web from http://127.0.0.1:9",
        "HTTP 503 Service Unavailable",
    ));
    snapshot.nodes = Err(ReadFailure::new("HA nodes from http://127.0.0.1:9", "connection refused"));
    model.now = at(later_secs);
    apply_refresh(&mut model, Refresh { snapshot, plan: plan(), finished_at: at(later_secs) });
    model
}

/// A model whose instances pane holds `count` rows (the render bench).
/// A Flexible set's three VMs (`{set}_{8 hex}`, latest model and protection not reported) next to
/// the fixture's Uniform set.
pub fn model_with_flexible() -> ConsoleState {
    let mut model = model();
    let flexible: Vec<_> = ["0a1b2c3d", "4e5f6a7b", "8c9d0e1f"]
        .iter()
        .enumerate()
        .map(|(i, hex)| {
            let mut vm = testkit::vm("vmss-flex", i as u32);
            vm.instance_id = format!("vmss-flex_{hex}");
            vm.name = vm.instance_id.clone();
            vm.computer_name = Some(format!("flexweb{}", &hex[..6]));
            vm.latest_model_applied = None;
            vm.protected_from_scale_in = None;
            vm
        })
        .collect();
    let mut snapshot = snapshot();
    let flex = SnapshotBuilder::new(now()).set("vmss-flex", 3, flexible).build().scale_sets;
    snapshot.scale_sets.extend(flex);
    apply_refresh(&mut model, Refresh { snapshot, plan: plan(), finished_at: now() });
    model
}

pub fn model_with_instances(count: u32) -> ConsoleState {
    let mut model = model();
    let instances: Vec<_> = (0..count).map(|i| testkit::vm("vmss-web", i)).collect();
    let mut snapshot = snapshot();
    snapshot.scale_sets = SnapshotBuilder::new(now()).set("vmss-web", count, instances).build().scale_sets;
    apply_refresh(&mut model, Refresh { snapshot, plan: plan(), finished_at: now() });
    // The fixture replaces the world rather than watching it change: the 4 → `count` the console
    // just saw is no change by anyone, so it starts no cooldown.
    model.scale.observed.clear();
    model
}
