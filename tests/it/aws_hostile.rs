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
