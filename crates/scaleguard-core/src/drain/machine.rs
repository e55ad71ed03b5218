//! The drain state machine: `step` on observations, `answer` to the operator's choice.

use super::refusals::{check_delete, check_drain, is_online, NodeRefusal};
use crate::config::NodesConfig;
use crate::model::{Node, Task, TaskState};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

/// How long an effect the node does not show yet (drain on, node gone) waits before it is sent
/// again: long enough for an in-flight request to land, short enough to recover a lost one.
const RESEND_AFTER_SECS: i64 = 60;

/// One node removal in progress. Serializable so the journal can hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainJob {
    pub node_id: String,
    pub node_name: String,
    /// Delete without draining, even while heartbeating with running tasks (typed confirmation).
    pub force: bool,
    /// How long to wait for tasks before asking; copied from config so `answer` needs none.
    pub wait_secs: u64,
    pub state: DrainState,
    /// Every task this job asked to cancel, kept across states (a node that comes back and goes
    /// again must not get its tasks cancelled twice) and restored from the journal on restart.
    #[serde(default)]
    pub cancelled: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum DrainState {
    Requested,
    /// "Enable drain" was sent at `sent_at`; waiting to see it on the node.
    DrainEnabling {
        #[serde(with = "time::serde::rfc3339")]
        sent_at: OffsetDateTime,
    },
    /// Drain is on; waiting for running tasks to finish, or for the node to go offline.
    WaitingForTasks {
        #[serde(with = "time::serde::rfc3339")]
        deadline: OffsetDateTime,
    },
    /// The wait passed its deadline: the operator decides (see [`DrainChoice`]).
    Question {
        #[serde(with = "time::serde::rfc3339")]
        asked_at: OffsetDateTime,
        running_tasks: usize,
    },
    /// Cancelling the node's tasks; `requested` holds the task ids already asked to cancel.
    CancellingTasks {
        operator_chose: bool,
        requested: Vec<String>,
    },
    /// "Delete node" was sent at `sent_at`; waiting to see the node gone.
    Deleting {
        #[serde(with = "time::serde::rfc3339")]
        sent_at: OffsetDateTime,
    },
    Done,
    Aborted {
        drain_left_on: bool,
    },
}

impl DrainState {
    pub fn is_terminal(&self) -> bool {
        matches!(self, DrainState::Done | DrainState::Aborted { .. })
    }

    /// A few words for a progress line: "waiting for tasks".
    pub fn name(&self) -> &'static str {
        state_name(self)
    }
}

/// What the executor must do. Each is idempotent on the server side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", content = "task_id", rename_all = "kebab-case")]
pub enum DrainEffect {
    EnableDrain,
    DisableDrain,
    CancelTask(String),
    DeleteNode,
}

/// The operator's answer to a [`DrainState::Question`] (cancel-now and the aborts are also
/// accepted while waiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrainChoice {
    /// Wait another `wait_secs`.
    KeepWaiting,
    /// Cancel the node's running tasks now, though it is online.
    CancelTasksNow,
    AbortLeaveDrainOn,
    AbortTurnDrainOff,
}

impl DrainChoice {
    /// A few words for prompts and the journal: "cancel tasks now".
    pub fn label(self) -> &'static str {
        choice_name(self)
    }
}

/// What one node looks like right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeObservation {
    /// From `octopusservernodes/summary`; `None` when the node no longer exists.
    pub node: Option<Node>,
    /// The node's Executing and Cancelling tasks (others are ignored).
    pub tasks: Vec<Task>,
}

impl NodeObservation {
    fn running_task_ids(&self) -> Vec<String> {
        self.tasks
            .iter()
            .filter(|t| matches!(t.state, TaskState::Executing | TaskState::Cancelling))
            .map(|t| t.id.clone())
            .collect()
    }

    fn has_running_tasks(&self) -> bool {
        self.running_count() > 0
    }

    /// Running tasks: the larger of the task list and the node's own count, as either may lag.
    pub fn running_count(&self) -> usize {
        let counted = self.node.as_ref().map_or(0, |n| n.running_tasks as usize);
        self.running_task_ids().len().max(counted)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub next: DrainState,
    pub effects: Vec<DrainEffect>,
    /// Why, in a sentence for the operator and the journal.
    pub reason: String,
}

fn go(next: DrainState, effects: Vec<DrainEffect>, reason: impl Into<String>) -> Transition {
    Transition { next, effects, reason: reason.into() }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DrainError {
    #[error("cannot {choice} while the drain is {state}")]
    NotNow { choice: String, state: String },
}

impl DrainJob {
    /// Start removing `node_id`, after the refusal checks (drain, or delete when `force`).
    pub fn start(
        nodes: &[Node],
        node_id: &str,
        force: bool,
        now: OffsetDateTime,
        config: &NodesConfig,
    ) -> Result<DrainJob, Vec<NodeRefusal>> {
        if force {
            check_delete(nodes, node_id, now, config, true)?;
        } else {
            check_drain(nodes, node_id, now, config)?;
        }
        let node_name = nodes.iter().find(|n| n.id == node_id).map(|n| n.name.clone()).unwrap_or_default();
        Ok(DrainJob {
            node_id: node_id.to_string(),
            node_name,
            force,
            wait_secs: config.drain_deadline_secs,
            state: DrainState::Requested,
            cancelled: Vec::new(),
        })
    }

    /// Adopt a transition: its next state, and the cancels it sends into [`DrainJob::cancelled`].
    pub fn apply(&mut self, transition: &Transition) {
        self.state = transition.next.clone();
        for effect in &transition.effects {
            if let DrainEffect::CancelTask(id) = effect {
                if !self.cancelled.contains(id) {
                    self.cancelled.push(id.clone());
                }
            }
        }
    }

    fn already_cancelled(&self, task_id: &str, requested: &[String]) -> bool {
        requested.iter().chain(&self.cancelled).any(|id| id == task_id)
    }

    fn deadline(&self, now: OffsetDateTime) -> OffsetDateTime {
        let secs = i64::try_from(self.wait_secs).unwrap_or(i64::MAX);
        now.checked_add(Duration::seconds(secs)).unwrap_or(now)
    }
}

/// Advance `job` on a fresh observation. Pure; an effect already observed done is not repeated.
pub fn step(
    job: &DrainJob,
    observation: &NodeObservation,
    now: OffsetDateTime,
    config: &NodesConfig,
) -> Transition {
    if job.state.is_terminal() {
        return finished(job);
    }
    let Some(node) = &observation.node else {
        return node_gone(job, observation);
    };
    if node.id != job.node_id {
        return go(
            job.state.clone(),
            vec![],
            format!("ignored an observation of {}, not {}", node.id, job.node_id),
        );
    }
    let online = is_online(node, now, config);
    match &job.state {
        DrainState::Done | DrainState::Aborted { .. } => finished(job),
        DrainState::Requested if job.force => go(
            DrainState::Deleting { sent_at: now },
            vec![DrainEffect::DeleteNode],
            "forced delete without drain, confirmed by the operator",
        ),
        // Drain already on: straight to the wait's own rules (idle → delete, offline → cancel).
        DrainState::Requested if node.drain => after_wait(job, observation, now, online),
        DrainState::Requested => {
            go(DrainState::DrainEnabling { sent_at: now }, vec![DrainEffect::EnableDrain], "enabling drain")
        }
        DrainState::DrainEnabling { sent_at } => {
            if node.drain || !online {
                after_wait(job, observation, now, online)
            } else if now - *sent_at >= Duration::seconds(RESEND_AFTER_SECS) {
                go(
                    DrainState::DrainEnabling { sent_at: now },
                    vec![DrainEffect::EnableDrain],
                    "drain is still not on; asking again",
                )
            } else {
                go(job.state.clone(), vec![], "waiting for the node to show drain on")
            }
        }
        DrainState::WaitingForTasks { .. } | DrainState::Question { .. } if online && !node.drain => go(
            DrainState::DrainEnabling { sent_at: now },
            vec![DrainEffect::EnableDrain],
            "drain was turned off by someone else; enabling it again",
        ),
        DrainState::WaitingForTasks { .. } | DrainState::Question { .. } => {
            after_wait(job, observation, now, online)
        }
        DrainState::CancellingTasks { operator_chose, requested } => {
            cancelling(job, observation, now, online, *operator_chose, requested)
        }
        DrainState::Deleting { .. } if online && observation.has_running_tasks() && !job.force => go(
            DrainState::WaitingForTasks { deadline: job.deadline(now) },
            vec![],
            "the node is online and running tasks again; not deleting it",
        ),
        DrainState::Deleting { sent_at } if now - *sent_at >= Duration::seconds(RESEND_AFTER_SECS) => go(
            DrainState::Deleting { sent_at: now },
            vec![DrainEffect::DeleteNode],
            "the node still exists; deleting it again",
        ),
        DrainState::Deleting { .. } => go(job.state.clone(), vec![], "waiting for the node to disappear"),
    }
}

fn finished(job: &DrainJob) -> Transition {
    go(job.state.clone(), vec![], "finished; nothing more to do")
}

/// The node is not in the list any more: cancel whatever tasks it left behind, then done.
fn node_gone(job: &DrainJob, observation: &NodeObservation) -> Transition {
    let (operator_chose, mut requested) = match &job.state {
        DrainState::CancellingTasks { operator_chose, requested } => (*operator_chose, requested.clone()),
        _ => (false, Vec::new()),
    };
    let pending: Vec<String> = observation
        .running_task_ids()
        .into_iter()
        .filter(|id| !job.already_cancelled(id, &requested))
        .collect();
    if pending.is_empty() {
        return go(DrainState::Done, vec![], "the node no longer exists");
    }
    let effects = pending.iter().cloned().map(DrainEffect::CancelTask).collect();
    let reason = format!("the node no longer exists; cancelling {} task(s) it left running", pending.len());
    requested.extend(pending);
    go(DrainState::CancellingTasks { operator_chose, requested }, effects, reason)
}

/// Waiting (or asked): delete once idle, cancel once offline, ask once past the deadline.
fn after_wait(
    job: &DrainJob,
    observation: &NodeObservation,
    now: OffsetDateTime,
    online: bool,
) -> Transition {
    let running = observation.running_count();
    if !online {
        if !observation.has_running_tasks() {
            return go(
                DrainState::Deleting { sent_at: now },
                vec![DrainEffect::DeleteNode],
                "the node is offline with no tasks; deleting it",
            );
        }
        return cancelling(job, observation, now, false, false, &[]);
    }
    if !observation.has_running_tasks() {
        return go(
            DrainState::Deleting { sent_at: now },
            vec![DrainEffect::DeleteNode],
            "the node has no running tasks; deleting it",
        );
    }
    match &job.state {
        DrainState::Question { .. } => go(job.state.clone(), vec![], "waiting for the operator's answer"),
        DrainState::WaitingForTasks { deadline } if now >= *deadline => go(
            DrainState::Question { asked_at: now, running_tasks: running },
            vec![],
            format!("still {running} task(s) running past the drain deadline; asking the operator"),
        ),
        DrainState::WaitingForTasks { .. } => {
            go(job.state.clone(), vec![], format!("waiting for {running} running task(s) to finish"))
        }
        _ => go(
            DrainState::WaitingForTasks { deadline: job.deadline(now) },
            vec![],
            format!("waiting for {running} running task(s) to finish"),
        ),
    }
}

/// Cancel each running task once; a cancel is only ever sent to an offline node's tasks, or on
/// the operator's "cancel now".
fn cancelling(
    job: &DrainJob,
    observation: &NodeObservation,
    now: OffsetDateTime,
    online: bool,
    operator_chose: bool,
    requested: &[String],
) -> Transition {
    if online && !operator_chose {
        return go(
            DrainState::WaitingForTasks { deadline: job.deadline(now) },
            vec![],
            "the node is back online; its tasks are cancelled only on the operator's word",
        );
    }
    let running = observation.running_task_ids();
    let pending: Vec<String> =
        running.iter().filter(|id| !job.already_cancelled(id, requested)).cloned().collect();
    if !pending.is_empty() {
        let mut all = requested.to_vec();
        all.extend(pending.iter().cloned());
        let why = if online { "as the operator chose" } else { "as the node is offline" };
        return go(
            DrainState::CancellingTasks { operator_chose, requested: all },
            pending.into_iter().map(DrainEffect::CancelTask).collect(),
            format!("cancelling the node's running task(s) {why}"),
        );
    }
    if online && observation.has_running_tasks() {
        return go(
            DrainState::CancellingTasks { operator_chose, requested: requested.to_vec() },
            vec![],
            format!("waiting for {} task(s) to finish cancelling", running.len()),
        );
    }
    // Offline: a dead node never finishes cancelling, so once every task was asked, delete.
    go(
        DrainState::Deleting { sent_at: now },
        vec![DrainEffect::DeleteNode],
        "every running task was cancelled; deleting the node",
    )
}

/// Apply the operator's choice. Cancel-now and the aborts work while waiting or asked; keep
/// waiting only answers a question. Nothing can be aborted once the delete was sent.
pub fn answer(job: &DrainJob, choice: DrainChoice, now: OffsetDateTime) -> Result<Transition, DrainError> {
    let waiting = matches!(job.state, DrainState::WaitingForTasks { .. } | DrainState::Question { .. });
    let abortable = waiting
        || matches!(
            job.state,
            DrainState::Requested | DrainState::DrainEnabling { .. } | DrainState::CancellingTasks { .. }
        );
    let allowed = match choice {
        DrainChoice::KeepWaiting => matches!(job.state, DrainState::Question { .. }),
        DrainChoice::CancelTasksNow => waiting,
        DrainChoice::AbortLeaveDrainOn | DrainChoice::AbortTurnDrainOff => abortable,
    };
    if !allowed {
        return Err(DrainError::NotNow {
            choice: choice_name(choice).into(),
            state: state_name(&job.state).into(),
        });
    }
    Ok(match choice {
        DrainChoice::KeepWaiting => go(
            DrainState::WaitingForTasks { deadline: job.deadline(now) },
            vec![],
            format!("the operator chose to keep waiting another {}s", job.wait_secs),
        ),
        DrainChoice::CancelTasksNow => go(
            DrainState::CancellingTasks { operator_chose: true, requested: vec![] },
            vec![],
            "the operator chose to cancel the node's tasks now",
        ),
        DrainChoice::AbortLeaveDrainOn => {
            go(DrainState::Aborted { drain_left_on: true }, vec![], "the operator aborted; drain stays on")
        }
        DrainChoice::AbortTurnDrainOff => go(
            DrainState::Aborted { drain_left_on: false },
            vec![DrainEffect::DisableDrain],
            "the operator aborted; turning drain off",
        ),
    })
}

fn choice_name(choice: DrainChoice) -> &'static str {
    match choice {
        DrainChoice::KeepWaiting => "keep waiting",
        DrainChoice::CancelTasksNow => "cancel tasks now",
        DrainChoice::AbortLeaveDrainOn => "abort leaving drain on",
        DrainChoice::AbortTurnDrainOff => "abort turning drain off",
    }
}

pub(crate) fn state_name(state: &DrainState) -> &'static str {
    match state {
        DrainState::Requested => "requested",
        DrainState::DrainEnabling { .. } => "enabling drain",
        DrainState::WaitingForTasks { .. } => "waiting for tasks",
        DrainState::Question { .. } => "waiting for an answer",
        DrainState::CancellingTasks { .. } => "cancelling tasks",
        DrainState::Deleting { .. } => "deleting",
        DrainState::Done => "done",
        DrainState::Aborted { .. } => "aborted",
    }
}
