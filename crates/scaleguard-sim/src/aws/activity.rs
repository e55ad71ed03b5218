//! Scaling activities: one per instance launched or terminated, with the cause Auto Scaling
//! records ("At … a user request explicitly set group desired capacity changing the desired
//! capacity from 2 to 4.  At … an instance was started in response to …").

use super::super::world::{SimTime, World};
use super::model::Activity;

/// Why a group's desired capacity changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesiredChange {
    /// `SetDesiredCapacity` (scaleguard, the console, the CLI, a scenario's person).
    UserRequest,
    /// A scaling policy fired by a CloudWatch alarm.
    Policy { alarm: String, policy: String },
}

impl World {
    /// `2026-01-05T09:00:10Z`, the form activity causes use.
    pub(crate) fn aws_cause_time(&self, at: SimTime) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        self.time_at(at).format(&format).unwrap_or_default()
    }

    pub(crate) fn aws_desired_cause(&self, change: &DesiredChange, from: u32, to: u32) -> String {
        let at = self.aws_cause_time(self.now);
        match change {
            DesiredChange::UserRequest => format!(
                "At {at} a user request explicitly set group desired capacity changing the desired capacity from {from} to {to}."
            ),
            DesiredChange::Policy { alarm, policy } => format!(
                "At {at} a monitor alarm {alarm} in state ALARM triggered policy {policy} changing the desired capacity from {from} to {to}."
            ),
        }
    }

    /// Record an activity; returns its id.
    pub(crate) fn aws_record_activity(
        &mut self,
        group: &str,
        description: String,
        cause: String,
        status: &str,
    ) -> String {
        let id = self.new_guid();
        self.aws.activities.push(Activity {
            id: id.clone(),
            group: group.to_string(),
            description,
            cause,
            start: self.now,
            end: None,
            status: status.to_string(),
            progress: 30,
        });
        id
    }

    pub(crate) fn aws_update_activity(&mut self, id: Option<&str>, status: &str, progress: u32) {
        let now = self.now;
        let Some(activity) = id.and_then(|id| self.aws.activities.iter_mut().find(|a| a.id == id)) else {
            return;
        };
        activity.status = status.to_string();
        activity.progress = progress;
        if !activity.in_progress() {
            activity.end = Some(now);
        }
    }
}
