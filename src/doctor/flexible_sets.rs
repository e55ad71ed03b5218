//! Flexible scale sets: how they spread VMs over zones and fault domains, and whether scale-in
//! force-deletes. Information, not faults: a Flexible set set up as Azure recommends still gets
//! the fault-domain note, because it says how far scaleguard's scale-in preview can see.

use super::finding::{source, Finding};
use crate::model::{ScaleSetState, Severity};

pub const ZONES: &str = "scale-set.flexible-zones";
pub const FAULT_DOMAINS: &str = "scale-set.flexible-fault-domains";
pub const FORCE_DELETION: &str = "scale-set.scale-in-force-deletion";

/// The findings for one Flexible set (`subject` names it).
pub fn check(state: &ScaleSetState, subject: &str) -> Vec<Finding> {
    let layout = &state.layout;
    let mut findings = Vec::new();
    if layout.zones.len() < 2 {
        let observed = match layout.zones.as_slice() {
            [] => "regional: no availability zones".to_string(),
            [zone] => format!("zonal: every VM in zone {zone}"),
            _ => unreachable!("fewer than two zones"),
        };
        findings.push(Finding {
            id: ZONES,
            severity: Severity::Info,
            subject: subject.to_string(),
            observed,
            recommended: "zone spanning (\"zones\": [\"1\", \"2\", \"3\"]), Microsoft's recommended model"
                .into(),
            why: "a zone outage takes every VM of the set, and so every target, at once; with several zones \
                  a scale-in also balances them first"
                .into(),
            fix: "zones are chosen when a scale set is created: create a zone-spanning set and point the \
                  profile at it"
                .into(),
            source: source::AVAILABILITY_ZONES,
        });
    }
    findings.push(fault_domains(state, subject));
    if layout.force_deletion == Some(true) {
        findings.push(Finding {
            id: FORCE_DELETION,
            severity: Severity::Info,
            subject: subject.to_string(),
            observed: "scaleInPolicy.forceDeletion is on".into(),
            recommended: "off, unless scale-in must be as fast as possible".into(),
            why: "VMs chosen by a scale-in are force-deleted: a deployment running on one ends with it; \
                  scaleguard deletes its target only after the VM is gone from complete listings"
                .into(),
            fix: "set scaleInPolicy.forceDeletion to false if deployments must finish before a VM goes"
                .into(),
            source: source::SCALE_IN_POLICY,
        });
    }
    findings
}

/// Max spreading (1, the default; the VMs report one fault domain) or fixed spreading.
fn fault_domains(state: &ScaleSetState, subject: &str) -> Finding {
    let count = state.layout.fault_domain_count;
    let (observed, why) = match count {
        None | Some(1) => (
            format!(
                "max spreading (platformFaultDomainCount {})",
                count.map_or_else(|| "not reported".to_string(), |c| c.to_string())
            ),
            "Azure spreads the VMs over as many fault domains as it can, but the VMs do not show which: \
             the scale-in preview can balance zones and take the newest VMs, not balance fault domains; \
             Azure decides which VMs go"
                .to_string(),
        ),
        Some(fixed) => (
            format!("fixed spreading across {fixed} fault domains"),
            format!(
                "a Default scale-in balances these {fixed} fault domains before it takes the newest VMs, so \
                 the VMs it removes are not simply the newest; the preview follows that, Azure decides"
            ),
        ),
    };
    Finding {
        id: FAULT_DOMAINS,
        severity: Severity::Info,
        subject: subject.to_string(),
        observed,
        recommended: "max spreading (1), the default for Flexible sets; fixed 2 or 3 only for regional sets \
                      whose workload needs known fault domains"
            .into(),
        why,
        fix: "nothing to do; the fault-domain count is set when the scale set is created".into(),
        source: source::FAULT_DOMAINS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testkit::{listing, state};
    use crate::model::OrchestrationMode;

    fn flexible(zones: &[&str], fault_domains: Option<i32>, force: Option<bool>) -> ScaleSetState {
        let mut set = state(3);
        set.orchestration_mode = OrchestrationMode::Flexible;
        set.layout.zones = zones.iter().map(|z| z.to_string()).collect();
        set.layout.fault_domain_count = fault_domains;
        set.layout.force_deletion = force;
        set
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_zone_spanning_max_spreading_set_only_gets_the_fault_domain_note() {
        let findings = check(&flexible(&["1", "2", "3"], Some(1), Some(false)), "scale set rg/flex");
        assert_eq!(ids(&findings), vec![FAULT_DOMAINS]);
        assert!(findings[0].observed.starts_with("max spreading"), "{}", findings[0].observed);
        assert!(findings.iter().all(|f| f.severity == Severity::Info));
    }

    #[test]
    fn regional_and_single_zone_sets_are_named_with_fixed_spreading_and_force_deletion() {
        let regional = check(&flexible(&[], Some(3), Some(true)), "scale set rg/flex");
        assert_eq!(ids(&regional), vec![ZONES, FAULT_DOMAINS, FORCE_DELETION]);
        assert_eq!(regional[0].observed, "regional: no availability zones");
        assert_eq!(regional[1].observed, "fixed spreading across 3 fault domains");
        let zonal = check(&flexible(&["2"], None, None), "scale set rg/flex");
        assert_eq!(zonal[0].observed, "zonal: every VM in zone 2");
        assert!(zonal[1].observed.contains("not reported"), "{}", zonal[1].observed);
    }

    #[test]
    fn the_scale_set_checks_give_a_flexible_set_no_overprovisioning_finding() {
        let mut set = flexible(&["1", "2"], Some(1), None);
        // Even a server that says overprovision: Flexible sets do not overprovision.
        set.overprovision = true;
        let guard = crate::config::GuardConfig { min_capacity: 1, max_capacity: 10, ..Default::default() };
        let findings = crate::doctor::scale_sets::check(&[listing(set, vec![])], &guard);
        assert_eq!(ids(&findings), vec![FAULT_DOMAINS]);
    }
}
