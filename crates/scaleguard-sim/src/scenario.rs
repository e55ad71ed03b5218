//! Scenarios: TOML files in assets/scenarios/, embedded at build time, turned into a `World`.

use super::faults::FaultSpec;
use super::world::{
    Deployment, Environment, MachinePolicy, Node, OctopusInfo, Project, Release, ScaleSet, Task, TaskState,
    Tunables, World,
};
use serde::Deserialize;

/// Every built-in scenario: (name, TOML text).
pub const SCENARIOS: &[(&str, &str)] = &[
    ("steady", include_str!("../../../assets/scenarios/steady.toml")),
    ("scale-out", include_str!("../../../assets/scenarios/scale-out.toml")),
    ("scale-in", include_str!("../../../assets/scenarios/scale-in.toml")),
    ("ha-drain", include_str!("../../../assets/scenarios/ha-drain.toml")),
    ("chaos", include_str!("../../../assets/scenarios/chaos.toml")),
    ("misconfigured", include_str!("../../../assets/scenarios/misconfigured.toml")),
    ("flex-scale-out", include_str!("../../../assets/scenarios/flex-scale-out.toml")),
    ("flex-scale-in", include_str!("../../../assets/scenarios/flex-scale-in.toml")),
    ("mixed", include_str!("../../../assets/scenarios/mixed.toml")),
    ("autoscale", include_str!("../../../assets/scenarios/autoscale.toml")),
    ("tenants", include_str!("../../../assets/scenarios/tenants.toml")),
    ("aws-scale-out", include_str!("../../../assets/scenarios/aws-scale-out.toml")),
    ("aws-scale-in", include_str!("../../../assets/scenarios/aws-scale-in.toml")),
    ("azure-aws", include_str!("../../../assets/scenarios/azure-aws.toml")),
    ("ha-scale", include_str!("../../../assets/scenarios/ha-scale.toml")),
    ("ha-scale-aws", include_str!("../../../assets/scenarios/ha-scale-aws.toml")),
];

pub fn names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|(name, _)| *name).collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub tunables: Tunables,
    pub octopus: OctopusSection,
    #[serde(default)]
    pub projects: Vec<ProjectSection>,
    /// Azure scale sets (none in an AWS-only scenario).
    #[serde(default)]
    pub scale_sets: Vec<ScaleSetSection>,
    /// Amazon EC2 Auto Scaling groups and their region.
    pub aws: Option<super::aws::scenario::AwsSection>,
    #[serde(default)]
    pub nodes: Vec<NodeSection>,
    #[serde(default)]
    pub events: Vec<ScheduledEvent>,
    pub chaos: Option<Chaos>,
    /// Azure Autoscale settings for the scale sets.
    #[serde(default)]
    pub autoscale: Vec<super::autoscale::AutoscaleSection>,
    /// Octopus tenants and what they are connected to.
    #[serde(default)]
    pub tenants: Vec<super::tenants::TenantSection>,
}

fn default_seed() -> u64 {
    42
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OctopusSection {
    #[serde(default = "default_space")]
    pub space: String,
    pub environment: String,
    #[serde(default)]
    pub other_environments: Vec<String>,
    pub roles: Vec<String>,
    #[serde(default = "default_style")]
    pub communication_style: String,
    #[serde(default = "default_version")]
    pub version: String,
    /// The default machine policy deletes unavailable targets after this TimeSpan ("00:20:00").
    pub default_policy_delete_after: Option<String>,
    /// Give the first two targets the same thumbprint (a cloned image).
    #[serde(default)]
    pub duplicate_thumbprints: bool,
    /// Give the third target the first one's name (two registrations of one host).
    #[serde(default)]
    pub duplicate_names: bool,
    /// Targets with the scale-set roles whose VM is in no scale set (left over from elsewhere).
    #[serde(default)]
    pub stray_targets: Vec<String>,
    /// The environment's "use guided failure by default".
    #[serde(default)]
    pub environment_guided_failure: bool,
    /// A dedicated machine policy for the scale-set targets; without it they use the default one.
    pub vmss_policy: Option<PolicySection>,
    /// A newer server that sends `TargetTags` beside `Roles`.
    #[serde(default)]
    pub target_tags_field: bool,
}

/// A machine policy; the defaults are Octopus's auto-scaling recommendations (10-minute health
/// checks, unavailable targets do not fail them, Calamari always updated), minus cleanup.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    #[serde(default = "default_policy_name")]
    pub name: String,
    #[serde(default = "default_interval")]
    pub health_check_interval: String,
    #[serde(default = "default_connectivity")]
    pub connectivity_behavior: String,
    #[serde(default = "default_calamari")]
    pub calamari_update_behavior: String,
    /// Delete unavailable targets after this TimeSpan; None keeps them.
    pub delete_unavailable_after: Option<String>,
}

fn default_policy_name() -> String {
    "VMSS targets".into()
}
fn default_interval() -> String {
    "00:10:00".into()
}
fn default_connectivity() -> String {
    "MayBeOfflineAndCanBeSkipped".into()
}
fn default_calamari() -> String {
    "UpdateAlways".into()
}

fn default_space() -> String {
    "Default".into()
}
fn default_style() -> String {
    "TentaclePassive".into()
}
fn default_version() -> String {
    "2024.3.12741".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    pub name: String,
    pub releases: Vec<String>,
    #[serde(default = "yes")]
    pub allow_no_targets: bool,
    #[serde(default = "yes")]
    pub skip_unavailable: bool,
    #[serde(default = "yes")]
    pub exclude_unhealthy: bool,
    #[serde(default = "default_guided")]
    pub guided_failure: String,
    /// `Untenanted` (default), `TenantedOrUntenanted` or `Tenanted`.
    #[serde(default = "default_tenanted_mode")]
    pub tenanted_mode: String,
    /// Config-as-code: settings in this repository's default branch.
    pub version_control: Option<super::tenants::VersionControlSection>,
}

fn default_tenanted_mode() -> String {
    "Untenanted".into()
}

fn yes() -> bool {
    true
}
fn default_guided() -> String {
    "On".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleSetSection {
    pub name: String,
    pub resource_group: String,
    pub subscription_id: String,
    #[serde(default = "default_location")]
    pub location: String,
    #[serde(default = "default_sku")]
    pub sku: String,
    pub computer_name_prefix: String,
    pub capacity: u32,
    #[serde(default = "yes")]
    pub overprovision: bool,
    #[serde(default)]
    pub windows: bool,
    /// Instance ids (of the initial VMs) protected from scale-in.
    #[serde(default)]
    pub protected: Vec<u64>,
    /// `scaleInPolicy.rules[0]`: Default, NewestVM or OldestVM.
    #[serde(default = "default_scale_in_policy")]
    pub scale_in_policy: String,
    /// "Uniform" (the default) or "Flexible" (no overprovisioning, VMs named `{set}_{8 hex}`).
    #[serde(default)]
    pub orchestration_mode: Option<String>,
    /// Flexible sets: availability zones (empty: regional).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Flexible sets: `platformFaultDomainCount` (1, the default, is max spreading).
    #[serde(default)]
    pub fault_domain_count: Option<u32>,
    /// Flexible sets: `scaleInPolicy.forceDeletion`.
    #[serde(default)]
    pub force_deletion: bool,
    /// The tenants and tags its targets register with.
    #[serde(default)]
    pub tenancy: super::tenants::TenancySection,
    /// Its VMs run the Octopus HA nodes instead of tentacles (`ha_hosts`).
    #[serde(default)]
    pub hosts_nodes: bool,
}

impl ScaleSetSection {
    /// The Flexible part of the set, or None for a Uniform set.
    fn flexible(&self) -> Result<Option<super::flexible::FlexSet>, String> {
        match self.orchestration_mode.as_deref() {
            None => Ok(None),
            Some(mode) if mode.eq_ignore_ascii_case("uniform") => Ok(None),
            Some(mode) if mode.eq_ignore_ascii_case("flexible") => Ok(Some(super::flexible::FlexSet {
                zones: self.zones.clone(),
                fault_domain_count: self.fault_domain_count.unwrap_or(1).max(1),
                force_deletion: self.force_deletion,
            })),
            Some(other) => Err(format!(
                "scale set `{}`: orchestration_mode `{other}` is not Uniform or Flexible",
                self.name
            )),
        }
    }
}

fn default_scale_in_policy() -> String {
    "Default".into()
}

fn default_location() -> String {
    "westeurope".into()
}
fn default_sku() -> String {
    "Standard_D2s_v3".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    pub name: String,
    #[serde(default = "default_task_cap")]
    pub max_concurrent_tasks: u32,
    pub version: Option<String>,
    #[serde(default)]
    pub maintenance: bool,
    /// Dead since long before the start: last seen 15 minutes ago, never heartbeats.
    #[serde(default)]
    pub offline: bool,
    /// Listed in the profile's `nodes.verified` (an operator checked it with task cap 0 first).
    #[serde(default = "yes")]
    pub verified: bool,
}

fn default_task_cap() -> u32 {
    5
}

fn portal() -> String {
    "portal".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScheduledEvent {
    pub at_secs: f64,
    #[serde(flatten)]
    pub action: EventAction,
    #[serde(skip)]
    pub done: bool,
}

/// Something that happens to the world: from a scenario's schedule or the control endpoint.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EventAction {
    SetCapacity {
        set: String,
        capacity: u32,
    },
    DeleteVm {
        set: String,
        instance_id: u64,
    },
    StopTentacle {
        machine: String,
    },
    StartTentacle {
        machine: String,
    },
    KillNode {
        node: String,
    },
    /// Start a task on one node now, running `secs` (a busy node on demand).
    RunTask {
        node: String,
        secs: f64,
    },
    /// Delete the scale set and create it again under the same name in the other orchestration
    /// mode (`flexible`), with as many VMs: what a profile pointing at a re-created set sees.
    RecreateSet {
        set: String,
        flexible: bool,
    },
    /// A person sets the capacity through a tool ("portal", "cli", "powershell"): the Activity
    /// Log names them.
    ScaleBy {
        set: String,
        capacity: u32,
        caller: String,
        #[serde(default = "portal")]
        app: String,
    },
    /// The load Autoscale's rules see, in percent CPU.
    SetLoad {
        percent: f64,
    },
    /// AWS: a group's desired capacity changes (a person's `SetDesiredCapacity`, or the scaling
    /// policy `policy` fired by its alarm when given).
    SetDesired {
        group: String,
        desired: u32,
        #[serde(default)]
        policy: Option<String>,
    },
    /// AWS: an instance is terminated out of band (`TerminateInstanceInAutoScalingGroup`; with
    /// `decrement` the desired capacity drops, else a replacement launches).
    TerminateInstance {
        instance_id: String,
        #[serde(default)]
        decrement: bool,
    },
    /// AWS: every lifecycle action waiting in `group` times out now (its hook's DefaultResult
    /// applies).
    ExpireLifecycleActions {
        group: String,
    },
    /// A person edits an autoscale setting in the portal: profile `profile`'s capacities and the
    /// enabled flag, each when given.
    EditAutoscale {
        setting: String,
        profile: String,
        minimum: Option<u32>,
        maximum: Option<u32>,
        enabled: Option<bool>,
    },
    Fault(FaultSpec),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chaos {
    /// One random mishap every this many simulated seconds.
    pub every_secs: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario `{name}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("scenario `{name}` is invalid: {message}")]
    Invalid { name: String, message: String },
}

pub fn load(name: &str) -> Result<Scenario, ScenarioError> {
    let text = SCENARIOS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, text)| *text)
        .ok_or_else(|| ScenarioError::Unknown { name: name.into(), known: names().join(", ") })?;
    let scenario: Scenario = toml::from_str(text)
        .map_err(|err| ScenarioError::Invalid { name: name.into(), message: err.to_string() })?;
    let invalid = |message: String| ScenarioError::Invalid { name: name.into(), message };
    for set in &scenario.scale_sets {
        set.flexible().map_err(invalid)?;
    }
    let groups = scenario.aws.iter().flat_map(|aws| &aws.groups);
    for group in groups.clone() {
        group.check().map_err(invalid)?;
    }
    // Targets link to their instance by set or group name: one name, one owner.
    let mut names: Vec<&str> = scenario.scale_sets.iter().map(|s| s.name.as_str()).collect();
    names.extend(groups.map(|g| g.name.as_str()));
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(invalid(format!("the name `{}` is used by two scale sets or groups", twice[0])));
    }
    if names.is_empty() {
        return Err(invalid("it has no scale set and no AWS group".into()));
    }
    Ok(scenario)
}

impl Scenario {
    /// Build the world at t=0: VMs registered, releases created, one successful deployment of
    /// each project's latest release to the existing targets.
    pub fn build(&self, seed: u64) -> World {
        let space_id = "Spaces-1".to_string();
        let mut environments = Vec::new();
        let mut environment_id = String::new();
        for (index, name) in
            self.octopus.other_environments.iter().chain([&self.octopus.environment]).enumerate()
        {
            let id = format!("Environments-{}", index + 1);
            if *name == self.octopus.environment {
                environment_id = id.clone();
            }
            let use_guided_failure =
                *name == self.octopus.environment && self.octopus.environment_guided_failure;
            environments.push(Environment { id, name: name.clone(), use_guided_failure });
        }
        let octopus = OctopusInfo {
            space_id,
            space_name: self.octopus.space.clone(),
            version: self.octopus.version.clone(),
            installation_id: String::new(),
            target_roles: self.octopus.roles.clone(),
            environment_id,
            communication_style: self.octopus.communication_style.clone(),
            machine_policy_id: if self.octopus.vmss_policy.is_some() {
                "MachinePolicies-2".into()
            } else {
                "MachinePolicies-1".into()
            },
            target_tags_field: self.octopus.target_tags_field,
        };
        let mut world = World::new(seed, self.tunables.clone(), octopus);
        world.octopus.installation_id = world.new_guid();
        world.environments = environments;
        world.machine_policies = vec![MachinePolicy {
            id: "MachinePolicies-1".into(),
            name: "Default Machine Policy".into(),
            is_default: true,
            delete_unavailable_after: self.octopus.default_policy_delete_after.clone(),
            health_check_interval: "01:00:00".into(),
            connectivity_behavior: "ExpectedToBeOnline".into(),
            calamari_update_behavior: "UpdateOnDeployment".into(),
        }];
        if let Some(policy) = &self.octopus.vmss_policy {
            world.machine_policies.push(MachinePolicy {
                id: "MachinePolicies-2".into(),
                name: policy.name.clone(),
                is_default: false,
                delete_unavailable_after: policy.delete_unavailable_after.clone(),
                health_check_interval: policy.health_check_interval.clone(),
                connectivity_behavior: policy.connectivity_behavior.clone(),
                calamari_update_behavior: policy.calamari_update_behavior.clone(),
            });
        }
        for (index, node) in self.nodes.iter().enumerate() {
            let last_seen = if node.offline { -900.0 } else { -(index as f64) * 7.0 };
            world.nodes.push(Node {
                id: format!("OctopusServerNodes-{}", node.name),
                name: node.name.clone(),
                version: node.version.clone().unwrap_or_else(|| self.octopus.version.clone()),
                max_concurrent_tasks: node.max_concurrent_tasks,
                is_in_maintenance_mode: node.maintenance,
                last_seen,
                alive: !node.offline,
            });
        }
        super::tenants::add_tenants(&mut world, &self.tenants);
        for section in &self.scale_sets {
            let unique_id = world.new_guid();
            // Checked by `load`; a Flexible set never overprovisions.
            let flexible = section.flexible().unwrap_or_default();
            let tenancy = super::tenants::tenancy(&world, &section.tenancy);
            world.scale_sets.push(ScaleSet {
                subscription_id: section.subscription_id.clone(),
                resource_group: section.resource_group.clone(),
                name: section.name.clone(),
                location: section.location.clone(),
                sku_name: section.sku.clone(),
                capacity: section.capacity,
                overprovision: section.overprovision && flexible.is_none(),
                computer_name_prefix: section.computer_name_prefix.clone(),
                windows: section.windows,
                unique_id,
                etag: 1,
                next_instance_id: 0,
                vms: Vec::new(),
                scale_in_policy: section.scale_in_policy.clone(),
                flexible,
                tenancy,
            });
            let index = world.scale_sets.len() - 1;
            if section.hosts_nodes {
                world.node_host_sets.push(section.name.clone());
            }
            for instance_id in 0..section.capacity as u64 {
                world.add_existing_vm(index, section.protected.contains(&instance_id));
            }
        }
        if let Some(aws) = &self.aws {
            world.add_aws(aws);
        }
        if self.octopus.duplicate_thumbprints && world.machines.len() >= 2 {
            world.machines[1].thumbprint = world.machines[0].thumbprint.clone();
        }
        if self.octopus.duplicate_names && world.machines.len() >= 3 {
            world.machines[2].name = world.machines[0].name.clone();
        }
        for section in &self.projects {
            let project_id = world.next_id("Projects");
            world.projects.push(Project {
                id: project_id.clone(),
                name: section.name.clone(),
                roles: self.octopus.roles.clone(),
                allow_no_targets: section.allow_no_targets,
                skip_unavailable: section.skip_unavailable,
                exclude_unhealthy: section.exclude_unhealthy,
                guided_failure: section.guided_failure.clone(),
                tenanted_mode: section.tenanted_mode.clone(),
                version_control: section.version_control.as_ref().map(|vc| vc.build()),
            });
            let count = section.releases.len();
            for (index, version) in section.releases.iter().enumerate() {
                let id = world.next_id("Releases");
                let assembled = -((count - index) as f64) * 3600.0;
                world.releases.push(Release {
                    id,
                    project_id: project_id.clone(),
                    version: version.clone(),
                    assembled,
                });
            }
            // A Tenanted project has only tenants' deployments (below).
            let untenanted = section.tenanted_mode != "Tenanted";
            if let Some(latest) =
                world.releases.iter().rfind(|r| untenanted && r.project_id == project_id).cloned()
            {
                let deployment_id = world.next_id("Deployments");
                let task_id = world.next_id("ServerTasks");
                let targets: Vec<String> =
                    world.machines.iter().filter(|m| m.tenancy.admits(None)).map(|m| m.id.clone()).collect();
                let node_id = world.nodes.first().map(|n| n.id.clone());
                world.tasks.push(Task {
                    id: task_id.clone(),
                    name: "Deploy".into(),
                    description: format!(
                        "Deploy {} release {} to {}",
                        section.name, latest.version, self.octopus.environment
                    ),
                    state: TaskState::Success,
                    node_id,
                    queue_time: -1800.0,
                    start_time: Some(-1795.0),
                    completed_time: Some(-1700.0),
                    finish_at: None,
                    deployment_id: Some(deployment_id.clone()),
                    project_id: Some(project_id.clone()),
                });
                world.deployments.push(Deployment {
                    id: deployment_id,
                    release_id: latest.id,
                    project_id: project_id.clone(),
                    environment_id: world.octopus.environment_id.clone(),
                    task_id,
                    specific_machine_ids: Vec::new(),
                    excluded_machine_ids: Vec::new(),
                    deployed_to_machine_ids: targets,
                    comments: String::new(),
                    use_guided_failure: true,
                    created: -1800.0,
                    tenant_id: None,
                });
            }
        }
        super::tenants::connect_and_deploy(&mut world, &self.tenants, &self.octopus.environment);
        // After the projects, so stray targets do not shift the ids the other documents get.
        for name in &self.octopus.stray_targets {
            world.add_stray_target(name);
        }
        world.events = self.events.clone();
        world.chaos = self.chaos.clone();
        for section in &self.autoscale {
            // A setting naming a set the scenario lacks is a scenario bug; the scenario tests catch it.
            let _ = world.add_autoscale(section);
        }
        world
    }
}
