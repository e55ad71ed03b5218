//! The HA-node executor: performs the drain state machine's effects against Octopus, journaling
//! each before and after, and resumes a job a killed process left unfinished.
//!
//! - [`NodeJobRunner::run`] drains a node (or, with `force`, deletes it at once) to the end.
//! - [`NodeJobRunner::open_drain`] gives a [`DrainSession`] to drive step by step (the console
//!   ticks it on its refresh and forwards the operator's answer).
//! - [`NodeJobRunner::set_task_cap`], [`NodeJobRunner::undrain`], [`NodeJobRunner::list`].
//! - [`ScaleInRunner`]: the drain-first scale-in of the nodes' scale set (plan, then one
//!   resumable job over its victims); [`NodeJobRunner::admit`] and [`NodeJobRunner::hold_new`]:
//!   careful scale-out (a new node held at task cap 0 until verified).
//!
//! Every decision is the pure `drain` module's; this module only observes, re-validates right
//! before a destructive call (the cluster may have changed since the job started), calls, and
//! journals.

mod admit;
mod hooks;
mod hooks_journal;
mod ops;
mod resume;
mod scale_in;
mod scale_in_plan;
mod scale_in_resume;
mod scale_in_session;
mod session;

pub use admit::{AdmitOutcome, HoldOutcome};
pub use hooks::{HookLine, HookPass};
pub use ops::{NodeRow, TaskCapOutcome, UndrainOutcome};
pub use resume::{pending_job, PendingJob};
pub use scale_in::{
    ScaleInOutcome, ScaleInProgress, ScaleInRunner, ScaleInSession, ScaleInStatus, VictimProgress,
};
pub use scale_in_plan::{ScaleInPlan, ScaleInPlanSummary};
pub use scale_in_resume::{nodes_in_open_scale_ins, pending_hook_jobs, pending_scale_in, PendingScaleIn};
pub use session::DrainSession;

use crate::clock::Clock;
use crate::config::NodesConfig;
use crate::drain::{DrainChoice, DrainEffect, DrainError, DrainState, NodeRefusal};
use crate::journal::{Journal, JournalError};
use crate::model::Node;
use crate::octopus::{OctopusClient, OctopusError};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use time::OffsetDateTime;

#[derive(Debug, Error)]
pub enum NodeJobError {
    #[error("{}", refusal_sentence(.0))]
    Refused(Vec<NodeRefusal>),
    #[error("no node named `{0}` (and no unfinished job for it in the journal)")]
    UnknownNode(String),
    #[error("`{0}` names more than one node; use the node id")]
    AmbiguousNode(String),
    #[error(transparent)]
    Octopus(#[from] OctopusError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Answer(#[from] DrainError),
    /// A request that cannot run as asked (no nodes' scale set, the cluster changed since it was
    /// shown, the provider failed): one sentence.
    #[error("{0}")]
    Invalid(String),
}

/// "drain enabled on OCTO-1", "cancel sent for ServerTasks-7": one sentence per drain effect.
pub fn effect_line(node: &str, effect: &DrainEffect) -> String {
    match effect {
        DrainEffect::EnableDrain => format!("drain enabled on {node}"),
        DrainEffect::DisableDrain => format!("drain turned off on {node}"),
        DrainEffect::CancelTask(task) => format!("cancel sent for {task} on {node}"),
        DrainEffect::DeleteNode => format!("node record {node} deleted"),
    }
}

/// A "drain on" an earlier run journaled did not take effect (the node shows drain off): turning
/// drain on again is harmless, so a rebuilt job sends it now instead of after the resend delay
/// its journaled state would keep.
fn enable_drain_again(state: &mut DrainState) {
    if matches!(state, DrainState::DrainEnabling { .. }) {
        *state = DrainState::Requested;
    }
}

fn refusal_sentence(refusals: &[NodeRefusal]) -> String {
    let list: Vec<String> = refusals.iter().map(ToString::to_string).collect();
    format!("refused: {}", list.join("; "))
}

/// How to run a drain job.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// Keep polling until the node is deleted (or a question needs an answer). Without it, `run`
    /// returns once nothing moves any more (e.g. drain on, tasks still running).
    pub wait: bool,
    /// Cancel the node's running tasks as soon as drain is on, though it is online.
    pub cancel_now: bool,
    /// Delete at once without draining (the caller obtained a typed confirmation).
    pub force: bool,
    /// Overrides `nodes.drain_deadline_secs` for a new job.
    pub deadline_secs: Option<u64>,
    pub poll_interval: Duration,
    /// Why, for the journal.
    pub reason: String,
}

impl Default for DrainOptions {
    fn default() -> Self {
        Self {
            wait: true,
            cancel_now: false,
            force: false,
            deadline_secs: None,
            poll_interval: Duration::from_secs(2),
            reason: String::new(),
        }
    }
}

/// One line of live progress: what the console's progress bar and the CLI's stderr show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobProgress {
    pub node_id: String,
    pub node_name: String,
    pub state: DrainState,
    /// `state` in a few words.
    pub state_name: &'static str,
    pub running_tasks: usize,
    /// Since the job started (across restarts).
    pub elapsed_secs: u64,
    /// The last transition's reason.
    pub reason: String,
    /// Effects performed by the last tick or answer.
    pub sent: Vec<DrainEffect>,
    /// This process picked up a job an earlier one left unfinished.
    pub resumed: bool,
}

impl JobProgress {
    /// `OCTO-NODE-1: waiting for tasks, 3 running, 42s — waiting for 3 running task(s) to finish`.
    pub fn line(&self) -> String {
        format!(
            "{}: {}, {} running, {}s: {}",
            self.node_name, self.state_name, self.running_tasks, self.elapsed_secs, self.reason
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    /// The node is deleted (or was already gone) and its tasks dealt with.
    Done,
    /// Returned without `wait` while the job still waits (drain on, tasks running).
    InProgress,
    /// The deadline passed and no answer was given; the job stays open in the journal.
    NeedsAnswer,
    Aborted,
}

/// How a `run` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobOutcome {
    pub status: JobStatus,
    pub progress: JobProgress,
    /// Every effect this run performed, in order.
    pub effects: Vec<DrainEffect>,
}

/// Runs node operations for one profile. Cheap to clone (the client pools connections).
#[derive(Clone)]
pub struct NodeJobRunner {
    pub(crate) client: OctopusClient,
    pub(crate) journal: Arc<Journal>,
    pub(crate) profile: String,
    pub(crate) config: NodesConfig,
    pub(crate) clock: Clock,
}

impl NodeJobRunner {
    pub fn new(
        client: OctopusClient,
        journal: Arc<Journal>,
        profile_name: impl Into<String>,
        config: NodesConfig,
    ) -> Self {
        Self { client, journal, profile: profile_name.into(), config, clock: Clock::system() }
    }

    /// Decide with another clock (a manual-clock simulator's `RunningSim::now`).
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Drain `node` (name or id) to the end, or resume its unfinished job. `on_progress` sees
    /// every tick; `on_question` answers the deadline question (`None`: stop, job stays open).
    pub async fn run(
        &self,
        node: &str,
        options: &DrainOptions,
        on_progress: &mut (dyn FnMut(&JobProgress) + Send),
        on_question: &mut (dyn FnMut(&JobProgress) -> Option<DrainChoice> + Send),
    ) -> Result<JobOutcome, NodeJobError> {
        let mut session = self.open_drain(node, options).await?;
        let mut effects = Vec::new();
        loop {
            let before = session.job().state.clone();
            let mut progress = session.tick().await?;
            effects.extend(progress.sent.iter().cloned());
            on_progress(&progress);
            let waiting =
                matches!(progress.state, DrainState::WaitingForTasks { .. } | DrainState::Question { .. });
            if options.cancel_now && waiting {
                progress = session.answer(DrainChoice::CancelTasksNow).await?;
                on_progress(&progress);
                continue;
            }
            if matches!(progress.state, DrainState::Question { .. }) {
                match on_question(&progress) {
                    Some(choice) => {
                        progress = session.answer(choice).await?;
                        effects.extend(progress.sent.iter().cloned());
                        on_progress(&progress);
                    }
                    None => return Ok(JobOutcome { status: JobStatus::NeedsAnswer, progress, effects }),
                }
            }
            match progress.state {
                DrainState::Done => return Ok(JobOutcome { status: JobStatus::Done, progress, effects }),
                DrainState::Aborted { .. } => {
                    return Ok(JobOutcome { status: JobStatus::Aborted, progress, effects })
                }
                _ => {}
            }
            let moved = !progress.sent.is_empty()
                || std::mem::discriminant(&before) != std::mem::discriminant(&progress.state);
            if !options.wait && !moved {
                return Ok(JobOutcome { status: JobStatus::InProgress, progress, effects });
            }
            tokio::time::sleep(options.poll_interval).await;
        }
    }

    /// Delete `node`: refused while it heartbeats with running tasks unless `force` (the caller
    /// obtained a typed confirmation); never when it is the last task node. Tasks it leaves
    /// behind are cancelled once it is gone.
    pub async fn delete(
        &self,
        node: &str,
        force: bool,
        options: &DrainOptions,
        on_progress: &mut (dyn FnMut(&JobProgress) + Send),
    ) -> Result<JobOutcome, NodeJobError> {
        let resumable = self.pending(node)?.is_some_and(|p| p.job.force);
        if !resumable {
            let nodes = self.client.nodes().await?;
            let found = find_node(&nodes, node)?;
            crate::drain::check_delete(&nodes, &found.id, self.now(), &self.config, force)
                .map_err(NodeJobError::Refused)?;
        }
        let options = DrainOptions { force: true, wait: true, ..options.clone() };
        self.run(node, &options, on_progress, &mut |_| None).await
    }

    pub(crate) fn pending(&self, node: &str) -> Result<Option<PendingJob>, NodeJobError> {
        let (records, _) = crate::journal::read_all(self.journal.path())?;
        Ok(pending_job(&records, &self.profile, node))
    }
}

/// The node named (case-insensitive, trimmed) or numbered `wanted`.
pub fn find_node<'a>(nodes: &'a [Node], wanted: &str) -> Result<&'a Node, NodeJobError> {
    let wanted = wanted.trim();
    if let Some(node) = nodes.iter().find(|n| n.id.eq_ignore_ascii_case(wanted)) {
        return Ok(node);
    }
    let mut named = nodes.iter().filter(|n| n.name.trim().eq_ignore_ascii_case(wanted));
    match (named.next(), named.next()) {
        (Some(node), None) => Ok(node),
        (Some(_), Some(_)) => Err(NodeJobError::AmbiguousNode(wanted.to_string())),
        (None, _) => Err(NodeJobError::UnknownNode(wanted.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, name: &str) -> Node {
        Node {
            id: id.into(),
            name: name.into(),
            last_seen: None,
            is_offline: false,
            drain: false,
            max_concurrent_tasks: 5,
            running_tasks: 0,
            version: None,
        }
    }

    #[test]
    fn nodes_are_found_by_id_or_exact_name_ignoring_case() {
        let nodes = [node("OctopusServerNodes-a", "OCTO-1"), node("OctopusServerNodes-b", "OCTO-10")];
        assert_eq!(find_node(&nodes, " octo-1 ").unwrap().id, "OctopusServerNodes-a");
        assert_eq!(find_node(&nodes, "octopusservernodes-b").unwrap().name, "OCTO-10");
        assert!(matches!(find_node(&nodes, "OCTO"), Err(NodeJobError::UnknownNode(_))));
    }

    #[test]
    fn two_nodes_with_one_name_are_never_guessed_between() {
        let nodes = [node("A", "OCTO-1"), node("B", "octo-1")];
        assert!(matches!(find_node(&nodes, "OCTO-1"), Err(NodeJobError::AmbiguousNode(_))));
        assert_eq!(find_node(&nodes, "B").unwrap().id, "B");
    }

    #[test]
    fn refusals_read_as_one_sentence() {
        let err = NodeJobError::Refused(vec![
            NodeRefusal::OnlyActiveNode { node: "OCTO-1".into() },
            NodeRefusal::NoTaskNodeLeft { node: "OCTO-1".into() },
        ]);
        let text = err.to_string();
        assert!(text.starts_with("refused: OCTO-1 is the only active node"), "{text}");
        assert!(text.contains("; OCTO-1 is the last online"), "{text}");
    }
}
