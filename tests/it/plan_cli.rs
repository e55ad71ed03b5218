//! `scaleguard plan` end to end: the real binary against the simulator's `scale-in` scenario.

use scaleguard::sim::{self, SimOptions};
use std::process::Command;
use std::time::Duration;

fn plan_once(
    config: &std::path::Path,
    data_dir: &std::path::Path,
    env: &[(String, String)],
) -> (i32, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("--config")
        .arg(config)
        .args(["--sim-clock", "plan", "--format", "json"])
        .env("SCALEGUARD_DATA_DIR", data_dir)
        .envs(env.iter().cloned())
        .output()
        .expect("run scaleguard plan");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let plan = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("plan JSON ({e}): {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr))
    });
    (output.status.code().unwrap_or(-1), plan)
}

fn deleted_names(plan: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"]["kind"] == "delete-target")
        .map(|a| a["action"]["target_name"].as_str().unwrap().to_lowercase())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_in_targets_are_proposed_for_deletion_only_after_k_listings() {
    let running = sim::start(SimOptions::new("scale-in").manual_clock()).await.unwrap();
    // Let the scheduled 6 -> 3 scale-in (instance 5 protected) finish.
    running.advance(Duration::from_secs(900)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    // The binary decides with the simulator's manual clock (`--sim-clock`): the profile's 300 s
    // grace passes by advancing it.
    let toml = running.profile_toml();
    assert!(toml.contains("absent_grace_secs = 300"), "{toml}");
    std::fs::write(&config, toml).unwrap();
    let env: Vec<(String, String)> = running.env().into_iter().collect();
    let data_dir = dir.path().join("data");

    let run = |config: std::path::PathBuf, data_dir: std::path::PathBuf, env: Vec<(String, String)>| {
        tokio::task::spawn_blocking(move || plan_once(&config, &data_dir, &env))
    };
    for attempt in 1..=2 {
        let (code, plan) = run(config.clone(), data_dir.clone(), env.clone()).await.unwrap();
        let expected = running.now();
        let planned_at = time::OffsetDateTime::parse(
            plan["generated_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(
            planned_at >= expected && planned_at - expected < time::Duration::seconds(60),
            "run {attempt} planned at {planned_at}, not on the simulator's clock ({expected})"
        );
        assert_eq!(code, 0, "run {attempt}: too little evidence yet, nothing to do: {plan}");
        assert!(deleted_names(&plan).is_empty(), "run {attempt} proposed a delete: {plan}");
        running.advance(Duration::from_secs(200)).unwrap();
    }
    let (code, plan) = run(config.clone(), data_dir.clone(), env.clone()).await.unwrap();
    assert_eq!(code, 2, "changes pending after 3 complete listings over the grace: {plan}");
    assert_eq!(deleted_names(&plan), vec!["vmssweb000002", "vmssweb000003", "vmssweb000004"]);
    running.shutdown().await;
}

#[test]
fn sim_clock_is_refused_unless_the_profile_points_at_the_loopback_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("real.toml");
    let toml = scaleguard::config::EXAMPLE;
    assert!(toml.contains("https://"), "the example points at real servers");
    std::fs::write(&config, toml).unwrap();
    for args in [&["plan"][..], &["apply", "--yes"], &["node", "list"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
            .arg("--config")
            .arg(&config)
            .arg("--sim-clock")
            .args(args)
            .env("SCALEGUARD_DATA_DIR", dir.path().join("data"))
            .env("OCTOPUS_API_KEY", "API-NOTUSEDNOTUSEDNOTUSED")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("--sim-clock is honoured only against the built-in simulator"), "{stderr}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("--config")
        .arg(&config)
        .args(["--sim-clock", "config", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--sim-clock is honoured by the headless commands")
    );
}
