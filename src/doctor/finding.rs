//! One finding: which check, how bad, what was seen, what is recommended, where that advice comes
//! from, and the one-line fix.

use crate::model::Severity;
use serde::Serialize;

/// Where a recommendation comes from (the source documents in `shared/seeds/`, or the design).
pub mod source {
    pub const VMSS_TARGETS: &str = "seed 000: Azure VMSS deployment targets";
    pub const SCALE_IN: &str = "seed 001: scale-in events";
    pub const DESIGN_CONSIDERATIONS: &str = "seed 003: auto-scaling design considerations";
    pub const HA_NODES: &str = "seed 004: auto-scaling HA nodes";
    pub const MATCHING: &str = "scaleguard design: matching VMs to targets by name";
    pub const GUARDRAILS: &str = "seed 003: guardrails such as the most servers a person can request";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable check id (`project.no-targets-refused`): scripts and the console key on it.
    pub id: &'static str,
    pub severity: Severity,
    /// What the finding is about: "project `Todo Web`", "node OCTO-NODE-2".
    pub subject: String,
    pub observed: String,
    pub recommended: String,
    /// Why it matters, in a sentence.
    pub why: String,
    /// What to do, in a line.
    pub fix: String,
    /// The document the recommendation comes from (see [`source`]).
    pub source: &'static str,
}

impl Finding {
    /// `ERROR`, `WARNING`, `INFO`: the severity as text, so it reads without colour.
    pub fn severity_label(&self) -> &'static str {
        match self.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }
}

/// How many findings of each severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub info: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Self {
        let mut counts = Self::default();
        for finding in findings {
            match finding.severity {
                Severity::Error => counts.errors += 1,
                Severity::Warning => counts.warnings += 1,
                Severity::Info => counts.info += 1,
            }
        }
        counts
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error(s), {} warning(s), {} info", self.errors, self.warnings, self.info)
    }
}

/// "a, b, c and 4 more": long lists stay one line.
pub fn list_names<S: AsRef<str>>(names: &[S], most: usize) -> String {
    let shown: Vec<&str> = names.iter().take(most).map(AsRef::as_ref).collect();
    match names.len().saturating_sub(most) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// "45s", "20m", "1h", "1h30m": how Octopus' TimeSpans read to a person.
pub fn human_duration(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(1200)), "20m");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn long_name_lists_are_cut() {
        assert_eq!(list_names(&["a", "b"], 3), "a, b");
        assert_eq!(list_names(&["a", "b", "c", "d"], 2), "a, b and 2 more");
    }
}
