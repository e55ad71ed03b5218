//! Pairing scale-set VMs with Octopus targets (pure).
//!
//! Exact, case-insensitive names with any DNS suffix ignored (`WEB01.corp.local` = `web01`); never
//! the step template's substring match, which lets `web1` claim `web10`. Ambiguities (two targets
//! with one name, two VMs with one name) are reported, never silently resolved.

use crate::config::MatchBy;
use crate::model::{Instance, ScaleSetKey, Target};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The VM a target was paired with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceRef {
    pub scale_set: ScaleSetKey,
    pub instance_id: String,
    pub vm_id: Option<String>,
}

impl InstanceRef {
    pub fn of(instance: &Instance) -> Self {
        Self {
            scale_set: instance.scale_set.clone(),
            instance_id: instance.instance_id.clone(),
            vm_id: instance.vm_id.clone(),
        }
    }
}

/// The outcome of matching one set of listings against the targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matching {
    /// Target id → the VM it runs on.
    pub target_instance: HashMap<String, InstanceRef>,
    /// (scale set, instance id) → target ids on it (more than one is ambiguous).
    pub instance_targets: HashMap<(ScaleSetKey, String), Vec<String>>,
    /// Normalized names carried by more than one target, with the target ids.
    pub duplicate_target_names: BTreeMap<String, Vec<String>>,
    /// Normalized names carried by more than one VM (across the configured sets).
    pub duplicate_instance_names: BTreeMap<String, Vec<InstanceRef>>,
}

impl Matching {
    pub fn instance_of(&self, target_id: &str) -> Option<&InstanceRef> {
        self.target_instance.get(target_id)
    }

    pub fn targets_on(&self, instance: &Instance) -> &[String] {
        self.instance_targets
            .get(&(instance.scale_set.clone(), instance.instance_id.clone()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Lower-case, trimmed, DNS suffix dropped: the form names are compared in.
pub fn normalize_name(name: &str) -> String {
    let trimmed = name.trim();
    let host = trimmed.split('.').next().unwrap_or(trimmed);
    host.to_lowercase()
}

/// The name of a VM that its target is expected to carry; None when it cannot be read (no
/// computer name, or an empty one): such a VM matches no target and may be any target's VM.
pub fn instance_match_name(instance: &Instance, match_by: MatchBy) -> Option<String> {
    instance_match_names(instance, match_by).into_iter().next()
}

/// Every name a VM's target may carry (each once): by computer name, the osProfile name and,
/// when the guest renamed its host, the instance view's name too. Empty when none can be read.
pub fn instance_match_names(instance: &Instance, match_by: MatchBy) -> Vec<String> {
    let mut names: Vec<String> = match match_by {
        MatchBy::ComputerName | MatchBy::PrivateDnsName => {
            instance.computer_names().map(normalize_name).collect()
        }
        MatchBy::InstanceName => vec![normalize_name(&instance.name)],
        MatchBy::InstanceId => vec![normalize_name(&instance.instance_id)],
        MatchBy::NameTag => name_tag(instance).map(normalize_name).into_iter().collect(),
    };
    names.retain(|name| !name.is_empty());
    names.dedup();
    names
}

/// [`instance_match_name`] is Some, checked without building the name (once per VM per refresh).
pub fn has_match_name(instance: &Instance, match_by: MatchBy) -> bool {
    let readable = |raw: &str| raw.trim().split('.').next().is_some_and(|host| !host.is_empty());
    match match_by {
        MatchBy::ComputerName | MatchBy::PrivateDnsName => instance.computer_names().any(readable),
        MatchBy::InstanceName => readable(&instance.name),
        MatchBy::InstanceId => readable(&instance.instance_id),
        MatchBy::NameTag => name_tag(instance).is_some_and(readable),
    }
}

/// An AWS instance's `Name` tag (the provider puts the private DNS name in `computer_name`).
fn name_tag(instance: &Instance) -> Option<&str> {
    instance.aws.as_ref().and_then(|aws| aws.name_tag.as_deref())
}

/// Pair targets with VMs across every listed scale set.
pub fn match_targets<'a>(
    sets: impl IntoIterator<Item = (MatchBy, &'a [Instance])>,
    targets: &[Target],
) -> Matching {
    let mut by_name: HashMap<String, Vec<&Instance>> = HashMap::new();
    for (match_by, instances) in sets {
        for instance in instances {
            for name in instance_match_names(instance, match_by) {
                by_name.entry(name).or_default().push(instance);
            }
        }
    }

    let mut matching = Matching::default();
    for (name, instances) in &by_name {
        if instances.len() > 1 {
            matching
                .duplicate_instance_names
                .insert(name.clone(), instances.iter().map(|i| InstanceRef::of(i)).collect());
        }
    }

    let mut target_names: HashMap<String, Vec<String>> = HashMap::new();
    for target in targets {
        let name = normalize_name(&target.name);
        target_names.entry(name.clone()).or_default().push(target.id.clone());
        // An ambiguous VM name still proves a VM with that name exists; pair with the first so the
        // target is never taken for orphaned, and let the duplicate finding tell the operator.
        if let Some(instance) = by_name.get(&name).and_then(|found| found.first()) {
            matching.target_instance.insert(target.id.clone(), InstanceRef::of(instance));
            matching
                .instance_targets
                .entry((instance.scale_set.clone(), instance.instance_id.clone()))
                .or_default()
                .push(target.id.clone());
        }
    }
    matching.duplicate_target_names = target_names.into_iter().filter(|(_, ids)| ids.len() > 1).collect();
    matching
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, HealthStatus, PowerState, ProvisioningState};

    fn key(name: &str) -> ScaleSetKey {
        ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "sub".into(),
            resource_group: "rg".into(),
            name: name.into(),
        }
    }

    fn vm(set: &str, id: u32, computer: &str) -> Instance {
        Instance {
            scale_set: key(set),
            instance_id: id.to_string(),
            vm_id: Some(format!("vm-{set}-{id}")),
            name: format!("{set}_{id}"),
            computer_name: Some(computer.into()),
            guest_computer_name: None,
            provisioning_state: ProvisioningState::Succeeded,
            power_state: PowerState::Running,
            latest_model_applied: Some(true),
            protected_from_scale_in: Some(false),
            placement: Default::default(),
            aws: None,
        }
    }

    fn target(id: &str, name: &str) -> Target {
        Target {
            id: id.into(),
            name: name.into(),
            roles: vec![],
            environment_ids: vec![],
            health: HealthStatus::Healthy,
            disabled: false,
            machine_policy_id: None,
            thumbprint: None,
            endpoint: Endpoint { communication_style: "TentaclePassive".into(), uri: None, thumbprint: None },
            has_latest_calamari: None,
            tenanted: crate::model::TenantedMode::Untenanted,
            tenant_ids: vec![],
            tenant_tags: vec![],
        }
    }

    #[test]
    fn has_match_name_agrees_with_instance_match_name() {
        for name in [None, Some(""), Some("  "), Some(".corp.local"), Some("web01"), Some(" WEB01.corp ")] {
            let instance = Instance { computer_name: name.map(str::to_string), ..vm("web", 1, "x") };
            let by = MatchBy::ComputerName;
            assert_eq!(
                has_match_name(&instance, by),
                instance_match_name(&instance, by).is_some(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn names_match_exactly_ignoring_case_and_dns_suffix() {
        let vms = [vm("web", 1, "web1"), vm("web", 10, "web10")];
        let targets = [target("Machines-1", "WEB1.corp.local"), target("Machines-2", "web100")];
        let m = match_targets([(MatchBy::ComputerName, &vms[..])], &targets);
        assert_eq!(m.instance_of("Machines-1").unwrap().instance_id, "1");
        assert!(m.instance_of("Machines-2").is_none(), "substring matches are never made");
        assert_eq!(m.targets_on(&vms[0]), ["Machines-1".to_string()]);
        assert!(m.targets_on(&vms[1]).is_empty());
    }

    #[test]
    fn a_vm_renamed_in_the_guest_answers_to_both_names() {
        // Issue 13 review, break 5: the tentacle registered under the instance view's name.
        let renamed =
            Instance { guest_computer_name: Some("WEB-PROD-02".into()), ..vm("web", 2, "web000002") };
        let vms = [vm("web", 1, "web000001"), renamed];
        let targets = [target("Machines-1", "web-prod-02.corp.local"), target("Machines-2", "WEB000002")];
        let m = match_targets([(MatchBy::ComputerName, &vms[..])], &targets);
        assert_eq!(m.instance_of("Machines-1").unwrap().instance_id, "2");
        assert_eq!(m.instance_of("Machines-2").unwrap().instance_id, "2");
        assert!(m.duplicate_instance_names.is_empty(), "one VM under two names is no duplicate");
        assert!(has_match_name(&Instance { computer_name: None, ..vms[1].clone() }, MatchBy::ComputerName));
    }

    #[test]
    fn instance_name_matching_uses_the_vm_name() {
        let vms = [vm("web", 3, "ignored")];
        let targets = [target("Machines-1", "WEB_3")];
        let m = match_targets([(MatchBy::InstanceName, &vms[..])], &targets);
        assert_eq!(m.instance_of("Machines-1").unwrap().instance_id, "3");
    }

    #[test]
    fn duplicates_are_reported_not_resolved() {
        let vms = [vm("a", 1, "web1"), vm("b", 1, "WEB1")];
        let targets = [target("Machines-1", "web1"), target("Machines-2", "Web1")];
        let m =
            match_targets([(MatchBy::ComputerName, &vms[..1]), (MatchBy::ComputerName, &vms[1..])], &targets);
        assert_eq!(m.duplicate_target_names["web1"], vec!["Machines-1", "Machines-2"]);
        assert_eq!(m.duplicate_instance_names["web1"].len(), 2);
        // Both targets are still known to sit on a present VM.
        assert!(m.instance_of("Machines-1").is_some() && m.instance_of("Machines-2").is_some());
    }
}
