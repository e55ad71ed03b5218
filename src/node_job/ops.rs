//! Single-call node operations: list, task cap, undrain. Each mutating one is journaled.

use super::{find_node, NodeJobError, NodeJobRunner};
use crate::drain::{self, DrainEffect};
use crate::journal::{JournalAction, Outcome};
use crate::model::Node;
use crate::octopus::NodeChange;
use serde::Serialize;
use time::OffsetDateTime;

/// A node as `node list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    pub id: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// Heartbeating within `nodes.offline_after_secs` and not flagged offline.
    pub online: bool,
    pub drain: bool,
    pub task_cap: u32,
    pub running_tasks: u32,
    pub version: Option<String>,
    /// The journal holds an unfinished drain job for it (a rerun of `node drain` resumes it).
    pub pending_job: bool,
    /// The VM of the nodes' scale set that hosts it (`nodes.scale_set`); null when unpaired.
    pub vm: Option<crate::ha::NodeVm>,
    /// Why it has no VM, when a nodes' scale set is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_unpaired: Option<String>,
}

impl NodeRow {
    fn new(node: Node, online: bool, pending_job: bool) -> Self {
        Self {
            id: node.id,
            name: node.name,
            last_seen: node.last_seen,
            online,
            drain: node.drain,
            task_cap: node.max_concurrent_tasks,
            running_tasks: node.running_tasks,
            version: node.version,
            pending_job,
            vm: None,
            vm_unpaired: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskCapOutcome {
    pub node_id: String,
    pub node_name: String,
    pub from: u32,
    pub to: u32,
    /// False when the cap already was `to` (nothing sent, nothing journaled).
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndrainOutcome {
    pub node_id: String,
    pub node_name: String,
    /// False when drain was already off.
    pub changed: bool,
    /// An unfinished drain job for the node was closed, so no later run resumes it.
    pub closed_job: bool,
}

impl NodeJobRunner {
    pub async fn list(&self) -> Result<Vec<NodeRow>, NodeJobError> {
        self.list_with(None).await
    }

    /// The nodes, each with its VM when `vms` holds the nodes' scale set's listing (Err: why it
    /// could not be read; every node is then shown unpaired with that reason).
    pub async fn list_with(
        &self,
        vms: Option<Result<&[crate::model::Instance], String>>,
    ) -> Result<Vec<NodeRow>, NodeJobError> {
        let nodes = self.client.nodes().await?;
        let (records, _) = crate::journal::read_all(self.journal.path())?;
        let now = self.now();
        let pairing = match &vms {
            Some(Ok(instances)) => Some(Ok(crate::ha::pair(&nodes, instances))),
            Some(Err(why)) => Some(Err(why.clone())),
            None => None,
        };
        Ok(nodes
            .into_iter()
            .map(|node| {
                let online = drain::is_online(&node, now, &self.config);
                let pending = super::pending_job(&records, &self.profile, &node.id).is_some();
                let id = node.id.clone();
                let mut row = NodeRow::new(node, online, pending);
                match &pairing {
                    Some(Ok(pairing)) => {
                        row.vm = pairing.shown_vm(&id);
                        row.vm_unpaired = pairing.unpaired_nodes.get(&id).cloned();
                    }
                    Some(Err(why)) => {
                        row.vm_unpaired = Some(format!("the nodes' scale set could not be listed: {why}"))
                    }
                    None => {}
                }
                row
            })
            .collect())
    }

    /// Set `node`'s MaxConcurrentTasks (0 = UI-only), unless no node could run tasks afterwards.
    pub async fn set_task_cap(
        &self,
        node: &str,
        cap: u32,
        reason: &str,
    ) -> Result<TaskCapOutcome, NodeJobError> {
        let nodes = self.client.nodes().await?;
        let found = find_node(&nodes, node)?;
        let mut outcome = TaskCapOutcome {
            node_id: found.id.clone(),
            node_name: found.name.clone(),
            from: found.max_concurrent_tasks,
            to: cap,
            changed: false,
        };
        if found.max_concurrent_tasks == cap {
            return Ok(outcome);
        }
        drain::validate_task_cap(&nodes, &found.id, cap)
            .map_err(|refusal| NodeJobError::Refused(vec![refusal]))?;
        let action = JournalAction::TaskCap {
            node_id: found.id.clone(),
            from: Some(found.max_concurrent_tasks),
            to: cap,
        };
        let reason = if reason.trim().is_empty() { "set an HA node's task cap" } else { reason };
        let _lock = crate::executor::hold_for_change(&self.journal, &self.profile).await?;
        let intent = self.journal.append_intent(&self.profile, reason, action, self.now())?;
        let change = NodeChange { max_concurrent_tasks: Some(cap), ..Default::default() };
        let called = self.client.update_node(&found.id, &change).await;
        let result = match &called {
            Ok(()) => Outcome::Done,
            Err(err) => Outcome::Failed(err.to_string()),
        };
        self.journal.append_result(&intent, result, self.now())?;
        called?;
        outcome.changed = true;
        Ok(outcome)
    }

    /// Turn drain off and close any unfinished drain job for the node.
    pub async fn undrain(&self, node: &str, reason: &str) -> Result<UndrainOutcome, NodeJobError> {
        let pending = self.pending(node)?;
        let nodes = self.client.nodes().await?;
        let found = find_node(&nodes, node)?;
        let mut outcome = UndrainOutcome {
            node_id: found.id.clone(),
            node_name: found.name.clone(),
            changed: false,
            closed_job: false,
        };
        if let Some(pending) = pending {
            let why = Outcome::Skipped("drain turned off by the operator".into());
            self.journal.append_result(&pending.intent, why, self.now())?;
            outcome.closed_job = true;
        }
        if !found.drain {
            return Ok(outcome);
        }
        let action = JournalAction::Drain {
            node_id: found.id.clone(),
            node_name: found.name.clone(),
            effect: DrainEffect::DisableDrain,
        };
        let reason = if reason.trim().is_empty() { "turn drain off" } else { reason };
        let _lock = crate::executor::hold_for_change(&self.journal, &self.profile).await?;
        let intent = self.journal.append_intent(&self.profile, reason, action, self.now())?;
        let called = self
            .client
            .update_node(&found.id, &NodeChange { drain: Some(false), ..Default::default() })
            .await;
        let result = match &called {
            Ok(()) => Outcome::Done,
            Err(err) => Outcome::Failed(err.to_string()),
        };
        self.journal.append_result(&intent, result, self.now())?;
        called?;
        outcome.changed = true;
        Ok(outcome)
    }
}
