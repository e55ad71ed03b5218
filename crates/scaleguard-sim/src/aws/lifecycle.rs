//! Instances moving through their lifecycle as simulated time passes: Pending → Pending:Wait
//! (launching hooks) → Pending:Proceed → InService; Terminating → Terminating:Wait (terminating
//! hooks) → Terminating:Proceed → gone; warm pool instances prepared. A wait ends when every hook
//! holding it is completed, or when its heartbeat timeout passes and the hook's DefaultResult
//! applies ("Amazon EC2 Auto Scaling lifecycle hooks", AWS documentation).

use super::super::world::{Health, Machine, World};
use super::model::{Lifecycle, LifecycleAction, TargetNaming, Transition, TERMINATED_VISIBLE_SECS};
use super::AwsError;

/// Which waiting instance a `CompleteLifecycleAction` or heartbeat names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionTarget {
    InstanceId(String),
    Token(String),
}

/// Pending:Proceed and the first second of Terminating are short, as on AWS.
const PROCEED_SECS: f64 = 2.0;

impl World {
    /// One simulated step of every group.
    pub(crate) fn step_aws(&mut self) {
        for g in 0..self.aws.groups.len() {
            self.aws_time_out_actions(g, false);
            self.aws_advance_instances(g);
            self.aws_converge(g);
            self.aws_register_due(g);
        }
        let now = self.now;
        self.aws.terminated.retain(|t| now < t.terminated_at + TERMINATED_VISIBLE_SECS);
    }

    /// Apply the DefaultResult of every action whose heartbeat timeout has passed (all of the
    /// group's waiting actions when `all`: a hook that times out on demand).
    pub(crate) fn aws_time_out_actions(&mut self, g: usize, all: bool) {
        let now = self.now;
        let hooks = self.aws.groups[g].hooks.clone();
        let mut touched = Vec::new();
        for (index, instance) in self.aws.groups[g].instances.iter_mut().enumerate() {
            for action in instance.actions.iter_mut().filter(|a| a.result.is_none()) {
                if all || now >= action.deadline.min(action.global_deadline) {
                    let default =
                        hooks.iter().find(|h| h.name == action.hook).map(|h| h.default_result.clone());
                    action.result = Some(default.unwrap_or_else(|| "ABANDON".into()));
                    touched.push(index);
                }
            }
        }
        for index in touched {
            self.aws_resolve_wait(g, index);
        }
    }

    fn aws_advance_instances(&mut self, g: usize) {
        let now = self.now;
        let mut index = 0;
        while index < self.aws.groups[g].instances.len() {
            let instance = &self.aws.groups[g].instances[index];
            let due = instance.state_until <= now;
            match instance.lifecycle {
                Lifecycle::Pending if due => self.aws_enter_hooks(g, index, Transition::Launching),
                Lifecycle::PendingProceed if due => {
                    let instance = &mut self.aws.groups[g].instances[index];
                    instance.lifecycle = Lifecycle::InService;
                    let activity = instance.activity.take();
                    self.aws_update_activity(activity.as_deref(), "Successful", 100);
                }
                Lifecycle::Terminating if due => self.aws_enter_hooks(g, index, Transition::Terminating),
                Lifecycle::TerminatingProceed if due => {
                    self.aws_remove_instance(g, index);
                    continue;
                }
                Lifecycle::WarmedPending if due => {
                    let running =
                        self.aws.groups[g].warm_pool.as_ref().is_some_and(|p| p.pool_state == "Running");
                    let instance = &mut self.aws.groups[g].instances[index];
                    instance.lifecycle =
                        if running { Lifecycle::WarmedRunning } else { Lifecycle::WarmedStopped };
                    let activity = instance.activity.take();
                    if running {
                        self.aws_schedule_registration(g, index);
                    }
                    self.aws_update_activity(activity.as_deref(), "Successful", 100);
                }
                _ => {}
            }
            index += 1;
        }
    }

    /// Start the hooks of `transition` (the instance waits), or go straight on without any.
    fn aws_enter_hooks(&mut self, g: usize, index: usize, transition: Transition) {
        let now = self.now;
        if transition == Transition::Launching {
            // The instance runs now: its tentacle registers soon, whatever the hooks say.
            self.aws_schedule_registration(g, index);
        }
        let hooks: Vec<_> = self.aws.groups[g].hooks_for(transition).cloned().collect();
        let mut actions = Vec::new();
        for hook in &hooks {
            let token = self.new_guid();
            actions.push(LifecycleAction {
                hook: hook.name.clone(),
                token,
                started: now,
                deadline: now + f64::from(hook.heartbeat_timeout_secs),
                global_deadline: now + f64::from(hook.global_timeout_secs()),
                result: None,
            });
        }
        let waits = !actions.is_empty();
        let until = now
            + if transition == Transition::Terminating && !waits {
                self.uniform(self.aws.shutdown_secs)
            } else {
                PROCEED_SECS
            };
        let instance = &mut self.aws.groups[g].instances[index];
        instance.actions = actions;
        instance.lifecycle = match (transition, waits) {
            (Transition::Launching, true) => Lifecycle::PendingWait,
            (Transition::Launching, false) => Lifecycle::PendingProceed,
            (Transition::Terminating, true) => Lifecycle::TerminatingWait,
            (Transition::Terminating, false) => Lifecycle::TerminatingProceed,
        };
        instance.state_until = until;
        let activity = self.aws.groups[g].instances[index].activity.clone();
        match (transition, waits) {
            (_, true) => self.aws_update_activity(activity.as_deref(), "MidLifecycleAction", 40),
            (Transition::Terminating, false) => {
                self.aws_update_activity(activity.as_deref(), "InProgress", 60)
            }
            (Transition::Launching, false) => {}
        }
    }

    /// A wait whose actions are all answered (or one ABANDON) ends.
    fn aws_resolve_wait(&mut self, g: usize, index: usize) {
        let now = self.now;
        let instance = &self.aws.groups[g].instances[index];
        let abandoned = instance.actions.iter().any(|a| a.result.as_deref() == Some("ABANDON"));
        let all_done = instance.actions.iter().all(|a| a.result.is_some());
        match instance.lifecycle {
            Lifecycle::PendingWait if abandoned => {
                // An abandoned launch is terminated (and replaced: it no longer counts).
                let shutdown = self.uniform(self.aws.shutdown_secs);
                let instance = &mut self.aws.groups[g].instances[index];
                instance.lifecycle = Lifecycle::TerminatingProceed;
                instance.state_until = now + shutdown;
                instance.actions.clear();
                let activity = instance.activity.take();
                self.aws_update_activity(activity.as_deref(), "Cancelled", 100);
            }
            Lifecycle::PendingWait if all_done => {
                let instance = &mut self.aws.groups[g].instances[index];
                instance.lifecycle = Lifecycle::PendingProceed;
                instance.state_until = now + PROCEED_SECS;
                instance.actions.clear();
            }
            Lifecycle::TerminatingWait if abandoned || all_done => {
                let shutdown = self.uniform(self.aws.shutdown_secs);
                let instance = &mut self.aws.groups[g].instances[index];
                instance.lifecycle = Lifecycle::TerminatingProceed;
                instance.state_until = now + shutdown;
                instance.actions.clear();
                let activity = instance.activity.clone();
                self.aws_update_activity(activity.as_deref(), "InProgress", 60);
            }
            _ => {}
        }
    }

    /// `CompleteLifecycleAction`: `CONTINUE` or `ABANDON` one hook's action on one instance.
    pub fn aws_complete_action(
        &mut self,
        group: &str,
        hook: &str,
        target: &ActionTarget,
        result: &str,
    ) -> Result<(), AwsError> {
        if result != "CONTINUE" && result != "ABANDON" {
            return Err(AwsError::validation(format!(
                "Invalid lifecycle action result {result}. Valid results are CONTINUE and ABANDON."
            )));
        }
        let (g, index, slot) = self.aws_find_action(group, hook, target)?;
        self.aws.groups[g].instances[index].actions[slot].result = Some(result.to_string());
        self.aws_resolve_wait(g, index);
        Ok(())
    }

    /// `RecordLifecycleActionHeartbeat`: the heartbeat timeout starts again (never past the
    /// global timeout).
    pub fn aws_record_heartbeat(
        &mut self,
        group: &str,
        hook: &str,
        target: &ActionTarget,
    ) -> Result<(), AwsError> {
        let (g, index, slot) = self.aws_find_action(group, hook, target)?;
        let timeout = self.aws.groups[g]
            .hooks
            .iter()
            .find(|h| h.name == hook)
            .map_or(0.0, |h| f64::from(h.heartbeat_timeout_secs));
        let now = self.now;
        let action = &mut self.aws.groups[g].instances[index].actions[slot];
        action.deadline = (now + timeout).min(action.global_deadline);
        Ok(())
    }

    fn aws_find_action(
        &self,
        group: &str,
        hook: &str,
        target: &ActionTarget,
    ) -> Result<(usize, usize, usize), AwsError> {
        let g = self.aws_group(group)?;
        if !self.aws.groups[g].hooks.iter().any(|h| h.name == hook) {
            return Err(AwsError::validation(format!(
                "No Lifecycle Hook found with name {hook} for group {group}"
            )));
        }
        for (index, instance) in self.aws.groups[g].instances.iter().enumerate() {
            for (slot, action) in instance.actions.iter().enumerate() {
                let named = match target {
                    ActionTarget::InstanceId(id) => &instance.instance_id == id,
                    ActionTarget::Token(token) => &action.token == token,
                };
                if named && action.hook == hook && action.result.is_none() {
                    return Ok((g, index, slot));
                }
            }
        }
        Err(AwsError::validation(match target {
            ActionTarget::InstanceId(id) => format!("No active Lifecycle Action found with instance ID {id}"),
            ActionTarget::Token(token) => format!("No active Lifecycle Action found with token {token}"),
        }))
    }

    fn aws_remove_instance(&mut self, g: usize, index: usize) {
        let instance = self.aws.groups[g].instances.remove(index);
        let group = self.aws.groups[g].name.clone();
        let activity = instance.activity.clone();
        self.aws_update_activity(activity.as_deref(), "Successful", 100);
        for machine in &mut self.machines {
            if machine.vm.as_ref().is_some_and(|(set, seq)| *set == group && *seq == instance.seq) {
                // The target stays registered; its tentacle no longer answers.
                machine.health = Health::Unavailable;
                machine.tentacle_running = false;
            }
        }
        self.aws.terminated.push(super::model::TerminatedInstance {
            group,
            instance,
            terminated_at: self.now,
        });
    }

    fn aws_schedule_registration(&mut self, g: usize, index: usize) {
        if self.aws.groups[g].instances[index].registered {
            return;
        }
        let at = self.now + self.uniform(self.tunables.registration_delay_secs);
        let instance = &mut self.aws.groups[g].instances[index];
        instance.register_at = Some(instance.register_at.map_or(at, |earlier| earlier.min(at)));
    }

    fn aws_register_due(&mut self, g: usize) {
        let now = self.now;
        let due: Vec<usize> = self.aws.groups[g]
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| i.register_at.is_some_and(|at| at <= now) && !i.lifecycle.is_terminating())
            .map(|(index, _)| index)
            .collect();
        for index in due {
            self.aws_register_target(g, index);
        }
    }

    /// The instance's tentacle registers with Octopus under the name the group's naming gives;
    /// on a group hosting the HA nodes, its node joins the cluster instead (once InService).
    pub(crate) fn aws_register_target(&mut self, g: usize, index: usize) {
        if self.is_node_host(&self.aws.groups[g].name) {
            if self.aws_register_node_host(g, index) {
                let instance = &mut self.aws.groups[g].instances[index];
                instance.register_at = None;
                instance.registered = true;
            }
            return;
        }
        let region = self.aws.region.clone();
        let group = &self.aws.groups[g];
        let instance = &group.instances[index];
        let name = match group.naming {
            TargetNaming::InstanceId => instance.instance_id.clone(),
            TargetNaming::PrivateDnsName => instance.private_dns_name(&region),
            TargetNaming::NameTag => instance.name_tag.clone(),
        };
        let link = (group.name.clone(), instance.seq);
        let id = self.next_id("Machines");
        let thumbprint = self.thumbprint();
        self.machines.push(Machine {
            id,
            name,
            roles: self.octopus.target_roles.clone(),
            environment_ids: vec![self.octopus.environment_id.clone()],
            is_disabled: false,
            machine_policy_id: self.octopus.machine_policy_id.clone(),
            health: Health::Healthy,
            thumbprint,
            communication_style: self.octopus.communication_style.clone(),
            vm: Some(link),
            tentacle_running: true,
            created_at: self.now,
            tenancy: Default::default(),
        });
        let instance = &mut self.aws.groups[g].instances[index];
        instance.register_at = None;
        instance.registered = true;
    }

    /// `ExpireLifecycleActions` and the `hook_timeout` fault: every action waiting in the group
    /// (every group when None) times out now, and its hook's DefaultResult applies.
    pub fn aws_expire_actions(&mut self, group: Option<&str>) -> Result<(), AwsError> {
        let groups: Vec<usize> = match group {
            Some(name) => vec![self.aws_group(name)?],
            None => (0..self.aws.groups.len()).collect(),
        };
        for g in groups {
            self.aws_time_out_actions(g, true);
            self.aws_converge(g);
        }
        Ok(())
    }
}
