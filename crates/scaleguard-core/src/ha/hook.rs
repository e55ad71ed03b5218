//! Provider-driven scale-in: when to complete a terminating lifecycle hook on an instance that
//! hosts an HA node (AWS Auto Scaling's `Terminating:Wait`), pure.
//!
//! Amazon EC2 Auto Scaling holds a terminating instance until `CompleteLifecycleAction`, or until
//! the hook times out: `HeartbeatTimeout` seconds (30 to 7200, default 3600) after it entered the
//! wait or after the last `RecordLifecycleActionHeartbeat`, never longer than `GlobalTimeout`
//! (at most 48 hours or 100 × HeartbeatTimeout, whichever is smaller); at the timeout it takes the
//! hook's `DefaultResult` (CONTINUE or ABANDON, default ABANDON). For a terminating hook both end
//! in the instance's termination (the AWS LifecycleHook and RecordLifecycleActionHeartbeat API
//! references). So the node is drained while the instance waits, heartbeats extend the wait, and
//! the hook is completed with CONTINUE once the drain finished, or when the wait must end anyway
//! (the configured `nodes.hook_deadline_secs`, or the global timeout) — the drain job then cancels
//! what the vanished node left running.
//!
//! The seam for the AWS provider: list the group's instances in `Terminating:Wait` with their hook
//! (DescribeLifecycleHooks for the timeouts and default result), start or resume the node's drain
//! job (stopped before the record delete, as in `scale_in`), and each poll call [`decide`] with
//! the drain's progress; perform `Heartbeat` / `Complete` and journal them.

use crate::matching::{instance_match_names, normalize_name};
use crate::model::{AwsGroup, HookTransition, Instance, LifecycleHook, Node};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Does a terminating instance of the nodes' scale set host an HA node?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookHost {
    /// Sure: no node answers to its name (its hook is the lifecycle planner's).
    NoNode,
    /// It hosts this node (paired one to one): the node's drain job owns the hook.
    Node { node_id: String, node_name: String },
    /// It may host a node (the nodes cannot be read, its name is unknown or ambiguous): its hook
    /// is held, never completed at once.
    Unsure { why: String },
}

/// Which node `instance` of the nodes' scale set (`instances`: that set's listing) hosts.
/// `nodes`: the HA nodes as listed, or why they could not be.
pub fn host_of(nodes: Result<&[Node], &str>, instances: &[Instance], instance: &Instance) -> HookHost {
    let nodes = match nodes {
        Ok(nodes) => nodes,
        Err(why) => {
            return HookHost::Unsure {
                why: format!("the HA nodes cannot be read ({why}), so it may host one"),
            }
        }
    };
    let pairing = super::pair(nodes, instances);
    if let Some(node_id) = pairing.node_on(&instance.instance_id) {
        let node_name =
            nodes.iter().find(|n| n.id == node_id).map_or_else(|| node_id.to_string(), |n| n.name.clone());
        return HookHost::Node { node_id: node_id.to_string(), node_name };
    }
    let names = instance_match_names(instance, crate::config::MatchBy::ComputerName);
    if names.is_empty() {
        return HookHost::Unsure {
            why: "its computer name is not reported, so it may host an HA node".into(),
        };
    }
    let claimed = nodes.iter().any(|n| names.contains(&normalize_name(&n.name)));
    if claimed {
        let why = pairing.unpaired_vms.get(&instance.instance_id).cloned().unwrap_or_default();
        return HookHost::Unsure {
            why: format!("an HA node answers to its name but is not paired with it for sure: {why}"),
        };
    }
    // A running node that no instance of the set answers to runs somewhere under a name of its own
    // (Windows names an EC2 instance EC2AMAZ-… by default; a node's name can be set at install):
    // this instance may be where, whatever its own name says.
    let homeless: Vec<&str> = nodes
        .iter()
        .filter(|node| !node.is_offline && !pairing.hosts.contains_key(&node.id))
        .filter(|node| {
            let name = normalize_name(&node.name);
            !instances
                .iter()
                .any(|vm| instance_match_names(vm, crate::config::MatchBy::ComputerName).contains(&name))
        })
        .map(|node| node.name.as_str())
        .collect();
    if !homeless.is_empty() {
        return HookHost::Unsure {
            why: format!(
                "HA node(s) {} run and answer to no instance of the set's names, so this instance may host one",
                homeless.join(", ")
            ),
        };
    }
    HookHost::NoNode
}

/// An instance of the nodes' scale set waiting in `Terminating:Wait`, with its hook and host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminatingWait<'a> {
    pub instance: &'a Instance,
    /// The group's one terminating hook, or why which hook holds it cannot be told (none or
    /// several listed): then nothing is sent for it.
    pub hook: Result<&'a LifecycleHook, String>,
    pub host: HookHost,
}

/// The instances of the nodes' scale set (`instances`: its listing; `group`: the Auto Scaling
/// group as read) waiting on a terminating hook, each with the node it hosts.
pub fn terminating_waits<'a>(
    group: &'a AwsGroup,
    instances: &'a [Instance],
    nodes: Result<&[Node], &str>,
) -> Vec<TerminatingWait<'a>> {
    let hooks: Vec<&LifecycleHook> = group.hooks_on(HookTransition::Terminating).collect();
    let hook = match hooks.as_slice() {
        [one] => Ok(*one),
        [] => Err("it waits in Terminating:Wait but the group lists no terminating hook".to_string()),
        many => Err(format!(
            "the group has {} terminating hooks ({}): which one to extend or complete cannot be told, so \
             none is",
            many.len(),
            many.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(", ")
        )),
    };
    instances
        .iter()
        .filter(|i| i.lifecycle_state().and_then(|s| s.hook_wait()) == Some(HookTransition::Terminating))
        .map(|instance| TerminatingWait {
            instance,
            hook: hook.clone(),
            host: host_of(nodes, instances, instance),
        })
        .collect()
}

/// The hook's `DefaultResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HookResult {
    Continue,
    Abandon,
}

impl HookResult {
    pub fn as_str(self) -> &'static str {
        match self {
            HookResult::Continue => "CONTINUE",
            HookResult::Abandon => "ABANDON",
        }
    }
}

/// A call scaleguard makes on a terminating hook (journaled as intent and result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookCall {
    /// `RecordLifecycleActionHeartbeat`.
    Heartbeat,
    /// `CompleteLifecycleAction` with CONTINUE.
    Continue,
}

impl HookCall {
    pub fn as_str(self) -> &'static str {
        match self {
            HookCall::Heartbeat => "heartbeat",
            HookCall::Continue => "complete with CONTINUE",
        }
    }
}

/// One instance waiting on a terminating hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookWait {
    pub instance_id: String,
    pub hook_name: String,
    pub heartbeat_timeout_secs: u64,
    pub global_timeout_secs: u64,
    pub default_result: HookResult,
    /// When the instance entered `Terminating:Wait` (first seen there, if nothing better is known).
    #[serde(with = "time::serde::rfc3339")]
    pub entered_at: OffsetDateTime,
    /// The last heartbeat recorded (journaled) for it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_heartbeat_at: Option<OffsetDateTime>,
}

/// AWS's defaults when the hook does not say: a heartbeat timeout of one hour, a global timeout
/// of 100 heartbeat timeouts or 48 hours, whichever is smaller, and ABANDON.
const DEFAULT_HEARTBEAT_SECS: u64 = 3_600;
const MAX_GLOBAL_SECS: u64 = 172_800;

impl HookWait {
    /// An instance first seen waiting on `hook` at `now`. Auto Scaling does not report when it
    /// entered the wait, so `entered_at` is `now` and no heartbeat is known: [`decide`] sends
    /// one first, which makes the timeout known.
    pub fn first_seen(instance_id: &str, hook: &LifecycleHook, now: OffsetDateTime) -> Self {
        let heartbeat = hook.heartbeat_timeout_secs.filter(|s| *s > 0).unwrap_or(DEFAULT_HEARTBEAT_SECS);
        let global = hook
            .global_timeout_secs
            .filter(|s| *s > 0)
            .unwrap_or_else(|| heartbeat.saturating_mul(100).min(MAX_GLOBAL_SECS));
        let default_result = match hook.default_result.as_deref().map(str::trim) {
            Some(r) if r.eq_ignore_ascii_case("CONTINUE") => HookResult::Continue,
            _ => HookResult::Abandon,
        };
        HookWait {
            instance_id: instance_id.to_string(),
            hook_name: hook.name.clone(),
            heartbeat_timeout_secs: heartbeat,
            global_timeout_secs: global,
            default_result,
            entered_at: now,
            last_heartbeat_at: None,
        }
    }

    /// When AWS would time the hook out if nothing more is sent.
    pub fn times_out_at(&self) -> OffsetDateTime {
        let from = self.last_heartbeat_at.unwrap_or(self.entered_at).max(self.entered_at);
        (from + secs(self.heartbeat_timeout_secs)).min(self.global_end())
    }

    /// The wait can never last past this, heartbeats or not.
    pub fn global_end(&self) -> OffsetDateTime {
        self.entered_at + secs(self.global_timeout_secs)
    }

    /// What happens at the timeout, for the operator: "if nothing is sent, AWS takes ABANDON at
    /// 10:42:00 UTC (the instance terminates either way)".
    pub fn expiry_line(&self) -> String {
        let at = self.times_out_at();
        format!(
            "if nothing is sent, Auto Scaling takes the hook's default result {} at {} (a terminating \
             instance terminates either way)",
            self.default_result.as_str(),
            crate::guard::format_time(at)
        )
    }
}

/// How far the node's drain got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainProgress {
    /// The instance hosts no node (or the node record is gone): nothing to wait for.
    NoNode,
    /// Drained: idle with drain on, or offline with its tasks cancelled.
    Drained,
    /// Still running this many tasks.
    Draining { running: usize },
    /// The drain was aborted or refused: the instance goes anyway, the operator was told.
    Stopped { why: String },
    /// Whether the instance hosts a node cannot be told (`HookHost::Unsure`): never completed,
    /// heartbeated up to the deadline, then left to the hook's own timeout.
    Unsure { why: String },
}

impl DrainProgress {
    /// How far the drain of the node on a terminating instance got, from its provider-driven
    /// scale-in job (`ScaleInJob::provider_driven`); None: the instance hosts no node.
    pub fn of(job: &super::scale_in::ScaleInJob, node_id: Option<&str>) -> DrainProgress {
        use super::scale_in::ScaleInPhase;
        use crate::drain::DrainState;
        let Some(victim) = node_id.and_then(|id| job.victim(id)) else { return DrainProgress::NoNode };
        // Past draining, every victim was drained when the VMs' removal was decided (an
        // operator's job rebuilt from the journal does not carry `drained`).
        let removal_decided =
            matches!(job.phase, ScaleInPhase::RemovingVms { .. } | ScaleInPhase::DeletingNodes);
        match &victim.drain.state {
            DrainState::Done => DrainProgress::NoNode,
            DrainState::Aborted { .. } => {
                DrainProgress::Stopped { why: "the operator aborted the drain".into() }
            }
            _ if victim.drained || removal_decided => DrainProgress::Drained,
            DrainState::Question { running_tasks, .. } => DrainProgress::Draining { running: *running_tasks },
            _ => DrainProgress::Draining { running: 0 },
        }
    }

    /// As [`DrainProgress::of`], from what is known of the instance's host: an unsure host is
    /// never "no node".
    pub fn for_host(job: Option<&super::scale_in::ScaleInJob>, host: &HookHost) -> DrainProgress {
        match (host, job) {
            (HookHost::NoNode, _) => DrainProgress::NoNode,
            (HookHost::Unsure { why }, _) => DrainProgress::Unsure { why: why.clone() },
            (HookHost::Node { node_id, .. }, Some(job)) => DrainProgress::of(job, Some(node_id)),
            (HookHost::Node { node_name, .. }, None) => {
                DrainProgress::Unsure { why: format!("no drain job for {node_name} is running yet") }
            }
        }
    }
}

/// What to do about the hook now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookDecision {
    /// `CompleteLifecycleAction` with CONTINUE.
    Complete { why: String },
    /// `RecordLifecycleActionHeartbeat`: the drain needs more time than the hook has left.
    Heartbeat { why: String },
    /// Nothing yet; look again by `until` at the latest.
    Wait { until: OffsetDateTime, why: String },
}

fn secs(value: u64) -> Duration {
    Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 2))
}

/// Decide for one waiting instance. `deadline_secs` (`nodes.hook_deadline_secs`): how long a
/// drain may hold the instance; `margin_secs`: act this long before a timeout (a poll interval
/// or two, and the call's own time).
pub fn decide(
    hook: &HookWait,
    drain: &DrainProgress,
    now: OffsetDateTime,
    deadline_secs: u64,
    margin_secs: u64,
) -> HookDecision {
    let margin = secs(margin_secs);
    match drain {
        DrainProgress::NoNode => {
            return HookDecision::Complete { why: "the instance hosts no HA node: nothing to drain".into() }
        }
        DrainProgress::Drained => {
            return HookDecision::Complete { why: "the node is drained: the instance may terminate".into() }
        }
        DrainProgress::Stopped { why } => {
            return HookDecision::Complete {
                why: format!("the drain stopped ({why}); the instance goes anyway"),
            }
        }
        DrainProgress::Draining { .. } | DrainProgress::Unsure { .. } => {}
    }
    let running = match drain {
        DrainProgress::Draining { running } => *running,
        _ => 0,
    };
    let end = (hook.entered_at + secs(deadline_secs)).min(hook.global_end());
    // When the instance entered the wait is not reported: until one heartbeat resets the timer,
    // the hook may time out any moment. A heartbeat journaled after `now` was timed by a clock
    // ahead of this one: when Auto Scaling reset the timer cannot be told either.
    let timer_unknown = hook.last_heartbeat_at.is_none_or(|at| at > now);
    if timer_unknown && now + margin < end {
        let held = match drain {
            DrainProgress::Unsure { why } => format!("held: {why}"),
            _ => format!("draining, {running} task(s) running"),
        };
        let seen = if hook.last_heartbeat_at.is_none() {
            "first seen waiting"
        } else {
            "the last heartbeat is journaled later than now (the clock moved back)"
        };
        return HookDecision::Heartbeat {
            why: format!("{held}; {seen}, so its timeout is unknown: extending the hook now"),
        };
    }
    if let DrainProgress::Unsure { why } = drain {
        let times_out = hook.times_out_at();
        if now + margin < end && now + margin >= times_out {
            return HookDecision::Heartbeat { why: format!("held: {why}; extending the hook") };
        }
        let until = if now + margin < end { (times_out - margin).min(end - margin) } else { times_out };
        return HookDecision::Wait {
            until,
            why: format!("held, not completed while this is so: {why}; {}", hook.expiry_line()),
        };
    }
    if now + margin >= end {
        let which =
            if end == hook.global_end() { "the hook's global timeout" } else { "nodes.hook_deadline_secs" };
        return HookDecision::Complete {
            why: format!(
                "{running} task(s) still running, but the wait ends at {} ({which}): completing with CONTINUE; \
                 the node's tasks are cancelled once it is offline",
                crate::guard::format_time(end)
            ),
        };
    }
    let times_out = hook.times_out_at();
    if now + margin >= times_out {
        return HookDecision::Heartbeat {
            why: format!(
                "{running} task(s) still running; the hook would time out at {}: extending it",
                crate::guard::format_time(times_out)
            ),
        };
    }
    let until = (times_out - margin).min(end - margin);
    HookDecision::Wait { until, why: format!("draining, {running} task(s) running") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    fn hook(heartbeat: u64) -> HookWait {
        HookWait {
            instance_id: "i-0abc".into(),
            hook_name: "drain-octopus-node".into(),
            heartbeat_timeout_secs: heartbeat,
            global_timeout_secs: (heartbeat * 100).min(172_800),
            default_result: HookResult::Abandon,
            entered_at: T0,
            last_heartbeat_at: Some(T0),
        }
    }

    fn busy(running: usize) -> DrainProgress {
        DrainProgress::Draining { running }
    }

    #[test]
    fn a_drained_node_or_an_instance_without_one_completes_at_once() {
        assert!(matches!(
            decide(&hook(300), &DrainProgress::Drained, T0, 3600, 30),
            HookDecision::Complete { .. }
        ));
        assert!(matches!(
            decide(&hook(300), &DrainProgress::NoNode, T0, 3600, 30),
            HookDecision::Complete { .. }
        ));
    }

    #[test]
    fn a_busy_node_waits_then_heartbeats_before_the_hook_times_out() {
        let mut h = hook(300);
        match decide(&h, &busy(2), T0 + Duration::seconds(60), 3600, 30) {
            HookDecision::Wait { until, .. } => assert_eq!(until, T0 + Duration::seconds(270)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decide(&h, &busy(2), T0 + Duration::seconds(275), 3600, 30),
            HookDecision::Heartbeat { .. }
        ));
        h.last_heartbeat_at = Some(T0 + Duration::seconds(275));
        assert!(matches!(
            decide(&h, &busy(2), T0 + Duration::seconds(280), 3600, 30),
            HookDecision::Wait { .. }
        ));
    }

    #[test]
    fn at_the_configured_deadline_the_hook_is_completed_though_tasks_run() {
        let mut h = hook(300);
        h.last_heartbeat_at = Some(T0 + Duration::seconds(3500));
        match decide(&h, &busy(1), T0 + Duration::seconds(3580), 3600, 30) {
            HookDecision::Complete { why } => assert!(why.contains("nodes.hook_deadline_secs"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_provider_driven_job_drains_then_waits_for_the_provider_and_the_hook_completes_once_drained() {
        use crate::ha::scale_in::{step, ScaleInEffect, ScaleInJob, ScaleInPhase};
        use crate::ha::tests_props::{config, key, World};
        let mut world = World::new(&[vec![3600], vec![120]]);
        let pairing = crate::ha::pair(&world.nodes, &world.vms);
        let vm = pairing.vm_of("N1").unwrap();
        let victim = crate::ha::Victim {
            node_id: "N1".into(),
            node_name: "octo1".into(),
            instance_id: vm.instance_id.clone(),
            vm_id: vm.vm_id.clone(),
            computer_name: vm.computer_name.clone(),
            why: "terminating (lifecycle hook)".into(),
        };
        let mut job = ScaleInJob::provider_driven(key(), vec![victim], &config());
        let hook = hook(300);
        let mut completed = None;
        for tick in 0..20 {
            let t = step(&job, &world.observe(), world.now, &config());
            assert!(
                t.effects.iter().all(|e| !matches!(e, ScaleInEffect::DeleteVms { .. })),
                "the provider removes it"
            );
            let now = world.now;
            for e in &t.effects {
                world.apply(e, |n| crate::drain::is_online(n, now, &config()));
            }
            job = t.next;
            let decision = decide(&hook, &DrainProgress::of(&job, Some("N1")), world.now, 3600, 30);
            if completed.is_none() && matches!(decision, HookDecision::Complete { .. }) {
                completed = Some(tick);
                // CONTINUE: the provider terminates the instance.
                world.vms.retain(|vm| vm.instance_id != "1");
            }
            if job.phase == ScaleInPhase::Done {
                break;
            }
            world.advance(30);
        }
        assert!(completed.is_some_and(|tick| tick >= 3), "not before its 120 s task finished: {completed:?}");
        assert_eq!(job.phase, ScaleInPhase::Done);
        assert_eq!(world.deleted_nodes, vec!["N1".to_string()]);
        assert!(world.deleted_vms.is_empty() && world.cancelled_online.is_empty());
    }

    #[test]
    fn a_clock_moved_back_since_the_last_heartbeat_extends_the_hook_at_once() {
        // The last heartbeat was journaled at T0 + 250 by a clock that ran 200 s ahead (or this
        // one now runs 200 s behind): when Auto Scaling's timer was reset cannot be told from
        // `now`, so the timeout computed from it may be 200 s too late.
        let mut h = hook(300);
        h.last_heartbeat_at = Some(T0 + Duration::seconds(250));
        let now = T0 + Duration::seconds(50);
        assert!(
            matches!(decide(&h, &busy(1), now, 3600, 25), HookDecision::Heartbeat { .. }),
            "{:?}",
            decide(&h, &busy(1), now, 3600, 25)
        );
        let unsure = DrainProgress::Unsure { why: "names unreadable".into() };
        assert!(matches!(decide(&h, &unsure, now, 3600, 25), HookDecision::Heartbeat { .. }));
    }

    #[test]
    fn the_global_timeout_caps_a_deadline_set_beyond_it() {
        let h = hook(60); // global 6000 s
        match decide(&h, &busy(1), T0 + Duration::seconds(5990), 100_000, 30) {
            HookDecision::Complete { why } => assert!(why.contains("global timeout"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(h.expiry_line().contains("ABANDON"), "{}", h.expiry_line());
    }

    #[test]
    fn an_instance_whose_node_is_unsure_is_held_never_completed_at_once() {
        use crate::ha::tests_props::{instance, node};
        let nodes = [node("N1", "octo1"), node("N2", "octo2")];
        let vms = [instance("1", Some("octo1")), instance("7", Some("OCTO1")), instance("2", Some("octo2"))];
        let vms3 = [
            vms[0].clone(),
            vms[1].clone(),
            vms[2].clone(),
            instance("3", Some("octo3")),
            instance("4", None),
        ];
        assert_eq!(
            host_of(Ok(&nodes), &vms3, &vms3[2]),
            HookHost::Node { node_id: "N2".into(), node_name: "octo2".into() }
        );
        assert_eq!(host_of(Ok(&nodes), &vms3, &vms3[3]), HookHost::NoNode);
        for unsure in [&vms3[0], &vms3[4]] {
            let host = host_of(Ok(&nodes), &vms3, unsure);
            assert!(matches!(host, HookHost::Unsure { .. }), "{}: {host:?}", unsure.instance_id);
        }
        // A running node no instance answers to may be on any instance that hosts no other node.
        let renamed = [nodes[0].clone(), nodes[1].clone(), node("N9", "EC2AMAZ-7QK2M1B")];
        let host = host_of(Ok(&renamed), &vms3, &vms3[3]);
        assert!(matches!(&host, HookHost::Unsure { why } if why.contains("EC2AMAZ-7QK2M1B")), "{host:?}");
        assert!(matches!(host_of(Ok(&renamed), &vms3, &vms3[2]), HookHost::Node { .. }));
        let offline = [nodes[0].clone(), nodes[1].clone(), Node { is_offline: true, ..renamed[2].clone() }];
        assert_eq!(host_of(Ok(&offline), &vms3, &vms3[3]), HookHost::NoNode, "an offline node runs nowhere");
        let failed = host_of(Err("HTTP 503"), &vms3, &vms3[3]);
        assert!(matches!(&failed, HookHost::Unsure { why } if why.contains("HTTP 503")), "{failed:?}");

        // Never "no node": held, heartbeated before the timeout, left to the hook's timeout at the deadline.
        let progress = DrainProgress::for_host(None, &failed);
        assert!(matches!(decide(&hook(300), &progress, T0, 3600, 30), HookDecision::Wait { .. }));
        assert!(matches!(
            decide(&hook(300), &progress, T0 + Duration::seconds(280), 3600, 30),
            HookDecision::Heartbeat { .. }
        ));
        let mut late = hook(300);
        late.last_heartbeat_at = Some(T0 + Duration::seconds(3500));
        match decide(&late, &progress, T0 + Duration::seconds(3590), 3600, 30) {
            HookDecision::Wait { why, .. } => assert!(why.contains("ABANDON"), "{why}"),
            other => panic!("never completed: {other:?}"),
        }
        let paired = HookHost::Node { node_id: "N2".into(), node_name: "octo2".into() };
        assert!(matches!(DrainProgress::for_host(None, &paired), DrainProgress::Unsure { .. }));
    }

    fn terminating(id: &str, name: Option<&str>, state: &str) -> Instance {
        crate::reconcile::testkit::in_lifecycle(crate::ha::tests_props::instance(id, name), state)
    }

    fn asg_hook(name: &str, transition: HookTransition) -> LifecycleHook {
        LifecycleHook {
            name: name.into(),
            transition,
            heartbeat_timeout_secs: Some(300),
            default_result: Some("continue".into()),
            global_timeout_secs: None,
        }
    }

    fn group(hooks: Vec<LifecycleHook>) -> AwsGroup {
        crate::reconcile::testkit::aws_group(6, hooks)
    }

    #[test]
    fn a_hook_first_seen_is_extended_at_once_because_its_timeout_is_unknown() {
        let wait = HookWait::first_seen("i-1", &asg_hook("drain", HookTransition::Terminating), T0);
        assert_eq!((wait.heartbeat_timeout_secs, wait.global_timeout_secs), (300, 30_000));
        assert_eq!(wait.default_result, HookResult::Continue, "the API's value in any case");
        for progress in [busy(1), DrainProgress::Unsure { why: "x".into() }] {
            match decide(&wait, &progress, T0, 3600, 30) {
                HookDecision::Heartbeat { why } => assert!(why.contains("timeout is unknown"), "{why}"),
                other => panic!("{progress:?}: {other:?}"),
            }
        }
        assert!(matches!(
            decide(&wait, &DrainProgress::Drained, T0, 3600, 30),
            HookDecision::Complete { .. }
        ));
        let silent = LifecycleHook {
            heartbeat_timeout_secs: None,
            default_result: None,
            ..asg_hook("h", HookTransition::Terminating)
        };
        let wait = HookWait::first_seen("i-1", &silent, T0);
        assert_eq!((wait.heartbeat_timeout_secs, wait.global_timeout_secs), (3600, 172_800));
        assert_eq!(wait.default_result, HookResult::Abandon, "AWS's default");
    }

    #[test]
    fn only_instances_in_terminating_wait_are_listed_and_only_one_terminating_hook_is_used() {
        use crate::ha::tests_props::node;
        let nodes = [node("N1", "octo1"), node("N2", "octo2")];
        let vms = [
            terminating("1", Some("octo1"), "Terminating:Wait"),
            terminating("2", Some("octo2"), "InService"),
            terminating("3", Some("octo3"), "terminating:wait"),
            terminating("4", Some("octo4"), "Terminating:Proceed"),
        ];
        let launch = asg_hook("warm-up", HookTransition::Launching);
        let g = group(vec![launch.clone(), asg_hook("drain", HookTransition::Terminating)]);
        let waits = terminating_waits(&g, &vms, Ok(&nodes));
        let ids: Vec<&str> = waits.iter().map(|w| w.instance.instance_id.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
        assert_eq!(waits[0].hook.as_ref().map(|h| h.name.as_str()), Ok("drain"));
        assert_eq!(waits[0].host, HookHost::Node { node_id: "N1".into(), node_name: "octo1".into() });
        assert_eq!(waits[1].host, HookHost::NoNode);

        let two = group(vec![
            asg_hook("a", HookTransition::Terminating),
            asg_hook("b", HookTransition::Terminating),
        ]);
        let waits = terminating_waits(&two, &vms, Ok(&nodes));
        assert!(
            matches!(&waits[0].hook, Err(why) if why.contains("a, b") && why.ends_with("cannot be told, so none is")),
            "{:?}",
            waits[0].hook
        );
        let none = group(vec![launch]);
        assert!(terminating_waits(&none, &vms, Ok(&nodes)).iter().all(|w| w.hook.is_err()));
        let unread = terminating_waits(&g, &vms, Err("HTTP 401"));
        assert!(unread.iter().all(|w| matches!(w.host, HookHost::Unsure { .. })));
    }
}
