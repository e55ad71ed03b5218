//! Tenanted deploys under hostile or odd answers, against the real binary and the simulator behind a
//! rewriting proxy: the answer lies about spelling only, the simulated world stays true and
//! judges what the binary did.

use crate::support::bench::Bench;
use crate::support::rewriting_proxy::behind_proxy;
use scaleguard::sim::world::{Deployment, Task, TaskState};
use scaleguard::sim::SimOptions;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

fn deploys(plan: &Value) -> Vec<Value> {
    crate::support::bench::actions_of_kind(plan, "deploy")
}

/// The `tenants` scenario with Portal made TenantedOrUntenanted and given an untenanted release
/// (2.0.0, deployed successfully to the targets there at t=0), settled until the scale-out's new
/// targets are registered and the plan proposes deploys.
async fn tenants_with_an_untenanted_lane() -> (Bench, Value) {
    let bench =
        Bench::start(SimOptions::new("tenants").manual_clock(), Bench::apply_profile).await.with_sim_clock();
    bench.sim.with_world_mut(|w| {
        let portal = w.projects.iter_mut().find(|p| p.name == "Portal").unwrap();
        portal.tenanted_mode = "TenantedOrUntenanted".into();
        let portal = portal.id.clone();
        let release =
            w.releases.iter().find(|r| r.project_id == portal && r.version == "2.0.0").unwrap().id.clone();
        let reached: Vec<String> = w.machines.iter().map(|m| m.id.clone()).collect();
        let (deployment_id, task_id) = (w.next_id("Deployments"), w.next_id("ServerTasks"));
        w.tasks.push(Task {
            id: task_id.clone(),
            name: "Deploy".into(),
            description: "Deploy Portal release 2.0.0 to Production".into(),
            state: TaskState::Success,
            node_id: w.nodes.first().map(|n| n.id.clone()),
            queue_time: -1900.0,
            start_time: Some(-1895.0),
            completed_time: Some(-1850.0),
            finish_at: None,
            deployment_id: Some(deployment_id.clone()),
            project_id: Some(portal.clone()),
        });
        let environment_id = w.octopus.environment_id.clone();
        w.deployments.push(Deployment {
            id: deployment_id,
            release_id: release,
            project_id: portal,
            environment_id,
            task_id,
            specific_machine_ids: Vec::new(),
            excluded_machine_ids: Vec::new(),
            deployed_to_machine_ids: reached,
            comments: String::new(),
            use_guided_failure: true,
            created: -1900.0,
            tenant_id: None,
        });
    });
    let before = bench.machines().len();
    let mut plan = Value::Null;
    for _ in 0..40 {
        bench.sim.advance(Duration::from_secs(10)).unwrap();
        plan = bench.run(&["plan", "--format", "json"]).await.json();
        let waiting = plan["actions"].as_array().into_iter().flatten().any(|a| a["action"]["kind"] == "wait");
        if bench.machines().len() == before + 4 && !waiting && !deploys(&plan).is_empty() {
            break;
        }
    }
    (bench, plan)
}

/// Untenanted deployments of Portal that scaleguard created, each with the machines the world
/// says are connected to a tenant of Portal for the environment.
fn untenanted_portal_to_tenant_targets(bench: &Bench) -> Vec<(String, BTreeSet<String>)> {
    bench.sim.with_world(|w| {
        let portal = w.projects.iter().find(|p| p.name == "Portal").unwrap().id.clone();
        let environment = &w.octopus.environment_id;
        let tenant_targets: BTreeSet<String> = w
            .machines
            .iter()
            .filter(|m| {
                w.tenants.iter().any(|t| t.connected(&portal, environment) && m.tenancy.admits(Some(t)))
            })
            .map(|m| m.id.clone())
            .collect();
        w.deployments
            .iter()
            .filter(|d| {
                d.comments.starts_with("scaleguard") && d.project_id == portal && d.tenant_id.is_none()
            })
            .map(|d| {
                let hit =
                    d.specific_machine_ids.iter().filter(|m| tenant_targets.contains(*m)).cloned().collect();
                (d.id.clone(), hit)
            })
            .filter(|(_, hit): &(String, BTreeSet<String>)| !hit.is_empty())
            .collect()
    })
}

/// A tenant's `ProjectEnvironments` spelling the environment id in another case (Octopus ids
/// name one document in any ASCII case, README invariant 3) is still the tenant connected to
/// the project for the environment: its targets never get the untenanted release. The client
/// compares the map's key and values exactly (src/octopus/tenants.rs), so every tenant lane
/// vanishes and the untenanted lane takes the tenants' new targets.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_targets_never_get_the_untenanted_release_when_the_server_spells_its_environment_in_another_case(
) {
    let (bench, honest) = tenants_with_an_untenanted_lane().await;
    // The honest answer: each tenant's release to its targets, nothing untenanted of Portal.
    let untenanted_portal = deploys(&honest)
        .iter()
        .filter(|d| d["action"]["project_name"] == "Portal" && d["action"]["tenant"].is_null())
        .count();
    assert!(untenanted_portal == 0 && deploys(&honest).len() >= 2, "honest plan: {honest}");

    let environment = bench.sim.with_world(|w| w.octopus.environment_id.clone());
    let proxy = behind_proxy(&bench).await;
    proxy.lie_where(
        &["/tenants"],
        &format!("\"{environment}\""),
        &format!("\"{}\"", environment.to_ascii_lowercase()),
    );
    let apply = bench.run(&["apply", "--yes"]).await;
    let wrong = untenanted_portal_to_tenant_targets(&bench);
    assert!(
        wrong.is_empty(),
        "untenanted Portal deployment(s) went to targets connected to a tenant of Portal for the \
         environment ({wrong:?}):\nexit {}\n{}\n{}",
        apply.code,
        apply.stdout,
        apply.stderr
    );
}

/// The `tenants` scenario settled until its plan proposes the three lanes' deploys.
async fn tenants_ready() -> Bench {
    let bench =
        Bench::start(SimOptions::new("tenants").manual_clock(), Bench::apply_profile).await.with_sim_clock();
    let before = bench.machines().len();
    for _ in 0..40 {
        bench.sim.advance(Duration::from_secs(10)).unwrap();
        let plan = bench.run(&["plan", "--format", "json"]).await.json();
        let waiting = plan["actions"].as_array().into_iter().flatten().any(|a| a["action"]["kind"] == "wait");
        if bench.machines().len() == before + 4 && !waiting && deploys(&plan).len() == 3 {
            bench.sim.reset_stats();
            return bench;
        }
    }
    panic!("the tenants scale-out never proposed its three deploys");
}

/// (release, tenant, target) → the live (not cancelled) deployments scaleguard created for it.
fn live_per_lane_and_target(
    bench: &Bench,
) -> std::collections::BTreeMap<(String, String, String), Vec<String>> {
    bench.sim.with_world(|w| {
        let mut out: std::collections::BTreeMap<(String, String, String), Vec<String>> = Default::default();
        for d in w.deployments.iter().filter(|d| d.comments.starts_with("scaleguard")) {
            let state = w.tasks.iter().find(|t| t.id == d.task_id).map(|t| t.state);
            if state == Some(TaskState::Canceled) {
                continue;
            }
            for machine in &d.specific_machine_ids {
                let key = (d.release_id.clone(), d.tenant_id.clone().unwrap_or_default(), machine.clone());
                out.entry(key).or_default().push(d.id.clone());
            }
        }
        out
    })
}

fn before_next_post(bench: &Bench, kind: &str, delay_ms: u64) {
    use scaleguard::sim::{EventAction, FaultSpec, RequestHook};
    bench.sim.before_next_request(RequestHook {
        method: Some("POST".into()),
        path_prefix: "/api/Spaces-1/deployments".into(),
        action: EventAction::Fault(FaultSpec {
            target: "/api/Spaces-1/deployments".into(),
            kind: kind.into(),
            count: 1,
            retry_after_secs: Some(0),
            delay_ms: Some(delay_ms),
        }),
    });
}

/// Every tenant lane's POST acted on, then answered 503: each is found by its intent id, none is
/// sent again, and a rerun adds nothing (held: README invariant 9 per tenant lane).
#[tokio::test(flavor = "multi_thread")]
async fn tenant_lane_posts_answered_503_after_acting_leave_one_deployment_per_release_tenant_and_target() {
    let bench = tenants_ready().await;
    for _ in 0..3 {
        before_next_post(&bench, "act_then_503", 0);
    }
    let first = bench.run(&["apply", "--yes"]).await;
    let rerun = bench.run(&["apply", "--yes"]).await;
    let twice: Vec<_> =
        live_per_lane_and_target(&bench).into_iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        twice.is_empty() && bench.stat("octopus.deployments.post") == 3,
        "twice: {twice:?}\n{}\n{}\n{}\n{}",
        first.stdout,
        first.stderr,
        rerun.stdout,
        rerun.stderr
    );
}

/// Two runbook workers (own data dirs, no shared lock) apply the tenants plan with every POST
/// delayed 3 s: both POST each lane; one deployment per (release, tenant, target) is left.
#[tokio::test(flavor = "multi_thread")]
async fn two_workers_on_the_tenants_plan_leave_one_deployment_per_release_tenant_and_target() {
    let bench = tenants_ready().await;
    for _ in 0..6 {
        before_next_post(&bench, "delay", 3_000);
    }
    let spawn = |data: std::path::PathBuf| {
        let mut command = bench.command(&["apply", "--yes"]);
        command.env("SCALEGUARD_DATA_DIR", data);
        tokio::task::spawn_blocking(move || command.output().expect("run scaleguard apply"))
    };
    let (a, b) = (spawn(bench.dir.path().join("worker-a")), spawn(bench.dir.path().join("worker-b")));
    let outputs = [a.await.unwrap(), b.await.unwrap()];
    let shown: String = outputs
        .iter()
        .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
        .collect();
    let twice: Vec<_> =
        live_per_lane_and_target(&bench).into_iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(twice.is_empty(), "twice: {twice:?}\n{shown}");
    eprintln!("posts {}:\n{shown}", bench.stat("octopus.deployments.post"));
}
