//! Pairing scale-set VMs with Octopus targets (pure).
//!
//! Exact, case-insensitive names with any DNS suffix ignored (`WEB01.corp.local` = `web01`); never
//! the step template's substring match, which lets `web1` claim `web10`. Ambiguities (two targets
//! with one name, two VMs with one name) are reported, never silently resolved.

use crate::config::MatchBy;
use crate::folded::{self, FastMap, Folded, HashMapExt};
use crate::model::{shared_key, Instance, SharedKey, Target};
use crate::prefetch;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// The VM a target was paired with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceRef {
    #[serde(with = "shared_key")]
    pub scale_set: SharedKey,
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

/// The outcome of matching one set of listings against the targets, owning what it holds (for
/// callers that keep it past the listings: the console's links, inventory, doctor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matching {
    /// Target id → the VM it runs on.
    pub target_instance: HashMap<String, InstanceRef>,
    /// (scale set, instance id) → target ids on it (more than one is ambiguous).
    pub instance_targets: HashMap<(SharedKey, String), Vec<String>>,
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

/// The same outcome borrowing the listings and targets, for the planner: pairing 10,000 targets
/// copies no id, name or scale-set key.
#[derive(Debug, Default)]
pub struct Pairing<'a> {
    /// Every pair made, in target order (a target id listed twice is paired twice).
    pairs: Vec<(&'a str, &'a Instance)>,
    /// Target id → the VM it runs on (for an id listed twice, its last target's), built from
    /// `pairs` when first asked: a refresh's planner reads the pairs by position instead, and at
    /// 50,000 targets filling this map is megabytes written at random.
    target_instance: OnceLock<FastMap<&'a str, &'a Instance>>,
    /// Normalized names carried by more than one target, with the target ids.
    pub duplicate_target_names: BTreeMap<String, Vec<&'a str>>,
    /// Normalized names carried by more than one VM (across the configured sets).
    pub duplicate_instance_names: BTreeMap<String, Vec<&'a Instance>>,
}

impl<'a> Pairing<'a> {
    pub fn instance_of(&self, target_id: &str) -> Option<&'a Instance> {
        self.by_target_id().get(target_id).copied()
    }

    fn by_target_id(&self) -> &FastMap<&'a str, &'a Instance> {
        // In target order, so an id listed twice keeps its last target's VM.
        self.target_instance.get_or_init(|| self.pairs.iter().copied().collect())
    }

    /// The ids of the targets paired with `instance` (by set key and instance id, as
    /// `Matching::targets_on`): a scan of the pairs, for the few VMs a rule asks about.
    pub fn targets_on(&self, instance: &Instance) -> Vec<&'a str> {
        let on =
            |vm: &&Instance| vm.instance_id == instance.instance_id && vm.scale_set == instance.scale_set;
        self.pairs.iter().filter(|(_, vm)| on(vm)).map(|(id, _)| *id).collect()
    }

    /// The VM of each paired target id (once per id).
    pub fn vm_per_target_id(&self) -> impl Iterator<Item = &'a Instance> + '_ {
        self.by_target_id().values().copied()
    }

    /// Every pair made, in target order.
    pub fn pairs(&self) -> &[(&'a str, &'a Instance)] {
        &self.pairs
    }

    /// The VM of each target id (of an id listed twice and paired twice, its last target's),
    /// when that is not every pair's VM: None when no paired target id repeats.
    pub fn vms_by_target_id(&self) -> Option<impl Iterator<Item = &'a Instance> + Clone + '_> {
        let by_target_id = self.by_target_id();
        (self.pairs.len() != by_target_id.len()).then(|| by_target_id.values().copied())
    }

    /// The owned `Matching` of the same pairs.
    pub fn to_matching(&self) -> Matching {
        let mut matching = Matching::default();
        for (target_id, instance) in &self.pairs {
            matching.target_instance.insert(target_id.to_string(), InstanceRef::of(instance));
            matching
                .instance_targets
                .entry((instance.scale_set.clone(), instance.instance_id.clone()))
                .or_default()
                .push(target_id.to_string());
        }
        matching.duplicate_target_names = self
            .duplicate_target_names
            .iter()
            .map(|(name, ids)| (name.clone(), ids.iter().map(|id| id.to_string()).collect()))
            .collect();
        matching.duplicate_instance_names = self
            .duplicate_instance_names
            .iter()
            .map(|(name, vms)| (name.clone(), vms.iter().map(|vm| InstanceRef::of(vm)).collect()))
            .collect();
        matching
    }
}

/// Lower-case, trimmed, DNS suffix dropped: the form names are compared in.
pub fn normalize_name(name: &str) -> String {
    let trimmed = name.trim();
    let host = trimmed.split('.').next().unwrap_or(trimmed);
    host.to_lowercase()
}

/// `normalize_name` as an index key: borrowed when the name is ASCII (its ASCII lower-casing is
/// then the normalized form), lower-cased once otherwise (`str::to_lowercase` is not a per-byte
/// mapping).
pub fn name_key(name: &str) -> Folded<'_> {
    let trimmed = folded::trim(name);
    let host = trimmed.split('.').next().unwrap_or(trimmed);
    if host.is_ascii() {
        Folded::borrowed(host)
    } else {
        Folded::owned(host.to_lowercase())
    }
}

/// The name of a VM that its target is expected to carry; None when it cannot be read (no
/// computer name, or an empty one): such a VM matches no target and may be any target's VM.
pub fn instance_match_name(instance: &Instance, match_by: MatchBy) -> Option<String> {
    instance_match_names(instance, match_by).into_iter().next()
}

/// Every name a VM's target may carry (each once): by computer name, the osProfile name and,
/// when the guest renamed its host, the instance view's name too. Empty when none can be read.
pub fn instance_match_names(instance: &Instance, match_by: MatchBy) -> Vec<String> {
    match_keys(instance, match_by).map(|key| key.to_canonical()).collect()
}

/// `instance_match_names` as index keys (at most two).
fn match_keys(instance: &Instance, match_by: MatchBy) -> impl Iterator<Item = Folded<'_>> {
    let (first, second) = match match_by {
        MatchBy::ComputerName | MatchBy::PrivateDnsName => {
            let mut names = instance.computer_names().map(name_key);
            (names.next(), names.next())
        }
        MatchBy::InstanceName => (Some(name_key(&instance.name)), None),
        MatchBy::InstanceId => (Some(name_key(&instance.instance_id)), None),
        MatchBy::NameTag => (name_tag(instance).map(name_key), None),
    };
    let first = first.filter(|name| !name.is_empty());
    let second = second.filter(|name| !name.is_empty() && Some(name) != first.as_ref());
    first.into_iter().chain(second)
}

/// [`instance_match_name`] is Some, checked without building the name (once per VM per refresh).
pub fn has_match_name(instance: &Instance, match_by: MatchBy) -> bool {
    let readable = |raw: &str| folded::trim(raw).split('.').next().is_some_and(|host| !host.is_empty());
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
    // Collected, so the listings' borrow can shorten to the targets' (a few sets: no cost).
    let sets: Vec<(MatchBy, &[Instance])> = sets.into_iter().collect();
    pair_targets(sets, targets).to_matching()
}

/// The first of the things carrying one name, and the rest when the name repeats: a `Vec` only
/// for a repeated name.
struct Carriers<T> {
    first: T,
    more: Vec<T>,
}

impl<T: Copy> Carriers<T> {
    fn new(first: T) -> Self {
        Self { first, more: Vec::new() }
    }

    /// Everything carrying the name, when more than one thing does.
    fn repeated(&self) -> Option<Vec<T>> {
        (!self.more.is_empty())
            .then(|| std::iter::once(self.first).chain(self.more.iter().copied()).collect())
    }
}

fn carry<'k, T: Copy>(map: &mut FastMap<Folded<'k>, Carriers<T>>, name: Folded<'k>, item: T) {
    match map.entry(name) {
        Entry::Occupied(mut found) => found.get_mut().more.push(item),
        Entry::Vacant(slot) => {
            slot.insert(Carriers::new(item));
        }
    }
}

/// The VMs carrying one name, and the targets carrying it too.
struct Named<'a> {
    vms: Carriers<&'a Instance>,
    targets: Option<Carriers<&'a str>>,
}

/// [`match_targets`], borrowing: each name is normalized once, and only a name that is not
/// ASCII is copied.
pub fn pair_targets<'a>(
    sets: impl IntoIterator<Item = (MatchBy, &'a [Instance])>,
    targets: impl IntoIterator<Item = &'a Target, IntoIter: Clone>,
) -> Pairing<'a> {
    let mut index = NameIndex::default();
    for (match_by, instances) in sets {
        index.add(match_by, instances);
    }
    index.pair(targets)
}

/// The listed VMs by name, filled one listing at a time (a caller reading each listing for
/// other reasons adds it while its VMs are in the cache), then paired with the targets.
///
/// The names are copied one after another into one string as they are added: the index is built
/// from it, and a target's search compares its name with the copy there, not with the VM's own
/// string (at 50,000 VMs those are scattered over memory, out of the cache by then). The index
/// holds positions in a list of the names' VMs and targets, not those lists, so it stays a
/// fraction of the cache; the names carried more than once are noted as they come, so nothing
/// searches the whole index again.
#[derive(Default)]
pub struct NameIndex<'a> {
    names: String,
    /// Each name's end in `names` (it starts where the one before ends), with its VM.
    ends: Vec<(usize, &'a Instance)>,
}

impl<'a> NameIndex<'a> {
    /// The VMs of one listing, matched by `match_by`.
    pub fn add(&mut self, match_by: MatchBy, instances: &'a [Instance]) {
        self.ends.reserve(instances.len());
        // The first pass over a listing: it asks for all the text of the VMs that the refresh
        // reads, which the passes after it then find in the cache.
        for instance in prefetch::ahead(instances.iter(), |vm| prefetch::instance(vm)) {
            for name in match_keys(instance, match_by) {
                self.names.push_str(name.as_str());
                self.ends.push((self.names.len(), instance));
            }
        }
    }

    /// Each target with the VM carrying its name.
    pub fn pair(self, targets: impl IntoIterator<Item = &'a Target, IntoIter: Clone>) -> Pairing<'a> {
        let Self { names, ends } = self;
        let mut by_name: FastMap<Folded<'_>, usize> = FastMap::with_capacity(ends.len());
        let mut named: Vec<Named<'a>> = Vec::with_capacity(ends.len());
        // Names carried by more than one VM: (canonical name, position in `named`).
        let mut repeated_vm_names = Vec::new();
        let mut start = 0;
        for &(end, instance) in &ends {
            // A copy of a key, so its ASCII lower-casing is still the canonical form.
            let name = Folded::borrowed(&names[start..end]);
            start = end;
            match by_name.entry(name) {
                Entry::Occupied(found) => {
                    let vms = &mut named[*found.get()].vms;
                    if vms.more.is_empty() {
                        repeated_vm_names.push((found.key().to_canonical(), *found.get()));
                    }
                    vms.more.push(instance);
                }
                Entry::Vacant(slot) => {
                    slot.insert(named.len());
                    named.push(Named { vms: Carriers::new(instance), targets: None });
                }
            }
        }
        // Names carried by more than one target: (canonical name, position in `named`).
        let mut repeated_target_names = Vec::new();
        let targets = targets.into_iter();
        // The most there can be (the targets in scope are a filter over all of them).
        let expected = targets.size_hint().1.unwrap_or(0);
        let mut pairing = Pairing { pairs: Vec::with_capacity(expected), ..Pairing::default() };
        // Names of targets that no VM carries (a target's name that a VM carries is kept with it).
        let mut unmatched: FastMap<Folded<'a>, Carriers<&'a str>> = FastMap::new();
        for target in prefetch::ahead(targets, |target| prefetch::target(target)) {
            let name = name_key(&target.name);
            let id = target.id.as_str();
            let Some((key, &position)) = by_name.get_key_value(&name) else {
                carry(&mut unmatched, name, id);
                continue;
            };
            let named = &mut named[position];
            // An ambiguous VM name still proves a VM with that name exists; pair with the first so the
            // target is never taken for orphaned, and let the duplicate finding tell the operator.
            let instance = named.vms.first;
            pairing.pairs.push((id, instance));
            match &mut named.targets {
                Some(carriers) => {
                    if carriers.more.is_empty() {
                        repeated_target_names.push((key.to_canonical(), position));
                    }
                    carriers.more.push(id);
                }
                None => named.targets = Some(Carriers::new(id)),
            }
        }
        for (name, position) in repeated_vm_names {
            if let Some(vms) = named[position].vms.repeated() {
                pairing.duplicate_instance_names.insert(name, vms);
            }
        }
        for (name, position) in repeated_target_names {
            if let Some(ids) = named[position].targets.as_ref().and_then(Carriers::repeated) {
                pairing.duplicate_target_names.insert(name, ids);
            }
        }
        for (name, carriers) in unmatched {
            if let Some(ids) = carriers.repeated() {
                pairing.duplicate_target_names.insert(name.to_canonical(), ids);
            }
        }
        pairing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, HealthStatus, PowerState, ProvisioningState, ScaleSetKey};

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
            scale_set: key(set).into(),
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
            roles: Vec::new().into(),
            environment_ids: Vec::new().into(),
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
