//! The drain-first scale-in of the HA nodes' scale set (IO around `ha::scale_in`): plan, then one
//! resumable job: observe → step → re-validate → journal → call → journal.
//!
//! Every step is journaled before and after: the victims' drain steps as `Drain` records, the VM
//! delete as one `DeleteInstances`. A killed job is resumed from the journal by the next run
//! (`scale_in_resume`), and the pure step decides from the real state, so nothing the world shows
//! done is sent twice.

use super::scale_in_plan::ScaleInPlan;
use super::scale_in_resume::{pending_scale_in, PendingScaleIn};
use super::{NodeJobError, NodeJobRunner};
use crate::completeness;
use crate::config::Profile;
use crate::drain::{self, DrainChoice, DrainEffect, DrainState};
use crate::guard::ScaleRequest;
use crate::ha::scale_in::{self as job, ScaleInEffect, ScaleInJob, ScaleInObservation, ScaleInPhase};
use crate::journal::{Journal, JournalAction, Outcome, Record};
use crate::model::{Node, ScaleSetKey, TaskState};
use crate::octopus::NodeChange;
use crate::providers::{self, ScaleSetProvider};
use crate::scaling::Scaling;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const RUNNING: [TaskState; 2] = [TaskState::Executing, TaskState::Cancelling];

/// Runs drain-first scale-ins for one profile: the node runner (Octopus, journal, clock) plus the
/// profile's scale-set provider.
#[derive(Clone)]
pub struct ScaleInRunner {
    pub(crate) nodes: NodeJobRunner,
    pub(crate) profile: Profile,
    pub(crate) provider: Option<Arc<dyn ScaleSetProvider>>,
}

/// One victim's progress, for a line of the console's Jobs box and the CLI's stderr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VictimProgress {
    pub node_id: String,
    pub node_name: String,
    pub instance_id: String,
    pub state: DrainState,
    pub state_name: &'static str,
    pub drained: bool,
    pub running_tasks: usize,
}

/// The job's progress after a tick or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleInProgress {
    pub scale_set: String,
    pub phase: &'static str,
    pub victims: Vec<VictimProgress>,
    /// The last transition's reasons.
    pub reasons: Vec<String>,
    /// What this tick or answer sent, one sentence each.
    pub sent: Vec<String>,
    pub resumed: bool,
    pub elapsed_secs: u64,
    pub done: bool,
    pub aborted: bool,
}

impl ScaleInProgress {
    /// "vmss-octo: draining; OCTO000003 drained, OCTO000002 waiting for tasks (1 running)".
    pub fn line(&self) -> String {
        let victims: Vec<String> = self
            .victims
            .iter()
            .map(|v| {
                if v.drained {
                    format!("{} drained", v.node_name)
                } else {
                    format!("{} {} ({} running)", v.node_name, v.state_name, v.running_tasks)
                }
            })
            .collect();
        format!("{}: {}, {}s; {}", self.scale_set, self.phase, self.elapsed_secs, victims.join(", "))
    }

    /// The victims waiting for the operator's answer (past their drain deadline).
    pub fn questions(&self) -> Vec<&VictimProgress> {
        self.victims.iter().filter(|v| matches!(v.state, DrainState::Question { .. })).collect()
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleInStatus {
    Done,
    /// Returned without waiting while the job still waits (tasks running).
    InProgress,
    /// A victim's deadline passed and no answer was given; the job stays open in the journal.
    NeedsAnswer,
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleInOutcome {
    pub status: ScaleInStatus,
    pub progress: ScaleInProgress,
}

impl ScaleInRunner {
    pub fn new(nodes: NodeJobRunner, profile: Profile) -> Self {
        Self { nodes, profile, provider: None }
    }

    /// The node runner underneath (list, admit, hold new nodes).
    pub fn nodes(&self) -> &NodeJobRunner {
        &self.nodes
    }

    /// Use this provider instead of building one from the config (tests, the console's).
    pub fn with_provider(mut self, provider: Arc<dyn ScaleSetProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The configured nodes' scale set, or why there is none.
    pub fn nodes_scale_set(&self) -> Result<ScaleSetKey, NodeJobError> {
        match self.profile.nodes_scale_set() {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(NodeJobError::Invalid(
                "no scale set hosts the HA nodes: set nodes.scale_set in the profile to the configured scale set \
                 whose VMs run them"
                    .into(),
            )),
            Err(why) => Err(NodeJobError::Invalid(why)),
        }
    }

    /// `set` names the nodes' scale set (case-insensitive name or resource_group/name).
    pub fn check_set(&self, set: &str) -> Result<ScaleSetKey, NodeJobError> {
        let key = self.nodes_scale_set()?;
        let wanted = set.trim();
        if key.name.eq_ignore_ascii_case(wanted) || key.to_string().eq_ignore_ascii_case(wanted) {
            Ok(key)
        } else {
            Err(NodeJobError::Invalid(format!(
                "`{wanted}` is not the HA nodes' scale set (nodes.scale_set is {}): a drain-first scale-in is for \
                 that set; scale other sets with `scaleguard scale`",
                key.name
            )))
        }
    }

    fn provider(&self, key: &ScaleSetKey) -> Result<Arc<dyn ScaleSetProvider>, NodeJobError> {
        match &self.provider {
            Some(provider) => Ok(provider.clone()),
            None => {
                providers::for_key(&self.profile, key).map_err(|err| NodeJobError::Invalid(err.to_string()))
            }
        }
    }

    fn scaling(&self, key: &ScaleSetKey) -> Result<Scaling, NodeJobError> {
        let journal = Journal::open(self.nodes.journal.path())?;
        let scaling = Scaling::new(self.nodes.profile.clone(), self.profile.clone(), journal)
            .with_provider(self.provider(key)?)
            .with_clock(self.nodes.clock.clone());
        Ok(scaling)
    }

    /// The nodes with the VM each runs on (`vm` null when unpaired, with the reason).
    pub async fn list(&self) -> Result<Vec<super::NodeRow>, NodeJobError> {
        let Ok(key) = self.nodes_scale_set() else { return self.nodes.list().await };
        let listing = match self.provider(&key) {
            Ok(provider) => provider.listing(&key).await.map(|l| l.instances).map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        self.nodes.list_with(Some(listing.as_deref().map_err(Clone::clone))).await
    }

    /// An unfinished scale-in of the nodes' set in the journal.
    pub fn pending(&self) -> Result<Option<PendingScaleIn>, NodeJobError> {
        let (records, _) = crate::journal::read_all(self.nodes.journal.path())?;
        let key = self.nodes_scale_set().ok();
        Ok(pending_scale_in(&records, &self.nodes.profile, key.as_ref()))
    }

    /// Read the set, the guard's verdict and the nodes, and choose `count` victims. Changes nothing.
    pub async fn plan(
        &self,
        key: &ScaleSetKey,
        count: u32,
        reason: &str,
        force: bool,
    ) -> Result<ScaleInPlan, NodeJobError> {
        let scaling = self.scaling(key)?;
        let listing =
            self.provider(key)?.get_scale_set(key).await.map_err(|e| NodeJobError::Invalid(e.to_string()))?;
        let request = ScaleRequest {
            scale_set: key.clone(),
            new_capacity: listing.capacity.saturating_sub(count),
            reason: reason.to_string(),
            force,
        };
        let proposal =
            scaling.prepare_drain_first(request).await.map_err(|e| NodeJobError::Invalid(e.to_string()))?;
        let nodes = self.nodes.client.nodes().await?;
        Ok(ScaleInPlan::new(proposal, nodes, self.nodes.now(), &self.nodes.config))
    }

    /// Resume the unfinished scale-in, or start the one `plan` describes after reading everything
    /// again: the same victims must still be chosen, and the guard must still allow it.
    pub async fn open(
        &self,
        plan: Option<&ScaleInPlan>,
        reason: &str,
    ) -> Result<ScaleInSession, NodeJobError> {
        if let Some(pending) = self.pending()? {
            let pending_ids: std::collections::BTreeSet<&str> =
                pending.job.victims.iter().map(|v| v.victim.node_id.as_str()).collect();
            let same = |shown: &ScaleInPlan| {
                let shown_ids: std::collections::BTreeSet<&str> =
                    shown.choice.victims.iter().map(|v| v.node_id.as_str()).collect();
                shown_ids == pending_ids
            };
            // Never run another job than the one shown: an unfinished one is resumed on its own.
            if plan.is_none_or(same) {
                return Ok(ScaleInSession::resumed(self.clone(), pending));
            }
            let names: Vec<String> = pending.job.victims.iter().map(|v| v.victim.label()).collect();
            return Err(NodeJobError::Invalid(format!(
                "an unfinished drain-first scale-in of {} ({}) is in the journal: resume it first with \
                 `scaleguard node scale-in {}`; nothing was changed",
                pending.job.scale_set.name,
                names.join(", "),
                pending.job.scale_set.name
            )));
        }
        let Some(shown) = plan else {
            return Err(NodeJobError::Invalid("no unfinished scale-in to resume".into()));
        };
        let key = shown.proposal.key().clone();
        let fresh = self.plan(&key, shown.count(), reason, shown.proposal.request.force).await?;
        if !fresh.is_allowed() {
            return Err(NodeJobError::Invalid(format!(
                "refused, nothing was changed: {}",
                fresh.refusals().join("; ")
            )));
        }
        let shown_ids: Vec<&str> = shown.choice.victims.iter().map(|v| v.node_id.as_str()).collect();
        let fresh_ids: Vec<&str> = fresh.choice.victims.iter().map(|v| v.node_id.as_str()).collect();
        if shown_ids != fresh_ids {
            return Err(NodeJobError::Invalid(format!(
                "the cluster changed since it was shown: now {} would be removed instead of {}; nothing was changed, \
                 ask again",
                fresh.choice.victims.iter().map(|v| v.node_name.as_str()).collect::<Vec<_>>().join(", "),
                shown.choice.victims.iter().map(|v| v.node_name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let now = self.nodes.now();
        let job = ScaleInJob::start(
            key.clone(),
            fresh.choice.victims.clone(),
            &fresh.nodes,
            now,
            &self.nodes.config,
        )
        .map_err(NodeJobError::Refused)?;
        let action = JournalAction::ScaleInJob {
            scale_set: key,
            victims: fresh.choice.victims.clone(),
            wait_secs: self.nodes.config.drain_deadline_secs,
        };
        let reason = if reason.trim().is_empty() { "drain-first scale-in of the HA nodes" } else { reason };
        let intent = self.nodes.journal.append_intent(&self.nodes.profile, reason, action, now)?;
        Ok(ScaleInSession {
            runner: self.clone(),
            job,
            intent,
            started_at: now,
            resumed: false,
            uncertain_cancels: Vec::new(),
            disable_drain_unfinished: Vec::new(),
            vm_delete_open: None,
            last: None,
        })
    }

    /// Run the job to its end (or until a question nobody answers): `on_question` gets the
    /// progress and answers (node id, choice), or None to stop with the job left open.
    pub async fn run(
        &self,
        plan: Option<&ScaleInPlan>,
        reason: &str,
        poll: Duration,
        wait: bool,
        on_progress: &mut (dyn FnMut(&ScaleInProgress) + Send),
        on_question: &mut (dyn FnMut(&ScaleInProgress) -> Option<(String, DrainChoice)> + Send),
    ) -> Result<ScaleInOutcome, NodeJobError> {
        let mut session = self.open(plan, reason).await?;
        loop {
            let before = session.job.phase.clone();
            let mut progress = session.tick().await?;
            on_progress(&progress);
            if !progress.questions().is_empty() {
                match on_question(&progress) {
                    Some((node, choice)) => {
                        progress = session.answer(&node, choice).await?;
                        on_progress(&progress);
                    }
                    None => return Ok(ScaleInOutcome { status: ScaleInStatus::NeedsAnswer, progress }),
                }
            }
            if progress.done {
                return Ok(ScaleInOutcome { status: ScaleInStatus::Done, progress });
            }
            if progress.aborted {
                return Ok(ScaleInOutcome { status: ScaleInStatus::Aborted, progress });
            }
            let moved = !progress.sent.is_empty() || before != session.job.phase;
            if !wait && !moved {
                return Ok(ScaleInOutcome { status: ScaleInStatus::InProgress, progress });
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// A scale-in being driven.
pub struct ScaleInSession {
    runner: ScaleInRunner,
    job: ScaleInJob,
    intent: Record,
    started_at: OffsetDateTime,
    resumed: bool,
    uncertain_cancels: Vec<(String, String)>,
    disable_drain_unfinished: Vec<String>,
    /// A VM delete an earlier run journaled without a result: settled here from what the
    /// listing shows (gone: done; still there and sent again: failed).
    vm_delete_open: Option<Record>,
    last: Option<ScaleInProgress>,
}

impl ScaleInSession {
    fn resumed(runner: ScaleInRunner, pending: PendingScaleIn) -> Self {
        Self {
            runner,
            started_at: pending.intent.time,
            job: pending.job,
            intent: pending.intent,
            resumed: true,
            uncertain_cancels: pending.uncertain_cancels,
            disable_drain_unfinished: pending.disable_drain_unfinished,
            vm_delete_open: pending.vm_delete_open,
            last: None,
        }
    }

    pub fn job(&self) -> &ScaleInJob {
        &self.job
    }

    pub fn is_resumed(&self) -> bool {
        self.resumed
    }

    pub fn last_progress(&self) -> Option<&ScaleInProgress> {
        self.last.as_ref()
    }

    async fn observe(&self, list_vms: bool) -> Result<ScaleInObservation, NodeJobError> {
        let client = &self.runner.nodes.client;
        let nodes = client.nodes().await?;
        let mut tasks = BTreeMap::new();
        for victim in self.job.victims.iter().filter(|v| v.drain.state != DrainState::Done) {
            let id = &victim.victim.node_id;
            tasks.insert(id.clone(), client.tasks(Some(id), &RUNNING).await?);
        }
        let vms = if list_vms { self.list_vms().await } else { None };
        Ok(ScaleInObservation { nodes, tasks, vms })
    }

    /// The nodes' set as listed now, and whether the listing proves absence; None when it failed.
    async fn list_vms(&self) -> Option<(Vec<crate::model::Instance>, bool)> {
        let provider = self.runner.provider(&self.job.scale_set).ok()?;
        match provider.listing(&self.job.scale_set).await {
            Ok(listing) => {
                let complete = completeness::judge(&listing).is_proven();
                Some((listing.instances, complete))
            }
            Err(err) => {
                tracing::warn!(error = %err, "scale-in: the nodes' scale set could not be listed");
                None
            }
        }
    }

    /// Observe, advance the job, perform its effects (each journaled). Terminal jobs only observe.
    pub async fn tick(&mut self) -> Result<ScaleInProgress, NodeJobError> {
        let removing = matches!(self.job.phase, ScaleInPhase::RemovingVms { .. });
        let mut observation = self.observe(removing).await?;
        let now = self.runner.nodes.now();
        self.settle_uncertain_cancels(&observation);
        if !self.disable_drain_unfinished.is_empty() {
            return self.finish_interrupted_abort(&observation).await;
        }
        let config = self.runner.nodes.config.clone();
        let mut transition = job::step(&self.job, &observation, now, &config);
        if !removing && matches!(transition.next.phase, ScaleInPhase::RemovingVms { sent_at: None }) {
            // Every victim is drained: look at the set in the same tick.
            observation.vms = self.list_vms().await;
            transition = job::step(&self.job, &observation, now, &config);
        }
        let sent =
            self.apply(&observation.nodes, transition.next, &transition.effects, &transition.reasons).await;
        let progress = self.progress(
            &observation,
            transition.reasons.clone(),
            sent.iter().map(|(s, _)| s.clone()).collect(),
        );
        self.finish(now)?;
        sent.into_iter().map(|(_, r)| r).find(Result::is_err).unwrap_or(Ok(()))?;
        Ok(progress)
    }

    /// The operator's answer about one victim (keep waiting, cancel its tasks now), or an abort of
    /// the whole scale-in while no VM was touched.
    pub async fn answer(&mut self, node: &str, choice: DrainChoice) -> Result<ScaleInProgress, NodeJobError> {
        let now = self.runner.nodes.now();
        let transition = job::answer(&self.job, node, choice, now)
            .map_err(|err| NodeJobError::Invalid(err.to_string()))?;
        let observation = self.observe(false).await?;
        let sent =
            self.apply(&observation.nodes, transition.next, &transition.effects, &transition.reasons).await;
        let progress = self.progress(
            &observation,
            transition.reasons.clone(),
            sent.iter().map(|(s, _)| s.clone()).collect(),
        );
        self.finish(now)?;
        sent.into_iter().map(|(_, r)| r).find(Result::is_err).unwrap_or(Ok(()))?;
        Ok(progress)
    }

    /// A cancel journaled without a result reached the server only if the task moved on.
    fn settle_uncertain_cancels(&mut self, observation: &ScaleInObservation) {
        for (node, task) in std::mem::take(&mut self.uncertain_cancels) {
            let still_running = observation
                .tasks
                .get(&node)
                .is_some_and(|tasks| tasks.iter().any(|t| t.id == task && t.state == TaskState::Executing));
            if still_running {
                if let Some(victim) = self.job.victims.iter_mut().find(|v| v.victim.node_id == node) {
                    victim.drain.cancelled.retain(|id| *id != task);
                    if let DrainState::CancellingTasks { requested, .. } = &mut victim.drain.state {
                        requested.retain(|id| *id != task);
                    }
                }
            }
        }
    }

    async fn finish_interrupted_abort(
        &mut self,
        observation: &ScaleInObservation,
    ) -> Result<ScaleInProgress, NodeJobError> {
        let mut sent = Vec::new();
        for node_id in std::mem::take(&mut self.disable_drain_unfinished) {
            let on = observation.nodes.iter().any(|n| n.id == node_id && n.drain);
            let Some(victim) = self.job.victims.iter().find(|v| v.victim.node_id == node_id) else {
                continue;
            };
            if on {
                let effect = ScaleInEffect::Drain {
                    node_id: node_id.clone(),
                    node_name: victim.victim.node_name.clone(),
                    effect: DrainEffect::DisableDrain,
                };
                let reason = "finishing an interrupted abort";
                sent.push(self.perform(&observation.nodes, &effect, reason).await);
            }
        }
        let now = self.runner.nodes.now();
        let reasons = vec!["finished an interrupted abort".to_string()];
        let progress = self.progress(observation, reasons, sent.iter().map(|(s, _)| s.clone()).collect());
        self.finish(now)?;
        sent.into_iter().map(|(_, r)| r).find(Result::is_err).unwrap_or(Ok(()))?;
        Ok(progress)
    }

    /// Adopt `next`, then perform the effects in order; stop at the first failure (the next tick
    /// observes and decides again; a failed cancel is forgotten so it is sent again).
    async fn apply(
        &mut self,
        nodes: &[Node],
        next: ScaleInJob,
        effects: &[ScaleInEffect],
        reasons: &[String],
    ) -> Vec<(String, Result<(), NodeJobError>)> {
        self.job = next;
        let reason = reasons.join("; ");
        if let Err(err) = self.settle_open_vm_delete(effects) {
            return vec![(String::from("the interrupted VM delete could not be settled"), Err(err))];
        }
        let mut sent = Vec::new();
        for effect in effects {
            let (line, result) = self.perform(nodes, effect, &reason).await;
            let failed = result.is_err();
            match (effect, &result) {
                (ScaleInEffect::DeleteVms { .. }, Ok(())) => self.job.vms_deleted(),
                (ScaleInEffect::Drain { node_id, effect: DrainEffect::CancelTask(task), .. }, Err(_)) => {
                    if let Some(victim) = self.job.victims.iter_mut().find(|v| &v.victim.node_id == node_id) {
                        victim.drain.cancelled.retain(|id| id != task);
                        if let DrainState::CancellingTasks { requested, .. } = &mut victim.drain.state {
                            requested.retain(|id| id != task);
                        }
                    }
                }
                _ => {}
            }
            sent.push((line, result));
            if failed {
                break;
            }
        }
        sent
    }

    /// The VM delete an earlier run left without a result: done once the job moved past removing
    /// the VMs (the listing proved them gone), failed when it is about to be sent again.
    fn settle_open_vm_delete(&mut self, effects: &[ScaleInEffect]) -> Result<(), NodeJobError> {
        let Some(open) = &self.vm_delete_open else { return Ok(()) };
        let resending = effects.iter().any(|e| matches!(e, ScaleInEffect::DeleteVms { .. }));
        let past = !matches!(self.job.phase, ScaleInPhase::RemovingVms { .. });
        let (outcome, seen) = if resending {
            let why = "the VMs were still listed, not being deleted: sent again".to_string();
            (Outcome::Failed(why.clone()), why)
        } else if past {
            (Outcome::Done, "the VMs are gone from the listing".to_string())
        } else {
            return Ok(());
        };
        let note = Some(format!("{}: {seen}", crate::executor::SETTLED));
        self.runner.nodes.journal.append_result_noted(open, outcome, note, self.runner.nodes.now())?;
        self.vm_delete_open = None;
        Ok(())
    }

    /// Re-validate, journal the intent, call, journal the result. Returns a sentence for the
    /// operator and how it went.
    async fn perform(
        &self,
        nodes: &[Node],
        effect: &ScaleInEffect,
        reason: &str,
    ) -> (String, Result<(), NodeJobError>) {
        let runner = &self.runner.nodes;
        let now = runner.now();
        match effect {
            ScaleInEffect::Drain { node_id, node_name, effect } => {
                let ids: Vec<&str> = self.job.victims.iter().map(|v| v.victim.node_id.as_str()).collect();
                let still_allowed = match effect {
                    DrainEffect::EnableDrain => drain::check_removal(nodes, &ids, now, &runner.config),
                    DrainEffect::DeleteNode => {
                        drain::check_delete(nodes, node_id, now, &runner.config, false)
                    }
                    DrainEffect::DisableDrain | DrainEffect::CancelTask(_) => Ok(()),
                };
                let line = super::effect_line(node_name, effect);
                let action = JournalAction::Drain {
                    node_id: node_id.clone(),
                    node_name: node_name.clone(),
                    effect: effect.clone(),
                };
                if let Err(refusals) = still_allowed {
                    let err = NodeJobError::Refused(refusals);
                    let journaled = runner
                        .journal
                        .append_intent(&runner.profile, reason, action, now)
                        .and_then(|intent| {
                            runner.journal.append_result(&intent, Outcome::Skipped(err.to_string()), now)
                        });
                    return (line, journaled.map_err(NodeJobError::from).and(Err(err)));
                }
                let result = async {
                    let _lock = crate::executor::hold_for_change(&runner.journal, &runner.profile).await?;
                    let intent = runner.journal.append_intent(&runner.profile, reason, action, now)?;
                    let client = &runner.client;
                    let called = match effect {
                        DrainEffect::EnableDrain => {
                            client
                                .update_node(node_id, &NodeChange { drain: Some(true), ..Default::default() })
                                .await
                        }
                        DrainEffect::DisableDrain => {
                            client
                                .update_node(
                                    node_id,
                                    &NodeChange { drain: Some(false), ..Default::default() },
                                )
                                .await
                        }
                        DrainEffect::CancelTask(task) => client.cancel_task(task).await,
                        DrainEffect::DeleteNode => client.delete_node(node_id).await,
                    };
                    let outcome = match &called {
                        Ok(()) => Outcome::Done,
                        Err(err) => Outcome::Failed(err.to_string()),
                    };
                    runner.journal.append_result(&intent, outcome, runner.now())?;
                    called.map_err(NodeJobError::from)
                }
                .await;
                (line, result)
            }
            ScaleInEffect::DeleteVms { instance_ids } => {
                let key = &self.job.scale_set;
                let line = format!("VM(s) {} of {} deleted", instance_ids.join(", "), key.name);
                let result = async {
                    let provider = self.runner.provider(key)?;
                    let _lock = crate::executor::hold_for_change(&runner.journal, &runner.profile).await?;
                    let action = JournalAction::DeleteInstances {
                        scale_set: key.clone(),
                        instance_ids: instance_ids.clone(),
                    };
                    let intent = runner.journal.append_intent(&runner.profile, reason, action, now)?;
                    let called = match provider.delete_instances(key, instance_ids).await {
                        Ok(operation) => provider.wait(&operation).await,
                        Err(err) => Err(err),
                    };
                    let outcome = match &called {
                        Ok(()) => Outcome::Done,
                        Err(err) => Outcome::Failed(err.to_string()),
                    };
                    runner.journal.append_result(&intent, outcome, runner.now())?;
                    called.map_err(|err| NodeJobError::Invalid(err.to_string()))
                }
                .await;
                (line, result)
            }
        }
    }

    /// Close the job in the journal once it reached its end (once).
    fn finish(&mut self, now: OffsetDateTime) -> Result<(), NodeJobError> {
        if !self.job.phase.is_terminal() || self.intent.outcome.is_some() {
            return Ok(());
        }
        let outcome = match self.job.phase {
            ScaleInPhase::Aborted { drain_left_on: true } => {
                Outcome::Skipped("aborted by the operator before any VM was touched; drain left on".into())
            }
            ScaleInPhase::Aborted { drain_left_on: false } => {
                Outcome::Skipped("aborted by the operator before any VM was touched; drain turned off".into())
            }
            _ => Outcome::Done,
        };
        let result = self.runner.nodes.journal.append_result(&self.intent, outcome, now)?;
        self.intent.outcome = result.outcome;
        Ok(())
    }

    fn progress(
        &mut self,
        observation: &ScaleInObservation,
        reasons: Vec<String>,
        sent: Vec<String>,
    ) -> ScaleInProgress {
        let now = self.runner.nodes.now();
        let elapsed = (now - self.started_at).whole_seconds().max(0);
        let victims = self
            .job
            .victims
            .iter()
            .map(|v| {
                let id = &v.victim.node_id;
                let counted =
                    observation.nodes.iter().find(|n| &n.id == id).map_or(0, |n| n.running_tasks as usize);
                let listed = observation.tasks.get(id).map_or(0, Vec::len);
                VictimProgress {
                    node_id: id.clone(),
                    node_name: v.victim.node_name.clone(),
                    instance_id: v.victim.instance_id.clone(),
                    state: v.drain.state.clone(),
                    state_name: v.drain.state.name(),
                    drained: v.drained,
                    running_tasks: counted.max(listed),
                }
            })
            .collect();
        let progress = ScaleInProgress {
            scale_set: self.job.scale_set.name.clone(),
            phase: self.job.phase.name(),
            victims,
            reasons,
            sent,
            resumed: self.resumed,
            elapsed_secs: u64::try_from(elapsed).unwrap_or(0),
            done: self.job.phase == ScaleInPhase::Done,
            aborted: matches!(self.job.phase, ScaleInPhase::Aborted { .. }),
        };
        self.last = Some(progress.clone());
        progress
    }
}

/// Compile-time check: a session and its tick move to a worker task (the console's).
#[allow(dead_code)]
fn tick_is_send(
    session: &mut ScaleInSession,
) -> impl std::future::Future<Output = Result<ScaleInProgress, NodeJobError>> + Send + '_ {
    session.tick()
}
