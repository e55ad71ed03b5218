//! The console's view of HA-node jobs: each drain or delete as last heard of, and the unfinished
//! drains the journal holds. `update_nodes` changes it; the nodes pane and the diffs pane's jobs
//! section read it.

use super::messages::JobKind;
use crate::drain::DrainState;
use crate::node_job::JobProgress;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One drain or delete, as the console last heard of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    pub node_id: String,
    pub node_name: String,
    pub kind: JobKind,
    pub progress: Option<JobProgress>,
    /// Done or aborted (Ok) or failed (Err), one sentence.
    pub ended: Option<Result<String, String>>,
    /// The question already put to the operator (so a tick does not reopen a dismissed one).
    pub asked: Option<OffsetDateTime>,
}

impl JobView {
    pub fn new(node_id: &str, node_name: &str, kind: JobKind) -> Self {
        Self {
            node_id: node_id.into(),
            node_name: node_name.into(),
            kind,
            progress: None,
            ended: None,
            asked: None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.ended.is_none()
    }

    pub fn waits_for_answer(&self) -> bool {
        self.is_running()
            && self.progress.as_ref().is_some_and(|p| matches!(p.state, DrainState::Question { .. }))
    }

    /// "drain: waiting for tasks, 2 running, 42s [resumed]" — for the nodes pane's JOB column.
    pub fn short_line(&self) -> String {
        let kind = self.kind.label();
        match (&self.ended, &self.progress) {
            (Some(Err(why)), _) => format!("{kind} failed: {why}"),
            (Some(Ok(_)), Some(p)) => format!("{kind} {}, {}s", p.state_name, p.elapsed_secs),
            (Some(Ok(text)), None) => format!("{kind}: {text}"),
            (None, None) => format!("{kind}: starting"),
            (None, Some(p)) => {
                let badge = if p.resumed { " [resumed]" } else { "" };
                format!("{kind}: {}, {} running, {}s{badge}", p.state_name, p.running_tasks, p.elapsed_secs)
            }
        }
    }

    /// The full progress line (`JobProgress::line`) for the jobs section of the diffs pane.
    pub fn status_line(&self) -> String {
        match (&self.ended, &self.progress) {
            (Some(Err(why)), _) => format!("failed: {why}"),
            (_, Some(p)) => {
                let badge = if p.resumed { " [resumed]" } else { "" };
                format!("{}{badge}", p.line())
            }
            (_, None) => format!("{}: starting", self.node_name),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeJobs {
    /// By node id, in the order of the ids.
    pub jobs: BTreeMap<String, JobView>,
    /// Nodes with an unfinished drain in the journal (id → name), not yet resumed.
    pub pending: BTreeMap<String, String>,
}

impl NodeJobs {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.pending.is_empty()
    }

    /// What the nodes pane's JOB column shows for a node.
    pub fn node_line(&self, node_id: &str) -> Option<String> {
        if let Some(job) = self.jobs.get(node_id) {
            return Some(job.short_line());
        }
        self.pending.contains_key(node_id).then(|| "unfinished drain: d resumes".to_string())
    }

    /// (kind, node, status) rows for the diffs pane's jobs section.
    pub fn rows(&self) -> Vec<(String, String, String)> {
        let pending = self.pending.iter().filter(|(id, _)| !self.jobs.contains_key(*id)).map(|(_, name)| {
            (
                "drain".to_string(),
                name.clone(),
                "unfinished in the journal: d on the nodes pane resumes".into(),
            )
        });
        self.jobs
            .values()
            .map(|job| (job.kind.label().to_string(), job.node_name.clone(), job.status_line()))
            .chain(pending)
            .collect()
    }
}
