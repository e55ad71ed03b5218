//! Notes on why absence evidence is withheld: a listing not proven complete, VMs whose name
//! cannot be read, a history dated in the future, a scale set found in another orchestration mode.

use super::history::History;
use super::matched::MatchedSnapshot;
use super::notes::note;
use super::text::{capped, set_id};
use crate::completeness::Doubt;
use crate::model::{PlannedAction, Severity};
use time::format_description::well_known::Rfc3339;

/// Why deletes are held for a set whose listing is not proven complete. A set still settling is
/// routine (information); a settled set with repeated entries is a server answer to look at.
pub(super) fn unproven_listings(matched: &MatchedSnapshot<'_>, out: &mut Vec<PlannedAction>) {
    for set in &matched.sets {
        let (Some(verdict), Some(progress)) = (&set.completeness, set.progress) else { continue };
        // The empty-listing note already says it (and more plainly).
        if verdict.is_proven() || progress.is_implausibly_empty() {
            continue;
        }
        let settling = verdict.doubts.iter().any(|d| matches!(d, Doubt::NotSettled(_)));
        let severity = if verdict.has_repeats() || !settling { Severity::Warning } else { Severity::Info };
        out.push(note(
            format!("note:unproven-listing:{}", set_id(set.key)),
            severity,
            format!("{} listing not proven complete", set.key),
            format!(
                "deletes are held: the listing of {} is not proven complete, so a VM missing from it may \
                 still exist (a lost page and a removed VM look the same while a set changes); targets are \
                 deleted only on absence from listings of the settled set",
                set.key
            ),
            verdict.doubts.iter().map(Doubt::to_string).collect(),
        ));
    }
}

/// VMs that match no target because their name cannot be read: shown, never taken for absent.
pub(super) fn unnamed_vms(matched: &MatchedSnapshot<'_>, out: &mut Vec<PlannedAction>) {
    for set in matched.sets.iter().filter(|s| !s.unnamed.is_empty()) {
        let lines = set
            .unnamed
            .iter()
            .map(|vm| {
                format!(
                    "instance {} ({}): provisioning {}, power {}; no osProfile.computerName or \
                     instanceView.computerName",
                    vm.instance_id, vm.name, vm.provisioning_state, vm.power_state
                )
            })
            .collect();
        out.push(note(
            format!("note:unnamed-vm:{}", set_id(set.key)),
            Severity::Warning,
            format!("{} VM(s) of {} without a readable name", set.unnamed.len(), set.key),
            format!(
                "a VM whose computer name cannot be read matches no target, so any target of {} (or never \
                 matched) whose VM is not found may run on it: such targets are not deleted",
                set.key
            ),
            capped(lines),
        ));
    }
}

/// VMs whose guest renamed its host: a target matches either name, and the operator sees both.
pub(super) fn renamed_guests(matched: &MatchedSnapshot<'_>, out: &mut Vec<PlannedAction>) {
    for set in &matched.sets {
        let lines: Vec<String> = set
            .instances()
            .iter()
            .filter_map(|vm| {
                let guest = vm.guest_computer_name.as_deref()?;
                let created = vm.computer_name.as_deref().unwrap_or("?");
                Some(format!(
                    "instance {}: created as {created} (osProfile), now {guest} (instance view)",
                    vm.instance_id
                ))
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        out.push(note(
            format!("note:renamed-guest:{}", set_id(set.key)),
            Severity::Info,
            format!("{} VM(s) of {} renamed in the guest", lines.len(), set.key),
            "the host name the VM reports differs from the one it was created with (a domain join or a hostname \
             script): a target registered under either name is matched to it"
                .into(),
            capped(lines),
        ));
    }
}

/// A set listed in another orchestration mode than before: said for the absence grace period
/// after the change, the time in which no delete of its targets can be planned because their
/// evidence started again.
pub(super) fn mode_changes(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    now: time::OffsetDateTime,
    config: &crate::config::ReconcileConfig,
    out: &mut Vec<PlannedAction>,
) {
    let window = time::Duration::seconds(i64::try_from(config.absent_grace_secs).unwrap_or(i64::MAX));
    for set in &matched.sets {
        let Some(change) = history.set(set.key).and_then(|record| record.mode_change.as_ref()) else {
            continue;
        };
        if now - change.at >= window {
            continue;
        }
        let key = set.key;
        let path = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            key.subscription_id, key.resource_group, key.name
        );
        out.push(note(
            format!("note:mode-changed:{}", set_id(set.key)),
            Severity::Warning,
            format!("{} changed from {} to {} orchestration", set.key, change.from, change.to),
            format!(
                "the scale set {} (GET {path}) was {} when last listed and is {} now; Azure cannot switch \
                 a set's mode, so it was created again or the profile points at another set: the absence \
                 evidence gathered on the old set was dropped, and its targets are deleted only once absent \
                 from enough complete listings of this set, counted from {}",
                set.key,
                change.from,
                change.to,
                change.at.format(&Rfc3339).unwrap_or_else(|_| change.at.to_string())
            ),
            vec![],
        ));
    }
}

/// Targets never matched to a VM are held while a listed VM has no target: say which, and why.
pub(super) fn never_matched_held(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    out: &mut Vec<PlannedAction>,
) {
    let untargeted: Vec<String> = matched
        .sets
        .iter()
        .flat_map(|set| set.untargeted.iter().map(move |vm| (set.key, vm)))
        .map(|(key, vm)| {
            let name = vm.computer_name.as_deref().unwrap_or(&vm.name);
            format!("{key} instance {} ({name}, {}) has no target", vm.instance_id, vm.provisioning_state)
        })
        .collect();
    if untargeted.is_empty() {
        return;
    }
    let held_targets: Vec<_> = matched
        .targets
        .iter()
        .filter(|t| matched.instance_of_target(t).is_none())
        .filter(|t| history.target(&t.id).is_none_or(|r| r.last_vm.is_none()))
        .collect();
    if held_targets.is_empty() {
        return;
    }
    // The subject names the targets (the first few), as every note's subject does.
    let names: Vec<&str> = held_targets.iter().take(3).map(|t| t.name.as_str()).collect();
    let more = held_targets.len().saturating_sub(names.len());
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let held: Vec<String> = held_targets.iter().map(|t| format!("held: {} ({})", t.name, t.id)).collect();
    let mut observations = capped(held);
    observations.extend(capped(untargeted));
    out.push(note(
        "note:never-matched-held".into(),
        Severity::Warning,
        format!("{}{more} never matched to a VM: not deleted", names.join(", ")),
        "deletes are held: a target never matched to a VM may run on a listed VM that has no target, under \
         a name not seen (a host renamed in the guest, another `match` setting, an odd character), so it is \
         deleted only once every listed VM has a target"
            .into(),
        observations,
    ));
}

pub(super) fn clock_skew(history: &History, out: &mut Vec<PlannedAction>) {
    let Some(skew) = &history.clock_skew else { return };
    let time = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    out.push(note(
        "note:clock-skew".into(),
        Severity::Warning,
        "observation history dated in the future".into(),
        format!(
            "the history was last observed at {}, after this refresh ({}): a clock is wrong (this \
             machine's or the one that wrote the history); evidence dated after {} was discarded and \
             absence counting starts again",
            time(skew.recorded),
            time(skew.observed),
            time(skew.observed)
        ),
        vec![],
    ));
}
