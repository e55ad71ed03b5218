//! An Auto Scaling group as read (DescribeAutoScalingGroups, its lifecycle hooks, warm pool,
//! instance refreshes and EC2) turned into the provider-neutral
//! `ScaleSetState` and `Instance`s. Pure: tested on SDK values built in the tests.
//!
//! "Settled" for a group: no instance of the group is moving on its own (Pending,
//! Pending:Proceed, Terminating, Terminating:Proceed, Detaching, EnteringStandby, or a state this
//! version does not know) and the group is not being deleted. Auto Scaling acts through those
//! states: while one is there, the instance list can change between two reads. Instances waiting
//! on a lifecycle hook (Pending:Wait, Terminating:Wait) stay put until the hook is completed or
//! times out, so they leave a group settled: scaleguard is the one expected to act on them. The
//! group's instances come inline in one answer, with its desired capacity, so a listing that
//! counts fewer distinct instances than the desired capacity is incomplete as on Azure
//! (`completeness`). That answer names no group per instance: EC2's `aws:autoscaling:groupName`
//! tag, read apart from it, is what shows each listed instance is the group's (`Ec2Group`).

use super::ec2::Ec2Facts;
use crate::model::{
    AwsGroup, AwsInstance, Ec2Group, HookTransition, Instance, LifecycleHook, LifecycleState,
    OrchestrationMode, Placement, PowerState, ProvisioningState, ScaleSetKey, ScaleSetState, SetLayout,
    SharedKey, WarmPool,
};
use aws_sdk_autoscaling::types::{
    AutoScalingGroup, Instance as AsgInstance, InstanceRefresh, LaunchTemplateSpecification,
    LifecycleHook as AsgHook,
};
use std::collections::HashMap;

/// Everything one listing of a group read.
pub(crate) struct GroupRead<'a> {
    pub key: &'a ScaleSetKey,
    pub region: &'a str,
    pub group: &'a AutoScalingGroup,
    pub hooks: &'a [AsgHook],
    /// The warm pool's instances (all pages); empty without a warm pool.
    pub warm: &'a [AsgInstance],
    pub refreshes: &'a [InstanceRefresh],
    /// EC2 facts by instance id, for every id EC2 returned; None when EC2 was not read.
    pub ec2: Option<&'a HashMap<String, Ec2Facts>>,
}

/// "lt-0abc (web) version 3", "launch configuration web-lc".
pub(crate) fn launch_text(
    template: Option<&LaunchTemplateSpecification>,
    configuration: Option<&str>,
) -> Option<String> {
    if let Some(template) = template {
        let id = template.launch_template_id().or(template.launch_template_name()).unwrap_or("?");
        let name = match (template.launch_template_id(), template.launch_template_name()) {
            (Some(_), Some(name)) => format!(" ({name})"),
            _ => String::new(),
        };
        let version = template.version().map(|v| format!(" version {v}")).unwrap_or_default();
        return Some(format!("{id}{name}{version}"));
    }
    configuration.map(|name| format!("launch configuration {name}"))
}

/// Was the instance launched from what the group launches now? None when that cannot be told
/// without reading the template (`$Latest`, `$Default`, a mixed-instances policy).
fn latest_model(group: &AutoScalingGroup, instance: &AsgInstance) -> Option<bool> {
    if let Some(wanted) = group.launch_template() {
        let version = wanted.version()?;
        if version.starts_with('$') {
            return None;
        }
        let had = instance.launch_template()?;
        let same_template = match (wanted.launch_template_id(), had.launch_template_id()) {
            (Some(a), Some(b)) => a == b,
            _ => {
                wanted.launch_template_name().is_some()
                    && wanted.launch_template_name() == had.launch_template_name()
            }
        };
        return Some(same_template && had.version() == Some(version));
    }
    let wanted = group.launch_configuration_name()?;
    Some(instance.launch_configuration_name() == Some(wanted))
}

/// EC2's state name as a power state; without EC2, what the lifecycle state implies.
fn power_state(lifecycle: &LifecycleState, ec2: Option<&Ec2Facts>) -> PowerState {
    if let Some(state) = ec2.and_then(|f| f.state.as_deref()) {
        return match state {
            "pending" => PowerState::Starting,
            "running" => PowerState::Running,
            "stopping" | "shutting-down" => PowerState::Stopping,
            "stopped" | "terminated" => PowerState::Stopped,
            other => PowerState::Other(other.to_string()),
        };
    }
    let at = |s: &str| lifecycle.as_str().eq_ignore_ascii_case(s);
    if at("InService")
        || at("Pending:Wait")
        || at("Terminating:Wait")
        || at("Standby")
        || at("Warmed:Running")
    {
        PowerState::Running
    } else if at("Warmed:Stopped") || at("Warmed:Hibernated") {
        PowerState::Stopped
    } else {
        PowerState::Unknown
    }
}

/// `key` is shared by every instance of the group (one copy of its key, not one per instance).
fn instance(read: &GroupRead<'_>, key: &SharedKey, raw: &AsgInstance) -> Option<Instance> {
    let id = raw.instance_id()?.trim().to_string();
    let lifecycle = LifecycleState::new(raw.lifecycle_state().map(|s| s.as_str()).unwrap_or("unknown"));
    let ec2 = read.ec2.and_then(|facts| facts.get(&id));
    let name_tag = ec2.and_then(|f| f.name_tag.clone());
    let ec2_group = match (read.ec2, ec2) {
        (None, _) => Ec2Group::NotRead,
        (Some(_), None) => Ec2Group::NotFound,
        (Some(_), Some(facts)) => facts.group_tag.clone().map_or(Ec2Group::Untagged, Ec2Group::Tagged),
    };
    Some(Instance {
        scale_set: SharedKey::clone(key),
        name: name_tag.clone().unwrap_or_else(|| id.clone()),
        // EC2 never reuses an instance id: it is the VM's identity as well as its name.
        vm_id: Some(id.clone()),
        computer_name: ec2.and_then(|f| f.private_dns_name.clone()).filter(|n| !n.trim().is_empty()),
        guest_computer_name: None,
        provisioning_state: lifecycle.provisioning_state(),
        power_state: power_state(&lifecycle, ec2),
        latest_model_applied: latest_model(read.group, raw),
        protected_from_scale_in: raw.protected_from_scale_in(),
        placement: Placement {
            zone: raw.availability_zone().map(str::to_string),
            fault_domain: None,
            created_at: ec2.and_then(|f| f.launch_time),
        },
        aws: Some(Box::new(AwsInstance {
            lifecycle_state: lifecycle,
            health_status: raw.health_status().map(str::to_string),
            launch: launch_text(raw.launch_template(), raw.launch_configuration_name()),
            name_tag,
            ec2_state: ec2.and_then(|f| f.state.clone()),
            ec2_group,
        })),
        instance_id: id,
    })
}

fn hook(raw: &AsgHook) -> Option<LifecycleHook> {
    Some(LifecycleHook {
        name: raw.lifecycle_hook_name()?.to_string(),
        transition: HookTransition::parse(raw.lifecycle_transition()?)?,
        heartbeat_timeout_secs: raw.heartbeat_timeout().and_then(|t| u64::try_from(t).ok()),
        default_result: raw.default_result().map(str::to_string),
        global_timeout_secs: raw.global_timeout().and_then(|t| u64::try_from(t).ok()),
    })
}

/// The refresh that is not finished, in words ("ab12cd InProgress, 40% done").
fn refresh_in_progress(refreshes: &[InstanceRefresh]) -> Option<String> {
    refreshes.iter().find_map(|r| {
        let status = r.status()?.as_str();
        let running =
            ["Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"].contains(&status);
        running.then(|| {
            let done = r.percentage_complete().map(|p| format!(", {p}% done")).unwrap_or_default();
            format!("{} {status}{done}", r.instance_refresh_id().unwrap_or("?"))
        })
    })
}

/// The group and its instances (group instances first, then the warm pool's), or why the
/// answer cannot be used.
pub(crate) fn convert(read: &GroupRead<'_>) -> Result<(ScaleSetState, Vec<Instance>), String> {
    let group = read.group;
    let count = |field: &str, value: Option<i32>| -> Result<u32, String> {
        let value = value.ok_or_else(|| format!("the group has no {field}"))?;
        u32::try_from(value).map_err(|_| format!("the group's {field} is {value}, not a number of instances"))
    };
    let desired = count("DesiredCapacity", group.desired_capacity())?;
    let min_size = count("MinSize", group.min_size())?;
    let max_size = count("MaxSize", group.max_size())?;
    let mut instances = Vec::new();
    let mut seen_without_id = 0usize;
    let key = SharedKey::new(read.key.clone());
    for raw in group.instances().iter().chain(read.warm) {
        match instance(read, &key, raw) {
            Some(found) => instances.push(found),
            None => seen_without_id += 1,
        }
    }
    if seen_without_id > 0 {
        return Err(format!("{seen_without_id} instance(s) are listed without an InstanceId"));
    }
    let moving: Vec<String> = instances
        .iter()
        .filter_map(|i| i.aws.as_ref().map(|aws| (i, &aws.lifecycle_state)))
        .filter(|(_, state)| !state.is_warmed() && !state.is_at_rest())
        .map(|(i, state)| format!("{} {state}", i.instance_id))
        .collect();
    let status = group.status().map(str::to_string);
    let provisioning_state = if status.as_deref().is_some_and(|s| s.to_ascii_lowercase().contains("delete")) {
        ProvisioningState::Deleting
    } else if moving.is_empty() {
        ProvisioningState::Succeeded
    } else {
        ProvisioningState::Updating
    };
    let warm_pool = group.warm_pool_configuration().map(|w| WarmPool {
        min_size: w.min_size().and_then(|v| u32::try_from(v).ok()),
        max_group_prepared_capacity: w.max_group_prepared_capacity(),
        pool_state: w.pool_state().map(|s| s.as_str().to_string()),
        status: w.status().map(|s| s.as_str().to_string()),
        reuse_on_scale_in: w.instance_reuse_policy().and_then(|policy| policy.reuse_on_scale_in()),
    });
    let state = ScaleSetState {
        key: read.key.clone(),
        location: Some(read.region.to_string()),
        capacity: desired,
        provisioning_state,
        overprovision: false,
        orchestration_mode: OrchestrationMode::Uniform,
        scale_in_rules: group.termination_policies().to_vec(),
        // No ETag on AWS: the desired capacity is the token a write is checked against
        // (`set_capacity` reads it again right before SetDesiredCapacity).
        etag: Some(format!("desired={desired}")),
        last_changed: None,
        layout: SetLayout {
            resource_id: group.auto_scaling_group_arn().map(str::to_string),
            zones: group.availability_zones().to_vec(),
            fault_domain_count: None,
            force_deletion: None,
        },
        aws: Some(Box::new(AwsGroup {
            min_size,
            max_size,
            default_cooldown_secs: group
                .default_cooldown()
                .and_then(|c| u64::try_from(c).ok())
                .unwrap_or(300),
            termination_policies: group.termination_policies().to_vec(),
            hooks: read.hooks.iter().filter_map(hook).collect(),
            warm_pool,
            instance_refresh: refresh_in_progress(read.refreshes),
            launch: launch_text(group.launch_template(), group.launch_configuration_name()),
            status,
            moving,
        })),
    };
    Ok((state, instances))
}

/// The desired capacity a state was read with (its `etag`, "desired=N").
pub(crate) fn desired_of_etag(etag: &str) -> Option<u32> {
    etag.strip_prefix("desired=")?.parse().ok()
}

#[cfg(test)]
mod tests;
