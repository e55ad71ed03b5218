//! Lifecycle hooks, capacity and protection over HTTP, moved by the simulator's manual clock.

use super::kit::start;
use scaleguard::sim::{EventAction, RequestHook};

#[tokio::test]
async fn a_scale_out_waits_in_pending_wait_until_the_launch_hook_is_completed() {
    let aws = start("aws-scale-out").await;
    aws.advance(70); // the scenario scales 2 -> 4 at 10 s; the instances boot in 30-45 s
    let group =
        aws.autoscaling("DescribeAutoScalingGroups", &[("AutoScalingGroupNames.member.1", "web-asg")]).await;
    let states = group.all("LifecycleState");
    assert_eq!(states.iter().filter(|s| *s == "Pending:Wait").count(), 2, "{states:?}");
    let waiting = aws.in_state("web-asg", "Pending:Wait");
    // Their targets registered while they wait, under the name EC2 gives them.
    let machines = aws.sim.with_world(|w| w.machines.len());
    assert_eq!(machines, 4);
    let hooks = aws.autoscaling("DescribeLifecycleHooks", &[("AutoScalingGroupName", "web-asg")]).await;
    assert_eq!(hooks.one("LifecycleTransition").as_deref(), Some("autoscaling:EC2_INSTANCE_LAUNCHING"));
    assert_eq!(
        (hooks.one("HeartbeatTimeout"), hooks.one("DefaultResult")),
        (Some("900".into()), Some("ABANDON".into()))
    );
    assert_eq!(hooks.one("GlobalTimeout").as_deref(), Some("90000"));

    let heartbeat = aws
        .autoscaling(
            "RecordLifecycleActionHeartbeat",
            &[
                ("LifecycleHookName", "octopus-deploy"),
                ("AutoScalingGroupName", "web-asg"),
                ("InstanceId", &waiting[0]),
            ],
        )
        .await;
    assert_eq!(heartbeat.status, 200, "{}", heartbeat.body);
    for id in &waiting {
        let done = aws
            .autoscaling(
                "CompleteLifecycleAction",
                &[
                    ("LifecycleHookName", "octopus-deploy"),
                    ("AutoScalingGroupName", "web-asg"),
                    ("LifecycleActionResult", "CONTINUE"),
                    ("InstanceId", id),
                ],
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("<CompleteLifecycleActionResult></CompleteLifecycleActionResult>"));
    }
    aws.advance(3);
    assert_eq!(aws.in_state("web-asg", "InService").len(), 4);
    let again = aws
        .autoscaling(
            "CompleteLifecycleAction",
            &[
                ("LifecycleHookName", "octopus-deploy"),
                ("AutoScalingGroupName", "web-asg"),
                ("LifecycleActionResult", "CONTINUE"),
                ("InstanceId", &waiting[0]),
            ],
        )
        .await;
    assert_eq!(again.error(), (400, "ValidationError".into()));
    let activities =
        aws.autoscaling("DescribeScalingActivities", &[("AutoScalingGroupName", "web-asg")]).await;
    assert_eq!(activities.all("StatusCode"), ["Successful", "Successful"]);
    for cause in activities.all("Cause") {
        assert!(cause.contains("a user request explicitly set group desired capacity changing the desired capacity from 2 to 4."), "{cause}");
    }
    assert!(activities.all("Description").iter().all(|d| d.starts_with("Launching a new EC2 instance: i-")));
}

#[tokio::test]
async fn a_scale_in_holds_instances_in_terminating_wait_and_a_token_completes_one() {
    let aws = start("aws-scale-in").await;
    aws.advance(12);
    let waiting = aws.in_state("web-asg", "Terminating:Wait");
    assert_eq!(waiting.len(), 2);
    let token =
        aws.sim.with_world(|w| w.aws.groups[0].instance(&waiting[0]).unwrap().actions[0].token.clone());
    let done = aws
        .autoscaling(
            "CompleteLifecycleAction",
            &[
                ("LifecycleHookName", "octopus-drain"),
                ("AutoScalingGroupName", "web-asg"),
                ("LifecycleActionResult", "CONTINUE"),
                ("LifecycleActionToken", &token),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(aws.in_state("web-asg", "Terminating:Proceed"), [waiting[0].clone()]);
    aws.advance(40);
    let group = aws.autoscaling("DescribeAutoScalingGroups", &[]).await;
    assert!(!group.all("InstanceId").contains(&waiting[0]), "a terminated instance leaves the listing");
    let ec2 = aws.ec2("DescribeInstances", &[("InstanceId.1", &waiting[0])]).await;
    assert!(
        ec2.body.contains("<instanceState><code>48</code><name>terminated</name></instanceState>"),
        "{}",
        ec2.body
    );
    assert_eq!(ec2.one("privateDnsName").as_deref(), Some(""));
}

#[tokio::test]
async fn desired_capacity_protection_and_termination_through_the_api() {
    let aws = start("aws-scale-in").await;
    let set = aws
        .autoscaling(
            "SetDesiredCapacity",
            &[("AutoScalingGroupName", "web-asg"), ("DesiredCapacity", "6"), ("HonorCooldown", "true")],
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert!(set.body.contains("<SetDesiredCapacityResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><ResponseMetadata>"));
    let busy = aws
        .autoscaling(
            "SetDesiredCapacity",
            &[("AutoScalingGroupName", "web-asg"), ("DesiredCapacity", "7"), ("HonorCooldown", "true")],
        )
        .await;
    assert_eq!(busy.error(), (400, "ScalingActivityInProgress".into()));
    assert!(busy.one("Message").unwrap().ends_with("is in progress and blocks this action"));

    let ids = aws.in_state("web-asg", "InService");
    let protect = aws
        .autoscaling(
            "SetInstanceProtection",
            &[
                ("InstanceIds.member.1", &ids[1]),
                ("AutoScalingGroupName", "web-asg"),
                ("ProtectedFromScaleIn", "true"),
            ],
        )
        .await;
    assert_eq!(protect.status, 200, "{}", protect.body);
    assert!(aws.sim.with_world(|w| w.aws.groups[0].instance(&ids[1]).unwrap().protected));

    let terminate = aws
        .autoscaling(
            "TerminateInstanceInAutoScalingGroup",
            &[("InstanceId", &ids[2]), ("ShouldDecrementDesiredCapacity", "true")],
        )
        .await;
    assert_eq!(terminate.status, 200, "{}", terminate.body);
    assert_eq!(terminate.one("Description"), Some(format!("Terminating EC2 instance: {}", ids[2])));
    assert!(terminate.one("Cause").unwrap().contains(
        "was taken out of service in response to a user request, shrinking the capacity from 6 to 5."
    ));
    assert_eq!(aws.sim.with_world(|w| w.aws.groups[0].desired), 5);
}

#[tokio::test]
async fn someone_else_changes_the_desired_capacity_right_before_a_write() {
    let aws = start("aws-scale-in").await;
    aws.sim.before_next_request(RequestHook {
        method: None,
        path_prefix: "autoscaling.SetDesiredCapacity".into(),
        action: EventAction::SetDesired {
            group: "web-asg".into(),
            desired: 8,
            policy: Some("cpu-high".into()),
        },
    });
    let read = aws.autoscaling("DescribeAutoScalingGroups", &[]).await;
    assert_eq!(read.one("DesiredCapacity").as_deref(), Some("5"), "a read does not fire the hook");
    let write = aws
        .autoscaling(
            "SetDesiredCapacity",
            &[("AutoScalingGroupName", "web-asg"), ("DesiredCapacity", "6"), ("HonorCooldown", "true")],
        )
        .await;
    assert_eq!(write.error(), (400, "ScalingActivityInProgress".into()), "the policy's launches block it");
    let activities = aws
        .autoscaling("DescribeScalingActivities", &[("AutoScalingGroupName", "web-asg"), ("MaxRecords", "1")])
        .await;
    assert!(activities.one("Cause").unwrap().contains("a monitor alarm cpu-high-alarm in state ALARM triggered policy cpu-high changing the desired capacity from 5 to 8."));
    assert!(activities.one("NextToken").is_some());
}

#[tokio::test]
async fn a_warm_pool_describes_its_instances_apart_from_the_group() {
    let aws = start("azure-aws").await;
    let pool = aws.autoscaling("DescribeWarmPool", &[("AutoScalingGroupName", "web-asg")]).await;
    assert_eq!(pool.status, 200, "{}", pool.body);
    assert_eq!((pool.one("PoolState"), pool.one("MinSize")), (Some("Stopped".into()), Some("1".into())));
    let warm = pool.all("InstanceId");
    assert_eq!(pool.all("LifecycleState"), vec!["Warmed:Stopped"; warm.len()]);
    assert_eq!(warm.len(), 2, "max(5 - 3, 1)");
    let group = aws.autoscaling("DescribeAutoScalingGroups", &[]).await;
    assert!(
        group.all("InstanceId").iter().all(|id| !warm.contains(id)),
        "warm instances are not the group's"
    );
    assert_eq!(group.one("WarmPoolSize").as_deref(), Some("2"));
    let ec2 = aws.ec2("DescribeInstances", &[("InstanceId.1", &warm[0])]).await;
    assert!(ec2.body.contains("<name>stopped</name>"));
    // The scenario's scale-out at 15 s takes a warm instance.
    aws.advance(16);
    let waiting = aws.in_state("web-asg", "Pending");
    assert_eq!(waiting.len(), 1);
    assert!(warm.contains(&waiting[0]));
    // Mixed: the Azure scale set is there too.
    assert_eq!(aws.sim.with_world(|w| w.scale_sets[0].vms.len()), 3);
}
