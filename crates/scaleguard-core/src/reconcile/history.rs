//! What earlier refreshes saw, kept between runs (a headless runbook persists it as JSON).
//!
//! Only listings proven complete are evidence of absence (`MatchedSnapshot::absence_doubt`): a failed,
//! unproven (set not settled, short, repeated entries) listing of any configured scale set, a VM
//! of unreadable name on the target's set, a listed VM without a target (for a target never
//! matched), or a failed target listing neither extends nor breaks a streak. A listing in which
//! the target's VM is present ends the streak: a VM its name matches, or the VM it was last
//! matched to (by vmId, else instance id), whatever that VM is called now. Evidence is tied to
//! the VM's vmId as well as its instance id, because Azure may hand an instance id to a new VM.

use super::history_vms::ListedSet;
use super::matched::MatchedSnapshot;
use crate::completeness::instance_id_key;
use crate::folded::FastSet;
pub use crate::model::SharedKey;
use crate::model::{shared_key, Instance, OrchestrationMode, ScaleSetKey, Target};
use crate::prefetch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Records not refreshed for this long are dropped, so the history stays bounded even when a
/// listing fails for days.
pub const FORGET_AFTER: Duration = Duration::days(2);

/// A VM as it was last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSighting {
    #[serde(with = "shared_key")]
    pub scale_set: SharedKey,
    pub instance_id: String,
    pub vm_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub seen_at: OffsetDateTime,
}

impl VmSighting {
    /// `found` as seen `at`; `scale_set` is its set's key (equal to `found.scale_set`).
    fn of(found: &Instance, scale_set: SharedKey, at: OffsetDateTime) -> Self {
        Self { scale_set, instance_id: found.instance_id.clone(), vm_id: found.vm_id.clone(), seen_at: at }
    }

    /// Same VM? Same set and instance id (as numbers), and the same vmId (a GUID, compared
    /// case-insensitively) when both are known.
    pub fn is_same_vm(&self, found: &Instance) -> bool {
        self.is_same_vm_on(&found.scale_set, found)
    }

    /// `is_same_vm`, given `found`'s set key (`found.scale_set` or a copy equal to it).
    pub(crate) fn is_same_vm_on(&self, scale_set: &ScaleSetKey, found: &Instance) -> bool {
        let same_vm_id = match (&self.vm_id, &found.vm_id) {
            (Some(before), Some(now)) => before == now || before.eq_ignore_ascii_case(now),
            _ => true,
        };
        let same_id = |a: &str, b: &str| a == b || instance_id_key(a) == instance_id_key(b);
        *self.scale_set == *scale_set && same_id(&self.instance_id, &found.instance_id) && same_vm_id
    }
}

/// Consecutive complete listings in which a target's VM was missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsenceStreak {
    pub listings: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub first: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub latest: OffsetDateTime,
}

impl AbsenceStreak {
    pub fn span_secs(&self) -> u64 {
        super::text::secs_between(self.first, self.latest)
    }
}

/// Everything remembered about one in-scope target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_listed: OffsetDateTime,
    /// The VM it was last matched to.
    pub last_vm: Option<VmSighting>,
    /// The VM before `last_vm`, when the target's name came to match a different VM (reused id).
    /// Boxed, as `absence`: rare, and records sit in the map's nodes (10,000 of them at 10k VMs).
    pub replaced_vm: Option<Box<VmSighting>>,
    pub absence: Option<Box<AbsenceStreak>>,
}

/// When a VM was first seen (keyed by vmId, else set and instance id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRecord {
    #[serde(with = "shared_key")]
    pub scale_set: SharedKey,
    pub instance_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// Since when a scale set has not been steady, and the orchestration mode it was listed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRecord {
    #[serde(with = "time::serde::rfc3339::option")]
    pub unsteady_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_listed: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<OrchestrationMode>,
    /// The last time a listing found the set in another mode than the one before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode_change: Option<ModeChange>,
}

/// A configured scale set listed in another orchestration mode than before. Azure cannot switch a
/// set's mode: the set was deleted and created again under the same name, or the profile points
/// at another set. The evidence gathered on the old set says nothing about the new one, so it is
/// dropped: absence counting for the set's targets starts again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeChange {
    pub from: OrchestrationMode,
    pub to: OrchestrationMode,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A last observation this much newer than a refresh was recorded by a clock that ran ahead (or
/// this one runs behind); anything closer is a replayed or racing refresh, ignored as such.
pub const CLOCK_SKEW_TOLERANCE: Duration = Duration::minutes(2);

/// The history's last observation lay in this refresh's future: its future-dated evidence was
/// discarded (shown as a note by the plan of that refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSkew {
    pub recorded: OffsetDateTime,
    pub observed: OffsetDateTime,
}

/// Observation history across refreshes. Pure: `observe` is fed snapshots, nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Set by the `observe` that found the history dated in its future; never persisted.
    #[serde(skip)]
    pub clock_skew: Option<ClockSkew>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_observed_at: Option<OffsetDateTime>,
    /// By target id.
    #[serde(default)]
    pub targets: BTreeMap<String, TargetRecord>,
    /// By `vm_key`.
    #[serde(default)]
    pub vms: BTreeMap<String, VmRecord>,
    /// By `text::set_id`.
    #[serde(default)]
    pub scale_sets: BTreeMap<String, SetRecord>,
}

/// The key a VM's sighting is filed under: its vmId (in one spelling), so a reused instance id
/// starts afresh.
pub fn vm_key(instance: &Instance) -> String {
    match &instance.vm_id {
        // `vm:` and `canonical_vm_id`, built in place: once per listed VM per refresh.
        Some(vm_id) => {
            let canonical = crate::folded::trim(vm_id);
            let mut key = String::with_capacity(3 + canonical.len());
            key.push_str("vm:");
            key.push_str(canonical);
            key[3..].make_ascii_lowercase();
            key
        }
        None => format!("instance:{}:{}", super::text::set_id(&instance.scale_set), instance.instance_id),
    }
}

impl TargetRecord {
    fn new(target: &Target, at: OffsetDateTime) -> Self {
        Self { name: target.name.clone(), last_listed: at, last_vm: None, replaced_vm: None, absence: None }
    }
}

/// Record what one refresh says of a listed target: the VM its name matches, the VM it was
/// matched to still listed, or its VM's absence from a listing that is evidence of it.
fn observe_target(
    record: &mut TargetRecord,
    target: &Target,
    matched: &MatchedSnapshot<'_>,
    at: OffsetDateTime,
) {
    record.name.clone_from(&target.name);
    record.last_listed = at;
    match matched.instance_of_target(target) {
        Some(found) => {
            let listed_in = matched.listed_in(found);
            match record.last_vm.as_mut() {
                Some(last)
                    if last.is_same_vm_on(listed_in.map_or(&found.scale_set, |set| set.key), found) =>
                {
                    last.seen_at = at;
                    if last.vm_id.is_none() {
                        last.vm_id.clone_from(&found.vm_id);
                    }
                    // The same key, from now on shared with the set's other records.
                    if let Some(set) = listed_in.filter(|set| !Arc::ptr_eq(&last.scale_set, set.shared_key()))
                    {
                        last.scale_set = Arc::clone(set.shared_key());
                    }
                }
                _ => {
                    let key = listed_in
                        .map_or_else(|| Arc::clone(&found.scale_set), |set| Arc::clone(set.shared_key()));
                    // A different VM under the target's name: remember the old one.
                    if let Some(before) = record.last_vm.replace(VmSighting::of(found, key, at)) {
                        record.replaced_vm = Some(Box::new(before));
                    }
                }
            }
            record.absence = None;
        }
        // The VM it was matched to is still listed, though its name no longer matches
        // (renamed, or matched by another setting): that VM is present.
        None if record.last_vm.as_ref().is_some_and(|vm| matched.listed_vm(vm).is_some()) => {
            if let Some(last) = record.last_vm.as_mut() {
                last.seen_at = at;
            }
            record.absence = None;
        }
        None => {
            let last_set = record.last_vm.as_ref().map(|vm| &*vm.scale_set);
            // Not evidence either way (an unproven listing, an unreadable name, a VM
            // without target for a target never matched): the streak stands as it was.
            if matched.absence_doubt(last_set).is_none() {
                let streak = record
                    .absence
                    .get_or_insert_with(|| Box::new(AbsenceStreak { listings: 0, first: at, latest: at }));
                streak.listings = streak.listings.saturating_add(1);
                streak.latest = at;
            }
        }
    }
}

impl History {
    pub fn target(&self, target_id: &str) -> Option<&TargetRecord> {
        self.targets.get(target_id)
    }

    /// `target` of each of the snapshot's targets in turn where its record is `wanted` (None
    /// otherwise), found in one pass over the records when no target id repeats (a search of the
    /// records per target reads keys scattered over memory, at 50,000 targets mostly outside the
    /// cache). A record is asked `wanted` before its id is looked up: the ids, the record's and
    /// the target's, are strings of their own, read from memory for every record looked up.
    pub(crate) fn records_of<'h>(
        &'h self,
        matched: &MatchedSnapshot<'_>,
        wanted: impl Fn(&TargetRecord) -> bool,
    ) -> Vec<Option<&'h TargetRecord>> {
        let Some(positions) = matched.target_positions() else {
            return matched.targets.iter().map(|t| self.target(&t.id).filter(|r| wanted(r))).collect();
        };
        let mut records = vec![None; matched.targets.len()];
        for (id, record) in self.targets.iter().filter(|(_, record)| wanted(record)) {
            if let Some(position) = positions.get(id) {
                records[position] = Some(record);
            }
        }
        records
    }

    pub fn vm(&self, instance: &Instance) -> Option<&VmRecord> {
        self.vms.get(&vm_key(instance))
    }

    pub fn set(&self, key: &ScaleSetKey) -> Option<&SetRecord> {
        self.scale_sets.get(&super::text::set_id(key))
    }

    /// `observe` for a caller without a `MatchedSnapshot` at hand (matching runs here).
    pub fn observe_snapshot(
        &mut self,
        snapshot: &crate::snapshot::Snapshot,
        profile: &crate::config::Profile,
    ) {
        self.observe(&MatchedSnapshot::new(snapshot, profile));
    }

    /// Record what one refresh saw. A snapshot not newer than the last one observed is ignored, so
    /// replaying a refresh can never add a listing to a streak; but a last observation more than
    /// `CLOCK_SKEW_TOLERANCE` in the snapshot's future would freeze the evidence for as long as the
    /// clocks disagree, so it is taken for a clock error: the future-dated evidence is dropped
    /// (`clock_skew` says so) and counting starts again from this refresh.
    pub fn observe(&mut self, matched: &MatchedSnapshot<'_>) {
        let at = matched.snapshot.taken_at;
        match self.last_observed_at {
            Some(last) if last - at > CLOCK_SKEW_TOLERANCE => {
                self.discard_after(at);
                self.clock_skew = Some(ClockSkew { recorded: last, observed: at });
            }
            Some(last) if at <= last => return,
            _ => {}
        }
        self.last_observed_at = Some(at);
        let stale_vms_forgotten = self.observe_sets(matched, at);
        let every_target_listed = self.observe_targets(matched, at);
        // A pass over 50,000 records reads them from memory, not the cache: a sweep the passes
        // above have done already is skipped.
        self.forget_stale(at, !every_target_listed, !stale_vms_forgotten);
    }

    /// True when the stale VM records are gone already (see `observe_vms`).
    fn observe_sets(&mut self, matched: &MatchedSnapshot<'_>, at: OffsetDateTime) -> bool {
        let mut switched: Vec<&ScaleSetKey> = Vec::new();
        let mut listed = Vec::new();
        for set in &matched.sets {
            let (Ok(listing), Some(progress), Some(verdict)) = (set.listing, set.progress, &set.completeness)
            else {
                continue;
            };
            let record = self.scale_sets.entry(super::text::set_id(set.key)).or_insert(SetRecord {
                unsteady_since: None,
                last_listed: at,
                mode: None,
                mode_change: None,
            });
            record.last_listed = at;
            let mode = listing.state.orchestration_mode;
            if let Some(before) = record.mode.filter(|before| *before != mode) {
                record.mode_change = Some(ModeChange { from: before, to: mode, at });
                switched.push(set.key);
            }
            record.mode = Some(mode);
            record.unsteady_since =
                if progress.is_steady() { None } else { record.unsteady_since.or(Some(at)) };
            listed.push(ListedSet {
                key: set.key,
                shared_key: set.shared_key(),
                listing,
                proven: verdict.is_proven(),
                switched: switched.last() == Some(&set.key),
                vm_keys: prefetch::ahead(listing.instances.iter(), |vm| prefetch::vm_key_text(vm))
                    .map(vm_key)
                    .collect(),
            });
        }
        let stale_vms_forgotten = self.observe_vms(listed, matched.plain_listings(), at);
        // The old set's evidence proves nothing about the new one: counting starts again.
        for target in self.targets.values_mut().filter(|_| !switched.is_empty()) {
            // A target never matched may have run on any set, the switched one among them.
            if target.last_vm.as_ref().is_none_or(|vm| switched.contains(&&*vm.scale_set)) {
                target.absence = None;
            }
        }
        stale_vms_forgotten
    }

    /// True when every record left is of a target listed now (the target listing succeeded).
    fn observe_targets(&mut self, matched: &MatchedSnapshot<'_>, at: OffsetDateTime) -> bool {
        if !matched.target_listing_ok() {
            return false;
        }
        let Some(positions) = matched.target_positions() else {
            // A target id listed twice: each of its targets is observed in turn, as listed.
            self.observe_targets_as_listed(matched, at);
            return true;
        };
        // One pass over the records: a target gone from a successful listing was deleted (its
        // evidence has served), a listed one is observed; the targets left are new.
        let mut recorded = vec![false; matched.targets.len()];
        // Each record's target, and where the record's own text is (its name, its last VM's
        // ids), found before the records are visited: what observing a record a few places on
        // reads is asked for while one is observed. Records and targets are in different orders,
        // so at 50,000 targets each would otherwise wait on main memory.
        let order: Vec<(Option<usize>, [Option<prefetch::Later>; 3])> = self
            .targets
            .iter()
            .map(|(id, record)| {
                let vm = record.last_vm.as_ref();
                let text = [
                    Some(prefetch::Later::text(&record.name)),
                    vm.map(|vm| prefetch::Later::text(&vm.instance_id)),
                    vm.and_then(|vm| vm.vm_id.as_deref()).map(prefetch::Later::text),
                ];
                (positions.get(id), text)
            })
            .collect();
        let mut visiting = 0;
        self.targets.retain(|_, record| {
            if let Some((Some(position), _)) = order.get(visiting + 2 * prefetch::AHEAD) {
                matched.prefetch_target(*position, prefetch::Stage::Records);
            }
            if let Some((position, text)) = order.get(visiting + prefetch::AHEAD) {
                if let Some(position) = position {
                    matched.prefetch_target(*position, prefetch::Stage::Text);
                }
                text.iter().flatten().for_each(|later| later.ask());
            }
            let position = order[visiting].0;
            visiting += 1;
            match position {
                Some(position) => {
                    recorded[position] = true;
                    observe_target(record, &matched.targets[position], matched, at);
                    true
                }
                None => false,
            }
        });
        for (target, _) in matched.targets.iter().zip(recorded).filter(|(_, recorded)| !recorded) {
            let mut record = TargetRecord::new(target, at);
            observe_target(&mut record, target, matched, at);
            self.targets.insert(target.id.clone(), record);
        }
        true
    }

    fn observe_targets_as_listed(&mut self, matched: &MatchedSnapshot<'_>, at: OffsetDateTime) {
        let listed: FastSet<&str> = matched.targets.iter().map(|t| t.id.as_str()).collect();
        // A target gone from a successful listing was deleted: its evidence has served.
        self.targets.retain(|id, _| listed.contains(id.as_str()));
        for target in matched.targets.iter() {
            // get_mut first: at 10,000 targets, cloning every id for `entry` shows in the profile.
            if !self.targets.contains_key(&target.id) {
                self.targets.insert(target.id.clone(), TargetRecord::new(target, at));
            }
            let Some(record) = self.targets.get_mut(&target.id) else { continue };
            observe_target(record, target, matched, at);
        }
    }

    /// Nothing recorded after `at` is believed: absence streaks reaching past it are dropped (no
    /// evidence is granted by a wrong clock) and later sightings are moved back to `at`.
    fn discard_after(&mut self, at: OffsetDateTime) {
        let clamp = |time: &mut OffsetDateTime| *time = (*time).min(at);
        for target in self.targets.values_mut() {
            clamp(&mut target.last_listed);
            for vm in target.last_vm.iter_mut().chain(target.replaced_vm.as_deref_mut()) {
                clamp(&mut vm.seen_at);
            }
            if target.absence.as_ref().is_some_and(|streak| streak.latest > at) {
                target.absence = None;
            }
        }
        for vm in self.vms.values_mut() {
            clamp(&mut vm.first_seen);
            clamp(&mut vm.last_seen);
        }
        for set in self.scale_sets.values_mut() {
            clamp(&mut set.last_listed);
            if let Some(since) = set.unsteady_since.as_mut() {
                clamp(since);
            }
        }
        self.last_observed_at = None;
    }

    /// Drops the records not refreshed for `FORGET_AFTER`: the targets' and the VMs' only where
    /// asked (a record refreshed at `at` is fresh).
    fn forget_stale(&mut self, at: OffsetDateTime, targets: bool, vms: bool) {
        let fresh = fresh_at(at);
        // Looked for before anything is swept: most refreshes forget nothing.
        if targets && !self.targets.values().all(|t| fresh(t.last_listed)) {
            self.targets.retain(|_, t| fresh(t.last_listed));
        }
        if vms && !self.vms.values().all(|v| fresh(v.last_seen)) {
            self.vms.retain(|_, v| fresh(v.last_seen));
        }
        self.scale_sets.retain(|_, s| fresh(s.last_listed));
    }
}

/// Is a record last refreshed at `seen` still kept at `at` (`at - seen <= FORGET_AFTER`)? One
/// subtraction per refresh rather than per record (none is older than the earliest time there is).
pub(super) fn fresh_at(at: OffsetDateTime) -> impl Fn(OffsetDateTime) -> bool + Copy {
    let oldest = at.checked_sub(FORGET_AFTER);
    move |seen| oldest.is_none_or(|oldest| seen >= oldest)
}
