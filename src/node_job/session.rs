//! One drain job being driven: observe → `step` → re-validate → journal → call → journal.

use super::{find_node, DrainOptions, JobProgress, NodeJobError, NodeJobRunner};
use crate::drain::{self, DrainChoice, DrainEffect, DrainJob, DrainState, NodeObservation, Transition};
use crate::journal::{JournalAction, Outcome, Record};
use crate::model::{Node, TaskState};
use crate::octopus::NodeChange;
use time::OffsetDateTime;

const RUNNING: [TaskState; 2] = [TaskState::Executing, TaskState::Cancelling];

/// A drain job in progress. Tick it; answer its questions; it journals as it goes.
pub struct DrainSession {
    runner: NodeJobRunner,
    job: DrainJob,
    /// The job's start intent; its result closes the job.
    intent: Record,
    started_at: OffsetDateTime,
    resumed: bool,
    /// Resumed cancels with no result: confirmed or dropped on the first observation.
    uncertain_cancels: Vec<String>,
    disable_drain_unfinished: bool,
    last: Option<JobProgress>,
}

impl NodeJobRunner {
    /// Resume `node`'s unfinished job from the journal, or start one after the refusal checks.
    /// A pending job of the other kind (drain vs forced delete) is closed as superseded.
    pub async fn open_drain(&self, node: &str, options: &DrainOptions) -> Result<DrainSession, NodeJobError> {
        let (records, _) = crate::journal::read_all(self.journal.path())?;
        let wanted = node.trim();
        if let Some((_, name)) = super::nodes_in_open_scale_ins(&records, &self.profile)
            .into_iter()
            .find(|(id, name)| id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted))
        {
            return Err(NodeJobError::Invalid(format!(
                "{name} is being removed by an unfinished drain-first scale-in: run `scaleguard node scale-in` again \
                 to resume it (or answer its question in the console)"
            )));
        }
        if let Some(pending) = self.pending(node)? {
            if pending.job.force == options.force {
                return Ok(DrainSession {
                    runner: self.clone(),
                    started_at: pending.intent.time,
                    job: pending.job,
                    intent: pending.intent,
                    resumed: true,
                    uncertain_cancels: pending.uncertain_cancels,
                    disable_drain_unfinished: pending.disable_drain_unfinished,
                    last: None,
                });
            }
            let why = if options.force { "superseded by a forced delete" } else { "superseded by a drain" };
            self.journal.append_result(&pending.intent, Outcome::Skipped(why.into()), self.now())?;
        }
        let nodes = self.client.nodes().await?;
        let found = find_node(&nodes, node)?;
        let now = self.now();
        let mut config = self.config.clone();
        if let Some(secs) = options.deadline_secs {
            config.drain_deadline_secs = secs;
        }
        let job =
            DrainJob::start(&nodes, &found.id, options.force, now, &config).map_err(NodeJobError::Refused)?;
        let action = JournalAction::DrainJob {
            node_id: job.node_id.clone(),
            node_name: job.node_name.clone(),
            force: job.force,
            wait_secs: job.wait_secs,
        };
        let reason = if options.reason.trim().is_empty() {
            if job.force { "forced delete of an HA node" } else { "drain and remove an HA node" }.to_string()
        } else {
            options.reason.clone()
        };
        let intent = self.journal.append_intent(&self.profile, &reason, action, now)?;
        Ok(DrainSession {
            runner: self.clone(),
            job,
            intent,
            started_at: now,
            resumed: false,
            uncertain_cancels: Vec::new(),
            disable_drain_unfinished: false,
            last: None,
        })
    }
}

impl DrainSession {
    pub fn job(&self) -> &DrainJob {
        &self.job
    }

    /// The last progress reported, if any tick or answer ran.
    pub fn last_progress(&self) -> Option<&JobProgress> {
        self.last.as_ref()
    }

    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Observe the node, advance the machine, perform its effects. Terminal jobs only observe.
    pub async fn tick(&mut self) -> Result<JobProgress, NodeJobError> {
        let (nodes, observation) = self.observe().await?;
        let now = self.runner.now();
        if !self.uncertain_cancels.is_empty() {
            // A cancel journaled without a result reached the server only if the task moved on.
            let unsent: Vec<String> = observation
                .tasks
                .iter()
                .filter(|t| t.state == TaskState::Executing && self.uncertain_cancels.contains(&t.id))
                .map(|t| t.id.clone())
                .collect();
            self.forget_cancels(&unsent);
            self.uncertain_cancels.clear();
        }
        if self.disable_drain_unfinished {
            self.disable_drain_unfinished = false;
            if observation.node.as_ref().is_some_and(|n| n.drain) {
                let sent =
                    self.perform(&nodes, DrainEffect::DisableDrain, "finishing an interrupted abort").await;
                self.finish(now)?;
                sent?;
                let reason = "turned drain off (finishing an interrupted abort)";
                return Ok(self.progress(Some(&observation), reason, vec![DrainEffect::DisableDrain]));
            }
        }
        let first_resumed_tick = self.resumed && self.last.is_none();
        let shows_drain_off = observation.node.as_ref().is_some_and(|n| !n.drain);
        if first_resumed_tick && shows_drain_off {
            super::enable_drain_again(&mut self.job.state);
        }
        let transition = drain::step(&self.job, &observation, now, &self.runner.config);
        let sent = self.apply(&nodes, &transition).await;
        let effects = sent.iter().map(|(e, _)| e.clone()).collect();
        let progress = self.progress(Some(&observation), &transition.reason, effects);
        self.finish(now)?;
        first_error(sent)?;
        Ok(progress)
    }

    /// The operator's answer to a question (or cancel-now / abort while waiting).
    pub async fn answer(&mut self, choice: DrainChoice) -> Result<JobProgress, NodeJobError> {
        let now = self.runner.now();
        let transition = drain::answer(&self.job, choice, now)?;
        // Only an effect needs fresh state (to re-validate); otherwise the last count stands.
        let (nodes, observation) = if transition.effects.is_empty() {
            (Vec::new(), None)
        } else {
            self.observe().await.map(|(n, o)| (n, Some(o)))?
        };
        let sent = self.apply(&nodes, &transition).await;
        let effects = sent.iter().map(|(e, _)| e.clone()).collect();
        let progress = self.progress(observation.as_ref(), &transition.reason, effects);
        self.finish(now)?;
        first_error(sent)?;
        Ok(progress)
    }

    async fn observe(&self) -> Result<(Vec<Node>, NodeObservation), NodeJobError> {
        let nodes = self.runner.client.nodes().await?;
        let tasks = self.runner.client.tasks(Some(&self.job.node_id), &RUNNING).await?;
        let node = nodes.iter().find(|n| n.id == self.job.node_id).cloned();
        Ok((nodes, NodeObservation { node, tasks }))
    }

    /// Adopt the transition, then perform its effects in order; a failed cancel is forgotten so
    /// the next tick sends it again. Stops at the first refusal or failure.
    async fn apply(
        &mut self,
        nodes: &[Node],
        transition: &Transition,
    ) -> Vec<(DrainEffect, Result<(), NodeJobError>)> {
        self.job.apply(transition);
        let mut sent = Vec::new();
        for effect in &transition.effects {
            let result = self.perform(nodes, effect.clone(), &transition.reason).await;
            let failed = result.is_err();
            if failed {
                if let DrainEffect::CancelTask(id) = effect {
                    self.forget_cancels(std::slice::from_ref(id));
                }
            }
            sent.push((effect.clone(), result));
            if failed {
                break;
            }
        }
        // Cancels never sent because an earlier effect failed are not "asked" either.
        let unsent: Vec<String> = transition
            .effects
            .iter()
            .skip(sent.len())
            .filter_map(|e| if let DrainEffect::CancelTask(id) = e { Some(id.clone()) } else { None })
            .collect();
        self.forget_cancels(&unsent);
        sent
    }

    fn forget_cancels(&mut self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        self.job.cancelled.retain(|id| !ids.contains(id));
        if let DrainState::CancellingTasks { requested, .. } = &mut self.job.state {
            requested.retain(|id| !ids.contains(id));
        }
    }

    /// Re-validate, journal the intent, call Octopus, journal the result.
    async fn perform(&self, nodes: &[Node], effect: DrainEffect, reason: &str) -> Result<(), NodeJobError> {
        let runner = &self.runner;
        let now = runner.now();
        let id = &self.job.node_id;
        // Fresh state right before the destructive call: the cluster may have changed since start.
        let still_allowed = match &effect {
            DrainEffect::EnableDrain => drain::check_drain(nodes, id, now, &runner.config),
            DrainEffect::DeleteNode => drain::check_delete(nodes, id, now, &runner.config, self.job.force),
            DrainEffect::DisableDrain | DrainEffect::CancelTask(_) => Ok(()),
        };
        perform_drain_effect(runner, id, &self.job.node_name, &effect, still_allowed, reason).await
    }

    /// Close the job in the journal once it reached a terminal state (once).
    fn finish(&mut self, now: OffsetDateTime) -> Result<(), NodeJobError> {
        if !self.job.state.is_terminal() || self.intent.outcome.is_some() {
            return Ok(());
        }
        let outcome = match self.job.state {
            DrainState::Aborted { drain_left_on: true } => {
                Outcome::Skipped("aborted by the operator; drain left on".into())
            }
            DrainState::Aborted { drain_left_on: false } => {
                Outcome::Skipped("aborted by the operator; drain turned off".into())
            }
            _ => Outcome::Done,
        };
        let result = self.runner.journal.append_result(&self.intent, outcome, now)?;
        self.intent.outcome = result.outcome;
        Ok(())
    }

    fn progress(
        &mut self,
        observation: Option<&NodeObservation>,
        reason: &str,
        sent: Vec<DrainEffect>,
    ) -> JobProgress {
        let elapsed = (self.runner.now() - self.started_at).whole_seconds().max(0);
        let running_tasks = match observation {
            Some(observation) => observation.running_count(),
            None => self.last.as_ref().map_or(0, |p| p.running_tasks),
        };
        let progress = JobProgress {
            node_id: self.job.node_id.clone(),
            node_name: self.job.node_name.clone(),
            state: self.job.state.clone(),
            state_name: self.job.state.name(),
            running_tasks,
            elapsed_secs: u64::try_from(elapsed).unwrap_or(0),
            reason: reason.to_string(),
            sent,
            resumed: self.resumed,
        };
        self.last = Some(progress.clone());
        progress
    }
}

fn first_error(sent: Vec<(DrainEffect, Result<(), NodeJobError>)>) -> Result<(), NodeJobError> {
    sent.into_iter().map(|(_, result)| result).find(Result::is_err).unwrap_or(Ok(()))
}

/// Compile-time check: a session and its tick move to a worker task (the console's executor).
#[allow(dead_code)]
fn tick_is_send(
    session: &mut DrainSession,
) -> impl std::future::Future<Output = Result<JobProgress, NodeJobError>> + Send + '_ {
    session.tick()
}

/// One drain step on `node_id`, as both drain jobs send it: a refusal found right before the call
/// is journaled as skipped; otherwise intent, the Octopus call, result.
pub(super) async fn perform_drain_effect(
    runner: &NodeJobRunner,
    node_id: &str,
    node_name: &str,
    effect: &DrainEffect,
    still_allowed: Result<(), Vec<drain::NodeRefusal>>,
    reason: &str,
) -> Result<(), NodeJobError> {
    let now = runner.now();
    let action = JournalAction::Drain {
        node_id: node_id.to_string(),
        node_name: node_name.to_string(),
        effect: effect.clone(),
    };
    if let Err(refusals) = still_allowed {
        let err = NodeJobError::Refused(refusals);
        let intent = runner.journal.append_intent(&runner.profile, reason, action, now)?;
        runner.journal.append_result(&intent, Outcome::Skipped(err.to_string()), now)?;
        return Err(err);
    }
    let _lock = crate::executor::hold_for_change(&runner.journal, &runner.profile).await?;
    let intent = runner.journal.append_intent(&runner.profile, reason, action, now)?;
    let client = &runner.client;
    let called = match effect {
        DrainEffect::EnableDrain => {
            client.update_node(node_id, &NodeChange { drain: Some(true), ..Default::default() }).await
        }
        DrainEffect::DisableDrain => {
            client.update_node(node_id, &NodeChange { drain: Some(false), ..Default::default() }).await
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
