//! One drain-first scale-in being driven: observe → `ha::scale_in::step` → re-validate →
//! journal → call → journal, each step; answers to a victim's deadline question; an interrupted
//! VM delete or abort settled from what the world shows.

use super::scale_in::{ScaleInProgress, ScaleInRunner, VictimProgress};
use super::scale_in_resume::PendingScaleIn;
use super::NodeJobError;
use crate::completeness;
use crate::drain::{self, DrainChoice, DrainEffect, DrainState};
use crate::ha::scale_in::{self as job, ScaleInEffect, ScaleInJob, ScaleInObservation, ScaleInPhase};
use crate::journal::{JournalAction, Outcome, Record};
use crate::model::{Node, TaskState};
use std::collections::BTreeMap;
use time::OffsetDateTime;

const RUNNING: [TaskState; 2] = [TaskState::Executing, TaskState::Cancelling];

/// A scale-in being driven.
pub struct ScaleInSession {
    pub(super) runner: ScaleInRunner,
    pub(super) job: ScaleInJob,
    pub(super) intent: Record,
    pub(super) started_at: OffsetDateTime,
    pub(super) resumed: bool,
    pub(super) uncertain_cancels: Vec<(String, String)>,
    pub(super) disable_drain_unfinished: Vec<String>,
    /// A VM delete an earlier run journaled without a result: settled here from what the
    /// listing shows (gone: done; still there and sent again: failed).
    pub(super) vm_delete_open: Option<Record>,
    /// Drain-on and node-delete steps an earlier run journaled without a result: closed here
    /// once the nodes show them done (a node gone counts for both).
    pub(super) steps_open: Vec<Record>,
    pub(super) last: Option<ScaleInProgress>,
}

impl ScaleInSession {
    pub(super) fn resumed(runner: ScaleInRunner, pending: PendingScaleIn) -> Self {
        Self {
            runner,
            started_at: pending.intent.time,
            job: pending.job,
            intent: pending.intent,
            resumed: true,
            uncertain_cancels: pending.uncertain_cancels,
            disable_drain_unfinished: pending.disable_drain_unfinished,
            vm_delete_open: pending.vm_delete_open,
            steps_open: pending.steps_open,
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
        self.settle_open_steps(&observation.nodes)?;
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
        self.conclude(&observation, transition, now).await
    }

    /// The operator's answer about one victim (keep waiting, cancel its tasks now), or an abort of
    /// the whole scale-in while no VM was touched.
    pub async fn answer(&mut self, node: &str, choice: DrainChoice) -> Result<ScaleInProgress, NodeJobError> {
        let now = self.runner.nodes.now();
        let transition = job::answer(&self.job, node, choice, now)
            .map_err(|err| NodeJobError::Invalid(err.to_string()))?;
        let observation = self.observe(false).await?;
        self.conclude(&observation, transition, now).await
    }

    /// Adopt and perform `transition`, report the progress, close the job once it ended; the
    /// first failed effect is the error (after the journal says what was sent).
    async fn conclude(
        &mut self,
        observation: &ScaleInObservation,
        transition: job::ScaleInTransition,
        now: OffsetDateTime,
    ) -> Result<ScaleInProgress, NodeJobError> {
        let sent =
            self.apply(&observation.nodes, transition.next, &transition.effects, &transition.reasons).await;
        let progress =
            self.progress(observation, transition.reasons, sent.iter().map(|(s, _)| s.clone()).collect());
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

    /// Close the interrupted drain-on and node-delete steps the nodes now show done; the others
    /// stay open (the job's own steps decide what is sent again).
    fn settle_open_steps(&mut self, nodes: &[Node]) -> Result<(), NodeJobError> {
        let journal = &self.runner.nodes.journal;
        let mut still_open = Vec::new();
        for record in std::mem::take(&mut self.steps_open) {
            let JournalAction::Drain { node_id, node_name, effect } = &record.action else { continue };
            let node = nodes.iter().find(|n| &n.id == node_id);
            let (outcome, seen) = match (effect, node) {
                (DrainEffect::DeleteNode, None) => (Outcome::Done, format!("{node_name} is gone")),
                (_, None) => {
                    let why = format!("{node_name} is gone");
                    (Outcome::Skipped(why.clone()), why)
                }
                (DrainEffect::EnableDrain, Some(node)) if node.drain => {
                    (Outcome::Done, format!("{node_name} shows drain on"))
                }
                (DrainEffect::EnableDrain, Some(_)) => {
                    if let Some(victim) = self.job.victims.iter_mut().find(|v| &v.victim.node_id == node_id) {
                        super::enable_drain_again(&mut victim.drain.state);
                    }
                    let why = format!("{node_name} shows drain off: it did not take effect; sent again");
                    (Outcome::Failed(why.clone()), why)
                }
                _ => {
                    still_open.push(record);
                    continue;
                }
            };
            let note = Some(format!("{}: {seen}", crate::executor::SETTLED));
            journal.append_result_noted(&record, outcome, note, self.runner.nodes.now())?;
        }
        self.steps_open = still_open;
        Ok(())
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
                    // Auto Scaling removes a provider-driven job's instance whatever the cluster
                    // looks like: draining it first only makes that gentle.
                    DrainEffect::EnableDrain if self.job.provider_removes => Ok(()),
                    DrainEffect::EnableDrain => drain::check_removal(nodes, &ids, now, &runner.config),
                    DrainEffect::DeleteNode => {
                        drain::check_delete(nodes, node_id, now, &runner.config, false)
                    }
                    DrainEffect::DisableDrain | DrainEffect::CancelTask(_) => Ok(()),
                };
                let line = super::effect_line(node_name, effect);
                let result = super::session::perform_drain_effect(
                    runner,
                    node_id,
                    node_name,
                    effect,
                    still_allowed,
                    reason,
                )
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
