//! Tenanted deployments (issue 18): one deployment per tenant of that tenant's current release,
//! never twice per (release, tenant, target), never a tenant's release to a target not connected
//! to it, untenanted targets follow the untenanted release, and notes for what gets nothing.

use super::testkit::*;
use super::tests_deletes::refresh;
use super::*;
use crate::model::{Action, Severity, TaskState, TenantedMode};
use crate::snapshot::{ProjectState, Snapshot};

/// (tenant id or "", release id, target ids) of every deploy, in plan order.
fn deploys(plan: &Plan) -> Vec<(String, String, Vec<String>)> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Deploy { tenant, release_id, target_ids, .. } => Some((
                tenant.as_ref().map_or(String::new(), |t| t.id.clone()),
                release_id.clone(),
                target_ids.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn notes_with(plan: &Plan, id_prefix: &str) -> Vec<crate::model::PlannedAction> {
    plan.actions.iter().filter(|a| a.id.starts_with(id_prefix)).cloned().collect()
}

/// A tenanted project: Tenants-1 is on Releases-1 (reached Machines-1), Tenants-2 (tag
/// `Region/EU`) on Releases-2 (reached Machines-1 too).
fn tenanted_project(mode: TenantedMode) -> ProjectState {
    let mut web = project("Projects-1", None);
    web.tenanted_mode = mode;
    let mut t1 = tenant("Tenants-1", "Projects-1", Some("Releases-1"), &[]);
    t1.deployments = vec![tenant_deployment(
        "Deployments-1",
        "Tenants-1",
        "Releases-1",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    let mut t2 = tenant("Tenants-2", "Projects-1", Some("Releases-2"), &["Region/EU"]);
    t2.deployments = vec![tenant_deployment(
        "Deployments-2",
        "Tenants-2",
        "Releases-2",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    web.tenants = vec![t1, t2];
    web
}

fn world(project: ProjectState, targets: Vec<crate::model::Target>) -> Snapshot {
    SnapshotBuilder::new(at(0))
        .set("web", 4, vec![vm("web", 1), vm("web", 2), vm("web", 3), vm("web", 4)])
        .targets(targets)
        .project(project)
        .build()
}

fn both(target: crate::model::Target) -> crate::model::Target {
    tenanted(target, TenantedMode::Tenanted, &["Tenants-1"], &["Region/EU"])
}

#[test]
fn a_new_target_of_two_tenants_gets_one_deploy_per_tenant_of_that_tenants_release() {
    let snapshot = world(
        tenanted_project(TenantedMode::Tenanted),
        vec![
            both(target_on("Machines-1", "web", 1)),
            both(target_on("Machines-2", "web", 2)),
            tenanted(target_on("Machines-3", "web", 3), TenantedMode::Tenanted, &[], &["Region/EU"]),
        ],
    );
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(
        deploys(&plan),
        [
            ("Tenants-1".to_string(), "Releases-1".to_string(), vec!["Machines-2".to_string()]),
            (
                "Tenants-2".to_string(),
                "Releases-2".to_string(),
                vec!["Machines-2".to_string(), "Machines-3".to_string()]
            ),
        ],
        "Machines-3 is connected to Tenants-2 only (by tag); Machines-1 has both releases"
    );
    let t1 = plan.actions.iter().find(|a| a.id.starts_with("deploy:Projects-1:Tenants-1:")).unwrap();
    assert!(t1.action.summary().contains("for tenant Tenant Tenants-1"), "{}", t1.action.summary());
    assert!(t1.reason.contains("for tenant Tenant Tenants-1"), "{}", t1.reason);
    assert!(
        notes_with(&plan, "note:never-deployed").is_empty(),
        "a Tenanted project has no untenanted release"
    );
}

#[test]
fn another_tenants_deployment_neither_gives_nor_blocks_the_release() {
    let mut web = tenanted_project(TenantedMode::Tenanted);
    // Tenants-2's Releases-2 is queued for Machines-2 already; Tenants-1 has a success of
    // Releases-1 that reached Machines-2 only as an *untenanted* deployment (does not count).
    web.tenants[1].deployments.push(tenant_deployment(
        "Deployments-5",
        "Tenants-2",
        "Releases-2",
        &["Machines-2"],
        &[],
        TaskState::Queued,
    ));
    web.tenants[0].deployments.push(deployment(
        "Deployments-6",
        "Projects-1",
        "Releases-1",
        &[],
        &["Machines-2"],
        TaskState::Success,
    ));
    // A queued deployment of Tenants-1's release for Tenants-2 covers Machines-2: not Tenants-1's.
    web.tenants[0].deployments.push(tenant_deployment(
        "Deployments-7",
        "Tenants-2",
        "Releases-1",
        &["Machines-2"],
        &[],
        TaskState::Executing,
    ));
    let snapshot =
        world(web, vec![both(target_on("Machines-1", "web", 1)), both(target_on("Machines-2", "web", 2))]);
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(
        deploys(&plan),
        [("Tenants-1".to_string(), "Releases-1".to_string(), vec!["Machines-2".to_string()])],
        "Tenants-2's queued deployment absorbs its own deploy only"
    );
}

#[test]
fn untenanted_targets_of_a_mixed_project_follow_the_untenanted_release_only() {
    let mut web = tenanted_project(TenantedMode::TenantedOrUntenanted);
    web.latest_release = Some(release("Projects-1", "Releases-9"));
    web.deployments = vec![deployment(
        "Deployments-9",
        "Projects-1",
        "Releases-9",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    let snapshot = world(
        web,
        vec![
            target_on("Machines-1", "web", 1),
            target_on("Machines-2", "web", 2),
            tenanted(
                target_on("Machines-3", "web", 3),
                TenantedMode::TenantedOrUntenanted,
                &["Tenants-1"],
                &[],
            ),
            tenanted(target_on("Machines-4", "web", 4), TenantedMode::TenantedOrUntenanted, &[], &[]),
        ],
    );
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(
        deploys(&plan),
        [
            (
                "".to_string(),
                "Releases-9".to_string(),
                vec!["Machines-2".to_string(), "Machines-4".to_string()]
            ),
            ("Tenants-1".to_string(), "Releases-1".to_string(), vec!["Machines-3".to_string()]),
        ],
        "a target connected to a tenant gets that tenant's release, never also the untenanted one"
    );
    let untenanted = plan.actions.iter().find(|a| a.id.starts_with("deploy:Projects-1:Releases-9:")).unwrap();
    assert!(matches!(&untenanted.action, Action::Deploy { tenant: None, .. }));
}

#[test]
fn an_untenanted_project_ignores_tenants_and_tenanted_only_targets() {
    let mut web = project("Projects-1", Some("Releases-1"));
    web.deployments = vec![deployment(
        "Deployments-1",
        "Projects-1",
        "Releases-1",
        &[],
        &["Machines-1"],
        TaskState::Success,
    )];
    web.tenants = vec![tenant("Tenants-1", "Projects-1", Some("Releases-5"), &[])];
    let snapshot = world(
        web,
        vec![
            target_on("Machines-1", "web", 1),
            target_on("Machines-2", "web", 2),
            tenanted(target_on("Machines-3", "web", 3), TenantedMode::Tenanted, &["Tenants-1"], &[]),
        ],
    );
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(deploys(&plan), [("".to_string(), "Releases-1".to_string(), vec!["Machines-2".to_string()])]);
    assert!(notes_with(&plan, "note:tenant").is_empty(), "{:?}", plan.actions);
}

#[test]
fn a_tenant_never_deployed_here_gets_nothing_and_a_note_says_why() {
    let mut web = tenanted_project(TenantedMode::Tenanted);
    web.tenants[0].latest_release = None;
    web.tenants[0].deployments.clear();
    let snapshot =
        world(web, vec![both(target_on("Machines-1", "web", 1)), both(target_on("Machines-2", "web", 2))]);
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(
        deploys(&plan),
        [("Tenants-2".to_string(), "Releases-2".to_string(), vec!["Machines-2".to_string()])]
    );
    let notes = notes_with(&plan, "note:tenant-never-deployed:Projects-1:Tenants-1");
    assert_eq!(notes.len(), 1, "{:?}", plan.actions);
    assert!(
        notes[0].reason.contains("Tenant Tenants-1") && notes[0].reason.contains("2 connected"),
        "{}",
        notes[0].reason
    );
}

#[test]
fn targets_connected_to_no_tenant_of_the_project_get_nothing_and_are_named() {
    let snapshot = world(
        tenanted_project(TenantedMode::Tenanted),
        vec![
            both(target_on("Machines-1", "web", 1)),
            tenanted(target_on("Machines-2", "web", 2), TenantedMode::Tenanted, &["Tenants-9"], &[]),
            tenanted(target_on("Machines-3", "web", 3), TenantedMode::Tenanted, &[], &["Region/Mars"]),
            target_on("Machines-4", "web", 4),
        ],
    );
    let plan = refresh(&mut History::default(), &snapshot);
    assert!(deploys(&plan).is_empty(), "nothing is deployed on a guess: {:?}", deploys(&plan));
    let notes = notes_with(&plan, "note:tenant-unserved:Projects-1");
    assert_eq!(notes.len(), 1, "{:?}", plan.actions);
    let Action::Note { severity, subject } = &notes[0].action else { panic!() };
    assert_eq!(*severity, Severity::Warning);
    assert!(subject.starts_with("3 target(s)"), "{subject}");
    let text = notes[0].observations.join("\n");
    assert!(text.contains("Machines-2") && text.contains("Tenants-9"), "{text}");
    assert!(text.contains("Machines-3") && text.contains("Region/Mars"), "{text}");
    assert!(text.contains("Machines-4") && text.contains("Untenanted"), "{text}");
}

#[test]
fn a_tenant_gone_since_the_plan_fails_the_recheck_naming_it() {
    let targets = vec![both(target_on("Machines-1", "web", 1)), both(target_on("Machines-2", "web", 2))];
    let snapshot = world(tenanted_project(TenantedMode::Tenanted), targets.clone());
    let mut history = History::default();
    let plan = refresh(&mut history, &snapshot);
    let t1 = plan.actions.iter().find(|a| a.id.starts_with("deploy:Projects-1:Tenants-1:")).unwrap().clone();
    assert_eq!(still_valid(&t1.action, &snapshot, &history, &profile()), Ok(()));

    let mut gone = tenanted_project(TenantedMode::Tenanted);
    gone.tenants.remove(0);
    let fresh = world(gone, targets.clone());
    refresh(&mut history, &fresh);
    let err = still_valid(&t1.action, &fresh, &history, &profile()).unwrap_err();
    assert!(err.contains("Tenant Tenants-1 (Tenants-1)") && err.contains("no longer connected"), "{err}");

    // Deployed for that tenant in the meantime: no second one.
    let mut done = tenanted_project(TenantedMode::Tenanted);
    done.tenants[0].deployments.push(tenant_deployment(
        "Deployments-8",
        "Tenants-1",
        "Releases-1",
        &["Machines-2"],
        &[],
        TaskState::Executing,
    ));
    let fresh = world(done, targets);
    refresh(&mut history, &fresh);
    let err = still_valid(&t1.action, &fresh, &history, &profile()).unwrap_err();
    assert!(err.contains("Deployments-8"), "{err}");
}

#[test]
fn a_tenants_other_release_in_flight_holds_only_that_tenants_rollout() {
    let mut web = tenanted_project(TenantedMode::Tenanted);
    web.tenants[0].other_releases_in_flight = vec![crate::snapshot::InFlightDeployment {
        release_version: "2.0".into(),
        deployment: tenant_deployment(
            "Deployments-9",
            "Tenants-1",
            "Releases-3",
            &[],
            &[],
            TaskState::Executing,
        ),
    }];
    let snapshot =
        world(web, vec![both(target_on("Machines-1", "web", 1)), both(target_on("Machines-2", "web", 2))]);
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(
        deploys(&plan),
        [("Tenants-2".to_string(), "Releases-2".to_string(), vec!["Machines-2".to_string()])]
    );
    let wait = plan.actions.iter().find(|a| a.id == "wait:deployment:Projects-1:Deployments-9").unwrap();
    assert!(wait.reason.contains("for tenant Tenant Tenants-1"), "{}", wait.reason);
}

/// Issue 13's unknown-reach rule per lane: a tenant's success without `DeployedToMachineIds`
/// holds the targets it covered in that tenant's lane only (with a note naming the tenant);
/// another tenant's lane deploys as usual.
#[test]
fn a_tenants_success_of_unknown_reach_holds_only_that_tenants_targets() {
    let mut web = tenanted_project(TenantedMode::Tenanted);
    let mut unknown =
        tenant_deployment("Deployments-7", "Tenants-1", "Releases-1", &[], &[], TaskState::Success);
    unknown.deployed_to_machine_ids = None;
    web.tenants[0].deployments.push(unknown);
    let targets = vec![both(target_on("Machines-1", "web", 1)), both(target_on("Machines-2", "web", 2))];
    let snapshot = world(web, targets.clone());
    let mut history = History::default();
    let plan = refresh(&mut history, &snapshot);
    assert_eq!(
        deploys(&plan),
        [("Tenants-2".to_string(), "Releases-2".to_string(), vec!["Machines-2".to_string()])],
        "Tenants-1's lane holds Machines-2; Tenants-2's lane is not affected"
    );
    let notes = notes_with(&plan, "note:unknown-reach:");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0].id, "note:unknown-reach:Projects-1:Tenants-1");
    let Action::Note { subject, .. } = &notes[0].action else { panic!("{notes:#?}") };
    assert!(subject.contains("for tenant Tenant Tenants-1"), "{subject}");
    assert!(notes[0].observations.iter().any(|o| o.contains("Machines-2") && o.contains("Deployments-7")));

    // The re-check refuses a deploy planned before that success showed up.
    let before = world(tenanted_project(TenantedMode::Tenanted), targets);
    let planned = refresh(&mut History::default(), &before);
    let t1 = planned.actions.iter().find(|a| a.id.starts_with("deploy:Projects-1:Tenants-1:")).unwrap();
    let err = still_valid(&t1.action, &snapshot, &history, &profile()).unwrap_err();
    assert!(err.contains("Deployments-7") && err.contains("may have the release"), "{err}");
}

/// Another tenant's (or an untenanted) success of unknown reach says nothing about this lane.
#[test]
fn an_unknown_reach_success_of_another_lane_holds_nothing_here() {
    let mut web = tenanted_project(TenantedMode::Tenanted);
    let mut other =
        tenant_deployment("Deployments-7", "Tenants-2", "Releases-1", &[], &[], TaskState::Success);
    other.deployed_to_machine_ids = None;
    web.tenants[0].deployments.push(other);
    let snapshot =
        world(web, vec![both(target_on("Machines-1", "web", 1)), both(target_on("Machines-2", "web", 2))]);
    let plan = refresh(&mut History::default(), &snapshot);
    assert_eq!(
        deploys(&plan),
        [
            ("Tenants-1".to_string(), "Releases-1".to_string(), vec!["Machines-2".to_string()]),
            ("Tenants-2".to_string(), "Releases-2".to_string(), vec!["Machines-2".to_string()]),
        ]
    );
    assert!(notes_with(&plan, "note:unknown-reach:").is_empty());
}

/// Issue 13's "reached is never redeployed", per lane: a success for the tenant that reached the
/// target since the plan fails the re-check, whatever the target's VM.
#[test]
fn a_tenants_success_that_reached_the_target_since_the_plan_fails_the_recheck() {
    let targets = vec![both(target_on("Machines-1", "web", 1)), both(target_on("Machines-2", "web", 2))];
    let snapshot = world(tenanted_project(TenantedMode::Tenanted), targets.clone());
    let mut history = History::default();
    let plan = refresh(&mut history, &snapshot);
    let t2 = plan.actions.iter().find(|a| a.id.starts_with("deploy:Projects-1:Tenants-2:")).unwrap().clone();

    let mut done = tenanted_project(TenantedMode::Tenanted);
    done.tenants[1].deployments.push(tenant_deployment(
        "Deployments-8",
        "Tenants-2",
        "Releases-2",
        &["Machines-2"],
        &["Machines-2"],
        TaskState::Success,
    ));
    let fresh = world(done, targets);
    refresh(&mut history, &fresh);
    let err = still_valid(&t2.action, &fresh, &history, &profile()).unwrap_err();
    assert!(err.contains("Machines-2") && err.contains("Deployments-8 reached it"), "{err}");
}
