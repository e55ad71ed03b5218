//! The machine policy of the in-scope targets (Octopus's auto-scaling guidance): a dedicated policy, a short
//! health-check interval, unavailable targets that do not fail health checks, Calamari kept up to
//! date, and no automatic cleanup (it deletes VMs that are only stopped; reconcile is safer).

use super::finding::{human_duration, list_names, source, Finding};
use crate::model::{Severity, Target};
use crate::octopus::MachinePolicy;
use std::collections::BTreeMap;
use std::time::Duration;

pub const DEFAULT_POLICY: &str = "policy.default-policy";
pub const HEALTH_CHECK_INTERVAL: &str = "policy.health-check-interval";
pub const UNAVAILABLE_FAILS_HEALTH_CHECK: &str = "policy.unavailable-fails-health-check";
pub const CALAMARI_NOT_ALWAYS_UPDATED: &str = "policy.calamari-not-always-updated";
pub const CLEANUP_DELETES_STOPPED_VMS: &str = "policy.cleanup-deletes-stopped-vms";

/// Octopus's auto-scaling guidance suggests health checks every 10 to 15 minutes: up to 15 is fine.
pub const MAX_HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Each policy used by at least one in-scope target, checked once.
pub fn check(targets: &[Target], policies: &[MachinePolicy]) -> Vec<Finding> {
    let mut users: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for target in targets {
        if let Some(id) = target.machine_policy_id.as_deref() {
            users.entry(id).or_default().push(target.name.as_str());
        }
    }
    let mut findings = Vec::new();
    for (policy_id, names) in users {
        // A policy id that is not in the list cannot be judged; nothing is made up for it.
        if let Some(policy) = policies.iter().find(|p| p.id.eq_ignore_ascii_case(policy_id)) {
            check_policy(policy, &names, &mut findings);
        }
    }
    findings
}

fn check_policy(policy: &MachinePolicy, users: &[&str], findings: &mut Vec<Finding>) {
    let subject = format!("machine policy `{}`", policy.name);
    // Every setting here is on the machine policy page.
    let mut push = |id, severity, observed: String, recommended: &str, why: &str, fix: &str| {
        findings.push(Finding {
            id,
            severity,
            subject: subject.clone(),
            observed,
            recommended: recommended.into(),
            why: why.into(),
            fix: fix.into(),
            source: source::MACHINE_POLICIES,
        })
    };
    if policy.is_default {
        push(
            DEFAULT_POLICY,
            Severity::Warning,
            format!("the default policy is used by {} scale-set target(s): {}", users.len(), list_names(users, 5)),
            "a machine policy of their own",
            "the scale-set targets need settings (interval, unavailable handling) that do not suit every machine",
            "Infrastructure → Machine Policies → Add, then register the tentacles with that policy (--policy)",
        );
    }
    if let Some(interval) = policy.health_check_interval.filter(|i| *i > MAX_HEALTH_CHECK_INTERVAL) {
        push(
            HEALTH_CHECK_INTERVAL,
            Severity::Warning,
            format!("health check every {}", human_duration(interval)),
            "every 10 to 15 minutes",
            "a target whose VM went away is seen as unavailable only at the next health check",
            "machine policy → Health Check Schedule: run every 10 minutes",
        );
    }
    let behavior = policy.connectivity_behavior.as_deref().unwrap_or("ExpectedToBeOnline");
    if !behavior.eq_ignore_ascii_case("MayBeOfflineAndCanBeSkipped") {
        push(
            UNAVAILABLE_FAILS_HEALTH_CHECK,
            Severity::Warning,
            format!("unavailable targets fail the health check ({behavior})"),
            "unavailable deployment targets do not cause health checks to fail",
            "during a scale-in some targets are always unavailable, so every health check fails",
            "machine policy → During Health Checks: unavailable deployment targets will not cause health checks to fail",
        );
    }
    if let Some(calamari) = policy.calamari_update_behavior.as_deref() {
        if !calamari.eq_ignore_ascii_case("UpdateAlways") {
            push(
                CALAMARI_NOT_ALWAYS_UPDATED,
                Severity::Info,
                format!("Calamari is updated {}", calamari_words(calamari)),
                "always keep Calamari up to date",
                "with UpdateAlways a new VM gets Calamari during its first health check, so its first deployment starts sooner",
                "machine policy → Calamari Updates: always keep Calamari up to date",
            );
        }
    }
    if policy.deletes_unavailable_machines {
        let after = policy.delete_after.map(human_duration).unwrap_or_else(|| "an unknown time".into());
        push(
            CLEANUP_DELETES_STOPPED_VMS,
            Severity::Warning,
            format!("deletes unavailable targets after {after}"),
            "do not delete; let `scaleguard plan` remove only targets whose VM left the scale set",
            "the policy cannot tell a deleted VM from one that is only stopped or whose tentacle hung: it deletes both, \
             and the stopped VM comes back unregistered",
            "machine policy → Clean Up Unavailable Deployment Targets: do not delete; run `scaleguard plan` (reconcile) instead",
        );
    }
}

fn calamari_words(behavior: &str) -> String {
    match behavior {
        "UpdateOnDeployment" => "only when a deployment needs it (UpdateOnDeployment)".into(),
        "UpdateOnNewMachine" => "only on new machines (UpdateOnNewMachine)".into(),
        other => format!("as `{other}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, HealthStatus};

    pub(crate) fn target(name: &str, policy: &str) -> Target {
        Target {
            id: format!("Machines-{name}"),
            name: name.into(),
            roles: vec!["vmss-web".into()].into(),
            environment_ids: vec!["Environments-1".into()].into(),
            health: HealthStatus::Healthy,
            disabled: false,
            machine_policy_id: Some(policy.into()),
            thumbprint: None,
            endpoint: Endpoint { communication_style: "TentaclePassive".into(), uri: None, thumbprint: None },
            has_latest_calamari: Some(true),
            tenanted: crate::model::TenantedMode::Untenanted,
            tenant_ids: vec![],
            tenant_tags: vec![],
        }
    }

    fn recommended() -> MachinePolicy {
        MachinePolicy {
            id: "MachinePolicies-2".into(),
            name: "VMSS targets".into(),
            is_default: false,
            deletes_unavailable_machines: false,
            delete_after: None,
            health_check_interval: Some(Duration::from_secs(600)),
            connectivity_behavior: Some("MayBeOfflineAndCanBeSkipped".into()),
            calamari_update_behavior: Some("UpdateAlways".into()),
        }
    }

    fn ids(policy: MachinePolicy) -> Vec<&'static str> {
        check(&[target("web1", "MachinePolicies-2")], &[policy]).into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_dedicated_recommended_policy_gives_no_finding() {
        assert!(ids(recommended()).is_empty());
    }

    #[test]
    fn the_default_policy_is_flagged_once_with_its_users() {
        let policy = MachinePolicy { is_default: true, ..recommended() };
        let targets = [target("web1", "MachinePolicies-2"), target("web2", "MachinePolicies-2")];
        let findings = check(&targets, &[policy]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, DEFAULT_POLICY);
        assert!(findings[0].observed.contains("web1, web2"), "{}", findings[0].observed);
    }

    #[test]
    fn an_hourly_health_check_is_too_slow_but_fifteen_minutes_is_fine() {
        let hourly =
            MachinePolicy { health_check_interval: Some(Duration::from_secs(3600)), ..recommended() };
        let findings = check(&[target("web1", "MachinePolicies-2")], &[hourly]);
        assert_eq!(findings[0].id, HEALTH_CHECK_INTERVAL);
        assert_eq!(findings[0].observed, "health check every 1h");
        let fifteen =
            MachinePolicy { health_check_interval: Some(MAX_HEALTH_CHECK_INTERVAL), ..recommended() };
        assert!(ids(fifteen).is_empty());
    }

    #[test]
    fn unavailable_targets_must_not_fail_health_checks() {
        let strict =
            MachinePolicy { connectivity_behavior: Some("ExpectedToBeOnline".into()), ..recommended() };
        assert_eq!(ids(strict), vec![UNAVAILABLE_FAILS_HEALTH_CHECK]);
        let absent = MachinePolicy { connectivity_behavior: None, ..recommended() };
        assert_eq!(ids(absent), vec![UNAVAILABLE_FAILS_HEALTH_CHECK], "absent means Octopus' default");
    }

    #[test]
    fn calamari_not_always_updated_is_information() {
        let lazy =
            MachinePolicy { calamari_update_behavior: Some("UpdateOnDeployment".into()), ..recommended() };
        let findings = check(&[target("web1", "MachinePolicies-2")], &[lazy]);
        assert_eq!((findings[0].id, findings[0].severity), (CALAMARI_NOT_ALWAYS_UPDATED, Severity::Info));
    }

    #[test]
    fn automatic_cleanup_is_flagged_with_its_delay() {
        let cleanup = MachinePolicy {
            deletes_unavailable_machines: true,
            delete_after: Some(Duration::from_secs(1200)),
            ..recommended()
        };
        let findings = check(&[target("web1", "MachinePolicies-2")], &[cleanup]);
        assert_eq!(findings[0].id, CLEANUP_DELETES_STOPPED_VMS);
        assert_eq!(findings[0].observed, "deletes unavailable targets after 20m");
        assert!(findings[0].why.contains("stopped"));
    }

    #[test]
    fn policies_no_in_scope_target_uses_are_not_checked() {
        let default = MachinePolicy { id: "MachinePolicies-1".into(), is_default: true, ..recommended() };
        assert!(check(&[target("web1", "MachinePolicies-2")], &[default.clone(), recommended()]).is_empty());
        assert!(
            check(&[target("web1", "MachinePolicies-9")], &[default]).is_empty(),
            "unknown id: not judged"
        );
    }
}
