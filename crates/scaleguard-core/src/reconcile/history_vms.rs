//! `History::observe` for the VMs of the listed sets: a VM's first-seen time is kept while it is
//! listed, and dropped once a listing of its set proven complete no longer has it.
//!
//! Two ways to the same records. Set by set, as the rule reads: each proven listing sweeps the
//! records of its set, then files its VMs; that is a pass over every record per set, so at 50
//! sets of 1,000 the work grows with VMs × sets. In one pass over the records, for the listings
//! in which the order of the sets cannot matter: each set listed once, none found in another
//! mode, each VM listed under its set's key, and each listed VM's record filed under the set that
//! lists it. Any other listing goes set by set.

use super::history::{fresh_at, History, SharedKey, VmRecord};
use crate::folded::{FastMap, HashMapExt};
use crate::model::ScaleSetKey;
use crate::prefetch;
use crate::snapshot::ScaleSetListing;
use std::collections::HashSet;
use std::sync::Arc;
use time::OffsetDateTime;

/// One set whose listing succeeded, as `observe` sees it.
pub(super) struct ListedSet<'m> {
    pub key: &'m ScaleSetKey,
    /// `key`, shared by the set's records.
    pub shared_key: &'m SharedKey,
    pub listing: &'m ScaleSetListing,
    /// The listing is proven complete: a VM it lacks is gone.
    pub proven: bool,
    /// The set was just found in another orchestration mode: the old set's records go first.
    pub switched: bool,
    /// `vm_key` of each listed VM, in listing order.
    pub vm_keys: Vec<String>,
}

/// Is `key` the set's key? The set's own shared copy (as a listed VM's and a record's usually
/// are), else equal, compared by name first (the field in which the sets of one estate differ).
fn same_set(key: &SharedKey, set: &ListedSet<'_>) -> bool {
    Arc::ptr_eq(key, set.shared_key) || (key.name == set.key.name && **key == *set.key)
}

impl History {
    /// `plain`: the sets' keys differ and each listed VM carries its set's key
    /// (`MatchedSnapshot::plain_listings`), which spares the one pass checking it. True when the
    /// records not refreshed for `FORGET_AFTER` are gone too (the one pass drops them).
    pub(super) fn observe_vms(&mut self, sets: Vec<ListedSet<'_>>, plain: bool, at: OffsetDateTime) -> bool {
        if self.observe_vms_in_one_pass(&sets, plain, at) {
            return true;
        }
        self.observe_vms_set_by_set(sets, at);
        false
    }

    fn observe_vms_set_by_set(&mut self, sets: Vec<ListedSet<'_>>, at: OffsetDateTime) {
        for set in sets {
            if set.switched {
                // First-seen times of the old set's VMs are no one's now.
                self.vms.retain(|_, vm| *vm.scale_set != *set.key);
            }
            // A listing not proven complete is not believed: it must not wipe first-seen times.
            if set.proven {
                let listed: HashSet<&str> = set.vm_keys.iter().map(String::as_str).collect();
                self.vms.retain(|key, vm| *vm.scale_set != *set.key || listed.contains(key.as_str()));
            }
            for (instance, key) in set.listing.instances.iter().zip(set.vm_keys) {
                match self.vms.get_mut(&key) {
                    Some(vm) => vm.last_seen = at,
                    None => {
                        let own = instance.scale_set == *set.shared_key;
                        let first = VmRecord {
                            scale_set: if own {
                                Arc::clone(set.shared_key)
                            } else {
                                Arc::clone(&instance.scale_set)
                            },
                            instance_id: instance.instance_id.clone(),
                            first_seen: at,
                            last_seen: at,
                        };
                        self.vms.insert(key, first);
                    }
                }
            }
        }
    }

    /// `observe_vms_set_by_set` in one pass over the records, when the listings allow it (see the
    /// module comment); false, with nothing changed, when they do not.
    ///
    /// Then each record is touched only by the set it is filed under: a set's sweep removes only
    /// its own records, and files only VMs listed under its own key, so no set undoes or redoes
    /// another's work, and sweeping all sets at once, then filing all VMs, is the same.
    fn observe_vms_in_one_pass(&mut self, sets: &[ListedSet<'_>], plain: bool, at: OffsetDateTime) -> bool {
        let mut position: FastMap<&ScaleSetKey, usize> = FastMap::with_capacity(sets.len());
        for (index, set) in sets.iter().enumerate() {
            let own = plain || set.listing.instances.iter().all(|vm| same_set(&vm.scale_set, set));
            if set.switched || !own || position.insert(set.key, index).is_some() {
                return false;
            }
        }
        // Each listed VM's key → the first set listing it, and whether it has a record.
        let mut listed: FastMap<&str, (usize, bool)> =
            FastMap::with_capacity(sets.iter().map(|s| s.vm_keys.len()).sum());
        for (index, set) in sets.iter().enumerate() {
            for key in &set.vm_keys {
                listed.entry(key.as_str()).or_insert((index, false));
            }
        }
        let mut recorded = 0;
        // The set listing each record's VM, in the records' order, for the pass that updates them
        // (which then need not search again). The keys are asked for a few records ahead: at
        // 50,000 VMs they are scattered over memory.
        let mut listed_in: Vec<Option<usize>> = Vec::with_capacity(self.vms.len());
        for (key, vm) in prefetch::ahead(self.vms.iter(), |(key, _)| prefetch::text(key)) {
            let found = listed.get_mut(key.as_str());
            listed_in.push(found.as_ref().map(|(index, _)| *index));
            if let Some((index, has_record)) = found {
                if !same_set(&vm.scale_set, &sets[*index]) {
                    return false;
                }
                *has_record = true;
                recorded += 1;
            }
        }
        // Nothing has changed so far; from here on the records do. The stale are dropped on the
        // way (`History::forget_stale`), which spares that sweep another pass.
        let fresh = fresh_at(at);
        let mut visiting = 0;
        self.vms.retain(|_, vm| {
            let listed_in = listed_in[visiting];
            visiting += 1;
            if let Some(index) = listed_in {
                vm.last_seen = at;
                // The same key (checked above), from now on shared with the set's other records.
                if !Arc::ptr_eq(&vm.scale_set, sets[index].shared_key) {
                    vm.scale_set = Arc::clone(sets[index].shared_key);
                }
                return true;
            }
            // Not listed: gone if its set's listing is proven complete.
            position.get(&*vm.scale_set).is_none_or(|&index| !sets[index].proven) && fresh(vm.last_seen)
        });
        if recorded < listed.len() {
            for set in sets {
                for (instance, key) in set.listing.instances.iter().zip(&set.vm_keys) {
                    let Some((_, has_record)) = listed.get_mut(key.as_str()) else { continue };
                    if !*has_record {
                        *has_record = true;
                        // Every VM is listed under its set's key (checked above).
                        let first = VmRecord {
                            scale_set: Arc::clone(set.shared_key),
                            instance_id: instance.instance_id.clone(),
                            first_seen: at,
                            last_seen: at,
                        };
                        self.vms.insert(key.clone(), first);
                    }
                }
            }
        }
        true
    }
}
