//! Is the API key allowed what the profile's actions need? One harmless read per resource (a
//! 403 names the missing permission); a read-only profile needs only the view permissions, a
//! profile that may act also needs the matching write (Octopus's reconcile runbook uses a service
//! account with Environment Manager, Project Viewer and Deployment Creator; removing HA nodes needs
//! Administrator).

use super::finding::{source, Finding};
use crate::config::Profile;
use crate::model::Severity;
use crate::octopus::OctopusError;
use crate::snapshot::ReadFailure;
use serde::Serialize;

pub const MISSING: &str = "permissions.missing";
pub const KEY_REJECTED: &str = "permissions.key-rejected";

/// A read to try and what a refusal means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeSpec {
    /// API path without query: `/api/Spaces-1/machines`.
    pub path: String,
    /// The Octopus permission the read needs (`MachineView`).
    pub permission: &'static str,
    /// What scaleguard does with it, and the write permission its actions need on top.
    pub needed_for: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeOutcome {
    Allowed,
    /// 403.
    Forbidden,
    /// 401: the key itself was refused.
    Unauthorized,
    /// Anything else (unreachable, 404, 500): the permission could not be checked.
    Failed(ReadFailure),
}

impl ProbeOutcome {
    /// Sort a probe's result: 401/403 are answers about the key, the rest are failures to check.
    pub fn from_result(result: Result<(), OctopusError>, what: &str) -> Self {
        match result {
            Ok(()) => Self::Allowed,
            Err(OctopusError::Forbidden { .. }) => Self::Forbidden,
            Err(OctopusError::Unauthorized { .. }) => Self::Unauthorized,
            Err(other) => Self::Failed(ReadFailure::new(what, other.to_string())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionProbe {
    pub spec: ProbeSpec,
    pub outcome: ProbeOutcome,
}

/// The reads a profile's actions need, in the space `space_id` (pure: the gather step runs them).
pub fn probes_for(profile: &Profile, space_id: &str) -> Vec<ProbeSpec> {
    let acts = !profile.read_only;
    let and = |write: &str| if acts { format!("; {write}") } else { String::new() };
    let spec = |path: String, permission, needed_for: String| ProbeSpec { path, permission, needed_for };
    let mut probes = vec![
        spec(
            format!("/api/{space_id}/environments"),
            "EnvironmentView",
            "to find the configured environment".into(),
        ),
        spec(
            format!("/api/{space_id}/machines"),
            "MachineView",
            format!("to list the scale-set targets{}", and("deleting targets also needs MachineDelete")),
        ),
        spec(
            format!("/api/{space_id}/machinepolicies"),
            "MachinePolicyView",
            "to read the targets' machine policy".into(),
        ),
        spec(
            "/api/tasks".into(),
            "TaskView",
            format!(
                "to follow deployments and node tasks{}",
                and("cancelling a removed node's tasks also needs TaskCancel")
            ),
        ),
        spec(
            "/api/octopusservernodes/summary".into(),
            "AdministerSystem",
            format!("to show the HA nodes{}", and("draining and deleting nodes needs an Administrator")),
        ),
    ];
    if !profile.octopus.projects.is_empty() {
        probes.push(spec(
            format!("/api/{space_id}/projects"),
            "ProjectView",
            "to read the configured projects".into(),
        ));
        probes.push(spec(
            format!("/api/{space_id}/deployments"),
            "DeploymentView",
            format!(
                "to find the release deployed to the environment{}",
                and("deploying to new targets also needs DeploymentCreate")
            ),
        ));
    }
    probes
}

pub fn check(probes: &[PermissionProbe]) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(rejected) = probes.iter().find(|p| p.outcome == ProbeOutcome::Unauthorized) {
        findings.push(Finding {
            id: KEY_REJECTED,
            severity: Severity::Error,
            subject: "the Octopus API key".into(),
            observed: format!("401 Unauthorized on GET {}", rejected.spec.path),
            recommended: "a valid API key of a service account".into(),
            why: "with a rejected key nothing in Octopus can be read or changed".into(),
            fix: "create a new API key for the service account and put it in the env var octopus.api_key_env names"
                .into(),
            source: source::SERVICE_ACCOUNTS,
        });
    }
    for probe in probes.iter().filter(|p| p.outcome == ProbeOutcome::Forbidden) {
        findings.push(Finding {
            id: MISSING,
            severity: Severity::Error,
            subject: "the Octopus API key".into(),
            observed: format!(
                "403 Forbidden on GET {}: {} is missing",
                probe.spec.path, probe.spec.permission
            ),
            recommended: format!("{} ({})", probe.spec.permission, probe.spec.needed_for),
            why: format!("scaleguard needs it {}", probe.spec.needed_for),
            fix: format!(
                "give the key's service account a team role with {} in this space",
                probe.spec.permission
            ),
            source: source::PERMISSIONS,
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigFile, EXAMPLE};
    use crate::octopus::Call;

    fn profile(read_only: bool, projects: bool) -> Profile {
        let config = ConfigFile::parse(EXAMPLE, std::path::Path::new("example.toml")).unwrap();
        let mut profile = config.profile(None).unwrap().1.clone();
        profile.read_only = read_only;
        if !projects {
            profile.octopus.projects.clear();
        }
        profile
    }

    fn probe(path: &str, permission: &'static str, outcome: ProbeOutcome) -> PermissionProbe {
        PermissionProbe {
            spec: ProbeSpec { path: path.into(), permission, needed_for: "to list".into() },
            outcome,
        }
    }

    #[test]
    fn probes_follow_what_the_profile_may_do() {
        let acting = probes_for(&profile(false, true), "Spaces-1");
        let permissions: Vec<&str> = acting.iter().map(|p| p.permission).collect();
        assert_eq!(
            permissions,
            vec![
                "EnvironmentView",
                "MachineView",
                "MachinePolicyView",
                "TaskView",
                "AdministerSystem",
                "ProjectView",
                "DeploymentView"
            ]
        );
        assert!(acting[1].needed_for.contains("MachineDelete"));
        assert_eq!(acting[1].path, "/api/Spaces-1/machines");
        let read_only = probes_for(&profile(true, false), "Spaces-1");
        assert_eq!(read_only.len(), 5, "no projects: no project or deployment reads");
        assert!(read_only
            .iter()
            .all(|p| !p.needed_for.contains("Delete") && !p.needed_for.contains("Create")));
    }

    #[test]
    fn a_refused_read_names_the_missing_permission() {
        let probes = [
            probe("/api/Spaces-1/machines", "MachineView", ProbeOutcome::Allowed),
            probe("/api/octopusservernodes/summary", "AdministerSystem", ProbeOutcome::Forbidden),
        ];
        let findings = check(&probes);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, MISSING);
        assert!(findings[0].observed.contains("/api/octopusservernodes/summary"));
        assert!(findings[0].observed.contains("AdministerSystem is missing"));
    }

    #[test]
    fn a_rejected_key_is_one_finding_and_failures_are_none() {
        let failed = ProbeOutcome::Failed(ReadFailure::new("probe", "connection refused"));
        let probes = [
            probe("/api/a", "A", ProbeOutcome::Unauthorized),
            probe("/api/b", "B", ProbeOutcome::Unauthorized),
            probe("/api/c", "C", failed),
        ];
        let ids: Vec<&str> = check(&probes).iter().map(|f| f.id).collect();
        assert_eq!(ids, vec![KEY_REJECTED]);
    }

    #[test]
    fn outcomes_are_sorted_by_status() {
        let call = Call { method: "GET", path: "/api/tasks".into() };
        let forbidden = OctopusError::Forbidden { call: call.clone(), message: None };
        assert_eq!(ProbeOutcome::from_result(Err(forbidden), "x"), ProbeOutcome::Forbidden);
        let server = OctopusError::Server { call, status: 500, message: None };
        assert!(matches!(ProbeOutcome::from_result(Err(server), "x"), ProbeOutcome::Failed(_)));
        assert_eq!(ProbeOutcome::from_result(Ok(()), "x"), ProbeOutcome::Allowed);
    }
}
