//! What an AWS Auto Scaling group says beyond what an Azure scale set does: each instance's
//! lifecycle state (with the hook waits scaleguard acts on), the group's size limits, cooldown,
//! termination policies, lifecycle hooks, warm pool and instance refresh.
//!
//! Lifecycle states are the API's strings ("Amazon EC2 Auto Scaling instance lifecycle",
//! <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-lifecycle.html>), kept
//! as sent and classified here: a state this version does not know is shown as is and treated as
//! moving (never as settled or in service).

use super::ProvisioningState;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a lifecycle action is completed (`LifecycleActionResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LifecycleResult {
    /// Launch: put the instance in service. Terminate: let it go now.
    Continue,
    /// Launch: terminate the instance instead. Terminate: let it go now too.
    Abandon,
}

impl LifecycleResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continue => "CONTINUE",
            Self::Abandon => "ABANDON",
        }
    }
}

impl fmt::Display for LifecycleResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An instance's `LifecycleState` as Auto Scaling wrote it ("InService", "Pending:Wait",
/// "Warmed:Stopped"). Compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LifecycleState(pub String);

/// Which transition a lifecycle hook holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookTransition {
    /// `autoscaling:EC2_INSTANCE_LAUNCHING`: the instance waits in Pending:Wait.
    Launching,
    /// `autoscaling:EC2_INSTANCE_TERMINATING`: the instance waits in Terminating:Wait.
    Terminating,
}

impl HookTransition {
    /// The API's `LifecycleTransition` ("autoscaling:EC2_INSTANCE_LAUNCHING"); None for another.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().trim_start_matches("autoscaling:").to_ascii_uppercase().as_str() {
            "EC2_INSTANCE_LAUNCHING" => Some(Self::Launching),
            "EC2_INSTANCE_TERMINATING" => Some(Self::Terminating),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Launching => "launching",
            Self::Terminating => "terminating",
        }
    }
}

impl LifecycleState {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is(&self, name: &str) -> bool {
        self.0.trim().eq_ignore_ascii_case(name)
    }

    /// In the warm pool (`Warmed:*`): not in service and outside the desired capacity.
    pub fn is_warmed(&self) -> bool {
        self.0.trim().to_ascii_lowercase().starts_with("warmed:")
    }

    /// In service (or in Standby, which stays in the group but takes no traffic).
    pub fn is_in_service(&self) -> bool {
        self.is("InService")
    }

    pub fn is_standby(&self) -> bool {
        self.is("Standby") || self.is("EnteringStandby")
    }

    /// Leaving the group for good: Terminating, Terminating:Wait, Terminating:Proceed, Terminated.
    pub fn is_terminating(&self) -> bool {
        let lower = self.0.trim().to_ascii_lowercase();
        lower.starts_with("terminat")
    }

    /// The transition a lifecycle hook holds the instance in, if it waits on one: Pending:Wait or
    /// Terminating:Wait (an instance of the group, not of its warm pool).
    pub fn hook_wait(&self) -> Option<HookTransition> {
        if self.is("Pending:Wait") {
            Some(HookTransition::Launching)
        } else if self.is("Terminating:Wait") {
            Some(HookTransition::Terminating)
        } else {
            None
        }
    }

    /// Takes a place in the group's desired capacity: launching, in service, or waiting on a
    /// launch hook. Warm-pool, Standby, detaching and terminating instances do not (Standby
    /// either lowered the desired capacity or had a replacement launched).
    pub fn in_capacity(&self) -> bool {
        ["Pending", "Pending:Wait", "Pending:Proceed", "InService", "Quarantined"].iter().any(|s| self.is(s))
    }

    /// Stays where it is until someone acts (or a hook times out): in service, standby, a hook
    /// wait, a warm pool's stopped, running or hibernated instance. Every other state (Pending,
    /// *:Proceed, Terminating, Detaching, EnteringStandby, Warmed:Pending, anything unknown) is
    /// the group acting on its own.
    pub fn is_at_rest(&self) -> bool {
        [
            "InService",
            "Standby",
            "Pending:Wait",
            "Terminating:Wait",
            "Warmed:Stopped",
            "Warmed:Running",
            "Warmed:Hibernated",
        ]
        .iter()
        .any(|s| self.is(s))
    }

    /// The provisioning state the planner's Azure-shaped rules read: Creating while launching,
    /// Deleting while leaving, Succeeded at rest (a launch hook's wait included: the instance runs
    /// and waits for its deployment), Updating for Standby moves, anything else unknown.
    pub fn provisioning_state(&self) -> ProvisioningState {
        let lower = self.0.trim().to_ascii_lowercase();
        let leaving = ["terminat", "detach", "warmed:terminat"].iter().any(|p| lower.starts_with(p));
        if leaving {
            ProvisioningState::Deleting
        } else if self.is_at_rest() {
            ProvisioningState::Succeeded
        } else if self.is("EnteringStandby") {
            ProvisioningState::Updating
        } else if lower.starts_with("pending") || lower.starts_with("warmed:pending") {
            ProvisioningState::Creating
        } else {
            ProvisioningState::Other(self.0.clone())
        }
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What Auto Scaling (and, when read, EC2) says about one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsInstance {
    pub lifecycle_state: LifecycleState,
    /// `HealthStatus` ("Healthy", "Unhealthy"; the API writes it in either case).
    pub health_status: Option<String>,
    /// The launch template (id or name, and version) or launch configuration it was launched from.
    pub launch: Option<String>,
    /// The `Name` tag, when EC2 was read (`match = "name_tag"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_tag: Option<String>,
    /// EC2's instance state ("running", "stopped"), when EC2 was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_state: Option<String>,
    /// The group EC2 says the instance belongs to, read apart from the group's own answer.
    #[serde(default)]
    pub ec2_group: Ec2Group,
}

/// The Auto Scaling group EC2 DescribeInstances puts an instance in: its `aws:autoscaling:groupName`
/// tag, which Auto Scaling adds to every instance it launches or attaches and removes from one it
/// detaches ("Tag Auto Scaling groups and instances", Amazon EC2 Auto Scaling User Guide,
/// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html>).
/// DescribeAutoScalingGroups names no group per instance: this is what shows a listed instance is
/// the group's (`completeness`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ec2Group {
    /// EC2 was not read for it.
    #[default]
    NotRead,
    /// EC2 was asked and did not return it.
    NotFound,
    /// EC2 returned it without the tag.
    Untagged,
    /// EC2 returned it with the tag naming this group.
    Tagged(String),
}

impl Ec2Group {
    /// Does EC2 put the instance in the group named `group`? (Tag values are case-sensitive.)
    pub fn is(&self, group: &str) -> bool {
        matches!(self, Self::Tagged(name) if name == group)
    }
}

impl fmt::Display for Ec2Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRead => f.write_str("EC2 was not read for it"),
            Self::NotFound => f.write_str("EC2 does not know it"),
            Self::Untagged => f.write_str("EC2 shows it in no Auto Scaling group"),
            // The tag's value is the server's text: cleaned to show.
            Self::Tagged(group) => {
                write!(f, "EC2 shows it in group {}", crate::untrusted::server_text(group))
            }
        }
    }
}

/// A lifecycle hook of the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleHook {
    pub name: String,
    pub transition: HookTransition,
    /// How long an instance waits before the default result applies (`HeartbeatTimeout`).
    pub heartbeat_timeout_secs: Option<u64>,
    /// CONTINUE or ABANDON: what a timeout does.
    pub default_result: Option<String>,
    /// `GlobalTimeout`: the longest an instance can wait, heartbeats or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_timeout_secs: Option<u64>,
}

/// The group's warm pool (`WarmPoolConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmPool {
    pub min_size: Option<u32>,
    pub max_group_prepared_capacity: Option<i32>,
    /// Stopped, Running or Hibernated.
    pub pool_state: Option<String>,
    /// Set while the pool is being deleted.
    pub status: Option<String>,
    /// `InstanceReusePolicy.ReuseOnScaleIn`: a scaled-in instance goes back to the pool, held by
    /// the terminating hook, instead of being terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_on_scale_in: Option<bool>,
}

/// The group's own settings and what it is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsGroup {
    pub min_size: u32,
    pub max_size: u32,
    /// `DefaultCooldown`: seconds after a scaling activity before a simple scaling policy acts again.
    pub default_cooldown_secs: u64,
    /// In the order Auto Scaling applies them ("OldestLaunchTemplate", "Default", ...).
    pub termination_policies: Vec<String>,
    pub hooks: Vec<LifecycleHook>,
    pub warm_pool: Option<WarmPool>,
    /// An instance refresh that is pending or in progress ("InProgress, 40% done"), if any.
    pub instance_refresh: Option<String>,
    /// The launch template (id or name, and version) or launch configuration new instances get.
    pub launch: Option<String>,
    /// The group's `Status` ("Delete in progress"), when set.
    pub status: Option<String>,
    /// Instances the group is moving on its own, in words ("i-0ab Pending"): why it is not settled.
    #[serde(default)]
    pub moving: Vec<String>,
}

impl AwsGroup {
    /// The group's hooks on one transition.
    pub fn hooks_on(&self, transition: HookTransition) -> impl Iterator<Item = &LifecycleHook> {
        self.hooks.iter().filter(move |h| h.transition == transition)
    }

    /// The one hook on `transition` that scaleguard completes; None when there is none, or more
    /// than one (which of them is scaleguard's cannot be told, so none is completed).
    pub fn sole_hook(&self, transition: HookTransition) -> Option<&LifecycleHook> {
        let mut hooks = self.hooks_on(transition);
        let first = hooks.next()?;
        hooks.next().is_none().then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_states_are_classified_case_insensitively() {
        let s = LifecycleState::new;
        assert_eq!(s("Pending:Wait").hook_wait(), Some(HookTransition::Launching));
        assert_eq!(s("terminating:wait").hook_wait(), Some(HookTransition::Terminating));
        assert_eq!(s("Warmed:Pending:Wait").hook_wait(), None, "a warm pool's hook is not the group's");
        assert!(s("Warmed:Stopped").is_warmed() && !s("Warmed:Stopped").in_capacity());
        assert!(s("Terminating:Proceed").is_terminating() && !s("Terminating:Proceed").is_at_rest());
        assert!(s("Pending:Wait").in_capacity() && s("Pending:Wait").is_at_rest());
        assert!(!s("Standby").in_capacity() && s("Standby").is_at_rest());
        assert_eq!(s("Pending").provisioning_state(), ProvisioningState::Creating);
        assert_eq!(s("Pending:Wait").provisioning_state(), ProvisioningState::Succeeded);
        assert_eq!(s("Terminating:Wait").provisioning_state(), ProvisioningState::Deleting);
        assert_eq!(s("Warmed:Terminating:Wait").provisioning_state(), ProvisioningState::Deleting);
        assert_eq!(s("Warmed:Pending").provisioning_state(), ProvisioningState::Creating);
        assert!(!s("Rebooting").is_at_rest(), "an unknown state is never taken as settled");
        assert!(!s("Rebooting").provisioning_state().is_final());
    }

    #[test]
    fn hook_transitions_parse_the_api_form() {
        assert_eq!(
            HookTransition::parse("autoscaling:EC2_INSTANCE_LAUNCHING"),
            Some(HookTransition::Launching)
        );
        assert_eq!(HookTransition::parse("EC2_INSTANCE_TERMINATING"), Some(HookTransition::Terminating));
        assert_eq!(HookTransition::parse("autoscaling:TEST_NOTIFICATION"), None);
    }
}
