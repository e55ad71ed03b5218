//! The scale sets themselves: overprovisioning (information: extras register and vanish), the
//! scale-in policy, capacity outside the guard's limits, and VMs protected from scale-in; for
//! Flexible sets also zones, fault-domain spreading and forced deletion (`flexible_sets`), and
//! never an overprovisioning finding (Flexible sets do not overprovision).

use super::finding::{list_names, source, Finding};
use crate::config::GuardConfig;
use crate::model::{OrchestrationMode, Severity};
use crate::snapshot::ScaleSetObservation;

pub const OVERPROVISION: &str = "scale-set.overprovision";
pub const SCALE_IN_POLICY: &str = "scale-set.scale-in-policy";
pub const CAPACITY_OUTSIDE_GUARD: &str = "scale-set.capacity-outside-guard";
pub const PROTECTED_INSTANCES: &str = "scale-set.protected-instances";

/// Scale sets whose listing failed are skipped (the failure is reported elsewhere).
pub fn check(scale_sets: &[ScaleSetObservation], guard: &GuardConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    for observation in scale_sets {
        let Ok(listing) = &observation.listing else { continue };
        let state = &listing.state;
        let subject = format!("scale set {}", state.key);
        let flexible = state.orchestration_mode == OrchestrationMode::Flexible;
        if flexible {
            findings.extend(super::flexible_sets::check(state, &subject));
        }
        if state.overprovision && !flexible {
            findings.push(Finding {
                id: OVERPROVISION,
                severity: Severity::Info,
                subject: subject.clone(),
                observed: "overprovisioning on (Azure's default)".into(),
                recommended: "on is fine: expect extra VMs to register for a minute and vanish".into(),
                why: "Azure creates more VMs than asked and deletes the extras; scaleguard waits for the scale set \
                      to settle and never deploys to them"
                    .into(),
                fix: "nothing to do; to avoid the churn set overprovision to false on the scale set".into(),
                source: source::OVERPROVISIONING,
            });
        }
        if let Some(group) = &state.aws {
            findings.extend(super::aws_groups::check(group, &subject));
        }
        let rule = state.scale_in_rules.first().map(String::as_str).unwrap_or("Default");
        // An AWS group's termination policies are not Azure's scale-in policy.
        if state.aws.is_none() && !rule.eq_ignore_ascii_case("Default") {
            findings.push(Finding {
                id: SCALE_IN_POLICY,
                severity: Severity::Info,
                subject: subject.clone(),
                observed: format!("scale-in policy {rule}: {}", scale_in_words(rule)),
                recommended: "Default: balanced across zones, highest instance ids first".into(),
                why: "which VMs a scale-in removes decides which targets the reconcile will delete next"
                    .into(),
                fix: "nothing to do if intended; otherwise set scaleInPolicy.rules to Default".into(),
                source: source::SCALE_IN_POLICY,
            });
        }
        if state.capacity < guard.min_capacity || state.capacity > guard.max_capacity {
            findings.push(Finding {
                id: CAPACITY_OUTSIDE_GUARD,
                severity: Severity::Warning,
                subject: subject.clone(),
                observed: format!("capacity {}", state.capacity),
                recommended: format!(
                    "within the guard's limits, {} to {}",
                    guard.min_capacity, guard.max_capacity
                ),
                why: "someone or an autoscale rule took the scale set past the limits this profile's guard \
                      enforces on manual scaling"
                    .into(),
                fix:
                    "bring the capacity back within the limits, or change guard.min_capacity/max_capacity if \
                      they are out of date"
                        .into(),
                source: source::AUTOSCALE,
            });
        }
        let protected: Vec<&str> = listing
            .instances
            .iter()
            .filter(|i| i.is_protected())
            .map(|i| i.computer_name.as_deref().unwrap_or(&i.name))
            .collect();
        if !protected.is_empty() {
            let ids: Vec<&str> = listing
                .instances
                .iter()
                .filter(|i| i.is_protected())
                .map(|i| i.instance_id.as_str())
                .collect();
            findings.push(Finding {
                id: PROTECTED_INSTANCES,
                severity: Severity::Info,
                subject,
                observed: format!(
                    "{} VM(s) protected from scale-in: {} (instance ids {})",
                    protected.len(),
                    list_names(&protected, 5),
                    list_names(&ids, 5)
                ),
                recommended: "protection only on VMs that must survive a scale-in".into(),
                why: "a scale-in skips protected VMs, so others go instead of the highest ids".into(),
                fix: "nothing to do if intended; otherwise clear protectFromScaleIn on those VMs".into(),
                source: source::INSTANCE_PROTECTION,
            });
        }
    }
    findings
}

fn scale_in_words(rule: &str) -> &'static str {
    match rule.to_ascii_lowercase().as_str() {
        "newestvm" => "the newest VMs go first, often the ones just deployed to",
        "oldestvm" => "the oldest VMs go first",
        _ => "an unknown rule",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testkit::{instance, listing, state};
    use crate::snapshot::ReadFailure;

    fn guard(min: u32, max: u32) -> GuardConfig {
        GuardConfig { min_capacity: min, max_capacity: max, ..GuardConfig::default() }
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_plain_scale_set_within_limits_gives_no_finding() {
        let set = listing(state(3), vec![instance(0, "a"), instance(1, "b"), instance(2, "c")]);
        assert!(check(&[set], &guard(1, 10)).is_empty());
        let mut none = state(3);
        none.scale_in_rules.clear();
        assert!(check(&[listing(none, vec![])], &guard(1, 10)).is_empty(), "no rules means Default");
    }

    #[test]
    fn overprovisioning_is_information_only() {
        let mut on = state(3);
        on.overprovision = true;
        let findings = check(&[listing(on, vec![])], &guard(1, 10));
        assert_eq!(
            findings.iter().map(|f| (f.id, f.severity)).collect::<Vec<_>>(),
            vec![(OVERPROVISION, Severity::Info)]
        );
    }

    #[test]
    fn a_newest_first_scale_in_policy_is_explained() {
        let mut newest = state(3);
        newest.scale_in_rules = vec!["NewestVM".into()];
        let findings = check(&[listing(newest, vec![])], &guard(1, 10));
        assert_eq!(ids(&findings), vec![SCALE_IN_POLICY]);
        assert!(findings[0].observed.contains("newest"));
    }

    #[test]
    fn capacity_outside_the_guard_is_a_warning_on_either_side() {
        assert_eq!(ids(&check(&[listing(state(12), vec![])], &guard(1, 10))), vec![CAPACITY_OUTSIDE_GUARD]);
        assert_eq!(ids(&check(&[listing(state(1), vec![])], &guard(2, 10))), vec![CAPACITY_OUTSIDE_GUARD]);
        assert!(check(&[listing(state(10), vec![])], &guard(2, 10)).is_empty(), "limits are inclusive");
    }

    #[test]
    fn protected_instances_are_listed_by_name_and_id() {
        let mut guarded = instance(1, "web1");
        guarded.protected_from_scale_in = Some(true);
        let findings = check(&[listing(state(2), vec![instance(0, "web0"), guarded])], &guard(1, 10));
        assert_eq!(ids(&findings), vec![PROTECTED_INSTANCES]);
        assert!(findings[0].observed.contains("web1 (instance ids 1)"), "{}", findings[0].observed);
    }

    #[test]
    fn a_failed_listing_is_skipped() {
        let mut failed = listing(state(50), vec![]);
        failed.listing = Err(ReadFailure::new("scale set", "timeout"));
        assert!(check(&[failed], &guard(1, 10)).is_empty());
    }
}
