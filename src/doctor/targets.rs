//! The in-scope targets: polling tentacles while the HA cluster has several nodes or changes size
//! (Octopus does not recommend them with an auto-scaled HA cluster), one thumbprint on several
//! targets (VMs cloned from an image with a configured tentacle), one name on several targets, and
//! targets that match no VM of any configured scale set (left behind by a scale-in).

use super::finding::{list_names, source, Finding};
use crate::matching::{normalize_name, pair_targets};
use crate::model::{Node, Severity, Target};
use crate::snapshot::ScaleSetObservation;
use std::collections::BTreeMap;

pub const POLLING_WITH_HA: &str = "target.polling-with-ha";
pub const SHARED_THUMBPRINT: &str = "target.shared-thumbprint";
pub const DUPLICATE_NAME: &str = "target.duplicate-name";
pub const NO_SCALE_SET: &str = "target.no-scale-set";

/// `nodes` is None when they could not be read (the polling check is then skipped); the
/// no-scale-set check runs only when every listing is complete.
pub fn check(targets: &[Target], nodes: Option<&[Node]>, scale_sets: &[ScaleSetObservation]) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(nodes) = nodes {
        findings.extend(polling_with_ha(targets, nodes));
    }
    findings.extend(shared_thumbprints(targets));
    findings.extend(duplicate_names(targets));
    findings.extend(no_scale_set(targets, scale_sets));
    findings
}

fn polling_with_ha(targets: &[Target], nodes: &[Node]) -> Option<Finding> {
    let polling: Vec<&str> = targets
        .iter()
        .filter(|t| t.endpoint.communication_style.eq_ignore_ascii_case("TentacleActive"))
        .map(|t| t.name.as_str())
        .collect();
    let changing = nodes.iter().any(|n| n.drain || n.is_offline);
    if polling.is_empty() || (nodes.len() < 2 && !changing) {
        return None;
    }
    let cluster = if changing {
        format!("{} HA node(s), some draining or offline", nodes.len())
    } else {
        format!("{} HA nodes", nodes.len())
    };
    Some(Finding {
        id: POLLING_WITH_HA,
        severity: Severity::Warning,
        subject: format!("{} polling target(s): {}", polling.len(), list_names(&polling, 5)),
        observed: format!("polling tentacles (TentacleActive) with {cluster}"),
        recommended:
            "listening tentacles (TentaclePassive) while the cluster has more than one node or changes size"
                .into(),
        why: "a polling tentacle must be configured to poll every node; when nodes come and go it misses \
              the new ones and tasks wait on it"
            .into(),
        fix: "register the scale set's tentacles in listening mode in the bootstrap script (--comms-style \
              TentaclePassive)"
            .into(),
        source: source::HA_NODES,
    })
}

fn shared_thumbprints(targets: &[Target]) -> Vec<Finding> {
    let mut by_thumbprint: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for target in targets {
        if let Some(thumbprint) = target.thumbprint.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            by_thumbprint.entry(thumbprint.to_ascii_uppercase()).or_default().push(target.name.as_str());
        }
    }
    by_thumbprint
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(thumbprint, names)| Finding {
            id: SHARED_THUMBPRINT,
            severity: Severity::Error,
            subject: format!("targets {}", list_names(&names, 5)),
            observed: format!("{} targets share thumbprint {}", names.len(), short(&thumbprint)),
            recommended: "one tentacle certificate per VM".into(),
            why: "Octopus tells tentacles apart by thumbprint: VMs cloned from an image with the tentacle \
                  certificate baked in cannot be told apart"
                .into(),
            fix: "configure the tentacle at first boot (new-certificate in the bootstrap script), never in the \
                  image; then re-register these targets"
                .into(),
            source: source::CLONED_TENTACLES,
        })
        .collect()
}

fn duplicate_names(targets: &[Target]) -> Vec<Finding> {
    let mut by_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for target in targets {
        by_name.entry(normalize_name(&target.name)).or_default().push(target.id.as_str());
    }
    by_name
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(name, ids)| Finding {
            id: DUPLICATE_NAME,
            severity: Severity::Error,
            subject: format!("target name `{name}`"),
            observed: format!("{} targets carry this name: {}", ids.len(), list_names(&ids, 5)),
            recommended: "one target per VM name".into(),
            why:
                "targets are paired with VMs by name: with two of them scaleguard cannot tell which one a VM \
                  belongs to, and never guesses"
                    .into(),
            fix:
                "delete the stale registration in Octopus (Infrastructure → Deployment Targets) and keep the \
                  one whose thumbprint the VM's tentacle has"
                    .into(),
            source: source::VMSS_RECONCILE,
        })
        .collect()
}

fn no_scale_set(targets: &[Target], scale_sets: &[ScaleSetObservation]) -> Option<Finding> {
    if scale_sets.is_empty() {
        return None;
    }
    let mut listings = Vec::new();
    for observation in scale_sets {
        // A failed listing proves nothing about which targets have a VM.
        listings.push((observation.match_by, observation.listing.as_ref().ok()?.instances.as_slice()));
    }
    let matching = pair_targets(listings, targets);
    let orphans: Vec<&str> =
        targets.iter().filter(|t| matching.instance_of(&t.id).is_none()).map(|t| t.name.as_str()).collect();
    if orphans.is_empty() {
        return None;
    }
    Some(Finding {
        id: NO_SCALE_SET,
        severity: Severity::Warning,
        subject: format!("{} target(s): {}", orphans.len(), list_names(&orphans, 5)),
        observed: "in scope (environment and every configured role) but matching no VM of any configured scale set"
            .into(),
        recommended: "every in-scope target is a VM of a configured scale set".into(),
        why: "a target left behind by a scale-in gets deployments that fail; one that belongs elsewhere has \
              roles that put it in this scope"
            .into(),
        fix: "if the VM is gone, let `scaleguard plan` propose deleting it; otherwise remove a configured role \
              from that target"
            .into(),
        source: source::VMSS_RECONCILE,
    })
}

/// `ABCD…1234`: enough to recognise a thumbprint, short enough for one line.
fn short(thumbprint: &str) -> String {
    let chars: Vec<char> = thumbprint.chars().collect();
    if chars.len() <= 12 {
        return thumbprint.to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testkit::{instance, listing, node, polling, state, target};
    use crate::snapshot::ReadFailure;

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn polling_tentacles_are_fine_with_one_steady_node() {
        let targets = [polling("web1")];
        assert!(check(&targets, Some(&[node("n1")]), &[]).is_empty());
        let listening = [target("web1")];
        assert!(check(&listening, Some(&[node("n1"), node("n2")]), &[]).is_empty());
    }

    #[test]
    fn polling_tentacles_with_several_or_changing_nodes_are_flagged() {
        let targets = [polling("web1"), target("web2")];
        let findings = check(&targets, Some(&[node("n1"), node("n2")]), &[]);
        assert_eq!(ids(&findings), vec![POLLING_WITH_HA]);
        assert!(findings[0].subject.contains("web1") && !findings[0].subject.contains("web2"));
        let mut draining = node("n1");
        draining.drain = true;
        assert_eq!(ids(&check(&targets, Some(&[draining]), &[])), vec![POLLING_WITH_HA]);
        assert!(check(&targets, None, &[]).is_empty(), "unread nodes: not judged");
    }

    #[test]
    fn a_shared_thumbprint_is_an_error_naming_both_targets() {
        let mut a = target("web1");
        let mut b = target("web2");
        a.thumbprint = Some("ABCDEF0123456789ABCDEF0123456789ABCDEF01".into());
        b.thumbprint = Some("abcdef0123456789abcdef0123456789abcdef01".into());
        let findings = check(&[a, b, target("web3")], None, &[]);
        assert_eq!(ids(&findings), vec![SHARED_THUMBPRINT]);
        assert_eq!(findings[0].subject, "targets web1, web2");
        assert!(findings[0].observed.contains("ABCD…EF01"), "{}", findings[0].observed);
    }

    #[test]
    fn two_targets_with_one_name_are_an_error_whatever_the_case_or_suffix() {
        let mut twin = target("WEB1.corp.local");
        twin.id = "Machines-twin".into();
        let findings = check(&[target("web1"), twin, target("web2")], None, &[]);
        assert_eq!(ids(&findings), vec![DUPLICATE_NAME]);
        assert!(findings[0].observed.contains("Machines-web1, Machines-twin"));
    }

    #[test]
    fn a_target_matching_no_vm_is_flagged_only_from_complete_listings() {
        let targets = [target("vmssweb000000"), target("old-web")];
        let sets = [listing(state(1), vec![instance(0, "vmssweb000000")])];
        let findings = check(&targets, None, &sets);
        assert_eq!(ids(&findings), vec![NO_SCALE_SET]);
        assert!(findings[0].subject.contains("old-web") && !findings[0].subject.contains("vmssweb"));

        let mut failed = listing(state(1), vec![]);
        failed.listing = Err(ReadFailure::new("scale set", "timeout"));
        assert!(check(&targets, None, &[sets[0].clone(), failed]).is_empty());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::doctor::testkit::target;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// One duplicate-name finding per name carried by two or more targets (case and DNS suffix
        /// ignored), one shared-thumbprint finding per thumbprint on two or more: never more, never
        /// fewer, whatever the names.
        #[test]
        fn one_finding_per_shared_name_or_thumbprint(
            entries in proptest::collection::vec(("[a-cA-C]{1,2}(\\.corp)?", 0u8..4), 0..12)
        ) {
            let targets: Vec<Target> = entries
                .iter()
                .enumerate()
                .map(|(i, (name, thumb))| {
                    let mut t = target(name);
                    t.id = format!("Machines-{i}");
                    t.thumbprint = Some(format!("T{thumb}").into());
                    t
                })
                .collect();
            let mut names: HashMap<String, usize> = HashMap::new();
            let mut thumbs: HashMap<u8, usize> = HashMap::new();
            for (name, thumb) in &entries {
                *names.entry(normalize_name(name)).or_default() += 1;
                *thumbs.entry(*thumb).or_default() += 1;
            }
            let findings = check(&targets, None, &[]);
            let count = |id| findings.iter().filter(|f| f.id == id).count();
            prop_assert_eq!(count(DUPLICATE_NAME), names.values().filter(|n| **n > 1).count());
            prop_assert_eq!(count(SHARED_THUMBPRINT), thumbs.values().filter(|n| **n > 1).count());
        }
    }
}
