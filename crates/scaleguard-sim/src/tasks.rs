//! The Octopus side of the world: HA node heartbeats, the task queue, deployments,
//! scheduled scenario events and chaos.

use super::faults::FaultSpec;
use super::scenario::EventAction;
use super::world::{
    Deployment, Health, SimTime, Task, TaskState, World, WorldEffect, WorldError, NODE_OFFLINE_AFTER_SECS,
};
use rand::RngExt;

/// A dead node's stuck tasks are cancelled by another node after 60 minutes (Octopus's "Auto Scaling
/// High Availability Nodes").
const STUCK_TASK_REAPER_SECS: f64 = 3600.0;
/// A live node finishes cancelling a task this fast.
const CANCEL_SECS: f64 = 2.0;

/// What a deploy request asks for (POST /api/{space}/deployments).
#[derive(Debug, Clone, Default)]
pub struct DeployRequest {
    pub release_id: String,
    pub environment_id: String,
    pub specific_machine_ids: Vec<String>,
    pub excluded_machine_ids: Vec<String>,
    pub comments: String,
    pub use_guided_failure: bool,
    /// `TenantId`: a tenanted deployment reaches only targets connected to that tenant.
    pub tenant_id: Option<String>,
}

impl World {
    pub fn node_is_offline(&self, last_seen: SimTime) -> bool {
        self.now - last_seen > NODE_OFFLINE_AFTER_SECS
    }

    pub fn running_task_count(&self, node_id: &str) -> usize {
        self.tasks
            .iter()
            .filter(|t| {
                matches!(t.state, TaskState::Executing | TaskState::Cancelling)
                    && t.node_id.as_deref() == Some(node_id)
            })
            .count()
    }

    pub(super) fn step_nodes(&mut self) {
        let now = self.now;
        let every = self.tunables.heartbeat_secs;
        for node in self.nodes.iter_mut().filter(|node| node.alive) {
            if now - node.last_seen >= every {
                node.last_seen = now;
            }
        }
    }

    /// Queue a task with no deployment (health checks and the like) for a busy cluster.
    pub fn queue_background_task(&mut self) -> String {
        let id = self.next_id("ServerTasks");
        let (name, description) = if self.rng.random_bool(0.5) {
            ("Health", "Check deployment target health")
        } else {
            ("AdHocScript", "Run a script on targets")
        };
        self.tasks.push(Task {
            id: id.clone(),
            name: name.into(),
            description: description.into(),
            state: TaskState::Queued,
            node_id: None,
            queue_time: self.now,
            start_time: None,
            completed_time: None,
            finish_at: None,
            deployment_id: None,
            project_id: None,
        });
        id
    }

    pub(super) fn step_background_tasks(&mut self) {
        let per_minute = self.tunables.background_tasks_per_minute;
        if per_minute <= 0.0 || self.now < self.next_background_task_at {
            return;
        }
        self.queue_background_task();
        self.next_background_task_at = self.now + 60.0 / per_minute;
    }

    pub(super) fn step_tasks(&mut self) {
        let now = self.now;
        // Finish running tasks whose node is alive; a dead node's tasks hang (like the real thing)
        // until the reaper, or until cancelled once the node is offline.
        for index in 0..self.tasks.len() {
            let task = &self.tasks[index];
            if !matches!(task.state, TaskState::Executing | TaskState::Cancelling) {
                continue;
            }
            let node = task.node_id.as_ref().and_then(|id| self.nodes.iter().find(|n| &n.id == id));
            let (alive, last_seen) = node.map_or((false, f64::MIN), |n| (n.alive, n.last_seen));
            let due = task.finish_at.is_some_and(|at| at <= now);
            let next = if alive && due {
                Some(if task.state == TaskState::Cancelling {
                    TaskState::Canceled
                } else {
                    TaskState::Success
                })
            } else if !alive
                && ((task.state == TaskState::Cancelling && self.node_is_offline(last_seen))
                    || now - last_seen > STUCK_TASK_REAPER_SECS)
            {
                Some(TaskState::Canceled)
            } else {
                None
            };
            if let Some(state) = next {
                self.complete_task(index, state);
            }
        }
        // Hand queued tasks, oldest first, to live, non-draining nodes with spare capacity. Like
        // Octopus, run one task per concurrency tag (project/environment) at a time: a later
        // deployment of the same project to the same environment waits in the queue.
        let mut busy_tags: Vec<String> = (0..self.tasks.len())
            .filter(|&i| matches!(self.tasks[i].state, TaskState::Executing | TaskState::Cancelling))
            .filter_map(|i| self.concurrency_tag(&self.tasks[i]))
            .collect();
        let mut queued: Vec<usize> =
            (0..self.tasks.len()).filter(|&i| self.tasks[i].state == TaskState::Queued).collect();
        queued.sort_by(|&a, &b| self.tasks[a].queue_time.total_cmp(&self.tasks[b].queue_time));
        for index in queued {
            let tag = self.concurrency_tag(&self.tasks[index]);
            if tag.as_ref().is_some_and(|tag| busy_tags.contains(tag)) {
                continue;
            }
            let free_node = self
                .nodes
                .iter()
                .filter(|n| n.alive && !n.is_in_maintenance_mode)
                .map(|n| (n.id.clone(), n.max_concurrent_tasks as usize))
                .find(|(id, cap)| self.running_task_count(id) < *cap);
            let Some((node_id, _)) = free_node else { break };
            let duration = self.uniform_secs(self.tunables.task_secs);
            busy_tags.extend(tag);
            let task = &mut self.tasks[index];
            task.state = TaskState::Executing;
            task.node_id = Some(node_id);
            task.start_time = Some(now);
            task.finish_at = Some(now + duration);
        }
    }

    /// `Octopus.Task.ConcurrencyTag`'s default for an untenanted deployment:
    /// `{ProjectId}/{EnvironmentId}`. Tasks without a deployment run concurrently.
    fn concurrency_tag(&self, task: &Task) -> Option<String> {
        let deployment_id = task.deployment_id.as_ref()?;
        let deployment = self.deployments.iter().find(|d| &d.id == deployment_id)?;
        Some(format!("{}/{}", deployment.project_id, deployment.environment_id))
    }

    fn uniform_secs(&mut self, (low, high): (f64, f64)) -> f64 {
        if high > low {
            self.rng.random_range(low..high)
        } else {
            low
        }
    }

    fn complete_task(&mut self, index: usize, state: TaskState) {
        let now = self.now;
        let task = &mut self.tasks[index];
        task.state = state;
        task.completed_time = Some(now);
        task.finish_at = None;
        let Some(deployment_id) = task.deployment_id.clone() else { return };
        if state != TaskState::Success {
            return;
        }
        let Some(deployment) = self.deployments.iter().find(|d| d.id == deployment_id).cloned() else {
            return;
        };
        let reached = self.deployment_targets(&deployment);
        // A named target that cannot be reached fails the deployment unless the project skips
        // unavailable targets (the setting the seed documents recommend).
        let skips =
            self.projects.iter().find(|p| p.id == deployment.project_id).is_some_and(|p| p.skip_unavailable);
        let unreachable = deployment.specific_machine_ids.iter().any(|id| !reached.contains(id));
        if unreachable && !skips {
            self.tasks[index].state = TaskState::Failed;
        }
        if let Some(d) = self.deployments.iter_mut().find(|d| d.id == deployment_id) {
            d.deployed_to_machine_ids = reached;
        }
    }

    /// The healthy targets a deployment reaches: the specific ones, or every in-environment
    /// target carrying one of the project's roles, minus the excluded ones.
    pub fn deployment_targets(&self, deployment: &Deployment) -> Vec<String> {
        let roles = self
            .projects
            .iter()
            .find(|p| p.id == deployment.project_id)
            .map(|p| p.roles.clone())
            .unwrap_or_default();
        let tenant = deployment.tenant_id.as_ref().and_then(|id| self.tenants.iter().find(|t| &t.id == id));
        self.machines
            .iter()
            .filter(|m| m.health == Health::Healthy && !m.is_disabled)
            .filter(|m| m.tenancy.admits(tenant))
            .filter(|m| !deployment.excluded_machine_ids.contains(&m.id))
            .filter(|m| {
                if deployment.specific_machine_ids.is_empty() {
                    m.environment_ids.contains(&deployment.environment_id)
                        && m.roles.iter().any(|r| roles.contains(r))
                } else {
                    deployment.specific_machine_ids.contains(&m.id)
                }
            })
            .map(|m| m.id.clone())
            .collect()
    }

    /// A new release of `project_id` assembled now (someone built a newer version).
    pub fn add_release(&mut self, project_id: &str, version: &str) -> String {
        let id = self.next_id("Releases");
        self.releases.push(super::world::Release {
            id: id.clone(),
            project_id: project_id.to_string(),
            version: version.to_string(),
            assembled: self.now,
        });
        id
    }

    pub fn create_deployment(&mut self, request: DeployRequest) -> Result<String, WorldError> {
        let release = self
            .releases
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(&request.release_id))
            .cloned()
            .ok_or_else(|| WorldError::Invalid(format!("release `{}` was not found", request.release_id)))?;
        if !self.environments.iter().any(|e| e.id.eq_ignore_ascii_case(&request.environment_id)) {
            return Err(WorldError::Invalid(format!(
                "environment `{}` was not found",
                request.environment_id
            )));
        }
        for id in request.specific_machine_ids.iter().chain(&request.excluded_machine_ids) {
            if !self.machines.iter().any(|m| &m.id == id) {
                return Err(WorldError::Invalid(format!("machine `{id}` was not found")));
            }
        }
        let project = self.projects.iter().find(|p| p.id == release.project_id).cloned();
        if let Some(project) = &project {
            super::tenants::check_deployment_tenant(self, project, &request)?;
        }
        let project_name = project.as_ref().map_or("project".to_string(), |p| p.name.clone());
        let environment_name = self
            .environments
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(&request.environment_id))
            .map_or(String::new(), |e| e.name.clone());
        let deployment_id = self.next_id("Deployments");
        let task_id = self.next_id("ServerTasks");
        self.tasks.push(Task {
            id: task_id.clone(),
            name: "Deploy".into(),
            description: format!("Deploy {project_name} release {} to {environment_name}", release.version),
            state: TaskState::Queued,
            node_id: None,
            queue_time: self.now,
            start_time: None,
            completed_time: None,
            finish_at: None,
            deployment_id: Some(deployment_id.clone()),
            project_id: Some(release.project_id.clone()),
        });
        self.deployments.push(Deployment {
            id: deployment_id.clone(),
            release_id: release.id.clone(),
            project_id: release.project_id.clone(),
            environment_id: request.environment_id,
            task_id,
            specific_machine_ids: request.specific_machine_ids,
            excluded_machine_ids: request.excluded_machine_ids,
            deployed_to_machine_ids: Vec::new(),
            comments: request.comments,
            use_guided_failure: request.use_guided_failure,
            created: self.now,
            tenant_id: request.tenant_id,
        });
        Ok(deployment_id)
    }

    /// Executing → Cancelling (→ Canceled shortly); Queued → Canceled at once.
    pub fn cancel_task(&mut self, id: &str) -> Result<(), WorldError> {
        let now = self.now;
        let index = self
            .tasks
            .iter()
            .position(|t| t.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| WorldError::NotFound(format!("task `{id}`")))?;
        match self.tasks[index].state {
            TaskState::Queued => self.complete_task(index, TaskState::Canceled),
            TaskState::Executing => {
                let task = &mut self.tasks[index];
                task.state = TaskState::Cancelling;
                task.finish_at = Some(now + CANCEL_SECS);
            }
            _ => {}
        }
        Ok(())
    }

    pub fn kill_node(&mut self, key: &str) -> Result<(), WorldError> {
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.id.eq_ignore_ascii_case(key) || n.name.eq_ignore_ascii_case(key))
            .ok_or_else(|| WorldError::NotFound(format!("node `{key}`")))?;
        node.alive = false;
        Ok(())
    }

    /// Start a task on `key` (node id or name) at once, finishing after `secs` while the node lives.
    pub fn run_task_on(&mut self, key: &str, secs: f64) -> Result<String, WorldError> {
        let node_id = self
            .nodes
            .iter()
            .find(|n| n.id.eq_ignore_ascii_case(key) || n.name.eq_ignore_ascii_case(key))
            .map(|n| n.id.clone())
            .ok_or_else(|| WorldError::NotFound(format!("node `{key}`")))?;
        let id = self.next_id("ServerTasks");
        self.tasks.push(Task {
            id: id.clone(),
            name: "AdHocScript".into(),
            description: format!("Run a script for {secs} seconds"),
            state: TaskState::Executing,
            node_id: Some(node_id),
            queue_time: self.now,
            start_time: Some(self.now),
            completed_time: None,
            finish_at: Some(self.now + secs.max(0.0)),
            deployment_id: None,
            project_id: None,
        });
        Ok(id)
    }

    pub(super) fn run_scheduled_events(&mut self) {
        let now = self.now;
        let due: Vec<EventAction> =
            self.events.iter().filter(|e| e.at_secs <= now && !e.done).map(|e| e.action.clone()).collect();
        for event in self.events.iter_mut().filter(|e| e.at_secs <= now) {
            event.done = true;
        }
        for action in due {
            // A scenario event naming something that has gone is skipped, not fatal.
            let _ = self.apply_action(&action);
        }
    }

    pub fn apply_action(&mut self, action: &EventAction) -> Result<(), WorldError> {
        match action {
            EventAction::SetCapacity { set, capacity } => {
                let index = self.set_index(set)?;
                self.set_capacity(index, *capacity);
            }
            EventAction::DeleteVm { set, instance_id } => {
                let index = self.set_index(set)?;
                self.delete_instances(index, &[*instance_id])?;
            }
            EventAction::StopTentacle { machine } => self.set_tentacle(machine, false)?,
            EventAction::StartTentacle { machine } => self.set_tentacle(machine, true)?,
            EventAction::KillNode { node } => self.kill_node(node)?,
            EventAction::RunTask { node, secs } => {
                self.run_task_on(node, *secs)?;
            }
            EventAction::ScaleBy { set, capacity, caller, app } => {
                let index = self.set_index(set)?;
                let writer = super::activity_log::Writer::Person { caller: caller.clone(), app: app.clone() };
                self.set_capacity_by(index, *capacity, &writer);
            }
            EventAction::SetLoad { percent } => self.load_percent = percent.clamp(0.0, 100.0),
            EventAction::EditAutoscale { setting, profile, minimum, maximum, enabled } => {
                self.edit_autoscale(setting, profile, *minimum, *maximum, *enabled)?
            }
            EventAction::Fault(spec) => self.effects.push(WorldEffect::Fault(spec.clone())),
            EventAction::SetDesired { group, desired, policy } => {
                let change = match policy {
                    Some(policy) => super::aws::DesiredChange::Policy {
                        alarm: format!("{policy}-alarm"),
                        policy: policy.clone(),
                    },
                    None => super::aws::DesiredChange::UserRequest,
                };
                self.aws_set_desired(group, i64::from(*desired), false, change).map_err(aws_error)?;
            }
            EventAction::TerminateInstance { instance_id, decrement } => {
                self.aws_terminate_instance(instance_id, *decrement).map_err(aws_error)?;
            }
            EventAction::ExpireLifecycleActions { group } => {
                self.aws_expire_actions(Some(group)).map_err(aws_error)?
            }
            EventAction::RecreateSet { set, flexible } => {
                let index = self.set_index(set)?;
                self.recreate_set(index, *flexible)?;
            }
        }
        Ok(())
    }
}

fn aws_error(err: super::aws::AwsError) -> WorldError {
    WorldError::Invalid(err.message)
}

impl World {
    /// Random trouble, from the seeded generator: out-of-band deletes, stopped tentacles, faults.
    pub(super) fn run_chaos(&mut self) {
        let Some(chaos) = self.chaos.clone() else { return };
        if self.now < self.next_chaos_at {
            return;
        }
        self.next_chaos_at = self.now + chaos.every_secs.max(1.0);
        if self.now < chaos.every_secs {
            return;
        }
        match self.rng.random_range(0..3) {
            0 => {
                let candidates: Vec<(usize, u64)> = self
                    .scale_sets
                    .iter()
                    .enumerate()
                    .flat_map(|(i, set)| {
                        set.vms
                            .iter()
                            .filter(|vm| vm.state == super::world::VmState::Succeeded)
                            .map(move |vm| (i, vm.instance_id))
                    })
                    .collect();
                if candidates.len() > 1 {
                    let (set, id) = candidates[self.rng.random_range(0..candidates.len())];
                    let _ = self.delete_instances(set, &[id]);
                }
            }
            1 => {
                let running: Vec<String> =
                    self.machines.iter().filter(|m| m.tentacle_running).map(|m| m.id.clone()).collect();
                if !running.is_empty() {
                    let id = running[self.rng.random_range(0..running.len())].clone();
                    let _ = self.set_tentacle(&id, false);
                }
            }
            _ => {
                let kinds = ["429", "500", "503", "truncated_page", "delay"];
                let kind = kinds[self.rng.random_range(0..kinds.len())];
                let target = if self.rng.random_bool(0.5) { "arm" } else { "octopus" };
                self.effects.push(WorldEffect::Fault(FaultSpec {
                    target: target.into(),
                    kind: kind.into(),
                    count: 1,
                    retry_after_secs: Some(2),
                    delay_ms: Some(1500),
                }));
            }
        }
    }
}
