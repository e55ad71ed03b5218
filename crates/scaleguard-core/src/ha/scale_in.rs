//! The drain-first scale-in of the nodes' scale set: one job over the chosen victims.
//!
//! 1. **Draining**: each victim runs the `drain` machine (enable drain, wait for its tasks, cancel
//!    them only once it is offline or on the operator's word), stopped where the machine would
//!    delete the node: the node is then *drained*. A drained victim that runs tasks again (drain
//!    turned off by someone) is not drained any more.
//! 2. **RemovingVms**: once every victim is drained at the same observation, exactly their VMs
//!    are removed (the provider's delete by instance id; never a capacity decrement that lets the
//!    cloud pick). A VM is sent only while the listing shows it with the victim's `vmId` and not
//!    being deleted already; it counts as gone only when the delete finished or a complete listing
//!    lacks it.
//! 3. **DeletingNodes**: with the VMs gone the nodes cannot heartbeat back: each node record is
//!    deleted by the same `drain` machine (cancelling what a vanished node left running).
//!
//! Like `drain::step`, [`step`] looks at the real state each time, so a job rebuilt from the
//! journal after a kill resumes where it stopped and repeats no step the world shows done.

use super::victims::Victim;
use crate::config::NodesConfig;
use crate::drain::{self, DrainChoice, DrainEffect, DrainError, DrainJob, DrainState, NodeObservation};
use crate::model::{Instance, Node, ProvisioningState, ScaleSetKey, Task};
use std::collections::BTreeMap;
use std::fmt;
use time::{Duration, OffsetDateTime};

/// How long a VM delete the listing does not show yet waits before it is sent again.
const RESEND_AFTER_SECS: i64 = 120;

/// One victim in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VictimJob {
    pub victim: Victim,
    /// The drain machine for its node; never advanced into `Deleting` while draining.
    pub drain: DrainJob,
    /// Drained at the last observation: idle with drain on, or offline with its tasks cancelled.
    pub drained: bool,
    /// This job turned drain on (an abort that turns drain off only touches these).
    pub enabled_drain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleInPhase {
    Draining,
    /// Every victim drained: their VMs are removed. `sent_at`: when the delete was sent.
    RemovingVms {
        sent_at: Option<OffsetDateTime>,
    },
    /// The VMs are gone: the node records are deleted.
    DeletingNodes,
    Done,
    Aborted {
        drain_left_on: bool,
    },
}

impl ScaleInPhase {
    pub fn is_terminal(&self) -> bool {
        matches!(self, ScaleInPhase::Done | ScaleInPhase::Aborted { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            ScaleInPhase::Draining => "draining",
            ScaleInPhase::RemovingVms { .. } => "removing VMs",
            ScaleInPhase::DeletingNodes => "deleting node records",
            ScaleInPhase::Done => "done",
            ScaleInPhase::Aborted { .. } => "aborted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleInJob {
    pub scale_set: ScaleSetKey,
    pub victims: Vec<VictimJob>,
    pub phase: ScaleInPhase,
    /// The provider removes the VMs itself (an AWS instance in `Terminating:Wait` goes once its
    /// hook is completed, see `hook`): the job never sends a delete, it waits for them to be gone.
    pub provider_removes: bool,
}

/// What the world looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleInObservation {
    /// Every node (`octopusservernodes/summary`).
    pub nodes: Vec<Node>,
    /// Each victim's Executing and Cancelling tasks, by node id.
    pub tasks: BTreeMap<String, Vec<Task>>,
    /// The nodes' scale set as just listed (None: the listing failed), and whether the listing
    /// is proven complete (`completeness`): only then does a missing VM count as gone.
    pub vms: Option<(Vec<Instance>, bool)>,
}

impl ScaleInObservation {
    fn of(&self, node_id: &str) -> NodeObservation {
        NodeObservation {
            node: self.nodes.iter().find(|n| n.id == node_id).cloned(),
            tasks: self.tasks.get(node_id).cloned().unwrap_or_default(),
        }
    }
}

/// What the executor must do; each is journaled before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleInEffect {
    /// A drain step on one victim's node (enable, disable, cancel a task, delete the record).
    Drain { node_id: String, node_name: String, effect: DrainEffect },
    /// Delete exactly these VMs of the nodes' scale set.
    DeleteVms { instance_ids: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleInTransition {
    pub next: ScaleInJob,
    pub effects: Vec<ScaleInEffect>,
    /// One line per victim that moved, or for the job: for the operator and the journal.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleInError {
    NotAVictim(String),
    NotNow { choice: String, phase: String },
    Drain(DrainError),
}

impl fmt::Display for ScaleInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScaleInError::NotAVictim(node) => write!(f, "{node} is not one of this scale-in's nodes"),
            ScaleInError::NotNow { choice, phase } => {
                write!(f, "cannot {choice} while the scale-in is {phase}: the VMs are being removed")
            }
            ScaleInError::Drain(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for ScaleInError {}

impl ScaleInJob {
    /// A job over `victims` (chosen by `victims::choose`), after the cluster check over them all.
    pub fn start(
        scale_set: ScaleSetKey,
        victims: Vec<Victim>,
        nodes: &[Node],
        now: OffsetDateTime,
        config: &NodesConfig,
    ) -> Result<ScaleInJob, Vec<drain::NodeRefusal>> {
        let ids: Vec<&str> = victims.iter().map(|v| v.node_id.as_str()).collect();
        drain::check_removal(nodes, &ids, now, config)?;
        Ok(ScaleInJob {
            scale_set,
            victims: victims.into_iter().map(|v| VictimJob::new(v, config.drain_deadline_secs)).collect(),
            phase: ScaleInPhase::Draining,
            provider_removes: false,
        })
    }

    /// The job for instances a provider is already terminating (an AWS lifecycle hook holds
    /// them): drain, let the hook complete (`hook::decide`), wait for the VMs to be gone, delete
    /// the node records. No cluster check: the provider removes them whatever it says, so the
    /// drain only makes it gentle.
    pub fn provider_driven(scale_set: ScaleSetKey, victims: Vec<Victim>, config: &NodesConfig) -> ScaleInJob {
        ScaleInJob {
            scale_set,
            victims: victims.into_iter().map(|v| VictimJob::new(v, config.drain_deadline_secs)).collect(),
            phase: ScaleInPhase::Draining,
            provider_removes: true,
        }
    }

    pub fn victim(&self, node_id: &str) -> Option<&VictimJob> {
        self.victims.iter().find(|v| v.victim.node_id == node_id)
    }

    /// The executor saw the VM delete finish (the provider's operation succeeded).
    pub fn vms_deleted(&mut self) {
        if matches!(self.phase, ScaleInPhase::RemovingVms { .. }) && self.delete_call_removes() {
            self.phase = ScaleInPhase::DeletingNodes;
        }
    }

    /// A delete call that succeeded means the VMs are gone: Azure's delete operation ends when
    /// they are. An Auto Scaling terminate returns at once and a lifecycle hook may hold the
    /// instance, its node still up, so there a listing must show them gone first.
    pub fn delete_call_removes(&self) -> bool {
        self.scale_set.provider != "aws"
    }

    /// A victim's drain question is pending.
    pub fn questions(&self) -> Vec<&VictimJob> {
        self.victims.iter().filter(|v| matches!(v.drain.state, DrainState::Question { .. })).collect()
    }
}

impl VictimJob {
    pub fn new(victim: Victim, wait_secs: u64) -> Self {
        let drain = DrainJob {
            node_id: victim.node_id.clone(),
            node_name: victim.node_name.clone(),
            force: false,
            wait_secs,
            state: DrainState::Requested,
            cancelled: Vec::new(),
        };
        Self { victim, drain, drained: false, enabled_drain: false }
    }

    fn drain_effect(&self, effect: DrainEffect) -> ScaleInEffect {
        ScaleInEffect::Drain {
            node_id: self.victim.node_id.clone(),
            node_name: self.victim.node_name.clone(),
            effect,
        }
    }
}

/// Advance the job on a fresh observation. Pure.
pub fn step(
    job: &ScaleInJob,
    observation: &ScaleInObservation,
    now: OffsetDateTime,
    config: &NodesConfig,
) -> ScaleInTransition {
    match &job.phase {
        ScaleInPhase::Done | ScaleInPhase::Aborted { .. } => ScaleInTransition {
            next: job.clone(),
            effects: vec![],
            reasons: vec!["finished; nothing more to do".into()],
        },
        ScaleInPhase::Draining => draining(job, observation, now, config),
        ScaleInPhase::RemovingVms { sent_at } => removing(job, observation, *sent_at, now),
        ScaleInPhase::DeletingNodes => deleting(job, observation, now, config),
    }
}

fn draining(
    job: &ScaleInJob,
    observation: &ScaleInObservation,
    now: OffsetDateTime,
    config: &NodesConfig,
) -> ScaleInTransition {
    let mut next = job.clone();
    let mut effects = Vec::new();
    let mut reasons = Vec::new();
    for victim in &mut next.victims {
        let transition = drain::step(&victim.drain, &observation.of(&victim.victim.node_id), now, config);
        let deletes = transition.effects.contains(&DrainEffect::DeleteNode);
        let gone = transition.next == DrainState::Done;
        victim.drained = deletes || gone;
        if deletes {
            // Drained: the node record stays until its VM is gone (it would heartbeat back).
            reasons.push(format!("{}: drained", victim.victim.node_name));
            continue;
        }
        victim.drain.apply(&transition);
        if transition.effects.contains(&DrainEffect::EnableDrain) {
            victim.enabled_drain = true;
        }
        for effect in transition.effects {
            effects.push(victim.drain_effect(effect));
        }
        reasons.push(format!("{}: {}", victim.victim.node_name, transition.reason));
    }
    if effects.is_empty() && next.victims.iter().all(|v| v.drained) {
        next.phase = ScaleInPhase::RemovingVms { sent_at: None };
        let mut removing = removing(&next, observation, None, now);
        reasons.append(&mut removing.reasons);
        return ScaleInTransition { next: removing.next, effects: removing.effects, reasons };
    }
    ScaleInTransition { next, effects, reasons }
}

/// Where a victim's VM stands in a listing.
enum VmSeen {
    /// Listed with the victim's identity and not being deleted: may be sent.
    Present,
    Deleting,
    /// A complete listing lacks it, or lists another VM under its instance id.
    Gone,
    /// Not listed by a listing that proves nothing about absence.
    Unproven,
    /// Listed under its instance id but without a vmId, while the victim's is known: a reused
    /// instance id keeps the computer name, so it may be another VM. Never sent, never gone.
    Unidentified,
}

fn seen(victim: &Victim, instances: &[Instance], complete: bool) -> VmSeen {
    let Some(vm) = instances.iter().find(|i| i.instance_id == victim.instance_id) else {
        return if complete { VmSeen::Gone } else { VmSeen::Unproven };
    };
    let same_vm = match (&victim.vm_id, &vm.vm_id) {
        (Some(ours), Some(listed)) => ours.eq_ignore_ascii_case(listed),
        (Some(_), None) => return VmSeen::Unidentified,
        (None, _) => match (&victim.computer_name, &vm.computer_name) {
            (Some(ours), Some(listed)) => ours.eq_ignore_ascii_case(listed),
            _ => true,
        },
    };
    if !same_vm {
        // The instance id now names another VM: ours is gone, and that one is not ours to delete.
        return VmSeen::Gone;
    }
    if vm.provisioning_state == ProvisioningState::Deleting {
        VmSeen::Deleting
    } else {
        VmSeen::Present
    }
}

fn removing(
    job: &ScaleInJob,
    observation: &ScaleInObservation,
    sent_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> ScaleInTransition {
    let mut next = job.clone();
    let Some((instances, complete)) = &observation.vms else {
        let reasons = vec!["the nodes' scale set could not be listed; waiting to remove the VMs".into()];
        return ScaleInTransition { next, effects: vec![], reasons };
    };
    let mut present = Vec::new();
    let mut waiting = 0;
    let mut unidentified = Vec::new();
    for victim in &job.victims {
        match seen(&victim.victim, instances, *complete) {
            VmSeen::Present => present.push(victim.victim.instance_id.clone()),
            VmSeen::Deleting | VmSeen::Unproven => waiting += 1,
            VmSeen::Unidentified => unidentified.push(victim.victim.instance_id.clone()),
            VmSeen::Gone => {}
        }
    }
    if !unidentified.is_empty() {
        let reason = format!(
            "VM(s) {} listed without a vmId: not deleted until the listing shows it is the VM chosen (an instance \
             id may be reused by a new VM)",
            unidentified.join(", ")
        );
        return ScaleInTransition { next, effects: vec![], reasons: vec![reason] };
    }
    if present.is_empty() && waiting == 0 {
        next.phase = ScaleInPhase::DeletingNodes;
        return ScaleInTransition { next, effects: vec![], reasons: vec!["the VMs are gone".into()] };
    }
    if job.provider_removes {
        let reason = format!("waiting for the provider to remove {} VM(s)", present.len() + waiting);
        return ScaleInTransition { next, effects: vec![], reasons: vec![reason] };
    }
    let resend = sent_at.is_none_or(|at| now - at >= Duration::seconds(RESEND_AFTER_SECS));
    if !present.is_empty() && resend {
        let verb = if sent_at.is_some() { "still listed; deleting again" } else { "deleting" };
        next.phase = ScaleInPhase::RemovingVms { sent_at: Some(now) };
        let reason = format!("every node is drained; VM(s) {} {verb}", present.join(", "));
        return ScaleInTransition {
            next,
            effects: vec![ScaleInEffect::DeleteVms { instance_ids: present }],
            reasons: vec![reason],
        };
    }
    let reason = format!("waiting for {} VM(s) to be gone", present.len() + waiting);
    ScaleInTransition { next, effects: vec![], reasons: vec![reason] }
}

fn deleting(
    job: &ScaleInJob,
    observation: &ScaleInObservation,
    now: OffsetDateTime,
    config: &NodesConfig,
) -> ScaleInTransition {
    let mut next = job.clone();
    let mut effects = Vec::new();
    let mut reasons = Vec::new();
    for victim in &mut next.victims {
        if victim.drain.state == DrainState::Done {
            continue;
        }
        let transition = drain::step(&victim.drain, &observation.of(&victim.victim.node_id), now, config);
        victim.drain.apply(&transition);
        for effect in transition.effects {
            effects.push(victim.drain_effect(effect));
        }
        reasons.push(format!("{}: {}", victim.victim.node_name, transition.reason));
    }
    if next.victims.iter().all(|v| v.drain.state == DrainState::Done) {
        next.phase = ScaleInPhase::Done;
        reasons.push("every node record is deleted".into());
    }
    ScaleInTransition { next, effects, reasons }
}

/// The operator's answer about one victim: keep waiting or cancel its tasks now (that victim
/// only), or abort the whole scale-in while no VM was touched (drain left on, or turned off on
/// the nodes this job drained).
pub fn answer(
    job: &ScaleInJob,
    node_id: &str,
    choice: DrainChoice,
    now: OffsetDateTime,
) -> Result<ScaleInTransition, ScaleInError> {
    let index = job
        .victims
        .iter()
        .position(|v| v.victim.node_id == node_id || v.victim.node_name.eq_ignore_ascii_case(node_id))
        .ok_or_else(|| ScaleInError::NotAVictim(node_id.to_string()))?;
    let aborting = matches!(choice, DrainChoice::AbortLeaveDrainOn | DrainChoice::AbortTurnDrainOff);
    let mut next = job.clone();
    if aborting {
        if job.phase != ScaleInPhase::Draining {
            return Err(ScaleInError::NotNow {
                choice: choice.label().into(),
                phase: job.phase.name().into(),
            });
        }
        let drain_left_on = choice == DrainChoice::AbortLeaveDrainOn;
        next.phase = ScaleInPhase::Aborted { drain_left_on };
        let mut effects = Vec::new();
        for victim in &mut next.victims {
            victim.drain.state = DrainState::Aborted { drain_left_on };
            if !drain_left_on && victim.enabled_drain {
                effects.push(victim.drain_effect(DrainEffect::DisableDrain));
            }
        }
        let how =
            if drain_left_on { "drain stays on" } else { "turning drain off where this job turned it on" };
        return Ok(ScaleInTransition {
            next,
            effects,
            reasons: vec![format!("the operator aborted the scale-in; no VM was touched; {how}")],
        });
    }
    let victim = &mut next.victims[index];
    let transition = drain::answer(&victim.drain, choice, now).map_err(ScaleInError::Drain)?;
    victim.drain.apply(&transition);
    let effects = transition.effects.iter().cloned().map(|e| victim.drain_effect(e)).collect();
    Ok(ScaleInTransition {
        reasons: vec![format!("{}: {}", victim.victim.node_name, transition.reason)],
        next,
        effects,
    })
}

#[cfg(test)]
#[path = "scale_in_tests.rs"]
mod tests;
