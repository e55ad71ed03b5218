//! Notes: what a person should know and the tool will not act on.

use super::history::{vm_key, History, TargetRecord};
use super::matched::MatchedSnapshot;
use super::text::{duration, secs_between, set_id, short_id};
use crate::config::ReconcileConfig;
use crate::model::{Action, PlannedAction, PowerState, ProvisioningState, Severity};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub(super) fn note(
    id: String,
    severity: Severity,
    subject: String,
    reason: String,
    observations: Vec<String>,
) -> PlannedAction {
    PlannedAction { id, action: Action::Note { severity, subject }, reason, observations }
}

pub(crate) fn notes(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    now: OffsetDateTime,
    config: &ReconcileConfig,
    waits: &[PlannedAction],
) -> Vec<PlannedAction> {
    let mut out = Vec::new();
    read_failures(matched, &mut out);
    super::notes_evidence::unproven_listings(matched, &mut out);
    super::notes_evidence::unnamed_vms(matched, &mut out);
    super::notes_evidence::never_matched_held(matched, history, &mut out);
    super::notes_evidence::renamed_guests(matched, &mut out);
    super::notes_evidence::clock_skew(history, &mut out);
    super::notes_evidence::mode_changes(matched, history, now, config, &mut out);
    timed_out_waits(waits, &mut out);
    unregistered_vms(matched, history, now, config, &mut out);
    duplicates(matched, &mut out);
    target_findings(matched, history, config, &mut out);
    projects(matched, &mut out);
    sort(&mut out);
    out
}

/// Most severe first, then by id.
pub(super) fn sort(notes: &mut [PlannedAction]) {
    notes.sort_by(|a, b| severity_of(b).cmp(&severity_of(a)).then_with(|| a.id.cmp(&b.id)));
}

fn severity_of(action: &PlannedAction) -> Severity {
    match &action.action {
        Action::Note { severity, .. } => *severity,
        _ => Severity::Info,
    }
}

fn read_failures(matched: &MatchedSnapshot<'_>, out: &mut Vec<PlannedAction>) {
    for set in &matched.sets {
        match (set.listing, set.progress) {
            (Err(failure), _) => out.push(note(
                format!("note:read-failed:{}", set_id(set.key)),
                Severity::Error,
                format!("listing of {} failed", set.key),
                format!("nothing will be deleted while the listing of {} fails", set.key),
                vec![failure.to_string()],
            )),
            (Ok(_), Some(progress)) if progress.is_implausibly_empty() => out.push(note(
                format!("note:empty-listing:{}", set_id(set.key)),
                Severity::Warning,
                format!("{} listed no VMs at capacity {}", set.key, progress.capacity),
                "an empty listing of a scale set that reports VMs is not believed: nothing will be deleted"
                    .into(),
                vec![],
            )),
            _ => {}
        }
    }
    if let Err(failure) = &matched.snapshot.targets {
        out.push(note(
            "note:read-failed:targets".into(),
            Severity::Error,
            "target listing failed".into(),
            "nothing will be deleted or deployed while the Octopus target listing fails".into(),
            vec![failure.to_string()],
        ));
    }
    if let Err(failure) = &matched.snapshot.projects {
        out.push(note(
            "note:read-failed:projects".into(),
            Severity::Error,
            "project listing failed".into(),
            "no deployment will be proposed while the projects and their deployments cannot be read".into(),
            vec![failure.to_string()],
        ));
    }
    if matched.snapshot.environment_id.is_none() {
        // Unresolved because Octopus could not be read (an unset API key, say) is not "not found":
        // name the failed read instead.
        let reason = match &matched.snapshot.targets {
            Err(failure) => format!("the configured environment could not be looked up: {failure}"),
            Ok(_) => {
                "the configured environment was not found in Octopus: no deployment will be proposed".into()
            }
        };
        out.push(note(
            "note:environment-unresolved".into(),
            Severity::Error,
            "environment not resolved".into(),
            reason,
            vec![],
        ));
    }
}

fn timed_out_waits(waits: &[PlannedAction], out: &mut Vec<PlannedAction>) {
    for wait in waits {
        if let Action::Wait { scale_set, timed_out: true, waiting_secs, .. } = &wait.action {
            out.push(note(
                format!("note:wait-timed-out:{}", set_id(scale_set)),
                Severity::Warning,
                format!("{scale_set} provisioning for {}", duration(*waiting_secs)),
                wait.reason.clone(),
                wait.observations.clone(),
            ));
        }
    }
}

fn unregistered_vms(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    now: OffsetDateTime,
    config: &ReconcileConfig,
    out: &mut Vec<PlannedAction>,
) {
    if !matched.target_listing_ok() {
        return;
    }
    for set in &matched.sets {
        for instance in set.instances() {
            // An AWS warm-pool instance may well not have registered yet: it is not in service.
            if instance.provisioning_state != ProvisioningState::Succeeded
                || instance.is_warm_pool()
                || matched.is_registered(instance)
            {
                continue;
            }
            let Some(vm) = history.vm(instance) else { continue };
            let age = secs_between(vm.first_seen, now);
            if age < config.unregistered_after_secs {
                continue;
            }
            let name = instance.computer_name.as_deref().unwrap_or(&instance.name);
            out.push(note(
                format!("note:unregistered:{}", vm_key(instance)),
                Severity::Warning,
                format!("{name} has no target"),
                format!(
                    "VM {name} ({} instance {}) has had no Octopus target for {}: its tentacle never registered",
                    set.key,
                    instance.instance_id,
                    duration(age)
                ),
                vec![format!("power {}, provisioning {}", instance.power_state, instance.provisioning_state)],
            ));
        }
    }
}

fn duplicates(matched: &MatchedSnapshot<'_>, out: &mut Vec<PlannedAction>) {
    for (name, ids) in &matched.matching.duplicate_target_names {
        out.push(note(
            format!("note:duplicate-target-name:{name}"),
            Severity::Warning,
            format!("{} targets named {name}", ids.len()),
            "several targets share one name; none of them is deleted while the name matches a VM".into(),
            vec![ids.join(", ")],
        ));
    }
    for (name, refs) in &matched.matching.duplicate_instance_names {
        let vms: Vec<String> =
            refs.iter().map(|r| format!("{} instance {}", r.scale_set, r.instance_id)).collect();
        out.push(note(
            format!("note:duplicate-vm-name:{name}"),
            Severity::Warning,
            format!("{} VMs named {name}", refs.len()),
            "several VMs share one name: a target with that name cannot be told apart".into(),
            vec![vms.join(", ")],
        ));
    }
    let mut by_thumbprint: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for target in matched.targets.iter() {
        if let Some(thumbprint) = target.thumbprint.as_ref().or(target.endpoint.thumbprint.as_ref()) {
            by_thumbprint.entry(thumbprint.to_ascii_uppercase()).or_default().push(&target.id);
        }
    }
    for (thumbprint, ids) in by_thumbprint.into_iter().filter(|(_, ids)| ids.len() > 1) {
        out.push(note(
            format!("note:duplicate-thumbprint:{thumbprint}"),
            Severity::Warning,
            format!("{} targets share thumbprint {}", ids.len(), short_id(&thumbprint)),
            "a reused thumbprint (a cloned image?) makes the tentacles indistinguishable to Octopus".into(),
            vec![ids.join(", ")],
        ));
    }
}

fn target_findings(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    config: &ReconcileConfig,
    out: &mut Vec<PlannedAction>,
) {
    // Only a recorded absence or a replaced VM is noted: the other records are not looked up.
    let noted = |record: &TargetRecord| record.absence.is_some() || record.replaced_vm.is_some();
    for (target, record) in matched.targets.iter().zip(history.records_of(matched, noted)) {
        if target.disabled {
            out.push(note(
                format!("note:disabled:{}", target.id),
                Severity::Info,
                format!("{} is disabled", target.name),
                "a disabled target in scope receives no deployment; it is still deleted if its VM is gone"
                    .into(),
                vec![],
            ));
            continue;
        }
        if let Some((found, instance)) = matched.vm_of_target(target) {
            // A VM being deleted takes its tentacle with it: nothing to check.
            let going = instance.provisioning_state == ProvisioningState::Deleting;
            if !going && (!target.health.is_deployable() || instance.power_state != PowerState::Running) {
                out.push(note(
                    format!("note:unreachable:{}", target.id),
                    Severity::Warning,
                    format!("{}: VM present, tentacle unreachable", target.name),
                    "the VM still exists, so the target is kept; check the VM and its tentacle".into(),
                    vec![format!(
                        "{} instance {}: power {}, provisioning {}; target health {}",
                        found.scale_set,
                        found.instance_id,
                        instance.power_state,
                        instance.provisioning_state,
                        target.health
                    )],
                ));
            }
        }
        let Some(record) = record else { continue };
        // Asked only of a recorded absence: for a target whose VM is present, the rule's answer
        // is a sentence built for nobody.
        let not_yet = || super::deletes::delete_evidence(matched, history, target, config).err();
        if let Some((streak, why)) = record.absence.as_ref().and_then(|streak| Some((streak, not_yet()?))) {
            out.push(note(
                format!("note:absent:{}", target.id),
                Severity::Info,
                format!("{}: VM absent", target.name),
                format!(
                    "its VM is missing from {} complete listing(s) over {}; it is deleted after {} over {}",
                    streak.listings,
                    duration(streak.span_secs()),
                    config.absent_observations.max(1),
                    duration(config.absent_grace_secs)
                ),
                vec![
                    format!("absent since {}", super::text::clock(streak.first)),
                    format!("not deleted: {why}"),
                ],
            ));
        }
        if let (Some(old), Some(new)) = (&record.replaced_vm, &record.last_vm) {
            let id = |vm: &Option<String>| vm.as_deref().map(short_id).unwrap_or_else(|| "unknown".into());
            out.push(note(
                format!("note:vm-replaced:{}", target.id),
                Severity::Warning,
                format!("{} now runs on a different VM", target.name),
                "its name now matches a new VM (instance id reused, or the server reports another vmId): a \
                 deployment that reached this target before still counts, so the release is not deployed to it \
                 again automatically; deploy it in Octopus if the new VM lacks it"
                    .into(),
                vec![format!(
                    "instance {} vmId {} last seen {}; now instance {} vmId {}",
                    old.instance_id,
                    id(&old.vm_id),
                    super::text::clock(old.seen_at),
                    new.instance_id,
                    id(&new.vm_id)
                )],
            ));
        }
    }
}

fn projects(matched: &MatchedSnapshot<'_>, out: &mut Vec<PlannedAction>) {
    let Ok(projects) = &matched.snapshot.projects else { return };
    super::tenants::notes(matched, out);
    // A Tenanted project has no untenanted release by design; its tenants are noted above.
    let untenanted = |p: &&crate::snapshot::ProjectState| p.tenanted_mode.allows_untenanted();
    for project in projects.iter().filter(untenanted).filter(|p| p.latest_release.is_none()) {
        out.push(note(
            format!("note:never-deployed:{}", project.project_id),
            Severity::Info,
            format!("{} never deployed here", project.project_name),
            "the project has no successful deployment to the environment: nothing to redeploy to new targets"
                .into(),
            vec![],
        ));
    }
}
