//! What the Octopus REST API sends, spelled as it does (PascalCase).
//!
//! Tolerant on purpose: unknown fields are ignored, anything the server may omit or send as null
//! is optional or defaulted. Only `Id` (and `Name` where we show it) are required, so a body that
//! is not the resource we asked for is a parse error rather than an empty object.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashMap;

/// Missing and `null` both become the type's default (Octopus sends `null` for empty lists).
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `{ItemType, Items[], ItemsPerPage, TotalResults, Links{"Page.Next", ...}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Collection<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub items_per_page: Option<u64>,
    #[serde(default)]
    pub total_results: Option<u64>,
    #[serde(default, deserialize_with = "null_default")]
    pub links: HashMap<String, String>,
}

impl<T> Collection<T> {
    pub fn next_link(&self) -> Option<&str> {
        self.links.get("Page.Next").map(String::as_str).filter(|l| !l.is_empty())
    }
}

/// A resource with an `Id`: paging tells a new item from one already listed by it.
pub trait Identified {
    fn id(&self) -> &str;
}

macro_rules! identified {
    ($($resource:ty),*) => {$(
        impl Identified for $resource {
            fn id(&self) -> &str {
                &self.id
            }
        }
    )*};
}

identified!(
    NamedResource,
    MachineResource,
    DeploymentResource,
    TaskResource,
    MachinePolicyResource,
    TenantResource
);

/// `GET /api` (no key needed).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootResource {
    #[serde(default)]
    pub application: Option<String>,
    pub version: String,
    #[serde(default)]
    pub api_version: Option<String>,
}

/// Spaces, environments and projects: what name resolution needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedResource {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointResource {
    #[serde(default)]
    pub communication_style: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub thumbprint: Option<String>,
}

/// `DeploymentTargetResource`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineResource {
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub roles: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub environment_ids: Vec<String>,
    /// Newer servers call roles "target tags" and send them here too; either field is read.
    #[serde(default, alias = "targetTags", deserialize_with = "null_default")]
    pub target_tags: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub tenant_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub tenant_tags: Vec<String>,
    /// `Untenanted`, `TenantedOrUntenanted` or `Tenanted`; absent on servers without tenants.
    #[serde(default)]
    pub tenanted_deployment_participation: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub is_disabled: bool,
    #[serde(default)]
    pub machine_policy_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub health_status: Option<String>,
    #[serde(default)]
    pub has_latest_calamari: Option<bool>,
    #[serde(default)]
    pub thumbprint: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub endpoint: Option<EndpointResource>,
}

/// `ReleaseResource`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseResource {
    pub id: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

/// `DeploymentResource`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentResource {
    pub id: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub release_id: Option<String>,
    #[serde(default)]
    pub environment_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub specific_machine_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub excluded_machine_ids: Vec<String>,
    /// Absent (Octopus 3.x has no such field) and null both mean "not said", kept apart from [].
    #[serde(default)]
    pub deployed_to_machine_ids: Option<Vec<String>>,
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub comments: String,
    /// The tenant of a tenanted deployment; null or absent for an untenanted one.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// The body of `POST /api/{space}/deployments`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDeployment<'a> {
    pub release_id: &'a str,
    pub environment_id: &'a str,
    /// Sent only for a tenanted deployment, so untenanted bodies stay as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<&'a str>,
    pub specific_machine_ids: &'a [String],
    pub excluded_machine_ids: &'a [String],
    pub comments: &'a str,
    pub use_guided_failure: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskArguments {
    #[serde(default)]
    pub deployment_id: Option<String>,
}

/// `TaskResource`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskResource {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub state: String,
    #[serde(default)]
    pub server_node: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub arguments: TaskArguments,
    #[serde(default)]
    pub queue_time: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub completed_time: Option<String>,
}

/// One entry of `GET /api/octopusservernodes/summary`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeStatus {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub last_seen: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub is_offline: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub is_in_maintenance_mode: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub max_concurrent_tasks: u32,
    #[serde(default, deserialize_with = "null_default")]
    pub running_task_count: u32,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeSummary {
    #[serde(default, deserialize_with = "null_default")]
    pub nodes: Vec<NodeStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineCleanupPolicy {
    #[serde(default)]
    pub delete_machines_behavior: Option<String>,
    /// .NET TimeSpan: "hh:mm:ss" or "d.hh:mm:ss".
    #[serde(default)]
    pub delete_machines_elapsed_time_span: Option<String>,
}

/// `MachinePolicyResource` (the fields `doctor` looks at).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachinePolicyResource {
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub is_default: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub machine_cleanup_policy: MachineCleanupPolicy,
    #[serde(default, deserialize_with = "null_default")]
    pub machine_health_check_policy: MachineHealthCheckPolicy,
    #[serde(default, deserialize_with = "null_default")]
    pub machine_connectivity_policy: MachineConnectivityPolicy,
    #[serde(default, deserialize_with = "null_default")]
    pub machine_update_policy: MachineUpdatePolicy,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineHealthCheckPolicy {
    /// .NET TimeSpan, like the cleanup span.
    #[serde(default)]
    pub health_check_interval: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineConnectivityPolicy {
    #[serde(default)]
    pub machine_connectivity_behavior: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineUpdatePolicy {
    #[serde(default)]
    pub calamari_update_behavior: Option<String>,
}

/// `ProjectConnectivityPolicy` of a project.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectConnectivityPolicy {
    #[serde(default, deserialize_with = "null_default")]
    pub allow_deployments_to_no_targets: bool,
    #[serde(default)]
    pub skip_machine_behavior: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub target_roles: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub exclude_unhealthy_targets: bool,
}

/// `ProjectResource` (the deployment settings `doctor` looks at).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectResource {
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub project_connectivity_policy: ProjectConnectivityPolicy,
    /// `EnvironmentDefault`, `Off` or `On`.
    #[serde(default)]
    pub default_guided_failure_mode: Option<String>,
    /// `Untenanted`, `TenantedOrUntenanted` or `Tenanted`.
    #[serde(default)]
    pub tenanted_deployment_mode: Option<String>,
    /// Config-as-code: settings live in git, read at `{gitRef}/deploymentsettings`.
    #[serde(default, deserialize_with = "null_default")]
    pub is_version_controlled: bool,
    #[serde(default)]
    pub persistence_settings: Option<PersistenceSettings>,
}

/// `PersistenceSettings` of a project: `Type` is `Database` or `VersionControlled`; the latter
/// carries the repository `Url` and its `DefaultBranch`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersistenceSettings {
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// `DeploymentSettingsResource` (`/projects/{id}/{gitRef}/deploymentsettings` of a
/// version-controlled project).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentSettingsResource {
    #[serde(default, deserialize_with = "null_default")]
    pub connectivity_policy: ProjectConnectivityPolicy,
    #[serde(default)]
    pub default_guided_failure_mode: Option<String>,
}

/// `TenantResource`: `ProjectEnvironments` maps a project id to the environment ids the tenant
/// is connected to it for.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantResource {
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub tenant_tags: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub project_environments: std::collections::HashMap<String, Vec<String>>,
}

/// `EnvironmentResource` (the guided-failure default).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentResource {
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub use_guided_failure: bool,
}

/// `{ErrorMessage, Errors[]}` on failures.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub errors: Vec<String>,
}

impl ErrorBody {
    /// `ErrorMessage` plus the validation `Errors`, one line.
    pub fn summary(&self) -> Option<String> {
        let mut parts: Vec<&str> = self.error_message.iter().map(String::as_str).collect();
        parts.extend(self.errors.iter().map(String::as_str));
        let parts: Vec<&str> = parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}
