//! One refresh's view of everything in scope, as the planner and the console consume it.
//!
//! A read that failed is a `ReadFailure`, never an empty list: "the VMs are gone" must only ever be
//! concluded from a listing that succeeded on every page.

mod others;

pub use others::OthersObservation;

use crate::config::MatchBy;
use crate::model::Target;
use crate::model::{Deployment, Instance, Node, Release, ScaleSetKey, ScaleSetState, TenantedMode};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// What could not be read, and why (endpoint and failure kind; never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadFailure {
    /// What was being read: "scale set rg-web/vmss-web instances (page 3)", "GET /api/Spaces-1/machines".
    pub what: String,
    pub message: String,
}

impl ReadFailure {
    pub fn new(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self { what: what.into(), message: message.into() }
    }
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.message)
    }
}

impl std::error::Error for ReadFailure {}

/// A read's outcome.
pub type Observed<T> = Result<T, ReadFailure>;

/// A complete listing of one scale set: its state and every instance, all pages read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleSetListing {
    pub state: ScaleSetState,
    pub instances: Vec<Instance>,
    /// The set read again after the last page (None: not read again). A listing of a set that
    /// changed in between proves nothing about absence (`completeness`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reread: Option<ScaleSetState>,
    /// VMs the set's listing returned that report another scale set (or none): not counted as
    /// the set's VMs, and the listing proves nothing while they are there (`completeness`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignVm>,
}

/// A VM in a scale set's listing that does not belong to the set: it left the set, or the server
/// did not apply the listing's filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignVm {
    pub name: String,
    pub vm_id: Option<String>,
    /// The `virtualMachineScaleSet.id` it reports; None when it reports no scale set.
    pub reported_set: Option<String>,
}

impl fmt::Display for ForeignVm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reported_set {
            Some(set) => write!(f, "VM {} reports scale set {set}", self.name),
            None => write!(f, "VM {} reports no scale set", self.name),
        }
    }
}

/// One configured scale set and what reading it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleSetObservation {
    pub key: ScaleSetKey,
    pub match_by: MatchBy,
    pub listing: Observed<ScaleSetListing>,
    /// Azure Autoscale and the Activity Log, read beside the listing.
    #[serde(default)]
    pub others: OthersObservation,
}

/// A configured project and the release the planner would roll out to new targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    pub project_id: String,
    pub project_name: String,
    /// The release of the most recent successful deployment to the environment (Redeploy mode);
    /// None when the project was never deployed there.
    pub latest_release: Option<Release>,
    /// Deployments of `latest_release` to the environment, with their task states, newest first.
    pub deployments: Vec<Deployment>,
    /// Deployments of *other* releases to the environment, queued or executing (or in an
    /// unknown state), newer than the last success: when one finishes, the environment's
    /// release changes, so the rollout of `latest_release` waits for it.
    #[serde(default)]
    pub other_releases_in_flight: Vec<InFlightDeployment>,
    /// `TenantedDeploymentMode`: Untenanted projects (and servers without tenants) have no
    /// tenants below; a Tenanted project has no untenanted release above.
    #[serde(default)]
    pub tenanted_mode: TenantedMode,
    /// The tenants connected to the project for the environment, each with its own current
    /// release (deployment target triggers redeploy per project, environment and tenant).
    #[serde(default)]
    pub tenants: Vec<TenantState>,
    /// Where a version-controlled project's settings live; None for one kept in the database.
    #[serde(default)]
    pub version_control: Option<VersionControl>,
}

/// One tenant connected to a project for the environment, and its current release there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantState {
    pub tenant_id: String,
    pub tenant_name: String,
    /// `TenantTags` (canonical `TagSet/Tag`): a target carrying one is connected to the tenant.
    pub tenant_tags: Vec<String>,
    /// The release of this tenant's most recent successful deployment to the environment.
    pub latest_release: Option<Release>,
    /// This tenant's deployments of `latest_release` to the environment, newest first.
    pub deployments: Vec<Deployment>,
    /// This tenant's deployments of other releases in flight, newer than its last success.
    pub other_releases_in_flight: Vec<InFlightDeployment>,
}

/// A version-controlled (config-as-code) project's repository and default branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionControl {
    pub repository: String,
    pub default_branch: String,
}

/// A deployment of another release that is queued or executing, with that release's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlightDeployment {
    pub release_version: String,
    pub deployment: Deployment,
}

/// Everything one refresh saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    /// The configured environment resolved to its id.
    pub environment_id: Option<String>,
    pub scale_sets: Vec<ScaleSetObservation>,
    /// Targets in the environment carrying *all* configured roles (checked locally).
    pub targets: Observed<Vec<Target>>,
    pub projects: Observed<Vec<ProjectState>>,
    pub nodes: Observed<Vec<Node>>,
    pub server_version: Observed<String>,
}

impl Snapshot {
    /// True when every scale-set listing and the target listing succeeded.
    pub fn inventory_complete(&self) -> bool {
        self.targets.is_ok() && self.scale_sets.iter().all(|s| s.listing.is_ok())
    }

    /// Every read that failed, for display.
    pub fn failures(&self) -> Vec<&ReadFailure> {
        let mut failures: Vec<&ReadFailure> =
            self.scale_sets.iter().filter_map(|s| s.listing.as_ref().err()).collect();
        failures.extend(self.targets.as_ref().err());
        failures.extend(self.projects.as_ref().err());
        failures.extend(self.nodes.as_ref().err());
        failures.extend(self.server_version.as_ref().err());
        failures
    }
}
