//! How a proposal and an outcome read: lines for a terminal, summaries for JSON.

use super::{Proposal, ScaleOutcome};
use crate::guard::Verdict;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A proposal as plain data (`--format json`, the console's dialog).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposalSummary {
    pub profile: String,
    pub scale_set: String,
    pub current: u32,
    pub target: u32,
    pub delta: i64,
    pub min_capacity: u32,
    pub max_capacity: u32,
    pub max_step: u32,
    pub cooldown_secs: u64,
    pub last_change: Option<String>,
    pub provisioning_state: String,
    pub protected: Vec<String>,
    pub expected_victims: Vec<String>,
    /// "Uniform" or "Flexible".
    pub orchestration_mode: String,
    /// How `expected_victims` were chosen: highest ids first (Uniform), or what the scale-in
    /// policy likely removes, Azure deciding (Flexible).
    pub scale_in_basis: String,
    pub force: bool,
    pub reason: String,
    pub allowed: bool,
    /// Every reason the guard refused, as sentences; empty when allowed.
    pub refusals: Vec<String>,
}

/// An outcome as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutcomeSummary {
    /// "done", "refused", "changed" (412: someone else changed the set) or "failed".
    pub status: &'static str,
    pub message: String,
    /// For "changed": the request re-read and re-checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh: Option<ProposalSummary>,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn id_list(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

impl Proposal {
    pub fn summary(&self) -> ProposalSummary {
        ProposalSummary {
            profile: self.profile.clone(),
            scale_set: self.key().to_string(),
            current: self.current(),
            target: self.target(),
            delta: self.delta(),
            min_capacity: self.limits.min_capacity,
            max_capacity: self.limits.max_capacity,
            max_step: self.limits.max_step,
            cooldown_secs: self.limits.cooldown_secs,
            last_change: self.last_change.map(rfc3339),
            provisioning_state: self.state.provisioning_state.to_string(),
            protected: self.protected.clone(),
            expected_victims: self.expected_victims.clone(),
            orchestration_mode: self.state.orchestration_mode.to_string(),
            scale_in_basis: crate::scale_in::basis(&self.state),
            force: self.request.force,
            reason: self.request.reason.clone(),
            allowed: self.is_allowed(),
            refusals: self.verdict.refusals().iter().map(ToString::to_string).collect(),
        }
    }

    /// The proposal as aligned lines, verdict last with every reason.
    pub fn lines(&self) -> Vec<String> {
        let s = self.summary();
        let mut lines = vec![
            format!("Scale set    {} (profile {})", s.scale_set, s.profile),
            format!("Capacity     {} → {} ({:+})", s.current, s.target, s.delta),
            format!(
                "Limits       min {}, max {}, at most {} per change, cooldown {}s",
                s.min_capacity, s.max_capacity, s.max_step, s.cooldown_secs
            ),
            // Azure reports when a set was created, not when its capacity last changed: say so.
            match s.last_change.as_deref() {
                Some(at) => format!("Last change  {at} (journaled changes or the set's creation)"),
                None => "Last change  none recorded".to_string(),
            },
            format!("State        {}", s.provisioning_state),
            format!("Protected    {}", id_list(&s.protected)),
        ];
        if s.delta < 0 {
            lines.push(format!(
                "Scale-in     expected to remove instance(s) {} ({})",
                id_list(&s.expected_victims),
                s.scale_in_basis
            ));
        }
        lines.push(format!("Reason       {}", if s.reason.trim().is_empty() { "(none)" } else { &s.reason }));
        match &self.verdict {
            Verdict::Allowed { forced: true, .. } => {
                lines.push("Verdict      ALLOWED (forced past an unfinished provisioning)".into())
            }
            Verdict::Allowed { .. } => lines.push("Verdict      ALLOWED".into()),
            Verdict::Refused { reasons } => {
                lines.push(format!("Verdict      REFUSED ({} reason(s))", reasons.len()));
                lines.extend(reasons.iter().map(|r| format!("  - {r}")));
            }
        }
        lines
    }
}

impl ScaleOutcome {
    pub fn summary(&self) -> OutcomeSummary {
        let (status, fresh) = match self {
            ScaleOutcome::Done { .. } => ("done", None),
            ScaleOutcome::Refused { .. } => ("refused", None),
            ScaleOutcome::Changed(conflict) => {
                ("changed", conflict.fresh.as_ref().ok().map(Proposal::summary))
            }
            ScaleOutcome::Failed { .. } => ("failed", None),
        };
        OutcomeSummary { status, message: self.sentence(), fresh }
    }
}
