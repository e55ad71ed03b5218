//! Deploys: the current release of each configured project to the targets that lack it, once the
//! scale set is steady (invariant 3). Pre-existing targets are left alone; a target already covered
//! by a queued or running deployment of the release is skipped, which is how a duplicate trigger
//! run is absorbed. A target whose name is not unique is held (never resolved), and the whole
//! rollout waits while another release's deployment to the environment is in flight.
//!
//! Each project deploys per lane (`tenants`): the untenanted release to untenanted targets, and
//! each connected tenant's own current release to the targets connected to it, one deployment per
//! tenant; "has it" and "already covered" count only that tenant's deployments.

use super::history::History;
use super::inventory::Inventory;
use super::tenants::Lane;
use super::text::{capped, stable_hash};
use crate::matching::normalize_name;
use crate::model::{
    Action, Deployment, PlannedAction, PowerState, ProvisioningState, Release, Target, TaskState,
};
use crate::snapshot::{InFlightDeployment, ProjectState};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// Did a successful deployment of `release_id` in this lane reach the target on the VM it runs on
/// now?
pub(crate) fn has_release(lane: &Lane<'_>, release_id: &str, target_id: &str, history: &History) -> bool {
    ReleaseIndex::new(lane, release_id).has_release(target_id, history)
}

/// The successful deployments of one release by the targets they reached, so that checking
/// 10,000 targets against deployments that reached 10,000 is not quadratic.
struct ReleaseIndex<'p> {
    reached: HashMap<&'p str, Vec<Option<OffsetDateTime>>>,
}

impl<'p> ReleaseIndex<'p> {
    fn new(lane: &Lane<'p>, release_id: &str) -> Self {
        let mut reached: HashMap<&'p str, Vec<Option<OffsetDateTime>>> = HashMap::new();
        let successful = lane
            .deployments()
            .filter(|d| d.release_id == release_id && d.task_state == Some(TaskState::Success));
        for deployment in successful {
            for target_id in &deployment.deployed_to_machine_ids {
                reached.entry(target_id.as_str()).or_default().push(deployment.created);
            }
        }
        Self { reached }
    }

    fn has_release(&self, target_id: &str, history: &History) -> bool {
        let Some(created) = self.reached.get(target_id) else { return false };
        // A target whose name now matches a different VM (a reused instance id) is a new VM: only
        // a deployment made after the old VM was last seen can have reached it.
        let cutoff = history.target(target_id).and_then(|r| r.replaced_vm.as_ref()).map(|old| old.seen_at);
        // Unknown creation time: count it, preferring a missed redeploy to a duplicate one.
        created.iter().any(|c| cutoff.is_none_or(|cutoff| c.is_none_or(|created| created > cutoff)))
    }
}

/// A deployment of the release in this lane that is queued or running (or in an unknown state)
/// and covers the target.
pub(crate) fn active_deployment<'p>(
    lane: &Lane<'p>,
    release_id: &str,
    target_id: &str,
) -> Option<&'p Deployment> {
    active_deployments(lane, release_id).into_iter().find(|d| d.covers(target_id))
}

/// Deployments of the release in this lane that are queued or running; an unknown task state
/// counts as running, preferring a held deploy to a duplicate one.
fn active_deployments<'p>(lane: &Lane<'p>, release_id: &str) -> Vec<&'p Deployment> {
    lane.deployments()
        .filter(|d| d.release_id == release_id && d.task_state.is_none_or(|s| s.is_active()))
        .collect()
}

/// Why a target cannot receive a deployment now, if it cannot.
fn unfit_for_deploy(inventory: &Inventory<'_>, target: &Target) -> Option<&'static str> {
    if target.disabled {
        return Some("disabled");
    }
    if !target.health.is_deployable() {
        return Some("not healthy");
    }
    let Some((found, instance)) = inventory.vm_of(&target.id) else { return Some("no VM listed") };
    if instance.provisioning_state != ProvisioningState::Succeeded
        || instance.power_state != PowerState::Running
    {
        return Some("VM not provisioned and running");
    }
    if !inventory.set_is_steady(&found.scale_set) {
        return Some("scale set still provisioning");
    }
    None
}

/// The normalized name a target shares with another target or that two VMs share: such a
/// target cannot be told apart, so it is never deployed to (`matching` reports, never resolves).
pub(crate) fn ambiguous_name(inventory: &Inventory<'_>, target: &Target) -> Option<String> {
    let name = normalize_name(&target.name);
    let matching = &inventory.matching;
    (matching.duplicate_target_names.contains_key(&name)
        || matching.duplicate_instance_names.contains_key(&name))
    .then_some(name)
}

/// Hold the rollout while another release's deployment to the environment is in flight: when it
/// finishes the environment's release changes, and a deployment of the current one queued behind
/// it (Octopus runs one deployment per project and environment at a time) would take the new
/// targets back to the older release, or deploy twice what it already reaches.
fn wait_for(
    lane: &Lane<'_>,
    release: &Release,
    in_flight: &InFlightDeployment,
    new_targets: &[&Target],
) -> PlannedAction {
    let project = lane.project;
    let deployment = &in_flight.deployment;
    let state = deployment.task_state.map_or("state unknown", |s| s.as_str());
    let names: Vec<String> = new_targets.iter().map(|t| t.name.clone()).collect();
    let mut observations: Vec<String> = lane
        .other_releases_in_flight()
        .iter()
        .map(|other| {
            let d = &other.deployment;
            let scope = if d.specific_machine_ids.is_empty() {
                "the whole environment".to_string()
            } else {
                format!("{} target(s)", d.specific_machine_ids.len())
            };
            format!(
                "{} of {} to {scope}: {}",
                d.id,
                other.release_version,
                d.task_state.map_or("state unknown", |s| s.as_str())
            )
        })
        .collect();
    observations.extend(capped(vec![format!("held: {}", names.join(", "))]));
    PlannedAction {
        id: format!("wait:deployment:{}:{}", project.project_id, deployment.id),
        action: Action::WaitForDeployment {
            project_id: project.project_id.clone(),
            project_name: project.project_name.clone(),
            release_version: release.version.clone(),
            in_flight_version: in_flight.release_version.clone(),
            deployment_id: deployment.id.clone(),
            task_state: deployment.task_state,
            held_targets: new_targets.len(),
        },
        reason: format!(
            "{} {} is being deployed to the environment{} ({}, {state}): {} new target(s) wait for it \
             instead of getting {} now, which would queue behind it and could take them back to the older release",
            project.project_name,
            in_flight.release_version,
            lane.for_tenant(),
            deployment.id,
            new_targets.len(),
            release.version
        ),
        observations,
    }
}

pub(crate) fn deploys(inventory: &Inventory<'_>, history: &History) -> Vec<PlannedAction> {
    let (Ok(projects), Some(environment_id)) =
        (&inventory.snapshot.projects, &inventory.snapshot.environment_id)
    else {
        return Vec::new();
    };
    let mut sorted: Vec<&ProjectState> = projects.iter().collect();
    sorted.sort_by(|a, b| a.project_id.cmp(&b.project_id));
    sorted
        .into_iter()
        .flat_map(Lane::all)
        .filter_map(|lane| deploy_for(inventory, history, &lane, environment_id))
        .collect()
}

fn deploy_for(
    inventory: &Inventory<'_>,
    history: &History,
    lane: &Lane<'_>,
    environment_id: &str,
) -> Option<PlannedAction> {
    let project = lane.project;
    let release = lane.latest_release()?;
    let index = ReleaseIndex::new(lane, &release.id);
    let active = active_deployments(lane, &release.id);
    let mut new_targets: Vec<&Target> = Vec::new();
    let mut already_have = 0usize;
    let mut unfit: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut held: BTreeMap<String, Vec<&Target>> = BTreeMap::new();
    let mut observations = Vec::new();
    for target in inventory.targets.iter().filter(|t| lane.serves(t)) {
        if index.has_release(&target.id, history) {
            already_have += 1;
        } else if let Some(active) = active.iter().find(|d| d.covers(&target.id)) {
            let state = active.task_state.map_or("state unknown", |s| s.as_str());
            observations.push(format!("skipped {}: {} ({state}) already covers it", target.name, active.id));
        } else if let Some(name) = ambiguous_name(inventory, target) {
            held.entry(name).or_default().push(target);
        } else if let Some(why) = unfit_for_deploy(inventory, target) {
            *unfit.entry(why).or_default() += 1;
        } else {
            new_targets.push(target);
        }
    }
    if new_targets.is_empty() {
        return None;
    }
    if let Some(in_flight) = lane.other_releases_in_flight().first() {
        return Some(wait_for(lane, release, in_flight, &new_targets));
    }
    for (name, targets) in &held {
        let listed: Vec<String> = targets.iter().map(|t| format!("{} ({})", t.name, t.id)).collect();
        observations.push(format!(
            "held {}: the name {name} is not unique among targets and VMs, and duplicates are never resolved",
            listed.join(", ")
        ));
    }
    new_targets.sort_by(|a, b| a.id.cmp(&b.id));
    let mut listed = Vec::new();
    for target in &new_targets {
        let on = inventory
            .vm_of(&target.id)
            .map(|(found, _)| format!("{} instance {}", found.scale_set, found.instance_id));
        listed.push(format!(
            "{} ({}) on {}, {}: no successful deployment of {} reached it",
            target.name,
            target.id,
            on.unwrap_or_default(),
            target.health,
            release.version
        ));
    }
    let mut observations = capped(observations);
    observations.extend(capped(listed));
    observations.push(format!(
        "{already_have} target(s) already have {}{}",
        release.version,
        lane.for_tenant()
    ));
    if !unfit.is_empty() {
        let counts: Vec<String> = unfit.iter().map(|(why, count)| format!("{count} {why}")).collect();
        observations.push(format!("not deployable now: {}", counts.join(", ")));
    }
    let target_ids: Vec<String> = new_targets.iter().map(|t| t.id.clone()).collect();
    let reason = format!(
        "{} new target(s) lack {} {}{}: deploy it to them only",
        new_targets.len(),
        project.project_name,
        release.version,
        lane.for_tenant()
    );
    let tenant = lane.tenant_id().map_or(String::new(), |id| format!("{id}:"));
    Some(PlannedAction {
        id: format!(
            "deploy:{}:{tenant}{}:{}",
            project.project_id,
            release.id,
            stable_hash(target_ids.iter().map(String::as_str))
        ),
        action: Action::Deploy {
            project_id: project.project_id.clone(),
            project_name: project.project_name.clone(),
            release_id: release.id.clone(),
            release_version: release.version.clone(),
            environment_id: environment_id.to_string(),
            target_names: new_targets.iter().map(|t| t.name.clone()).collect(),
            target_ids,
            tenant: lane.tenant_ref(),
        },
        reason,
        observations,
    })
}
