//! Octopus HA nodes on an Auto Scaling group (`ha-scale-aws`), moved by `advance_to` (simulated
//! seconds; nothing sleeps): names from the instances' private DNS names, the node up through
//! Terminating:Wait and down from Terminating:Proceed.

use super::super::scenario::{self, Scenario, SCENARIOS};
use super::super::world::{TaskState, World};
use super::form::Form;
use super::model::Lifecycle;
use super::xml::Xml;
use super::{ActionTarget, DesiredChange};

const GROUP: &str = "octo-asg";
const HOOK: &str = "drain-octopus-node";
/// The nodes the scenario documents, in launch order; instance 0's is busy for 600 s.
const NAMES: [&str; 4] = ["IP-10-0-0-4", "IP-10-0-32-5", "IP-10-0-64-6", "IP-10-0-0-7"];
const BUSY: &str = "IP-10-0-0-4";

fn world(seed: u64) -> World {
    scenario::load("ha-scale-aws").unwrap().build(seed)
}

/// The scenario without its `[[nodes]]` list: every node comes from the group's instances.
fn world_without_listed_nodes(seed: u64) -> World {
    let text = SCENARIOS.iter().find(|(name, _)| *name == "ha-scale-aws").unwrap().1;
    let mut value: toml::Table = toml::from_str(text).unwrap();
    assert!(value.remove("nodes").is_some(), "the scenario lists its nodes");
    let scenario: Scenario = toml::Value::Table(value).try_into().unwrap();
    scenario.build(seed)
}

fn group(world: &World) -> usize {
    world.aws.group_index(GROUP).unwrap()
}

/// The octo-asg instance (still in the group) hosting node `name`.
fn host<'w>(world: &'w World, name: &str) -> Option<&'w super::AsgInstance> {
    let region = &world.aws.region;
    world.aws.groups[group(world)].instances.iter().find(|i| i.computer_name(region) == name)
}

fn node<'w>(world: &'w World, name: &str) -> &'w super::super::world::Node {
    world.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("{name}: {:?}", world.nodes))
}

/// Heartbeating: alive and seen within the last heartbeat interval.
fn heartbeating(world: &World, name: &str) -> bool {
    let node = node(world, name);
    node.alive && world.now - node.last_seen <= world.tunables.heartbeat_secs
}

fn busy_task_state(world: &World) -> TaskState {
    let id = &node(world, BUSY).id;
    let task = world.tasks.iter().find(|t| t.node_id.as_ref() == Some(id) && t.name == "AdHocScript");
    task.expect("the busy node's task").state
}

/// The world at 40 s: the scripted 4 -> 3 has put the busy node's instance under the hook.
fn waiting() -> (World, String) {
    let mut world = world(23);
    world.advance_to(40.0);
    let id = host(&world, BUSY).expect("still in the group").instance_id.clone();
    (world, id)
}

#[test]
fn each_instance_runs_a_node_named_after_its_private_dns_name_for_any_seed_and_no_target() {
    for seed in [1, 23, 99] {
        let world = world_without_listed_nodes(seed);
        let g = group(&world);
        let names: Vec<String> =
            world.aws.groups[g].instances.iter().map(|i| i.computer_name(&world.aws.region)).collect();
        assert_eq!(names, NAMES, "seed {seed}");
        let nodes: Vec<(&str, u32, bool)> =
            world.nodes.iter().map(|n| (n.name.as_str(), n.max_concurrent_tasks, n.alive)).collect();
        assert_eq!(nodes, NAMES.map(|n| (n, 5, true)), "seed {seed}");
        assert!(world.machines.iter().all(|m| m.vm.as_ref().is_none_or(|(set, _)| set != GROUP)));
        let web = world.machines.iter().filter(|m| m.vm.as_ref().is_some_and(|(set, _)| set == "web-asg"));
        assert_eq!(web.count(), 2, "the web tier registers its tentacles");
    }
}

#[test]
fn the_node_names_are_the_host_part_of_the_private_dns_names_ec2_describes() {
    let mut world = world(23);
    let mut xml = Xml::new();
    let form = Form::parse(&[], b"Action=DescribeInstances&Version=2016-11-15");
    super::ec2::describe_instances(&mut world, &form, false, &mut xml).unwrap();
    let text = xml.finish();
    let described: Vec<String> = text
        .split("<privateDnsName>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(|dns| dns.split('.').next().unwrap_or_default().to_uppercase())
        .collect();
    for name in NAMES {
        assert!(described.iter().any(|d| d == name), "{name} not in {described:?}");
    }
}

#[test]
fn the_scripted_scale_in_holds_the_busy_nodes_instance_in_terminating_wait_with_the_node_up() {
    let (mut world, id) = waiting();
    let g = group(&world);
    assert_eq!(world.aws.groups[g].desired, 3);
    let instance = host(&world, BUSY).unwrap();
    assert_eq!(instance.lifecycle, Lifecycle::TerminatingWait);
    let hooks: Vec<&str> = instance.actions.iter().map(|a| a.hook.as_str()).collect();
    assert_eq!(hooks, [HOOK]);
    assert_eq!(instance.actions[0].deadline, 331.0, "waits from 31 s, 300 s heartbeat timeout");
    for other in &NAMES[1..] {
        assert_eq!(host(&world, other).unwrap().lifecycle, Lifecycle::InService, "{other}");
    }
    world.advance_to(320.0);
    assert_eq!(host(&world, BUSY).unwrap().instance_id, id);
    assert_eq!(host(&world, BUSY).unwrap().lifecycle, Lifecycle::TerminatingWait);
    assert!(heartbeating(&world, BUSY), "{:?}", node(&world, BUSY));
    assert_eq!(busy_task_state(&world), TaskState::Executing);
}

#[test]
fn continue_terminates_the_instance_and_its_node_stops_with_its_task_hanging() {
    let (mut world, id) = waiting();
    world.aws_complete_action(GROUP, HOOK, &ActionTarget::InstanceId(id.clone()), "CONTINUE").unwrap();
    assert_eq!(host(&world, BUSY).unwrap().lifecycle, Lifecycle::TerminatingProceed);
    world.advance_to(41.0);
    assert!(!node(&world, BUSY).alive, "shut down from Terminating:Proceed");
    world.advance_to(100.0);
    assert!(host(&world, BUSY).is_none(), "gone from the group");
    assert!(world.aws.terminated.iter().any(|t| t.instance.instance_id == id));
    world.advance_to(700.0);
    assert!(world.node_is_offline(node(&world, BUSY).last_seen));
    assert_eq!(busy_task_state(&world), TaskState::Executing, "hangs on the dead node");
    for other in &NAMES[1..] {
        assert!(heartbeating(&world, other), "{other}");
    }
}

#[test]
fn without_a_heartbeat_the_hook_times_out_at_331_s_and_abandon_takes_the_node_down() {
    let (mut world, _) = waiting();
    world.advance_to(330.0);
    assert!(heartbeating(&world, BUSY));
    world.advance_to(331.0);
    assert_eq!(host(&world, BUSY).unwrap().lifecycle, Lifecycle::TerminatingProceed);
    assert!(!node(&world, BUSY).alive);
}

#[test]
fn a_heartbeat_extends_the_wait_so_the_busy_task_finishes_before_the_instance_goes() {
    let (mut world, id) = waiting();
    world.advance_to(320.0);
    world.aws_record_heartbeat(GROUP, HOOK, &ActionTarget::InstanceId(id)).unwrap();
    assert_eq!(host(&world, BUSY).unwrap().actions[0].deadline, 620.0);
    world.advance_to(610.0);
    assert_eq!(host(&world, BUSY).unwrap().lifecycle, Lifecycle::TerminatingWait);
    assert!(heartbeating(&world, BUSY));
    assert_eq!(busy_task_state(&world), TaskState::Success, "the 600 s task ran to its end");
    world.advance_to(700.0);
    assert!(host(&world, BUSY).is_none(), "ABANDON at 620 s, then shut down");
    assert!(!node(&world, BUSY).alive);
}

#[test]
fn a_new_instance_registers_its_node_with_cap_5_once_in_service() {
    let mut world = world_without_listed_nodes(23);
    world.events.clear();
    world.aws_set_desired(GROUP, 5, false, DesiredChange::UserRequest).unwrap();
    let g = group(&world);
    let new = world.aws.groups[g].instances.last().unwrap().clone();
    assert_eq!(new.lifecycle, Lifecycle::Pending);
    let name = new.computer_name(&world.aws.region);
    world.advance_to(20.0);
    assert!(world.nodes.iter().all(|n| n.name != name), "no node while the instance boots");
    world.advance_to(120.0);
    let instance = world.aws.groups[g].instance(&new.instance_id).unwrap();
    assert_eq!(instance.lifecycle, Lifecycle::InService);
    let node = node(&world, &name);
    assert_eq!((node.max_concurrent_tasks, node.alive), (5, true), "{node:?}");
    assert_eq!(world.nodes.len(), 5);
    assert!(world.machines.iter().all(|m| m.vm.as_ref().is_none_or(|(set, _)| set != GROUP)));
}
