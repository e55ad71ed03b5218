//! Red-team findings on tenanted deploys, against the real binary and the simulator behind a
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
    plan["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["action"]["kind"] == "deploy")
        .cloned()
        .collect()
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
