//! One snapshot, read once for every rule: in-scope targets, the VM each one runs on, and how far
//! along each scale set is. Building it is the only place matching runs.

use super::history::{SharedKey, VmSighting};
use super::target_positions::TargetPositions;
use crate::completeness::{self, Completeness, ListingIndex};
use crate::config::Profile;
use crate::folded::{FastMap, FastSet};
use crate::matching::{has_match_name, NameIndex, Pairing};
use crate::model::{Instance, ProvisioningState, ScaleSetKey, Target};
use crate::prefetch;
use crate::rows;
use crate::snapshot::{ReadFailure, ScaleSetListing, Snapshot};
use std::borrow::Cow;
use std::fmt;

/// How far a listed scale set is from steady.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetProgress {
    pub capacity: u32,
    /// Instances listed, whatever their state.
    pub listed: u32,
    pub succeeded: u32,
    /// Instances in a non-final provisioning state (Creating, Updating, Deleting, anything unknown).
    pub in_progress: u32,
    /// The scale set's own provisioningState is final.
    pub set_final: bool,
    /// An instance id, vmId or computer name is listed twice: the counts above may hide a
    /// missing VM.
    pub repeated: bool,
    /// The set changed while its VMs were listed: the counts may be of a set that is gone.
    pub changed: bool,
}

impl SetProgress {
    /// The counts of `listing`, whose `completeness::judge` verdict is `verdict`.
    pub fn of(listing: &ScaleSetListing, verdict: &Completeness) -> Self {
        let count = |keep: fn(&Instance) -> bool| {
            u32::try_from(listing.instances.iter().filter(|i| keep(i)).count()).unwrap_or(u32::MAX)
        };
        // An AWS group's warm pool and Standby instances are outside its capacity, and a warm
        // pool refilling does not hold the group's own instances (`Instance::in_capacity`).
        Self {
            capacity: listing.state.capacity,
            listed: count(|i| i.in_capacity()),
            succeeded: count(|i| i.in_capacity() && i.provisioning_state == ProvisioningState::Succeeded),
            in_progress: count(|i| !i.provisioning_state.is_final() && !i.is_warm_pool()),
            set_final: listing.state.provisioning_state.is_final(),
            repeated: verdict.has_repeats(),
            changed: verdict.changed_while_listed(),
        }
    }

    /// More VMs than asked for: overprovisioning extras that Azure has yet to remove.
    pub fn extras(&self) -> u32 {
        self.listed.saturating_sub(self.capacity)
    }

    /// Nothing left to settle: the only state in which deploying to the set is safe. A listing
    /// with repeated entries is never steady: a repeat can stand in for a VM still being created.
    pub fn is_steady(&self) -> bool {
        self.set_final
            && !self.repeated
            && !self.changed
            && self.in_progress == 0
            && self.succeeded >= self.capacity
            && self.extras() == 0
    }

    /// An empty listing of a set that says it has VMs is not believed (invariant 2).
    pub fn is_implausibly_empty(&self) -> bool {
        self.listed == 0 && self.capacity > 0
    }
}

/// One configured scale set as this snapshot saw it.
#[derive(Debug)]
pub struct SetView<'a> {
    pub key: &'a ScaleSetKey,
    pub listing: Result<&'a ScaleSetListing, &'a ReadFailure>,
    /// None when the listing failed.
    pub progress: Option<SetProgress>,
    /// Is the listing proven complete (`completeness::judge`)? None when it failed.
    pub completeness: Option<Completeness>,
    /// Listed VMs whose match name cannot be read: any unmatched target of the set may run on one.
    pub unnamed: Vec<&'a Instance>,
    /// Listed VMs no target matched (empty when the target listing failed): a target never
    /// matched to a VM may be one of these under a name not seen.
    pub untargeted: Vec<&'a Instance>,
    /// Empty when the listings are plain (`MatchedSnapshot::plain_listings`): nothing asks then.
    by_instance_id: FastMap<&'a str, &'a Instance>,
    /// `key`, for the history's records of the set's VMs to share.
    shared_key: SharedKey,
    /// By canonical vmId, then by canonical instance id: how a VM seen before is found again.
    index: ListingIndex<'a>,
}

impl<'a> SetView<'a> {
    /// The VM listed under this instance id (of an id listed twice, the last).
    pub fn instance(&self, instance_id: &str) -> Option<&'a Instance> {
        if self.by_instance_id.is_empty() {
            // Not indexed (plain listings, where `present_vm` needs no search): a scan.
            return self.instances().iter().rev().find(|vm| vm.instance_id == instance_id);
        }
        self.by_instance_id.get(instance_id).copied()
    }

    /// The listed VM a sighting on this set was of: the same vmId; without a vmId on either
    /// side, the same instance id. A VM with another vmId under the instance id is another VM.
    pub fn find(&self, sighting: &VmSighting) -> Option<&'a Instance> {
        if let Some(found) = sighting.vm_id.as_deref().and_then(|id| self.index.by_vm_id(id)) {
            return Some(found);
        }
        let found = self.index.by_instance_id(&sighting.instance_id)?;
        (sighting.vm_id.is_none() || found.vm_id.is_none()).then_some(found)
    }

    pub fn instances(&self) -> &'a [Instance] {
        self.listing.map(|l| l.instances.as_slice()).unwrap_or(&[])
    }

    /// `key`, shared by the history's records of the set's VMs.
    pub(crate) fn shared_key(&self) -> &SharedKey {
        &self.shared_key
    }
}

/// A snapshot with matching done, shared by `History::observe`, `plan` and `still_valid`.
#[derive(Debug)]
pub struct MatchedSnapshot<'a> {
    pub snapshot: &'a Snapshot,
    /// Targets carrying all configured roles; empty when the target listing failed.
    pub targets: Cow<'a, [Target]>,
    pub sets: Vec<SetView<'a>>,
    pub matching: Pairing<'a>,
    /// The scale set hosting the HA nodes (`nodes.scale_set`): a terminating hook on one of its
    /// node hosts belongs to that node's drain job, not to the lifecycle planner.
    pub nodes_set: Option<ScaleSetKey>,
    /// The position in `sets` of the first set with each key: `set()` without comparing keys.
    set_index: FastMap<&'a ScaleSetKey, usize>,
    /// No two sets share a key, and every listed VM carries its set's key and an instance id of
    /// its own: then the VM a target's name matched is the one `vm_of` finds under its set and id.
    plain_listings: bool,
    /// The listed VMs some target is paired with.
    targeted: PairedVms<'a>,
    /// The VM of each target id, when a target id repeats (None: `targeted`).
    registered: Option<PairedVms<'a>>,
    /// Target id → its position in `targets`; None when an id is listed twice.
    target_positions: Option<TargetPositions>,
    /// The VM each of `targets` is paired with, by position, when no id is listed twice: what
    /// `matching.instance_of` answers for its id, read without hashing the id (at 50,000
    /// targets a search of the id index mostly misses the cache).
    paired_by_position: Option<Vec<Option<&'a Instance>>>,
    /// Where the plain listings' VMs sit (none when the listings are not plain).
    places: ListingPlaces<'a>,
    /// What `absence_doubt` reads for every target, found once: the first set whose listing
    /// failed or is not proven complete, the sets listing VMs of unreadable name (in order),
    /// and the first set listing VMs with no target.
    first_doubtful_listing: Option<usize>,
    with_unnamed: Vec<usize>,
    first_untargeted: Option<usize>,
}

/// A set of listed VMs, asked as `Matching::targets_on` asks: by set key and instance id. When
/// the listings are plain, one VM stands for each key and id, so the VM's place in the listings
/// answers without reading either: one flag per listed VM, a few kilobytes at 50,000 VMs, where
/// a hash set of them would be megabytes read at random.
#[derive(Debug)]
enum PairedVms<'a> {
    ByPlace(Vec<bool>),
    ByKey(FastSet<(&'a ScaleSetKey, &'a str)>),
}

impl<'a> PairedVms<'a> {
    /// By place when every VM of `vms` has one in `places` (plain listings hold every paired VM;
    /// other listings have no places).
    fn of<I: Iterator<Item = &'a Instance> + Clone>(places: &ListingPlaces<'_>, vms: I) -> Self {
        let by_key = |vms: I| Self::ByKey(vms.map(|vm| (&*vm.scale_set, vm.instance_id.as_str())).collect());
        let mut paired = vec![false; places.len()];
        for vm in vms.clone() {
            match places.place_of(vm) {
                Some((_, at)) => paired[at] = true,
                None => return by_key(vms),
            }
        }
        Self::ByPlace(paired)
    }

    fn contains(&self, vm: &Instance, places: &ListingPlaces<'_>) -> bool {
        match self {
            Self::ByPlace(paired) => places.place_of(vm).is_some_and(|(_, at)| paired[at]),
            Self::ByKey(vms) => vms.contains(&(&*vm.scale_set, vm.instance_id.as_str())),
        }
    }
}

/// Where each VM of the plain listings sits: its listing, the set's position and the number of
/// VMs listed before it, sorted by address. A listed VM's set and place are found from its
/// address in a few steps whatever the number of sets, without reading the VM.
#[derive(Debug, Default)]
struct ListingPlaces<'a> {
    listings: Vec<ListingPlace<'a>>,
    vms: usize,
}

#[derive(Debug)]
struct ListingPlace<'a> {
    instances: &'a [Instance],
    set: usize,
    first_place: usize,
}

impl<'a> ListingPlaces<'a> {
    fn of(sets: &[SetView<'a>]) -> Self {
        let mut places = Self::default();
        for (set, view) in sets.iter().enumerate() {
            let instances = view.instances();
            if !instances.is_empty() {
                places.listings.push(ListingPlace { instances, set, first_place: places.vms });
                places.vms += instances.len();
            }
        }
        places.listings.sort_by_key(|listing| listing.instances.as_ptr());
        places
    }

    /// The number of VMs listed.
    fn len(&self) -> usize {
        self.vms
    }

    /// The position of `vm`'s set, and `vm`'s place among all listed VMs; None for a VM that is
    /// not one of the listings' own.
    fn place_of(&self, vm: &Instance) -> Option<(usize, usize)> {
        // The last listing starting at or before the VM; the listings do not overlap.
        let after =
            self.listings.partition_point(|listing| listing.instances.as_ptr() <= vm as *const Instance);
        let listing = self.listings.get(after.checked_sub(1)?)?;
        let position = rows::position_in(listing.instances, vm)?;
        Some((listing.set, listing.first_place + position))
    }
}

impl<'a> MatchedSnapshot<'a> {
    pub fn new(snapshot: &'a Snapshot, profile: &Profile) -> Self {
        let roles = &profile.octopus.roles;
        // The snapshot promises all-of roles already; checking again costs little and keeps a
        // loose server filter from ever putting a foreign machine up for deletion.
        let all: &'a [Target] = snapshot.targets.as_deref().unwrap_or_default();
        let targets: Cow<'a, [Target]> = if all.iter().all(|t| t.has_all_roles(roles)) {
            Cow::Borrowed(all)
        } else {
            Cow::Owned(all.iter().filter(|t| t.has_all_roles(roles)).cloned().collect())
        };
        // Each listing's VMs are indexed by name as its set is read, while they are in the cache.
        let mut names = NameIndex::default();
        let mut sets: Vec<SetView<'a>> = snapshot
            .scale_sets
            .iter()
            .map(|observation| {
                let listing = observation.listing.as_ref();
                if let Ok(listing) = listing {
                    names.add(observation.match_by, &listing.instances);
                }
                let unnamed = listing
                    .map(|l| {
                        l.instances.iter().filter(|i| !has_match_name(i, observation.match_by)).collect()
                    })
                    .unwrap_or_default();
                let index = listing.map(ListingIndex::new).unwrap_or_default();
                let completeness = listing.ok().map(|listing| completeness::judge_indexed(listing, &index));
                // The listing's own key where its VMs share one (as a provider's do): comparing a
                // VM's key with it is then a pointer comparison.
                let shared_key = listing
                    .ok()
                    .and_then(|l| l.instances.first())
                    .map(|vm| &vm.scale_set)
                    .filter(|key| ***key == observation.key)
                    .map_or_else(|| SharedKey::new(observation.key.clone()), SharedKey::clone);
                SetView {
                    key: &observation.key,
                    listing,
                    progress: listing.ok().zip(completeness.as_ref()).map(|(l, v)| SetProgress::of(l, v)),
                    completeness,
                    unnamed,
                    untargeted: Vec::new(),
                    by_instance_id: FastMap::default(),
                    shared_key,
                    index,
                }
            })
            .collect();
        // Paired over the snapshot's own targets (those in scope), so the pairing borrows them
        // even when `targets` is a filtered copy.
        let filtered = matches!(targets, Cow::Owned(_));
        let in_scope = || all.iter().filter(move |t| !filtered || t.has_all_roles(roles));
        let matching = names.pair(in_scope());
        let nodes_set = profile.nodes_scale_set().ok().flatten();
        let mut set_index = FastMap::default();
        for (position, set) in sets.iter().enumerate() {
            set_index.entry(set.key).or_insert(position);
        }
        let plain_listings = set_index.len() == sets.len()
            && sets.iter().all(|set| {
                let own = |vm: &Instance| vm.scale_set == set.shared_key;
                // Distinct in canonical form ("01" is "1"), so distinct as listed too.
                set.index.distinct_instance_ids() == set.instances().len() && set.instances().iter().all(own)
            });
        // Only where the listings are not plain is a VM looked up by its set and instance id
        // (`present_vm`): at 50,000 VMs these maps are megabytes.
        if !plain_listings {
            for set in &mut sets {
                set.by_instance_id = set.instances().iter().map(|i| (i.instance_id.as_str(), i)).collect();
            }
        }
        let places = if plain_listings { ListingPlaces::of(&sets) } else { ListingPlaces::default() };
        let targeted = PairedVms::of(&places, matching.pairs().iter().map(|(_, vm)| *vm));
        let ids = prefetch::ahead(in_scope(), |target| prefetch::text(&target.id)).map(|t| t.id.as_str());
        let target_positions = TargetPositions::of(ids, targets.len());
        // A paired target id repeats only where a listed one does: otherwise every pair's VM is
        // the VM of its target id, and the pairs' id map need not be built to say so.
        let registered = match target_positions {
            Some(_) => None,
            None => matching.vms_by_target_id().map(|vms| PairedVms::of(&places, vms)),
        };
        let paired_by_position = target_positions.as_ref().map(|_| {
            // The pairs are in target order, each borrowing its own target's id.
            let mut pairs = matching.pairs().iter().peekable();
            let vms: Vec<Option<&Instance>> = in_scope()
                .map(|target| {
                    pairs.next_if(|(id, _)| std::ptr::eq(*id, target.id.as_str())).map(|(_, vm)| *vm)
                })
                .collect();
            debug_assert!(pairs.next().is_none(), "every pair is of a target in scope");
            vms
        });
        let first_doubtful_listing =
            sets.iter().position(|set| set.completeness.as_ref().is_none_or(|verdict| !verdict.is_proven()));
        let with_unnamed = (0..sets.len()).filter(|&position| !sets[position].unnamed.is_empty()).collect();
        let mut built = Self {
            snapshot,
            targets,
            sets,
            matching,
            nodes_set,
            set_index,
            plain_listings,
            targeted,
            registered,
            target_positions,
            paired_by_position,
            places,
            first_doubtful_listing,
            with_unnamed,
            first_untargeted: None,
        };
        if built.target_listing_ok() {
            for set in &mut built.sets {
                let (targeted, places) = (&built.targeted, &built.places);
                set.untargeted = set.instances().iter().filter(|vm| !targeted.contains(vm, places)).collect();
            }
            built.first_untargeted = built.sets.iter().position(|set| !set.untargeted.is_empty());
        }
        built
    }

    /// The listed VM a target was last matched to, if it is still listed (whatever its name says
    /// now: a VM renamed or matched by another setting is still that VM).
    pub fn listed_vm(&self, sighting: &VmSighting) -> Option<&'a Instance> {
        self.set(&sighting.scale_set)?.find(sighting)
    }

    pub fn target_listing_ok(&self) -> bool {
        self.snapshot.targets.is_ok()
    }

    /// Why this snapshot proves nothing about the absence of a target's VM; None when it does.
    /// `last_set` is the set the VM was last seen on (None: never matched). Evidence needs the
    /// target listing and every configured set's listing, each proven complete (a target never
    /// matched could be on any set), and no VM of unreadable name on the set(s) it could be on.
    pub fn absence_doubt(&self, last_set: Option<&ScaleSetKey>) -> Option<AbsenceDoubt<'_>> {
        if !self.target_listing_ok() {
            return Some(AbsenceDoubt::TargetsFailed);
        }
        if self.sets.is_empty() {
            return Some(AbsenceDoubt::NoScaleSet);
        }
        if let Some(set) = self.first_doubtful_listing.map(|position| &self.sets[position]) {
            return Some(match &set.completeness {
                None => AbsenceDoubt::ListingFailed(set.key),
                Some(verdict) => AbsenceDoubt::Unproven(set.key, verdict),
            });
        }
        let unnamed = self
            .with_unnamed
            .iter()
            .map(|&position| &self.sets[position])
            .find(|s| last_set.is_none_or(|key| key == s.key))
            .map(|s| AbsenceDoubt::Unnamed(s.key, s.unnamed.len()));
        if unnamed.is_some() || last_set.is_some() {
            return unnamed;
        }
        // A target never matched to a VM may run on any listed VM that has no target, under a
        // name not seen (a host renamed in the guest, another `match` setting): held while any has.
        self.first_untargeted
            .map(|position| &self.sets[position])
            .map(|s| AbsenceDoubt::Untargeted(s.key, &s.untargeted))
    }

    /// Is a VM of this set key and instance id the one some target id is paired with? (Of a
    /// target id listed twice, only its last target counts.)
    pub(crate) fn is_registered(&self, vm: &Instance) -> bool {
        self.registered.as_ref().unwrap_or(&self.targeted).contains(vm, &self.places)
    }

    /// No two sets share a key and every listed VM carries its set's key and an instance id of its
    /// own.
    pub(crate) fn plain_listings(&self) -> bool {
        self.plain_listings
    }

    /// Target id → its position in `targets`, when no id is listed twice.
    pub(crate) fn target_positions(&self) -> Option<&TargetPositions> {
        self.target_positions.as_ref()
    }

    /// The key of a listed VM's set (equal to its `scale_set`), read from the set when the
    /// listings are plain: one copy for all the set's VMs, in the cache, instead of the VM's own.
    pub(crate) fn key_of<'s>(&'s self, vm: &'s Instance) -> &'s ScaleSetKey {
        self.listed_in(vm).map_or(&vm.scale_set, |set| set.key)
    }

    /// The set whose listing holds `vm` (found by its address), when the listings are plain:
    /// its key is then `vm`'s.
    pub(crate) fn listed_in(&self, vm: &Instance) -> Option<&SetView<'a>> {
        let (set, _) = self.places.place_of(vm)?;
        Some(&self.sets[set])
    }

    /// The first configured set with this key.
    pub fn set(&self, key: &ScaleSetKey) -> Option<&SetView<'a>> {
        self.set_index.get(key).map(|&position| &self.sets[position])
    }

    /// The present VM a target runs on, from a listing that succeeded: the VM its name matched,
    /// and the VM listed under that VM's set and instance id.
    pub fn vm_of(&self, target_id: &str) -> Option<(&'a Instance, &'a Instance)> {
        let by_position = self.target_positions.as_ref().zip(self.paired_by_position.as_ref());
        let found = match by_position {
            Some((positions, vms)) => vms[positions.get(target_id)?],
            None => self.matching.instance_of(target_id),
        };
        self.present_vm(found?)
    }

    /// `vm_of(&target.id)`, without a search by id when `target` is one of `targets`.
    pub fn vm_of_target(&self, target: &Target) -> Option<(&'a Instance, &'a Instance)> {
        self.present_vm(self.instance_of_target(target)?)
    }

    /// Asks for what observing the target at `position` of `targets` reads, in two steps a few
    /// targets apart: first the target and its VM (`Stage::Records`), then the text they point to
    /// (`Stage::Text`), which is read from them.
    pub(crate) fn prefetch_target(&self, position: usize, stage: prefetch::Stage) {
        let Some(target) = self.targets.get(position) else { return };
        let vm = self.paired_by_position.as_ref().and_then(|vms| vms.get(position).copied().flatten());
        match stage {
            prefetch::Stage::Records => {
                prefetch::value(&target.name);
                vm.map(prefetch::value);
            }
            prefetch::Stage::Text => {
                prefetch::text(&target.name);
                vm.map(prefetch::instance);
            }
        }
    }

    /// `matching.instance_of(&target.id)`, read by position when `target` is one of `targets`
    /// and no id is listed twice.
    pub fn instance_of_target(&self, target: &Target) -> Option<&'a Instance> {
        match (&self.paired_by_position, rows::position_in(&self.targets, target)) {
            (Some(vms), Some(position)) => vms[position],
            _ => self.matching.instance_of(&target.id),
        }
    }

    /// `found` (a VM a target's name matched) and the VM listed under its set and instance id.
    fn present_vm(&self, found: &'a Instance) -> Option<(&'a Instance, &'a Instance)> {
        if self.plain_listings {
            return Some((found, found));
        }
        let instance = self.set(&found.scale_set)?.instance(&found.instance_id)?;
        Some((found, instance))
    }

    /// Is the set this key names listed and steady?
    pub fn set_is_steady(&self, key: &ScaleSetKey) -> bool {
        self.set(key).and_then(|s| s.progress).is_some_and(|p| p.is_steady())
    }

    /// Is the target's set (or, for a target never matched, any set) listed empty at capacity 0?
    /// Then a delete is right but removes everything at once: it needs a confirmation (invariant 2).
    pub fn listing_is_empty_at_capacity_zero(&self, key: Option<&ScaleSetKey>) -> bool {
        let empty_zero = |s: &SetView<'_>| s.progress.is_some_and(|p| p.listed == 0 && p.capacity == 0);
        match key.and_then(|k| self.set(k)) {
            Some(set) => empty_zero(set),
            // A target never matched to a known set: confirm when any set is empty at zero.
            None => self.sets.iter().any(empty_zero),
        }
    }
}

/// Why a snapshot is no evidence that a target's VM is gone (`MatchedSnapshot::absence_doubt`).
#[derive(Debug, Clone, Copy)]
pub enum AbsenceDoubt<'i> {
    TargetsFailed,
    NoScaleSet,
    ListingFailed(&'i ScaleSetKey),
    Unproven(&'i ScaleSetKey, &'i Completeness),
    /// The set lists this many VMs whose name cannot be read.
    Unnamed(&'i ScaleSetKey, usize),
    /// The set lists these VMs with no target (only said of a target never matched).
    Untargeted(&'i ScaleSetKey, &'i [&'i Instance]),
}

impl fmt::Display for AbsenceDoubt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TargetsFailed => f.write_str("the target listing failed, so it proves nothing about absence"),
            Self::NoScaleSet => f.write_str("no scale set is configured, so nothing proves a VM gone"),
            Self::ListingFailed(key) => {
                write!(f, "the listing of {key} failed, so the current listing proves nothing about absence")
            }
            Self::Unproven(key, verdict) => write!(
                f,
                "the current listing of {key} is not proven complete ({verdict}), so it proves nothing about absence"
            ),
            Self::Unnamed(key, count) => write!(
                f,
                "{key} lists {count} VM(s) whose computer name cannot be read; any of them may be this target's VM"
            ),
            Self::Untargeted(key, vms) => write!(
                f,
                "it was never matched to a VM, and {key} lists {} VM(s) with no target ({}): any of them may \
                 be this target's VM under a name not seen",
                vms.len(),
                super::text::vm_names(vms)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::testkit::{at, profile, target_on, vm, SnapshotBuilder};
    use proptest::prelude::*;

    /// Sets `a` and `b` listing VMs 0..`listed`; a target on each VM of `on` (set b's VMs from
    /// `listed` on); `twice`: set a lists its VM 0 again as "00" (the same VM by canonical id, so
    /// the listings are not plain).
    fn snapshot(listed: u32, on: &[u32], twice: bool) -> Snapshot {
        let set = |name: &str| (0..listed).map(|id| vm(name, id)).collect::<Vec<_>>();
        let mut a = set("a");
        if twice {
            a.push(Instance { instance_id: "00".into(), computer_name: Some("a-00".into()), ..vm("a", 0) });
        }
        let targets = on
            .iter()
            .map(|&at| match at < listed {
                true => target_on(&format!("Machines-a{at}"), "a", at),
                false => target_on(&format!("Machines-b{at}"), "b", at - listed),
            })
            .collect();
        SnapshotBuilder::new(at(0)).set("a", listed, a).set("b", listed, set("b")).targets(targets).build()
    }

    proptest! {
        /// Which listed VMs a target is paired with, asked by a VM's place in the listings (plain
        /// listings) or by its set and instance id (not plain): the VMs some target's name matched.
        #[test]
        fn paired_vms_are_those_a_target_matched(
            listed in 1..8u32,
            on in proptest::collection::vec(0..16u32, 0..10),
            twice: bool,
        ) {
            let snapshot = snapshot(listed, &on, twice);
            let matched = MatchedSnapshot::new(&snapshot, &profile());
            prop_assert_eq!(matched.plain_listings(), !twice);
            let paired: Vec<(&ScaleSetKey, &str)> =
                matched.matching.pairs().iter().map(|(_, vm)| (&*vm.scale_set, vm.instance_id.as_str())).collect();
            for set in &matched.sets {
                for vm in set.instances() {
                    let expected = paired.contains(&(&*vm.scale_set, vm.instance_id.as_str()));
                    prop_assert_eq!(matched.is_registered(vm), expected, "{} {}", set.key, vm.instance_id);
                    prop_assert_eq!(set.untargeted.iter().any(|u| std::ptr::eq(*u, vm)), !expected);
                    // The set is found from the VM's place only when the listings are plain.
                    prop_assert_eq!(matched.listed_in(vm).map(|s| s.key), (!twice).then_some(set.key));
                }
            }
        }
    }

    #[test]
    fn a_vm_is_found_by_instance_id_whether_or_not_the_listings_are_plain() {
        for twice in [false, true] {
            let snapshot = snapshot(3, &[0], twice);
            let matched = MatchedSnapshot::new(&snapshot, &profile());
            let set = matched.set(&crate::reconcile::testkit::set_key("a")).expect("set a");
            assert_eq!(set.instance("2").map(|vm| vm.name.as_str()), Some("a_2"), "twice: {twice}");
            assert!(set.instance("3").is_none(), "twice: {twice}");
            assert_eq!(
                matched.vm_of("Machines-a0").map(|(vm, _)| vm.name.as_str()),
                Some("a_0"),
                "twice: {twice}"
            );
            assert!(matched.vm_of("Machines-b0").is_none(), "twice: {twice}");
        }
    }
}
