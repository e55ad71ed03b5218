//! Project settings for scale-set targets (Octopus's auto-scaling guidance): deployments allowed
//! with no targets, unavailable targets skipped for the configured roles, unhealthy targets
//! excluded, guided failure on (project or environment level).

use super::finding::{source, Finding};
use crate::model::Severity;
use crate::octopus::{EnvironmentSettings, ProjectSettings};

pub const NO_TARGETS_REFUSED: &str = "project.no-targets-refused";
pub const UNAVAILABLE_NOT_SKIPPED: &str = "project.unavailable-not-skipped";
pub const UNHEALTHY_INCLUDED: &str = "project.unhealthy-included";
pub const GUIDED_FAILURE_OFF: &str = "project.guided-failure-off";

/// `environment` is None when it could not be read: `EnvironmentDefault` is then not judged.
pub fn check(
    projects: &[ProjectSettings],
    environment: Option<&EnvironmentSettings>,
    roles: &[String],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for project in projects {
        let subject = match &project.version_control {
            None => format!("project `{}`", project.name),
            Some(vc) => format!("project `{}` (settings in git, branch {})", project.name, vc.default_branch),
        };
        // A version-controlled project's settings are a file in its repository: a commit, not a
        // change in the web portal or the API.
        let fix = |portal: &str| match &project.version_control {
            None => portal.to_string(),
            Some(vc) => {
                let setting = portal.strip_prefix("Project → Settings → ").unwrap_or(portal);
                format!("commit this change to {} of {}: {setting}", vc.default_branch, vc.repository)
            }
        };
        if !project.allow_deployments_to_no_targets {
            findings.push(Finding {
                id: NO_TARGETS_REFUSED,
                severity: Severity::Error,
                subject: subject.clone(),
                observed: "deployments are refused when no target is in scope".into(),
                recommended: "allow deployments to be created when there are no deployment targets".into(),
                why: "a trigger or runbook that runs while the scale set has no registered VM fails instead \
                      of doing nothing"
                    .into(),
                fix: fix(
                    "Project → Settings → Deployment Targets Required: allow deployments with no targets",
                ),
                source: source::PROJECT_SETTINGS,
            });
        }
        if let Some(observed) = unavailable_problem(project, roles) {
            findings.push(Finding {
                id: UNAVAILABLE_NOT_SKIPPED,
                severity: Severity::Error,
                subject: subject.clone(),
                observed,
                recommended: format!("skip unavailable targets and continue, for roles {}", roles.join(", ")),
                why: "a VM removed by a scale-in while a deployment runs makes the whole deployment fail"
                    .into(),
                fix: fix(&format!(
                    "Project → Settings → Unavailable Deployment Targets: Skip and continue, roles {}",
                    roles.join(", ")
                )),
                source: source::TRANSIENT_TARGETS,
            });
        }
        if !project.exclude_unhealthy_targets {
            findings.push(Finding {
                id: UNHEALTHY_INCLUDED,
                severity: Severity::Warning,
                subject: subject.clone(),
                observed: "unhealthy targets are deployed to".into(),
                recommended: "exclude unhealthy targets".into(),
                why: "a target whose VM is gone stays registered (Unhealthy) until it is cleaned up, and a \
                      deployment to it fails"
                    .into(),
                fix: fix("Project → Settings → Unhealthy Deployment Targets: Exclude"),
                source: source::TRANSIENT_TARGETS,
            });
        }
        if let Some(observed) = guided_failure_problem(project, environment) {
            findings.push(Finding {
                id: GUIDED_FAILURE_OFF,
                severity: Severity::Warning,
                subject,
                observed,
                recommended: "guided failure on, for the project or its environment".into(),
                why: "a VM deleted mid-deployment fails a step; guided failure pauses and lets a person \
                      exclude the target instead of failing the release"
                    .into(),
                fix: fix(
                    "Project → Settings → Default Failure Mode: use guided failure (or turn it on for the \
                     environment)",
                ),
                source: source::GUIDED_FAILURES,
            });
        }
    }
    findings
}

/// What is wrong with the project's handling of unavailable scale-set targets, if anything.
fn unavailable_problem(project: &ProjectSettings, roles: &[String]) -> Option<String> {
    if !project.skips_unavailable() {
        return Some(format!(
            "unavailable targets fail the deployment (SkipMachineBehavior {})",
            project.skip_machine_behavior
        ));
    }
    // Octopus skips an unavailable target that has any of TargetRoles (all roles when empty); a
    // scale-set target has every configured role, so one shared role is enough.
    let covered = project.target_roles.is_empty()
        || roles.iter().any(|role| project.target_roles.iter().any(|r| r.eq_ignore_ascii_case(role)));
    (!covered).then(|| {
        format!(
            "unavailable targets are skipped only for roles {}, which the scale-set targets do not carry",
            project.target_roles.join(", ")
        )
    })
}

fn guided_failure_problem(
    project: &ProjectSettings,
    environment: Option<&EnvironmentSettings>,
) -> Option<String> {
    match project.default_guided_failure_mode.as_str() {
        "On" => None,
        "Off" => Some("guided failure is off for the project".into()),
        "EnvironmentDefault" => match environment {
            Some(env) if !env.use_guided_failure => Some(format!(
                "the project uses the environment default, and environment `{}` does not use guided failure",
                env.name
            )),
            _ => None,
        },
        other => Some(format!("unknown guided failure mode `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recommended() -> ProjectSettings {
        ProjectSettings {
            id: "Projects-1".into(),
            name: "Todo Web".into(),
            allow_deployments_to_no_targets: true,
            skip_machine_behavior: "SkipUnavailableMachines".into(),
            target_roles: vec!["vmss-web".into()],
            exclude_unhealthy_targets: true,
            default_guided_failure_mode: "On".into(),
            version_control: None,
        }
    }

    fn environment(guided: bool) -> EnvironmentSettings {
        EnvironmentSettings {
            id: "Environments-1".into(),
            name: "Production".into(),
            use_guided_failure: guided,
        }
    }

    fn roles() -> Vec<String> {
        vec!["vmss-web".into(), "web-server".into()]
    }

    fn ids(project: ProjectSettings, env: Option<&EnvironmentSettings>) -> Vec<&'static str> {
        check(&[project], env, &roles()).into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn recommended_settings_give_no_finding() {
        assert!(ids(recommended(), Some(&environment(false))).is_empty());
    }

    #[test]
    fn refusing_deployments_with_no_targets_is_an_error() {
        let project = ProjectSettings { allow_deployments_to_no_targets: false, ..recommended() };
        let findings = check(&[project], None, &roles());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, NO_TARGETS_REFUSED);
        assert_eq!(findings[0].severity, Severity::Error);
        assert!(findings[0].subject.contains("Todo Web"));
    }

    #[test]
    fn unavailable_targets_must_be_skipped_for_a_configured_role() {
        let not_skipped = ProjectSettings { skip_machine_behavior: "None".into(), ..recommended() };
        assert_eq!(ids(not_skipped, None), vec![UNAVAILABLE_NOT_SKIPPED]);
        let other_roles = ProjectSettings { target_roles: vec!["db".into()], ..recommended() };
        assert_eq!(ids(other_roles, None), vec![UNAVAILABLE_NOT_SKIPPED]);
        let any_role = ProjectSettings { target_roles: vec![], ..recommended() };
        assert!(ids(any_role, None).is_empty(), "no roles means every unavailable target is skipped");
        let case = ProjectSettings { target_roles: vec!["WEB-SERVER".into()], ..recommended() };
        assert!(ids(case, None).is_empty());
    }

    #[test]
    fn including_unhealthy_targets_is_a_warning() {
        let project = ProjectSettings { exclude_unhealthy_targets: false, ..recommended() };
        let findings = check(&[project], None, &roles());
        assert_eq!(
            findings.iter().map(|f| (f.id, f.severity)).collect::<Vec<_>>(),
            vec![(UNHEALTHY_INCLUDED, Severity::Warning)]
        );
    }

    #[test]
    fn guided_failure_counts_at_project_or_environment_level() {
        let off = ProjectSettings { default_guided_failure_mode: "Off".into(), ..recommended() };
        assert_eq!(ids(off, Some(&environment(true))), vec![GUIDED_FAILURE_OFF], "the project overrides");
        let inherit =
            ProjectSettings { default_guided_failure_mode: "EnvironmentDefault".into(), ..recommended() };
        assert!(ids(inherit.clone(), Some(&environment(true))).is_empty());
        assert_eq!(ids(inherit.clone(), Some(&environment(false))), vec![GUIDED_FAILURE_OFF]);
        assert!(ids(inherit, None).is_empty(), "an unread environment is not judged");
    }

    #[test]
    fn a_version_controlled_project_names_its_branch_and_is_fixed_by_a_commit() {
        let vc = crate::snapshot::VersionControl {
            repository: "https://git.example.com/acme/portal.git".into(),
            default_branch: "main".into(),
        };
        let project =
            ProjectSettings { exclude_unhealthy_targets: false, version_control: Some(vc), ..recommended() };
        let findings = check(&[project], None, &roles());
        assert_eq!(findings.len(), 1);
        assert!(findings[0].subject.contains("branch main"), "{}", findings[0].subject);
        assert_eq!(
            findings[0].fix,
            "commit this change to main of https://git.example.com/acme/portal.git: Unhealthy Deployment \
             Targets: Exclude"
        );
    }
}
