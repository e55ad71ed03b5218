//! Domain types: what scaleguard reasons about. Plain data, no IO.
//!
//! Wire types (what Azure and Octopus send) live with their clients and are converted into these,
//! so the planner, guard and drain logic never depend on a server's spelling.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

mod aws;
mod tenancy;

pub use aws::{
    AwsGroup, AwsInstance, Ec2Group, HookTransition, LifecycleHook, LifecycleResult, LifecycleState, WarmPool,
};
pub use tenancy::{tenant_reach, TenantRef, TenantedMode};

/// Identifies one scale set across providers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScaleSetKey {
    pub provider: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl fmt::Display for ScaleSetKey {
    /// `rg-web/vmss-web` for an Azure set; an AWS Auto Scaling group has no resource group and
    /// is shown by its name alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resource_group.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.resource_group, self.name)
        }
    }
}

/// A scale-set key shared by every VM and history record of its set: one copy of the four
/// strings per set instead of one per VM (10,000 VMs are held several times over, and at 50,000
/// the copies alone outgrow the cache). Compared, hashed and ordered by value; saved as the key.
pub type SharedKey = Arc<ScaleSetKey>;

/// `SharedKey` as its `ScaleSetKey` on the wire (`#[serde(with = "shared_key")]`): the JSON is
/// the same as the key's own.
pub mod shared_key {
    use super::{ScaleSetKey, SharedKey};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(key: &SharedKey, serializer: S) -> Result<S::Ok, S::Error> {
        ScaleSetKey::serialize(key, serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SharedKey, D::Error> {
        ScaleSetKey::deserialize(deserializer).map(SharedKey::new)
    }
}

/// Azure's provisioning state, compared case-insensitively ("Succeeded" and "succeeded" are the same).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningState {
    Creating,
    Updating,
    Deleting,
    Succeeded,
    Failed,
    Canceled,
    Other(String),
}

impl ProvisioningState {
    pub fn parse(raw: &str) -> Self {
        match raw.to_ascii_lowercase().as_str() {
            "creating" => Self::Creating,
            "updating" => Self::Updating,
            "deleting" => Self::Deleting,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "canceled" | "cancelled" => Self::Canceled,
            _ => Self::Other(raw.to_string()),
        }
    }

    /// Succeeded, Failed and Canceled are final; anything else is still running (the terminal states
    /// of "Track asynchronous Azure operations",
    /// <https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/async-operations>).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Creating => "Creating",
            Self::Updating => "Updating",
            Self::Deleting => "Deleting",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Other(raw) => raw,
        }
    }
}

impl fmt::Display for ProvisioningState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The VM's power state from the instance view (`PowerState/running`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    Starting,
    Running,
    Stopping,
    Stopped,
    Deallocating,
    Deallocated,
    /// No instance view was returned, or it carried no power status.
    Unknown,
    Other(String),
}

impl PowerState {
    pub fn parse(raw: &str) -> Self {
        match raw.to_ascii_lowercase().as_str() {
            "starting" => Self::Starting,
            "running" => Self::Running,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            "deallocating" => Self::Deallocating,
            "deallocated" => Self::Deallocated,
            "" | "unknown" => Self::Unknown,
            _ => Self::Other(raw.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Deallocating => "deallocating",
            Self::Deallocated => "deallocated",
            Self::Unknown => "unknown",
            Self::Other(raw) => raw,
        }
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One VM of a scale set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Shared with the other VMs of its listing (one `Arc` per listing, cloned into each VM).
    #[serde(with = "shared_key")]
    pub scale_set: SharedKey,
    /// Uniform mode: a decimal string ("0", "17"). Flexible mode: the VM's name.
    pub instance_id: String,
    /// `properties.vmId`, a GUID: absence evidence is keyed on it too, as ids may be reused.
    pub vm_id: Option<String>,
    /// Uniform: `{set}_{instanceId}`; Flexible: `{set}_{8 hex chars}` (the instance id).
    pub name: String,
    pub computer_name: Option<String>,
    /// `instanceView.computerName` where it differs from `computer_name` (`osProfile`'s, fixed at
    /// creation): the guest renamed its host (a domain join, a hostname script), and the tentacle
    /// registers under the new name. The VM answers to both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_computer_name: Option<String>,
    pub provisioning_state: ProvisioningState,
    pub power_state: PowerState,
    /// None where Azure does not report it (a Flexible set's VM resource has no such flag).
    pub latest_model_applied: Option<bool>,
    /// None where Azure does not report it (a Flexible set's VM resource carries no protection
    /// policy): unknown, never taken for "not protected" in what is shown.
    pub protected_from_scale_in: Option<bool>,
    /// Zone, fault domain and creation time, as far as reported: what a scale-in policy goes by.
    #[serde(default)]
    pub placement: Placement,
    /// An AWS Auto Scaling instance's lifecycle state and the like; None on Azure. Boxed: an
    /// Azure VM pays one pointer for it, not the struct (10,000 VMs are held several times over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<Box<AwsInstance>>,
}

impl Instance {
    /// Numeric instance id for ordering (scale-in removes the highest); None for flexible-mode names.
    pub fn numeric_id(&self) -> Option<u64> {
        self.instance_id.parse().ok()
    }

    /// Every computer name the VM answers to: `computer_name`, then `guest_computer_name`.
    pub fn computer_names(&self) -> impl Iterator<Item = &str> {
        self.computer_name.iter().chain(&self.guest_computer_name).map(String::as_str)
    }

    /// Reported as protected from scale-in (unknown counts as not known to be protected).
    pub fn is_protected(&self) -> bool {
        self.protected_from_scale_in == Some(true)
    }

    /// Takes a place in its set's capacity. Every Azure VM does; an AWS instance in the warm
    /// pool, in Standby or leaving does not (`LifecycleState::in_capacity`).
    pub fn in_capacity(&self) -> bool {
        self.aws.as_ref().is_none_or(|aws| aws.lifecycle_state.in_capacity())
    }

    /// An AWS instance of the group's warm pool (`Warmed:*`).
    pub fn is_warm_pool(&self) -> bool {
        self.lifecycle_state().is_some_and(LifecycleState::is_warmed)
    }

    /// The AWS lifecycle state, None on Azure.
    pub fn lifecycle_state(&self) -> Option<&LifecycleState> {
        self.aws.as_ref().map(|aws| &aws.lifecycle_state)
    }
}

/// Where Azure placed a VM and when it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The availability zone (`zones[0]`), None for a regional VM.
    pub zone: Option<String>,
    /// `platformFaultDomain` (model or instance view).
    pub fault_domain: Option<i32>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// Orchestration mode of a scale set: Uniform (numbered instances) or Flexible (the set's VMs are
/// ordinary VM resources, named `{set}_{8 hex}`). Discovered from the scale set, never configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrchestrationMode {
    Uniform,
    Flexible,
}

impl OrchestrationMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Uniform => "Uniform",
            Self::Flexible => "Flexible",
        }
    }
}

impl fmt::Display for OrchestrationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a scale set spreads its VMs and what it is called in ARM: what the Flexible listing, the
/// scale-in preview and the doctor read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetLayout {
    /// The set's ARM resource id as the server spelled it (compare case-insensitively).
    pub resource_id: Option<String>,
    /// Availability zones; empty for a regional set.
    pub zones: Vec<String>,
    /// `platformFaultDomainCount` (1 = max spreading).
    pub fault_domain_count: Option<i32>,
    /// `scaleInPolicy.forceDeletion`.
    pub force_deletion: Option<bool>,
}

/// The scale set itself, as read with its ETag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleSetState {
    pub key: ScaleSetKey,
    pub location: Option<String>,
    pub capacity: u32,
    pub provisioning_state: ProvisioningState,
    pub overprovision: bool,
    pub orchestration_mode: OrchestrationMode,
    /// Scale-in policy rules ("Default", "NewestVM", "OldestVM"); empty when the server sent none.
    pub scale_in_rules: Vec<String>,
    /// Optimistic concurrency token (`"5"`, quotes included) for If-Match.
    pub etag: Option<String>,
    /// When the scale set's model last changed, when the provider reports it (`timeCreated`/tags).
    pub last_changed: Option<OffsetDateTime>,
    #[serde(default)]
    pub layout: SetLayout,
    /// An AWS Auto Scaling group's limits, hooks, warm pool and the like; None on Azure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<Box<AwsGroup>>,
}

/// A capacity change (or any write to the scale set) that happened: from the journal, the Activity
/// Log, or the console's observations. Feeds the guard's cooldown: the cooldown runs from the last
/// change by anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleChange {
    pub scale_set: ScaleSetKey,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Capacity before the change, when known.
    pub from: Option<u32>,
    /// Capacity after it, when known (an Activity Log write to the set does not say).
    pub to: Option<u32>,
    /// Who or what made it, when known: "autoscale (setting web-autoscale)", "alice@corp via
    /// portal", "bob via scaleguard".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Octopus target health (`HealthStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HealthStatus {
    Healthy,
    HasWarnings,
    Unhealthy,
    Unavailable,
    Unknown,
    Other(String),
}

impl HealthStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "Healthy" => Self::Healthy,
            "HasWarnings" => Self::HasWarnings,
            "Unhealthy" => Self::Unhealthy,
            "Unavailable" => Self::Unavailable,
            "Unknown" | "" => Self::Unknown,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Healthy => "Healthy",
            Self::HasWarnings => "HasWarnings",
            Self::Unhealthy => "Unhealthy",
            Self::Unavailable => "Unavailable",
            Self::Unknown => "Unknown",
            Self::Other(raw) => raw,
        }
    }

    /// Healthy enough to receive a deployment.
    pub fn is_deployable(&self) -> bool {
        matches!(self, Self::Healthy | Self::HasWarnings)
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text most targets of a listing repeat (a machine policy id, a communication style, a
/// thumbprint the target and its endpoint both carry): one copy, shared. The JSON is a string.
pub type SharedText = Arc<str>;

/// A list most targets of a listing repeat (their roles, their environments): one copy, shared.
/// The JSON is an array.
pub type SharedList = Arc<[String]>;

/// How Octopus talks to a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `TentaclePassive` (listening), `TentacleActive` (polling), `Ssh`, ...
    pub communication_style: SharedText,
    pub uri: Option<String>,
    pub thumbprint: Option<SharedText>,
}

/// An Octopus deployment target (machine). The console holds 10,000 of them twice while a
/// refresh lands, so what targets repeat is shared ([`SharedText`], [`SharedList`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    pub name: String,
    pub roles: SharedList,
    pub environment_ids: SharedList,
    pub health: HealthStatus,
    pub disabled: bool,
    pub machine_policy_id: Option<SharedText>,
    pub thumbprint: Option<SharedText>,
    pub endpoint: Endpoint,
    pub has_latest_calamari: Option<bool>,
    /// `TenantedDeploymentParticipation`; absent on servers without tenants: Untenanted.
    #[serde(default)]
    pub tenanted: TenantedMode,
    /// `TenantIds`: tenants the target is connected to directly.
    #[serde(default)]
    pub tenant_ids: Vec<String>,
    /// `TenantTags` (canonical `TagSet/Tag`): connects the target to every tenant carrying one.
    #[serde(default)]
    pub tenant_tags: Vec<String>,
}

impl Target {
    /// Is the target connected to the tenant (by id, or by a tag the tenant carries), and does
    /// its participation let tenanted deployments include it?
    pub fn connected_to(&self, tenant_id: &str, tenant_tags: &[String]) -> bool {
        self.tenanted.allows_tenanted()
            && (self.tenant_ids.iter().any(|id| same_octopus_id(id, tenant_id))
                || self.tenant_tags.iter().any(|tag| tenant_tags.contains(tag)))
    }

    /// In scope only with *all* configured roles (never trust the server's filter for this).
    pub fn has_all_roles(&self, roles: &[String]) -> bool {
        roles.iter().all(|wanted| self.roles.iter().any(|have| have.eq_ignore_ascii_case(wanted)))
    }
}

/// An Octopus Server HA node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub last_seen: Option<OffsetDateTime>,
    pub is_offline: bool,
    /// `IsInMaintenanceMode`: drain.
    pub drain: bool,
    pub max_concurrent_tasks: u32,
    pub running_tasks: u32,
    pub version: Option<String>,
}

/// Octopus task state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskState {
    Queued,
    Executing,
    Cancelling,
    Success,
    Failed,
    Canceled,
    TimedOut,
}

impl TaskState {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "Queued" => Self::Queued,
            "Executing" => Self::Executing,
            "Cancelling" => Self::Cancelling,
            "Success" => Self::Success,
            "Failed" => Self::Failed,
            "Canceled" => Self::Canceled,
            "TimedOut" => Self::TimedOut,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Executing => "Executing",
            Self::Cancelling => "Cancelling",
            Self::Success => "Success",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::TimedOut => "TimedOut",
        }
    }

    /// Queued or running: a deployment in this state must not be duplicated.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Queued | Self::Executing | Self::Cancelling)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Octopus server task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub name: String,
    pub description: String,
    pub state: TaskState,
    pub server_node: Option<String>,
    pub deployment_id: Option<String>,
    pub queue_time: Option<OffsetDateTime>,
    pub start_time: Option<OffsetDateTime>,
    pub completed_time: Option<OffsetDateTime>,
}

/// A release of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
    pub project_id: String,
    pub version: String,
}

/// A deployment of a release to an environment (and possibly specific machines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub project_id: String,
    pub release_id: String,
    pub environment_id: String,
    /// Empty means "every target in the environment with the project's roles".
    pub specific_machine_ids: Vec<String>,
    pub excluded_machine_ids: Vec<String>,
    /// Filled in by Octopus as the deployment reaches machines (`DeployedToMachineIds`). None
    /// when the server did not say (absent, as in Octopus 3.x's DeploymentResource, or null):
    /// which targets it reached is unknown, never "none".
    pub deployed_to_machine_ids: Option<Vec<String>>,
    pub task_id: Option<String>,
    pub task_state: Option<TaskState>,
    pub created: Option<OffsetDateTime>,
    /// Free text; scaleguard puts its journal intent id here to find its own deployments.
    #[serde(default)]
    pub comments: String,
    /// `TenantId`: the tenant this deployment is for; None for an untenanted one.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

impl Deployment {
    /// Did this deployment reach `target_id`? None when the server did not say which targets it
    /// reached.
    pub fn reached(&self, target_id: &str) -> Option<bool> {
        self.deployed_to_machine_ids.as_ref().map(|ids| ids.iter().any(|id| same_octopus_id(id, target_id)))
    }

    /// Did (or will) this deployment reach `target_id`?
    pub fn covers(&self, target_id: &str) -> bool {
        if self.excluded_machine_ids.iter().any(|id| same_octopus_id(id, target_id)) {
            return false;
        }
        self.specific_machine_ids.is_empty()
            || self.specific_machine_ids.iter().any(|id| same_octopus_id(id, target_id))
    }
}

/// Do two Octopus ids name the same document? Compared without ASCII case, as the server looks
/// ids up: a server, proxy or tool spelling an id in another case (`machines-1`) must not make a
/// target the release reached look new (it would be deployed to again), nor a deployment look
/// like another release's or tenant's.
pub fn same_octopus_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `same_octopus_id` for ids that may be absent (an untenanted deployment has no tenant id).
pub fn same_optional_octopus_id(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_octopus_id(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// What the planner proposes. Each action carries its reason and the observations behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// The scale set is still provisioning: no deploy to its VMs is proposed until it is steady.
    Wait {
        scale_set: ScaleSetKey,
        in_progress: u32,
        succeeded: u32,
        capacity: u32,
        waiting_secs: u64,
        /// Past `provisioning_timeout_secs`: shown as a warning, not a silent wait.
        timed_out: bool,
    },
    /// A deployment of another release of the project to the environment is queued or
    /// executing: the rollout of the current release to new targets waits for it to finish.
    WaitForDeployment {
        project_id: String,
        project_name: String,
        /// The release the new targets would get now.
        release_version: String,
        /// The release being deployed.
        in_flight_version: String,
        deployment_id: String,
        task_state: Option<TaskState>,
        held_targets: usize,
    },
    /// Delete a target whose VM is gone.
    DeleteTarget {
        target_id: String,
        target_name: String,
        /// The VM it was matched to when last seen, if any.
        last_instance_id: Option<String>,
        absent_observations: u32,
        absent_secs: u64,
        /// The delete removes every target of a set at once (the set lists no VMs and reports
        /// capacity 0, or the plan deletes all its targets): the operator must confirm it
        /// explicitly (invariant 2).
        #[serde(default)]
        requires_confirmation: bool,
    },
    /// Deploy a project's latest release to new targets only.
    Deploy {
        project_id: String,
        project_name: String,
        release_id: String,
        release_version: String,
        environment_id: String,
        target_ids: Vec<String>,
        target_names: Vec<String>,
        /// The tenant this deployment is for (POSTed as `TenantId`); None: untenanted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant: Option<TenantRef>,
    },
    /// Complete the AWS lifecycle action that holds an instance: CONTINUE once its targets are
    /// deleted (terminating) or its deployment succeeded (launching), ABANDON when that
    /// deployment failed (the instance is then terminated).
    CompleteLifecycle {
        scale_set: ScaleSetKey,
        instance_id: String,
        hook: String,
        transition: HookTransition,
        result: LifecycleResult,
        /// The instance's targets: deleted first (terminating) or deployed to (launching).
        target_names: Vec<String>,
    },
    /// Keep an AWS lifecycle action waiting (RecordLifecycleActionHeartbeat) while the
    /// deployment it waits for still runs.
    LifecycleHeartbeat { scale_set: ScaleSetKey, instance_id: String, hook: String, deployment_id: String },
    /// Something a person should see; the tool does not act on it.
    Note { severity: Severity, subject: String },
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Wait { .. } | Action::WaitForDeployment { .. } => ActionKind::Wait,
            Action::DeleteTarget { .. } => ActionKind::DeleteTarget,
            Action::Deploy { .. } => ActionKind::Deploy,
            Action::CompleteLifecycle { .. } => ActionKind::CompleteLifecycle,
            Action::LifecycleHeartbeat { .. } => ActionKind::LifecycleHeartbeat,
            Action::Note { .. } => ActionKind::Note,
        }
    }

    /// Only these change anything; waits and notes are information.
    pub fn is_mutating(&self) -> bool {
        matches!(
            self,
            Action::DeleteTarget { .. }
                | Action::Deploy { .. }
                | Action::CompleteLifecycle { .. }
                | Action::LifecycleHeartbeat { .. }
        )
    }

    /// Deletes a target, or (ABANDON of a launch) has AWS terminate an instance.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Action::DeleteTarget { .. }
                | Action::CompleteLifecycle {
                    transition: HookTransition::Launching,
                    result: LifecycleResult::Abandon,
                    ..
                }
        )
    }

    /// The action in words, the one wording everywhere (approval dialog, console status, journal
    /// replay, executor reports): "delete-target web-3 (Machines-12)", "deploy Todo Web 1.4.2 to
    /// web-4, web-5". Long target lists name the first few; the details view has them all.
    pub fn summary(&self) -> String {
        const NAMED_TARGETS: usize = 3;
        match self {
            Action::DeleteTarget { target_id, target_name, .. } => {
                format!("delete-target {target_name} ({target_id})")
            }
            Action::Deploy { project_name, release_version, target_names, tenant, .. } => {
                let named = target_names.iter().take(NAMED_TARGETS).map(String::as_str).collect::<Vec<_>>();
                let more = match target_names.len().saturating_sub(NAMED_TARGETS) {
                    0 => String::new(),
                    more => format!(" and {more} more"),
                };
                let tenant = tenant.as_ref().map_or(String::new(), |t| format!(" for tenant {}", t.name));
                format!("deploy {project_name} {release_version}{tenant} to {}{more}", named.join(", "))
            }
            Action::Wait { scale_set, succeeded, capacity, .. } => {
                let settled = if scale_set.provider == "aws" { "in service" } else { "succeeded" };
                format!("wait for {scale_set} ({succeeded}/{capacity} {settled})")
            }
            Action::WaitForDeployment { project_name, in_flight_version, deployment_id, .. } => {
                format!("wait for {project_name} {in_flight_version} ({deployment_id})")
            }
            Action::CompleteLifecycle { instance_id, hook, result, .. } => {
                format!("complete-lifecycle {instance_id} {result} ({hook})")
            }
            Action::LifecycleHeartbeat { instance_id, hook, deployment_id, .. } => {
                format!("lifecycle-heartbeat {instance_id} ({hook}) while {deployment_id} runs")
            }
            Action::Note { subject, .. } => format!("note: {subject}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    Wait,
    DeleteTarget,
    Deploy,
    CompleteLifecycle,
    LifecycleHeartbeat,
    Note,
}

impl ActionKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ActionKind::Wait => "wait",
            ActionKind::DeleteTarget => "delete-target",
            ActionKind::Deploy => "deploy",
            ActionKind::CompleteLifecycle => "complete-lifecycle",
            ActionKind::LifecycleHeartbeat => "lifecycle-heartbeat",
            ActionKind::Note => "note",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim() {
            "wait" => ActionKind::Wait,
            "delete-target" => ActionKind::DeleteTarget,
            "deploy" => ActionKind::Deploy,
            "complete-lifecycle" => ActionKind::CompleteLifecycle,
            "lifecycle-heartbeat" => ActionKind::LifecycleHeartbeat,
            "note" => ActionKind::Note,
            _ => return None,
        })
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One proposed action with the words and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// Stable across refreshes while the proposal stays the same, so a selection survives.
    pub id: String,
    pub action: Action,
    pub reason: String,
    pub observations: Vec<String>,
}

/// The reconcile plan for one profile at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub actions: Vec<PlannedAction>,
}

impl Plan {
    pub fn pending_changes(&self) -> impl Iterator<Item = &PlannedAction> {
        self.actions.iter().filter(|a| a.action.is_mutating())
    }

    pub fn has_changes(&self) -> bool {
        self.pending_changes().next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_the_target_or_the_release_and_targets() {
        let delete = Action::DeleteTarget {
            target_id: "Machines-12".into(),
            target_name: "web-3".into(),
            last_instance_id: Some("3".into()),
            absent_observations: 3,
            absent_secs: 400,
            requires_confirmation: false,
        };
        assert_eq!(delete.summary(), "delete-target web-3 (Machines-12)");
        let deploy = |names: &[&str]| Action::Deploy {
            project_id: "Projects-1".into(),
            project_name: "Todo Web".into(),
            release_id: "Releases-4".into(),
            release_version: "1.4.2".into(),
            environment_id: "Environments-1".into(),
            target_ids: names.iter().map(|n| format!("Machines-{n}")).collect(),
            target_names: names.iter().map(|n| n.to_string()).collect(),
            tenant: None,
        };
        assert_eq!(deploy(&["web-4", "web-5"]).summary(), "deploy Todo Web 1.4.2 to web-4, web-5");
        assert_eq!(
            deploy(&["w1", "w2", "w3", "w4", "w5"]).summary(),
            "deploy Todo Web 1.4.2 to w1, w2, w3 and 2 more"
        );
        let note = Action::Note { severity: Severity::Info, subject: "vm-7 has no target".into() };
        assert_eq!(note.summary(), "note: vm-7 has no target");
        let scale_set = ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "sub".into(),
            resource_group: "rg-web".into(),
            name: "vmss-web".into(),
        };
        let wait = Action::Wait {
            scale_set,
            in_progress: 1,
            succeeded: 2,
            capacity: 3,
            waiting_secs: 10,
            timed_out: false,
        };
        assert_eq!(wait.summary(), "wait for rg-web/vmss-web (2/3 succeeded)");
    }

    #[test]
    fn a_shared_set_key_is_saved_compared_and_ordered_as_the_key_itself() {
        let vm = crate::reconcile::testkit::vm("web", 3);
        let json = serde_json::to_string(&vm).unwrap();
        let key = r#"{"provider":"azure","subscription_id":"sub-1","resource_group":"rg","name":"web"}"#;
        assert!(json.starts_with(&format!(r#"{{"scale_set":{key},"instance_id":"3","#)), "{json}");
        assert_eq!(serde_json::to_string(&*vm.scale_set).unwrap(), key);
        let back: Instance = serde_json::from_str(&json).unwrap();
        assert_eq!(back, vm);
        assert!(!Arc::ptr_eq(&back.scale_set, &vm.scale_set), "a separate copy, equal by value");
        let other = SharedKey::new(ScaleSetKey { name: "api".into(), ..ScaleSetKey::clone(&vm.scale_set) });
        assert!(other < vm.scale_set && other != vm.scale_set);
    }

    #[test]
    fn provisioning_state_is_case_insensitive() {
        assert_eq!(ProvisioningState::parse("succeeded"), ProvisioningState::Succeeded);
        assert_eq!(ProvisioningState::parse("SUCCEEDED"), ProvisioningState::Succeeded);
        assert!(!ProvisioningState::parse("Migrating").is_final());
        assert!(ProvisioningState::parse("canceled").is_final());
    }

    #[test]
    fn all_of_roles_is_checked_locally() {
        let target = Target {
            id: "Machines-1".into(),
            name: "web".into(),
            roles: vec!["vmss-web".into()].into(),
            environment_ids: Vec::new().into(),
            health: HealthStatus::Healthy,
            disabled: false,
            machine_policy_id: None,
            thumbprint: None,
            endpoint: Endpoint { communication_style: "TentaclePassive".into(), uri: None, thumbprint: None },
            has_latest_calamari: None,
            tenanted: TenantedMode::Untenanted,
            tenant_ids: vec![],
            tenant_tags: vec![],
        };
        assert!(target.has_all_roles(&["VMSS-web".into()]));
        assert!(!target.has_all_roles(&["vmss-web".into(), "web-server".into()]));
        let tenanted =
            Target { tenanted: TenantedMode::Tenanted, tenant_ids: vec!["tenants-1".into()], ..target };
        assert!(tenanted.connected_to("Tenants-1", &[]), "a tenant id in another case is the same tenant");
    }

    #[test]
    fn deployment_with_no_specific_machines_covers_every_target() {
        let mut d = Deployment {
            id: "Deployments-1".into(),
            project_id: "Projects-1".into(),
            release_id: "Releases-1".into(),
            environment_id: "Environments-1".into(),
            specific_machine_ids: vec![],
            excluded_machine_ids: vec!["Machines-2".into()],
            deployed_to_machine_ids: Some(vec![]),
            task_id: None,
            task_state: None,
            created: None,
            comments: String::new(),
            tenant_id: None,
        };
        assert!(d.covers("Machines-1"));
        assert!(!d.covers("Machines-2"));
        d.specific_machine_ids = vec!["Machines-3".into()];
        assert!(!d.covers("Machines-1"));
        assert!(d.covers("Machines-3"));
        // Ids in another case name the same machines.
        assert!(d.covers("MACHINES-3") && !d.covers("MACHINES-1"));
        d.specific_machine_ids.clear();
        assert!(!d.covers("machines-2"), "excluded in any case");
        d.deployed_to_machine_ids = Some(vec!["machines-4".into()]);
        assert_eq!((d.reached("Machines-4"), d.reached("Machines-1")), (Some(true), Some(false)));
    }

    #[test]
    fn octopus_ids_are_the_same_in_any_ascii_case() {
        assert!(same_octopus_id("Tenants-1", "tenants-1") && !same_octopus_id("Tenants-1", "Tenants-10"));
        assert!(same_optional_octopus_id(None, None) && same_optional_octopus_id(Some("A-1"), Some("a-1")));
        assert!(!same_optional_octopus_id(Some("A-1"), None) && !same_optional_octopus_id(None, Some("A-1")));
    }
}
