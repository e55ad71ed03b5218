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
