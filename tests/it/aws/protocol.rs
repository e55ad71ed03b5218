//! Shapes, paging, errors and authentication of the AWS side.

use super::kit::{start, Signer};

#[tokio::test]
async fn a_group_describes_with_its_limits_instances_and_template_version() {
    let aws = start("aws-scale-in").await;
    let answer =
        aws.autoscaling("DescribeAutoScalingGroups", &[("AutoScalingGroupNames.member.1", "web-asg")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>"), "{}", answer.body);
    assert!(answer.body.contains("<ResponseMetadata><RequestId>"));
    assert_eq!(answer.one("AutoScalingGroupName").as_deref(), Some("web-asg"));
    assert_eq!(
        (
            answer.one("MinSize"),
            answer.one("MaxSize"),
            answer.one("DesiredCapacity"),
            answer.one("DefaultCooldown")
        ),
        (Some("1".into()), Some("10".into()), Some("5".into()), Some("300".into()))
    );
    assert_eq!(answer.all("InstanceId").len(), 5);
    assert_eq!(answer.all("LifecycleState"), vec!["InService"; 5]);
    assert_eq!(answer.all("HealthStatus"), vec!["Healthy"; 5], "title case in the group listing");
    assert_eq!(answer.all("ProtectedFromScaleIn"), ["true", "false", "false", "false", "false"]);
    assert_eq!(answer.all("Version"), vec!["3"; 6], "the group's and each instance's template version");
    assert!(answer
        .body
        .contains("<TerminationPolicies><member>OldestInstance</member></TerminationPolicies>"));
    assert_eq!(answer.one("NextToken"), None);
    // Unknown names describe nothing, without an error.
    let none =
        aws.autoscaling("DescribeAutoScalingGroups", &[("AutoScalingGroupNames.member.1", "nope")]).await;
    assert_eq!((none.status, none.all("member").len()), (200, 0));
}

#[tokio::test]
async fn auto_scaling_instances_page_by_max_records_and_report_health_in_upper_case() {
    let aws = start("aws-scale-in").await;
    let (ids, pages) =
        aws.all_pages("DescribeAutoScalingInstances", &[("MaxRecords", "2")], "InstanceId").await;
    assert_eq!((ids.len(), pages), (5, 3));
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 5, "each instance once: {ids:?}");
    let first = aws.autoscaling("DescribeAutoScalingInstances", &[]).await;
    assert_eq!(first.all("HealthStatus"), vec!["HEALTHY"; 5]);
    assert_eq!(first.all("AutoScalingGroupName"), vec!["web-asg"; 5]);
    let too_many = aws.autoscaling("DescribeAutoScalingInstances", &[("MaxRecords", "51")]).await;
    assert_eq!(too_many.error(), (400, "ValidationError".into()));
    let forged = aws.autoscaling("DescribeAutoScalingInstances", &[("NextToken", "bm90IGEgdG9rZW4")]).await;
    assert_eq!(forged.error(), (400, "InvalidNextToken".into()));
}

/// Requests a full read of one group costs with the default page sizes, at 10, 1,000 and 5,000
/// instances: DescribeAutoScalingGroups (instances are not paged inside a group),
/// DescribeAutoScalingInstances (50 a page) and EC2 DescribeInstances (by ids in batches of
/// 1,000, or by the group tag with MaxResults 1000).
#[tokio::test]
async fn requests_per_full_read_at_10_1000_and_5000_instances() {
    let mut measured = Vec::new();
    for size in [10usize, 1_000, 5_000] {
        let aws = start("aws-scale-in").await;
        aws.sim.with_world_mut(|w| {
            let g = w.aws.group_index("web-asg").unwrap();
            let have = w.aws.groups[g].instances.len();
            w.aws_add_in_service(g, size - have);
        });
        aws.sim.reset_stats();
        let group = aws
            .autoscaling("DescribeAutoScalingGroups", &[("AutoScalingGroupNames.member.1", "web-asg")])
            .await;
        let ids = group.all("InstanceId");
        assert_eq!(ids.len(), size);
        let (listed, _) = aws.all_pages("DescribeAutoScalingInstances", &[], "InstanceId").await;
        assert_eq!(listed.len(), size);
        for batch in ids.chunks(1000) {
            let keys: Vec<String> = (1..=batch.len()).map(|n| format!("InstanceId.{n}")).collect();
            let params: Vec<(&str, &str)> =
                keys.iter().map(String::as_str).zip(batch.iter().map(String::as_str)).collect();
            let answer = aws.ec2("DescribeInstances", &params).await;
            assert_eq!(
                answer.all("instanceId").len(),
                batch.len(),
                "{}",
                &answer.body[..answer.body.len().min(400)]
            );
        }
        let mut token: Option<String> = None;
        let mut by_tag = 0;
        loop {
            let mut params = vec![
                ("Filter.1.Name", "tag:aws:autoscaling:groupName"),
                ("Filter.1.Value.1", "web-asg"),
                ("MaxResults", "1000"),
            ];
            if let Some(t) = &token {
                params.push(("NextToken", t));
            }
            let answer = aws.ec2("DescribeInstances", &params).await;
            by_tag += answer.all("instanceId").len();
            match answer.one("nextToken") {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(by_tag, size);
        let stats = aws.sim.stats();
        measured.push((
            size,
            stats.get("autoscaling.DescribeAutoScalingGroups"),
            stats.get("autoscaling.DescribeAutoScalingInstances"),
            stats.get("ec2.DescribeInstances"),
        ));
    }
    eprintln!("requests per full read (size, groups, instances, ec2 by ids + by tag): {measured:?}");
    assert_eq!(measured, [(10, 1, 1, 2), (1_000, 1, 20, 2), (5_000, 1, 100, 10)]);
}

#[tokio::test]
async fn ec2_describes_names_and_refuses_max_results_with_instance_ids() {
    let aws = start("aws-scale-out").await;
    let id = aws.in_state("web-asg", "InService")[0].clone();
    let answer = aws.ec2("DescribeInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains(
        "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"
    ));
    assert!(answer.body.contains("<reservationSet><item><reservationId>r-"));
    assert_eq!(answer.all("instanceId"), std::slice::from_ref(&id));
    let dns = answer.one("privateDnsName").unwrap();
    assert!(dns.starts_with("ip-10-0-") && dns.ends_with(".eu-west-1.compute.internal"), "{dns}");
    assert!(answer.body.contains("<instanceState><code>16</code><name>running</name></instanceState>"));
    assert!(answer.body.contains("<item><key>aws:autoscaling:groupName</key><value>web-asg</value></item>"));
    // The target registered under the private DNS name (the group's `match`).
    assert!(aws.sim.with_world(|w| w.machines.iter().any(|m| m.name == dns)));

    let both = aws.ec2("DescribeInstances", &[("InstanceId.1", &id), ("MaxResults", "5")]).await;
    assert_eq!(both.error(), (400, "InvalidParameterCombination".into()));
    assert!(
        both.body.contains("<Response><Errors><Error><Code>InvalidParameterCombination</Code>"),
        "{}",
        both.body
    );
    let small = aws.ec2("DescribeInstances", &[("MaxResults", "4")]).await;
    assert_eq!(small.error(), (400, "InvalidParameterValue".into()));
    let gone = aws.ec2("DescribeInstances", &[("InstanceId.1", "i-0123456789abcdef0")]).await;
    assert_eq!(gone.error(), (400, "InvalidInstanceID.NotFound".into()));
    let malformed = aws.ec2("DescribeInstances", &[("InstanceId.1", "web-1")]).await;
    assert_eq!(malformed.error(), (400, "InvalidInstanceID.Malformed".into()));
    let filter = aws.ec2("DescribeInstances", &[("Filter.1.Name", "bogus"), ("Filter.1.Value.1", "x")]).await;
    assert_eq!(filter.error(), (400, "InvalidParameterValue".into()));
    let by_dns = aws
        .ec2("DescribeInstances", &[("Filter.1.Name", "private-dns-name"), ("Filter.1.Value.1", &dns)])
        .await;
    assert_eq!(by_dns.all("instanceId"), [id]);
}

#[tokio::test]
async fn ec2_pages_with_max_results_to_the_end() {
    let aws = start("aws-scale-in").await;
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![("MaxResults", "5")];
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let answer = aws.ec2("DescribeInstances", &params).await;
        assert_eq!(answer.status, 200);
        pages += 1;
        seen.extend(answer.all("instanceId"));
        match answer.one("nextToken") {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (5, 1), "an exact last page carries no token");
    aws.sim.with_world_mut(|w| w.aws_add_in_service(0, 7));
    let (mut seen, mut token, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let mut params = vec![("MaxResults", "5")];
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let answer = aws.ec2("DescribeInstances", &params).await;
        pages += 1;
        seen.extend(answer.all("instanceId"));
        match answer.one("nextToken") {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (12, 3));
}

#[tokio::test]
async fn unknown_actions_and_bad_input_get_the_real_error_shapes() {
    let aws = start("aws-scale-in").await;
    let unknown = aws.autoscaling("DeleteAutoScalingGroup", &[("AutoScalingGroupName", "web-asg")]).await;
    assert_eq!(unknown.error(), (400, "InvalidAction".into()));
    assert_eq!(
        unknown.one("Message").as_deref(),
        Some("Could not find operation DeleteAutoScalingGroup for version 2011-01-01")
    );
    assert!(unknown.body.contains("<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Sender</Type><Code>InvalidAction</Code>"));
    let ec2 = aws.ec2("TerminateInstances", &[]).await;
    assert_eq!(ec2.error(), (400, "InvalidAction".into()));
    let above = aws
        .autoscaling("SetDesiredCapacity", &[("AutoScalingGroupName", "web-asg"), ("DesiredCapacity", "11")])
        .await;
    assert_eq!(above.error(), (400, "ValidationError".into()));
    assert_eq!(
        above.one("Message").as_deref(),
        Some("New SetDesiredCapacity value 11 is above max value 10 for the AutoScalingGroup.")
    );
    let missing = aws.autoscaling("SetDesiredCapacity", &[("AutoScalingGroupName", "web-asg")]).await;
    assert_eq!(missing.error(), (400, "ValidationError".into()));
    assert!(missing.one("Message").unwrap().contains("'desiredCapacity'"));
    let many: Vec<String> = (0..51).map(|n| format!("i-{n:017x}")).collect();
    let keys: Vec<String> = (1..=51).map(|n| format!("InstanceIds.member.{n}")).collect();
    let mut params: Vec<(&str, &str)> =
        keys.iter().map(String::as_str).zip(many.iter().map(String::as_str)).collect();
    params.extend([("AutoScalingGroupName", "web-asg"), ("ProtectedFromScaleIn", "true")]);
    let protection = aws.autoscaling("SetInstanceProtection", &params).await;
    assert_eq!(protection.error(), (400, "ValidationError".into()));
    assert!(protection.one("Message").unwrap().contains("less than or equal to 50"));
}

#[tokio::test]
async fn requests_signed_by_anyone_else_are_refused_as_aws_refuses_them() {
    let aws = start("aws-scale-in").await;
    let (key, secret) = (aws.sim.aws_access_key_id(), aws.sim.aws_secret_access_key());
    let call = |signer: Option<Signer<'static>>, version: &'static str| {
        let aws = &aws;
        async move {
            let action =
                if version == "2016-11-15" { "DescribeInstances" } else { "DescribeAutoScalingGroups" };
            aws.post(action, version, &[], signer.as_ref()).await.error()
        }
    };
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let (key, secret) = (leak(&key), leak(&secret));
    let signer = |key_id, secret, region, service| Some(Signer { key_id, secret, region, service });
    assert_eq!(call(None, "2011-01-01").await, (403, "MissingAuthenticationToken".into()));
    let stranger = signer("AKIAIOSFODNN7EXAMPLE", secret, "eu-west-1", "autoscaling");
    assert_eq!(call(stranger, "2011-01-01").await, (403, "InvalidClientTokenId".into()));
    let stranger = signer("AKIAIOSFODNN7EXAMPLE", secret, "eu-west-1", "ec2");
    assert_eq!(call(stranger, "2016-11-15").await, (401, "AuthFailure".into()));
    let wrong_service = signer(key, secret, "eu-west-1", "ec2");
    assert_eq!(call(wrong_service, "2011-01-01").await, (403, "SignatureDoesNotMatch".into()));
    let wrong_region = signer(key, secret, "us-east-1", "autoscaling");
    assert_eq!(call(wrong_region, "2011-01-01").await, (403, "SignatureDoesNotMatch".into()));
    // The right key id signed with a guessed secret.
    let guessed = signer(key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1", "autoscaling");
    assert_eq!(call(guessed, "2011-01-01").await, (403, "SignatureDoesNotMatch".into()));
    let guessed = signer(key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1", "ec2");
    assert_eq!(call(guessed, "2016-11-15").await, (403, "SignatureDoesNotMatch".into()));
    assert_eq!(call(signer(key, secret, "eu-west-1", "autoscaling"), "2011-01-01").await.0, 200);
    assert_eq!(aws.sim.with_world(|w| w.aws.groups[0].desired), 5);
}

#[tokio::test]
async fn the_environment_names_the_aws_credentials_only_for_aws_scenarios_and_keeps_the_chain_local() {
    let aws = start("aws-scale-out").await;
    let env = aws.sim.env();
    assert_eq!(env.get("AWS_ACCESS_KEY_ID"), Some(&aws.sim.aws_access_key_id()));
    assert_eq!(env.get("AWS_SECRET_ACCESS_KEY"), Some(&aws.sim.aws_secret_access_key()));
    assert_eq!(env.get("AWS_REGION").map(String::as_str), Some("eu-west-1"));
    assert_eq!(env.get("AWS_DEFAULT_REGION").map(String::as_str), Some("eu-west-1"));
    assert_eq!(env.get("AWS_EC2_METADATA_DISABLED").map(String::as_str), Some("true"));
    assert_eq!(env.get("AWS_SESSION_TOKEN").map(String::as_str), Some(""));
    assert!(env.contains_key("AWS_CONFIG_FILE") && env.contains_key("AWS_SHARED_CREDENTIALS_FILE"));
    assert!(aws.sim.aws_access_key_id().starts_with("AKIA") && aws.sim.aws_access_key_id().len() == 20);
    let azure = scaleguard::sim::start(scaleguard::sim::SimOptions::new("steady")).await.unwrap();
    assert!(azure.env().keys().all(|k| !k.starts_with("AWS_")));
    // The secret is never in an answer, not even one that echoes the request's credentials.
    aws.fault("autoscaling", "echo_secret", 1);
    let echoed = aws.autoscaling("DescribeAutoScalingGroups", &[]).await;
    assert_eq!(echoed.error().0, 403);
    assert!(echoed.body.contains(&aws.sim.aws_access_key_id()), "it echoes the header");
    assert!(!echoed.body.contains(&aws.sim.aws_secret_access_key()));
}
