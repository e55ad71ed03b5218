//! The fault mechanism on the AWS side: throttling, a lost NextToken, expired credentials, a hook
//! that times out while the client's action runs.

use super::kit::start;

#[tokio::test]
async fn throttling_answers_as_each_service_does_for_the_requests_it_covers() {
    let aws = start("aws-scale-in").await;
    aws.fault("autoscaling.DescribeAutoScalingGroups", "throttling", 2);
    for _ in 0..2 {
        let answer = aws.autoscaling("DescribeAutoScalingGroups", &[]).await;
        assert_eq!(answer.error(), (400, "Throttling".into()));
        assert_eq!(answer.one("Message").as_deref(), Some("Rate exceeded"));
        assert!(answer.body.contains("<Type>Sender</Type>"));
    }
    assert_eq!(aws.autoscaling("DescribeAutoScalingGroups", &[]).await.status, 200);
    aws.fault("ec2", "429", 1);
    assert_eq!(aws.ec2("DescribeInstances", &[]).await.error(), (503, "RequestLimitExceeded".into()));
    assert_eq!(aws.sim.stats().get("autoscaling.DescribeAutoScalingGroups"), 3);
}

#[tokio::test]
async fn a_page_that_loses_its_next_token_ends_early() {
    let aws = start("aws-scale-in").await;
    aws.fault("autoscaling.DescribeAutoScalingInstances", "lost_next_token", 1);
    let page = aws.autoscaling("DescribeAutoScalingInstances", &[("MaxRecords", "4")]).await;
    assert_eq!(page.status, 200);
    assert_eq!((page.all("InstanceId").len(), page.one("NextToken")), (2, None), "2 of 5, and no token");
    let (all, _) = aws.all_pages("DescribeAutoScalingInstances", &[("MaxRecords", "4")], "InstanceId").await;
    assert_eq!(all.len(), 5);
}

#[tokio::test]
async fn expired_credentials_answer_expired_token_and_request_expired() {
    let aws = start("aws-scale-in").await;
    aws.fault("autoscaling", "expired_token", 1);
    let answer = aws.autoscaling("DescribeAutoScalingGroups", &[]).await;
    assert_eq!(answer.error(), (403, "ExpiredToken".into()));
    assert_eq!(
        answer.one("Message").as_deref(),
        Some("The security token included in the request is expired")
    );
    aws.fault("ec2", "expired_token", 1);
    let ec2 = aws.ec2("DescribeInstances", &[]).await;
    assert_eq!(ec2.error(), (400, "RequestExpired".into()));
}

#[tokio::test]
async fn a_hook_that_times_out_while_the_action_runs_applies_its_default_result() {
    let aws = start("aws-scale-out").await;
    aws.advance(70);
    let waiting = aws.in_state("web-asg", "Pending:Wait");
    assert_eq!(waiting.len(), 2);
    // The deploy ran past the heartbeat timeout: by the time CONTINUE arrives the hook has
    // abandoned the launch.
    aws.fault("autoscaling.CompleteLifecycleAction", "hook_timeout", 1);
    let late = aws
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
    assert_eq!(late.error(), (400, "ValidationError".into()));
    assert!(late.one("Message").unwrap().contains("No active Lifecycle Action found with instance ID"));
    let abandoned = aws.in_state("web-asg", "Terminating:Proceed");
    assert_eq!(abandoned.len(), 2, "ABANDON, the hook's default, for both waiting launches");
    assert_eq!(aws.in_state("web-asg", "Pending").len(), 2, "replacements launch");
    // The same through the clock alone: the replacements' hooks time out after 900 s.
    aws.advance(60);
    assert_eq!(aws.in_state("web-asg", "Pending:Wait").len(), 2);
    aws.advance(900);
    assert!(aws.in_state("web-asg", "Pending:Wait").iter().all(|id| !abandoned.contains(id)));
}

#[tokio::test]
async fn a_redirected_listing_comes_back_empty_from_the_other_origin() {
    let aws = start("aws-scale-in").await;
    aws.fault("aws", "ok_noop", 1);
    let answer = aws.autoscaling("DescribeAutoScalingGroups", &[]).await;
    assert_eq!(answer.status, 200);
    assert!(answer.all("AutoScalingGroupName").is_empty(), "{}", answer.body);
}
