//! Deletes: a target whose VM is gone (scale-in, an overprovisioning extra, deleted by hand).
//!
//! Invariant 1: only after its VM was absent from `absent_observations` consecutive listings proven
//! complete (`completeness`) spanning `absent_grace_secs`, the current listing among them. "Its
//! VM" is the VM it was matched to (by vmId, else instance id): while that VM is listed the target
//! stays, whatever its name says now. A target never matched to a VM is held while any listed VM
//! has no target (it may be that VM's, under a name not seen), and a VM whose name cannot be read
//! holds the deletes of its set's unmatched targets. Invariant 2: an empty listing is evidence only
//! when the set reports capacity 0, and then the delete needs a confirmation; so does a plan that
//! deletes every target of a set. A VM that is present in any state (stopped, deallocated, Deleting) keeps its
//! target: an unreachable tentacle is a note, never a delete. A target last seen on a scale set that
//! is no longer configured is never deleted (a config change is not evidence). Disabled targets follow the same rule:
//! disabling does not make a VM exist, and a stale disabled target still clutters the environment.

use super::history::{History, TargetRecord};
use super::matched::MatchedSnapshot;
use super::text::{clock, duration, short_id};
use crate::config::ReconcileConfig;
use crate::folded::{FastMap, HashMapExt};
use crate::model::{Action, PlannedAction, ScaleSetKey, Target};
use std::collections::HashMap;

/// Why a target may be deleted now, or why not (in words, for `still_valid`).
pub(crate) struct DeleteEvidence<'h> {
    pub record: &'h TargetRecord,
    pub listings: u32,
    pub span_secs: u64,
    pub requires_confirmation: bool,
    /// Set by the plan: with the other deletes, this one removes every target of that set.
    pub deletes_every_target_of: Option<String>,
}

pub(crate) fn delete_evidence<'h>(
    matched: &MatchedSnapshot<'_>,
    history: &'h History,
    target: &Target,
    config: &ReconcileConfig,
) -> Result<DeleteEvidence<'h>, String> {
    if let Some((found, _)) = matched.vm_of_target(target) {
        return Err(format!("its VM (instance {}) is present", found.instance_id));
    }
    let record = history.target(&target.id);
    let last_vm = record.and_then(|r| r.last_vm.as_ref());
    if let Some(listed) = last_vm.and_then(|vm| matched.listed_vm(vm)) {
        // Matched once, its VM is listed still: only its name no longer matches (renamed, or
        // `match` changed). A target goes only with the VM it stood for.
        return Err(format!(
            "the VM it was matched to (instance {}{}) is still listed, though its name no longer matches",
            listed.instance_id,
            listed.vm_id.as_deref().map(|id| format!(", vmId {}", short_id(id))).unwrap_or_default()
        ));
    }
    let last_set = last_vm.map(|vm| &*vm.scale_set);
    if let Some(doubt) = matched.absence_doubt(last_set) {
        return Err(doubt.to_string());
    }
    let record = record.ok_or("no observation of it is on record")?;
    let streak = record.absence.as_ref().ok_or("no absence of its VM is on record")?;
    if streak.latest != matched.snapshot.taken_at {
        return Err("the current listing has not been recorded in the history".into());
    }
    if let Some(vm) = record.last_vm.as_ref().filter(|vm| matched.set(&vm.scale_set).is_none()) {
        // Taking a set out of the config must not read as "all its VMs are gone".
        return Err(format!("its VM was last seen on {}, which is no longer configured", vm.scale_set));
    }
    let needed = config.absent_observations.max(1);
    if streak.listings < needed {
        return Err(format!("absent from {} of the {needed} complete listings required", streak.listings));
    }
    if streak.span_secs() < config.absent_grace_secs {
        return Err(format!(
            "absent for {} of the {} grace period",
            duration(streak.span_secs()),
            duration(config.absent_grace_secs)
        ));
    }
    let last_set = record.last_vm.as_ref().map(|vm| &*vm.scale_set);
    Ok(DeleteEvidence {
        record,
        listings: streak.listings,
        span_secs: streak.span_secs(),
        requires_confirmation: matched.listing_is_empty_at_capacity_zero(last_set),
        deletes_every_target_of: None,
    })
}

pub(crate) fn deletes(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    config: &ReconcileConfig,
) -> Vec<PlannedAction> {
    // A target whose VM is present is never deleted: skipped before the rule words why not.
    let mut proposals: Vec<(&Target, DeleteEvidence<'_>)> = matched
        .targets
        .iter()
        .filter(|target| matched.vm_of_target(target).is_none())
        .filter_map(|target| Some((target, delete_evidence(matched, history, target, config).ok()?)))
        .collect();
    let everything = every_target_of_a_set(matched, history, &proposals);
    for (target, evidence) in &mut proposals {
        if let Some(set) = everything.get(target.id.as_str()) {
            evidence.deletes_every_target_of = Some(set.clone());
        }
    }
    proposals.iter().map(|(target, evidence)| proposal(target, evidence, config)).collect()
}

/// The set a target is on: the one its VM is matched on now, else the one it was last seen on;
/// None for a target never matched to a VM.
fn set_of<'i>(
    matched: &'i MatchedSnapshot<'_>,
    history: &'i History,
    target: &Target,
) -> Option<&'i ScaleSetKey> {
    let now = matched.instance_of_target(target).map(|found| matched.key_of(found));
    now.or_else(|| history.target(&target.id).and_then(|r| r.last_vm.as_ref()).map(|vm| &*vm.scale_set))
}

/// Target id → what it empties ("every target of rg/web", "every target in scope") for each
/// proposed delete that, with the others, removes every in-scope target of its set, or every
/// in-scope target at all: a plan that empties a set needs the typed confirmation, as one at
/// capacity 0 does (a mismatch between names and VMs looks exactly like this).
fn every_target_of_a_set<'t>(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    proposals: &[(&'t Target, DeleteEvidence<'_>)],
) -> HashMap<&'t str, String> {
    let mut out = HashMap::new();
    if proposals.is_empty() {
        return out;
    }
    let mut of_set: FastMap<&ScaleSetKey, (usize, Vec<&'t str>)> = FastMap::new();
    for target in matched.targets.iter() {
        if let Some(key) = set_of(matched, history, target) {
            of_set.entry(key).or_default().0 += 1;
        }
    }
    for (target, _) in proposals {
        if let Some(entry) = set_of(matched, history, target).and_then(|key| of_set.get_mut(key)) {
            entry.1.push(&target.id);
        }
    }
    for (key, (total, deleted)) in of_set {
        if total > 0 && deleted.len() == total {
            out.extend(deleted.into_iter().map(|id| (id, format!("every target of {key}"))));
        }
    }
    if !proposals.is_empty() && proposals.len() == matched.targets.len() {
        for (target, _) in proposals {
            out.entry(target.id.as_str()).or_insert_with(|| "every target in scope".to_string());
        }
    }
    out
}

fn proposal(target: &Target, evidence: &DeleteEvidence<'_>, config: &ReconcileConfig) -> PlannedAction {
    let mut observations = Vec::new();
    if let Some(streak) = &evidence.record.absence {
        observations.push(format!(
            "absent from {} complete listings between {} and {}",
            streak.listings,
            clock(streak.first),
            clock(streak.latest)
        ));
    }
    match &evidence.record.last_vm {
        Some(vm) => observations.push(format!(
            "last matched to {} instance {}{}, last seen {}",
            vm.scale_set,
            vm.instance_id,
            vm.vm_id.as_deref().map(|id| format!(" (vmId {})", short_id(id))).unwrap_or_default(),
            clock(vm.seen_at)
        )),
        None => observations.push("never matched to a VM while observed".into()),
    }
    observations.push(format!(
        "target health {}{}",
        target.health,
        if target.disabled { ", disabled" } else { "" }
    ));
    let mut reason = format!(
        "the VM of {} is gone: absent from {} complete listings over {} (rule: {} over {})",
        target.name,
        evidence.listings,
        duration(evidence.span_secs),
        config.absent_observations.max(1),
        duration(config.absent_grace_secs)
    );
    if evidence.requires_confirmation {
        observations.push("the scale set lists no VMs and reports capacity 0".into());
        reason.push_str("; the scale set is at capacity 0, so every target goes: confirm explicitly");
    } else if let Some(every) = &evidence.deletes_every_target_of {
        reason.push_str(&format!("; with the plan's other deletes this removes {every}: confirm explicitly"));
    }
    let requires_confirmation = evidence.requires_confirmation || evidence.deletes_every_target_of.is_some();
    PlannedAction {
        id: format!("delete-target:{}", target.id),
        action: Action::DeleteTarget {
            target_id: target.id.clone(),
            target_name: target.name.clone(),
            last_instance_id: evidence.record.last_vm.as_ref().map(|vm| vm.instance_id.clone()),
            absent_observations: evidence.listings,
            absent_secs: evidence.span_secs,
            requires_confirmation,
        },
        reason,
        observations,
    }
}
