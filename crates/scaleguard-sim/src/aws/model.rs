//! The AWS side of the world: Auto Scaling groups, their instances (as Auto Scaling and EC2 see
//! them), lifecycle hooks and the actions waiting on them, warm pools, scaling activities.
//! Plain data; the transitions live in `lifecycle.rs` and `capacity.rs`.

use super::super::world::SimTime;

/// An instance's Auto Scaling lifecycle state (the API's `LifecycleState` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Pending,
    PendingWait,
    PendingProceed,
    InService,
    Terminating,
    TerminatingWait,
    TerminatingProceed,
    /// Being prepared for the warm pool (booting for the first time).
    WarmedPending,
    WarmedStopped,
    WarmedRunning,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::PendingWait => "Pending:Wait",
            Self::PendingProceed => "Pending:Proceed",
            Self::InService => "InService",
            Self::Terminating => "Terminating",
            Self::TerminatingWait => "Terminating:Wait",
            Self::TerminatingProceed => "Terminating:Proceed",
            Self::WarmedPending => "Warmed:Pending",
            Self::WarmedStopped => "Warmed:Stopped",
            Self::WarmedRunning => "Warmed:Running",
        }
    }

    pub fn is_warmed(self) -> bool {
        matches!(self, Self::WarmedPending | Self::WarmedStopped | Self::WarmedRunning)
    }

    pub fn is_terminating(self) -> bool {
        matches!(self, Self::Terminating | Self::TerminatingWait | Self::TerminatingProceed)
    }

    /// Counted against the group's desired capacity.
    pub fn counts(self) -> bool {
        !self.is_warmed() && !self.is_terminating()
    }

    /// EC2's `instanceState` (code, name) for an instance in this lifecycle state.
    pub fn ec2_state(self) -> (u32, &'static str) {
        match self {
            Self::Pending | Self::WarmedPending => (0, "pending"),
            Self::TerminatingProceed => (32, "shutting-down"),
            Self::WarmedStopped => (80, "stopped"),
            _ => (16, "running"),
        }
    }
}

/// `EC2_INSTANCE_LAUNCHING` or `EC2_INSTANCE_TERMINATING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Launching,
    Terminating,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Launching => "autoscaling:EC2_INSTANCE_LAUNCHING",
            Self::Terminating => "autoscaling:EC2_INSTANCE_TERMINATING",
        }
    }

    /// Accepts the API's form (`autoscaling:EC2_INSTANCE_LAUNCHING`) or the short one.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim_start_matches("autoscaling:") {
            "EC2_INSTANCE_LAUNCHING" => Some(Self::Launching),
            "EC2_INSTANCE_TERMINATING" => Some(Self::Terminating),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleHook {
    pub name: String,
    pub transition: Transition,
    pub heartbeat_timeout_secs: u32,
    /// `CONTINUE` or `ABANDON`: what happens when the heartbeat timeout passes.
    pub default_result: String,
}

impl LifecycleHook {
    /// AWS ends a wait after 100 heartbeat timeouts or 48 hours, whichever is smaller.
    pub fn global_timeout_secs(&self) -> u32 {
        (self.heartbeat_timeout_secs.saturating_mul(100)).min(172_800)
    }
}

/// An instance held by a lifecycle hook until someone completes the action or it times out.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleAction {
    pub hook: String,
    pub token: String,
    pub started: SimTime,
    /// The heartbeat timeout: a heartbeat moves it (never past `global_deadline`).
    pub deadline: SimTime,
    pub global_deadline: SimTime,
    /// Set once completed (or timed out): `CONTINUE` or `ABANDON`.
    pub result: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone)]
pub struct AsgInstance {
    /// Stable within the world: the Octopus target's link to this instance.
    pub seq: u64,
    pub instance_id: String,
    pub zone: String,
    pub private_ip: String,
    pub name_tag: String,
    pub lifecycle: Lifecycle,
    /// When the current timed state ends (Pending → hooks, Proceed → next, Warmed:Pending → warm).
    pub state_until: SimTime,
    pub health: HealthStatus,
    pub protected: bool,
    pub template_version: u32,
    pub launched_at: SimTime,
    /// When its tentacle registers with Octopus (None once registered or never).
    pub register_at: Option<SimTime>,
    pub registered: bool,
    /// The hooks holding it now (all of one transition).
    pub actions: Vec<LifecycleAction>,
    /// The scaling activity that launched or is terminating it.
    pub activity: Option<String>,
}

impl AsgInstance {
    pub fn private_dns_name(&self, region: &str) -> String {
        let host = format!("ip-{}", self.private_ip.replace('.', "-"));
        if region == "us-east-1" {
            format!("{host}.ec2.internal")
        } else {
            format!("{host}.{region}.compute.internal")
        }
    }

    /// The machine's name as Windows reports it: the host part of its private DNS name, upper
    /// case (`IP-10-0-0-4`), the name a node on it registers under and pairs by.
    pub fn computer_name(&self, region: &str) -> String {
        let dns = self.private_dns_name(region);
        dns.split('.').next().unwrap_or_default().to_uppercase()
    }
}

/// How the targets of a group's instances are named when they register with Octopus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetNaming {
    InstanceId,
    PrivateDnsName,
    NameTag,
}

impl TargetNaming {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "instance_id" => Some(Self::InstanceId),
            "private_dns_name" => Some(Self::PrivateDnsName),
            "name_tag" => Some(Self::NameTag),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InstanceId => "instance_id",
            Self::PrivateDnsName => "private_dns_name",
            Self::NameTag => "name_tag",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WarmPool {
    pub min_size: u32,
    /// None: the group's MaxSize.
    pub max_group_prepared_capacity: Option<u32>,
    /// `Stopped` or `Running`.
    pub pool_state: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRefresh {
    pub id: String,
    pub status: String,
    pub percentage_complete: u32,
    pub instances_to_update: u32,
    pub started: SimTime,
}

/// A scaling activity (`DescribeScalingActivities`).
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: String,
    pub group: String,
    pub description: String,
    pub cause: String,
    pub start: SimTime,
    pub end: Option<SimTime>,
    /// `PreInService`, `InProgress`, `MidLifecycleAction`, `Successful`, `Failed`, `Cancelled`.
    pub status: String,
    pub progress: u32,
}

impl Activity {
    pub fn in_progress(&self) -> bool {
        !matches!(self.status.as_str(), "Successful" | "Failed" | "Cancelled")
    }
}

#[derive(Debug, Clone)]
pub struct AsgGroup {
    pub name: String,
    pub arn: String,
    pub min_size: u32,
    pub max_size: u32,
    pub desired: u32,
    pub default_cooldown_secs: u32,
    pub termination_policies: Vec<String>,
    pub zones: Vec<String>,
    pub launch_template_id: String,
    pub launch_template_name: String,
    /// The version the group launches (the "latest model").
    pub template_version: u32,
    pub instance_type: String,
    pub naming: TargetNaming,
    /// Name tag of instance `seq`: `{name_prefix}{seq}`.
    pub name_prefix: String,
    pub hooks: Vec<LifecycleHook>,
    pub warm_pool: Option<WarmPool>,
    pub refreshes: Vec<InstanceRefresh>,
    pub instances: Vec<AsgInstance>,
    pub created_at: SimTime,
    /// Why the capacity is moving: the cause the next launches and terminations are recorded with.
    pub pending_cause: Option<String>,
}

impl AsgGroup {
    pub fn hooks_for(&self, transition: Transition) -> impl Iterator<Item = &LifecycleHook> {
        self.hooks.iter().filter(move |hook| hook.transition == transition)
    }
    pub fn instance(&self, instance_id: &str) -> Option<&AsgInstance> {
        self.instances.iter().find(|i| i.instance_id == instance_id)
    }
    pub fn in_service_count(&self) -> usize {
        self.instances.iter().filter(|i| i.lifecycle.counts()).count()
    }
}

/// An instance gone from its group: EC2 still describes it as terminated for an hour.
#[derive(Debug, Clone)]
pub struct TerminatedInstance {
    pub group: String,
    pub instance: AsgInstance,
    pub terminated_at: SimTime,
}

/// EC2 forgets terminated instances after about an hour.
pub const TERMINATED_VISIBLE_SECS: f64 = 3600.0;

#[derive(Debug, Clone)]
pub struct AwsWorld {
    pub region: String,
    pub account_id: String,
    pub groups: Vec<AsgGroup>,
    pub terminated: Vec<TerminatedInstance>,
    pub activities: Vec<Activity>,
    pub next_seq: u64,
    /// EC2 boot time (Pending), in simulated seconds.
    pub launch_secs: (f64, f64),
    /// Shutdown time (Terminating:Proceed).
    pub shutdown_secs: (f64, f64),
}

impl Default for AwsWorld {
    fn default() -> Self {
        Self {
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
            groups: Vec::new(),
            terminated: Vec::new(),
            activities: Vec::new(),
            next_seq: 0,
            launch_secs: (30.0, 45.0),
            shutdown_secs: (15.0, 25.0),
        }
    }
}

impl AwsWorld {
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.name == name)
    }
    /// The group holding an instance, and its index there.
    pub fn find_instance(&self, instance_id: &str) -> Option<(usize, usize)> {
        self.groups.iter().enumerate().find_map(|(g, group)| {
            group.instances.iter().position(|i| i.instance_id == instance_id).map(|i| (g, i))
        })
    }
}
