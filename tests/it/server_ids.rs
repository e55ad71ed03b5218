//! Ids as a server may spell them, against the real binary and the simulator: an Octopus id in
//! another case is the same id, and an ARM id read back from a listing that would lead a write
//! elsewhere is refused.

use crate::support::bench::Bench;
use crate::support::rewriting_proxy::behind_proxy;
use scaleguard::sim::SimOptions;
use serde_json::json;
use std::time::Duration;

/// Octopus ids name one document in any ASCII case: a server spelling the machine ids of its
/// deployments in another case (`machines-1`) leaves every target a successful deployment reached
/// with the release, and `apply` deploys nothing (README invariant 3: never twice per release and
/// target; it used to deploy to all of them again).
#[tokio::test]
async fn a_release_is_not_redeployed_when_the_server_spells_machine_ids_in_another_case() {
    let bench = Bench::start(SimOptions::new("steady").manual_clock(), |toml| toml).await.with_sim_clock();
    // The honest server first: nothing to do.
    let honest = bench.run(&["plan"]).await;
    assert_eq!(honest.code, 0, "{}{}", honest.stdout, honest.stderr);
    let before = bench.sim.with_world_mut(|world| {
        for deployment in &mut world.deployments {
            for id in &mut deployment.deployed_to_machine_ids {
                *id = id.to_ascii_lowercase();
            }
        }
        world.deployments.len()
    });
    let out = bench.run(&["apply", "--yes"]).await;
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    let after = bench.sim.with_world(|w| w.deployments.len());
    assert_eq!(
        (out.code, after),
        (0, before),
        "the targets a successful deployment reached (ids in another case) got the release again:\n{stdout}\n{stderr}"
    );
}

/// An autoscale setting listed with an id that is not that setting's own (here one whose `../`
/// segments lead to rg-prod's `prod-autoscale`) is refused before any PUT: the write, with the
/// bearer token, goes only to the setting's own id, as encoded segments (README invariant 8; the
/// PUT used to land on rg-prod's setting and report `done`).
#[tokio::test]
async fn an_autoscale_put_never_goes_to_a_path_other_than_the_settings_own() {
    let bench = Bench::start(SimOptions::new("autoscale").manual_clock(), |toml| toml).await.with_sim_clock();
    let evil = "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-web/providers/\
                microsoft.insights/autoscalesettings/vmss-web-autoscale/../../../../../rg-prod/providers/\
                microsoft.insights/autoscalesettings/prod-autoscale";
    bench.sim.with_world_mut(|world| world.autoscale[0].resource["id"] = json!(evil));
    let out = bench.run(&["autoscale", "vmss-web", "--maximum", "7", "--reason", "sale", "--yes"]).await;
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_eq!(
        (out.code, bench.stat("arm.put_autoscale_setting")),
        (1, 0),
        "a setting whose id is not a plain autoscale-setting id of the set's resource group must be \
         refused before any PUT (the PUT went to rg-prod's prod-autoscale):\n{stdout}\n{stderr}"
    );
}

/// The scale-out's new targets get the release by one deployment this run creates: the read-back
/// listing it as `deployments-N` (the POST answered `Deployments-N`) is that same deployment, not
/// "a second copy the server made" to cancel. It used to cancel the run's own deployment's task
/// and journal the deploy done.
#[tokio::test]
async fn the_read_back_of_a_deployment_in_another_case_does_not_cancel_the_runs_own_deployment() {
    let bench = Bench::start(SimOptions::new("scale-out").manual_clock(), Bench::apply_profile)
        .await
        .with_sim_clock();
    // The read-back after the POST (the release's deployments) spells each deployment's Id in
    // lower case.
    let proxy = behind_proxy(&bench).await;
    proxy.lie_where(&["/releases/", "/deployments?"], "\"Id\":\"Deployments-", "\"Id\":\"deployments-");
    let mut outputs = String::new();
    for _ in 0..12 {
        bench.sim.advance(Duration::from_secs(25)).unwrap();
        let out = bench.run(&["apply", "--yes"]).await;
        outputs.push_str(&out.stdout);
        outputs.push_str(&out.stderr);
        if bench.stat("octopus.deployments.post") > 0 {
            break;
        }
    }
    assert_eq!(bench.stat("octopus.deployments.post"), 1, "one deployment was created:\n{outputs}");
    let cancelled: Vec<String> = bench.sim.with_world(|w| {
        let ours: Vec<&String> = w
            .deployments
            .iter()
            .filter(|d| d.comments.starts_with("scaleguard"))
            .map(|d| &d.task_id)
            .collect();
        w.tasks
            .iter()
            .filter(|t| ours.contains(&&t.id) && format!("{:?}", t.state).contains("Cancel"))
            .map(|t| t.id.clone())
            .collect()
    });
    assert!(
        cancelled.is_empty() && !outputs.contains("a second copy the server made"),
        "the run cancelled its own deployment's task ({cancelled:?}), taking its read-back in another case for a \
         second copy:\n{outputs}"
    );
}
