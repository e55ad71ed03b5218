//! Deploys: the current release of each configured project to the targets that lack it, once the
//! scale set is steady (invariant 3). Pre-existing targets are left alone; a target already covered
//! by a queued or running deployment of the release is skipped, which is how a duplicate trigger
//! run is absorbed. A target whose name is not unique is held (never resolved), as is one that a
//! successful deployment covered without saying which targets it reached (never redeployed on an
//! unknown), and the whole rollout waits while another release's deployment to the environment is
//! in flight.
//!
//! Each project deploys per lane (`tenants`): the untenanted release to untenanted targets, and
//! each connected tenant's own current release to the targets connected to it, one deployment per
//! tenant. Every rule above holds per lane: "reached", "covered", "unknown reach" and "another
//! release in flight" count only that lane's deployments.

use super::matched::MatchedSnapshot;
use super::target_positions::TargetPositions;
use super::tenants::Lane;
use super::text::{capped, capped_of, stable_hash};
use crate::folded::{FastMap, Folded, HashMapExt};
use crate::matching::normalize_name;
use crate::model::{
    same_octopus_id, Action, Deployment, PlannedAction, PowerState, ProvisioningState, Release, Severity,
    Target, TaskState,
};
use crate::snapshot::{InFlightDeployment, ProjectState};
use std::collections::BTreeMap;

/// What the successful deployments of a release say about one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach<'p> {
    /// This successful deployment reached it.
    Reached(&'p Deployment),
    /// This successful deployment covered it but the server did not say which targets it reached
    /// (no `DeployedToMachineIds`): it may have the release already.
    Unknown(&'p Deployment),
    NotReached,
}

/// Did a successful deployment of `release_id` in this lane reach the target? A target is taken to have the
/// release once one did, whatever VM it runs on now: a vmId that changes under the target (a
/// reused instance id, or a server that spells it differently) never causes a redeploy.
pub(crate) fn reach<'p>(lane: &Lane<'p>, release_id: &str, target_id: &str) -> Reach<'p> {
    ReleaseIndex::new(lane, release_id, None).reach(target_id, None)
}

/// The successful deployments of one release by the targets they reached, so that checking
/// 10,000 targets against deployments that reached 10,000 is not quadratic.
struct ReleaseIndex<'p> {
    reached: Reached<'p>,
    /// Successful deployments that did not say which targets they reached.
    unknown_reach: Vec<&'p Deployment>,
}

/// The first successful deployment reaching each target.
enum Reached<'p> {
    /// By the target's position among the snapshot's targets: asked in the targets' order, read
    /// in order, where a map by id would compare each target's id with a deployment's copy of it
    /// somewhere else in memory (at 50,000 targets, a wait on main memory for each).
    ByPosition { positions: &'p TargetPositions, deployments: Vec<Option<&'p Deployment>> },
    /// Keyed as Octopus compares ids (`same_octopus_id`).
    ById(FastMap<Folded<'p>, &'p Deployment>),
}

impl<'p> ReleaseIndex<'p> {
    /// `positions`: the snapshot's targets by id (and how many), when no id is listed twice.
    fn new(lane: &Lane<'p>, release_id: &str, positions: Option<(&'p TargetPositions, usize)>) -> Self {
        let mut reached = match positions {
            Some((positions, targets)) => Reached::ByPosition { positions, deployments: vec![None; targets] },
            None => Reached::ById(FastMap::new()),
        };
        let mut unknown_reach = Vec::new();
        let successful = lane.deployments().filter(|d| {
            same_octopus_id(&d.release_id, release_id) && d.task_state == Some(TaskState::Success)
        });
        for deployment in successful {
            let Some(ids) = &deployment.deployed_to_machine_ids else {
                unknown_reach.push(deployment);
                continue;
            };
            match &mut reached {
                Reached::ByPosition { positions, deployments } => {
                    // An id that is none of the targets' has no position, and no target to reach;
                    // one in another case is that target's (Octopus ids ignore case).
                    for position in ids.iter().flat_map(|id| positions.in_any_case(id)) {
                        deployments[position].get_or_insert(deployment);
                    }
                }
                Reached::ById(by_id) => {
                    by_id.reserve(ids.len());
                    for target_id in ids {
                        by_id.entry(Folded::borrowed(target_id)).or_insert(deployment);
                    }
                }
            }
        }
        Self { reached, unknown_reach }
    }

    /// `position`: where the target of `target_id` is among the snapshot's targets, when known.
    fn reach(&self, target_id: &str, position: Option<usize>) -> Reach<'p> {
        let reached = match &self.reached {
            Reached::ByPosition { positions, deployments } => position
                .or_else(|| positions.get(target_id))
                .and_then(|position| deployments.get(position).copied().flatten()),
            Reached::ById(by_id) => by_id.get(&Folded::borrowed(target_id)).copied(),
        };
        if let Some(deployment) = reached {
            return Reach::Reached(deployment);
        }
        match self.unknown_reach.iter().find(|d| d.covers(target_id)) {
            Some(deployment) => Reach::Unknown(deployment),
            None => Reach::NotReached,
        }
    }
}

/// The id of a lane's unknown-reach note: one per project, and one more per tenant lane.
fn unknown_reach_id(lane: &Lane<'_>) -> String {
    match lane.tenant_id() {
        Some(tenant) => format!("note:unknown-reach:{}:{tenant}", lane.project.project_id),
        None => format!("note:unknown-reach:{}", lane.project.project_id),
    }
}

/// The note for targets held because successful deployments did not say what they reached.
fn unknown_reach_note(lane: &Lane<'_>, release: &Release, held: &[(&Target, &Deployment)]) -> PlannedAction {
    let project = lane.project;
    let mut deployments: Vec<&str> = held.iter().map(|(_, d)| d.id.as_str()).collect();
    deployments.sort_unstable();
    deployments.dedup();
    let lines =
        held.iter().map(|(t, d)| format!("held: {} ({}), covered by {}", t.name, t.id, d.id)).collect();
    PlannedAction {
        id: unknown_reach_id(lane),
        action: Action::Note {
            severity: Severity::Warning,
            subject: format!(
                "{} target(s) may already have {} {}{}",
                held.len(),
                project.project_name,
                release.version,
                lane.for_tenant()
            ),
        },
        reason: format!(
            "{} of {} succeeded, but the server did not say which targets it reached (no DeployedToMachineIds, \
             as on Octopus 3.x): {} target(s) it covered are not deployed to, so none gets the release twice; \
             deploy them in Octopus if they lack it",
            deployments.join(", "),
            release.version,
            held.len()
        ),
        observations: capped(lines),
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
        .filter(|d| same_octopus_id(&d.release_id, release_id) && d.task_state.is_none_or(|s| s.is_active()))
        .collect()
}

/// Why a target cannot receive a deployment now, if it cannot.
fn unfit_for_deploy(matched: &MatchedSnapshot<'_>, target: &Target) -> Option<&'static str> {
    if target.disabled {
        return Some("disabled");
    }
    if !target.health.is_deployable() {
        return Some("not healthy");
    }
    let Some((found, instance)) = matched.vm_of_target(target) else { return Some("no VM listed") };
    if instance.is_warm_pool() {
        // An AWS warm-pool instance is not in service: it gets the release when it is launched
        // into the group (through Pending:Wait), never while it waits in the pool.
        return Some("in the warm pool");
    }
    if instance.provisioning_state != ProvisioningState::Succeeded
        || instance.power_state != PowerState::Running
    {
        return Some("VM not provisioned and running");
    }
    if !matched.set_is_steady(matched.key_of(found)) {
        return Some("scale set still provisioning");
    }
    None
}

/// The normalized name a target shares with another target or that two VMs share: such a
/// target cannot be told apart, so it is never deployed to (`matching` reports, never resolves).
pub(crate) fn ambiguous_name(matched: &MatchedSnapshot<'_>, target: &Target) -> Option<String> {
    let matching = &matched.matching;
    if matching.duplicate_target_names.is_empty() && matching.duplicate_instance_names.is_empty() {
        return None;
    }
    let name = normalize_name(&target.name);
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

/// Deploys (or waits for a deployment in flight) per project, and notes of targets held.
pub(crate) fn deploys(matched: &MatchedSnapshot<'_>) -> Vec<PlannedAction> {
    let (Ok(projects), Some(environment_id)) = (&matched.snapshot.projects, &matched.snapshot.environment_id)
    else {
        return Vec::new();
    };
    let mut sorted: Vec<&ProjectState> = projects.iter().collect();
    sorted.sort_by(|a, b| a.project_id.cmp(&b.project_id));
    sorted
        .into_iter()
        .flat_map(Lane::all)
        .flat_map(|lane| deploy_for(matched, &lane, environment_id))
        .collect()
}

/// The project's deploy (or the wait that replaces it) and its notes.
fn deploy_for(matched: &MatchedSnapshot<'_>, lane: &Lane<'_>, environment_id: &str) -> Vec<PlannedAction> {
    let project = lane.project;
    let Some(release) = lane.latest_release() else { return Vec::new() };
    let positions = matched.target_positions().map(|positions| (positions, matched.targets.len()));
    let index = ReleaseIndex::new(lane, &release.id, positions);
    let active = active_deployments(lane, &release.id);
    let mut new_targets: Vec<&Target> = Vec::new();
    let mut already_have = 0usize;
    let mut unfit: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut held: BTreeMap<String, Vec<&Target>> = BTreeMap::new();
    let mut unknown: Vec<(&Target, &Deployment)> = Vec::new();
    let mut observations = Vec::new();
    for (position, target) in matched.targets.iter().enumerate().filter(|(_, t)| lane.serves(t)) {
        let reach = index.reach(&target.id, Some(position));
        if let Reach::Reached(_) = reach {
            already_have += 1;
        } else if let Some(active) = active.iter().find(|d| d.covers(&target.id)) {
            let state = active.task_state.map_or("state unknown", |s| s.as_str());
            observations.push(format!("skipped {}: {} ({state}) already covers it", target.name, active.id));
        } else if let Reach::Unknown(deployment) = reach {
            unknown.push((target, deployment));
        } else if let Some(name) = ambiguous_name(matched, target) {
            held.entry(name).or_default().push(target);
        } else if let Some(why) = unfit_for_deploy(matched, target) {
            *unfit.entry(why).or_default() += 1;
        } else {
            new_targets.push(target);
        }
    }
    let mut out = Vec::new();
    if !unknown.is_empty() {
        out.push(unknown_reach_note(lane, release, &unknown));
    }
    if new_targets.is_empty() {
        return out;
    }
    if let Some(in_flight) = lane.other_releases_in_flight().first() {
        out.push(wait_for(lane, release, in_flight, &new_targets));
        return out;
    }
    for (name, targets) in &held {
        let listed: Vec<String> = targets.iter().map(|t| format!("{} ({})", t.name, t.id)).collect();
        observations.push(format!(
            "held {}: the name {name} is not unique among targets and VMs, and duplicates are never resolved",
            listed.join(", ")
        ));
    }
    new_targets.sort_by(|a, b| a.id.cmp(&b.id));
    let listed = new_targets.iter().map(|target| {
        let on = matched
            .vm_of_target(target)
            .map(|(found, _)| format!("{} instance {}", found.scale_set, found.instance_id));
        format!(
            "{} ({}) on {}, {}: no successful deployment of {} reached it",
            target.name,
            target.id,
            on.unwrap_or_default(),
            target.health,
            release.version
        )
    });
    let mut observations = capped(observations);
    observations.extend(capped_of(new_targets.len(), listed));
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
    if !unknown.is_empty() {
        observations.push(format!(
            "held {} target(s) a successful deployment may have reached (see note:unknown-reach:{})",
            unknown.len(),
            unknown_reach_id(lane)
        ));
    }
    out.push(PlannedAction {
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
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskState;
    use crate::reconcile::testkit::{deployment, project};
    use proptest::prelude::*;

    proptest! {
        /// Indexed by the targets' positions or by id, every target gets the same answer: the
        /// first successful deployment of the release that reached it, a deployment that did not
        /// say what it reached, or none. Ids reached that no target has are passed over.
        #[test]
        fn reach_by_position_is_reach_by_id(
            targets in 1..12usize,
            reached in proptest::collection::vec(
                (proptest::option::of(proptest::collection::vec(0..16usize, 0..8)), any::<bool>(), any::<bool>()),
                0..5,
            ),
        ) {
            let mut state = project("Projects-1", Some("Releases-1"));
            state.deployments = reached
                .iter()
                .enumerate()
                .map(|(at, (said, succeeded, this_release))| {
                    let ids: Vec<String> = said.iter().flatten().map(|id| format!("Machines-{id}")).collect();
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    let release = if *this_release { "Releases-1" } else { "Releases-0" };
                    let outcome = if *succeeded { TaskState::Success } else { TaskState::Failed };
                    let mut made = deployment(&format!("Deployments-{at}"), "Projects-1", release, &[], &ids, outcome);
                    if said.is_none() {
                        // A server that does not say which targets the deployment reached.
                        made.deployed_to_machine_ids = None;
                    }
                    made
                })
                .collect();
            let lane = Lane::find(&state, None).expect("the project's lane");
            let ids: Vec<String> = (0..targets).map(|id| format!("Machines-{id}")).collect();
            let positions = TargetPositions::of(ids.iter().map(String::as_str), ids.len()).expect("ids listed once");
            let by_position = ReleaseIndex::new(&lane, "Releases-1", Some((&positions, ids.len())));
            let by_id = ReleaseIndex::new(&lane, "Releases-1", None);
            for (position, id) in ids.iter().enumerate() {
                prop_assert_eq!(by_position.reach(id, Some(position)), by_id.reach(id, None), "{}", id);
                prop_assert_eq!(by_position.reach(id, None), by_id.reach(id, None), "{} by id", id);
            }
        }
    }
}
