//! `scaleguard doctor` end to end: the real binary against the simulator over HTTP.
//!
//! Each check has a world where it passes (mostly `steady`) and one where it fails (mostly
//! `misconfigured`); the simulator runs on a real clock so node heartbeats are "now".

use scaleguard::sim::{self, FaultSpec, RunningSim, SimOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("doctor JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    fn ids(&self) -> BTreeSet<String> {
        self.json()["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn finding(&self, id: &str) -> Value {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id} finding in {}", self.stdout))
    }
}

/// Write the sim's profile (edited by `edit`) and run `doctor` with `args` in a blocking thread.
async fn doctor(
    running: &RunningSim,
    edit: impl Fn(String) -> String,
    env: Vec<(String, String)>,
    args: &[&str],
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(&config, edit(running.profile_toml())).unwrap();
    run_binary(config, env, args).await
}

async fn run_binary(config: PathBuf, env: Vec<(String, String)>, args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
            .arg("--config")
            .arg(&config)
            .arg("doctor")
            .args(&args)
            .env_remove("SCALEGUARD_CONFIG")
            .envs(env)
            .output()
            .expect("run scaleguard doctor");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

async fn start(scenario: &str) -> RunningSim {
    sim::start(SimOptions::new(scenario)).await.expect("simulator starts")
}

fn env(running: &RunningSim) -> Vec<(String, String)> {
    running.env().into_iter().collect()
}

fn same(text: String) -> String {
    text
}

/// Every check the misconfigured world must trip.
const MISCONFIGURED: &[&str] = &[
    "project.no-targets-refused",
    "project.unavailable-not-skipped",
    "project.unhealthy-included",
    "project.guided-failure-off",
    "policy.default-policy",
    "policy.health-check-interval",
    "policy.unavailable-fails-health-check",
    "policy.calamari-not-always-updated",
    "policy.cleanup-deletes-stopped-vms",
    "target.polling-with-ha",
    "target.shared-thumbprint",
    "target.duplicate-name",
    "target.no-scale-set",
    "node.version-mismatch",
    "node.stale-registration",
    "node.unverified-task-node",
    "scale-set.overprovision",
    "scale-set.scale-in-policy",
    "scale-set.protected-instances",
];

#[tokio::test(flavor = "multi_thread")]
async fn misconfigured_world_trips_the_checks_and_prints_every_fix() {
    let running = start("misconfigured").await;
    let json = doctor(&running, same, env(&running), &["--format", "json"]).await;
    assert_eq!(json.code, 1, "errors found: {}\n{}", json.stdout, json.stderr);
    let ids = json.ids();
    for id in MISCONFIGURED {
        assert!(ids.contains(*id), "{id} missing from {ids:?}");
    }
    let report = json.json();
    assert_eq!(report["not_checked"].as_array().unwrap().len(), 0, "everything was readable");
    assert!(report["counts"]["errors"].as_u64().unwrap() >= 5);
    let version = json.finding("node.version-mismatch");
    assert_eq!(version["subject"], "node OCTO-NODE-2");
    assert!(version["recommended"].as_str().unwrap().starts_with("2024.3.12741"));
    assert!(json.finding("policy.cleanup-deletes-stopped-vms")["observed"].as_str().unwrap().contains("20m"));
    assert!(json.finding("target.no-scale-set")["subject"].as_str().unwrap().contains("VMSSWEB-OLD01"));
    assert_eq!(json.finding("node.stale-registration")["subject"], "node OCTO-NODE-3");
    assert_eq!(json.finding("node.unverified-task-node")["subject"], "node OCTO-NODE-4");

    let table = doctor(&running, same, env(&running), &[]).await;
    assert_eq!(table.code, 1, "{}", table.stderr);
    for finding in report["findings"].as_array().unwrap() {
        let id = finding["id"].as_str().unwrap();
        let fix = finding["fix"].as_str().unwrap();
        assert!(table.stdout.contains(id), "table lacks {id}");
        assert!(table.stdout.contains(&format!("fix          {fix}")), "table lacks the fix of {id}");
        // Every finding cites the public page its advice comes from, by title and address.
        let (title, url) =
            (finding["source"]["title"].as_str().unwrap(), finding["source"]["url"].as_str().unwrap());
        assert!(
            url.starts_with("https://octopus.com/") || url.starts_with("https://learn.microsoft.com/"),
            "{id} cites {url}"
        );
        assert!(table.stdout.contains(&format!("source       {title}\n")), "table lacks the source of {id}");
        assert!(table.stdout.contains(url), "table lacks the address of {id}'s source");
    }
    assert!(
        !table.stdout.to_lowercase().contains("seed"),
        "no internal document is cited:\n{}",
        table.stdout
    );
    assert!(table.stdout.lines().next().unwrap().contains("error(s)"), "a summary line first");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn steady_world_is_clean_apart_from_overprovisioning_information() {
    let running = start("steady").await;
    let run = doctor(&running, same, env(&running), &["--format", "json"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let ids = run.ids();
    assert_eq!(ids, BTreeSet::from(["scale-set.overprovision".to_string()]), "{}", run.stdout);
    assert_eq!(run.finding("scale-set.overprovision")["severity"], "info");
    let table = doctor(&running, same, env(&running), &[]).await;
    assert_eq!(table.code, 0);
    assert!(
        table.stdout.starts_with("doctor: profile `sim`: 0 error(s), 0 warning(s), 1 info"),
        "{}",
        table.stdout
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn overprovisioning_off_gives_no_information_finding() {
    let running = start("ha-drain").await;
    let run = doctor(&running, same, env(&running), &["--format", "json"]).await;
    assert!(!run.ids().contains("scale-set.overprovision"), "{}", run.stdout);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn capacity_outside_the_guard_is_a_warning_not_an_error() {
    let running = start("steady").await;
    let narrow = |toml: String| toml.replace("min_capacity = 1", "min_capacity = 5");
    let run = doctor(&running, narrow, env(&running), &["--format", "json"]).await;
    assert_eq!(run.code, 0, "a warning alone exits 0: {}", run.stdout);
    let finding = run.finding("scale-set.capacity-outside-guard");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["observed"], "capacity 3");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_verified_node_list_the_new_node_check_says_so() {
    let running = start("steady").await;
    let unlisted =
        |toml: String| toml.lines().filter(|l| !l.starts_with("verified")).collect::<Vec<_>>().join("\n");
    let run = doctor(&running, unlisted, env(&running), &["--format", "json"]).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.finding("node.verified-list-empty")["severity"], "info");
    assert!(!run.ids().contains("node.unverified-task-node"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_the_key_may_not_do_is_reported_as_the_missing_permission() {
    let running = start("steady").await;
    running
        .inject_fault(FaultSpec {
            target: "/api/octopusservernodes".into(),
            kind: "403".into(),
            count: 100,
            retry_after_secs: None,
            delay_ms: None,
        })
        .unwrap();
    let run = doctor(&running, same, env(&running), &["--format", "json"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let missing: Vec<Value> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "permissions.missing")
        .cloned()
        .collect();
    assert_eq!(missing.len(), 1, "only the refused read: {}", run.stdout);
    let observed = missing[0]["observed"].as_str().unwrap();
    assert!(
        observed.contains("/api/octopusservernodes/summary") && observed.contains("AdministerSystem"),
        "{observed}"
    );
    assert!(run.stderr.contains("some checks were skipped"), "the node checks could not run: {}", run.stderr);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_api_key_is_one_error() {
    let running = start("steady").await;
    let mut env = env(&running);
    for (name, value) in env.iter_mut() {
        if name == "OCTOPUS_API_KEY" {
            *value = "API-NOTTHEKEY0000000000000000".into();
        }
    }
    let run = doctor(&running, same, env, &["--format", "json"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.ids().contains("permissions.key-rejected"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("API-NOTTHEKEY") && !run.stderr.contains("API-NOTTHEKEY"),
        "no secret printed"
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_server_exits_2_with_one_sentence() {
    let running = start("steady").await;
    let toml = running.profile_toml();
    let url = running.octopus_url();
    running.shutdown().await;
    // The port is free again: nothing listens there now.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dead.toml");
    std::fs::write(&config, toml.replace("timeout_secs = 10", "timeout_secs = 2")).unwrap();
    let env = vec![
        ("OCTOPUS_API_KEY".to_string(), "API-X".to_string()),
        ("ARM_TOKEN".to_string(), "t".to_string()),
    ];
    let run = run_binary(config, env, &[]).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "no table for nothing checked: {}", run.stdout);
    let stderr = run.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    assert!(
        stderr.contains("could not check") && stderr.contains(&url) && stderr.contains("cannot connect"),
        "{stderr}"
    );
}
