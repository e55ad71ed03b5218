//! Waits, deploys, notes, ordering and summaries.

use super::testkit::*;
use super::tests_deletes::refresh;
use super::*;
use crate::model::{Action, ActionKind, HealthStatus, PowerState, ProvisioningState, Severity, TaskState};
use crate::snapshot::Snapshot;

fn deploy_targets(plan: &Plan) -> Vec<Vec<String>> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Deploy { target_ids, .. } => Some(target_ids.clone()),
            _ => None,
        })
        .collect()
}

fn waits(plan: &Plan) -> Vec<&PlannedAction> {
    plan.actions.iter().filter(|a| a.action.kind() == ActionKind::Wait).collect()
}

/// Three VMs with targets; Machines-1 and -2 got release R1 in an environment-wide deployment.
fn scaled_out(secs: i64) -> SnapshotBuilder {
    let mut web = project("Projects-1", Some("Releases-1"));
    web.deployments = vec![deployment(
        "Deployments-1",
        "Projects-1",
        "Releases-1",
        &[],
        &["Machines-1", "Machines-2"],
        TaskState::Success,
    )];
    SnapshotBuilder::new(at(secs))
        .set("web", 3, vec![vm("web", 1), vm("web", 2), vm("web", 3)])
        .targets(vec![
            target_on("Machines-1", "web", 1),
            target_on("Machines-2", "web", 2),
            target_on("Machines-3", "web", 3),
        ])
        .project(web)
}

#[test]
fn deploys_only_to_new_targets() {
    let plan = refresh(&mut History::default(), &scaled_out(0).build());
    assert_eq!(deploy_targets(&plan), [vec!["Machines-3".to_string()]]);
    let deploy = plan.actions.iter().find(|a| a.action.kind() == ActionKind::Deploy).expect("deploy");
    assert!(deploy.id.starts_with("deploy:Projects-1:Releases-1:"));
    assert!(deploy.observations.iter().any(|o| o == "2 target(s) already have 1.0.Releases-1"));
}

#[test]
fn deploy_id_is_stable_across_refreshes() {
    let mut history = History::default();
    let first = refresh(&mut history, &scaled_out(0).build());
    let second = refresh(&mut history, &scaled_out(30).build());
    let ids = |plan: &Plan| plan.actions.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&second));
}

#[test]
fn skips_targets_with_active_deployment() {
    for state in [TaskState::Queued, TaskState::Executing, TaskState::Cancelling] {
        let mut snapshot = scaled_out(0).build();
        if let Ok(projects) = &mut snapshot.projects {
            projects[0].deployments.push(deployment(
                "Deployments-2",
                "Projects-1",
                "Releases-1",
                &["Machines-3"],
                &[],
                state,
            ));
        }
        let plan = refresh(&mut History::default(), &snapshot);
        assert!(deploy_targets(&plan).is_empty(), "{state:?} covers Machines-3");
    }
    // A failed deployment does not count as having the release.
    let mut snapshot = scaled_out(0).build();
    if let Ok(projects) = &mut snapshot.projects {
        projects[0].deployments.push(deployment(
            "Deployments-2",
            "Projects-1",
            "Releases-1",
            &["Machines-3"],
            &["Machines-3"],
            TaskState::Failed,
        ));
    }
    assert_eq!(
        deploy_targets(&refresh(&mut History::default(), &snapshot)),
        [vec!["Machines-3".to_string()]]
    );
}

#[test]
fn only_healthy_enabled_running_targets_receive_deploys() {
    let mut snapshot = scaled_out(0)
        .set(
            "api",
            3,
            vec![vm("api", 1), Instance { power_state: PowerState::Stopped, ..vm("api", 2) }, vm("api", 3)],
        )
        .build();
    if let Ok(targets) = &mut snapshot.targets {
        let mut unhealthy = target_on("Machines-4", "api", 1);
        unhealthy.health = HealthStatus::Unavailable;
        let mut disabled = target_on("Machines-6", "api", 3);
        disabled.disabled = true;
        targets.extend([
            unhealthy,
            target_on("Machines-5", "api", 2),
            disabled,
            target("Machines-7", "nowhere"),
        ]);
    }
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(deploy_targets(&plan), [vec!["Machines-3".to_string()]]);
    let deploy = plan.actions.iter().find(|a| a.action.kind() == ActionKind::Deploy).expect("deploy");
    let expected =
        "not deployable now: 1 VM not provisioned and running, 1 disabled, 1 no VM listed, 1 not healthy";
    assert!(deploy.observations.iter().any(|o| o == expected), "{:?}", deploy.observations);
}

use crate::model::Instance;

#[test]
fn waits_while_overprovisioned_extras_exist() {
    // Capacity 3, Azure created 5; all Succeeded, two about to be removed.
    let snapshot: Snapshot = scaled_out(0).set("web", 3, (1..=5).map(|i| vm("web", i)).collect()).build();
    let mut snapshot = snapshot;
    snapshot.scale_sets.remove(0);
    if let Ok(targets) = &mut snapshot.targets {
        targets.extend([target_on("Machines-4", "web", 4), target_on("Machines-5", "web", 5)]);
    }
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(waits(&plan).len(), 1);
    assert!(waits(&plan)[0].observations.iter().any(|o| o.contains("2 overprovisioning extra(s)")));
    assert!(deploy_targets(&plan).is_empty(), "never deploy to a set with extras");
}

#[test]
fn waits_while_any_instance_is_not_final() {
    for state in [
        ProvisioningState::Creating,
        ProvisioningState::Updating,
        ProvisioningState::Deleting,
        ProvisioningState::Other("Migrating".into()),
    ] {
        let mut snapshot = scaled_out(0).build();
        if let Ok(listing) = &mut snapshot.scale_sets[0].listing {
            listing.instances[2].provisioning_state = state.clone();
        }
        let plan = refresh(&mut History::default(), &snapshot);
        assert!(
            matches!(waits(&plan)[..], [PlannedAction { action: Action::Wait { in_progress: 1, .. }, .. }]),
            "{state}"
        );
        assert!(deploy_targets(&plan).is_empty());
    }
    let updating = scaled_out(0).set_state(ProvisioningState::Updating).build();
    assert_eq!(waits(&refresh(&mut History::default(), &updating)).len(), 1);
}

#[test]
fn wait_turns_into_warning_after_timeout() {
    let creating = |secs| {
        let mut snapshot = scaled_out(secs).build();
        if let Ok(listing) = &mut snapshot.scale_sets[0].listing {
            listing.instances[2].provisioning_state = ProvisioningState::Creating;
        }
        snapshot
    };
    let mut history = History::default();
    let early = refresh(&mut history, &creating(0));
    assert!(matches!(waits(&early)[0].action, Action::Wait { timed_out: false, .. }));
    let mid = refresh(&mut history, &creating(45));
    assert!(waits(&mid)[0].observations.iter().any(|o| o == "instance 3 provisioning Creating for 45 s"));
    let late = refresh(&mut history, &creating(900));
    let wait = waits(&late)[0];
    assert!(matches!(wait.action, Action::Wait { timed_out: true, waiting_secs: 900, .. }));
    assert!(wait.reason.contains("timeout"));
    assert!(late.actions.iter().any(|a| a.id.starts_with("note:wait-timed-out:")));
    // Steady again: the clock resets.
    refresh(&mut history, &scaled_out(1000).build());
    assert!(waits(&refresh(&mut history, &creating(1100)))
        .first()
        .is_some_and(|w| matches!(w.action, Action::Wait { waiting_secs: 0, timed_out: false, .. })));
}

#[test]
fn vm_without_target_is_noted_after_a_while() {
    let lonely = |secs| {
        SnapshotBuilder::new(at(secs))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .targets(vec![target_on("Machines-1", "web", 1)])
            .build()
    };
    let mut history = History::default();
    assert!(!refresh(&mut history, &lonely(0))
        .actions
        .iter()
        .any(|a| a.id.starts_with("note:unregistered:")));
    assert!(!refresh(&mut history, &lonely(599))
        .actions
        .iter()
        .any(|a| a.id.starts_with("note:unregistered:")));
    let plan = refresh(&mut history, &lonely(600));
    assert!(plan.actions.iter().any(|a| a.id == "note:unregistered:vm:vm-web-2"));
}

#[test]
fn duplicates_and_never_deployed_projects_are_noted() {
    let mut twin = target("Machines-9", "WEB-1.corp.local");
    twin.thumbprint = Some("abc".into());
    let mut first = target_on("Machines-1", "web", 1);
    first.thumbprint = Some("ABC".into());
    let snapshot = SnapshotBuilder::new(at(0))
        .set("web", 1, vec![vm("web", 1)])
        .targets(vec![first, twin])
        .project(project("Projects-2", None))
        .build();
    let plan = refresh(&mut History::default(), &snapshot);
    let ids: Vec<&str> = plan.actions.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains(&"note:duplicate-target-name:web-1"), "{ids:?}");
    assert!(ids.contains(&"note:duplicate-thumbprint:ABC"), "{ids:?}");
    assert!(ids.contains(&"note:never-deployed:Projects-2"), "{ids:?}");
}

#[test]
fn plan_is_ordered_waits_deletes_deploys_notes() {
    let mut history = History::default();
    let mut plan = Plan { generated_at: at(0), actions: vec![] };
    for secs in [0, 200, 400, 600] {
        let snapshot = scaled_out(secs)
            // Listing its whole capacity (so deletes are not held), its VM still being created.
            .set("api", 1, vec![vm_in("api", 1, ProvisioningState::Creating)])
            .failed_projects()
            .build();
        let mut snapshot = snapshot;
        snapshot.projects = scaled_out(secs).build().projects;
        if let Ok(targets) = &mut snapshot.targets {
            targets.push(target("Machines-8", "gone"));
            targets.push(Target { disabled: true, ..target_on("Machines-4", "web", 9) });
            // Every listed VM has a target, or the never-matched deletes above would be held.
            targets.push(target_on("Machines-5", "api", 1));
        }
        plan = refresh(&mut history, &snapshot);
    }
    let kinds: Vec<ActionKind> = plan.actions.iter().map(|a| a.action.kind()).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);
    let summary = summarize(&plan);
    assert_eq!((summary.waits, summary.deletes, summary.deploys, summary.deploy_targets), (1, 2, 1, 1));
    assert!(summary.notes >= 1);
    // Notes: most severe first.
    let severities: Vec<Severity> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Note { severity, .. } => Some(*severity),
            _ => None,
        })
        .collect();
    assert!(severities.windows(2).all(|w| w[0] >= w[1]), "{severities:?}");
    assert!(summary.to_string().contains("2 delete(s)"));
}

use crate::model::Target;

#[test]
fn failed_reads_are_explained() {
    let snapshot = SnapshotBuilder::new(at(0)).failed_set("web").failed_targets().failed_projects().build();
    let plan = refresh(&mut History::default(), &snapshot);
    assert!(!plan.has_changes());
    let reasons: Vec<&str> = plan.actions.iter().map(|a| a.reason.as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("nothing will be deleted while the listing of rg/web fails")));
    assert!(reasons.iter().any(|r| r.contains("target listing fails")));
    assert!(reasons.iter().any(|r| r.contains("no deployment will be proposed")));
}

#[test]
fn still_valid_rechecks_deploy_against_fresh_state() {
    let profile = profile();
    let plan = refresh(&mut History::default(), &scaled_out(0).build());
    let deploy =
        plan.actions.iter().find(|a| a.action.kind() == ActionKind::Deploy).expect("deploy").action.clone();
    let history = History::default();
    assert_eq!(still_valid(&deploy, &scaled_out(10).build(), &history, &profile), Ok(()));

    // A trigger run queued the same deployment meanwhile.
    let mut raced = scaled_out(10).build();
    if let Ok(projects) = &mut raced.projects {
        projects[0].deployments.push(deployment(
            "Deployments-7",
            "Projects-1",
            "Releases-1",
            &[],
            &[],
            TaskState::Queued,
        ));
    }
    assert!(still_valid(&deploy, &raced, &history, &profile).is_err_and(|e| e.contains("Deployments-7")));

    // It already succeeded.
    let mut done = scaled_out(10).build();
    if let Ok(projects) = &mut done.projects {
        projects[0].deployments.push(deployment(
            "Deployments-7",
            "Projects-1",
            "Releases-1",
            &["Machines-3"],
            &["Machines-3"],
            TaskState::Success,
        ));
    }
    assert!(still_valid(&deploy, &done, &history, &profile).is_err_and(|e| e.contains("already has")));

    // Scaled in meanwhile: its VM is gone.
    let mut scaled_in = scaled_out(10).build();
    if let Ok(listing) = &mut scaled_in.scale_sets[0].listing {
        listing.instances.pop();
    }
    assert!(still_valid(&deploy, &scaled_in, &history, &profile)
        .is_err_and(|e| e.contains("not in a fresh listing")));

    // A newer release is now the one to roll out.
    let mut newer = scaled_out(10).build();
    if let Ok(projects) = &mut newer.projects {
        projects[0].latest_release = Some(release("Projects-1", "Releases-2"));
    }
    assert!(still_valid(&deploy, &newer, &history, &profile).is_err());
}

/// A target whose name now matches a VM with another vmId keeps the deployments that reached
/// it: a redeploy would follow any server that changes vmIds (issue 13 review, break 9). The note
/// says what happened and what to do.
#[test]
fn a_replaced_vm_is_noted_but_its_target_keeps_the_release_it_had() {
    let dated = |secs| {
        let mut snapshot = scaled_out(secs).build();
        if let Ok(projects) = &mut snapshot.projects {
            projects[0].deployments[0].created = Some(at(-100));
        }
        snapshot
    };
    let mut history = History::default();
    refresh(&mut history, &dated(0));
    let mut snapshot = dated(100);
    if let Ok(listing) = &mut snapshot.scale_sets[0].listing {
        listing.instances[0].vm_id = Some("vm-new".into());
    }
    let plan = refresh(&mut history, &snapshot);
    assert_eq!(deploy_targets(&plan), [vec!["Machines-3".to_string()]]);
    let replaced = plan.actions.iter().find(|a| a.id == "note:vm-replaced:Machines-1").expect("noted");
    assert!(replaced.reason.contains("deploy it in Octopus"), "{}", replaced.reason);
}

#[test]
fn plan_is_deterministic() {
    let snapshot = scaled_out(0).set("api", 1, vec![vm("api", 1)]).build();
    let a = refresh(&mut History::default(), &snapshot);
    let b = refresh(&mut History::default(), &snapshot);
    assert_eq!(a, b);
}

#[test]
fn evidence_lists_stay_short_at_scale() {
    let creating: Vec<Instance> = (0..200).map(|i| vm_in("web", i, ProvisioningState::Creating)).collect();
    let snapshot = SnapshotBuilder::new(at(0)).set("web", 200, creating).build();
    let plan = refresh(&mut History::default(), &snapshot);
    let wait = waits(&plan)[0];
    assert!(wait.observations.len() < 30);
    assert!(wait.observations.iter().any(|o| o == "… and 180 more"));
}

#[test]
fn overprovisioned_extra_that_registered_is_deleted_and_never_deployed() {
    let mut web = project("Projects-1", Some("Releases-1"));
    web.deployments = vec![deployment(
        "Deployments-1",
        "Projects-1",
        "Releases-1",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    let targets = vec![
        target_on("Machines-1", "web", 1),
        target_on("Machines-2", "web", 2),
        target_on("Machines-3", "web", 3),
    ];
    let mut history = History::default();
    // Capacity 2 asked, three created: the extra web-3 registered before Azure removed it.
    let with_extra = SnapshotBuilder::new(at(0))
        .set("web", 2, vec![vm("web", 1), vm("web", 2), vm("web", 3)])
        .targets(targets.clone())
        .project(web.clone())
        .build();
    let plan = refresh(&mut history, &with_extra);
    assert_eq!(waits(&plan).len(), 1);
    assert!(deploy_targets(&plan).is_empty());
    let mut plan = plan;
    for secs in [100, 250, 400] {
        let settled = SnapshotBuilder::new(at(secs))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .targets(targets.clone())
            .project(web.clone())
            .build();
        plan = refresh(&mut history, &settled);
        assert_eq!(deploy_targets(&plan), [vec!["Machines-2".to_string()]], "never the extra");
    }
    assert!(plan.actions.iter().any(|a| a.id == "delete-target:Machines-3"));
}
