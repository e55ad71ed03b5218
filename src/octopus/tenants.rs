//! Tenants and config-as-code as the project's state needs them: the project's tenanted-deployment
//! mode, where a version-controlled project keeps its settings, and each tenant connected to the
//! project for the environment with its own current release.

use super::client::{get_call, OctopusClient};
use super::error::OctopusError;
use super::ids::checked;
use super::{wire, Resolved};
use crate::model::{same_octopus_id, TenantedMode};
use crate::snapshot::{TenantState, VersionControl};

/// `TenantedDeploymentMode`; absent (a server without tenants) is Untenanted, an unknown value is
/// an error rather than a guess about who gets which release.
pub(super) fn mode_of(project: &wire::ProjectResource) -> Result<TenantedMode, OctopusError> {
    match project.tenanted_deployment_mode.as_deref() {
        None => Ok(TenantedMode::Untenanted),
        Some(raw) => TenantedMode::parse(raw).ok_or_else(|| OctopusError::BadResponse {
            call: get_call(format!("/api/projects/{}", project.id)),
            detail: format!("project {} has the unknown TenantedDeploymentMode `{raw}`", project.name),
        }),
    }
}

/// A version-controlled project's repository and default branch (None for a database project).
pub(super) fn version_control_of(project: &wire::ProjectResource) -> Option<VersionControl> {
    let settings = project.persistence_settings.as_ref();
    let typed = settings.and_then(|s| s.r#type.as_deref()).is_some_and(|t| t == "VersionControlled");
    if !(project.is_version_controlled || typed) {
        return None;
    }
    let settings = settings.cloned().unwrap_or_default();
    Some(VersionControl {
        repository: settings.url.unwrap_or_else(|| "its repository".into()),
        // Never guessed: an empty branch is reported by whoever needs it.
        default_branch: settings.default_branch.unwrap_or_default(),
    })
}

impl OctopusClient {
    /// `GET /api/{space}/tenants?projectId=` (every page), kept when connected to the project for
    /// the environment, each with its own current release there.
    pub(super) async fn tenant_states(
        &self,
        space_id: &str,
        project: &Resolved,
        environment_id: &str,
    ) -> Result<Vec<TenantState>, OctopusError> {
        let query = vec![("projectId", project.id.clone())];
        let all: Vec<wire::TenantResource> =
            self.get_all(&format!("/api/{}/tenants", checked("space", space_id)?), &query).await?;
        let mut states = Vec::new();
        for tenant in all {
            // Octopus ids in any case (a project or environment id spelled otherwise here must not
            // drop the tenant's lane: its targets would read as untenanted).
            let connected = tenant
                .project_environments
                .iter()
                .filter(|(project_id, _)| same_octopus_id(project_id, &project.id))
                .any(|(_, environments)| environments.iter().any(|e| same_octopus_id(e, environment_id)));
            if !connected {
                continue;
            }
            let lane = self.lane_state(space_id, project, environment_id, Some(&tenant.id)).await?;
            states.push(TenantState {
                tenant_id: tenant.id,
                tenant_name: tenant.name,
                tenant_tags: tenant.tenant_tags,
                latest_release: lane.latest_release,
                deployments: lane.deployments,
                other_releases_in_flight: lane.other_releases_in_flight,
            });
        }
        states.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        Ok(states)
    }
}
