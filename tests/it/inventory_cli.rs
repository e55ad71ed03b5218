//! `scaleguard inventory` end to end (the binary against the fake on 127.0.0.1), and the request
//! count of `inventory::collect` as the fleet grows.

use crate::support::fake::{dead_url, Fake, API_KEY, ARM_TOKEN};
use crate::support::static_token::StaticToken;
use scaleguard::config::Profile;
use scaleguard::inventory;
use scaleguard::octopus::OctopusClient;
use scaleguard::providers::azure::AzureProvider;
use scaleguard::secret::Secret;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A collector for the fake's profile, its key and token handed in (no environment variables).
fn collector(profile: &Profile) -> inventory::Collector {
    let client = OctopusClient::new(&profile.octopus, Secret::new(API_KEY)).unwrap();
    let token = Arc::new(StaticToken(ARM_TOKEN.into()));
    let provider = AzureProvider::with_credential(&profile.azure, token).unwrap();
    inventory::Collector::with_octopus(profile, Ok(client)).with_provider(Arc::new(provider))
}

async fn run_inventory(config_toml: String, key: &str, args: &[&str]) -> (Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config_toml).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scaleguard"));
    command
        .arg("--config")
        .arg(&path)
        .arg("inventory")
        .args(args)
        .env("SG_TEST_OCTOPUS_KEY", key)
        .env("SG_TEST_ARM_TOKEN", ARM_TOKEN)
        .env_remove("SCALEGUARD_CONFIG");
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    drop(dir);
    (output, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_inventory_lists_instances_targets_nodes_and_version() {
    let fake = Fake::start(10).await;
    let (output, _) = run_inventory(fake.profile_toml(), API_KEY, &["--format", "json"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    for key in ["scale_sets", "instances", "targets", "nodes", "server"] {
        assert!(keys.contains(&key), "missing top-level key {key}: {keys:?}");
    }
    assert_eq!(report["scale_sets"][0]["capacity"], 10);
    assert_eq!(report["scale_sets"][0]["provisioning_state"], "Succeeded");
    assert_eq!(report["scale_sets"][0]["overprovision"], true);
    let instances = report["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 10);
    assert_eq!(instances[4]["computer_name"], "vmssweb000004");
    assert_eq!(instances[4]["power_state"], "running");
    assert_eq!(instances[4]["protected"], false);
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 11, "10 matched + 1 orphan; partial roles and other env left out");
    let by_name = |name: &str| targets.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(by_name("VMSSWEB000004")["matched_instance_id"], "4", "upper-case Windows names match");
    assert_eq!(by_name("vmssweb0000zz")["matched_instance_id"], serde_json::Value::Null);
    assert_eq!(by_name("VMSSWEB000004")["roles"], serde_json::json!(["vmss-web", "web-server"]));
    let nodes = report["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0]["task_cap"], 5);
    assert_eq!(nodes[0]["running_tasks"], 2);
    assert_eq!(nodes[1]["drain"], true);
    assert_eq!(report["server"]["version"], "2024.3.12345");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_inventory_is_readable() {
    let fake = Fake::start(3).await;
    let (output, _) = run_inventory(fake.profile_toml(), API_KEY, &[]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "SCALE SETS (1)",
        "INSTANCES (3)",
        "TARGETS (4)",
        "NODES (2)",
        "(no VM)",
        "Octopus Server 2024.3.12345",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_fast_with_one_sentence() {
    let fake = Fake::start(1).await;
    let dead = dead_url();
    let config = fake.profile_toml().replace(&fake.url(), &dead);
    let (output, elapsed) = run_inventory(config, API_KEY, &["--format", "json"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no partial report on stdout");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("could not read") && stderr.contains("connect"), "{stderr}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_key_names_the_endpoint_and_the_failure() {
    let fake = Fake::start(1).await;
    let (output, _) = run_inventory(fake.profile_toml(), "API-NOTTHEKEY0000", &["--format", "json"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("401") && stderr.contains("GET /api/"), "{stderr}");
    assert!(!stderr.contains("NOTTHEKEY"), "the key never appears: {stderr}");
}

/// Requests per inventory grow with pages, not VMs. Prints the numbers (run with --nocapture).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_count_grows_with_pages_not_instances() {
    // A scale set holds at most 1,000 VMs; ARM pages of 100 show the growth with pages.
    for n in [10u32, 200, 1_000] {
        let fake = Fake::start(n).await;
        {
            let mut world = fake.world.lock().unwrap();
            world.vm_page = 100;
            world.octopus_page_cap = 1_000;
        }
        let started = Instant::now();
        let collector = collector(&fake.profile());
        let snapshot = collector.collect().await;
        let elapsed = started.elapsed();
        let report = inventory::report(&snapshot).unwrap();
        assert_eq!(report.instances.len(), n as usize);
        assert_eq!(report.targets.len(), n as usize + 1);
        let requests = fake.requests();
        let arm = requests.iter().filter(|(_, u)| u.starts_with("/subscriptions")).count();
        let octopus = requests.len() - arm;
        let vm_pages = (n as usize).div_ceil(100);
        let machine_pages = (n as usize + 2).div_ceil(scaleguard::octopus::DEFAULT_PAGE_SIZE as usize);
        // The set before and after its VM pages (a set that changed in between proves nothing),
        // then who else scales it: the resource group's autoscale settings and the set's Activity
        // Log (one page each here).
        assert_eq!(arm, 2 + vm_pages + 2);
        // version, nodes, space, environment, project, the project's document (its tenanted
        // mode), deployments page, its tasks (one batch), release, the release's deployments page,
        // the task of its older deployment (one batch) + machine pages
        assert_eq!(octopus, 11 + machine_pages);
        eprintln!(
            "inventory of {n} instances: {} requests (ARM {arm}, Octopus {octopus}) in {elapsed:?}",
            requests.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_is_reused_across_refreshes() {
    let fake = Fake::start(5).await;
    let collector = collector(&fake.profile());
    let first = collector.collect().await;
    assert!(first.inventory_complete(), "{:?}", first.failures());
    let per_refresh = fake.request_count();
    let second = collector.collect().await;
    assert!(second.inventory_complete());
    assert_eq!(fake.request_count(), 2 * per_refresh, "the same requests again, nothing extra");
    let projects = second.projects.unwrap();
    assert_eq!(projects[0].latest_release.as_ref().unwrap().version, "1.4.2");
    assert_eq!(second.environment_id.as_deref(), Some("Environments-1"));
}
