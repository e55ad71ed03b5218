//! `scaleguard sim` prints its JSON line, writes a config that `config check` accepts, and serves.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sim_binary_prints_its_line_and_writes_a_valid_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--scenario",
            "scale-out",
            "--speed",
            "10",
            "--write-config",
        ])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let printed: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert!(printed["octopus_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(printed["config"], config.display().to_string());
    assert!(printed["env"]["OCTOPUS_API_KEY"].as_str().unwrap().starts_with("API-"));
    assert!(printed["env"]["ARM_TOKEN"].is_string());

    let check = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("--config")
        .arg(&config)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("default_profile = \"sim\"") && text.contains("token_env = \"ARM_TOKEN\""));
    assert!(!text.contains(printed["env"]["OCTOPUS_API_KEY"].as_str().unwrap()), "no secret in the file");

    // It really serves: GET /api needs no key.
    let url = format!("{}/api", printed["octopus_url"].as_str().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root: Value = runtime.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
    assert_eq!(root["Application"], "Octopus Deploy");
}

#[test]
fn unknown_scenario_lists_the_known_ones() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_scaleguard")).args(["sim", "--scenario", "nope"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nope") && stderr.contains("scale-out") && stderr.contains("ha-drain"),
        "{stderr}"
    );
}
