//! `doctor`: the settings behind most scale-event incidents, checked against Octopus's and Azure's
//! published recommendations, each finding with its observed value, the recommended one, a fix and
//! the public page it comes from.
//!
//! [`gather`] does all the IO (one [`DoctorInput`] snapshot); [`check`] is pure: the same input,
//! profile and `now` always give the same findings, most severe first. A read that failed is a
//! `ReadFailure` in its slot: the checks that need it are skipped and [`DoctorInput::failures`]
//! says what could not be checked.
//!
//! Severities: *error* breaks a scale event (a refused deployment, two targets nobody can tell
//! apart, nodes on different versions, a missing permission); *warning* makes one risky or slow;
//! *info* describes how the scale set behaves and needs no fix (overprovisioning, protected VMs, a
//! non-default scale-in policy, no verified-node list). A world set up as recommended has no error
//! and no warning; it may keep the overprovisioning info, as that is Azure's default and harmless
//! here (the planner waits for the set to settle and never deploys to the extras).
//!
//! Deliberate difference from Octopus's auto-scaling guidance: it offers a machine policy that deletes
//! unavailable targets after 15–20 minutes, but prefers a reconcile runbook; so does `doctor`
//! (`policy.cleanup-deletes-stopped-vms`), because the policy also deletes VMs that are only stopped.

pub mod autoscale;
pub mod aws_groups;
pub mod finding;
pub mod flexible_sets;
mod gather;
pub mod ha_set;
pub mod nodes;
pub mod permissions;
pub mod policies;
pub mod projects;
pub mod scale_sets;
pub mod targets;
#[cfg(test)]
mod testkit;

pub use finding::{Counts, Finding};
pub use gather::{gather, gather_with};
pub use permissions::{PermissionProbe, ProbeOutcome};

use crate::config::Profile;
use crate::model::{Node, Target};
use crate::octopus::{EnvironmentSettings, MachinePolicy, ProjectSettings};
use crate::snapshot::{Observed, ReadFailure, ScaleSetObservation};
use time::OffsetDateTime;

/// Everything the checks look at, read once.
#[derive(Debug, Clone)]
pub struct DoctorInput {
    pub taken_at: OffsetDateTime,
    /// `GET /api`: the version every HA node must run.
    pub server_version: Observed<String>,
    pub environment: Observed<EnvironmentSettings>,
    /// The profile's projects, in config order.
    pub projects: Observed<Vec<ProjectSettings>>,
    /// Targets in the environment with all configured roles.
    pub targets: Observed<Vec<Target>>,
    /// Every machine policy of the space.
    pub policies: Observed<Vec<MachinePolicy>>,
    pub nodes: Observed<Vec<Node>>,
    pub scale_sets: Vec<ScaleSetObservation>,
    /// One harmless read per resource the profile's actions need.
    pub permissions: Vec<PermissionProbe>,
    /// When a reconcile (plan, apply, the console) last observed the sets: the observation
    /// history's last entry. None when never, or not known.
    pub last_reconcile: Option<OffsetDateTime>,
}

impl DoctorInput {
    /// Every read that failed (a permission probe that was refused is a finding, not a failure).
    pub fn failures(&self) -> Vec<&ReadFailure> {
        let mut failures: Vec<&ReadFailure> = Vec::new();
        failures.extend(self.server_version.as_ref().err());
        failures.extend(self.environment.as_ref().err());
        failures.extend(self.projects.as_ref().err());
        failures.extend(self.targets.as_ref().err());
        failures.extend(self.policies.as_ref().err());
        failures.extend(self.nodes.as_ref().err());
        failures.extend(self.scale_sets.iter().filter_map(|s| s.listing.as_ref().err()));
        failures.extend(self.scale_sets.iter().filter_map(|s| s.others.setting.as_ref().err()));
        failures.extend(self.permissions.iter().filter_map(|p| match &p.outcome {
            ProbeOutcome::Failed(failure) => Some(failure),
            _ => None,
        }));
        // One unreachable server fails many reads the same way: say it once.
        let mut seen = std::collections::HashSet::new();
        failures.retain(|f| seen.insert((f.what.clone(), f.message.clone())));
        failures
    }

    /// True when nothing at all could be read (a dead server, a missing key).
    pub fn nothing_read(&self) -> bool {
        self.server_version.is_err()
            && self.environment.is_err()
            && self.projects.is_err()
            && self.targets.is_err()
            && self.policies.is_err()
            && self.nodes.is_err()
            && self.scale_sets.iter().all(|s| s.listing.is_err())
            && self.permissions.iter().all(|p| matches!(p.outcome, ProbeOutcome::Failed(_)))
    }
}

/// Every finding for `input`, most severe first (stable within a severity: area order, then the
/// order things were listed in).
pub fn check(input: &DoctorInput, profile: &Profile, now: OffsetDateTime) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Ok(projects) = &input.projects {
        findings.extend(projects::check(projects, input.environment.as_ref().ok(), &profile.octopus.roles));
    }
    if let (Ok(targets), Ok(policies)) = (&input.targets, &input.policies) {
        findings.extend(policies::check(targets, policies));
    }
    if let Ok(targets) = &input.targets {
        let nodes = input.nodes.as_ref().ok().map(Vec::as_slice);
        findings.extend(targets::check(targets, nodes, &input.scale_sets));
    }
    if let Ok(nodes) = &input.nodes {
        let version = input.server_version.as_ref().ok().map(String::as_str);
        findings.extend(nodes::check(nodes, version, &profile.nodes, now));
    }
    findings.extend(ha_set::check(&input.scale_sets, input.nodes.as_ref().ok().map(Vec::as_slice), profile));
    findings.extend(scale_sets::check(&input.scale_sets, &profile.guard));
    findings.extend(autoscale::check(&input.scale_sets, &profile.guard, input.last_reconcile, now));
    findings.extend(permissions::check(&input.permissions));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

#[cfg(test)]
mod tests {
    use super::testkit::{listing, node, polling, state, target, NOW};
    use super::*;
    use crate::config::{ConfigFile, EXAMPLE};
    use crate::model::Severity;

    fn profile() -> Profile {
        let config = ConfigFile::parse(EXAMPLE, std::path::Path::new("example.toml")).unwrap();
        let mut profile = config.profile(None).unwrap().1.clone();
        profile.nodes.verified = vec!["n1".into(), "n2".into()];
        profile
    }

    fn input() -> DoctorInput {
        let mut old = node("n2");
        old.version = Some("2024.2.1".into());
        let mut on = state(3);
        on.overprovision = true;
        DoctorInput {
            taken_at: NOW,
            server_version: Ok("2024.3.12741".into()),
            environment: Err(ReadFailure::new("Octopus environment", "timeout")),
            projects: Ok(vec![]),
            targets: Ok(vec![polling("vmssweb000000"), target("vmssweb000001")]),
            policies: Ok(vec![]),
            nodes: Ok(vec![node("n1"), old]),
            scale_sets: vec![listing(on, vec![])],
            permissions: vec![],
            last_reconcile: None,
        }
    }

    #[test]
    fn findings_come_most_severe_first() {
        let findings = check(&input(), &profile(), NOW);
        let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
        let mut sorted = severities.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(severities, sorted);
        let ids: Vec<&str> = findings.iter().map(|f| f.id).collect();
        assert_eq!(
            ids,
            vec![
                nodes::VERSION_MISMATCH,
                targets::POLLING_WITH_HA,
                targets::NO_SCALE_SET,
                scale_sets::OVERPROVISION
            ]
        );
    }

    #[test]
    fn an_unread_slot_skips_its_checks_and_is_listed_once() {
        let mut input = input();
        input.nodes = Err(ReadFailure::new("Octopus HA nodes", "403"));
        input.targets = Err(ReadFailure::new("Octopus HA nodes", "403"));
        let ids: Vec<&str> = check(&input, &profile(), NOW).iter().map(|f| f.id).collect();
        assert_eq!(ids, vec![scale_sets::OVERPROVISION], "no node or target check without their reads");
        let failures = input.failures();
        assert_eq!(failures.len(), 2, "the same failure twice is said once: {failures:?}");
        assert!(!input.nothing_read());
    }

    #[test]
    fn the_same_input_gives_the_same_findings() {
        assert_eq!(check(&input(), &profile(), NOW), check(&input(), &profile(), NOW));
    }
}
