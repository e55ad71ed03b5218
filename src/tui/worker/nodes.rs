//! The worker's HA-node side: drain jobs (one spawned task each, ticked on the refresh interval,
//! answered through a channel), deletes, undrain and task-cap changes, all through
//! [`NodeJobRunner`], which journals and re-validates every call. It reports by messages only.

use crate::config::Profile;
use crate::drain::DrainChoice;
use crate::journal::Journal;
use crate::node_job::{
    DrainOptions, JobProgress, NodeJobError, NodeJobRunner, ScaleInPlan, ScaleInProgress, ScaleInRunner,
};
use crate::octopus::OctopusClient;
use crate::tui::ha_state::PendingScaleInView;
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
    /// The profile, for the drain-first scale-in's provider (None: scale-ins are unavailable).
    profile: Option<Profile>,
    /// The running scale-in's answer channel, by each of its victims' node ids.
    scale_in_answers: HashMap<String, UnboundedSender<(String, DrainChoice)>>,
    /// The node list of the previous refresh: a node not in it is new (careful scale-out).
    seen_nodes: Option<Vec<crate::model::Node>>,
}

impl NodeWorker {
    pub fn new(
        runner: Result<NodeJobRunner, String>,
        events: UnboundedSender<NodeEvent>,
        poll: Duration,
    ) -> Self {
        Self {
            runner,
            events,
            poll,
            answers: HashMap::new(),
            profile: None,
            scale_in_answers: HashMap::new(),
            seen_nodes: None,
        }
    }

    /// Enable the drain-first scale-in of the profile's nodes' scale set.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// A refresh read the nodes: hold the ones that appeared since the last one at task cap 0
    /// (journaled) when `nodes.admit_with_task_cap_zero` says so, else offer it.
    pub fn watch_nodes(&mut self, current: &[crate::model::Node]) {
        let previous = self.seen_nodes.replace(current.to_vec());
        let (Ok(runner), Some(previous)) = (self.runner.clone(), previous) else { return };
        if !current.iter().any(|n| !previous.iter().any(|p| p.id == n.id)) {
            return;
        }
        let current = current.to_vec();
        let events = self.events.clone();
        tokio::spawn(async move {
            match runner.hold_new(Some(&previous), &current).await {
                Ok(outcomes) => {
                    for outcome in outcomes {
                        let said = if outcome.held { Ok(outcome.said) } else { Err(outcome.said) };
                        let _ = events.send(NodeEvent::Said(said));
                    }
                }
                Err(err) => {
                    let _ =
                        events.send(NodeEvent::Said(Err(format!("new nodes could not be checked: {err}"))));
                }
            }
        });
    }

    /// Tell the UI which nodes have an unfinished drain in the journal, and about an unfinished
    /// drain-first scale-in (resumed by `node scale-in`).
    pub fn announce_pending(&self) {
        let Ok(runner) = self.runner.clone() else { return };
        let events = self.events.clone();
        if let Some(profile) = self.profile.clone() {
            let scale_ins = ScaleInRunner::new(runner.clone(), profile);
            if let Ok(Some(pending)) = scale_ins.pending() {
                let view = pending_view(&pending);
                let names: Vec<&str> = view.victims.iter().map(|(_, label)| label.as_str()).collect();
                let _ = events.send(NodeEvent::Said(Err(format!(
                    "unfinished drain-first scale-in of {} in the journal ({}): press S on the nodes pane (3) to \
                     resume it",
                    view.set,
                    names.join(", ")
                ))));
                let _ = events.send(NodeEvent::PendingScaleIn(Some(view)));
            }
        }
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

    /// The profile a new or resumed scale-in runs with, or None (said) when one already runs or
    /// scale-ins are unavailable here.
    fn scale_in_profile(&self) -> Option<crate::config::Profile> {
        if self.scale_in_answers.values().any(|tx| !tx.is_closed()) {
            let _ =
                self.events.send(NodeEvent::Said(Err("a scale-in is already running: one at a time".into())));
            return None;
        }
        if self.profile.is_none() {
            let _ = self.events.send(NodeEvent::Said(Err("scale-ins are unavailable here".into())));
        }
        self.profile.clone()
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
            NodeRequest::ScaleIn { plan, reason } => {
                let Some(profile) = self.scale_in_profile() else { return };
                let (tx, rx) = mpsc::unbounded_channel();
                self.scale_in_answers =
                    plan.choice.victims.iter().map(|v| (v.node_id.clone(), tx.clone())).collect();
                let runner = ScaleInRunner::new(runner, profile);
                tokio::spawn(drive_scale_in(runner, Some(*plan), reason, self.poll, rx, events));
            }
            NodeRequest::Admission { node } => {
                tokio::spawn(async move {
                    let event = match runner.admission(&node).await {
                        Ok(admission) => NodeEvent::Admission(Box::new(admission)),
                        Err(err) => {
                            NodeEvent::Said(Err(format!("{node}: its checks could not be read: {err}")))
                        }
                    };
                    let _ = events.send(event);
                });
            }
            NodeRequest::Admit { node, cap } => {
                tokio::spawn(async move {
                    let said = match runner.admit(&node, cap, "verified by an operator (console)").await {
                        Ok(done) => Ok(format!(
                            "{} admitted (verified, journaled): task cap {} → {}",
                            done.node_name, done.from, done.to
                        )),
                        Err(err) => Err(format!("{node} not admitted: {err}")),
                    };
                    let _ = events.send(NodeEvent::Said(said));
                });
            }
            NodeRequest::ResumeScaleIn => {
                let Some(profile) = self.scale_in_profile() else { return };
                let runner = ScaleInRunner::new(runner, profile);
                let (tx, rx) = mpsc::unbounded_channel();
                match runner.pending() {
                    Ok(Some(pending)) => {
                        self.scale_in_answers = pending
                            .job
                            .victims
                            .iter()
                            .map(|v| (v.victim.node_id.clone(), tx.clone()))
                            .collect();
                    }
                    Ok(None) => {
                        let _ = events.send(NodeEvent::PendingScaleIn(None));
                        let _ = events.send(NodeEvent::Said(Err("no unfinished scale-in to resume".into())));
                        return;
                    }
                    Err(err) => {
                        let _ = events.send(NodeEvent::Said(Err(format!("scale-in not resumed: {err}"))));
                        return;
                    }
                }
                tokio::spawn(drive_scale_in(runner, None, String::new(), self.poll, rx, events));
            }
            NodeRequest::Answer { node, choice } if self.scale_in_answers.contains_key(&node) => {
                let sent = self
                    .scale_in_answers
                    .get(&node)
                    .is_some_and(|tx| tx.send((node.clone(), choice)).is_ok());
                if !sent {
                    let _ = events.send(NodeEvent::Said(Err(format!("no scale-in of {node} is running"))));
                }
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

/// One victim's line as a drain job's progress, so the nodes pane and the Jobs box show it and
/// its deadline question is asked like a drain's.
fn victim_progress(progress: &ScaleInProgress, victim: &crate::node_job::VictimProgress) -> JobProgress {
    let step = if victim.drained && !progress.done {
        format!("drained; scale-in {}", progress.phase)
    } else {
        progress.phase.to_string()
    };
    JobProgress {
        node_id: victim.node_id.clone(),
        node_name: victim.node_name.clone(),
        state: victim.state.clone(),
        state_name: victim.state_name,
        running_tasks: victim.running_tasks,
        elapsed_secs: progress.elapsed_secs,
        reason: format!("{} of VM {}: {step}", progress.scale_set, victim.instance_id),
        sent: Vec::new(),
        resumed: progress.resumed,
    }
}

/// How the console shows an unfinished scale-in.
fn pending_view(pending: &crate::node_job::PendingScaleIn) -> PendingScaleInView {
    PendingScaleInView {
        set: pending.job.scale_set.name.clone(),
        victims: pending.job.victims.iter().map(|v| (v.victim.node_id.clone(), v.victim.label())).collect(),
        phase: pending.job.phase.name().to_string(),
    }
}

/// The drain-first scale-in, ticked every `poll` until it ends; answers arrive on `answers`.
async fn drive_scale_in(
    runner: ScaleInRunner,
    plan: Option<ScaleInPlan>,
    reason: String,
    poll: Duration,
    mut answers: UnboundedReceiver<(String, DrainChoice)>,
    events: UnboundedSender<NodeEvent>,
) {
    let kind = JobKind::ScaleIn;
    let mut session = match runner.open(plan.as_ref(), &reason).await {
        Ok(session) => session,
        Err(err) => {
            for victim in plan.iter().flat_map(|plan| &plan.choice.victims) {
                let _ = events.send(failure(
                    kind,
                    victim.node_id.clone(),
                    NodeJobError::Invalid(err.to_string()),
                ));
            }
            let _ = events.send(NodeEvent::Said(Err(format!("scale-in not started: {err}"))));
            // Still unfinished in the journal: S offers to resume it again.
            if let Ok(Some(pending)) = runner.pending() {
                let _ = events.send(NodeEvent::PendingScaleIn(Some(pending_view(&pending))));
            }
            return;
        }
    };
    let victims: Vec<String> = session.job().victims.iter().map(|v| v.victim.node_id.clone()).collect();
    let report = |progress: &ScaleInProgress| {
        if !progress.sent.is_empty() {
            let _ = events.send(NodeEvent::Said(Ok(progress.sent.join("; "))));
        }
        for victim in &progress.victims {
            let _ = events.send(NodeEvent::Progress { kind, progress: victim_progress(progress, victim) });
        }
    };
    loop {
        match session.tick().await {
            Ok(progress) => {
                report(&progress);
                if progress.done || progress.aborted {
                    let ended = if progress.done { "removed" } else { "aborted" };
                    for victim in &progress.victims {
                        let text =
                            format!("{}: {ended} (scale-in of {})", victim.node_name, progress.scale_set);
                        let _ = events.send(NodeEvent::Finished {
                            kind,
                            node: victim.node_id.clone(),
                            result: Ok(text),
                        });
                    }
                    let names: Vec<&str> = progress.victims.iter().map(|v| v.node_name.as_str()).collect();
                    let _ = events.send(NodeEvent::Said(Ok(format!(
                        "scale-in of {} {ended}: {}",
                        progress.scale_set,
                        names.join(", ")
                    ))));
                    return;
                }
            }
            Err(err @ NodeJobError::Refused(_)) => {
                let sentence = err.to_string();
                for node in &victims {
                    let _ = events.send(NodeEvent::Finished {
                        kind,
                        node: node.clone(),
                        result: Err(sentence.clone()),
                    });
                }
                return;
            }
            Err(err) => {
                let _ = events.send(NodeEvent::Said(Err(format!("scale-in: {err}; retrying"))));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            Some((node, choice)) = answers.recv() => match session.answer(&node, choice).await {
                Ok(progress) => report(&progress),
                Err(err) => {
                    let _ = events.send(NodeEvent::Said(Err(format!("{node}: {}: {err}", choice.label()))));
                }
            },
        }
    }
}
