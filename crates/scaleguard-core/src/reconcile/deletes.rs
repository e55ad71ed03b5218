//! Deletes: a target whose VM is gone (scale-in, an overprovisioning extra, deleted by hand).
//!
//! Invariant 1: only after its VM was absent from `absent_observations` consecutive listings proven
//! complete (`completeness`) spanning `absent_grace_secs`, the current listing among them. A VM
//! whose name cannot be read holds the deletes of its set's unmatched targets. Invariant 2: an empty
//! listing is evidence only when the set reports capacity 0, and then the delete needs a
//! confirmation. A VM that is present in any state (stopped, deallocated, Deleting) keeps its
//! target: an unreachable tentacle is a note, never a delete. A target last seen on a scale set that
//! is no longer configured is never deleted (a config change is not evidence). Disabled targets follow the same rule:
//! disabling does not make a VM exist, and a stale disabled target still clutters the environment.

use super::history::{History, TargetRecord};
use super::matched::MatchedSnapshot;
use super::text::{clock, duration, short_id};
use crate::config::ReconcileConfig;
use crate::model::{Action, PlannedAction, Target};

/// Why a target may be deleted now, or why not (in words, for `still_valid`).
pub(crate) struct DeleteEvidence<'h> {
    pub record: &'h TargetRecord,
    pub listings: u32,
    pub span_secs: u64,
    pub requires_confirmation: bool,
}

pub(crate) fn delete_evidence<'h>(
    matched: &MatchedSnapshot<'_>,
    history: &'h History,
    target: &Target,
    config: &ReconcileConfig,
) -> Result<DeleteEvidence<'h>, String> {
    if let Some((found, _)) = matched.vm_of(&target.id) {
        return Err(format!("its VM (instance {}) is present", found.instance_id));
    }
    let record = history.target(&target.id);
    let last_set = record.and_then(|r| r.last_vm.as_ref()).map(|vm| &vm.scale_set);
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
    let last_set = record.last_vm.as_ref().map(|vm| &vm.scale_set);
    Ok(DeleteEvidence {
        record,
        listings: streak.listings,
        span_secs: streak.span_secs(),
        requires_confirmation: matched.listing_is_empty_at_capacity_zero(last_set),
    })
}

pub(crate) fn deletes(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    config: &ReconcileConfig,
) -> Vec<PlannedAction> {
    matched
        .targets
        .iter()
        .filter_map(|target| {
            let evidence = delete_evidence(matched, history, target, config).ok()?;
            Some(proposal(target, &evidence, config))
        })
        .collect()
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
    }
    PlannedAction {
        id: format!("delete-target:{}", target.id),
        action: Action::DeleteTarget {
            target_id: target.id.clone(),
            target_name: target.name.clone(),
            last_instance_id: evidence.record.last_vm.as_ref().map(|vm| vm.instance_id.clone()),
            absent_observations: evidence.listings,
            absent_secs: evidence.span_secs,
            requires_confirmation: evidence.requires_confirmation,
        },
        reason,
        observations,
    }
}
