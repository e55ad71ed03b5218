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
        .args(["plan", "--format", "json"])
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
    // Grace of 1 s of wall-clock time: the binary observes with the real clock.
    let toml = running.profile_toml();
    let toml: String = toml
        .lines()
        .map(|l| if l.starts_with("absent_grace_secs") { "absent_grace_secs = 1" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, toml).unwrap();
    let env: Vec<(String, String)> = running.env().into_iter().collect();
    let data_dir = dir.path().join("data");

    let run = |config: std::path::PathBuf, data_dir: std::path::PathBuf, env: Vec<(String, String)>| {
        tokio::task::spawn_blocking(move || plan_once(&config, &data_dir, &env))
    };
    for attempt in 1..=2 {
        let (code, plan) = run(config.clone(), data_dir.clone(), env.clone()).await.unwrap();
        assert_eq!(code, 0, "run {attempt}: too little evidence yet, nothing to do: {plan}");
        assert!(deleted_names(&plan).is_empty(), "run {attempt} proposed a delete: {plan}");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    let (code, plan) = run(config.clone(), data_dir.clone(), env.clone()).await.unwrap();
    assert_eq!(code, 2, "changes pending after 3 complete listings over the grace: {plan}");
    assert_eq!(deleted_names(&plan), vec!["vmssweb000002", "vmssweb000003", "vmssweb000004"]);
    running.shutdown().await;
}
