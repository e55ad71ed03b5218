//! Careful scale-out (IO around `ha::admission`): hold a new node at task cap 0 until an operator
//! verifies it, and record the verification (`node admit`), each journaled.

use super::{find_node, NodeJobError, NodeJobRunner};
use crate::ha::admission::{self, Admission, DEFAULT_TASK_CAP};
use crate::journal::{JournalAction, Outcome, Record, RecordKind};
use crate::model::Node;
use crate::octopus::NodeChange;
use serde::Serialize;
use std::collections::HashSet;

/// The journal reason of a hold: how `admit` finds the cap to give back.
pub const HOLD_REASON: &str =
    "new HA node held at task cap 0 until verified (nodes.admit_with_task_cap_zero)";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdmitOutcome {
    pub node_id: String,
    pub node_name: String,
    pub from: u32,
    pub to: u32,
    /// The checks visible from here when it was admitted.
    pub admission: Admission,
}

/// What happened to a new, unverified node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldOutcome {
    pub node_id: String,
    pub node_name: String,
    /// Its task cap was set to 0 (journaled); false: only offered (not configured, or refused).
    pub held: bool,
    /// One sentence for the operator.
    pub said: String,
}

/// Node ids and names admitted (a done `Admit` record) for `profile`.
pub fn admitted(records: &[Record], profile: &str) -> Vec<String> {
    let done: HashSet<_> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Result && r.outcome == Some(Outcome::Done))
        .map(|r| r.intent_id)
        .collect();
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent && r.profile == profile && done.contains(&r.intent_id))
        .flat_map(|r| match &r.action {
            JournalAction::Admit { node_id, node_name, .. } => vec![node_id.clone(), node_name.clone()],
            _ => vec![],
        })
        .collect()
}

/// The cap a held node had before the hold (the latest done hold's `from`).
fn held_from(records: &[Record], profile: &str, node_id: &str) -> Option<u32> {
    let done: HashSet<_> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Result && r.outcome == Some(Outcome::Done))
        .map(|r| r.intent_id)
        .collect();
    records.iter().rev().find_map(|r| match &r.action {
        JournalAction::TaskCap { node_id: id, from, to: 0 }
            if r.kind == RecordKind::Intent
                && r.profile == profile
                && id == node_id
                && r.reason == HOLD_REASON
                && done.contains(&r.intent_id) =>
        {
            *from
        }
        _ => None,
    })
}

impl NodeJobRunner {
    fn records(&self) -> Result<Vec<Record>, NodeJobError> {
        Ok(crate::journal::read_all(self.journal.path())?.0)
    }

    /// What can be checked of `node` from here, and whether it is verified.
    pub async fn admission(&self, node: &str) -> Result<Admission, NodeJobError> {
        let nodes = self.client.nodes().await?;
        let found = find_node(&nodes, node)?;
        let server = self.client.server_version().await.ok();
        let verified =
            admission::is_verified(found, &self.config, &admitted(&self.records()?, &self.profile));
        Ok(admission::checks(found, server.as_deref(), verified, self.now(), &self.config))
    }

    /// Record that an operator verified `node` and raise its task cap to `cap` (default: what it
    /// had before it was held, else 5). Journaled as one `Admit` intent and its result.
    pub async fn admit(
        &self,
        node: &str,
        cap: Option<u32>,
        reason: &str,
    ) -> Result<AdmitOutcome, NodeJobError> {
        let admission = self.admission(node).await?;
        let records = self.records()?;
        let nodes = self.client.nodes().await?;
        let found = find_node(&nodes, node)?;
        let to = cap.or_else(|| held_from(&records, &self.profile, &found.id)).unwrap_or(DEFAULT_TASK_CAP);
        if to == 0 {
            return Err(NodeJobError::Invalid(
                "admitting a node gives it a task cap above 0; to keep it UI-only use `node task-cap NAME 0`"
                    .into(),
            ));
        }
        let action =
            JournalAction::Admit { node_id: found.id.clone(), node_name: found.name.clone(), task_cap: to };
        let reason = if reason.trim().is_empty() { "verified by an operator (node admit)" } else { reason };
        let _lock = crate::executor::hold_for_change(&self.journal, &self.profile).await?;
        let intent = self.journal.append_intent(&self.profile, reason, action, self.now())?;
        let called = if found.max_concurrent_tasks == to {
            Ok(())
        } else {
            self.client
                .update_node(&found.id, &NodeChange { max_concurrent_tasks: Some(to), ..Default::default() })
                .await
        };
        let result = match &called {
            Ok(()) => Outcome::Done,
            Err(err) => Outcome::Failed(err.to_string()),
        };
        self.journal.append_result(&intent, result, self.now())?;
        called?;
        Ok(AdmitOutcome {
            node_id: found.id.clone(),
            node_name: found.name.clone(),
            from: found.max_concurrent_tasks,
            to,
            admission,
        })
    }

    /// Nodes that appeared since `previous` and take tasks unverified: held at task cap 0
    /// (journaled) with `nodes.admit_with_task_cap_zero`, else only offered.
    pub async fn hold_new(
        &self,
        previous: Option<&[Node]>,
        current: &[Node],
    ) -> Result<Vec<HoldOutcome>, NodeJobError> {
        let admitted = admitted(&self.records()?, &self.profile);
        let new = admission::new_unverified(previous, current, &self.config, &admitted);
        if new.is_empty() {
            return Ok(Vec::new());
        }
        // The listing may be a refresh old: a cap an operator set since then is theirs to keep.
        let fresh = self.client.nodes().await?;
        let mut outcomes = Vec::new();
        for node in new {
            let now_cap = fresh.iter().find(|n| n.id == node.id).map(|n| n.max_concurrent_tasks);
            if now_cap != Some(node.max_concurrent_tasks) {
                let said = match now_cap {
                    Some(cap) => format!(
                        "new HA node {} was not held at task cap 0: its cap was changed to {cap} since it was \
                         listed, so it stays as set",
                        node.name
                    ),
                    None => format!("new HA node {} was not held: it is gone since it was listed", node.name),
                };
                outcomes.push(HoldOutcome {
                    node_id: node.id.clone(),
                    node_name: node.name.clone(),
                    held: false,
                    said,
                });
                continue;
            }
            if !self.config.admit_with_task_cap_zero {
                outcomes.push(HoldOutcome {
                    node_id: node.id.clone(),
                    node_name: node.name.clone(),
                    held: false,
                    said: format!(
                        "new HA node {} takes tasks (cap {}) unverified: set its task cap to 0 until it is checked, \
                         then `scaleguard node admit {}`",
                        node.name, node.max_concurrent_tasks, node.name
                    ),
                });
                continue;
            }
            let said = match self.set_task_cap(&node.id, 0, HOLD_REASON).await {
                Ok(_) => (
                    true,
                    format!(
                        "new HA node {} held at task cap 0 until verified (was {}); `scaleguard node admit {}` raises it",
                        node.name, node.max_concurrent_tasks, node.name
                    ),
                ),
                Err(err) => (false, format!("new HA node {} could not be held at task cap 0: {err}", node.name)),
            };
            outcomes.push(HoldOutcome {
                node_id: node.id.clone(),
                node_name: node.name.clone(),
                held: said.0,
                said: said.1,
            });
        }
        Ok(outcomes)
    }
}
