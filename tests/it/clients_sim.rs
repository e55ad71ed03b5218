//! The clients and `scaleguard inventory` against the team simulator (`scaleguard::sim`) over HTTP
//! on 127.0.0.1: scenario data, the sim's fault injection, and request counts from its stats.
//!
//! Every test starts its own simulator and passes keys explicitly (never through process-wide env
//! vars), so tests can run in parallel.

use crate::support::static_token::StaticToken;

use scaleguard::config::{ConfigFile, Profile};
use scaleguard::inventory::{self, Collector};
use scaleguard::model::ScaleSetKey;
use scaleguard::octopus::{OctopusClient, OctopusError};
use scaleguard::providers::azure::{AzureProvider, TokenEnvCredential};
use scaleguard::providers::{ProviderError, ScaleSetProvider};
use scaleguard::secret::Secret;
use scaleguard::sim::{self, FaultSpec, RunningSim, SimOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn profile(running: &RunningSim) -> Profile {
    let file = ConfigFile::parse(&running.profile_toml(), std::path::Path::new("sim.toml")).unwrap();
    assert_eq!(file.validate(), vec![]);
    file.profile(None).unwrap().1.clone()
}

fn octopus(running: &RunningSim, key: &str) -> OctopusClient {
    OctopusClient::new(&profile(running).octopus, Secret::new(key)).unwrap()
}

fn azure(running: &RunningSim) -> AzureProvider {
    AzureProvider::with_credential(&profile(running).azure, Arc::new(StaticToken(running.arm_token())))
        .unwrap()
        .with_poll_interval(Duration::from_millis(50))
}

fn set_key(running: &RunningSim) -> ScaleSetKey {
    profile(running).scale_sets[0].key()
}

fn fault(target: &str, kind: &str, count: u32) -> FaultSpec {
    FaultSpec { target: target.into(), kind: kind.into(), count, retry_after_secs: None, delay_ms: None }
}

async fn steady() -> RunningSim {
    sim::start(SimOptions::new("steady").manual_clock()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_json_against_steady_shows_its_vms_targets_and_nodes() {
    let running = steady().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, running.profile_toml()).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scaleguard"));
    command.arg("--config").arg(&path).args(["inventory", "--format", "json"]).envs(running.env());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["scale_sets"][0]["name"], "vmss-web");
    assert_eq!(report["scale_sets"][0]["capacity"], 3);
    let instances = report["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3);
    assert!(instances.iter().all(|i| i["computer_name"].as_str().unwrap().starts_with("vmssweb")));
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3, "{targets:?}");
    for target in targets {
        let matched = target["matched_instance_id"].as_str().expect("every steady target sits on a VM");
        assert!(instances.iter().any(|i| i["instance_id"] == matched));
    }
    let nodes: Vec<&str> =
        report["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(nodes, vec!["OCTO-NODE-1", "OCTO-NODE-2"]);
    assert!(!report["server"]["version"].as_str().unwrap().is_empty());
    running.shutdown().await;
}

#[tokio::test]
async fn steady_snapshot_has_the_latest_release_and_its_deployments() {
    let running = steady().await;
    let collector = Collector::with_octopus(&profile(&running), Ok(octopus(&running, &running.api_key())))
        .with_provider(Arc::new(azure(&running)));
    let snapshot = collector.collect().await;
    assert!(snapshot.failures().is_empty(), "{:?}", snapshot.failures());
    let projects = snapshot.projects.unwrap();
    let release = projects[0].latest_release.as_ref().expect("steady is deployed");
    assert_eq!(release.version, "1.2.0");
    assert!(!projects[0].deployments.is_empty());
    running.shutdown().await;
}

#[tokio::test]
async fn octopus_error_kinds_from_the_simulator() {
    let running = steady().await;
    let c = octopus(&running, &running.api_key());

    running.inject_fault(fault("octopus", "401", 1)).unwrap();
    assert!(matches!(c.nodes().await.unwrap_err(), OctopusError::Unauthorized { .. }));

    let read_only = octopus(&running, &running.read_only_api_key());
    let err = read_only.delete_target("Spaces-1", "Machines-1").await.unwrap_err();
    assert!(matches!(err, OctopusError::Forbidden { .. }), "{err}");
    let err = c.delete_target("Spaces-1", "Machines-99999").await.unwrap_err();
    assert!(matches!(err, OctopusError::NotFound { .. }), "{err}");

    running.inject_fault(FaultSpec { retry_after_secs: Some(1), ..fault("octopus", "429", 1) }).unwrap();
    let started = Instant::now();
    assert_eq!(c.nodes().await.unwrap().len(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After honoured");

    running.inject_fault(fault("octopus", "500", 1)).unwrap();
    assert_eq!(c.nodes().await.unwrap().len(), 2, "a read is retried after a 500");
    running.inject_fault(fault("octopus", "503", 1)).unwrap();
    assert_eq!(c.nodes().await.unwrap().len(), 2, "and after a 503");
    running.inject_fault(fault("octopus", "500", 10)).unwrap();
    assert!(matches!(c.nodes().await.unwrap_err(), OctopusError::Server { status: 500, .. }));
    // Use up the rest of that fault so the next checks start clean.
    while c.server_version().await.is_err() {}

    running.inject_fault(fault("octopus", "malformed_json", 1)).unwrap();
    assert!(matches!(c.nodes().await.unwrap_err(), OctopusError::BadResponse { .. }));
    running.shutdown().await;
}

#[tokio::test]
async fn octopus_paging_reads_every_page_even_without_a_next_link() {
    let running = steady().await;
    running.set_page_sizes(None, Some(1));
    let c = octopus(&running, &running.api_key());
    let roles = profile(&running).octopus.roles;
    let env = c.resolve_environment("Spaces-1", "Production").await.unwrap();
    let all = c.targets("Spaces-1", &env.id, &roles).await.unwrap();
    assert_eq!(all.len(), 3);
    running.reset_stats();
    // A truncated page drops Page.Next; TotalResults still says there is more, so reading goes on.
    running.inject_fault(fault("octopus", "truncated_page", 1)).unwrap();
    let again = c.targets("Spaces-1", &env.id, &roles).await.unwrap();
    assert_eq!(again.len(), all.len(), "never a shorter list");
    assert_eq!(running.stats().get("octopus.machines"), 3, "one request per page of 1");
    running.shutdown().await;
}

#[tokio::test]
async fn arm_error_kinds_and_truncated_listing_from_the_simulator() {
    let running = steady().await;
    running.set_page_sizes(Some(1), None);
    let p = azure(&running);
    let key = set_key(&running);
    assert_eq!(p.listing(&key).await.unwrap().instances.len(), 3);

    // The first listing page loses its nextLink.
    let list_path = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}/virtualMachines",
        key.subscription_id, key.resource_group, key.name
    );
    running.inject_fault(fault(&list_path, "truncated_page", 1)).unwrap();
    let err = p.listing(&key).await.unwrap_err();
    assert!(matches!(err, ProviderError::IncompleteListing { .. }), "{err}");

    running.inject_fault(fault("arm", "401", 1)).unwrap();
    assert!(matches!(p.get_scale_set(&key).await.unwrap_err(), ProviderError::Unauthorized { .. }));
    running.inject_fault(FaultSpec { retry_after_secs: Some(1), ..fault("arm", "429", 1) }).unwrap();
    let started = Instant::now();
    p.get_scale_set(&key).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    running.inject_fault(fault("arm", "malformed_json", 1)).unwrap();
    assert!(matches!(p.get_scale_set(&key).await.unwrap_err(), ProviderError::BadResponse { .. }));
    running.shutdown().await;
}

#[tokio::test]
async fn capacity_change_with_a_stale_etag_is_a_precondition_failure_and_a_fresh_one_completes() {
    let running = sim::start(SimOptions::new("steady").speed(200.0)).await.unwrap();
    let p = azure(&running);
    let key = set_key(&running);
    let state = p.get_scale_set(&key).await.unwrap();
    let etag = state.etag.clone().unwrap();
    let operation = p.set_capacity(&key, 4, &etag).await.unwrap();
    p.wait(&operation).await.unwrap();
    assert_eq!(p.get_scale_set(&key).await.unwrap().capacity, 4);
    let err = p.set_capacity(&key, 5, &etag).await.unwrap_err();
    assert!(matches!(err, ProviderError::PreconditionFailed { .. }), "{err}");
    running.shutdown().await;
}

#[tokio::test]
async fn token_env_credential_works_against_the_simulator() {
    let running = steady().await;
    let var = "SCALEGUARD_SIM_TEST_ARM_TOKEN";
    std::env::set_var(var, running.arm_token());
    let p = AzureProvider::with_credential(&profile(&running).azure, Arc::new(TokenEnvCredential::new(var)))
        .unwrap();
    assert_eq!(p.get_scale_set(&set_key(&running)).await.unwrap().capacity, 3);
    // ARM's remaining-budget headers are kept for the operator.
    let limits = p.rate_limits().remaining;
    assert!(limits.iter().any(|(name, _)| name == "subscription-global-reads"), "{limits:?}");
    running.shutdown().await;
}

/// Requests per inventory for 10, 200 and 1,000 VMs (a scale set holds at most 1,000; ARM pages of
/// 100, Octopus pages of 1,000). The fleet is put in place directly: scaling out through the
/// world's provisioning steps costs seconds and proves nothing about the client's requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_request_count_grows_with_pages_not_vms() {
    for n in [10u32, 200, 1_000] {
        let running =
            sim::start(SimOptions::new("steady").manual_clock().arm_page_size(100).octopus_page_size(1_000))
                .await
                .unwrap();
        running.with_world_mut(|world| {
            let existing = world.scale_sets[0].vms.len() as u32;
            for _ in existing..n {
                world.add_existing_vm(0, false);
            }
            world.scale_sets[0].capacity = n;
        });
        let collector =
            Collector::with_octopus(&profile(&running), Ok(octopus(&running, &running.api_key())))
                .with_provider(Arc::new(azure(&running)));
        running.reset_stats();
        let started = Instant::now();
        let snapshot = collector.collect().await;
        let elapsed = started.elapsed();
        let report =
            inventory::report(&snapshot).unwrap_or_else(|f| panic!("{}", inventory::failure_sentence(&f)));
        let stats = running.stats();
        eprintln!(
            "sim inventory of {} VMs / {} targets: {} requests (ARM {}, Octopus {}) in {elapsed:?}; {:?}",
            report.instances.len(),
            report.targets.len(),
            stats.total,
            stats.arm,
            stats.octopus,
            stats.by_endpoint
        );
        assert!(report.instances.len() >= n as usize);
        let pages = |items: usize| items.div_ceil(1_000) as u64;
        // The set before the pages and again after them (a set that changed in between proves
        // nothing), one request per page, then the resource group's autoscale settings and the
        // set's Activity Log (no setting).
        assert_eq!(stats.arm, 2 + report.instances.len().div_ceil(100) as u64 + 2);
        assert!(stats.octopus <= 12 + pages(report.targets.len() + 10) * 2, "{stats:?}");
        running.shutdown().await;
    }
}

/// A release deployed `n` times (the latest deployment succeeded, the older ones too): the task
/// states come in batches, so Octopus requests grow with pages of deployments, not deployments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_task_states_are_read_in_batches_not_one_request_per_deployment() {
    const PAGE: u64 = 30; // as in `task_pages`
    let mut octopus_requests = Vec::new();
    for n in [1u64, 50, 250] {
        let running = sim::start(SimOptions::new("steady").manual_clock().octopus_page_size(PAGE as usize))
            .await
            .unwrap();
        running.with_world_mut(|world| {
            let latest = world.deployments.last().expect("steady is deployed").clone();
            let task = world.tasks.iter().find(|t| t.id == latest.task_id).expect("its task").clone();
            for older in 1..n {
                let (mut deployment, mut again) = (latest.clone(), task.clone());
                deployment.id = world.next_id("Deployments");
                again.id = world.next_id("ServerTasks");
                deployment.task_id = again.id.clone();
                again.deployment_id = Some(deployment.id.clone());
                deployment.created -= older as f64 * 60.0;
                again.queue_time -= older as f64 * 60.0;
                world.deployments.push(deployment);
                world.tasks.push(again);
            }
        });
        let collector =
            Collector::with_octopus(&profile(&running), Ok(octopus(&running, &running.api_key())))
                .with_provider(Arc::new(azure(&running)));
        running.reset_stats();
        let snapshot = collector.collect().await;
        let stats = running.stats();
        let projects = snapshot.projects.as_ref().unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(projects[0].deployments.len() as u64, n, "every deployment of the release is read");
        eprintln!("release deployed {n} times: {} Octopus requests; {:?}", stats.octopus, stats.by_endpoint);
        // The walk to the last success reads the tasks of the newest 100 deployments in one batch;
        // the release's other deployments' tasks follow in batches of 100 ids, each read a page
        // at a time, and no task is read twice.
        assert_eq!(stats.get("octopus.tasks"), task_pages(n), "{n} deployments");
        octopus_requests.push((n, stats.octopus));
        running.shutdown().await;
    }
    // From 1 to 250 deployments: the project's and the release's deployments take 9 pages each
    // instead of 1 and their tasks 10 pages instead of 1; nothing else changes (one request per
    // deployment would add 249).
    let (one, many) = (octopus_requests[0].1, octopus_requests[2].1);
    let deployment_pages = 2 * (250u64.div_ceil(PAGE) - 1);
    assert_eq!(many - one, deployment_pages + task_pages(250) - task_pages(1), "{octopus_requests:?}");
    assert!(many - one < 250 / 5, "{octopus_requests:?}");
}

/// A deployment whose task the batch does not return is read on its own, and a task gone fails
/// the projects read as it always did: no deploy is planned from a state nobody read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_task_missing_from_the_batch_fails_the_projects_read() {
    let running = sim::start(SimOptions::new("steady").manual_clock()).await.unwrap();
    let task_id = running.with_world_mut(|world| {
        let task_id = world.deployments.last().expect("steady is deployed").task_id.clone();
        world.tasks.retain(|t| t.id != task_id);
        task_id
    });
    let collector = Collector::with_octopus(&profile(&running), Ok(octopus(&running, &running.api_key())))
        .with_provider(Arc::new(azure(&running)));
    running.reset_stats();
    let snapshot = collector.collect().await;
    let failure = snapshot.projects.expect_err("a task that cannot be read fails the projects read");
    assert!(failure.to_string().contains(&task_id), "{failure}");
    // The batch, then the task on its own (the 404 that names it).
    assert_eq!(running.stats().get("octopus.tasks"), 2);
    running.shutdown().await;
}

/// Requests to read `ids` task states: batches of 100 ids, each a page of 30 at a time.
fn task_pages(mut ids: u64) -> u64 {
    let mut pages = 0;
    while ids > 0 {
        let batch = ids.min(scaleguard::octopus::TASK_IDS_PER_REQUEST as u64);
        pages += batch.div_ceil(30);
        ids -= batch;
    }
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_against_a_stopped_simulator_fails_fast_in_one_sentence() {
    let running = steady().await;
    let (config, env) = (running.profile_toml(), running.env());
    running.shutdown().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scaleguard"));
    command.arg("--config").arg(&path).args(["inventory", "--format", "json"]).envs(env);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot connect") && stderr.contains("127.0.0.1"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn nodes_can_be_drained_capped_and_deleted_and_policies_read() {
    let running = steady().await;
    let c = octopus(&running, &running.api_key());
    let nodes = c.nodes().await.unwrap();
    let node = nodes.iter().find(|n| n.name == "OCTO-NODE-2").unwrap().clone();
    let change = scaleguard::octopus::NodeChange { drain: Some(true), max_concurrent_tasks: Some(0) };
    c.update_node(&node.id, &change).await.unwrap();
    let after = c.nodes().await.unwrap();
    let drained = after.iter().find(|n| n.id == node.id).unwrap();
    assert!(drained.drain && drained.max_concurrent_tasks == 0, "{drained:?}");
    c.delete_node(&node.id).await.unwrap();
    assert!(!c.nodes().await.unwrap().iter().any(|n| n.id == node.id));

    let space = c.resolve_space("Default").await.unwrap();
    let policies = c.machine_policies(&space.id).await.unwrap();
    assert!(!policies.is_empty());
    running.shutdown().await;
}
