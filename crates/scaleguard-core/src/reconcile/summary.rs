//! Counts of a plan by kind, for the status line and `plan --summary`.

use crate::model::{Action, Plan, Severity};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub waits: usize,
    pub timed_out_waits: usize,
    pub deletes: usize,
    /// Deletes that need an explicit confirmation (capacity 0).
    pub deletes_needing_confirmation: usize,
    pub deploys: usize,
    /// Targets across all deploy actions.
    pub deploy_targets: usize,
    /// AWS lifecycle actions: hooks completed and heartbeats.
    pub lifecycle: usize,
    pub notes: usize,
    pub warnings: usize,
    pub errors: usize,
}

pub fn summarize(plan: &Plan) -> PlanSummary {
    let mut summary = PlanSummary::default();
    for planned in &plan.actions {
        match &planned.action {
            Action::Wait { timed_out, .. } => {
                summary.waits += 1;
                summary.timed_out_waits += usize::from(*timed_out);
            }
            Action::WaitForDeployment { .. } => summary.waits += 1,
            Action::DeleteTarget { requires_confirmation, .. } => {
                summary.deletes += 1;
                summary.deletes_needing_confirmation += usize::from(*requires_confirmation);
            }
            Action::Deploy { target_ids, .. } => {
                summary.deploys += 1;
                summary.deploy_targets += target_ids.len();
            }
            Action::CompleteLifecycle { .. } | Action::LifecycleHeartbeat { .. } => summary.lifecycle += 1,
            Action::Note { severity, .. } => {
                summary.notes += 1;
                summary.warnings += usize::from(*severity == Severity::Warning);
                summary.errors += usize::from(*severity == Severity::Error);
            }
        }
    }
    summary
}

impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} wait(s), {} delete(s), {} deploy(s) to {} target(s), ",
            self.waits, self.deletes, self.deploys, self.deploy_targets
        )?;
        if self.lifecycle > 0 {
            write!(f, "{} lifecycle action(s), ", self.lifecycle)?;
        }
        write!(f, "{} note(s) ({} warning(s), {} error(s))", self.notes, self.warnings, self.errors)
    }
}
