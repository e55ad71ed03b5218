//! The Auto Scaling describe actions, their members named as the SDKs' deserializers read them
//! (awslabs/aws-sdk-rust, aws-sdk-autoscaling `protocol_serde`).

use super::super::world::{SimTime, World};
use super::form::Form;
use super::model::{Activity, AsgGroup, AsgInstance, HealthStatus};
use super::paging::{self, BadToken};
use super::xml::Xml;
use super::AwsError;

/// `2026-01-05T09:00:10.000Z`, the timestamp form of the query protocols.
pub(super) fn timestamp(world: &World, at: SimTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    world.time_at(at).format(&format).unwrap_or_default()
}

fn invalid_token(_: BadToken) -> AwsError {
    AwsError::new("InvalidNextToken", "The token is invalid.")
}

/// `MaxRecords`, `1..=max`, defaulting to `default`.
fn max_records(form: &Form, default: usize, max: usize) -> Result<usize, AwsError> {
    match form.int("MaxRecords")? {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxRecords' failed to satisfy constraint: Member must have value {}",
            if n < 1 { "greater than or equal to 1".to_string() } else { format!("less than or equal to {max}") }
        ))),
    }
}

fn required_group<'w>(world: &'w World, form: &Form) -> Result<&'w AsgGroup, AwsError> {
    let name = form.required("AutoScalingGroupName")?;
    world.aws.groups.iter().find(|g| g.name == name).ok_or_else(|| {
        AwsError::validation(format!("AutoScalingGroup name not found - AutoScalingGroup '{name}' not found"))
    })
}

fn launch_template(xml: &mut Xml, group: &AsgGroup, version: u32) {
    xml.open("LaunchTemplate");
    xml.text("LaunchTemplateId", &group.launch_template_id);
    xml.text("LaunchTemplateName", &group.launch_template_name);
    xml.text("Version", version);
    xml.close();
}

/// The `Instance` members of a group listing and a warm pool (health in title case).
fn instance_member(xml: &mut Xml, group: &AsgGroup, instance: &AsgInstance) {
    xml.open("member");
    xml.text("InstanceId", &instance.instance_id);
    xml.text("InstanceType", &group.instance_type);
    xml.text("AvailabilityZone", &instance.zone);
    xml.text("LifecycleState", instance.lifecycle.as_str());
    xml.text("HealthStatus", health(instance.health));
    launch_template(xml, group, instance.template_version);
    xml.text("ProtectedFromScaleIn", instance.protected);
    xml.close();
}

fn health(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "Healthy",
        HealthStatus::Unhealthy => "Unhealthy",
    }
}

/// Filters on the group's tags (`tag-key`, `tag-value`, `tag:<key>`); the simulator's groups
/// carry one tag, `Name`.
fn group_matches(group: &AsgGroup, filters: &[(String, Vec<String>)]) -> Result<bool, AwsError> {
    let tags = [("Name", group.name.as_str())];
    for (name, values) in filters {
        let hit = match name.as_str() {
            "tag-key" => tags.iter().any(|(k, _)| values.iter().any(|v| v == k)),
            "tag-value" => tags.iter().any(|(_, v)| values.iter().any(|x| x == v)),
            key if key.starts_with("tag:") => {
                tags.iter().any(|(k, v)| *k == &key[4..] && values.iter().any(|x| x == v))
            }
            other => return Err(AwsError::validation(format!("Filter name '{other}' is invalid."))),
        };
        if !hit {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn groups(world: &mut World, form: &Form, lose_token: bool, xml: &mut Xml) -> Result<(), AwsError> {
    let size = max_records(form, 50, 100)?;
    let names = form.member_list("AutoScalingGroupNames").unwrap_or_default();
    if names.len() > size {
        return Err(AwsError::validation(format!(
            "The number of group names ({}) exceeds MaxRecords ({size}).",
            names.len()
        )));
    }
    let include_instances = form.bool("IncludeInstances")?.unwrap_or(true);
    let filters = form.filters("Filters", "Values", "member.");
    let mut chosen = Vec::new();
    for group in &world.aws.groups {
        if (names.is_empty() || names.contains(&group.name)) && group_matches(group, &filters)? {
            chosen.push(group);
        }
    }
    chosen.sort_by(|a, b| a.name.cmp(&b.name));
    let page = paging::page(chosen, |g| g.name.clone(), "groups", form.get("NextToken"), size, lose_token)
        .map_err(invalid_token)?;
    xml.open("AutoScalingGroups");
    for group in &page.items {
        group_member(world, xml, group, include_instances);
    }
    xml.close();
    xml.opt_text("NextToken", page.next_token);
    Ok(())
}

fn group_member(world: &World, xml: &mut Xml, group: &AsgGroup, include_instances: bool) {
    xml.open("member");
    xml.text("AutoScalingGroupName", &group.name);
    xml.text("AutoScalingGroupARN", &group.arn);
    launch_template(xml, group, group.template_version);
    xml.text("MinSize", group.min_size);
    xml.text("MaxSize", group.max_size);
    xml.text("DesiredCapacity", group.desired);
    xml.text("DefaultCooldown", group.default_cooldown_secs);
    xml.list("AvailabilityZones", "member", &group.zones);
    xml.open("LoadBalancerNames").close();
    xml.open("TargetGroupARNs").close();
    xml.text("HealthCheckType", "EC2");
    xml.text("HealthCheckGracePeriod", 300);
    if include_instances {
        xml.open("Instances");
        for instance in group.instances.iter().filter(|i| !i.lifecycle.is_warmed()) {
            instance_member(xml, group, instance);
        }
        xml.close();
    }
    xml.text("CreatedTime", timestamp(world, group.created_at));
    xml.open("SuspendedProcesses").close();
    xml.open("EnabledMetrics").close();
    xml.open("Tags").open("member");
    xml.text("ResourceId", &group.name).text("ResourceType", "auto-scaling-group");
    xml.text("Key", "Name").text("Value", &group.name).text("PropagateAtLaunch", false);
    xml.close().close();
    xml.list("TerminationPolicies", "member", &group.termination_policies);
    xml.text("NewInstancesProtectedFromScaleIn", false);
    xml.text(
        "ServiceLinkedRoleARN",
        format!(
            "arn:aws:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            world.aws.account_id
        ),
    );
    if let Some(pool) = &group.warm_pool {
        warm_pool_configuration(xml, pool);
        xml.text("WarmPoolSize", group.instances.iter().filter(|i| i.lifecycle.is_warmed()).count());
    }
    xml.close();
}

fn warm_pool_configuration(xml: &mut Xml, pool: &super::model::WarmPool) {
    xml.open("WarmPoolConfiguration");
    xml.opt_text("MaxGroupPreparedCapacity", pool.max_group_prepared_capacity);
    xml.text("MinSize", pool.min_size);
    xml.text("PoolState", &pool.pool_state);
    xml.close();
}

/// `DescribeAutoScalingInstances`: every group's instances (warm pool ones too), health in
/// upper case as the real service answers it.
pub fn instances(world: &mut World, form: &Form, lose_token: bool, xml: &mut Xml) -> Result<(), AwsError> {
    let size = max_records(form, 50, 50)?;
    let ids = form.member_list("InstanceIds").unwrap_or_default();
    let mut chosen: Vec<(&AsgGroup, &AsgInstance)> = world
        .aws
        .groups
        .iter()
        .flat_map(|g| g.instances.iter().map(move |i| (g, i)))
        .filter(|(_, i)| ids.is_empty() || ids.contains(&i.instance_id))
        .collect();
    chosen.sort_by(|a, b| a.1.instance_id.cmp(&b.1.instance_id));
    let page = paging::page(
        chosen,
        |(_, i)| i.instance_id.clone(),
        "instances",
        form.get("NextToken"),
        size,
        lose_token,
    )
    .map_err(invalid_token)?;
    xml.open("AutoScalingInstances");
    for (group, instance) in &page.items {
        xml.open("member");
        xml.text("InstanceId", &instance.instance_id);
        xml.text("InstanceType", &group.instance_type);
        xml.text("AutoScalingGroupName", &group.name);
        xml.text("AvailabilityZone", &instance.zone);
        xml.text("LifecycleState", instance.lifecycle.as_str());
        xml.text("HealthStatus", health(instance.health).to_ascii_uppercase());
        launch_template(xml, group, instance.template_version);
        xml.text("ProtectedFromScaleIn", instance.protected);
        xml.close();
    }
    xml.close();
    xml.opt_text("NextToken", page.next_token);
    Ok(())
}

pub fn hooks(world: &mut World, form: &Form, _: bool, xml: &mut Xml) -> Result<(), AwsError> {
    let group = required_group(world, form)?;
    let names = form.member_list("LifecycleHookNames").unwrap_or_default();
    xml.open("LifecycleHooks");
    for hook in group.hooks.iter().filter(|h| names.is_empty() || names.contains(&h.name)) {
        xml.open("member");
        xml.text("LifecycleHookName", &hook.name);
        xml.text("AutoScalingGroupName", &group.name);
        xml.text("LifecycleTransition", hook.transition.as_str());
        xml.text("HeartbeatTimeout", hook.heartbeat_timeout_secs);
        xml.text("GlobalTimeout", hook.global_timeout_secs());
        xml.text("DefaultResult", &hook.default_result);
        xml.close();
    }
    xml.close();
    Ok(())
}

pub fn warm_pool(world: &mut World, form: &Form, lose_token: bool, xml: &mut Xml) -> Result<(), AwsError> {
    let size = max_records(form, 50, 50)?;
    let group = required_group(world, form)?;
    if let Some(pool) = &group.warm_pool {
        warm_pool_configuration(xml, pool);
    }
    let mut warm: Vec<&AsgInstance> = group.instances.iter().filter(|i| i.lifecycle.is_warmed()).collect();
    warm.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    let page =
        paging::page(warm, |i| i.instance_id.clone(), "warm_pool", form.get("NextToken"), size, lose_token)
            .map_err(invalid_token)?;
    xml.open("Instances");
    for instance in &page.items {
        instance_member(xml, group, instance);
    }
    xml.close();
    xml.opt_text("NextToken", page.next_token);
    Ok(())
}

pub fn refreshes(world: &mut World, form: &Form, lose_token: bool, xml: &mut Xml) -> Result<(), AwsError> {
    let size = max_records(form, 50, 100)?;
    let group = required_group(world, form)?;
    let ids = form.member_list("InstanceRefreshIds").unwrap_or_default();
    let chosen: Vec<_> = group.refreshes.iter().filter(|r| ids.is_empty() || ids.contains(&r.id)).collect();
    let page = paging::page(chosen, |r| r.id.clone(), "refreshes", form.get("NextToken"), size, lose_token)
        .map_err(invalid_token)?;
    xml.open("InstanceRefreshes");
    for refresh in &page.items {
        xml.open("member");
        xml.text("InstanceRefreshId", &refresh.id);
        xml.text("AutoScalingGroupName", &group.name);
        xml.text("Status", &refresh.status);
        xml.text("StartTime", timestamp(world, refresh.started));
        xml.text("PercentageComplete", refresh.percentage_complete);
        xml.text("InstancesToUpdate", refresh.instances_to_update);
        xml.close();
    }
    xml.close();
    xml.opt_text("NextToken", page.next_token);
    Ok(())
}

/// Newest first (sorted by start time, as the service documents).
pub fn activities(world: &mut World, form: &Form, lose_token: bool, xml: &mut Xml) -> Result<(), AwsError> {
    let size = max_records(form, 100, 100)?;
    let group = form.get("AutoScalingGroupName");
    let ids = form.member_list("ActivityIds").unwrap_or_default();
    let chosen: Vec<&Activity> = world
        .aws
        .activities
        .iter()
        .filter(|a| group.is_none_or(|g| a.group == g))
        .filter(|a| ids.is_empty() || ids.contains(&a.id))
        .collect();
    let key =
        |a: &&Activity| format!("{:016x}{}", u64::MAX - (a.start.max(-1e12) * 1000.0 + 1e15) as u64, a.id);
    let mut chosen = chosen;
    chosen.sort_by_key(|a| key(a));
    let page = paging::page(chosen, key, "activities", form.get("NextToken"), size, lose_token)
        .map_err(invalid_token)?;
    xml.open("Activities");
    for activity in &page.items {
        activity_member(world, xml, "member", activity);
    }
    xml.close();
    xml.opt_text("NextToken", page.next_token);
    Ok(())
}

pub(super) fn activity_member(world: &World, xml: &mut Xml, element: &str, activity: &Activity) {
    let group = world.aws.groups.iter().find(|g| g.name == activity.group);
    xml.open(element);
    xml.text("ActivityId", &activity.id);
    xml.text("AutoScalingGroupName", &activity.group);
    xml.text("Description", &activity.description);
    xml.text("Cause", &activity.cause);
    xml.text("StartTime", timestamp(world, activity.start));
    xml.opt_text("EndTime", activity.end.map(|end| timestamp(world, end)));
    xml.text("StatusCode", &activity.status);
    xml.text("Progress", activity.progress);
    xml.text("Details", "{}");
    xml.opt_text("AutoScalingGroupARN", group.map(|g| g.arn.clone()));
    xml.close();
}
