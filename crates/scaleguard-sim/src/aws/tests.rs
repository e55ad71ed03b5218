//! The AWS world's state machine, moved by `advance_to` (simulated seconds; nothing sleeps).

use super::super::scenario::Scenario;
use super::super::world::{Health, World};
use super::model::Lifecycle;
use super::{ActionTarget, DesiredChange};

/// A world with one group `web-asg` built from `group` (TOML keys of `[[aws.groups]]`) and any
/// extra tables after it.
fn world(group: &str) -> World {
    let text = format!(
        "description = \"t\"\n[octopus]\nenvironment = \"Production\"\nroles = [\"web\"]\n\
         [aws]\nregion = \"eu-west-1\"\n[[aws.groups]]\nname = \"web-asg\"\n{group}"
    );
    let scenario: Scenario = toml::from_str(&text).expect("test scenario parses");
    for g in scenario.aws.iter().flat_map(|a| &a.groups) {
        g.check().expect("test group is valid");
    }
    scenario.build(7)
}

const LAUNCH_HOOK: &str = "[[aws.groups.hooks]]\nname = \"deploy\"\ntransition = \"EC2_INSTANCE_LAUNCHING\"\nheartbeat_timeout = 600\ndefault_result = \"ABANDON\"\n";
const TERMINATE_HOOK: &str = "[[aws.groups.hooks]]\nname = \"drain\"\ntransition = \"EC2_INSTANCE_TERMINATING\"\nheartbeat_timeout = 300\ndefault_result = \"CONTINUE\"\n";

fn states(world: &World) -> Vec<(String, &'static str)> {
    world.aws.groups[0].instances.iter().map(|i| (i.instance_id.clone(), i.lifecycle.as_str())).collect()
}

fn in_state(world: &World, state: Lifecycle) -> Vec<String> {
    world.aws.groups[0]
        .instances
        .iter()
        .filter(|i| i.lifecycle == state)
        .map(|i| i.instance_id.clone())
        .collect()
}

fn target_health(world: &World, seq: u64) -> Option<Health> {
    world
        .machines
        .iter()
        .find(|m| m.vm.as_ref().is_some_and(|(g, s)| g == "web-asg" && *s == seq))
        .map(|m| m.health)
}

#[test]
fn the_initial_instances_are_in_service_and_registered_under_the_groups_naming() {
    let world = world("max_size = 6\ndesired = 3\nmatch = \"private_dns_name\"\n");
    assert_eq!(in_state(&world, Lifecycle::InService).len(), 3);
    let names: Vec<&str> = world.machines.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 3);
    assert!(
        names.iter().all(|n| n.starts_with("ip-10-0-") && n.ends_with(".eu-west-1.compute.internal")),
        "{names:?}"
    );
    // Spread over the three zones.
    let zones: std::collections::BTreeSet<&str> =
        world.aws.groups[0].instances.iter().map(|i| i.zone.as_str()).collect();
    assert_eq!(zones.len(), 3);
}

#[test]
fn a_scale_out_waits_under_the_launch_hook_with_targets_registered_until_continue() {
    let mut world = world(&format!("max_size = 6\ndesired = 2\n{LAUNCH_HOOK}"));
    world.aws_set_desired("web-asg", 4, false, DesiredChange::UserRequest).unwrap();
    let new = in_state(&world, Lifecycle::Pending);
    assert_eq!(new.len(), 2, "{:?}", states(&world));
    world.advance_to(60.0);
    assert_eq!(in_state(&world, Lifecycle::PendingWait), new, "booted, held by the hook");
    assert_eq!(world.machines.len(), 4, "their tentacles registered while they wait");
    for id in &new {
        world
            .aws_complete_action("web-asg", "deploy", &ActionTarget::InstanceId(id.clone()), "CONTINUE")
            .unwrap();
    }
    assert_eq!(in_state(&world, Lifecycle::PendingProceed), new);
    world.advance_to(63.0);
    assert_eq!(in_state(&world, Lifecycle::InService).len(), 4);
    let launches: Vec<_> =
        world.aws.activities.iter().filter(|a| a.description.starts_with("Launching")).collect();
    assert_eq!(launches.len(), 2);
    for activity in launches {
        assert_eq!((activity.status.as_str(), activity.progress), ("Successful", 100));
        assert!(activity.cause.contains("a user request explicitly set group desired capacity changing the desired capacity from 2 to 4."), "{}", activity.cause);
        assert!(activity.cause.contains("increasing the capacity from 2 to 4."), "{}", activity.cause);
    }
    // Nothing left to complete.
    let again =
        world.aws_complete_action("web-asg", "deploy", &ActionTarget::InstanceId(new[0].clone()), "CONTINUE");
    assert!(again.unwrap_err().message.contains("No active Lifecycle Action found with instance ID"));
}

#[test]
fn a_launch_hook_that_times_out_abandons_the_instance_and_a_replacement_launches() {
    let mut world = world(&format!("max_size = 6\ndesired = 1\n{LAUNCH_HOOK}"));
    world.aws_set_desired("web-asg", 2, false, DesiredChange::UserRequest).unwrap();
    world.advance_to(60.0);
    let waiting = in_state(&world, Lifecycle::PendingWait);
    assert_eq!(waiting.len(), 1);
    let started = world.aws.groups[0].instances.iter().find(|i| i.instance_id == waiting[0]).unwrap().actions
        [0]
    .started;
    // A heartbeat just before the timeout moves it by another 600 s.
    world.advance_to(started + 590.0);
    world.aws_record_heartbeat("web-asg", "deploy", &ActionTarget::InstanceId(waiting[0].clone())).unwrap();
    world.advance_to(started + 1000.0);
    assert_eq!(in_state(&world, Lifecycle::PendingWait), waiting, "the heartbeat kept it waiting");
    world.advance_to(started + 1191.0);
    assert!(world.aws.groups[0]
        .instance(&waiting[0])
        .is_none_or(|i| i.lifecycle == Lifecycle::TerminatingProceed));
    let replacement: Vec<_> = world.aws.groups[0]
        .instances
        .iter()
        .filter(|i| i.lifecycle.counts() && i.instance_id != waiting[0] && i.launched_at > 0.0)
        .collect();
    assert_eq!(replacement.len(), 1, "{:?}", states(&world));
    let launch = world.aws.activities.iter().find(|a| a.description.ends_with(&waiting[0])).unwrap();
    assert_eq!(launch.status, "Cancelled");
}

#[test]
fn the_global_timeout_caps_heartbeats() {
    let world = world(&format!("max_size = 6\ndesired = 1\n{LAUNCH_HOOK}"));
    assert_eq!(world.aws.groups[0].hooks[0].global_timeout_secs(), 60_000);
    let long =
        super::model::LifecycleHook { heartbeat_timeout_secs: 7200, ..world.aws.groups[0].hooks[0].clone() };
    assert_eq!(long.global_timeout_secs(), 172_800);
}

#[test]
fn a_scale_in_holds_the_chosen_instances_in_terminating_wait_with_their_targets_registered() {
    let mut world =
        world(&format!("max_size = 6\ndesired = 4\ntermination_policies = [\"OldestInstance\"]\nprotected = [0]\n{TERMINATE_HOOK}"));
    let by_age: Vec<(String, u64)> =
        world.aws.groups[0].instances.iter().map(|i| (i.instance_id.clone(), i.seq)).collect();
    world.aws_set_desired("web-asg", 2, false, DesiredChange::UserRequest).unwrap();
    world.advance_to(2.0);
    let waiting = in_state(&world, Lifecycle::TerminatingWait);
    // Zones a, b, c, a: zone a is the busiest, and of its two instances 0 is protected, so 3 goes
    // first; then the zones are even and OldestInstance picks 1 (0, the oldest, is protected).
    assert_eq!(waiting, vec![by_age[1].0.clone(), by_age[3].0.clone()], "{:?}", states(&world));
    assert_eq!(target_health(&world, by_age[1].1), Some(Health::Healthy));
    world
        .aws_complete_action("web-asg", "drain", &ActionTarget::InstanceId(waiting[0].clone()), "CONTINUE")
        .unwrap();
    world.advance_to(40.0);
    assert!(world.aws.groups[0].instance(&waiting[0]).is_none(), "gone from the group");
    assert_eq!(
        target_health(&world, by_age[1].1),
        Some(Health::Unavailable),
        "its target stays, unavailable"
    );
    assert_eq!(world.aws.terminated.len(), 1);
    // The other one's hook times out after 300 s and CONTINUEs by default (then shuts down).
    world.advance_to(302.0);
    assert_eq!(in_state(&world, Lifecycle::TerminatingProceed), vec![waiting[1].clone()]);
    world.advance_to(340.0);
    assert!(world.aws.groups[0].instance(&waiting[1]).is_none());
    world.advance_to(340.0 + 3601.0);
    assert!(world.aws.terminated.is_empty(), "EC2 forgets terminated instances after an hour");
    let terminations: Vec<_> =
        world.aws.activities.iter().filter(|a| a.description.starts_with("Terminating")).collect();
    assert_eq!(terminations.len(), 2);
    assert!(terminations
        .iter()
        .all(|a| a.status == "Successful" && a.cause.contains("was selected for termination")));
}

#[test]
fn the_default_policy_balances_zones_first_then_takes_the_oldest_template() {
    let mut world = world("max_size = 8\ndesired = 4\noutdated = [1]\n");
    // Zones a, b, c, a: zone a has two instances, so one of them goes first.
    let zone_a: Vec<String> = world.aws.groups[0]
        .instances
        .iter()
        .filter(|i| i.zone == "eu-west-1a")
        .map(|i| i.instance_id.clone())
        .collect();
    assert_eq!(zone_a.len(), 2);
    world.aws_set_desired("web-asg", 3, false, DesiredChange::UserRequest).unwrap();
    let going = in_state(&world, Lifecycle::Terminating);
    assert_eq!(going.len(), 1);
    assert!(zone_a.contains(&going[0]));
    // Balanced now (1, 1, 1): the instance on the older template version goes next.
    let outdated = world.aws.groups[0].instances[1].instance_id.clone();
    world.aws_set_desired("web-asg", 2, false, DesiredChange::UserRequest).unwrap();
    assert!(in_state(&world, Lifecycle::Terminating).contains(&outdated));
}

#[test]
fn desired_capacity_is_checked_against_the_limits_and_the_cooldown() {
    let mut world = world("min_size = 2\nmax_size = 5\ndesired = 3\ndefault_cooldown = 300\n");
    let err = world.aws_set_desired("web-asg", 6, false, DesiredChange::UserRequest).unwrap_err();
    assert_eq!(err.message, "New SetDesiredCapacity value 6 is above max value 5 for the AutoScalingGroup.");
    let err = world.aws_set_desired("web-asg", 1, false, DesiredChange::UserRequest).unwrap_err();
    assert!(err.message.contains("below min value 2"));
    world.aws_set_desired("web-asg", 4, true, DesiredChange::UserRequest).unwrap();
    let err = world.aws_set_desired("web-asg", 5, true, DesiredChange::UserRequest).unwrap_err();
    assert_eq!(err.code, "ScalingActivityInProgress");
    world.advance_to(120.0);
    let err = world.aws_set_desired("web-asg", 5, true, DesiredChange::UserRequest).unwrap_err();
    assert_eq!(err.code, "ScalingActivityInProgress", "the cooldown since the launch ended still runs");
    world.advance_to(500.0);
    world.aws_set_desired("web-asg", 5, true, DesiredChange::UserRequest).unwrap();
    // Without HonorCooldown nothing blocks.
    world.aws_set_desired("web-asg", 3, false, DesiredChange::UserRequest).unwrap();
}

#[test]
fn terminate_instance_decrements_or_replaces() {
    let mut world = world("min_size = 2\nmax_size = 5\ndesired = 3\n");
    let first = world.aws.groups[0].instances[0].instance_id.clone();
    let second = world.aws.groups[0].instances[1].instance_id.clone();
    world.aws_terminate_instance(&first, true).unwrap();
    assert_eq!(world.aws.groups[0].desired, 2);
    let err = world.aws_terminate_instance(&second, true).unwrap_err();
    assert!(err.message.starts_with("Currently, desiredSize equals minSize (2)."));
    world.aws_terminate_instance(&second, false).unwrap();
    assert_eq!(world.aws.groups[0].desired, 2);
    assert_eq!(in_state(&world, Lifecycle::Pending).len(), 1, "a replacement launches");
    let err = world.aws_terminate_instance("i-0000000000000dead", false).unwrap_err();
    assert!(err.message.contains("No managed instance found for instance ID: i-0000000000000dead"));
}

#[test]
fn protection_needs_instances_of_the_group() {
    let mut world = world("max_size = 5\ndesired = 2\n");
    let id = world.aws.groups[0].instances[0].instance_id.clone();
    world.aws_set_protection("web-asg", std::slice::from_ref(&id), true).unwrap();
    assert!(world.aws.groups[0].instances[0].protected);
    let err = world.aws_set_protection("web-asg", &["i-0000000000000beef".into()], true).unwrap_err();
    assert_eq!(err.message, "The instance i-0000000000000beef is not part of Auto Scaling group web-asg.");
}

#[test]
fn a_scale_out_takes_warm_instances_first_and_the_pool_refills() {
    let pool =
        "[aws.groups.warm_pool]\nmin_size = 2\nmax_group_prepared_capacity = 4\npool_state = \"Stopped\"\n";
    let mut world = world(&format!("max_size = 6\ndesired = 2\n{pool}"));
    let warm = in_state(&world, Lifecycle::WarmedStopped);
    assert_eq!(warm.len(), 2, "max(4 - 2, 2)");
    assert_eq!(world.machines.len(), 2, "a stopped warm instance has no target");
    world.aws_set_desired("web-asg", 3, false, DesiredChange::UserRequest).unwrap();
    let pending = in_state(&world, Lifecycle::Pending);
    assert_eq!(pending.len(), 1);
    assert!(warm.contains(&pending[0]), "taken from the warm pool");
    assert_eq!(in_state(&world, Lifecycle::WarmedPending).len(), 1, "the pool refills to its minimum");
    world.advance_to(60.0);
    assert_eq!(in_state(&world, Lifecycle::InService).len(), 3);
    assert_eq!(in_state(&world, Lifecycle::WarmedStopped).len(), 2);
}

#[test]
fn expiring_actions_applies_each_hooks_default_result() {
    let mut world = world(&format!("max_size = 6\ndesired = 3\n{TERMINATE_HOOK}"));
    world.aws_set_desired("web-asg", 2, false, DesiredChange::UserRequest).unwrap();
    world.advance_to(2.0);
    assert_eq!(in_state(&world, Lifecycle::TerminatingWait).len(), 1);
    world.aws_expire_actions(Some("web-asg")).unwrap();
    assert_eq!(in_state(&world, Lifecycle::TerminatingProceed).len(), 1, "CONTINUE by default");
}
