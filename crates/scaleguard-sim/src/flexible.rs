//! Flexible orchestration in the simulated world (pure, seeded): VM names `{set}_{8 hex}`,
//! computer names `{prefix}{6 chars}`, VMs spread over the set's zones and fault domains, no
//! overprovisioning, and scale-in by the set's policy (Default: the fullest zone, then its fullest
//! fault domain, the newest VM there; NewestVM / OldestVM: the fullest zone, then by age; never a
//! protected VM). Internally a VM keeps its numeric id as the world's key; only the wire shows
//! names.

use super::world::{ScaleSet, Vm, VmState, World, WorldError};
use rand::RngExt;
use std::collections::BTreeMap;

/// What makes a scale set Flexible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexSet {
    /// Availability zones; empty for a regional set.
    pub zones: Vec<String>,
    /// `platformFaultDomainCount`: 1 = max spreading (VMs report fault domain 0).
    pub fault_domain_count: u32,
    /// `scaleInPolicy.forceDeletion`.
    pub force_deletion: bool,
}

/// A Flexible VM's names and placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexVm {
    /// 8 lower-case hex characters: the VM is `{set}_{suffix}`.
    pub suffix: String,
    /// 6 characters after the computer-name prefix.
    pub computer_suffix: String,
    pub zone: Option<String>,
    pub fault_domain: u32,
}

impl ScaleSet {
    pub fn is_flexible(&self) -> bool {
        self.flexible.is_some()
    }

    /// The VM's resource name: `{set}_{instanceId}` (Uniform) or `{set}_{8 hex}` (Flexible).
    pub fn vm_name(&self, vm: &Vm) -> String {
        match &vm.flex {
            Some(flex) => format!("{}_{}", self.name, flex.suffix),
            None => format!("{}_{}", self.name, vm.instance_id),
        }
    }

    /// The VM's computer name: the prefix plus the base-36 instance id (Uniform) or plus six
    /// random characters (Flexible).
    pub fn vm_computer_name(&self, vm: &Vm) -> String {
        match &vm.flex {
            Some(flex) => format!("{}{}", self.computer_name_prefix, flex.computer_suffix),
            None => self.computer_name(vm.instance_id),
        }
    }

    /// The live VM called `name` (case-insensitive), by its resource name.
    pub fn vm_named(&self, name: &str) -> Option<&Vm> {
        self.vms.iter().find(|vm| self.vm_name(vm).eq_ignore_ascii_case(name))
    }
}

impl World {
    /// Names and placement for a new VM of set `set_index`: None on a Uniform set. The zone and
    /// fault domain with the fewest live VMs are taken, as Azure balances new VMs.
    pub(super) fn new_flex_vm(&mut self, set_index: usize) -> Option<FlexVm> {
        let flex = self.scale_sets[set_index].flexible.clone()?;
        let suffix: String =
            (0..8).map(|_| char::from(b"0123456789abcdef"[self.rng.random_range(0..16)])).collect();
        let computer_suffix: String = (0..6)
            .map(|_| char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[self.rng.random_range(0..36)]))
            .collect();
        let live: Vec<&FlexVm> = self.scale_sets[set_index]
            .vms
            .iter()
            .filter(|vm| vm.state != VmState::Deleting)
            .filter_map(|vm| vm.flex.as_ref())
            .collect();
        let zone = flex
            .zones
            .iter()
            .min_by_key(|zone| live.iter().filter(|vm| vm.zone.as_deref() == Some(zone.as_str())).count())
            .cloned();
        let fault_domain = (0..flex.fault_domain_count.max(1))
            .min_by_key(|fd| live.iter().filter(|vm| vm.zone == zone && vm.fault_domain == *fd).count())
            .unwrap_or(0);
        Some(FlexVm { suffix, computer_suffix, zone, fault_domain })
    }

    /// The internal ids of the `count` VMs a scale-in of a Flexible set removes, by its policy.
    pub(super) fn flexible_scale_in(&self, set_index: usize, count: usize) -> Vec<u64> {
        let set = &self.scale_sets[set_index];
        let policy = set.scale_in_policy.to_ascii_lowercase();
        let mut live: Vec<&Vm> = set.vms.iter().filter(|vm| vm.state != VmState::Deleting).collect();
        let mut chosen = Vec::new();
        while chosen.len() < count {
            let zone_of = |vm: &Vm| vm.flex.as_ref().and_then(|f| f.zone.clone());
            let fd_of = |vm: &Vm| vm.flex.as_ref().map_or(0, |f| f.fault_domain);
            let mut zones: BTreeMap<Option<String>, usize> = BTreeMap::new();
            for vm in &live {
                *zones.entry(zone_of(vm)).or_default() += 1;
            }
            // Fullest zone holding an unprotected VM (the last of equals, as the map is sorted).
            let Some(zone) = zones
                .iter()
                .filter(|(zone, _)| live.iter().any(|vm| !vm.protect_from_scale_in && zone_of(vm) == **zone))
                .max_by_key(|(_, count)| **count)
                .map(|(zone, _)| zone.clone())
            else {
                break;
            };
            let mut pool: Vec<&&Vm> =
                live.iter().filter(|vm| !vm.protect_from_scale_in && zone_of(vm) == zone).collect();
            if policy == "default" {
                let mut domains: BTreeMap<u32, usize> = BTreeMap::new();
                for vm in live.iter().filter(|vm| zone_of(vm) == zone) {
                    *domains.entry(fd_of(vm)).or_default() += 1;
                }
                let fullest = pool.iter().map(|vm| fd_of(vm)).max_by_key(|fd| (domains[fd], *fd));
                pool.retain(|vm| Some(fd_of(vm)) == fullest);
            }
            // Creation time, then the id (creation order) for VMs made in the same second.
            pool.sort_by(|a, b| {
                a.created_at.total_cmp(&b.created_at).then(a.instance_id.cmp(&b.instance_id))
            });
            let victim = if policy == "oldestvm" { pool.first() } else { pool.last() };
            let Some(victim) = victim.map(|vm| vm.instance_id) else { break };
            chosen.push(victim);
            live.retain(|vm| vm.instance_id != victim);
        }
        chosen
    }

    /// Delete set `set_index` and create it again under the same name in the other orchestration
    /// mode, with as many VMs (already running, their tentacles registered as new targets). The
    /// old VMs' targets stay, unavailable. Azure cannot switch a set's mode; a profile can end up
    /// pointing at a re-created set.
    pub fn recreate_set(&mut self, set_index: usize, flexible: bool) -> Result<(), WorldError> {
        let set = &mut self.scale_sets[set_index];
        let name = set.name.clone();
        let gone: Vec<u64> = set.vms.iter().map(|vm| vm.instance_id).collect();
        set.vms.clear();
        set.flexible = match (flexible, set.flexible.take()) {
            (true, Some(before)) => Some(before),
            (true, None) => Some(FlexSet { zones: vec![], fault_domain_count: 1, force_deletion: false }),
            (false, _) => None,
        };
        set.overprovision = !flexible;
        set.etag += 1;
        let capacity = set.capacity;
        self.batches.retain(|batch| batch.set != name);
        self.scale_sets[set_index].unique_id = self.new_guid();
        for machine in &mut self.machines {
            if machine.vm.as_ref().is_some_and(|(set, id)| *set == name && gone.contains(id)) {
                machine.health = super::world::Health::Unavailable;
                machine.tentacle_running = false;
            }
        }
        for _ in 0..capacity {
            self.add_existing_vm(set_index, false);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::scenario;
    use super::super::world::{Health, VmState, World};
    use std::collections::BTreeMap;

    fn world(name: &str) -> World {
        let scenario = scenario::load(name).expect("built-in scenario parses");
        scenario.build(scenario.seed)
    }

    fn zones(world: &World) -> BTreeMap<String, usize> {
        let mut zones = BTreeMap::new();
        for vm in world.scale_sets[0].vms.iter().filter(|vm| vm.state != VmState::Deleting) {
            *zones.entry(vm.flex.as_ref().and_then(|f| f.zone.clone()).unwrap_or_default()).or_default() += 1;
        }
        zones
    }

    #[test]
    fn a_flexible_scale_out_creates_named_balanced_vms_and_no_extras() {
        let mut world = world("flex-scale-out");
        world.advance_to(11.0);
        let set = &world.scale_sets[0];
        assert_eq!((set.capacity, set.vms.len()), (6, 6), "no over-provisioned extras");
        world.advance_to(300.0);
        let set = &world.scale_sets[0];
        let mut names: Vec<String> = set.vms.iter().map(|vm| set.vm_name(vm)).collect();
        for (vm, name) in set.vms.iter().zip(&names) {
            let hex = name.strip_prefix("vmss-flex_").expect("{set}_{suffix}");
            assert!(hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
            let computer = set.vm_computer_name(vm);
            assert!(computer.starts_with("flexweb") && computer.len() == 13, "{computer}");
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 6, "names are unique");
        assert_eq!(zones(&world).into_values().collect::<Vec<_>>(), vec![2, 2, 2], "balanced over zones 1-3");
        assert_eq!(world.machines.iter().filter(|m| m.health == Health::Healthy).count(), 6);
    }

    #[test]
    fn the_default_policy_keeps_the_zones_balanced_on_scale_in() {
        let mut world = world("flex-scale-in");
        world.advance_to(300.0);
        assert_eq!(world.scale_sets[0].vms.len(), 3);
        assert_eq!(zones(&world).into_values().collect::<Vec<_>>(), vec![1, 1, 1]);
    }

    #[test]
    fn newest_and_oldest_policies_go_by_creation_time() {
        for (policy, keeps_originals) in [("NewestVM", true), ("OldestVM", false)] {
            let mut world = world("flex-scale-out");
            world.advance_to(300.0);
            world.scale_sets[0].scale_in_policy = policy.into();
            world.set_capacity(0, 2);
            world.advance_to(600.0);
            let set = &world.scale_sets[0];
            assert_eq!(set.vms.len(), 2, "{policy}");
            let originals = set.vms.iter().filter(|vm| vm.created_at < 0.0).count();
            assert_eq!(originals == 2, keeps_originals, "{policy}: the two VMs from before the scale-out");
        }
    }

    #[test]
    fn a_protected_vm_is_never_removed() {
        let mut world = world("flex-scale-in");
        world.scale_sets[0].vms[5].protect_from_scale_in = true;
        let kept = world.scale_sets[0].vms[5].instance_id;
        world.advance_to(300.0);
        assert!(world.scale_sets[0].vm(kept).is_some());
    }

    #[test]
    fn recreating_a_set_switches_its_mode_and_strands_the_old_targets() {
        let mut world = world("mixed");
        let index = world.set_index("vmss-web").unwrap();
        let before: Vec<String> = world.machines.iter().map(|m| m.id.clone()).collect();
        world.recreate_set(index, true).unwrap();
        let set = &world.scale_sets[index];
        assert!(set.is_flexible() && !set.overprovision);
        assert_eq!(set.vms.len(), 3);
        assert!(set.vms.iter().all(|vm| set.vm_name(vm).len() == "vmss-web_".len() + 8));
        let old_web: Vec<_> = world
            .machines
            .iter()
            .filter(|m| before.contains(&m.id) && m.vm.as_ref().is_some_and(|(s, _)| s == "vmss-web"))
            .collect();
        assert_eq!(old_web.len(), 3);
        assert!(old_web.iter().all(|m| m.health == Health::Unavailable));
        assert_eq!(world.machines.len(), before.len() + 3, "the new VMs registered");
    }
}
