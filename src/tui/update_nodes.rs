//! `update` for HA-node jobs: the pure checks that decide which dialog a node key opens (or why it
//! is refused), and how dialog answers and the worker's node events change the console's state
//! (`node_state`). `update` calls in here; the worker side is `worker::nodes`.

use super::app::{ConsoleState, Overlay};
use super::dialogs::node::{Kind, NodeDialog, Outcome};
use super::messages::{JobKind, NodeEvent, NodeRequest};
use super::node_state::JobView;
use super::update::Effect;
use crate::drain::{self, DrainEffect, DrainState, NodeRefusal};
use crate::model::Node;
use crate::node_job::find_node;
use ratatui::crossterm::event::KeyEvent;

/// The kinds of node action other than drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOp {
    Undrain,
    TaskCap,
    Delete,
}

fn refusal_sentence(refusals: &[NodeRefusal]) -> String {
    refusals.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn open(model: &mut ConsoleState, kind: Kind, node: &Node) {
    model.overlay = Overlay::Node(NodeDialog::open(kind, node, &model.nodes.rows));
}

/// `v` on the nodes pane: read what can be checked of the selected node (the worker answers
/// with the admit dialog's content).
pub fn read_admission(model: &mut ConsoleState) -> Vec<Effect> {
    let Some(node) = model.cursor_node().cloned() else {
        model.warn("select a node first");
        return vec![];
    };
    model.say(format!("{}: reading what can be checked from here…", node.name));
    vec![Effect::Node(NodeRequest::Admission { node: node.id.clone() })]
}

/// A node known only from the journal (its job outlived the node list): enough to resume it.
fn journal_node(id: &str, name: &str) -> Node {
    Node {
        id: id.into(),
        name: name.into(),
        last_seen: None,
        is_offline: true,
        drain: true,
        max_concurrent_tasks: 0,
        running_tasks: 0,
        version: None,
    }
}

/// `d` or `:drain NAME`: the question if its job waits for an answer, else a confirm dialog
/// (resume when the journal holds an unfinished drain), or the refusal when `check_drain` says no.
pub fn open_drain(model: &mut ConsoleState, name: Option<String>) -> Vec<Effect> {
    let node = match &name {
        Some(wanted) => match find_node(&model.nodes.rows, wanted) {
            Ok(node) => node.clone(),
            Err(err) => {
                let pending = model.pending_named(wanted);
                match pending {
                    Some((id, name)) => journal_node(&id, &name),
                    None => {
                        model.warn(err.to_string());
                        return vec![];
                    }
                }
            }
        },
        None => match model.cursor_node() {
            Some(node) => node.clone(),
            None => {
                model.warn("select a node first");
                return vec![];
            }
        },
    };
    if let Some(job) = model.jobs.jobs.get(&node.id) {
        if job.waits_for_answer() {
            let running_tasks = job.progress.as_ref().map_or(0, |p| p.running_tasks);
            open(model, Kind::Question { running_tasks }, &node);
            return vec![];
        }
        if job.is_running() {
            let line = job.status_line();
            model.say(format!("already running: {line}"));
            return vec![];
        }
    }
    let resume = model.jobs.pending.contains_key(&node.id);
    if !resume {
        if let Err(refusals) = drain::check_drain(&model.nodes.rows, &node.id, model.now, &model.nodes_config)
        {
            open(model, Kind::Refused { sentence: refusal_sentence(&refusals) }, &node);
            return vec![];
        }
    }
    open(model, Kind::Drain { resume }, &node);
    vec![]
}

/// `u`, `c`, `D` on the selected node.
pub fn open_node_action(model: &mut ConsoleState, op: NodeOp) -> Vec<Effect> {
    let Some(node) = model.cursor_node().cloned() else {
        model.warn("select a node first");
        return vec![];
    };
    let (nodes, now, config) = (&model.nodes.rows, model.now, &model.nodes_config);
    let kind = match op {
        NodeOp::Undrain if !node.drain && !model.jobs.pending.contains_key(&node.id) => {
            model.say(format!("drain is already off on {}", node.name));
            return vec![];
        }
        NodeOp::Undrain => Kind::Undrain,
        NodeOp::TaskCap => Kind::TaskCap { current: node.max_concurrent_tasks },
        NodeOp::Delete => match drain::check_delete(nodes, &node.id, now, config, false) {
            Ok(()) => Kind::Delete { force_needed: false, refusal: None },
            Err(refusals) => match drain::check_delete(nodes, &node.id, now, config, true) {
                // Only "still running tasks" stands in the way: a typed, explicit force may override it.
                Ok(()) => Kind::Delete { force_needed: true, refusal: Some(refusal_sentence(&refusals)) },
                Err(hard) => Kind::Refused { sentence: refusal_sentence(&hard) },
            },
        },
    };
    open(model, kind, &node);
    vec![]
}

pub fn on_dialog_key(model: &mut ConsoleState, key: &KeyEvent) -> Vec<Effect> {
    let Overlay::Node(dialog) = &mut model.overlay else { return vec![] };
    let outcome = dialog.on_key(key);
    let (kind, id, name) = (dialog.kind.clone(), dialog.node_id.clone(), dialog.node_name.clone());
    match outcome {
        Outcome::Stay => vec![],
        Outcome::Close => {
            model.overlay = Overlay::None;
            match kind {
                Kind::Question { .. } => {
                    model.say(format!("the drain of {name} waits for your answer: d on it asks again"))
                }
                Kind::Refused { .. } => {}
                _ => model.say("cancelled: nothing was sent"),
            }
            vec![]
        }
        Outcome::Run(request) => {
            model.overlay = Overlay::None;
            if request == NodeRequest::ResumeScaleIn {
                let pending = model.ha.pending_scale_in.take();
                for (node_id, label) in pending.iter().flat_map(|p| &p.victims) {
                    let node_name = label.split(" (").next().unwrap_or(label);
                    model
                        .jobs
                        .jobs
                        .insert(node_id.clone(), JobView::new(node_id, node_name, JobKind::ScaleIn));
                }
                model.say(format!("resuming the scale-in of {name}: watch the nodes pane"));
                model.pane = crate::tui::app::PaneId::Nodes;
                return vec![Effect::Node(request)];
            }
            let job = match &request {
                NodeRequest::Drain { .. } => Some(JobKind::Drain),
                NodeRequest::Delete { force, .. } => Some(JobKind::Delete { force: *force }),
                _ => None,
            };
            if let Some(job) = job {
                model.jobs.jobs.insert(id.clone(), JobView::new(&id, &name, job));
            }
            model.say(match &request {
                NodeRequest::Answer { choice, .. } => format!("{name}: {} sent", choice.label()),
                _ => format!("{name}: sent, watch the nodes pane"),
            });
            vec![Effect::Node(request)]
        }
    }
}

fn effect_sentence(node: &str, effect: &DrainEffect) -> String {
    match effect {
        DrainEffect::EnableDrain => format!("drain enabled on {node}"),
        DrainEffect::DisableDrain => format!("drain turned off on {node}"),
        DrainEffect::CancelTask(task) => format!("cancel sent for {task}"),
        DrainEffect::DeleteNode => format!("{node} deleted"),
    }
}

pub fn on_event(model: &mut ConsoleState, event: NodeEvent) -> Vec<Effect> {
    match event {
        NodeEvent::Admission(admission) => {
            let node = model.nodes.rows.iter().find(|n| n.id == admission.node_id).cloned();
            match node {
                Some(node) if matches!(model.overlay, Overlay::None) => {
                    model.say(format!("{}: the checks visible from here are shown", node.name));
                    open(model, Kind::Admit { lines: admission.lines(), verified: admission.verified }, &node)
                }
                Some(_) => {
                    model.say(format!("{}: its checks are read; v shows them again", admission.node_name))
                }
                None => model.warn(format!("{} is gone from the node list", admission.node_name)),
            }
            vec![]
        }
        NodeEvent::PendingScaleIn(pending) => {
            model.ha.pending_scale_in = pending;
            vec![]
        }
        NodeEvent::Pending(pending) => {
            model.jobs.pending = pending.into_iter().collect();
            if !model.jobs.pending.is_empty() {
                let names: Vec<&str> = model.jobs.pending.values().map(String::as_str).collect();
                model.warn(format!(
                    "unfinished drain in the journal: {}; select it on the nodes pane (3) and press d to resume",
                    names.join(", ")
                ));
            }
            vec![]
        }
        NodeEvent::Progress { kind, progress } => {
            model.jobs.pending.remove(&progress.node_id);
            let id = progress.node_id.clone();
            if !progress.sent.is_empty() {
                let said: Vec<String> =
                    progress.sent.iter().map(|e| effect_sentence(&progress.node_name, e)).collect();
                model.say(said.join("; "));
            }
            let job = model
                .jobs
                .jobs
                .entry(id)
                .or_insert_with(|| JobView::new(&progress.node_id, &progress.node_name, kind));
            let question = match progress.state {
                DrainState::Question { asked_at, running_tasks } if job.asked != Some(asked_at) => {
                    job.asked = Some(asked_at);
                    Some(running_tasks)
                }
                _ => None,
            };
            let node = journal_node(&progress.node_id, &progress.node_name);
            job.progress = Some(progress);
            if let Some(running_tasks) = question {
                if matches!(model.overlay, Overlay::None) {
                    open(model, Kind::Question { running_tasks }, &node);
                } else {
                    model.warn(format!("the drain of {} needs your answer: d on it asks", node.name));
                }
            }
            vec![]
        }
        NodeEvent::Finished { node, result, .. } => {
            if let Some(job) = model.jobs.jobs.get_mut(&node) {
                job.ended = Some(result.clone());
            }
            match result {
                Ok(text) => model.say(text),
                Err(text) => model.warn(text),
            }
            vec![Effect::Refresh]
        }
        NodeEvent::Refused { node, sentence } => {
            let name = match model.jobs.jobs.get(&node) {
                Some(job) => job.node_name.clone(),
                None => node.clone(),
            };
            if let Some(job) = model.jobs.jobs.get_mut(&node) {
                job.ended = Some(Err(sentence.clone()));
            }
            let subject = model.nodes.rows.iter().find(|n| n.id == node).cloned();
            let subject = subject.unwrap_or_else(|| journal_node(&node, &name));
            if matches!(model.overlay, Overlay::None) {
                open(model, Kind::Refused { sentence }, &subject);
            } else {
                model.warn(format!("{name}: {sentence}"));
            }
            vec![]
        }
        NodeEvent::Said(Ok(text)) => {
            model.say(text);
            vec![Effect::Refresh]
        }
        NodeEvent::Said(Err(text)) => {
            model.warn(text);
            vec![]
        }
    }
}

impl ConsoleState {
    /// A node with an unfinished drain in the journal, by name or id (case-insensitive).
    fn pending_named(&self, wanted: &str) -> Option<(String, String)> {
        let wanted = wanted.trim();
        self.jobs
            .pending
            .iter()
            .find(|(id, name)| id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted))
            .map(|(id, name)| (id.clone(), name.clone()))
    }
}
