//! How a proposal and an outcome read: lines for a terminal, summaries for JSON.

use super::{Proposal, ScaleOutcome};
use crate::autoscale::AutoscaleSummary;
use crate::guard::{format_duration, Verdict};
use crate::model::ScaleChange;
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
    /// Who or what made the last change, when known.
    pub last_change_by: Option<String>,
    /// Every change within the cooldown window, newest first.
    pub recent_changes: Vec<ChangeSummary>,
    /// The Azure Autoscale setting targeting the set (null when none).
    pub autoscale: Option<AutoscaleSummary>,
    /// The Activity Log could not be read: why (the cooldown is then unknown).
    pub activity_log_failure: Option<String>,
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
    /// What to know before confirming (Autoscale may move it, what was forced past).
    pub warnings: Vec<String>,
}

/// A change by anyone, as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    pub at: String,
    pub by: Option<String>,
    pub from: Option<u32>,
    pub to: Option<u32>,
}

impl ChangeSummary {
    fn of(change: &ScaleChange) -> Self {
        Self { at: rfc3339(change.at), by: change.by.clone(), from: change.from, to: change.to }
    }
}

/// `by autoscale (setting x), 3m 0s ago` for a change seen at `now`.
fn who_and_when(change: &ScaleChange, now: OffsetDateTime) -> String {
    let ago = u64::try_from((now - change.at).whole_seconds()).unwrap_or(0);
    let by = change.by.as_deref().unwrap_or("someone");
    if ago >= 2 * 86_400 {
        return format!("{by}, {} days ago", ago / 86_400);
    }
    format!("{by}, {} ago", format_duration(ago))
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
            last_change: self.last_change.as_ref().map(|c| rfc3339(c.at)),
            last_change_by: self.last_change.as_ref().and_then(|c| c.by.clone()),
            recent_changes: self.recent_changes.iter().map(ChangeSummary::of).collect(),
            autoscale: self.others.autoscale.summary(),
            activity_log_failure: self.others.activity_log_failure.clone(),
            provisioning_state: self.state.provisioning_state.to_string(),
            protected: self.protected.clone(),
            expected_victims: self.expected_victims.clone(),
            orchestration_mode: self.state.orchestration_mode.to_string(),
            scale_in_basis: crate::scale_in::basis(&self.state),
            force: self.request.force,
            reason: self.request.reason.clone(),
            allowed: self.is_allowed(),
            refusals: self.verdict.refusals().iter().map(ToString::to_string).collect(),
            warnings: self.verdict.warnings().to_vec(),
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
            format!("Autoscale    {}", self.others.autoscale.line(self.read_at)),
            match (&self.last_change, &self.others.activity_log_failure) {
                (Some(change), _) => {
                    format!("Last change  {} by {}", rfc3339(change.at), who_and_when(change, self.read_at))
                }
                (None, Some(_)) => "Last change  unknown (the Activity Log could not be read)".to_string(),
                (None, None) => "Last change  none recorded".to_string(),
            },
        ];
        if let Some(group) = &self.state.aws {
            lines.insert(
                3,
                format!(
                    "Group        MinSize {}, MaxSize {}, DefaultCooldown {}s, termination policies {}",
                    group.min_size,
                    group.max_size,
                    group.default_cooldown_secs,
                    crate::scale_in::aws::policies(&self.state).join(", ")
                ),
            );
        }
        if self.recent_changes.len() > 1 {
            let shown: Vec<String> =
                self.recent_changes.iter().take(4).map(|c| who_and_when(c, self.read_at)).collect();
            lines.push(format!("Changes      within the cooldown: {}", shown.join("; ")));
        }
        lines.extend([
            format!("State        {}", s.provisioning_state),
            format!("Protected    {}", id_list(&s.protected)),
        ]);
        if s.delta < 0 {
            lines.push(format!(
                "Scale-in     expected to remove instance(s) {} ({})",
                id_list(&s.expected_victims),
                s.scale_in_basis
            ));
        }
        lines.push(format!("Reason       {}", if s.reason.trim().is_empty() { "(none)" } else { &s.reason }));
        match &self.verdict {
            Verdict::Allowed { forced, warnings, .. } => {
                lines.push(
                    if *forced { "Verdict      ALLOWED (forced)" } else { "Verdict      ALLOWED" }.into(),
                );
                lines.extend(warnings.iter().map(|w| format!("  ! {w}")));
            }
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
