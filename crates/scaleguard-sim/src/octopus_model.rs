//! Octopus documents in the world model: targets, HA nodes, tasks, deployments, projects.

use super::world::SimTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct Machine {
    pub id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub environment_ids: Vec<String>,
    pub is_disabled: bool,
    pub machine_policy_id: String,
    pub health: Health,
    pub thumbprint: String,
    pub communication_style: String,
    /// The VM behind this target: (scale set name, instance id).
    pub vm: Option<(String, u64)>,
    pub tentacle_running: bool,
    pub created_at: SimTime,
    pub tenancy: MachineTenancy,
}

/// A target's `TenantedDeploymentParticipation`, `TenantIds` and `TenantTags`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineTenancy {
    /// `Untenanted`, `TenantedOrUntenanted` or `Tenanted`.
    pub participation: String,
    pub tenant_ids: Vec<String>,
    pub tenant_tags: Vec<String>,
}

impl Default for MachineTenancy {
    fn default() -> Self {
        Self { participation: "Untenanted".into(), tenant_ids: Vec::new(), tenant_tags: Vec::new() }
    }
}

impl MachineTenancy {
    /// Can a deployment for `tenant` (None: untenanted) include this target?
    pub fn admits(&self, tenant: Option<&Tenant>) -> bool {
        match tenant {
            None => self.participation != "Tenanted",
            Some(tenant) => {
                self.participation != "Untenanted"
                    && (self.tenant_ids.contains(&tenant.id)
                        || self.tenant_tags.iter().any(|t| tenant.tags.contains(t)))
            }
        }
    }
}

/// A tenant: its tags and the environments it is connected to each project for.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
    /// (project id, environment ids).
    pub project_environments: Vec<(String, Vec<String>)>,
}

impl Tenant {
    pub fn connected(&self, project_id: &str, environment_id: &str) -> bool {
        self.project_environments
            .iter()
            .any(|(p, envs)| p == project_id && envs.iter().any(|e| e == environment_id))
    }
}

/// Where a version-controlled (config-as-code) project keeps its settings.
#[derive(Debug, Clone)]
pub struct VersionControlled {
    pub repository: String,
    pub default_branch: String,
    /// False once someone deleted the branch: the git-backed endpoints answer 404.
    pub branch_exists: bool,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub version: String,
    pub max_concurrent_tasks: u32,
    pub is_in_maintenance_mode: bool,
    pub last_seen: SimTime,
    pub alive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Queued,
    Executing,
    Cancelling,
    Success,
    Failed,
    Canceled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Executing => "Executing",
            Self::Cancelling => "Cancelling",
            Self::Success => "Success",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
        }
    }
    pub fn is_completed(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Canceled)
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub name: String,
    pub description: String,
    pub state: TaskState,
    pub node_id: Option<String>,
    pub queue_time: SimTime,
    pub start_time: Option<SimTime>,
    pub completed_time: Option<SimTime>,
    /// When an Executing/Cancelling task finishes (if its node stays alive).
    pub finish_at: Option<SimTime>,
    pub deployment_id: Option<String>,
    pub project_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: String,
    pub release_id: String,
    pub project_id: String,
    pub environment_id: String,
    pub task_id: String,
    pub specific_machine_ids: Vec<String>,
    pub excluded_machine_ids: Vec<String>,
    pub deployed_to_machine_ids: Vec<String>,
    pub comments: String,
    pub use_guided_failure: bool,
    pub created: SimTime,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub allow_no_targets: bool,
    pub skip_unavailable: bool,
    pub exclude_unhealthy: bool,
    pub guided_failure: String,
    /// `Untenanted`, `TenantedOrUntenanted` or `Tenanted`.
    pub tenanted_mode: String,
    pub version_control: Option<VersionControlled>,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub id: String,
    pub project_id: String,
    pub version: String,
    pub assembled: SimTime,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub id: String,
    pub name: String,
    pub use_guided_failure: bool,
}

#[derive(Debug, Clone)]
pub struct MachinePolicy {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub delete_unavailable_after: Option<String>,
    /// TimeSpan, e.g. "01:00:00" (Octopus' default).
    pub health_check_interval: String,
    /// `ExpectedToBeOnline` or `MayBeOfflineAndCanBeSkipped`.
    pub connectivity_behavior: String,
    /// `UpdateOnDeployment`, `UpdateOnNewMachine` or `UpdateAlways`.
    pub calamari_update_behavior: String,
}
