//! Azure Autoscale against the profile: guard limits that contradict the active profile, a
//! disabled setting, and Autoscale removing VMs while no reconcile runs to delete their targets.

use super::finding::{source, Finding};
use crate::autoscale::AutoscaleState;
use crate::config::GuardConfig;
use crate::model::Severity;
use crate::snapshot::ScaleSetObservation;
use time::{Duration, OffsetDateTime};

pub const DISABLED: &str = "autoscale.disabled";
pub const GUARD_MAX_BELOW_PROFILE: &str = "autoscale.guard-max-below-profile";
pub const GUARD_MIN_ABOVE_PROFILE: &str = "autoscale.guard-min-above-profile";
pub const SCALE_IN_WITHOUT_RECONCILE: &str = "autoscale.scale-in-without-reconcile";
pub const UNKNOWN_PROFILE: &str = "autoscale.unknown-profile";

/// A reconcile (scaleguard plan/apply, or the console) that last observed the sets longer ago
/// than this is not running.
pub const RECONCILE_STALE_AFTER: Duration = Duration::hours(1);

/// `last_reconcile`: when a reconcile last observed the sets (the observation history), if ever.
/// A setting that could not be read is skipped (the failure is reported elsewhere).
pub fn check(
    scale_sets: &[ScaleSetObservation],
    guard: &GuardConfig,
    last_reconcile: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for observation in scale_sets {
        let Ok(Some(setting)) = &observation.others.setting else { continue };
        let subject = format!("scale set {} (Azure Autoscale setting {})", observation.key, setting.name);
        if !setting.enabled {
            findings.push(Finding {
                id: DISABLED,
                severity: Severity::Warning,
                subject,
                observed: "the setting is disabled: Autoscale does not scale the set".into(),
                recommended: "enabled, unless someone turned it off on purpose for a while".into(),
                why: "a setting left disabled after an incident leaves the set at whatever capacity it had, under load \
                      or not"
                    .into(),
                fix: format!("scaleguard autoscale {} --enable --reason \"...\"", observation.key.name),
                source: source::AUTOSCALE_BEST_PRACTICES,
            });
            continue;
        }
        match observation.others.autoscale(now) {
            AutoscaleState::On { profile, range, .. } => {
                if guard.max_capacity < range.maximum {
                    findings.push(Finding {
                        id: GUARD_MAX_BELOW_PROFILE,
                        severity: Severity::Warning,
                        subject: subject.clone(),
                        observed: format!(
                            "guard.max_capacity {} is below the active profile \"{profile}\"'s maximum {}",
                            guard.max_capacity, range.maximum
                        ),
                        recommended: "guard limits that cover the profile's range".into(),
                        why: format!(
                            "Autoscale may take the set to {}, where every manual scale is refused as above the guard's \
                             maximum",
                            range.maximum
                        ),
                        fix: format!(
                            "raise guard.max_capacity to {} or lower the profile's maximum (scaleguard autoscale)",
                            range.maximum
                        ),
                        source: source::AUTOSCALE_PROFILES,
                    });
                }
                if guard.min_capacity > range.minimum {
                    findings.push(Finding {
                        id: GUARD_MIN_ABOVE_PROFILE,
                        severity: Severity::Warning,
                        subject: subject.clone(),
                        observed: format!(
                            "guard.min_capacity {} is above the active profile \"{profile}\"'s minimum {}",
                            guard.min_capacity, range.minimum
                        ),
                        recommended: "guard limits that cover the profile's range".into(),
                        why: format!(
                            "Autoscale may scale in to {}, below what the guard lets anyone do by hand",
                            range.minimum
                        ),
                        fix: format!(
                            "lower guard.min_capacity to {} or raise the profile's minimum (scaleguard autoscale)",
                            range.minimum
                        ),
                        source: source::AUTOSCALE_PROFILES,
                    });
                }
            }
            AutoscaleState::Unknown { why } => findings.push(Finding {
                id: UNKNOWN_PROFILE,
                severity: Severity::Warning,
                subject: subject.clone(),
                observed: why,
                recommended: "a setting whose active profile can be worked out".into(),
                why: "the guard cannot tell whether Autoscale would undo a manual change, so it refuses unless forced"
                    .into(),
                fix: "check the setting's time zones and schedules in the portal".into(),
                source: source::AUTOSCALE_PROFILES,
            }),
            AutoscaleState::None | AutoscaleState::Disabled { .. } => {}
        }
        let scales_in: Vec<String> = setting
            .profiles
            .iter()
            .filter(|p| p.scales_in)
            .map(|p| format!("\"{}\"", p.display_name()))
            .collect();
        let reconciled = last_reconcile.is_some_and(|at| now - at <= RECONCILE_STALE_AFTER);
        if !scales_in.is_empty() && !reconciled {
            let last = match last_reconcile {
                Some(at) => format!("the last reconcile observed the sets at {at}"),
                None => "no reconcile has observed the sets".into(),
            };
            findings.push(Finding {
                id: SCALE_IN_WITHOUT_RECONCILE,
                severity: Severity::Warning,
                subject,
                observed: format!("profile(s) {} scale in; {last}", scales_in.join(", ")),
                recommended: "a reconcile (scaleguard apply on a schedule, or a runbook) while Autoscale may scale in"
                    .into(),
                why: "Autoscale deletes VMs on its own: their Octopus targets stay registered, unavailable, until a \
                      reconcile deletes them"
                    .into(),
                fix: "run scaleguard apply on a schedule (or keep the console open and approve its deletes)".into(),
                source: source::VMSS_RECONCILE,
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::parse_setting;
    use crate::doctor::testkit::{listing, state, NOW};
    use crate::snapshot::{OthersObservation, ReadFailure};
    use serde_json::json;

    fn setting(enabled: bool, scales_in: bool) -> crate::autoscale::Setting {
        let rules = if scales_in {
            json!([{"scaleAction": {"direction": "Decrease", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"}}])
        } else {
            json!([])
        };
        parse_setting(&json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/web-autoscale",
            "name": "web-autoscale",
            "properties": {"enabled": enabled, "targetResourceUri": "x", "profiles": [
                {"name": "default", "capacity": {"minimum": "2", "maximum": "12", "default": "4"}, "rules": rules}
            ]}
        }))
        .unwrap()
    }

    fn observed(setting: Option<crate::autoscale::Setting>) -> ScaleSetObservation {
        let mut observation = listing(state(4), vec![]);
        observation.others = OthersObservation { setting: Ok(setting), changes: Ok(vec![]) };
        observation
    }

    fn guard(min: u32, max: u32) -> GuardConfig {
        GuardConfig { min_capacity: min, max_capacity: max, ..GuardConfig::default() }
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn guard_limits_inside_the_profile_are_both_named() {
        let findings = check(&[observed(Some(setting(true, false)))], &guard(3, 10), None, NOW);
        assert_eq!(ids(&findings), vec![GUARD_MAX_BELOW_PROFILE, GUARD_MIN_ABOVE_PROFILE]);
        assert!(findings[0]
            .observed
            .contains("guard.max_capacity 10 is below the active profile \"default\"'s maximum 12"));
        assert!(
            check(&[observed(Some(setting(true, false)))], &guard(2, 12), None, NOW).is_empty(),
            "limits are inclusive"
        );
    }

    #[test]
    fn a_disabled_setting_is_a_warning_and_nothing_else() {
        let findings = check(&[observed(Some(setting(false, true)))], &guard(3, 10), None, NOW);
        assert_eq!(ids(&findings), vec![DISABLED]);
        assert_eq!(findings[0].fix, "scaleguard autoscale vmss-web --enable --reason \"...\"");
    }

    #[test]
    fn scale_in_needs_a_recent_reconcile() {
        let set = [observed(Some(setting(true, true)))];
        assert_eq!(ids(&check(&set, &guard(2, 12), None, NOW)), vec![SCALE_IN_WITHOUT_RECONCILE]);
        let stale = Some(NOW - Duration::hours(2));
        assert_eq!(ids(&check(&set, &guard(2, 12), stale, NOW)), vec![SCALE_IN_WITHOUT_RECONCILE]);
        assert!(check(&set, &guard(2, 12), Some(NOW - Duration::minutes(5)), NOW).is_empty());
    }

    #[test]
    fn no_setting_or_an_unreadable_one_gives_no_finding() {
        assert!(check(&[observed(None)], &guard(3, 10), None, NOW).is_empty());
        let mut unreadable = observed(None);
        unreadable.others = OthersObservation::not_read(&ReadFailure::new("autoscale", "403"));
        assert!(check(&[unreadable], &guard(3, 10), None, NOW).is_empty());
    }
}
