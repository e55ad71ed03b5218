//! Hostile and broken answers on the AWS path (red-team review): the real binary against the
//! simulator, with a rewriting reverse proxy on 127.0.0.1 between them where the answer must lie
//! while the simulated world stays true. Each test states the safety promise it holds the binary
//! to; the world (the simulator's state) is the judge of what really runs.

use crate::support::aws_proxy::behind_proxy;
use crate::support::bench::Bench;
use scaleguard::sim::SimOptions;
use std::time::Duration;

/// `node hooks` and the plan on an AWS nodes' group: an instance in Terminating:Wait that *may*
/// host an HA node is only extended, never let go at once. A node registered under a name that is
/// not its instance's private DNS host part (Windows on EC2 names itself `EC2AMAZ-…` unless told
/// otherwise; a node name can also be set at install) pairs with no instance: while such a node
/// exists, an instance whose name no node answers to may be its host. Here the busy node
/// IP-10-0-0-4 (a 600 s task) is registered as `EC2AMAZ-7QK2M1B`; Auto Scaling terminates its
/// instance at 30 s. While its task runs the instance must stay in Terminating:Wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_node_registered_under_another_name_keeps_its_instance_waiting_on_the_hook() {
    const NODE_ID: &str = "OctopusServerNodes-IP-10-0-0-4";
    let bench =
        Bench::start(SimOptions::new("ha-scale-aws").manual_clock(), |toml| toml).await.with_sim_clock();
    // The scenario starts the node's 600 s task at 1 s (by its name): let it start, then give the
    // node the name it would have on a default Windows AMI.
    bench.sim.advance(Duration::from_secs(2)).unwrap();
    bench.sim.with_world_mut(|w| {
        w.nodes.iter_mut().find(|n| n.id == NODE_ID).expect("the busy node").name = "EC2AMAZ-7QK2M1B".into()
    });
    bench.sim.advance(Duration::from_secs(38)).unwrap();
    let (instance, state) = bench.sim.with_world(|w| {
        let region = w.aws.region.clone();
        let i = w
            .aws
            .groups
            .iter()
            .flat_map(|g| &g.instances)
            .find(|i| i.computer_name(&region) == "IP-10-0-0-4")
            .expect("the busy node's instance");
        (i.instance_id.clone(), i.lifecycle.as_str().to_string())
    });
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    let busy = |bench: &Bench| {
        bench.sim.with_world(|w| {
            w.tasks.iter().any(|t| {
                t.node_id.as_deref() == Some(NODE_ID)
                    && t.start_time.is_some_and(|at| at >= 0.0)
                    && t.state.as_str() == "Executing"
            })
        })
    };
    assert!(busy(&bench), "the node still runs its task");

    let hooks = bench.run(&["node", "hooks"]).await;
    hooks.assert_no_panic("node hooks");
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");

    let state_now = bench.sim.with_world(|w| {
        w.aws
            .groups
            .iter()
            .flat_map(|g| &g.instances)
            .find(|i| i.instance_id == instance)
            .map(|i| i.lifecycle.as_str().to_string())
    });
    assert!(busy(&bench), "the node still runs its task after the passes");
    assert_eq!(
        state_now.as_deref(),
        Some("Terminating:Wait"),
        "instance {instance} hosts the busy node (registered as EC2AMAZ-7QK2M1B, unpaired) but its terminating \
         hook was completed while the node runs its task.\nnode hooks (exit {}):\n{}{}\napply (exit {}):\n{}{}",
        hooks.code,
        hooks.stdout,
        hooks.stderr,
        apply.code,
        apply.stdout,
        apply.stderr
    );
}

/// The same promise when EC2 contradicts itself: DescribeInstances lists the busy node's instance
/// twice, the second record with a private DNS name no node has. Two records of one instance that
/// disagree on its name leave its name unknown (it may host a node); the binary keeps the last one
/// read, so the instance of the busy node IP-10-0-0-4 (its node correctly named) reads as hosting
/// none, and its hook is completed while the node runs its task.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_ec2_lists_twice_under_two_names_keeps_its_hook_while_its_node_is_busy() {
    const NODE_ID: &str = "OctopusServerNodes-IP-10-0-0-4";
    let bench =
        Bench::start(SimOptions::new("ha-scale-aws").manual_clock(), |toml| toml).await.with_sim_clock();
    let proxy = behind_proxy(&bench).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let busy_instance = |bench: &Bench| {
        bench.sim.with_world(|w| {
            let region = w.aws.region.clone();
            w.aws
                .groups
                .iter()
                .flat_map(|g| &g.instances)
                .find(|i| i.computer_name(&region) == "IP-10-0-0-4")
                .map(|i| (i.instance_id.clone(), i.lifecycle.as_str().to_string()))
        })
    };
    let (instance, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    let busy = |bench: &Bench| {
        bench.sim.with_world(|w| {
            w.tasks.iter().any(|t| {
                t.node_id.as_deref() == Some(NODE_ID)
                    && t.start_time.is_some_and(|at| at >= 0.0)
                    && t.state.as_str() == "Executing"
            })
        })
    };
    assert!(busy(&bench), "the node runs its task");
    let second = format!(
        "<item><instanceId>{instance}</instanceId><instanceState><code>16</code><name>running</name>\
         </instanceState><privateDnsName>ip-10-0-9-99.eu-west-1.compute.internal</privateDnsName></item>"
    );
    proxy.lie("DescribeInstances", "</instancesSet>", &format!("{second}</instancesSet>"));

    let hooks = bench.run(&["node", "hooks"]).await;
    hooks.assert_no_panic("node hooks");
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");

    assert!(busy(&bench), "the node still runs its task after the passes");
    assert_eq!(
        busy_instance(&bench).map(|(_, state)| state).as_deref(),
        Some("Terminating:Wait"),
        "EC2 listed {instance} twice (ip-10-0-0-4 and ip-10-0-9-99); its hook was completed while its node \
         IP-10-0-0-4 runs its task.\nnode hooks (exit {}):\n{}{}\napply (exit {}):\n{}{}",
        hooks.code,
        hooks.stdout,
        hooks.stderr,
        apply.code,
        apply.stdout,
        apply.stderr
    );
}
