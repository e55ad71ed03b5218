use super::*;
use aws_sdk_autoscaling::types::{
    AutoScalingGroup, Instance as AsgInstance, InstanceRefresh, InstanceRefreshStatus,
    LaunchTemplateSpecification, LifecycleHook as AsgHook, LifecycleState as AsgState, WarmPoolConfiguration,
    WarmPoolState,
};

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "aws".into(),
        subscription_id: String::new(),
        resource_group: String::new(),
        name: "web-asg".into(),
    }
}

fn template(version: &str) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .launch_template_id("lt-0abc")
        .launch_template_name("web")
        .version(version)
        .build()
}

fn member(id: &str, state: &str, version: &str) -> AsgInstance {
    AsgInstance::builder()
        .instance_id(id)
        .availability_zone("eu-west-1a")
        .lifecycle_state(AsgState::from(state))
        .health_status("HEALTHY")
        .launch_template(template(version))
        .protected_from_scale_in(id.ends_with('2'))
        .build()
}

fn group(desired: i32, instances: Vec<AsgInstance>) -> AutoScalingGroup {
    AutoScalingGroup::builder()
        .auto_scaling_group_name("web-asg")
        .min_size(1)
        .max_size(10)
        .desired_capacity(desired)
        .default_cooldown(300)
        .termination_policies("OldestLaunchTemplate")
        .termination_policies("Default")
        .availability_zones("eu-west-1a")
        .launch_template(template("3"))
        .set_instances(Some(instances))
        .build()
}

fn convert_group(
    group: &AutoScalingGroup,
    warm: &[AsgInstance],
    ec2: Option<&HashMap<String, Ec2Facts>>,
) -> (ScaleSetState, Vec<Instance>) {
    let hooks = vec![AsgHook::builder()
        .lifecycle_hook_name("drain")
        .lifecycle_transition("autoscaling:EC2_INSTANCE_TERMINATING")
        .heartbeat_timeout(900)
        .default_result("CONTINUE")
        .build()];
    let refreshes = vec![InstanceRefresh::builder()
        .instance_refresh_id("r-1")
        .status(InstanceRefreshStatus::Successful)
        .build()];
    let key = key();
    let read =
        GroupRead { key: &key, region: "eu-west-1", group, hooks: &hooks, warm, refreshes: &refreshes, ec2 };
    convert(&read).expect("converts")
}

#[test]
fn a_settled_group_gives_its_capacity_limits_hooks_and_instances() {
    let asg = group(2, vec![member("i-01", "InService", "3"), member("i-02", "Pending:Wait", "2")]);
    let (state, instances) = convert_group(&asg, &[], None);
    assert_eq!(state.capacity, 2);
    assert_eq!(
        state.provisioning_state,
        ProvisioningState::Succeeded,
        "a hook's wait is no move of the group"
    );
    assert_eq!(state.etag.as_deref(), Some("desired=2"));
    assert_eq!(desired_of_etag("desired=2"), Some(2));
    assert_eq!(state.scale_in_rules, vec!["OldestLaunchTemplate", "Default"]);
    let aws = state.aws.as_ref().unwrap();
    assert_eq!((aws.min_size, aws.max_size, aws.default_cooldown_secs), (1, 10, 300));
    assert_eq!(aws.hooks[0].transition, HookTransition::Terminating);
    assert_eq!(aws.hooks[0].heartbeat_timeout_secs, Some(900));
    assert_eq!(aws.instance_refresh, None, "a finished refresh is not in progress");
    assert_eq!(aws.launch.as_deref(), Some("lt-0abc (web) version 3"));
    assert_eq!(instances.len(), 2);
    let first = &instances[0];
    assert_eq!(first.instance_id, "i-01");
    assert_eq!(first.vm_id.as_deref(), Some("i-01"));
    assert_eq!(first.latest_model_applied, Some(true));
    assert_eq!(first.protected_from_scale_in, Some(false));
    assert_eq!(first.power_state, PowerState::Running);
    assert_eq!(first.placement.zone.as_deref(), Some("eu-west-1a"));
    assert_eq!(first.computer_name, None, "no EC2 read: no name");
    let second = &instances[1];
    assert_eq!(second.latest_model_applied, Some(false), "launched from version 2");
    assert_eq!(second.protected_from_scale_in, Some(true));
    assert_eq!(second.lifecycle_state().unwrap().as_str(), "Pending:Wait");
    assert_eq!(second.provisioning_state, ProvisioningState::Succeeded);
}

#[test]
fn an_instance_moving_on_its_own_leaves_the_group_unsettled_and_says_which() {
    let asg = group(
        3,
        vec![
            member("i-01", "InService", "3"),
            member("i-02", "Pending", "3"),
            member("i-03", "Terminating", "3"),
        ],
    );
    let (state, instances) = convert_group(&asg, &[], None);
    assert_eq!(state.provisioning_state, ProvisioningState::Updating);
    assert_eq!(state.aws.unwrap().moving, vec!["i-02 Pending", "i-03 Terminating"]);
    assert_eq!(instances[2].provisioning_state, ProvisioningState::Deleting);
}

#[test]
fn warm_pool_instances_are_listed_outside_the_capacity_and_ec2_names_fill_in() {
    let mut asg = group(1, vec![member("i-01", "InService", "3")]);
    asg = AutoScalingGroup::builder()
        .auto_scaling_group_name("web-asg")
        .min_size(1)
        .max_size(10)
        .desired_capacity(1)
        .set_instances(Some(asg.instances().to_vec()))
        .warm_pool_configuration(
            WarmPoolConfiguration::builder().min_size(1).pool_state(WarmPoolState::Stopped).build(),
        )
        .build();
    let warm = vec![member("i-0w", "Warmed:Stopped", "3")];
    let mut ec2 = HashMap::new();
    ec2.insert(
        "i-01".to_string(),
        Ec2Facts {
            private_dns_name: Some("ip-10-0-1-5.eu-west-1.compute.internal".into()),
            name_tag: Some("web-1".into()),
            state: Some("running".into()),
            launch_time: None,
            group_tag: Some("web-asg".into()),
        },
    );
    let (state, instances) = convert_group(&asg, &warm, Some(&ec2));
    assert_eq!(
        state.provisioning_state,
        ProvisioningState::Succeeded,
        "a settled warm pool does not unsettle"
    );
    assert_eq!(instances.len(), 2);
    assert_eq!(instances[0].computer_name.as_deref(), Some("ip-10-0-1-5.eu-west-1.compute.internal"));
    assert_eq!(instances[0].name, "web-1");
    assert!(instances[1].is_warm_pool() && !instances[1].in_capacity());
    assert_eq!(instances[1].power_state, PowerState::Stopped);
    assert_eq!(state.aws.unwrap().warm_pool.unwrap().pool_state.as_deref(), Some("Stopped"));
}

#[test]
fn each_instance_carries_the_group_ec2_puts_it_in() {
    let asg = group(
        4,
        vec![
            member("i-01", "InService", "3"),
            member("i-02", "InService", "3"),
            member("i-03", "InService", "3"),
            member("i-04", "InService", "3"),
        ],
    );
    let facts = |group_tag: Option<&str>| Ec2Facts {
        state: Some("running".into()),
        group_tag: group_tag.map(str::to_string),
        ..Ec2Facts::default()
    };
    // i-04 is not returned by EC2.
    let ec2: HashMap<String, Ec2Facts> =
        [("i-01", facts(Some("web-asg"))), ("i-02", facts(Some("other-asg"))), ("i-03", facts(None))]
            .into_iter()
            .map(|(id, f)| (id.to_string(), f))
            .collect();
    let groups = |instances: Vec<Instance>| -> Vec<Ec2Group> {
        instances.into_iter().map(|i| i.aws.unwrap().ec2_group).collect()
    };
    let (_, instances) = convert_group(&asg, &[], Some(&ec2));
    assert_eq!(
        groups(instances),
        vec![
            Ec2Group::Tagged("web-asg".into()),
            Ec2Group::Tagged("other-asg".into()),
            Ec2Group::Untagged,
            Ec2Group::NotFound
        ]
    );
    let (_, unread) = convert_group(&asg, &[], None);
    assert!(groups(unread).iter().all(|g| *g == Ec2Group::NotRead));
}

#[test]
fn an_answer_without_the_counts_or_an_instance_id_is_refused() {
    let key = key();
    let no_desired =
        AutoScalingGroup::builder().auto_scaling_group_name("web-asg").min_size(0).max_size(1).build();
    let read = GroupRead {
        key: &key,
        region: "r",
        group: &no_desired,
        hooks: &[],
        warm: &[],
        refreshes: &[],
        ec2: None,
    };
    assert!(convert(&read).unwrap_err().contains("DesiredCapacity"));
    let negative = group(-1, vec![]);
    let read = GroupRead {
        key: &key,
        region: "r",
        group: &negative,
        hooks: &[],
        warm: &[],
        refreshes: &[],
        ec2: None,
    };
    assert!(convert(&read).unwrap_err().contains("-1"));
    let anonymous = group(1, vec![AsgInstance::builder().lifecycle_state(AsgState::InService).build()]);
    let read = GroupRead {
        key: &key,
        region: "r",
        group: &anonymous,
        hooks: &[],
        warm: &[],
        refreshes: &[],
        ec2: None,
    };
    assert!(convert(&read).unwrap_err().contains("without an InstanceId"));
}

#[test]
fn a_running_refresh_is_reported() {
    let refreshes = vec![InstanceRefresh::builder()
        .instance_refresh_id("r-2")
        .status(InstanceRefreshStatus::InProgress)
        .percentage_complete(40)
        .build()];
    assert_eq!(refresh_in_progress(&refreshes).as_deref(), Some("r-2 InProgress, 40% done"));
}
