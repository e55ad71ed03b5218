//! A scenario's `[aws]` table: the region and the Auto Scaling groups, each with its instances
//! registered as Octopus targets at the start.

use super::super::world::World;
use super::model::{
    AsgGroup, HealthStatus, InstanceRefresh, Lifecycle, LifecycleHook, TargetNaming, Transition, WarmPool,
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub groups: Vec<AwsGroupSection>,
}

fn default_region() -> String {
    "eu-west-1".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsGroupSection {
    pub name: String,
    #[serde(default = "one")]
    pub min_size: u32,
    pub max_size: u32,
    /// The desired capacity; this many instances are in service at the start.
    pub desired: u32,
    #[serde(default = "default_cooldown")]
    pub default_cooldown: u32,
    #[serde(default = "default_policies")]
    pub termination_policies: Vec<String>,
    /// Availability Zones (default: the region's a, b and c).
    #[serde(default)]
    pub zones: Vec<String>,
    /// How its instances' targets are named: `instance_id`, `private_dns_name` or `name_tag`.
    #[serde(rename = "match", default = "default_match")]
    pub naming: String,
    /// The Name tag of instance N is `{name_prefix}N` (default `{name}-`).
    pub name_prefix: Option<String>,
    #[serde(default = "default_template_version")]
    pub template_version: u32,
    /// Initial instances (0-based) still on the previous launch template version.
    #[serde(default)]
    pub outdated: Vec<usize>,
    /// Initial instances (0-based) protected from scale-in.
    #[serde(default)]
    pub protected: Vec<usize>,
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    #[serde(default)]
    pub hooks: Vec<HookSection>,
    pub warm_pool: Option<WarmPoolSection>,
    #[serde(default)]
    pub instance_refreshes: Vec<RefreshSection>,
    /// Its instances run the Octopus HA nodes instead of tentacles (`ha_hosts`).
    #[serde(default)]
    pub hosts_nodes: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSection {
    pub name: String,
    /// `EC2_INSTANCE_LAUNCHING` or `EC2_INSTANCE_TERMINATING`.
    pub transition: String,
    #[serde(default = "default_heartbeat")]
    pub heartbeat_timeout: u32,
    #[serde(default = "default_result")]
    pub default_result: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmPoolSection {
    #[serde(default)]
    pub min_size: u32,
    pub max_group_prepared_capacity: Option<u32>,
    #[serde(default = "default_pool_state")]
    pub pool_state: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshSection {
    #[serde(default = "default_refresh_status")]
    pub status: String,
    #[serde(default)]
    pub percentage_complete: u32,
    #[serde(default)]
    pub instances_to_update: u32,
}

fn one() -> u32 {
    1
}
fn default_cooldown() -> u32 {
    300
}
fn default_policies() -> Vec<String> {
    vec!["Default".into()]
}
fn default_match() -> String {
    "instance_id".into()
}
fn default_template_version() -> u32 {
    3
}
fn default_instance_type() -> String {
    "t3.medium".into()
}
fn default_heartbeat() -> u32 {
    3600
}
fn default_result() -> String {
    "ABANDON".into()
}
fn default_pool_state() -> String {
    "Stopped".into()
}
fn default_refresh_status() -> String {
    "InProgress".into()
}

const POLICIES: &[&str] = &[
    "Default",
    "AllocationStrategy",
    "OldestLaunchTemplate",
    "OldestLaunchConfiguration",
    "ClosestToNextInstanceHour",
    "NewestInstance",
    "OldestInstance",
];

impl AwsGroupSection {
    /// One sentence naming what is wrong, for the scenario's load error.
    pub fn check(&self) -> Result<(), String> {
        let at = format!("aws group `{}`", self.name);
        if TargetNaming::parse(&self.naming).is_none() {
            return Err(format!(
                "{at}: match `{}` is not instance_id, private_dns_name or name_tag",
                self.naming
            ));
        }
        if !(self.min_size <= self.desired && self.desired <= self.max_size) {
            return Err(format!("{at}: desired {} is outside min_size..max_size", self.desired));
        }
        if let Some(policy) = self.termination_policies.iter().find(|p| !POLICIES.contains(&p.as_str())) {
            return Err(format!("{at}: termination policy `{policy}` is unknown"));
        }
        for hook in &self.hooks {
            if Transition::parse(&hook.transition).is_none() {
                return Err(format!("{at}: hook `{}` has transition `{}`", hook.name, hook.transition));
            }
            if hook.default_result != "CONTINUE" && hook.default_result != "ABANDON" {
                return Err(format!("{at}: hook `{}` default_result is not CONTINUE or ABANDON", hook.name));
            }
            if !(30..=7200).contains(&hook.heartbeat_timeout) {
                return Err(format!("{at}: hook `{}` heartbeat_timeout is not 30..7200 seconds", hook.name));
            }
        }
        if let Some(pool) = &self.warm_pool {
            if pool.pool_state != "Stopped" && pool.pool_state != "Running" {
                return Err(format!("{at}: warm pool state `{}` is not Stopped or Running", pool.pool_state));
            }
        }
        Ok(())
    }
}

impl World {
    /// Add the scenario's groups, their instances in service (registered, launched a day ago,
    /// a minute apart) and their warm pools filled.
    pub fn add_aws(&mut self, section: &AwsSection) {
        self.aws.region = section.region.clone();
        for group in &section.groups {
            if group.hosts_nodes {
                self.node_host_sets.push(group.name.clone());
            }
            self.add_aws_group(group);
        }
    }

    /// Add `count` instances in service to group `g` (launched a day ago, a minute apart, their
    /// targets registered), raising its desired capacity (and MaxSize) to match: how a test
    /// builds a group of thousands. Returns their indexes.
    pub fn aws_add_in_service(&mut self, g: usize, count: usize) -> Vec<usize> {
        let mut added = Vec::new();
        for n in 0..count {
            let mut instance = self.aws_new_instance(g, Lifecycle::InService);
            instance.launched_at = self.now - 86_400.0 + 60.0 * n as f64;
            instance.state_until = instance.launched_at;
            instance.health = HealthStatus::Healthy;
            self.aws.groups[g].instances.push(instance);
            let index = self.aws.groups[g].instances.len() - 1;
            self.aws_register_target(g, index);
            added.push(index);
        }
        let group = &mut self.aws.groups[g];
        group.desired = group.in_service_count() as u32;
        group.max_size = group.max_size.max(group.desired);
        added
    }

    fn add_aws_group(&mut self, section: &AwsGroupSection) {
        let region = self.aws.region.clone();
        let unique = self.new_guid();
        let zones = if section.zones.is_empty() {
            ["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect()
        } else {
            section.zones.clone()
        };
        let hooks = section
            .hooks
            .iter()
            .filter_map(|h| {
                Some(LifecycleHook {
                    name: h.name.clone(),
                    transition: Transition::parse(&h.transition)?,
                    heartbeat_timeout_secs: h.heartbeat_timeout,
                    default_result: h.default_result.clone(),
                })
            })
            .collect();
        let mut refreshes = Vec::new();
        for refresh in &section.instance_refreshes {
            let id = self.new_guid();
            refreshes.push(InstanceRefresh {
                id,
                status: refresh.status.clone(),
                percentage_complete: refresh.percentage_complete,
                instances_to_update: refresh.instances_to_update,
                started: self.now - 600.0,
            });
        }
        let template_hex: String = unique.replace('-', "").chars().take(17).collect();
        self.aws.groups.push(AsgGroup {
            name: section.name.clone(),
            arn: format!(
                "arn:aws:autoscaling:{region}:{}:autoScalingGroup:{unique}:autoScalingGroupName/{}",
                self.aws.account_id, section.name
            ),
            min_size: section.min_size,
            max_size: section.max_size,
            desired: section.desired,
            default_cooldown_secs: section.default_cooldown,
            termination_policies: section.termination_policies.clone(),
            zones,
            launch_template_id: format!("lt-{template_hex}"),
            launch_template_name: format!("{}-template", section.name),
            template_version: section.template_version,
            instance_type: section.instance_type.clone(),
            naming: TargetNaming::parse(&section.naming).unwrap_or(TargetNaming::InstanceId),
            name_prefix: section.name_prefix.clone().unwrap_or_else(|| format!("{}-", section.name)),
            hooks,
            warm_pool: section.warm_pool.as_ref().map(|p| WarmPool {
                min_size: p.min_size,
                max_group_prepared_capacity: p.max_group_prepared_capacity,
                pool_state: p.pool_state.clone(),
            }),
            refreshes,
            instances: Vec::new(),
            created_at: self.now - 30.0 * 86_400.0,
            pending_cause: None,
        });
        let g = self.aws.groups.len() - 1;
        let added = self.aws_add_in_service(g, section.desired as usize);
        for (n, index) in added.into_iter().enumerate() {
            let instance = &mut self.aws.groups[g].instances[index];
            instance.protected = section.protected.contains(&n);
            if section.outdated.contains(&n) {
                instance.template_version = section.template_version.saturating_sub(1).max(1);
            }
        }
        if let Some(pool) = &section.warm_pool {
            let running = pool.pool_state == "Running";
            let prepared = pool.max_group_prepared_capacity.unwrap_or(section.max_size);
            let size = prepared.saturating_sub(section.desired).max(pool.min_size);
            for _ in 0..size {
                let lifecycle = if running { Lifecycle::WarmedRunning } else { Lifecycle::WarmedStopped };
                let mut instance = self.aws_new_instance(g, lifecycle);
                instance.launched_at = self.now - 3_600.0;
                self.aws.groups[g].instances.push(instance);
                if running {
                    let index = self.aws.groups[g].instances.len() - 1;
                    self.aws_register_target(g, index);
                }
            }
        }
    }
}
