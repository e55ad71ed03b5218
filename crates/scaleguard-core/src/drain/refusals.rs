//! Pure checks run before a drain, a delete or a task-cap change is offered or started.

use crate::config::NodesConfig;
use crate::model::Node;
use std::fmt;
use time::OffsetDateTime;

/// Why a node operation may not run; `Display` is the sentence shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRefusal {
    UnknownNode {
        node_id: String,
    },
    /// Afterwards no online, non-draining node with a task cap above 0 would be left.
    NoTaskNodeLeft {
        node: String,
    },
    /// The console believes this is the only online, non-draining node.
    OnlyActiveNode {
        node: String,
    },
    /// Still heartbeating and running tasks: deleting it now fails them (they then hang for an hour).
    StillRunningTasks {
        node: String,
        running: u32,
        drain: bool,
    },
}

impl fmt::Display for NodeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRefusal::UnknownNode { node_id } => write!(f, "node {node_id} is not in the node list"),
            NodeRefusal::NoTaskNodeLeft { node } => write!(
                f,
                "{node} is the last online, non-draining node with a task cap above 0: \
                 nothing would be left to run deployments"
            ),
            NodeRefusal::OnlyActiveNode { node } => {
                write!(f, "{node} is the only active node: draining it leaves the cluster with none")
            }
            NodeRefusal::StillRunningTasks { node, running, drain } => write!(
                f,
                "{node} is still heartbeating and running {running} task(s){}; drain it first, \
                 or force the delete with a typed confirmation",
                if *drain { " although draining" } else { " without drain" }
            ),
        }
    }
}

/// Seen within `offline_after_secs` and not flagged offline by the server. A node never seen is offline.
pub fn is_online(node: &Node, now: OffsetDateTime, config: &NodesConfig) -> bool {
    let Some(last_seen) = node.last_seen else { return false };
    let limit = i128::from(config.offline_after_secs) * 1_000_000_000;
    !node.is_offline && (now - last_seen).whole_nanoseconds() <= limit
}

fn is_active(node: &Node, now: OffsetDateTime, config: &NodesConfig) -> bool {
    is_online(node, now, config) && !node.drain
}

fn is_task_node(node: &Node, now: OffsetDateTime, config: &NodesConfig) -> bool {
    is_active(node, now, config) && node.max_concurrent_tasks > 0
}

fn find<'a>(nodes: &'a [Node], node_id: &str) -> Result<&'a Node, Vec<NodeRefusal>> {
    nodes
        .iter()
        .find(|n| n.id == node_id)
        .ok_or_else(|| vec![NodeRefusal::UnknownNode { node_id: node_id.to_string() }])
}

/// Taking `node` out of service would remove the last task node. Only counts when `node` is one
/// itself: removing an already-offline or UI-only node never makes things worse.
fn removes_last_task_node(nodes: &[Node], node: &Node, now: OffsetDateTime, config: &NodesConfig) -> bool {
    is_task_node(node, now, config) && !nodes.iter().any(|n| n.id != node.id && is_task_node(n, now, config))
}

/// May `node_id` be drained? Every refusal is listed.
pub fn check_drain(
    nodes: &[Node],
    node_id: &str,
    now: OffsetDateTime,
    config: &NodesConfig,
) -> Result<(), Vec<NodeRefusal>> {
    let node = find(nodes, node_id)?;
    let mut refusals = Vec::new();
    if is_active(node, now, config) && !nodes.iter().any(|n| n.id != node.id && is_active(n, now, config)) {
        refusals.push(NodeRefusal::OnlyActiveNode { node: node.name.clone() });
    }
    if removes_last_task_node(nodes, node, now, config) {
        refusals.push(NodeRefusal::NoTaskNodeLeft { node: node.name.clone() });
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

/// May all of `node_ids` be taken out of service together (a scale-in of the nodes' scale set)?
/// The same two rules as [`check_drain`], over the cluster that would be left: some online,
/// non-draining node stays, and a task node stays when any of them is one. Every refusal is
/// listed, each naming the nodes concerned.
pub fn check_removal(
    nodes: &[Node],
    node_ids: &[&str],
    now: OffsetDateTime,
    config: &NodesConfig,
) -> Result<(), Vec<NodeRefusal>> {
    let mut refusals = Vec::new();
    let mut removed = Vec::new();
    for id in node_ids {
        match nodes.iter().find(|n| n.id == *id) {
            Some(node) => removed.push(node),
            None => refusals.push(NodeRefusal::UnknownNode { node_id: id.to_string() }),
        }
    }
    let kept = || nodes.iter().filter(|n| !node_ids.contains(&n.id.as_str()));
    // "OCTO-1", or "OCTO-1 and OCTO-2 together": the refusal's sentence names them all.
    let names = |pick: &dyn Fn(&Node) -> bool| {
        let picked: Vec<String> = removed.iter().filter(|n| pick(n)).map(|n| n.name.clone()).collect();
        match picked.len() {
            1 => picked.concat(),
            _ => format!("{} together", picked.join(" and ")),
        }
    };
    let active = |n: &Node| is_active(n, now, config);
    let task = |n: &Node| is_task_node(n, now, config);
    if removed.iter().any(|n| active(n)) && !kept().any(active) {
        refusals.push(NodeRefusal::OnlyActiveNode { node: names(&active) });
    }
    if removed.iter().any(|n| task(n)) && !kept().any(task) {
        refusals.push(NodeRefusal::NoTaskNodeLeft { node: names(&task) });
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

/// May `node_id` be deleted now? `force` (typed confirmation in the UI) only overrides
/// [`NodeRefusal::StillRunningTasks`], never the last-task-node rule.
pub fn check_delete(
    nodes: &[Node],
    node_id: &str,
    now: OffsetDateTime,
    config: &NodesConfig,
    force: bool,
) -> Result<(), Vec<NodeRefusal>> {
    let node = find(nodes, node_id)?;
    let mut refusals = Vec::new();
    if removes_last_task_node(nodes, node, now, config) {
        refusals.push(NodeRefusal::NoTaskNodeLeft { node: node.name.clone() });
    }
    if !force && is_online(node, now, config) && node.running_tasks > 0 {
        refusals.push(NodeRefusal::StillRunningTasks {
            node: node.name.clone(),
            running: node.running_tasks,
            drain: node.drain,
        });
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

/// May `node_id`'s task cap become `new_cap`? 0 makes it a UI-only node. Refused when afterwards
/// no node could run tasks: none not flagged offline by the server, not draining, with a cap
/// above 0. (The server's `IsOffline` flag is used here, as this check takes no clock.)
pub fn validate_task_cap(nodes: &[Node], node_id: &str, new_cap: u32) -> Result<(), NodeRefusal> {
    let node = nodes
        .iter()
        .find(|n| n.id == node_id)
        .ok_or_else(|| NodeRefusal::UnknownNode { node_id: node_id.to_string() })?;
    let can_run = |n: &Node| {
        let cap = if n.id == node_id { new_cap } else { n.max_concurrent_tasks };
        !n.is_offline && !n.drain && cap > 0
    };
    let could_before = nodes.iter().any(|n| !n.is_offline && !n.drain && n.max_concurrent_tasks > 0);
    if could_before && !nodes.iter().any(can_run) {
        return Err(NodeRefusal::NoTaskNodeLeft { node: node.name.clone() });
    }
    Ok(())
}
