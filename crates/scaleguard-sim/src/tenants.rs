//! Tenants and config-as-code in the simulator: scenario sections, the world's rules for a
//! tenanted deployment, and the Octopus documents and endpoints (`/tenants`, a project's
//! git-backed `{gitRef}/deploymentsettings`).

use super::http::{Reply, Request};
use super::octopus::error;
use super::world::{
    DeployRequest, Deployment, MachineTenancy, Project, Task, TaskState, Tenant, VersionControlled, World,
    WorldError,
};
use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

/// `[[tenants]]`: a tenant, the projects it is connected to (for the scenario's environment) and
/// the version of each it was last deployed (none: never deployed there).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSection {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub projects: Vec<String>,
    /// Project name → the version deployed successfully for this tenant at t=0.
    #[serde(default)]
    pub deployed: std::collections::BTreeMap<String, String>,
}

/// A scale set's `tenancy`: what its targets register with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenancySection {
    #[serde(default = "untenanted")]
    pub participation: String,
    /// Tenant names.
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn untenanted() -> String {
    "Untenanted".into()
}

/// A scale set without a `tenancy` table: untenanted targets, as before tenants existed.
impl Default for TenancySection {
    fn default() -> Self {
        Self { participation: untenanted(), tenants: Vec::new(), tags: Vec::new() }
    }
}

/// A project's config-as-code repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionControlSection {
    pub repository: String,
    #[serde(default = "main")]
    pub default_branch: String,
}

fn main() -> String {
    "main".into()
}

impl VersionControlSection {
    pub fn build(&self) -> VersionControlled {
        VersionControlled {
            repository: self.repository.clone(),
            default_branch: self.default_branch.clone(),
            branch_exists: true,
        }
    }
}

/// Tenants get their ids before any target registers (targets name them).
pub fn add_tenants(world: &mut World, sections: &[TenantSection]) {
    for section in sections {
        let id = world.next_id("Tenants");
        world.tenants.push(Tenant {
            id,
            name: section.name.clone(),
            tags: section.tags.clone(),
            project_environments: Vec::new(),
        });
    }
}

/// A scale set's tenancy with tenant names resolved to ids (an unknown name is kept as given,
/// which connects the targets to a tenant that does not exist: a scenario for bad input).
pub fn tenancy(world: &World, section: &TenancySection) -> MachineTenancy {
    MachineTenancy {
        participation: section.participation.clone(),
        tenant_ids: section
            .tenants
            .iter()
            .map(|name| world.tenants.iter().find(|t| &t.name == name).map_or(name.clone(), |t| t.id.clone()))
            .collect(),
        tenant_tags: section.tags.clone(),
    }
}

/// Once the projects exist: connect tenants to them and record each tenant's initial deployment
/// (successful, to the targets connected to it).
pub fn connect_and_deploy(world: &mut World, sections: &[TenantSection], environment_name: &str) {
    let environment_id = world.octopus.environment_id.clone();
    for (index, section) in sections.iter().enumerate() {
        let connections: Vec<(String, Vec<String>)> = section
            .projects
            .iter()
            .filter_map(|name| world.projects.iter().find(|p| &p.name == name))
            .map(|p| (p.id.clone(), vec![environment_id.clone()]))
            .collect();
        world.tenants[index].project_environments = connections;
        let tenant = world.tenants[index].clone();
        for (project_name, version) in &section.deployed {
            let Some(project) = world.projects.iter().find(|p| &p.name == project_name).cloned() else {
                continue;
            };
            let Some(release) =
                world.releases.iter().find(|r| r.project_id == project.id && &r.version == version).cloned()
            else {
                continue;
            };
            let reached: Vec<String> = world
                .machines
                .iter()
                .filter(|m| m.tenancy.admits(Some(&tenant)))
                .map(|m| m.id.clone())
                .collect();
            let deployment_id = world.next_id("Deployments");
            let task_id = world.next_id("ServerTasks");
            let node_id = world.nodes.first().map(|n| n.id.clone());
            world.tasks.push(Task {
                id: task_id.clone(),
                name: "Deploy".into(),
                description: format!(
                    "Deploy {} release {} to {environment_name} for {}",
                    project.name, release.version, tenant.name
                ),
                state: TaskState::Success,
                node_id,
                queue_time: -1800.0,
                start_time: Some(-1795.0),
                completed_time: Some(-1700.0),
                finish_at: None,
                deployment_id: Some(deployment_id.clone()),
                project_id: Some(project.id.clone()),
            });
            world.deployments.push(Deployment {
                id: deployment_id,
                release_id: release.id,
                project_id: project.id.clone(),
                environment_id: environment_id.clone(),
                task_id,
                specific_machine_ids: Vec::new(),
                excluded_machine_ids: Vec::new(),
                deployed_to_machine_ids: reached,
                comments: String::new(),
                use_guided_failure: true,
                created: -1800.0,
                tenant_id: Some(tenant.id.clone()),
            });
        }
    }
}

/// What Octopus refuses about a deployment's tenant (validation errors, 400).
pub fn check_deployment_tenant(
    world: &World,
    project: &Project,
    request: &DeployRequest,
) -> Result<(), WorldError> {
    match (&request.tenant_id, project.tenanted_mode.as_str()) {
        (None, "Tenanted") => Err(WorldError::Invalid(format!(
            "{} can only be deployed for tenants: specify a tenant",
            project.name
        ))),
        (None, _) => Ok(()),
        (Some(_), "Untenanted") => {
            Err(WorldError::Invalid(format!("{} does not allow tenanted deployments", project.name)))
        }
        (Some(id), _) => match world.tenants.iter().find(|t| t.id.eq_ignore_ascii_case(id)) {
            None => Err(WorldError::Invalid(format!("tenant `{id}` was not found"))),
            Some(tenant) if !tenant.connected(&project.id, &request.environment_id) => {
                Err(WorldError::Invalid(format!(
                    "tenant {} is not connected to {} for this environment",
                    tenant.name, project.name
                )))
            }
            Some(_) => Ok(()),
        },
    }
}

pub fn tenant_json(world: &World, tenant: &Tenant) -> Value {
    let space = &world.octopus.space_id;
    let project_environments: serde_json::Map<String, Value> =
        tenant.project_environments.iter().map(|(p, envs)| (p.clone(), json!(envs))).collect();
    json!({
        "Id": tenant.id, "Name": tenant.name, "Description": "", "TenantTags": tenant.tags,
        "ProjectEnvironments": project_environments, "SpaceId": space, "ClonedFromTenantId": null,
        "IsDisabled": false,
        "Links": {"Self": format!("/api/{space}/tenants/{}", tenant.id)},
    })
}

/// The project's tenanted mode and persistence settings, merged into its document.
pub fn project_fields(world: &World, project: &Project, document: &mut Value) {
    let space = &world.octopus.space_id;
    document["TenantedDeploymentMode"] = json!(project.tenanted_mode);
    match &project.version_control {
        None => {
            document["IsVersionControlled"] = json!(false);
            document["PersistenceSettings"] = json!({"Type": "Database"});
        }
        Some(vc) => {
            document["IsVersionControlled"] = json!(true);
            document["PersistenceSettings"] = json!({
                "Type": "VersionControlled", "Url": vc.repository, "DefaultBranch": vc.default_branch,
                "BasePath": ".octopus", "Credentials": {"Type": "Anonymous"}, "ProtectedBranchNamePatterns": [],
            });
            // In git, not in the database: the project document no longer carries them.
            if let Some(object) = document.as_object_mut() {
                object.remove("ProjectConnectivityPolicy");
                object.remove("DefaultGuidedFailureMode");
            }
            document["Links"]["DeploymentSettings"] =
                json!(format!("/api/{space}/projects/{}/{{gitRef}}/deploymentsettings", project.id));
        }
    }
}

fn deployment_settings(world: &World, project: &Project) -> Value {
    json!({
        "Id": format!("deploymentsettings-{}", project.id), "ProjectId": project.id,
        "SpaceId": world.octopus.space_id,
        "ConnectivityPolicy": {
            "AllowDeploymentsToNoTargets": project.allow_no_targets,
            "SkipMachineBehavior": if project.skip_unavailable { "SkipUnavailableMachines" } else { "None" },
            "ExcludeUnhealthyTargets": project.exclude_unhealthy,
            "TargetRoles": project.roles,
        },
        "DefaultGuidedFailureMode": project.guided_failure,
        "DefaultToSkipIfAlreadyInstalled": false, "ReleaseNotesTemplate": null,
        "VersioningStrategy": {"Template": "#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}"},
        "Links": {},
    })
}

/// `GET /api/{space}/tenants` (filter `projectId`), `GET /api/{space}/tenants/{id}` and
/// `GET /api/{space}/projects/{id}/{gitRef}/deploymentsettings`; None when the path is not one.
pub fn handle(
    world: &World,
    request: &Request,
    parts: &[&str],
    rest: &[&str],
    list: impl Fn(Vec<Value>) -> Reply,
) -> Option<Reply> {
    if request.method != Method::GET {
        return None;
    }
    match parts {
        ["tenants"] | ["tenants", "all"] => {
            let project = request.param("projectId");
            let items = world
                .tenants
                .iter()
                .filter(|t| {
                    project.is_none_or(|p| {
                        t.project_environments.iter().any(|(id, _)| id.eq_ignore_ascii_case(p))
                    })
                })
                .map(|t| tenant_json(world, t))
                .collect();
            Some(list(items))
        }
        ["tenants", id] => Some(match world.tenants.iter().find(|t| t.id.eq_ignore_ascii_case(id)) {
            Some(tenant) => Reply::ok(tenant_json(world, tenant)),
            None => error(StatusCode::NOT_FOUND, &format!("The resource '{id}' was not found.")),
        }),
        ["projects", id, middle @ .., "deploymentsettings"] if !middle.is_empty() => {
            let Some(project) = world.projects.iter().find(|p| p.id.eq_ignore_ascii_case(id)) else {
                return Some(error(StatusCode::NOT_FOUND, &format!("The resource '{id}' was not found.")));
            };
            // The branch as sent (case kept), `/` possibly encoded.
            let git_ref = rest[2..rest.len() - 1].join("/").replace("%2F", "/").replace("%2f", "/");
            let wanted = git_ref.strip_prefix("refs/heads/").unwrap_or(&git_ref).to_string();
            Some(match &project.version_control {
                None => {
                    error(StatusCode::BAD_REQUEST, &format!("{} is not version controlled", project.name))
                }
                Some(vc) if vc.branch_exists && vc.default_branch == wanted => {
                    Reply::ok(deployment_settings(world, project))
                }
                Some(_) => error(StatusCode::NOT_FOUND, &format!("The branch '{git_ref}' was not found.")),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::scenario;

    /// A scale set without a `tenancy` table registers untenanted targets (an empty participation
    /// reads as unknown, which keeps them out of every untenanted deployment).
    #[test]
    fn sets_without_tenancy_register_untenanted_targets() {
        for name in scenario::names() {
            let world = scenario::load(name).unwrap().build(1);
            for set in &world.scale_sets {
                assert!(!set.tenancy.participation.is_empty(), "{name}: {}", set.name);
            }
            if name != "tenants" {
                assert!(world.machines.iter().all(|m| m.tenancy.participation == "Untenanted"), "{name}");
            }
        }
        let world = scenario::load("tenants").unwrap().build(1);
        let acme = world.tenants.iter().find(|t| t.name == "Acme").unwrap();
        let web = world.machines.iter().filter(|m| m.vm.as_ref().is_some_and(|vm| vm.0 == "vmss-web"));
        assert!(
            web.clone().count() == 2 && web.into_iter().all(|m| m.tenancy.tenant_ids == [acme.id.clone()])
        );
    }
}
