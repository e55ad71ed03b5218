//! Desired capacity: scale-out (from the warm pool first, then new launches), scale-in by the
//! termination policies, the warm pool kept at its size, and the write APIs that move capacity
//! or protection.

use super::super::world::World;
use super::activity::DesiredChange;
use super::model::{AsgInstance, HealthStatus, Lifecycle};
use super::{termination, AwsError};

impl World {
    pub fn aws_group(&self, name: &str) -> Result<usize, AwsError> {
        self.aws.group_index(name).ok_or_else(|| {
            AwsError::validation(format!(
                "AutoScalingGroup name not found - AutoScalingGroup '{name}' not found"
            ))
        })
    }

    /// `SetDesiredCapacity` (or a scenario's person or policy): within MinSize..MaxSize; with
    /// `honor_cooldown`, refused while an activity runs or the cooldown since the last one lasts.
    pub fn aws_set_desired(
        &mut self,
        group: &str,
        desired: i64,
        honor_cooldown: bool,
        change: DesiredChange,
    ) -> Result<(), AwsError> {
        let g = self.aws_group(group)?;
        let (min, max) = (self.aws.groups[g].min_size, self.aws.groups[g].max_size);
        if desired > i64::from(max) {
            return Err(AwsError::validation(format!(
                "New SetDesiredCapacity value {desired} is above max value {max} for the AutoScalingGroup."
            )));
        }
        if desired < i64::from(min) {
            return Err(AwsError::validation(format!(
                "New SetDesiredCapacity value {desired} is below min value {min} for the AutoScalingGroup."
            )));
        }
        if honor_cooldown {
            if let Some(blocking) = self.aws_blocking_activity(g) {
                return Err(AwsError::new(
                    "ScalingActivityInProgress",
                    format!("Scaling activity {blocking} is in progress and blocks this action"),
                ));
            }
        }
        let desired = desired as u32;
        let from = self.aws.groups[g].desired;
        if desired != from {
            let cause = self.aws_desired_cause(&change, from, desired);
            self.aws.groups[g].pending_cause = Some(cause);
            self.aws.groups[g].desired = desired;
        }
        self.aws_converge(g);
        Ok(())
    }

    /// The activity in progress, or the last one while the group's cooldown since it lasts.
    fn aws_blocking_activity(&self, g: usize) -> Option<String> {
        let group = &self.aws.groups[g];
        let mine = self.aws.activities.iter().filter(|a| a.group == group.name);
        if let Some(running) = mine.clone().find(|a| a.in_progress()) {
            return Some(running.id.clone());
        }
        let cooldown = f64::from(group.default_cooldown_secs);
        mine.filter(|a| a.end.is_some_and(|end| self.now < end + cooldown))
            .max_by(|a, b| a.end.partial_cmp(&b.end).unwrap_or(std::cmp::Ordering::Equal))
            .map(|a| a.id.clone())
    }

    /// Launch or terminate until the counted instances match the desired capacity; keep the
    /// warm pool at its size.
    pub(crate) fn aws_converge(&mut self, g: usize) {
        let counted = self.aws.groups[g].in_service_count();
        let desired = self.aws.groups[g].desired as usize;
        if desired > counted {
            for _ in counted..desired {
                self.aws_launch(g, (counted, desired));
            }
        } else if counted > desired {
            let chosen = termination::choose(&self.aws.groups[g], counted - desired, &mut self.rng);
            let ids: Vec<String> =
                chosen.iter().map(|&i| self.aws.groups[g].instances[i].instance_id.clone()).collect();
            for (n, id) in ids.iter().enumerate() {
                let at = self.aws_cause_time(self.now);
                let (from, to) = (counted - n, counted - n - 1);
                let own = format!(
                    "At {at} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {from} to {to}.  At {at} instance {id} was selected for termination."
                );
                let cause = self.aws_with_pending_cause(g, own);
                self.aws_begin_terminate(g, id, cause, true);
            }
        }
        self.aws_fill_warm_pool(g);
        if self.aws.groups[g].in_service_count() == desired {
            self.aws.groups[g].pending_cause = None;
        }
    }

    fn aws_with_pending_cause(&self, g: usize, own: String) -> String {
        match &self.aws.groups[g].pending_cause {
            Some(why) => format!("{why}  {own}"),
            None => own,
        }
    }

    /// One more instance in service: a ready warm instance if there is one, else a new launch.
    fn aws_launch(&mut self, g: usize, (from, to): (usize, usize)) {
        let at = self.aws_cause_time(self.now);
        let own = format!(
            "At {at} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {from} to {to}."
        );
        let cause = self.aws_with_pending_cause(g, own);
        let warm = self.aws.groups[g]
            .instances
            .iter()
            .position(|i| matches!(i.lifecycle, Lifecycle::WarmedStopped | Lifecycle::WarmedRunning));
        let (index, description) = match warm {
            Some(index) => {
                // A stopped instance boots; a running one only goes through the hooks.
                let boot = if self.aws.groups[g].instances[index].lifecycle == Lifecycle::WarmedStopped {
                    self.uniform(self.aws.launch_secs) / 2.0
                } else {
                    1.0
                };
                let instance = &mut self.aws.groups[g].instances[index];
                instance.lifecycle = Lifecycle::Pending;
                instance.state_until = self.now + boot;
                (index, format!("Launching a new EC2 instance from warm pool: {}", instance.instance_id))
            }
            None => {
                let instance = self.aws_new_instance(g, Lifecycle::Pending);
                self.aws.groups[g].instances.push(instance);
                let index = self.aws.groups[g].instances.len() - 1;
                (
                    index,
                    format!(
                        "Launching a new EC2 instance: {}",
                        self.aws.groups[g].instances[index].instance_id
                    ),
                )
            }
        };
        let name = self.aws.groups[g].name.clone();
        let activity = self.aws_record_activity(&name, description, cause, "PreInService");
        self.aws.groups[g].instances[index].activity = Some(activity);
    }

    /// A fresh instance in the least-used zone, on the group's launch template version.
    pub(crate) fn aws_new_instance(&mut self, g: usize, lifecycle: Lifecycle) -> AsgInstance {
        let seq = self.aws.next_seq;
        self.aws.next_seq += 1;
        let hex: String = (0..16).map(|_| char::from(b"0123456789abcdef"[self.rng_index(16)])).collect();
        let boot = self.uniform(self.aws.launch_secs);
        let group = &self.aws.groups[g];
        let zone_index = (0..group.zones.len().max(1))
            .min_by_key(|&z| {
                let zone = group.zones.get(z).map(String::as_str).unwrap_or_default();
                group.instances.iter().filter(|i| i.lifecycle.counts() && i.zone == zone).count()
            })
            .unwrap_or(0);
        AsgInstance {
            seq,
            instance_id: format!("i-0{hex}"),
            zone: group.zones.get(zone_index).cloned().unwrap_or_else(|| format!("{}a", self.aws.region)),
            private_ip: format!("10.0.{}.{}", zone_index * 32 + (seq / 250) as usize, seq % 250 + 4),
            name_tag: format!("{}{seq}", group.name_prefix),
            lifecycle,
            state_until: self.now + boot,
            health: HealthStatus::Healthy,
            protected: false,
            template_version: group.template_version,
            launched_at: self.now,
            register_at: None,
            registered: false,
            actions: Vec::new(),
            activity: None,
        }
    }

    /// The warm pool's size: MaxGroupPreparedCapacity (default MaxSize) minus the desired
    /// capacity, at least its MinSize.
    fn aws_fill_warm_pool(&mut self, g: usize) {
        let Some(pool) = self.aws.groups[g].warm_pool.clone() else { return };
        let group = &self.aws.groups[g];
        let prepared = pool.max_group_prepared_capacity.unwrap_or(group.max_size);
        let wanted = prepared.saturating_sub(group.desired).max(pool.min_size) as usize;
        let warm = group.instances.iter().filter(|i| i.lifecycle.is_warmed()).count();
        for _ in warm..wanted {
            let instance = self.aws_new_instance(g, Lifecycle::WarmedPending);
            let description =
                format!("Launching a new EC2 instance into warm pool: {}", instance.instance_id);
            let at = self.aws_cause_time(self.now);
            let cause = format!(
                "At {at} an instance was launched in response to a warm pool size difference between desired and actual capacity."
            );
            self.aws.groups[g].instances.push(instance);
            let name = self.aws.groups[g].name.clone();
            let activity = self.aws_record_activity(&name, description, cause, "PreInService");
            if let Some(last) = self.aws.groups[g].instances.last_mut() {
                last.activity = Some(activity);
            }
        }
    }

    /// Take an instance out of service: Terminating, then the terminating hooks (if any).
    pub(crate) fn aws_begin_terminate(&mut self, g: usize, instance_id: &str, cause: String, record: bool) {
        let Some(index) = self.aws.groups[g].instances.iter().position(|i| i.instance_id == instance_id)
        else {
            return;
        };
        let name = self.aws.groups[g].name.clone();
        let activity = record.then(|| {
            self.aws_record_activity(
                &name,
                format!("Terminating EC2 instance: {instance_id}"),
                cause,
                "InProgress",
            )
        });
        let now = self.now;
        let instance = &mut self.aws.groups[g].instances[index];
        instance.lifecycle = Lifecycle::Terminating;
        instance.state_until = now + 1.0;
        instance.actions.clear();
        if activity.is_some() {
            instance.activity = activity;
        }
    }

    /// `TerminateInstanceInAutoScalingGroup`: the instance goes (through the terminating hooks);
    /// with `decrement` the desired capacity drops by one, else a replacement launches.
    pub fn aws_terminate_instance(&mut self, instance_id: &str, decrement: bool) -> Result<String, AwsError> {
        let not_found = || {
            AwsError::validation(format!(
                "Instance Id not found - No managed instance found for instance ID: {instance_id}"
            ))
        };
        let (g, index) = self.aws.find_instance(instance_id).ok_or_else(not_found)?;
        let instance = &self.aws.groups[g].instances[index];
        if instance.lifecycle.is_terminating() || instance.lifecycle.is_warmed() {
            return Err(not_found());
        }
        let (min, desired) = (self.aws.groups[g].min_size, self.aws.groups[g].desired);
        if decrement && desired <= min {
            return Err(AwsError::validation(format!(
                "Currently, desiredSize equals minSize ({min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size."
            )));
        }
        let at = self.aws_cause_time(self.now);
        let cause = if decrement {
            self.aws.groups[g].desired = desired - 1;
            format!(
                "At {at} instance {instance_id} was taken out of service in response to a user request, shrinking the capacity from {desired} to {}.",
                desired - 1
            )
        } else {
            format!("At {at} instance {instance_id} was taken out of service in response to a user request.")
        };
        self.aws_begin_terminate(g, instance_id, cause, true);
        let activity = self.aws.groups[g].instances[index].activity.clone().unwrap_or_default();
        self.aws_converge(g);
        Ok(activity)
    }

    /// `SetInstanceProtection` for up to 50 instances of one group.
    pub fn aws_set_protection(
        &mut self,
        group: &str,
        ids: &[String],
        protected: bool,
    ) -> Result<(), AwsError> {
        let g = self.aws_group(group)?;
        if let Some(stranger) = ids.iter().find(|id| self.aws.groups[g].instance(id).is_none()) {
            return Err(AwsError::validation(format!(
                "The instance {stranger} is not part of Auto Scaling group {group}."
            )));
        }
        for instance in self.aws.groups[g].instances.iter_mut().filter(|i| ids.contains(&i.instance_id)) {
            instance.protected = protected;
        }
        Ok(())
    }

    fn rng_index(&mut self, below: usize) -> usize {
        use rand::RngExt;
        self.rng.random_range(0..below)
    }
}
