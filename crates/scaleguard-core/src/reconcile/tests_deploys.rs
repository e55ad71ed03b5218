//! Deploy rules added for issue 13: names that cannot be told apart are never deployed to, and a
//! deployment of another release in flight holds the rollout.

use super::testkit::*;
use super::tests_deletes::refresh;
use super::*;
use crate::model::{Action, ActionKind, TaskState};

fn deploy_targets(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Deploy { target_ids, .. } => Some(target_ids.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Machines-1 on web-1 has release R1; `extra` targets are new.
fn with_targets(extra: Vec<crate::model::Target>) -> crate::snapshot::Snapshot {
    let mut web = project("Projects-1", Some("Releases-1"));
    web.deployments = vec![deployment(
        "Deployments-1",
        "Projects-1",
        "Releases-1",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    let mut targets = vec![target_on("Machines-1", "web", 1)];
    targets.extend(extra);
    SnapshotBuilder::new(at(0))
        .set("web", 3, vec![vm("web", 1), vm("web", 2), vm("web", 7)])
        .targets(targets)
        .project(web)
        .build()
}

/// Issue 13 item 6: WEBVM7, webvm7.corp.local and WEBVM7.other all received the deployment
/// although duplicates are "never resolved".
#[test]
fn targets_sharing_a_name_are_held_and_noted_never_deployed_to() {
    let snapshot = with_targets(vec![
        target_on("Machines-2", "web", 2),
        target("Machines-7", "WEB-7"),
        target("Machines-8", "web-7.corp.local"),
        target("Machines-9", "WEB-7.other"),
    ]);
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(deploy_targets(&plan), ["Machines-2"], "only the unambiguous new target");
    let deploy = plan.actions.iter().find(|a| a.action.kind() == ActionKind::Deploy).unwrap();
    let held: Vec<&String> = deploy.observations.iter().filter(|o| o.contains("held")).collect();
    assert_eq!(held.len(), 1, "{:?}", deploy.observations);
    for id in ["Machines-7", "Machines-8", "Machines-9"] {
        assert!(held[0].contains(id), "{held:?}");
    }
    // With no other new target the duplicates alone propose nothing: the note says why.
    let alone = with_targets(vec![target("Machines-7", "WEB-7"), target("Machines-8", "web-7.corp.local")]);
    let plan = refresh(&mut History::default(), &alone);
    assert!(deploy_targets(&plan).is_empty(), "{:?}", plan.actions);
    assert!(plan.actions.iter().any(|a| a.id == "note:duplicate-target-name:web-7"));
}

fn with_in_flight(state: Option<TaskState>) -> crate::snapshot::Snapshot {
    let mut snapshot = with_targets(vec![target_on("Machines-2", "web", 2)]);
    if let Ok(projects) = &mut snapshot.projects {
        let mut newer = deployment("Deployments-5", "Projects-1", "Releases-2", &[], &[], TaskState::Queued);
        newer.task_state = state;
        projects[0].other_releases_in_flight =
            vec![crate::snapshot::InFlightDeployment { release_version: "2.0.0".into(), deployment: newer }];
    }
    snapshot
}

/// Issue 13 item 6: a queued or executing deployment of a newer release did not stop the rollout
/// of the older current release to new targets.
#[test]
fn another_release_in_flight_turns_the_deploy_into_a_wait_that_says_why() {
    for state in [Some(TaskState::Queued), Some(TaskState::Executing), None] {
        let snapshot = with_in_flight(state);
        let plan = refresh(&mut History::default(), &snapshot);
        assert!(deploy_targets(&plan).is_empty(), "{state:?}: {:?}", plan.actions);
        let wait = plan.actions.first().expect("the wait comes first");
        assert_eq!(wait.id, "wait:deployment:Projects-1:Deployments-5");
        assert!(matches!(wait.action, Action::WaitForDeployment { held_targets: 1, .. }), "{wait:?}");
        for word in ["2.0.0", "Deployments-5", "queue behind it", "1.0.Releases-1"] {
            assert!(wait.reason.contains(word), "{word}: {}", wait.reason);
        }
        assert_eq!(summarize(&plan).waits, 1);
        assert_eq!(plan.pending_changes().count(), 0, "a wait changes nothing");
    }
}

#[test]
fn still_valid_refuses_a_deploy_once_another_release_is_in_flight_or_a_name_is_shared() {
    let profile = profile();
    let clean = with_targets(vec![target_on("Machines-2", "web", 2)]);
    let mut history = History::default();
    let plan = refresh(&mut history, &clean);
    let deploy = plan.actions.iter().find(|a| a.action.kind() == ActionKind::Deploy).unwrap();
    assert_eq!(still_valid(&deploy.action, &clean, &history, &profile), Ok(()));
    let busy = with_in_flight(Some(TaskState::Executing));
    let why = still_valid(&deploy.action, &busy, &history, &profile).unwrap_err();
    assert!(why.contains("Deployments-5") && why.contains("2.0.0"), "{why}");
    let twin =
        with_targets(vec![target_on("Machines-2", "web", 2), target("Machines-3", "WEB-2.corp.local")]);
    let why = still_valid(&deploy.action, &twin, &history, &profile).unwrap_err();
    assert!(why.contains("web-2"), "{why}");
}

/// Issue 13 review, break 8: successful deployments without `DeployedToMachineIds` (Octopus 3.x
/// has no such field; or null) read as "reached nobody", and the release went to every target.
#[test]
fn a_success_that_does_not_say_what_it_reached_holds_the_targets_it_covered() {
    let mut snapshot =
        with_targets(vec![target_on("Machines-2", "web", 2), target_on("Machines-7", "web", 7)]);
    if let Ok(projects) = &mut snapshot.projects {
        let mut unknown =
            deployment("Deployments-3", "Projects-1", "Releases-1", &["Machines-2"], &[], TaskState::Success);
        unknown.deployed_to_machine_ids = None;
        projects[0].deployments[0].deployed_to_machine_ids = None;
        projects[0].deployments.push(unknown);
    }
    let plan = refresh(&mut History::default(), &snapshot);
    assert!(deploy_targets(&plan).is_empty(), "never redeployed on an unknown: {:?}", plan.actions);
    let note = plan.actions.iter().find(|a| a.id == "note:unknown-reach:Projects-1").expect("noted");
    assert!(
        note.reason.contains("Deployments-1") && note.reason.contains("DeployedToMachineIds"),
        "{note:?}"
    );
    assert_eq!(note.observations.len(), 3, "Machines-1, -2 and -7: {:?}", note.observations);
    // Only Deployments-3 (for Machines-2) is unknown: Machines-7 is new and gets the release.
    if let Ok(projects) = &mut snapshot.projects {
        projects[0].deployments[0].deployed_to_machine_ids = Some(vec!["Machines-1".into()]);
    }
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(deploy_targets(&plan), ["Machines-7"]);
    let deploy = plan.actions.iter().find(|a| a.action.kind() == ActionKind::Deploy).unwrap();
    assert!(deploy.observations.iter().any(|o| o.contains("held 1 target(s)")), "{:?}", deploy.observations);
    let profile = profile();
    let mut history = History::default();
    refresh(&mut history, &snapshot);
    let to_machines_2 = Action::Deploy {
        project_id: "Projects-1".into(),
        project_name: "Project Projects-1".into(),
        release_id: "Releases-1".into(),
        release_version: "1.0.Releases-1".into(),
        environment_id: ENVIRONMENT_ID.into(),
        target_ids: vec!["Machines-2".into()],
        target_names: vec!["web-2".into()],
        tenant: None,
    };
    let why = still_valid(&to_machines_2, &snapshot, &history, &profile).unwrap_err();
    assert!(why.contains("Deployments-3") && why.contains("may have the release"), "{why}");
}

/// Octopus ids name one document in any ASCII case: a server (or a proxy, or another tool)
/// spelling the ids of a successful deployment's reach, its release or its tenant in another
/// case must not make the targets it reached look new. Both with every target id listed once
/// (reach by position) and with one listed twice (reach by id).
#[test]
fn a_deployment_whose_ids_are_spelled_in_another_case_still_reached_its_targets() {
    for listed_twice in [false, true] {
        let mut web = project("Projects-1", Some("Releases-1"));
        web.deployments = vec![deployment(
            "Deployments-1",
            "Projects-1",
            "RELEASES-1",
            &[],
            &["machines-1", "MACHINES-2"],
            TaskState::Success,
        )];
        let mut targets = vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)];
        if listed_twice {
            targets.push(target_on("Machines-2", "web", 2));
        }
        let snapshot = SnapshotBuilder::new(at(0))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .targets(targets)
            .project(web)
            .build();
        let plan = refresh(&mut History::default(), &snapshot);
        assert!(deploy_targets(&plan).is_empty(), "listed twice: {listed_twice}; {plan:#?}");
    }
}
