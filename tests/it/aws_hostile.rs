//! Hostile answers on the AWS path: the real binary against the simulator, with a rewriting
//! reverse proxy on 127.0.0.1 between them where the answer lies while the simulated world stays
//! true; the world (the simulator's state) judges what really runs.

use crate::support::bench::Bench;
use crate::support::rewriting_proxy::behind_proxy;
use scaleguard::sim::SimOptions;
use std::time::Duration;

/// An instance the group's answer lists that EC2 does not put in the group (here
/// `i-0feedfacefeedface0`, of no group: EC2 does not know it) never counts toward the desired
/// capacity and leaves the listing unproven, so it cannot stand in for an instance lost from the
/// answer: the lost instance keeps running in the world and its target stays, the plan saying why
/// deletes are held.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_of_no_group_standing_in_for_a_lost_one_never_gets_its_target_deleted() {
    let bench = Bench::start(SimOptions::new("aws-scale-in").manual_clock(), Bench::apply_profile)
        .await
        .with_sim_clock();
    // A steady group of 5: the scenario's scripted scale-in is taken out.
    bench.sim.with_world_mut(|w| w.events.clear());
    let proxy = behind_proxy(&bench).await;
    let profile = std::fs::read_to_string(&bench.config).unwrap();
    let profile = crate::support::bench::set_toml(&profile, "absent_observations", "2");
    std::fs::write(&bench.config, profile).unwrap();

    let honest = bench.run(&["plan"]).await;
    assert_eq!(
        honest.code, 0,
        "nothing to do while the answers are true: {}{}",
        honest.stdout, honest.stderr
    );
    let victim = bench.sim.with_world(|w| w.aws.groups[0].instances[2].instance_id.clone());
    let target = |bench: &Bench| {
        bench.sim.with_world(|w| w.machines.iter().find(|m| m.name == victim).map(|m| m.id.clone()))
    };
    let target_id = target(&bench).expect("the victim's target is registered");

    // From now on the answer lists another instance in the victim's place.
    proxy.lie(
        "DescribeAutoScalingGroups",
        &format!("<InstanceId>{victim}</InstanceId>"),
        "<InstanceId>i-0feedfacefeedface0</InstanceId>",
    );
    let mut outputs = Vec::new();
    for _ in 0..3 {
        bench.sim.advance(Duration::from_secs(5)).unwrap();
        let plan = bench.run(&["plan"]).await;
        plan.assert_no_panic("plan");
        outputs.push(plan.stdout);
    }
    bench.sim.advance(Duration::from_secs(5)).unwrap();
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");

    let running = bench.sim.with_world(|w| {
        w.aws.groups[0]
            .instances
            .iter()
            .any(|i| i.instance_id == victim && i.lifecycle.as_str() == "InService")
    });
    assert!(running, "the victim instance {victim} still runs in the world");
    for plan in &outputs {
        assert!(
            plan.contains("i-0feedfacefeedface0") && plan.contains("EC2 does not know it"),
            "the plan says why deletes are held:\n{plan}"
        );
    }
    assert_eq!(
        target(&bench).as_deref(),
        Some(target_id.as_str()),
        "the target of {victim}, whose instance still runs, was deleted on a listing that held an instance of \
         no group in its place.\nplans:\n{}\napply (exit {}):\n{}{}",
        outputs.join("\n"),
        apply.code,
        apply.stdout,
        apply.stderr
    );
}

/// The node of `ha-scale-aws` that runs a 600 s task from 1 s on, and its instance's name.
const BUSY_NODE: &str = "OctopusServerNodes-IP-10-0-0-4";
const BUSY_HOST: &str = "IP-10-0-0-4";

/// The busy node's instance (by its private DNS host name in the world) and its lifecycle state.
fn busy_instance(bench: &Bench) -> Option<(String, String)> {
    bench.sim.with_world(|w| {
        let region = w.aws.region.clone();
        w.aws
            .groups
            .iter()
            .flat_map(|g| &g.instances)
            .find(|i| i.computer_name(&region) == BUSY_HOST)
            .map(|i| (i.instance_id.clone(), i.lifecycle.as_str().to_string()))
    })
}

fn node_runs_its_task(bench: &Bench) -> bool {
    bench.sim.with_world(|w| {
        w.tasks.iter().any(|t| {
            t.node_id.as_deref() == Some(BUSY_NODE)
                && t.start_time.is_some_and(|at| at >= 0.0)
                && t.state.as_str() == "Executing"
        })
    })
}

/// `node hooks`, then `apply --yes`; then the busy node must still run its task and its instance
/// still wait on the hook (`what`: how the answers lied, for the failure message).
async fn the_busy_nodes_instance_keeps_waiting(bench: &Bench, what: &str) {
    let hooks = bench.run(&["node", "hooks"]).await;
    hooks.assert_no_panic("node hooks");
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");
    assert!(node_runs_its_task(bench), "the node still runs its task after the passes");
    assert_eq!(
        busy_instance(bench).map(|(_, state)| state).as_deref(),
        Some("Terminating:Wait"),
        "{what}: the hook of the busy node's instance was completed while the node runs its task.\nnode hooks \
         (exit {}):\n{}{}\napply (exit {}):\n{}{}",
        hooks.code,
        hooks.stdout,
        hooks.stderr,
        apply.code,
        apply.stdout,
        apply.stderr
    );
}

/// `node hooks` and the plan on an AWS nodes' group: an instance in Terminating:Wait that *may*
/// host an HA node is only extended, never let go at once. A node registered under a name that is
/// not its instance's private DNS host part (Windows on EC2 names itself `EC2AMAZ-…` unless told
/// otherwise; a node name can also be set at install) pairs with no instance: while such a node
/// runs, an instance that hosts no paired node may be its host. Here the busy node
/// IP-10-0-0-4 (a 600 s task) is registered as `EC2AMAZ-7QK2M1B`; Auto Scaling terminates its
/// instance at 30 s. While its task runs the instance must stay in Terminating:Wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_node_registered_under_another_name_keeps_its_instance_waiting_on_the_hook() {
    let bench =
        Bench::start(SimOptions::new("ha-scale-aws").manual_clock(), |toml| toml).await.with_sim_clock();
    // The scenario starts the node's task at 1 s (by its name): let it start, then give the node
    // the name it would have on a default Windows AMI.
    bench.sim.advance(Duration::from_secs(2)).unwrap();
    bench.sim.with_world_mut(|w| {
        w.nodes.iter_mut().find(|n| n.id == BUSY_NODE).expect("the busy node").name = "EC2AMAZ-7QK2M1B".into()
    });
    bench.sim.advance(Duration::from_secs(38)).unwrap();
    let (_, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    assert!(node_runs_its_task(&bench), "the node runs its task");
    the_busy_nodes_instance_keeps_waiting(&bench, "the busy node registered as EC2AMAZ-7QK2M1B (unpaired)")
        .await;
}

/// The same promise when EC2 contradicts itself: DescribeInstances lists the busy node's instance
/// twice, the second record with a private DNS name no node has. Two records of one instance that
/// disagree are a read error, never "the last one wins" (which once renamed the instance of the
/// busy node IP-10-0-0-4 so that it read as hosting none, and its hook was completed while the node
/// ran its task).
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_ec2_lists_twice_under_two_names_keeps_its_hook_while_its_node_is_busy() {
    let bench =
        Bench::start(SimOptions::new("ha-scale-aws").manual_clock(), |toml| toml).await.with_sim_clock();
    let proxy = behind_proxy(&bench).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    assert!(node_runs_its_task(&bench), "the node runs its task");
    let second = format!(
        "<item><instanceId>{instance}</instanceId><instanceState><code>16</code><name>running</name>\
         </instanceState><privateDnsName>ip-10-0-9-99.eu-west-1.compute.internal</privateDnsName></item>"
    );
    proxy.lie("DescribeInstances", "</instancesSet>", &format!("{second}</instancesSet>"));
    the_busy_nodes_instance_keeps_waiting(
        &bench,
        &format!("EC2 listed {instance} twice (ip-10-0-0-4 and ip-10-0-9-99)"),
    )
    .await;
}
