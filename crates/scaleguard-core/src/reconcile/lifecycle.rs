//! AWS lifecycle hooks (pure): what scaleguard does about an instance that a hook holds.
//!
//! - **Terminating:Wait**: the instance is certainly going (CONTINUE and ABANDON both terminate
//!   it), so its targets are deleted at once, without waiting for the absence rule, then the hook
//!   is completed with CONTINUE. Only while a hook holds it: a plain Terminating instance (no hook,
//!   or the hook completed) leaves its targets to the absence rule, as on Azure.
//! - **Pending:Wait**: the instance runs and waits for its deployment. The deploy planner deploys
//!   to its target like to any new target; once a successful deployment of the current release
//!   reached every target on it the hook is completed with CONTINUE (the instance goes in
//!   service), and when one explicitly naming the target failed, with ABANDON (Auto Scaling
//!   terminates it and launches another). While a deployment covering it still runs, a heartbeat
//!   keeps the hook from timing out.
//! - **Warmed:Pending:Wait**: an instance entering the warm pool is never a deploy target; it is
//!   released into the pool with CONTINUE.
//!
//! A hook is completed only when the group has exactly one hook on that transition: with several,
//! which one is scaleguard's cannot be told, and a note says so. Anything ambiguous (a target name
//! two targets or instances share, an instance whose name cannot be read, a target last seen on
//! another instance that is still listed) holds the instance's deletes and completions.

use super::deploys::{reach, Reach};
use super::history::History;
use super::matched::{MatchedSnapshot, SetView};
use super::notes::note;
use super::tenants::Lane;
use super::text::{duration, secs_between, set_id};
use crate::matching::{has_match_name, normalize_name};
use crate::model::{
    same_octopus_id, Action, AwsGroup, Deployment, HookTransition, Instance, LifecycleResult, PlannedAction,
    Severity, Target, TaskState,
};
use time::OffsetDateTime;

/// A hook's default heartbeat timeout ("Amazon EC2 Auto Scaling lifecycle hooks": one hour).
const DEFAULT_HEARTBEAT_SECS: u64 = 3600;

/// Every lifecycle action and note of the snapshot: deletes at once, completions, heartbeats.
pub(crate) fn lifecycle(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    now: OffsetDateTime,
) -> Vec<PlannedAction> {
    let mut out = Vec::new();
    for set in &matched.sets {
        let Ok(listing) = set.listing else { continue };
        let Some(group) = listing.state.aws.as_ref() else { continue };
        let mut deletes = Vec::new();
        for instance in set.instances() {
            let Some(state) = instance.lifecycle_state() else { continue };
            let held = if state.as_str().eq_ignore_ascii_case("Warmed:Pending:Wait") {
                Some(HookTransition::Launching)
            } else {
                state.hook_wait()
            };
            let Some(transition) = held else { continue };
            match decide(matched, history, set, group, instance, transition, now) {
                Ok(decision) => emit(set, instance, transition, decision, &mut deletes, &mut out),
                Err(held) => out.push(held_note(set, instance, &held)),
            }
        }
        confirm_if_everything(matched, set, &mut deletes);
        out.extend(deletes);
    }
    out
}

/// What to do about one hook-held instance.
#[derive(Debug)]
pub(crate) struct Decision<'a> {
    /// Targets to delete at once (terminating).
    pub delete: Vec<&'a Target>,
    /// The hook and how to complete it, when it is time.
    pub complete: Option<(String, LifecycleResult)>,
    /// The hook to heartbeat, and the deployment that still runs.
    pub heartbeat: Option<(String, String)>,
    /// The instance's targets (names), for the action.
    pub targets: Vec<&'a Target>,
    pub reason: String,
    pub observations: Vec<String>,
}

/// The targets that run on `instance`, or why they cannot be told.
fn targets_on<'a>(
    matched: &'a MatchedSnapshot<'_>,
    history: &History,
    set: &SetView<'_>,
    instance: &Instance,
) -> Result<Vec<&'a Target>, String> {
    if !matched.target_listing_ok() {
        return Err("the target listing failed, so which targets run on it cannot be told".into());
    }
    let match_by = matched
        .snapshot
        .scale_sets
        .iter()
        .find(|s| &s.key == set.key)
        .map(|s| s.match_by)
        .ok_or("its scale set is not configured")?;
    if !has_match_name(instance, match_by) {
        return Err(format!(
            "its {} cannot be read, so any unmatched target may be its",
            match_by.as_str().replace('_', " ")
        ));
    }
    let ids = matched.matching.targets_on(instance);
    let targets: Vec<&Target> = matched.targets.iter().filter(|t| ids.contains(&t.id.as_str())).collect();
    for target in &targets {
        let name = normalize_name(&target.name);
        if matched.matching.duplicate_target_names.contains_key(&name)
            || matched.matching.duplicate_instance_names.contains_key(&name)
        {
            return Err(format!("the name {name} is not unique among targets and instances"));
        }
        // A target goes only with the VM it stood for: one it was matched to before (its name
        // now matches this instance) that is still listed keeps it.
        let record = history.target(&target.id);
        let sightings = record.into_iter().flat_map(|r| r.last_vm.iter().chain(r.replaced_vm.as_deref()));
        for before in sightings.filter(|before| !before.is_same_vm(instance)) {
            if let Some(other) = matched.listed_vm(before) {
                return Err(format!(
                    "target {} was matched to instance {} before, which is still listed",
                    target.name, other.instance_id
                ));
            }
        }
    }
    Ok(targets)
}

/// Where a launch stands for one target across the lanes that serve it.
enum Launch {
    Reached,
    Running(String),
    Failed(String),
    /// Not deployed yet, or the reach cannot be told: nothing to complete now.
    Pending(String),
}

fn launch_state(matched: &MatchedSnapshot<'_>, target: &Target) -> Launch {
    let Ok(projects) = &matched.snapshot.projects else {
        return Launch::Pending("the projects cannot be read".into());
    };
    let mut state = Launch::Reached;
    for project in projects {
        for lane in Lane::all(project).into_iter().filter(|lane| lane.serves(target)) {
            let Some(release) = lane.latest_release() else { continue };
            let of_release = |d: &&Deployment| same_octopus_id(&d.release_id, &release.id);
            match reach(&lane, &release.id, &target.id) {
                Reach::Reached(_) => continue,
                Reach::Unknown(d) => {
                    return Launch::Pending(format!(
                        "{} may have reached it (its targets are not known)",
                        d.id
                    ))
                }
                Reach::NotReached => {}
            }
            let running = lane
                .deployments()
                .filter(of_release)
                .find(|d| d.task_state.is_none_or(|s| s.is_active()) && d.covers(&target.id));
            if let Some(running) = running {
                state = Launch::Running(running.id.clone());
                continue;
            }
            // Only a deployment naming the target counts as its failure: an older one to the
            // whole environment says nothing about this new instance.
            let failed = lane.deployments().filter(of_release).find(|d| {
                matches!(d.task_state, Some(TaskState::Failed | TaskState::TimedOut))
                    && d.specific_machine_ids.iter().any(|id| same_octopus_id(id, &target.id))
            });
            match failed {
                Some(failed) if !matches!(state, Launch::Running(_)) => {
                    state = Launch::Failed(failed.id.clone())
                }
                _ if matches!(state, Launch::Reached) => {
                    state = Launch::Pending(format!(
                        "{} {} has not reached it yet",
                        project.project_name, release.version
                    ))
                }
                _ => {}
            }
        }
    }
    state
}

/// The decision for one hook-held instance, or why it is held.
pub(crate) fn decide<'a>(
    matched: &'a MatchedSnapshot<'_>,
    history: &History,
    set: &SetView<'_>,
    group: &AwsGroup,
    instance: &Instance,
    transition: HookTransition,
    now: OffsetDateTime,
) -> Result<Decision<'a>, String> {
    let hooks: Vec<&str> = group.hooks_on(transition).map(|h| h.name.as_str()).collect();
    if hooks.len() > 1 {
        return Err(format!(
            "{} {} hooks ({}): which one is scaleguard's cannot be told, so none is completed",
            hooks.len(),
            transition.as_str(),
            hooks.join(", ")
        ));
    }
    let hook = group.sole_hook(transition).map(|h| (h.name.as_str(), h));
    let state = instance.lifecycle_state().map(|s| s.to_string()).unwrap_or_default();
    let mut observations = vec![format!("instance {} is {state}", instance.instance_id)];
    if let Some((name, hook)) = hook {
        observations.push(format!(
            "hook {name}: heartbeat timeout {}, default result {}",
            duration(hook.heartbeat_timeout_secs.unwrap_or(DEFAULT_HEARTBEAT_SECS)),
            hook.default_result.as_deref().unwrap_or("ABANDON")
        ));
    }
    let hook_name = hook.map(|(name, _)| name.to_string());
    if instance.is_warm_pool() {
        // With ReuseOnScaleIn a scaled-in instance goes back to the warm pool, held there by the
        // group's terminating hook ("Use lifecycle hooks with a warm pool", Amazon EC2 Auto
        // Scaling User Guide): one that hosts (or may host) an HA node is never released at once.
        if let Some(host) = node_host(matched, set, instance)? {
            return Err(format!(
                "it is going back to the warm pool while it hosts an HA node ({host}); never released at once"
            ));
        }
        let hook_name = hook_name.ok_or("it waits on a launch hook the group does not list")?;
        return Ok(Decision {
            delete: Vec::new(),
            complete: Some((hook_name, LifecycleResult::Continue)),
            heartbeat: None,
            targets: Vec::new(),
            reason: format!(
                "{} is entering the warm pool, where no instance gets a deployment: release it into the pool",
                instance.instance_id
            ),
            observations,
        });
    }
    let targets = targets_on(matched, history, set, instance)?;
    observations.extend(targets.iter().map(|t| format!("target {} ({}), health {}", t.name, t.id, t.health)));
    match transition {
        HookTransition::Terminating => {
            if hook_name.is_none() {
                // Terminating:Wait means a hook holds it; a group listing none is a contradiction.
                return Err("it waits on a terminating hook the group does not list".into());
            }
            let node_owned = node_host(matched, set, instance)?;
            let named = names(&targets);
            let reason = if targets.is_empty() {
                format!(
                    "{} is terminating and no target runs on it: nothing to remove before it goes",
                    instance.instance_id
                )
            } else {
                format!(
                    "{} is terminating and a lifecycle hook holds it (it is certainly going): delete {named} now, \
                     then let it go",
                    instance.instance_id
                )
            };
            // A node host's hook is completed by its node's drain job, once drained (or at the
            // deadline): completing it now would terminate a busy node.
            let complete =
                if node_owned.is_some() { None } else { hook_name.map(|h| (h, LifecycleResult::Continue)) };
            observations.extend(node_owned);
            Ok(Decision { delete: targets.clone(), complete, heartbeat: None, targets, reason, observations })
        }
        HookTransition::Launching => {
            let Some(hook_name) = hook_name else {
                return Err("it waits on a launch hook the group does not list".into());
            };
            let nothing_yet = |reason: String, observations: Vec<String>| Decision {
                delete: Vec::new(),
                complete: None,
                heartbeat: None,
                targets: Vec::new(),
                reason,
                observations,
            };
            if targets.is_empty() {
                // The tentacle registers while the instance waits: nothing to do before it has.
                return Ok(nothing_yet("no target is registered for it yet".into(), observations));
            }
            let mut running = None;
            let mut failed = None;
            for target in &targets {
                match launch_state(matched, target) {
                    Launch::Reached => {}
                    Launch::Running(id) => running = Some(id),
                    Launch::Failed(id) => failed = Some(id),
                    // The deploy planner deploys it (or says why not): the hook waits for that.
                    Launch::Pending(why) => {
                        return Ok(nothing_yet(format!("target {}: {why}", target.name), observations))
                    }
                }
            }
            let named = names(&targets);
            let waited = history.vm(instance).map_or(0, |vm| secs_between(vm.first_seen, now));
            let timeout = hook.and_then(|(_, h)| h.heartbeat_timeout_secs).unwrap_or(DEFAULT_HEARTBEAT_SECS);
            observations.push(format!(
                "seen waiting for {} of the hook's {}",
                duration(waited),
                duration(timeout)
            ));
            if let Some(deployment) = running {
                // Half the timeout gone: heartbeat, so a long deployment never runs into it.
                let heartbeat = (waited >= timeout / 2).then(|| (hook_name.clone(), deployment.clone()));
                return Ok(Decision {
                    delete: Vec::new(),
                    complete: None,
                    reason: format!(
                        "{deployment} to {named} still runs while {} waits on hook {hook_name}: keep the hook waiting",
                        instance.instance_id
                    ),
                    heartbeat,
                    targets,
                    observations,
                });
            }
            let (result, reason) = match failed {
                Some(deployment) => (
                    LifecycleResult::Abandon,
                    format!(
                        "{deployment} to {named} failed: abandon the launch, so Auto Scaling terminates {} and \
                         launches another",
                        instance.instance_id
                    ),
                ),
                None => (
                    LifecycleResult::Continue,
                    format!(
                        "{named} on {} has the current release of every project: put it in service",
                        instance.instance_id
                    ),
                ),
            };
            Ok(Decision {
                delete: Vec::new(),
                complete: Some((hook_name, result)),
                heartbeat: None,
                targets,
                reason,
                observations,
            })
        }
    }
}

/// On the nodes' scale set: Some(observation) when the instance hosts an HA node (its drain job
/// owns the hook), Err when whether it does cannot be told; None elsewhere or when it hosts none.
fn node_host(
    matched: &MatchedSnapshot<'_>,
    set: &SetView<'_>,
    instance: &Instance,
) -> Result<Option<String>, String> {
    use crate::ha::hook::{host_of, HookHost};
    if matched.nodes_set.as_ref() != Some(set.key) {
        return Ok(None);
    }
    let nodes = matched.snapshot.nodes.as_ref().map(Vec::as_slice).map_err(|failure| failure.to_string());
    let nodes = match &nodes {
        Ok(nodes) => Ok(*nodes),
        Err(why) => Err(why.as_str()),
    };
    match host_of(nodes, set.instances(), instance) {
        HookHost::NoNode => Ok(None),
        HookHost::Node { node_name, .. } => Ok(Some(format!(
            "it hosts HA node {node_name}: the hook is completed by the node's drain job (`scaleguard node hooks`) \
             once the node is drained, or at nodes.hook_deadline_secs"
        ))),
        HookHost::Unsure { why } => Err(why),
    }
}

fn names(targets: &[&Target]) -> String {
    if targets.is_empty() {
        return "no target".into();
    }
    targets.iter().map(|t| format!("{} ({})", t.name, t.id)).collect::<Vec<_>>().join(", ")
}

/// The plan entries of one decision.
fn emit(
    set: &SetView<'_>,
    instance: &Instance,
    transition: HookTransition,
    decision: Decision<'_>,
    deletes: &mut Vec<PlannedAction>,
    out: &mut Vec<PlannedAction>,
) {
    for target in &decision.delete {
        deletes.push(PlannedAction {
            id: format!("delete-target:{}", target.id),
            action: Action::DeleteTarget {
                target_id: target.id.clone(),
                target_name: target.name.clone(),
                last_instance_id: Some(instance.instance_id.clone()),
                absent_observations: 0,
                absent_secs: 0,
                requires_confirmation: false,
            },
            reason: decision.reason.clone(),
            observations: decision.observations.clone(),
        });
    }
    let target_names: Vec<String> = decision.targets.iter().map(|t| t.name.clone()).collect();
    let reason = if decision.delete.is_empty() {
        decision.reason
    } else {
        format!(
            "{} is terminating and hook {} holds it: once {} are deleted, let it go (CONTINUE)",
            instance.instance_id,
            decision.complete.as_ref().map_or("?", |(hook, _)| hook.as_str()),
            names(&decision.delete)
        )
    };
    if let Some((hook, result)) = decision.complete {
        out.push(PlannedAction {
            id: format!("complete-lifecycle:{}:{}:{hook}", set_id(set.key), instance.instance_id),
            action: Action::CompleteLifecycle {
                scale_set: set.key.clone(),
                instance_id: instance.instance_id.clone(),
                hook,
                transition,
                result,
                target_names,
            },
            reason,
            observations: decision.observations,
        });
    } else if transition == HookTransition::Terminating {
        // A node host: the node's drain job completes the hook (the observation says so).
        out.push(note(
            format!("note:lifecycle-node-host:{}:{}", set_id(set.key), instance.instance_id),
            Severity::Info,
            format!("{} hosts an HA node: its hook waits for the node's drain", instance.instance_id),
            decision.observations.last().cloned().unwrap_or_default(),
            decision.observations,
        ));
    } else if let Some((hook, deployment_id)) = decision.heartbeat {
        out.push(PlannedAction {
            id: format!("lifecycle-heartbeat:{}:{}:{hook}", set_id(set.key), instance.instance_id),
            action: Action::LifecycleHeartbeat {
                scale_set: set.key.clone(),
                instance_id: instance.instance_id.clone(),
                hook,
                deployment_id,
            },
            reason,
            observations: decision.observations,
        });
    }
}

fn held_note(set: &SetView<'_>, instance: &Instance, why: &str) -> PlannedAction {
    let state = instance.lifecycle_state().map(|s| s.to_string()).unwrap_or_default();
    note(
        format!("note:lifecycle-held:{}:{}", set_id(set.key), instance.instance_id),
        Severity::Warning,
        format!("{} ({state}) is left to its lifecycle hook's timeout", instance.instance_id),
        format!("scaleguard neither deletes its targets at once nor completes its hook: {why}"),
        Vec::new(),
    )
}

/// Deletes at once that remove every target of the set need the typed confirmation, as any
/// plan that empties a set does (invariant 2).
fn confirm_if_everything(matched: &MatchedSnapshot<'_>, set: &SetView<'_>, deletes: &mut [PlannedAction]) {
    let on_set = matched.matching.vm_per_target_id().filter(|found| *found.scale_set == *set.key).count();
    if deletes.is_empty() || deletes.len() < on_set {
        return;
    }
    for planned in deletes.iter_mut() {
        if let Action::DeleteTarget { requires_confirmation, .. } = &mut planned.action {
            *requires_confirmation = true;
        }
        planned.reason.push_str(&format!("; this removes every target of {}: confirm explicitly", set.key));
    }
}

/// Does the fresh snapshot still justify `action` (a delete at once, a completion, a heartbeat)?
pub(crate) fn still_valid(
    action: &Action,
    matched: &MatchedSnapshot<'_>,
    history: &History,
    now: OffsetDateTime,
) -> Result<(), String> {
    match action {
        Action::DeleteTarget { target_id, target_name, .. } => {
            let (set, instance) = matched
                .vm_of(target_id)
                .and_then(|(found, instance)| Some((matched.set(&found.scale_set)?, instance)))
                .ok_or_else(|| format!("{target_name} runs on no listed instance"))?;
            if instance.lifecycle_state().and_then(|s| s.hook_wait()) != Some(HookTransition::Terminating) {
                return Err(format!(
                    "its instance {} is not held by a terminating hook",
                    instance.instance_id
                ));
            }
            let group =
                set.listing.ok().and_then(|l| l.state.aws.as_ref()).ok_or("its set is no AWS group")?;
            let decision = decide(matched, history, set, group, instance, HookTransition::Terminating, now)?;
            if decision.delete.iter().any(|t| &t.id == target_id) {
                Ok(())
            } else {
                Err(format!("{target_name} no longer runs on {}", instance.instance_id))
            }
        }
        Action::CompleteLifecycle { scale_set, instance_id, hook, transition, result, .. } => {
            let (set, instance) = held_instance(matched, scale_set, instance_id)?;
            let group =
                set.listing.ok().and_then(|l| l.state.aws.as_ref()).ok_or("its set is no AWS group")?;
            let now_held = if instance.is_warm_pool() {
                Some(HookTransition::Launching)
            } else {
                instance.lifecycle_state().and_then(|s| s.hook_wait())
            };
            if now_held != Some(*transition) {
                let state = instance.lifecycle_state().map(|s| s.to_string()).unwrap_or_default();
                return Err(format!(
                    "{instance_id} is {state} now: no {} hook holds it",
                    transition.as_str()
                ));
            }
            let decision = decide(matched, history, set, group, instance, *transition, now)?;
            if *transition == HookTransition::Terminating {
                if let Some(target) = decision.delete.first() {
                    return Err(format!(
                        "target {} ({}) still runs on {instance_id}: it goes first",
                        target.name, target.id
                    ));
                }
            }
            match decision.complete {
                Some((fresh_hook, fresh_result)) if &fresh_hook == hook && fresh_result == *result => Ok(()),
                Some((_, fresh_result)) => {
                    Err(format!("the hook would now be completed with {fresh_result}"))
                }
                None => Err(decision.reason),
            }
        }
        Action::LifecycleHeartbeat { scale_set, instance_id, hook, .. } => {
            let (set, instance) = held_instance(matched, scale_set, instance_id)?;
            let group =
                set.listing.ok().and_then(|l| l.state.aws.as_ref()).ok_or("its set is no AWS group")?;
            if instance.lifecycle_state().and_then(|s| s.hook_wait()) != Some(HookTransition::Launching) {
                return Err(format!("{instance_id} no longer waits on a launch hook"));
            }
            // The deployment still runs (a heartbeat due or not, the hook still waits for it).
            let targets = targets_on(matched, history, set, instance)?;
            let running = targets.iter().any(|t| matches!(launch_state(matched, t), Launch::Running(_)));
            if running && group.hooks_on(HookTransition::Launching).any(|h| &h.name == hook) {
                Ok(())
            } else {
                Err(format!("no deployment to {instance_id}'s targets runs any more"))
            }
        }
        _ => Err("not a lifecycle action".into()),
    }
}

fn held_instance<'m, 'a>(
    matched: &'m MatchedSnapshot<'a>,
    key: &crate::model::ScaleSetKey,
    instance_id: &str,
) -> Result<(&'m SetView<'a>, &'a Instance), String> {
    let set = matched.set(key).ok_or_else(|| format!("{key} is no longer configured"))?;
    let listing = set.listing.map_err(|failure| format!("{key} cannot be read: {failure}"))?;
    let instance = listing
        .instances
        .iter()
        .find(|i| i.instance_id == instance_id)
        .ok_or_else(|| format!("{instance_id} is no longer listed in {key}"))?;
    Ok((set, instance))
}
