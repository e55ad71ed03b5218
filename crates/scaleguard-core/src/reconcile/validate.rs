//! The precondition re-check right before an action runs (invariant 5): another console, a
//! trigger or a scale event may have changed the world since the plan was shown.

use super::deletes::delete_evidence;
use super::deploys::{active_deployment, ambiguous_name, reach, Reach};
use super::history::History;
use super::matched::MatchedSnapshot;
use super::tenants::Lane;
use crate::config::Profile;
use crate::model::Action;
use crate::snapshot::Snapshot;

/// Ok when `action` may still run against `fresh`; `fresh_history` must have observed `fresh`.
/// A delete needs the full delete rule to hold again on the fresh listing; a deploy needs every
/// target still registered, its VM still listed, the release still the latest, no successful
/// deployment of it to the target and no active one covering it. Waits and notes change nothing
/// and are always "valid".
pub fn still_valid(
    action: &Action,
    fresh: &Snapshot,
    fresh_history: &History,
    profile: &Profile,
) -> Result<(), String> {
    match action {
        Action::Wait { .. } | Action::WaitForDeployment { .. } | Action::Note { .. } => Ok(()),
        Action::CompleteLifecycle { .. } | Action::LifecycleHeartbeat { .. } => {
            let matched = MatchedSnapshot::new(fresh, profile);
            super::lifecycle::still_valid(action, &matched, fresh_history, fresh.taken_at)
        }
        // A delete at once of an instance a terminating hook holds (no absence streak behind it):
        // the hook must hold it still.
        Action::DeleteTarget { target_name, absent_observations: 0, .. } => {
            let matched = MatchedSnapshot::new(fresh, profile);
            super::lifecycle::still_valid(action, &matched, fresh_history, fresh.taken_at)
                .map_err(|why| format!("{target_name} may not be deleted now: {why}"))
        }
        Action::DeleteTarget { target_id, target_name, .. } => {
            let matched = MatchedSnapshot::new(fresh, profile);
            if let Err(failure) = &fresh.targets {
                return Err(format!("the target listing failed: {failure}"));
            }
            let target = matched
                .targets
                .iter()
                .find(|t| &t.id == target_id)
                .ok_or_else(|| format!("{target_name} ({target_id}) is no longer registered"))?;
            delete_evidence(&matched, fresh_history, target, &profile.reconcile)
                .map(|_| ())
                .map_err(|why| format!("{target_name} may not be deleted now: {why}"))
        }
        Action::Deploy { project_id, release_id, target_ids, tenant, .. } => {
            let projects =
                fresh.projects.as_ref().map_err(|failure| format!("projects cannot be read: {failure}"))?;
            let targets =
                fresh.targets.as_ref().map_err(|failure| format!("the target listing failed: {failure}"))?;
            let project = projects
                .iter()
                .find(|p| &p.project_id == project_id)
                .ok_or_else(|| format!("project {project_id} is no longer configured"))?;
            // A tenant deleted or disconnected since the plan: its lane is gone, nothing is guessed.
            let lane =
                Lane::find(project, tenant.as_ref().map(|t| t.id.as_str())).ok_or_else(|| match tenant {
                    Some(t) => format!(
                    "tenant {t} is no longer connected to {} for the environment (deleted or disconnected)",
                    project.project_name
                ),
                    None => format!("{} no longer takes untenanted deployments", project.project_name),
                })?;
            match lane.latest_release() {
                Some(latest) if &latest.id == release_id => {}
                Some(latest) => {
                    return Err(format!(
                        "the release to roll out{} is now {}",
                        lane.for_tenant(),
                        latest.version
                    ))
                }
                None => return Err(format!("the project has no release to redeploy{}", lane.for_tenant())),
            }
            if let Some(other) = lane.other_releases_in_flight().first() {
                let state = other.deployment.task_state.map_or("state unknown", |s| s.as_str());
                return Err(format!(
                    "{} of {} to the environment{} is in flight ({state}): the rollout waits for it",
                    other.deployment.id,
                    other.release_version,
                    lane.for_tenant()
                ));
            }
            let matched = MatchedSnapshot::new(fresh, profile);
            for target_id in target_ids {
                let Some(target) = targets.iter().find(|t| &t.id == target_id) else {
                    return Err(format!("{target_id} is no longer registered"));
                };
                if let Some(name) = ambiguous_name(&matched, target) {
                    return Err(format!("{target_id} now shares the name {name} with another target or VM"));
                }
                // Scaled in since the plan was shown (or the listing failed): do not deploy blind.
                if matched.vm_of(target_id).is_none() {
                    return Err(format!("the VM of {target_id} is not in a fresh listing"));
                }
                if !lane.serves(target) {
                    return Err(format!("{target_id} is no longer connected{}", lane.for_tenant()));
                }
                // Whatever the history says of its VM: a target a successful deployment reached
                // (or may have reached) never gets the release again from here.
                match reach(&lane, release_id, target_id) {
                    Reach::Reached(by) => {
                        return Err(format!("{target_id} already has the release ({} reached it)", by.id))
                    }
                    Reach::Unknown(by) => {
                        return Err(format!(
                        "{} of the release covered {target_id} and succeeded without saying which targets \
                             it reached: it may have the release already",
                        by.id
                    ))
                    }
                    Reach::NotReached => {}
                }
                if let Some(active) = active_deployment(&lane, release_id, target_id) {
                    return Err(format!("{} already covers {target_id}", active.id));
                }
            }
            Ok(())
        }
    }
}
