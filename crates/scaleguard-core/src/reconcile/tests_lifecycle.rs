//! AWS lifecycle hooks in the plan (issue 19): targets of an instance a terminating hook holds go
//! at once and the hook is completed after them; a launch hook is completed once the instance's
//! deployment succeeded (ABANDON when it failed), and heartbeated while it runs.

use super::testkit::*;
use super::tests_deletes::{deleted_ids, refresh};
use super::*;
use crate::model::{
    Action, AwsGroup, HookTransition, Instance, LifecycleHook, LifecycleResult, ProvisioningState, TaskState,
};
use crate::snapshot::Snapshot;
use proptest::prelude::*;

fn hook(name: &str, transition: HookTransition) -> LifecycleHook {
    LifecycleHook {
        name: name.into(),
        transition,
        heartbeat_timeout_secs: Some(600),
        default_result: Some("ABANDON".into()),
        global_timeout_secs: None,
    }
}

/// `vm("web", id)` as an Auto Scaling instance in `state` (its provisioning state as the provider maps it).
fn instance(id: u32, state: &str) -> Instance {
    in_lifecycle(vm("web", id), state)
}

/// Make every set of `snapshot` an Auto Scaling group with `hooks` (settled unless an instance moves).
fn aws(mut snapshot: Snapshot, hooks: Vec<LifecycleHook>) -> Snapshot {
    for set in &mut snapshot.scale_sets {
        let Ok(listing) = &mut set.listing else { continue };
        let moving: Vec<String> = listing
            .instances
            .iter()
            .filter(|i| i.lifecycle_state().is_some_and(|s| !s.is_warmed() && !s.is_at_rest()))
            .map(|i| i.instance_id.clone())
            .collect();
        listing.state.provisioning_state =
            if moving.is_empty() { ProvisioningState::Succeeded } else { ProvisioningState::Updating };
        listing.state.overprovision = false;
        listing.state.aws = Some(Box::new(AwsGroup {
            min_size: 0,
            termination_policies: vec!["Default".into()],
            moving,
            ..aws_group(10, hooks.clone())
        }));
    }
    snapshot
}

fn terminating() -> Vec<LifecycleHook> {
    vec![hook("drain", HookTransition::Terminating)]
}

fn completions(plan: &Plan) -> Vec<(String, LifecycleResult)> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::CompleteLifecycle { instance_id, result, .. } => Some((instance_id.clone(), *result)),
            _ => None,
        })
        .collect()
}

/// web-1 and web-2 in service; web-3 held by the terminating hook `drain` in `state`.
fn scale_in(state: &str, hooks: Vec<LifecycleHook>, targets: Vec<crate::model::Target>) -> Snapshot {
    aws(
        SnapshotBuilder::new(at(0))
            .set("web", 2, vec![instance(1, "InService"), instance(2, "InService"), instance(3, state)])
            .targets(targets)
            .build(),
        hooks,
    )
}

fn three_targets() -> Vec<crate::model::Target> {
    vec![
        target_on("Machines-1", "web", 1),
        target_on("Machines-2", "web", 2),
        target_on("Machines-3", "web", 3),
    ]
}

#[test]
fn a_terminating_hook_deletes_the_targets_at_once_then_continues_and_nothing_else() {
    let mut history = History::default();
    let plan = refresh(&mut history, &scale_in("Terminating:Wait", terminating(), three_targets()));
    assert_eq!(deleted_ids(&plan), vec!["Machines-3"], "{plan:#?}");
    assert_eq!(completions(&plan), vec![("3".to_string(), LifecycleResult::Continue)]);
    let delete = plan.actions.iter().position(|a| a.id == "delete-target:Machines-3").unwrap();
    let complete = plan.actions.iter().position(|a| a.id.starts_with("complete-lifecycle:")).unwrap();
    assert!(delete < complete, "the hook is completed after the delete");
    let Action::DeleteTarget { absent_observations, requires_confirmation, .. } =
        &plan.actions[delete].action
    else {
        unreachable!()
    };
    assert_eq!((*absent_observations, *requires_confirmation), (0, false));
    assert!(plan.actions[delete].reason.contains("certainly going"), "{}", plan.actions[delete].reason);
}

#[test]
fn without_a_hook_holding_it_a_terminating_instance_waits_for_the_absence_rule() {
    for state in ["Terminating", "Terminating:Proceed"] {
        let mut history = History::default();
        let plan = refresh(&mut history, &scale_in(state, terminating(), three_targets()));
        assert_eq!(deleted_ids(&plan), Vec::<String>::new(), "{state}");
        assert_eq!(completions(&plan), vec![], "{state}");
    }
}

#[test]
fn several_terminating_hooks_or_a_shared_name_hold_the_instance_with_a_note() {
    let two = vec![hook("drain", HookTransition::Terminating), hook("logs", HookTransition::Terminating)];
    let mut history = History::default();
    let plan = refresh(&mut history, &scale_in("Terminating:Wait", two, three_targets()));
    assert_eq!(deleted_ids(&plan), Vec::<String>::new());
    assert_eq!(completions(&plan), vec![]);
    let held = plan.actions.iter().find(|a| a.id.starts_with("note:lifecycle-held:")).expect("a note");
    assert!(held.reason.contains("drain, logs"), "{}", held.reason);

    let mut targets = three_targets();
    targets.push(target("Machines-9", "WEB-3.corp.local"));
    let mut history = History::default();
    let plan = refresh(&mut history, &scale_in("Terminating:Wait", terminating(), targets));
    assert_eq!(deleted_ids(&plan), Vec::<String>::new(), "a duplicate name is never resolved");
    assert_eq!(completions(&plan), vec![]);
}

#[test]
fn a_target_matched_to_another_listed_instance_before_is_not_deleted_at_once() {
    // Machines-7 ran on web-2 (still listed); its name now matches the terminating web-3.
    let mut history = History::default();
    let before = aws(
        SnapshotBuilder::new(at(0))
            .set("web", 3, vec![instance(1, "InService"), instance(2, "InService"), instance(3, "InService")])
            .targets(vec![target("Machines-7", "web-2")])
            .build(),
        terminating(),
    );
    refresh(&mut history, &before);
    let mut now = scale_in("Terminating:Wait", terminating(), vec![target("Machines-7", "web-3")]);
    now.taken_at = at(60);
    let plan = refresh(&mut history, &now);
    assert_eq!(deleted_ids(&plan), Vec::<String>::new(), "{plan:#?}");
    assert!(plan.actions.iter().any(|a| a.id.starts_with("note:lifecycle-held:")));
}

#[test]
fn emptying_a_group_at_once_needs_the_typed_confirmation() {
    let snapshot = aws(
        SnapshotBuilder::new(at(0))
            .set("web", 0, vec![instance(1, "Terminating:Wait"), instance(2, "Terminating:Wait")])
            .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
            .build(),
        terminating(),
    );
    let plan = refresh(&mut History::default(), &snapshot);
    let confirmations: Vec<bool> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::DeleteTarget { requires_confirmation, .. } => Some(*requires_confirmation),
            _ => None,
        })
        .collect();
    assert_eq!(confirmations, vec![true, true]);
}

#[test]
fn the_completion_is_valid_only_once_the_targets_are_gone_and_the_hook_still_holds() {
    let profile = profile();
    let with_target = scale_in("Terminating:Wait", terminating(), three_targets());
    let mut history = History::default();
    let plan = refresh(&mut history, &with_target);
    let complete = plan.actions.iter().find(|a| a.id.starts_with("complete-lifecycle:")).unwrap();
    let err = still_valid(&complete.action, &with_target, &history, &profile).unwrap_err();
    assert!(err.contains("Machines-3") && err.contains("goes first"), "{err}");

    let mut deleted = scale_in("Terminating:Wait", terminating(), three_targets()[..2].to_vec());
    deleted.taken_at = at(5);
    refresh(&mut history, &deleted);
    assert_eq!(still_valid(&complete.action, &deleted, &history, &profile), Ok(()));
    let delete = plan.actions.iter().find(|a| a.id == "delete-target:Machines-3").unwrap();
    assert_eq!(still_valid(&delete.action, &with_target, &history, &profile), Ok(()));

    let mut gone = scale_in("Terminating:Proceed", terminating(), three_targets()[..2].to_vec());
    gone.taken_at = at(10);
    refresh(&mut history, &gone);
    let err = still_valid(&complete.action, &gone, &history, &profile).unwrap_err();
    assert!(err.contains("Terminating:Proceed"), "{err}");
    let err = still_valid(
        &delete.action,
        &scale_in("Terminating:Proceed", terminating(), three_targets()),
        &history,
        &profile,
    )
    .unwrap_err();
    assert!(err.contains("not held by a terminating hook"), "{err}");
}

/// web-1 in service with R1; web-2 waits on the launch hook `ready` with target Machines-2.
fn scale_out(deployments: Vec<crate::model::Deployment>, taken_at: i64) -> Snapshot {
    let mut web = project("Projects-1", Some("Releases-1"));
    web.deployments = vec![deployment(
        "Deployments-1",
        "Projects-1",
        "Releases-1",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    web.deployments.extend(deployments);
    aws(
        SnapshotBuilder::new(at(taken_at))
            .set("web", 2, vec![instance(1, "InService"), instance(2, "Pending:Wait")])
            .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
            .project(web)
            .build(),
        vec![hook("ready", HookTransition::Launching)],
    )
}

#[test]
fn an_instance_waiting_on_its_launch_hook_gets_its_deployment_first() {
    let plan = refresh(&mut History::default(), &scale_out(vec![], 0));
    let deploys: Vec<&Vec<String>> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Deploy { target_ids, .. } => Some(target_ids),
            _ => None,
        })
        .collect();
    assert_eq!(deploys, vec![&vec!["Machines-2".to_string()]], "{plan:#?}");
    assert_eq!(completions(&plan), vec![], "nothing to complete before the deployment");
}

#[test]
fn the_launch_hook_continues_after_success_and_abandons_after_a_failure() {
    let succeeded = deployment(
        "Deployments-2",
        "Projects-1",
        "Releases-1",
        &["Machines-2"],
        &["Machines-2"],
        TaskState::Success,
    );
    let plan = refresh(&mut History::default(), &scale_out(vec![succeeded], 0));
    assert_eq!(completions(&plan), vec![("2".to_string(), LifecycleResult::Continue)]);
    assert!(!plan.actions.iter().any(|a| a.action.is_destructive()));

    let failed =
        deployment("Deployments-2", "Projects-1", "Releases-1", &["Machines-2"], &[], TaskState::Failed);
    let plan = refresh(&mut History::default(), &scale_out(vec![failed], 0));
    assert_eq!(completions(&plan), vec![("2".to_string(), LifecycleResult::Abandon)]);
    // The failed deployment names the target in another case: the same target (Octopus ids).
    let failed =
        deployment("Deployments-2", "Projects-1", "Releases-1", &["MACHINES-2"], &[], TaskState::Failed);
    let in_other_case = refresh(&mut History::default(), &scale_out(vec![failed], 0));
    assert_eq!(completions(&in_other_case), vec![("2".to_string(), LifecycleResult::Abandon)]);
    let abandon = plan.actions.iter().find(|a| a.id.starts_with("complete-lifecycle:")).unwrap();
    assert!(abandon.action.is_destructive(), "an ABANDON of a launch terminates the instance");

    // A failed deployment to the whole environment says nothing about the new instance.
    let old = deployment("Deployments-0", "Projects-1", "Releases-1", &[], &[], TaskState::Failed);
    let plan = refresh(&mut History::default(), &scale_out(vec![old], 0));
    assert_eq!(completions(&plan), vec![]);
}

#[test]
fn a_running_deployment_gets_heartbeats_once_half_the_timeout_is_gone() {
    let running = || {
        deployment("Deployments-2", "Projects-1", "Releases-1", &["Machines-2"], &[], TaskState::Executing)
    };
    let mut history = History::default();
    let plan = refresh(&mut history, &scale_out(vec![running()], 0));
    assert!(!plan.actions.iter().any(|a| a.id.starts_with("lifecycle-heartbeat:")), "not due yet");
    assert_eq!(completions(&plan), vec![]);
    let later = scale_out(vec![running()], 301);
    let plan = refresh(&mut history, &later);
    let beat = plan.actions.iter().find(|a| a.id.starts_with("lifecycle-heartbeat:")).expect("a heartbeat");
    assert!(
        matches!(&beat.action, Action::LifecycleHeartbeat { deployment_id, .. } if deployment_id == "Deployments-2")
    );
    assert_eq!(still_valid(&beat.action, &later, &history, &profile()), Ok(()));
    let done = deployment(
        "Deployments-2",
        "Projects-1",
        "Releases-1",
        &["Machines-2"],
        &["Machines-2"],
        TaskState::Success,
    );
    let finished = scale_out(vec![done], 302);
    refresh(&mut history, &finished);
    assert!(still_valid(&beat.action, &finished, &history, &profile()).is_err());
}

#[test]
fn warm_pool_instances_never_get_a_deployment_and_are_released_into_the_pool() {
    let mut web = project("Projects-1", Some("Releases-1"));
    web.deployments = vec![deployment(
        "Deployments-1",
        "Projects-1",
        "Releases-1",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    let snapshot = aws(
        SnapshotBuilder::new(at(0))
            .set(
                "web",
                1,
                vec![
                    instance(1, "InService"),
                    instance(2, "Warmed:Running"),
                    instance(3, "Warmed:Pending:Wait"),
                ],
            )
            .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
            .project(web)
            .build(),
        vec![hook("ready", HookTransition::Launching)],
    );
    let plan = refresh(&mut History::default(), &snapshot);
    assert!(!plan.actions.iter().any(|a| matches!(a.action, Action::Deploy { .. })), "{plan:#?}");
    assert!(
        !plan.actions.iter().any(|a| matches!(a.action, Action::Wait { .. })),
        "a warm pool does not hold the group: {plan:#?}"
    );
    assert_eq!(completions(&plan), vec![("3".to_string(), LifecycleResult::Continue)]);
}

#[test]
fn a_warm_instance_never_stands_in_for_a_missing_group_instance() {
    let snapshot = aws(
        SnapshotBuilder::new(at(0))
            .set("web", 2, vec![instance(1, "InService"), instance(9, "Warmed:Stopped")])
            .build(),
        vec![],
    );
    let verdict = crate::completeness::judge(snapshot.scale_sets[0].listing.as_ref().unwrap());
    assert!(!verdict.is_proven(), "{verdict}");
    assert_eq!(verdict.short_while_settled(), Some((1, 2)));
}

#[test]
fn an_instance_of_no_group_standing_in_for_a_lost_one_holds_the_deletes() {
    let targets = || {
        vec![
            target_on("Machines-1", "web", 1),
            target_on("Machines-2", "web", 2),
            target_on("Machines-3", "web", 3),
        ]
    };
    let listed = |secs, third: Instance| {
        aws(
            SnapshotBuilder::new(at(secs))
                .set("web", 3, vec![instance(1, "InService"), instance(2, "InService"), third])
                .targets(targets())
                .build(),
            vec![],
        )
    };
    let mut history = History::default();
    assert!(deleted_ids(&refresh(&mut history, &listed(0, instance(3, "InService")))).is_empty());
    // From now on the group's answer carries instance 9, which EC2 does not know, where 3 was.
    let mut stand_in = instance(9, "InService");
    stand_in.aws.as_mut().unwrap().ec2_group = crate::model::Ec2Group::NotFound;
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [100, 200, 300, 400, 500, 600] {
        plan = refresh(&mut history, &listed(secs, stand_in.clone()));
        assert!(deleted_ids(&plan).is_empty(), "at {secs}: {plan:#?}");
    }
    let held = plan
        .actions
        .iter()
        .find(|a| a.id == "note:unproven-listing:azure/sub-1/rg/web")
        .unwrap_or_else(|| panic!("deletes held with a note: {plan:#?}"));
    assert!(
        matches!(held.action, Action::Note { severity: crate::model::Severity::Warning, .. }),
        "a settled group's answer to look at: {held:?}"
    );
    assert!(held.observations.iter().any(|o| o.contains("instance 9 (EC2 does not know it)")), "{held:?}");
}

fn arb_state() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "Pending",
        "Pending:Wait",
        "Pending:Proceed",
        "InService",
        "Standby",
        "Terminating",
        "Terminating:Wait",
        "Terminating:Proceed",
        "Warmed:Stopped",
        "Warmed:Pending:Wait",
        "Detaching",
    ])
}

proptest! {
    /// Whatever the states, hooks and names: a delete at once is only ever of a target on an
    /// instance a sole terminating hook holds, it comes before that instance's CONTINUE, and no
    /// hook of another instance or transition is completed.
    #[test]
    fn deletes_at_once_only_ever_follow_a_terminating_hook(
        states in prop::collection::vec(arb_state(), 1..6),
        hooks in 0usize..3,
        duplicate in any::<bool>(),
    ) {
        let instances: Vec<Instance> = states.iter().enumerate().map(|(i, s)| instance(i as u32 + 1, s)).collect();
        let mut targets: Vec<crate::model::Target> =
            (1..=states.len() as u32).map(|i| target_on(&format!("Machines-{i}"), "web", i)).collect();
        if duplicate {
            targets.push(target("Machines-99", "web-1"));
        }
        let hooks: Vec<LifecycleHook> = (0..hooks).map(|i| hook(&format!("h{i}"), HookTransition::Terminating)).collect();
        let sole = hooks.len() == 1;
        let snapshot = aws(SnapshotBuilder::new(at(0)).set("web", 2, instances.clone()).targets(targets).build(), hooks);
        let plan = refresh(&mut History::default(), &snapshot);
        for (i, planned) in plan.actions.iter().enumerate() {
            match &planned.action {
                Action::DeleteTarget { last_instance_id: Some(id), .. } => {
                    let state = &states[id.parse::<usize>().unwrap() - 1];
                    prop_assert_eq!(*state, "Terminating:Wait");
                    prop_assert!(sole);
                    let later = plan.actions[i..].iter().any(|a| matches!(&a.action,
                        Action::CompleteLifecycle { instance_id, result: LifecycleResult::Continue, .. } if instance_id == id));
                    prop_assert!(later, "no CONTINUE after the delete of {}", planned.id);
                }
                Action::DeleteTarget { .. } => prop_assert!(false, "a delete without an instance: {}", planned.id),
                Action::CompleteLifecycle { instance_id, transition, .. } => {
                    let state = states[instance_id.parse::<usize>().unwrap() - 1];
                    prop_assert_eq!(*transition, HookTransition::Terminating, "no launch hook exists");
                    prop_assert_eq!(state, "Terminating:Wait");
                }
                _ => {}
            }
        }
    }
}

/// The plan over `snapshot` with `web` as the HA nodes' scale set (`nodes.scale_set`).
fn plan_on_nodes_set(snapshot: &Snapshot) -> Plan {
    let profile = profile();
    let mut matched = MatchedSnapshot::new(snapshot, &profile);
    matched.nodes_set = Some(set_key("web"));
    let mut history = History::default();
    history.observe(&matched);
    plan_matched(&matched, &history, snapshot.taken_at, &profile)
}

#[test]
fn a_terminating_node_host_of_the_nodes_set_is_left_to_its_drain_job() {
    use crate::ha::tests_props::{busy, node};
    let mut snapshot = scale_in("Terminating:Wait", terminating(), vec![]);
    snapshot.nodes = Ok(vec![node("N1", "web-1"), busy(node("N3", "WEB-3.corp.local"), 2)]);
    let plan = plan_on_nodes_set(&snapshot);
    assert_eq!(completions(&plan), vec![], "a busy node's host is never let go at once: {plan:#?}");
    let owned = plan.actions.iter().find(|a| a.id.starts_with("note:lifecycle-node-host:")).expect("a note");
    assert!(
        owned.reason.contains("WEB-3.corp.local") && owned.reason.contains("drain job"),
        "{}",
        owned.reason
    );

    // Unsure whether it hosts a node (the nodes unreadable, or two VMs answer one node's name): held.
    let mut unreadable = snapshot.clone();
    unreadable.nodes = Err(crate::snapshot::ReadFailure::new("octopus nodes", "HTTP 503"));
    let plan = plan_on_nodes_set(&unreadable);
    assert_eq!(completions(&plan), vec![]);
    assert!(plan.actions.iter().any(|a| a.id.starts_with("note:lifecycle-held:")), "{plan:#?}");

    // No node answers to its name: the planner completes it as before.
    snapshot.nodes = Ok(vec![node("N1", "web-1")]);
    assert_eq!(
        completions(&plan_on_nodes_set(&snapshot)),
        vec![("3".to_string(), LifecycleResult::Continue)]
    );
}

#[test]
fn a_group_scaling_in_waits_in_its_own_words_not_azures() {
    let mut history = History::default();
    let plan = refresh(&mut history, &scale_in("Terminating:Wait", terminating(), three_targets()));
    let wait = plan.actions.iter().find(|a| matches!(a.action, Action::Wait { .. })).expect("a wait row");
    assert!(!wait.reason.contains("provisioning"), "{}", wait.reason);
    assert!(wait.reason.contains("3 Terminating:Wait"), "{}", wait.reason);
    let text = format!("{} {:?}", wait.reason, wait.observations);
    assert!(!text.contains("Azure") && !text.contains("provisioning Deleting"), "{text}");
    if let Action::Wait { scale_set, .. } = &wait.action {
        let mut on_aws = wait.action.clone();
        if let Action::Wait { scale_set: key, .. } = &mut on_aws {
            *key = crate::model::ScaleSetKey { provider: "aws".into(), ..scale_set.clone() };
        }
        assert!(on_aws.summary().ends_with("2/2 in service)"), "{}", on_aws.summary());
    }
    // Past the provisioning timeout, the advice names AWS's own record of what the group does.
    let later = aws(
        SnapshotBuilder::new(at(4_000))
            .set(
                "web",
                2,
                vec![instance(1, "InService"), instance(2, "InService"), instance(3, "Terminating:Wait")],
            )
            .targets(three_targets())
            .build(),
        terminating(),
    );
    let plan = refresh(&mut history, &later);
    let wait = plan.actions.iter().find(|a| matches!(a.action, Action::Wait { .. })).expect("a wait row");
    assert!(wait.reason.contains("scaling activities") && !wait.reason.contains("Azure"), "{}", wait.reason);
}

/// With a warm pool whose InstanceReusePolicy has ReuseOnScaleIn, a scaled-in instance returns to
/// the pool and waits in `Warmed:Pending:Wait` on the group's *terminating* hook ("Use lifecycle
/// hooks with a warm pool in Auto Scaling group", Amazon EC2 Auto Scaling User Guide). Such an
/// instance that hosts a busy HA node is being taken out of service: it is never "released into
/// the pool" at once (nor under the launch hook).
#[test]
fn a_busy_node_host_returning_to_the_warm_pool_is_never_released_at_once() {
    use crate::ha::tests_props::{busy, node};
    let hooks = vec![hook("ready", HookTransition::Launching), hook("drain", HookTransition::Terminating)];
    let mut snapshot = scale_in("Warmed:Pending:Wait", hooks, vec![]);
    snapshot.nodes = Ok(vec![node("N1", "web-1"), busy(node("N3", "WEB-3.corp.local"), 2)]);
    let plan = plan_on_nodes_set(&snapshot);
    assert_eq!(
        completions(&plan),
        vec![],
        "instance 3 hosts busy HA node WEB-3.corp.local and waits on its way back to the warm pool, \
         yet the plan completes its wait at once: {:#?}",
        plan.actions
            .iter()
            .filter(|a| a.id.starts_with("complete-lifecycle:"))
            .map(|a| (&a.id, &a.reason))
            .collect::<Vec<_>>()
    );
}
