//! The worker's HA-node side: drain jobs (one spawned task each, ticked on the refresh interval,
//! answered through a channel), deletes, undrain and task-cap changes, all through
//! [`NodeJobRunner`], which journals and re-validates every call. It reports by messages only.

use crate::config::Profile;
use crate::drain::DrainChoice;
use crate::journal::Journal;
use crate::node_job::{DrainOptions, JobProgress, NodeJobError, NodeJobRunner};
use crate::octopus::OctopusClient;
use crate::tui::messages::{JobKind, NodeEvent, NodeRequest};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

/// The runner for a profile, journaling to the data dir's journal; Err says why node
/// operations are unavailable (no data dir, no API key).
pub fn runner_for(profile_name: &str, profile: &Profile) -> Result<NodeJobRunner, String> {
    let path = crate::journal::default_path()
        .ok_or_else(|| "cannot find the platform data dir: set SCALEGUARD_DATA_DIR".to_string())?;
    let journal = Journal::open(&path).map_err(|err| err.to_string())?;
    let key = profile.octopus_api_key().map_err(|err| err.to_string())?;
    let client = OctopusClient::new(&profile.octopus, key).map_err(|err| err.to_string())?;
    Ok(NodeJobRunner::new(client, Arc::new(journal), profile_name, profile.nodes.clone()))
}

/// The node side of the worker.
pub struct NodeWorker {
    runner: Result<NodeJobRunner, String>,
    events: UnboundedSender<NodeEvent>,
    poll: Duration,
    /// Answer channels of running drain jobs, by node id.
    answers: HashMap<String, UnboundedSender<DrainChoice>>,
}

impl NodeWorker {
    pub fn new(
        runner: Result<NodeJobRunner, String>,
        events: UnboundedSender<NodeEvent>,
        poll: Duration,
    ) -> Self {
        Self { runner, events, poll, answers: HashMap::new() }
    }

    /// Tell the UI which nodes have an unfinished drain in the journal.
    pub fn announce_pending(&self) {
        let Ok(runner) = self.runner.clone() else { return };
        let events = self.events.clone();
        tokio::spawn(async move {
            match runner.list().await {
                Ok(rows) => {
                    let pending =
                        rows.into_iter().filter(|r| r.pending_job).map(|r| (r.id, r.name)).collect();
                    let _ = events.send(NodeEvent::Pending(pending));
                }
                Err(err) => tracing::warn!(error = %err, "cannot look for unfinished drains"),
            }
        });
    }

    pub fn handle(&mut self, request: NodeRequest) {
        let runner = match &self.runner {
            Ok(runner) => runner.clone(),
            Err(why) => {
                let _ =
                    self.events.send(NodeEvent::Said(Err(format!("node operations are unavailable: {why}"))));
                return;
            }
        };
        let events = self.events.clone();
        tracing::info!(?request, "node request");
        match request {
            NodeRequest::Drain { node } => {
                if self.answers.get(&node).is_some_and(|tx| !tx.is_closed()) {
                    let _ = events.send(NodeEvent::Said(Err(format!("{node} is already being drained"))));
                    return;
                }
                let (tx, rx) = mpsc::unbounded_channel();
                self.answers.insert(node.clone(), tx);
                tokio::spawn(drive_drain(runner, node, self.poll, rx, events));
            }
            NodeRequest::Answer { node, choice } => match self.answers.get(&node) {
                Some(tx) if tx.send(choice).is_ok() => {}
                _ => {
                    let _ = events.send(NodeEvent::Said(Err(format!("no drain of {node} is running"))));
                }
            },
            NodeRequest::Delete { node, force } => {
                let poll = self.poll;
                tokio::spawn(async move {
                    let kind = JobKind::Delete { force };
                    let options =
                        DrainOptions { poll_interval: poll, reason: reason(kind), ..Default::default() };
                    let mut on_progress = |p: &JobProgress| {
                        let _ = events.send(NodeEvent::Progress { kind, progress: p.clone() });
                    };
                    let result = runner.delete(&node, force, &options, &mut on_progress).await;
                    let event = match result {
                        Ok(outcome) => {
                            NodeEvent::Finished { kind, node, result: Ok(ended(&outcome.progress)) }
                        }
                        Err(err) => failure(kind, node, err),
                    };
                    let _ = events.send(event);
                });
            }
            NodeRequest::Undrain { node } => {
                tokio::spawn(async move {
                    let said = match runner.undrain(&node, "turn drain off from the console").await {
                        Ok(o) if o.changed => Ok(format!("drain turned off on {}", o.node_name)),
                        Ok(o) if o.closed_job => Ok(format!("unfinished drain of {} closed", o.node_name)),
                        Ok(o) => Ok(format!("{}: drain was already off", o.node_name)),
                        Err(err) => Err(err.to_string()),
                    };
                    let _ = events.send(NodeEvent::Said(said));
                });
            }
            NodeRequest::TaskCap { node, cap } => {
                tokio::spawn(async move {
                    let said = match runner.set_task_cap(&node, cap, "task cap from the console").await {
                        Ok(o) if o.changed => Ok(format!("{} task cap {} → {}", o.node_name, o.from, o.to)),
                        Ok(o) => Ok(format!("{} task cap already {}", o.node_name, o.to)),
                        Err(err) => Err(err.to_string()),
                    };
                    let _ = events.send(NodeEvent::Said(said));
                });
            }
        }
    }
}

fn reason(kind: JobKind) -> String {
    format!("{} from the console", kind.label())
}

fn failure(kind: JobKind, node: String, err: NodeJobError) -> NodeEvent {
    match err {
        NodeJobError::Refused(_) => NodeEvent::Refused { node, sentence: err.to_string() },
        other => NodeEvent::Finished { kind, node, result: Err(other.to_string()) },
    }
}

/// "OCTO-NODE-2: done" / "OCTO-NODE-2: aborted (drain left on)".
fn ended(progress: &JobProgress) -> String {
    format!("{}: {}", progress.node_name, progress.state_name)
}

/// One drain job, ticked every `poll` until it ends; answers arrive on `answers`.
async fn drive_drain(
    runner: NodeJobRunner,
    node: String,
    poll: Duration,
    mut answers: UnboundedReceiver<DrainChoice>,
    events: UnboundedSender<NodeEvent>,
) {
    let kind = JobKind::Drain;
    let options = DrainOptions { poll_interval: poll, reason: reason(kind), ..Default::default() };
    let mut session = match runner.open_drain(&node, &options).await {
        Ok(session) => session,
        Err(err) => {
            let _ = events.send(failure(kind, node, err));
            return;
        }
    };
    loop {
        match session.tick().await {
            Ok(progress) => {
                let terminal = progress.state.is_terminal();
                let text = ended(&progress);
                let _ = events.send(NodeEvent::Progress { kind, progress });
                if terminal {
                    let _ = events.send(NodeEvent::Finished { kind, node, result: Ok(text) });
                    return;
                }
            }
            // A re-validation refused the next call: stop; the job stays open in the journal.
            Err(err @ NodeJobError::Refused(_)) => {
                let _ = events.send(failure(kind, node, err));
                return;
            }
            // Transient (the server did not answer): say so and try again on the next tick.
            Err(err) => {
                let _ = events.send(NodeEvent::Said(Err(format!("drain of {node}: {err}; retrying"))));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            Some(choice) = answers.recv() => match session.answer(choice).await {
                Ok(progress) => {
                    let _ = events.send(NodeEvent::Progress { kind, progress });
                }
                Err(err) => {
                    let _ = events.send(NodeEvent::Said(Err(format!("{node}: {}: {err}", choice.label()))));
                }
            },
        }
    }
}
