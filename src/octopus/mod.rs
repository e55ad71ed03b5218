//! Octopus Deploy REST client: `client` (HTTP, paging, retries), `wire` (what the server sends),
//! `convert` (wire → domain), `error` (typed failures that name the request).

mod client;
pub mod convert;
mod deployments;
mod error;
pub mod ids;
mod paging;
mod settings;
mod tenants;
pub mod wire;

pub use client::{OctopusClient, DEFAULT_PAGE_SIZE};
pub use deployments::TASK_IDS_PER_REQUEST;
pub use error::{Call, OctopusError};
pub use settings::{EnvironmentSettings, ProjectSettings};

use std::time::Duration;

/// A space, environment or project resolved from its configured name or id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub id: String,
    pub name: String,
}

/// What to change on an HA node; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeChange {
    /// `IsInMaintenanceMode`: true drains the node.
    pub drain: Option<bool>,
    /// `MaxConcurrentTasks`: 0 makes a UI-only node.
    pub max_concurrent_tasks: Option<u32>,
}

/// A deployment of a release to specific machines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRequest {
    pub release_id: String,
    pub environment_id: String,
    pub specific_machine_ids: Vec<String>,
    pub comments: String,
    pub use_guided_failure: bool,
    /// `TenantId` of a tenanted deployment; None for an untenanted one.
    pub tenant_id: Option<String>,
}

/// A machine policy, as far as the cleanup rule goes (for `doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachinePolicy {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    /// `DeleteMachinesBehavior = DeleteUnavailableMachines`: Octopus deletes targets on its own.
    pub deletes_unavailable_machines: bool,
    pub delete_after: Option<Duration>,
    /// `MachineHealthCheckPolicy.HealthCheckInterval`; None when absent or unparseable.
    pub health_check_interval: Option<Duration>,
    /// `MachineConnectivityPolicy.MachineConnectivityBehavior`: `ExpectedToBeOnline` or
    /// `MayBeOfflineAndCanBeSkipped` (unavailable targets do not fail health checks).
    pub connectivity_behavior: Option<String>,
    /// `MachineUpdatePolicy.CalamariUpdateBehavior`: `UpdateOnDeployment`, `UpdateOnNewMachine`,
    /// `UpdateAlways`.
    pub calamari_update_behavior: Option<String>,
}
