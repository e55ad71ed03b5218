//! Unit tests of the pure world: no HTTP, no wall clock.

use super::scenario;
use super::tasks::DeployRequest;
use super::world::{base36_padded, Health, TaskState, VmState, World};

fn world(name: &str) -> World {
    let scenario = scenario::load(name).expect("built-in scenario parses");
    scenario.build(scenario.seed)
}

fn ids(world: &World) -> Vec<u64> {
    world.scale_sets[0].vms.iter().map(|vm| vm.instance_id).collect()
}

#[test]
fn every_builtin_scenario_parses_and_builds() {
    for name in scenario::names() {
        let world = world(name);
        assert!(!world.scale_sets.is_empty() || !world.aws.groups.is_empty(), "{name}");
        assert!(!world.machines.is_empty(), "{name}");
    }
    assert!(scenario::load("nope").unwrap_err().to_string().contains("scale-out"));
}

#[test]
fn computer_name_suffix_is_base36_padded_to_six() {
    assert_eq!(base36_padded(4), "000004");
    assert_eq!(base36_padded(36), "000010");
    assert_eq!(world("steady").scale_sets[0].computer_name(4), "vmssweb000004");
}

#[test]
fn scale_out_overprovisions_then_deletes_the_extras() {
    let mut world = world("scale-out");
    assert_eq!(ids(&world), vec![0, 1]);
    world.advance_to(11.0);
    let set = &world.scale_sets[0];
    assert_eq!(set.capacity, 6);
    // 4 wanted + 50% extras: more VMs than capacity while creating.
    assert_eq!(set.vms.len(), 8, "{:?}", ids(&world));
    assert_eq!(set.provisioning_state(), "Updating");
    world.advance_to(300.0);
    let set = &world.scale_sets[0];
    assert_eq!(set.vms.len(), 6);
    assert!(set.vms.iter().all(|vm| vm.state == VmState::Succeeded));
    assert_eq!(set.provisioning_state(), "Succeeded");
    assert_eq!(set.next_instance_id, 8, "the extras used up ids 2..8");
    // Every surviving VM registered; extras that registered first are now Unavailable.
    let healthy = world.machines.iter().filter(|m| m.health == Health::Healthy).count();
    assert_eq!(healthy, 6);
    for machine in world.machines.iter().filter(|m| m.health == Health::Unavailable) {
        let (_, id) = machine.vm.clone().unwrap();
        assert!(world.scale_sets[0].vm(id).is_none(), "an Unavailable target's VM is gone");
    }
}

#[test]
fn some_overprovisioned_extras_register_before_they_vanish() {
    let mut world = world("scale-out");
    world.advance_to(300.0);
    let extras_registered = world.machines.iter().filter(|m| m.health == Health::Unavailable).count();
    assert!(extras_registered >= 1, "scenario seed should show the trap");
}

#[test]
fn provisioning_takes_60_to_90_seconds() {
    let mut world = world("scale-out");
    world.advance_to(11.0);
    for vm in world.scale_sets[0].vms.iter().filter(|vm| vm.instance_id >= 2) {
        let took = vm.state_until - vm.created_at;
        assert!((60.0..=90.0).contains(&took), "{took}");
    }
}

#[test]
fn scale_in_removes_highest_ids_skipping_protected_and_ids_are_never_reused() {
    let mut world = world("scale-in");
    assert_eq!(ids(&world), vec![0, 1, 2, 3, 4, 5]);
    world.advance_to(12.0);
    let deleting: Vec<u64> = world.scale_sets[0]
        .vms
        .iter()
        .filter(|vm| vm.state == VmState::Deleting)
        .map(|vm| vm.instance_id)
        .collect();
    assert_eq!(deleting, vec![2, 3, 4]);
    world.advance_to(100.0);
    assert_eq!(ids(&world), vec![0, 1, 5]);
    world.set_capacity(0, 5);
    let mut now_ids = ids(&world);
    now_ids.sort_unstable();
    assert!(now_ids.iter().filter(|id| **id > 5).count() >= 2);
    assert!(!now_ids.contains(&2) && !now_ids.contains(&3) && !now_ids.contains(&4), "{now_ids:?}");
}

#[test]
fn tentacle_registers_a_few_seconds_after_provisioning() {
    let mut world = world("scale-out");
    world.tunables.registration_delay_secs = (5.0, 5.0);
    world.advance_to(11.0);
    let first_done = world.scale_sets[0]
        .vms
        .iter()
        .filter(|vm| vm.instance_id >= 2)
        .map(|vm| vm.state_until)
        .fold(f64::MAX, f64::min);
    let before = world.machines.len();
    world.advance_to(first_done.ceil() + 3.0);
    assert_eq!(world.machines.len(), before, "not registered yet");
    world.advance_to(first_done.ceil() + 6.0);
    assert!(world.machines.len() > before);
    let newest = world.machines.last().unwrap();
    assert!(newest.name.starts_with("vmssweb"));
}

#[test]
fn windows_targets_register_upper_case() {
    let world = world("chaos");
    assert!(world.machines.iter().all(|m| m.name.starts_with("VMSSWEB")));
}

#[test]
fn nodes_heartbeat_and_a_killed_node_goes_offline_after_five_minutes() {
    let mut world = world("ha-drain");
    world.kill_node("OCTO-NODE-2").unwrap();
    world.advance_to(200.0);
    let alive = &world.nodes[0];
    assert!(world.now - alive.last_seen <= 30.0);
    assert!(!world.node_is_offline(world.nodes[1].last_seen));
    world.advance_to(320.0);
    assert!(world.node_is_offline(world.nodes[1].last_seen));
    assert!(!world.node_is_offline(world.nodes[0].last_seen));
}

fn deploy(world: &mut World) -> String {
    let release = world.releases.last().unwrap().id.clone();
    let environment = world.octopus.environment_id.clone();
    world
        .create_deployment(DeployRequest {
            release_id: release,
            environment_id: environment,
            ..Default::default()
        })
        .unwrap()
}

fn task_of<'w>(world: &'w World, deployment: &str) -> &'w super::world::Task {
    let task_id = &world.deployments.iter().find(|d| d.id == deployment).unwrap().task_id;
    world.tasks.iter().find(|t| &t.id == task_id).unwrap()
}

#[test]
fn a_deployment_task_runs_queued_executing_success_and_records_its_targets() {
    let mut world = world("steady");
    let id = deploy(&mut world);
    assert_eq!(task_of(&world, &id).state, TaskState::Queued);
    world.advance_to(1.0);
    assert_eq!(task_of(&world, &id).state, TaskState::Executing);
    world.advance_to(30.0);
    assert_eq!(task_of(&world, &id).state, TaskState::Success);
    let deployment = world.deployments.iter().find(|d| d.id == id).unwrap();
    assert_eq!(deployment.deployed_to_machine_ids.len(), 3);
}

/// Octopus runs one task per concurrency tag (by default `{Project}/{Environment}` for an
/// untenanted deployment): a later deployment of the project to the environment waits in the
/// queue while the earlier one executes, even with free nodes.
#[test]
fn a_later_deployment_of_the_same_project_and_environment_waits_for_the_earlier() {
    let mut world = world("steady");
    let first = deploy(&mut world);
    let second = deploy(&mut world);
    world.advance_to(1.0);
    assert_eq!(task_of(&world, &first).state, TaskState::Executing);
    assert_eq!(task_of(&world, &second).state, TaskState::Queued, "free nodes, but the tag is busy");
    world.advance_to(20.0);
    assert_eq!(task_of(&world, &first).state, TaskState::Success);
    assert_eq!(task_of(&world, &second).state, TaskState::Executing);
    world.advance_to(40.0);
    assert_eq!(task_of(&world, &second).state, TaskState::Success);
    // A task with no deployment (a health check) is not held by the tag.
    let third = deploy(&mut world);
    let health = world.queue_background_task();
    world.advance_to(41.0);
    assert_eq!(task_of(&world, &third).state, TaskState::Executing);
    assert!(world.tasks.iter().any(|t| t.id == health && t.state == TaskState::Executing));
}

#[test]
fn draining_nodes_take_no_tasks_and_task_caps_hold() {
    let mut world = world("steady");
    world.nodes[0].is_in_maintenance_mode = true;
    world.nodes[1].max_concurrent_tasks = 1;
    let first = deploy(&mut world);
    let second = deploy(&mut world);
    world.advance_to(1.0);
    assert_eq!(task_of(&world, &first).state, TaskState::Executing);
    assert_eq!(task_of(&world, &first).node_id.as_deref(), Some("OctopusServerNodes-OCTO-NODE-2"));
    assert_eq!(task_of(&world, &second).state, TaskState::Queued);
    world.advance_to(60.0);
    assert_eq!(task_of(&world, &second).state, TaskState::Success);
}

#[test]
fn a_killed_nodes_tasks_hang_until_cancelled_after_it_went_offline() {
    let mut world = world("steady");
    world.nodes[1].max_concurrent_tasks = 0;
    let id = deploy(&mut world);
    world.advance_to(1.0);
    world.kill_node("OCTO-NODE-1").unwrap();
    world.advance_to(120.0);
    assert_eq!(task_of(&world, &id).state, TaskState::Executing, "hangs like the real thing");
    let task_id = task_of(&world, &id).id.clone();
    world.cancel_task(&task_id).unwrap();
    world.advance_to(200.0);
    assert_eq!(task_of(&world, &id).state, TaskState::Cancelling);
    world.advance_to(400.0);
    assert_eq!(task_of(&world, &id).state, TaskState::Canceled);
}

#[test]
fn cancelling_a_queued_task_cancels_it_at_once() {
    let mut world = world("steady");
    for node in &mut world.nodes {
        node.max_concurrent_tasks = 0;
    }
    let id = deploy(&mut world);
    let task_id = task_of(&world, &id).id.clone();
    world.cancel_task(&task_id).unwrap();
    assert_eq!(task_of(&world, &id).state, TaskState::Canceled);
}

#[test]
fn a_stopped_tentacle_is_unavailable_while_its_vm_stays() {
    let mut world = world("steady");
    let name = world.machines[0].name.clone();
    world.set_tentacle(&name, false).unwrap();
    world.advance_to(10.0);
    assert_eq!(world.machines[0].health, Health::Unavailable);
    assert_eq!(world.scale_sets[0].vms.len(), 3);
}

#[test]
fn same_seed_same_world() {
    let mut a = world("chaos");
    let mut b = world("chaos");
    a.advance_to(400.0);
    b.advance_to(400.0);
    assert_eq!(ids(&a), ids(&b));
    let vm_ids = |w: &World| w.scale_sets[0].vms.iter().map(|vm| vm.vm_id.clone()).collect::<Vec<_>>();
    assert_eq!(vm_ids(&a), vm_ids(&b));
}

#[test]
fn deploying_to_an_unavailable_target_fails_unless_the_project_skips_it() {
    for (scenario, expected) in [("steady", TaskState::Success), ("misconfigured", TaskState::Failed)] {
        let mut world = world(scenario);
        let target = world.machines[0].id.clone();
        world.set_tentacle(&target, false).unwrap();
        let release = world.releases.last().unwrap().id.clone();
        let environment = world.octopus.environment_id.clone();
        let id = world
            .create_deployment(DeployRequest {
                release_id: release,
                environment_id: environment,
                specific_machine_ids: vec![target],
                ..Default::default()
            })
            .unwrap();
        world.advance_to(60.0);
        assert_eq!(task_of(&world, &id).state, expected, "{scenario}");
    }
}

#[test]
fn a_task_run_on_a_node_finishes_on_time_unless_the_node_dies() {
    let mut world = world("ha-drain");
    world.tunables.background_tasks_per_minute = 0.0;
    let long = world.run_task_on("octo-node-2", 30.0).unwrap();
    let stuck = world.run_task_on("OCTO-NODE-3", 30.0).unwrap();
    assert!(world.run_task_on("OCTO-NODE-9", 30.0).is_err());
    world.kill_node("OCTO-NODE-3").unwrap();
    let state = |w: &World, id: &str| w.tasks.iter().find(|t| t.id == id).unwrap().state;
    world.advance_to(29.0);
    assert_eq!(state(&world, &long), TaskState::Executing);
    assert_eq!(world.running_task_count("OctopusServerNodes-OCTO-NODE-2"), 1);
    world.advance_to(31.0);
    assert_eq!(state(&world, &long), TaskState::Success);
    assert_eq!(state(&world, &stuck), TaskState::Executing, "a dead node's task hangs");
}
