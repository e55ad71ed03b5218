//! Project and environment settings (for `doctor`), and a harmless read used to probe permissions.

use super::client::{get_call, OctopusClient};
use super::error::OctopusError;
use super::ids::checked;
use super::{wire, Resolved};
use crate::snapshot::VersionControl;
use serde::Serialize;

/// The deployment settings of a project that matter when targets come and go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectSettings {
    pub id: String,
    pub name: String,
    /// "Deployment Targets Required": false refuses a deployment when no target is in scope.
    pub allow_deployments_to_no_targets: bool,
    /// `None` or `SkipUnavailableMachines`.
    pub skip_machine_behavior: String,
    /// Roles whose unavailable targets may be skipped; empty means any role.
    pub target_roles: Vec<String>,
    pub exclude_unhealthy_targets: bool,
    /// `EnvironmentDefault`, `Off` or `On`.
    pub default_guided_failure_mode: String,
    /// A version-controlled project's repository and the branch the settings were read from:
    /// a fix is a commit there, not an API call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_control: Option<VersionControl>,
}

impl ProjectSettings {
    pub fn skips_unavailable(&self) -> bool {
        self.skip_machine_behavior.eq_ignore_ascii_case("SkipUnavailableMachines")
    }
}

/// The environment's default for guided failure (used when a project says `EnvironmentDefault`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvironmentSettings {
    pub id: String,
    pub name: String,
    pub use_guided_failure: bool,
}

impl OctopusClient {
    /// `GET /api/{space}/projects/{id}`: the project's connectivity policy and guided-failure mode;
    /// for a version-controlled project they are read from git, on its default branch
    /// (`/api/{space}/projects/{id}/{branch}/deploymentsettings`).
    pub async fn project_settings(
        &self,
        space_id: &str,
        project: &Resolved,
    ) -> Result<ProjectSettings, OctopusError> {
        let (space_id, project_id) = (checked("space", space_id)?, checked("project", &project.id)?);
        let call = get_call(format!("/api/{space_id}/projects/{project_id}"));
        let mut raw: wire::ProjectResource = self.get(call, &Vec::new()).await?;
        let version_control = super::tenants::version_control_of(&raw);
        if let Some(vc) = &version_control {
            if vc.default_branch.is_empty() {
                return Err(OctopusError::BadResponse {
                    call: get_call(format!("/api/{space_id}/projects/{project_id}")),
                    detail: format!(
                        "project {} keeps its settings in git but names no default branch",
                        raw.name
                    ),
                });
            }
            // A branch may hold `/` (`release/2.x`): one path segment, encoded.
            let branch: String = url::form_urlencoded::byte_serialize(vc.default_branch.as_bytes()).collect();
            let call = get_call(format!("/api/{space_id}/projects/{project_id}/{branch}/deploymentsettings"));
            let settings: wire::DeploymentSettingsResource =
                self.get(call.clone(), &Vec::new()).await.map_err(|err| match err {
                    OctopusError::NotFound { .. } => OctopusError::BadResponse {
                        call,
                        detail: format!(
                            "project {} keeps its settings in git, and its default branch `{}` of {} was not \
                             found (deleted or renamed?): fix the project's version control settings",
                            raw.name, vc.default_branch, vc.repository
                        ),
                    },
                    other => other,
                })?;
            raw.project_connectivity_policy = settings.connectivity_policy;
            raw.default_guided_failure_mode = settings.default_guided_failure_mode;
        }
        let policy = raw.project_connectivity_policy;
        Ok(ProjectSettings {
            version_control,
            id: raw.id,
            name: raw.name,
            allow_deployments_to_no_targets: policy.allow_deployments_to_no_targets,
            skip_machine_behavior: policy.skip_machine_behavior.unwrap_or_else(|| "None".into()),
            target_roles: policy.target_roles,
            exclude_unhealthy_targets: policy.exclude_unhealthy_targets,
            default_guided_failure_mode: raw
                .default_guided_failure_mode
                .unwrap_or_else(|| "EnvironmentDefault".into()),
        })
    }

    /// `GET /api/{space}/environments/{id}`: whether guided failure is on by default there.
    pub async fn environment_settings(
        &self,
        space_id: &str,
        environment: &Resolved,
    ) -> Result<EnvironmentSettings, OctopusError> {
        let (space_id, environment_id) =
            (checked("space", space_id)?, checked("environment", &environment.id)?);
        let call = get_call(format!("/api/{space_id}/environments/{environment_id}"));
        let raw: wire::EnvironmentResource = self.get(call, &Vec::new()).await?;
        Ok(EnvironmentSettings { id: raw.id, name: raw.name, use_guided_failure: raw.use_guided_failure })
    }

    /// One harmless GET of `path` (`/api/Spaces-1/machines`), asking for one item: Ok when the key
    /// may read it. Collections get `take=1`; the body is not interpreted beyond being JSON.
    pub async fn probe_read(&self, path: &str) -> Result<(), OctopusError> {
        let call = get_call(path.to_string());
        let query = vec![("take", "1".to_string())];
        self.get::<serde_json::Value>(call, &query).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::super::convert;
    use super::*;
    use std::time::Duration;

    #[test]
    fn machine_policy_settings_are_read_and_missing_ones_stay_unknown() {
        let raw: wire::MachinePolicyResource = serde_json::from_str(
            r#"{"Id":"MachinePolicies-2","Name":"VMSS","IsDefault":false,
                "MachineHealthCheckPolicy":{"HealthCheckInterval":"00:10:00","HealthCheckType":"RunScript"},
                "MachineConnectivityPolicy":{"MachineConnectivityBehavior":"MayBeOfflineAndCanBeSkipped"},
                "MachineUpdatePolicy":{"CalamariUpdateBehavior":"UpdateAlways"},
                "MachineCleanupPolicy":{"DeleteMachinesBehavior":"DeleteUnavailableMachines","DeleteMachinesElapsedTimeSpan":"00:15:00"}}"#,
        )
        .unwrap();
        let policy = convert::machine_policy(raw);
        assert_eq!(policy.health_check_interval, Some(Duration::from_secs(600)));
        assert_eq!(policy.connectivity_behavior.as_deref(), Some("MayBeOfflineAndCanBeSkipped"));
        assert_eq!(policy.calamari_update_behavior.as_deref(), Some("UpdateAlways"));
        assert_eq!(policy.delete_after, Some(Duration::from_secs(900)));
        let bare: wire::MachinePolicyResource = serde_json::from_str(
            r#"{"Id":"MachinePolicies-1","Name":"Default","MachineHealthCheckPolicy":null}"#,
        )
        .unwrap();
        let policy = convert::machine_policy(bare);
        assert_eq!((policy.health_check_interval, policy.connectivity_behavior), (None, None));
    }

    #[test]
    fn project_connectivity_policy_tolerates_nulls() {
        let raw: wire::ProjectResource = serde_json::from_str(
            r#"{"Id":"Projects-1","Name":"Todo Web","DefaultGuidedFailureMode":null,
                "ProjectConnectivityPolicy":{"AllowDeploymentsToNoTargets":true,"SkipMachineBehavior":"SkipUnavailableMachines","TargetRoles":null,"ExcludeUnhealthyTargets":null}}"#,
        )
        .unwrap();
        assert!(raw.project_connectivity_policy.allow_deployments_to_no_targets);
        assert!(raw.project_connectivity_policy.target_roles.is_empty());
        assert!(!raw.project_connectivity_policy.exclude_unhealthy_targets);
        assert!(raw.default_guided_failure_mode.is_none());
    }
}
