//! Projects, releases and deployments: the state the planner rolls out from, the deployments of
//! one release (read back after a POST), and the POST itself.

use super::client::{get_call, parse, OctopusClient, Query};
use super::error::{Call, OctopusError};
use super::ids::{checked, is_octopus_id};
use super::wire;
use super::{convert, DeploymentRequest, Resolved};
use crate::model::{same_octopus_id, same_optional_octopus_id, Deployment, Release, TaskState};
use crate::snapshot::{InFlightDeployment, ProjectState};
use reqwest::Method;
use std::collections::HashMap;

/// Task ids asked for in one `GET /api/tasks?ids=…`: about 2 KB of query string, well inside what
/// servers and proxies accept in a URL.
pub const TASK_IDS_PER_REQUEST: usize = 100;

/// Task states read in batches, by task id (lower-cased: Octopus ids are not case-sensitive).
/// A state is judged only when asked for, so a task never asked about cannot fail a read.
#[derive(Default)]
struct TaskStates {
    read: HashMap<String, (Call, String)>,
}

impl TaskStates {
    /// The state of `task_id`: from the batch, or, for a task the batch did not return, its own
    /// `GET /api/tasks/{id}` (which fails as it always did when the task is gone).
    async fn state(&self, client: &OctopusClient, task_id: &str) -> Result<TaskState, OctopusError> {
        match self.read.get(&task_id.to_ascii_lowercase()) {
            Some((call, state)) => TaskState::parse(state).ok_or_else(|| OctopusError::BadResponse {
                call: call.clone(),
                detail: format!("unknown state `{state}` of task {task_id}"),
            }),
            None => Ok(client.task(task_id).await?.state),
        }
    }
}

/// One lane's current release: for the untenanted deployments (`tenant` None) or one tenant's.
pub(super) struct LaneState {
    pub latest_release: Option<Release>,
    pub deployments: Vec<Deployment>,
    pub other_releases_in_flight: Vec<InFlightDeployment>,
}

impl OctopusClient {
    /// The project's tenanted-deployment mode and where its settings live, its untenanted current
    /// release (when the mode has untenanted deployments) and each connected tenant's.
    pub async fn project_state(
        &self,
        space_id: &str,
        project: &Resolved,
        environment_id: &str,
    ) -> Result<ProjectState, OctopusError> {
        let (space_id, project_id) = (checked("space", space_id)?, checked("project", &project.id)?);
        let call = get_call(format!("/api/{space_id}/projects/{project_id}"));
        let resource: wire::ProjectResource = self.get(call, &Vec::new()).await?;
        let tenanted_mode = super::tenants::mode_of(&resource)?;
        let version_control = super::tenants::version_control_of(&resource);
        let untenanted = if tenanted_mode.allows_untenanted() {
            self.lane_state(space_id, project, environment_id, None).await?
        } else {
            LaneState { latest_release: None, deployments: Vec::new(), other_releases_in_flight: Vec::new() }
        };
        let tenants = if tenanted_mode.allows_tenanted() {
            self.tenant_states(space_id, project, environment_id).await?
        } else {
            Vec::new()
        };
        Ok(ProjectState {
            project_id: project.id.clone(),
            project_name: project.name.clone(),
            latest_release: untenanted.latest_release,
            deployments: untenanted.deployments,
            other_releases_in_flight: untenanted.other_releases_in_flight,
            tenanted_mode,
            tenants,
            version_control,
        })
    }

    /// The release of the most recent successful deployment of `project` to the environment for
    /// `tenant` (None: an untenanted one), and the deployments of that release to it for the same
    /// tenant (newest first) with their task states.
    ///
    /// Reads the project's deployments to the environment (for that tenant), puts them in order
    /// itself (newest `Created` first, then the id's number: a server that lists them in another
    /// order must not make an old release look current), then walks them until one succeeded,
    /// reading the task states of each `TASK_IDS_PER_REQUEST` deployments in one batch: task reads
    /// grow with batches of deployments since the last success, not with deployments or targets.
    pub(super) async fn lane_state(
        &self,
        space_id: &str,
        project: &Resolved,
        environment_id: &str,
        tenant: Option<&str>,
    ) -> Result<LaneState, OctopusError> {
        let space_id = checked("space", space_id)?;
        let path = format!("/api/{space_id}/deployments");
        let mut query: Query =
            vec![("projects", project.id.clone()), ("environments", environment_id.to_string())];
        query.extend(tenant.map(|t| ("tenants", t.to_string())));
        let listed: Vec<wire::DeploymentResource> = self.get_all(&path, &query).await?;
        let mut ours = Vec::new();
        for deployment in listed {
            let mine = deployment.project_id.as_deref().is_none_or(|p| same_octopus_id(p, &project.id))
                && deployment.environment_id.as_deref().is_none_or(|e| same_octopus_id(e, environment_id))
                && same_tenant(&deployment, tenant);
            if !mine {
                continue;
            }
            let Some(created) = convert::timestamp(deployment.created.as_deref()) else {
                return Err(OctopusError::BadResponse {
                    call: get_call(path),
                    detail: format!(
                        "{} has no readable Created time, so which deployment is the newest cannot be told",
                        deployment.id
                    ),
                });
            };
            ours.push((created, deployment));
        }
        // Newest first; ids break ties (and are unique, so the order is total).
        ours.sort_by(|(a_at, a), (b_at, b)| {
            (b_at, id_number(&b.id), &b.id).cmp(&(a_at, id_number(&a.id), &a.id))
        });
        let mut seen: Vec<(wire::DeploymentResource, Option<TaskState>)> = Vec::new();
        let mut release_id = None;
        let mut states = TaskStates::default();
        'batches: for batch in ours.chunks(TASK_IDS_PER_REQUEST) {
            // The batch's task states in one request (the walk usually stops in the first batch;
            // the states read past its end serve the release's deployments below).
            self.read_task_states(&mut states, batch.iter().map(|(_, d)| d)).await?;
            for (_, deployment) in batch {
                let state = match &deployment.task_id {
                    Some(task_id) => Some(states.state(self, task_id).await?),
                    None => None,
                };
                let release = deployment.release_id.clone();
                seen.push((deployment.clone(), state));
                if state == Some(TaskState::Success) {
                    release_id = release;
                    break 'batches;
                }
            }
        }
        let other_releases_in_flight = self.in_flight(space_id, &seen, release_id.as_deref()).await?;
        let Some(release_id) = release_id else {
            return Ok(LaneState { latest_release: None, deployments: Vec::new(), other_releases_in_flight });
        };
        let release_path = format!("/api/{space_id}/releases/{}", checked("release", &release_id)?);
        let release: wire::ReleaseResource = self.get(get_call(release_path), &Vec::new()).await?;
        // Every deployment of that release to the environment, not only the ones newer than its
        // last success: the targets an older deployment reached have the release too, and
        // missing them would redeploy to every pre-existing target after each scale-out.
        let known: HashMap<String, Option<TaskState>> =
            seen.into_iter().map(|(d, state)| (d.id.clone(), state)).collect();
        let deployments = self
            .release_deployments_with(space_id, &release_id, environment_id, tenant, known, states)
            .await?;
        Ok(LaneState {
            latest_release: Some(convert::release(release, &project.id)),
            deployments,
            other_releases_in_flight,
        })
    }

    /// Of the deployments walked (newer than the last success), those of another release that
    /// are queued or running, or whose state is unknown, with their release's version.
    async fn in_flight(
        &self,
        space_id: &str,
        seen: &[(wire::DeploymentResource, Option<TaskState>)],
        current: Option<&str>,
    ) -> Result<Vec<InFlightDeployment>, OctopusError> {
        let mut versions: HashMap<String, String> = HashMap::new();
        let mut out = Vec::new();
        for (deployment, state) in seen {
            let release_id = deployment.release_id.clone().unwrap_or_default();
            if Some(release_id.as_str()) == current || state.is_some_and(|s| !s.is_active()) {
                continue;
            }
            if !versions.contains_key(&release_id) && !release_id.is_empty() {
                let call = get_call(format!("/api/{space_id}/releases/{}", checked("release", &release_id)?));
                let release: wire::ReleaseResource = self.get(call, &Vec::new()).await?;
                versions.insert(release_id.clone(), release.version.unwrap_or_else(|| release_id.clone()));
            }
            let release_version =
                versions.get(&release_id).cloned().unwrap_or_else(|| "an unknown release".into());
            out.push(InFlightDeployment {
                release_version,
                deployment: convert::deployment(deployment.clone(), *state),
            });
        }
        Ok(out)
    }

    /// The deployments of one release to the environment for `tenant` (None: untenanted ones)
    /// with their task states (`known` saves reading a task again), newest first.
    pub async fn release_deployments(
        &self,
        space_id: &str,
        release_id: &str,
        environment_id: &str,
        tenant: Option<&str>,
        known: HashMap<String, Option<TaskState>>,
    ) -> Result<Vec<Deployment>, OctopusError> {
        self.release_deployments_with(
            space_id,
            release_id,
            environment_id,
            tenant,
            known,
            TaskStates::default(),
        )
        .await
    }

    /// [`Self::release_deployments`] with task states already read (`states`), read again only
    /// for tasks it lacks.
    async fn release_deployments_with(
        &self,
        space_id: &str,
        release_id: &str,
        environment_id: &str,
        tenant: Option<&str>,
        mut known: HashMap<String, Option<TaskState>>,
        mut states: TaskStates,
    ) -> Result<Vec<Deployment>, OctopusError> {
        let (space_id, release_id) = (checked("space", space_id)?, checked("release", release_id)?);
        let all: Vec<wire::DeploymentResource> =
            self.get_all(&format!("/api/{space_id}/releases/{release_id}/deployments"), &Vec::new()).await?;
        let ours: Vec<wire::DeploymentResource> = all
            .into_iter()
            .filter(|deployment| {
                deployment.release_id.as_deref().is_none_or(|r| same_octopus_id(r, release_id))
                    && deployment.environment_id.as_deref().is_none_or(|e| same_octopus_id(e, environment_id))
                    && same_tenant(deployment, tenant)
            })
            .collect();
        // Every task not already read, in batches: requests grow with pages, not deployments.
        self.read_task_states(&mut states, ours.iter().filter(|d| !known.contains_key(&d.id))).await?;
        let mut deployments = Vec::new();
        for deployment in ours {
            let state = match (known.remove(&deployment.id), &deployment.task_id) {
                (Some(known), _) => known,
                (None, Some(task_id)) => Some(states.state(self, task_id).await?),
                (None, None) => None,
            };
            deployments.push(convert::deployment(deployment, state));
        }
        Ok(deployments)
    }

    /// Reads into `states` the states of the deployments' tasks it lacks: `GET /api/tasks?ids=…`
    /// (every page) for each `TASK_IDS_PER_REQUEST` distinct ids.
    async fn read_task_states<'d>(
        &self,
        states: &mut TaskStates,
        deployments: impl Iterator<Item = &'d wire::DeploymentResource>,
    ) -> Result<(), OctopusError> {
        // An id not shaped like one stays out of the query (a comma would split it); asked for
        // alone, it is refused by name as before.
        let mut ids: Vec<&str> = deployments
            .filter_map(|d| d.task_id.as_deref())
            .filter(|id| is_octopus_id(id) && !states.read.contains_key(&id.to_ascii_lowercase()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for batch in ids.chunks(TASK_IDS_PER_REQUEST) {
            let query: Query = vec![("ids", batch.join(","))];
            let tasks: Vec<wire::TaskResource> = self.get_all("/api/tasks", &query).await?;
            let call = get_call("/api/tasks".into());
            // Only what was asked: a server that ignores `ids` must not fill memory with its log.
            let asked: std::collections::HashSet<String> =
                batch.iter().map(|id| id.to_ascii_lowercase()).collect();
            for task in tasks {
                let id = task.id.to_ascii_lowercase();
                if asked.contains(&id) {
                    states.read.insert(id, (call.clone(), task.state));
                }
            }
        }
        Ok(())
    }

    /// `POST /api/{space}/deployments` with SpecificMachineIds; 201 → the deployment with its TaskId.
    pub async fn create_deployment(
        &self,
        space_id: &str,
        request: &DeploymentRequest,
    ) -> Result<Deployment, OctopusError> {
        let call = Call { method: "POST", path: format!("/api/{}/deployments", checked("space", space_id)?) };
        let body = serde_json::to_value(wire::CreateDeployment {
            release_id: &request.release_id,
            environment_id: &request.environment_id,
            tenant_id: request.tenant_id.as_deref(),
            specific_machine_ids: &request.specific_machine_ids,
            excluded_machine_ids: &[],
            comments: &request.comments,
            use_guided_failure: request.use_guided_failure,
        })
        .map_err(|err| OctopusError::Config(format!("cannot encode the deployment: {err}")))?;
        let (_, bytes) = self.send(Method::POST, call.clone(), &Vec::new(), Some(&body)).await?;
        let created: wire::DeploymentResource = parse(&call, &bytes)?;
        if created.task_id.is_none() {
            return Err(OctopusError::BadResponse {
                call,
                detail: "the created deployment has no TaskId".into(),
            });
        }
        Ok(convert::deployment(created, Some(TaskState::Queued)))
    }
}

/// The number in an id (`Deployments-1005` → 1005), for ordering ids of one kind.
fn id_number(id: &str) -> u64 {
    id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Is the deployment for `tenant` (None: untenanted; an empty `TenantId` is untenanted too)?
fn same_tenant(deployment: &wire::DeploymentResource, tenant: Option<&str>) -> bool {
    same_optional_octopus_id(deployment.tenant_id.as_deref().filter(|t| !t.is_empty()), tenant)
}
