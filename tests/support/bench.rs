//! Shared by the reliability suites (fault_suite, crash_safety, secrets): a simulator, a config
//! file pointing at it, a data dir, and the real binary run against them.

use scaleguard::journal::{self, Record, Warning};
use scaleguard::sim::{self, RunningSim, SimOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SET: &str = "vmss-web";
pub const MACHINES: &str = "/api/Spaces-1/machines";
pub const VM_LIST: &str =
    "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web/virtualMachines";
pub const SCALE_SET: &str =
    "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web";

pub struct Bench {
    pub sim: RunningSim,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub data: PathBuf,
    /// Set by [`Bench::with_sim_clock`]: when the last command started.
    pub sim_clock: Option<Mutex<Instant>>,
}

/// What one run of the binary showed.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// The error sentence(s) on stderr, `scaleguard: ` prefix and warnings left out.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|line| line.strip_prefix("scaleguard: "))
            .filter(|line| !line.starts_with("warning:"))
            .collect()
    }

    /// No panic, no crash by signal.
    pub fn assert_no_panic(&self, context: &str) {
        assert!(
            self.code >= 0 && self.code != 101 && !self.stderr.contains("panicked"),
            "{context}: exit {} stderr: {}",
            self.code,
            self.stderr
        );
    }
}

/// Replace the value of every `key = ...` line of a TOML text.
/// The actions of `kind` ("deploy", "delete-target", ...) in a plan printed as JSON.
pub fn actions_of_kind(plan: &serde_json::Value, kind: &str) -> Vec<serde_json::Value> {
    plan["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["action"]["kind"] == kind)
        .cloned()
        .collect()
}

pub fn set_toml(toml: &str, key: &str, value: &str) -> String {
    let mut found = false;
    let out = toml
        .lines()
        .map(|line| match line.split(" = ").next() {
            Some(k) if k == key => {
                found = true;
                format!("{key} = {value}")
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(found, "the profile has no `{key}` line");
    out
}

impl Bench {
    /// A simulator and a config edited by `edit` (the sim's own profile as input).
    pub async fn start(options: SimOptions, edit: impl FnOnce(String) -> String) -> Bench {
        let sim = sim::start(options).await.expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sim.toml");
        std::fs::write(&config, edit(sim.profile_toml())).unwrap();
        let data = dir.path().join("data");
        Bench { sim, dir, config, data, sim_clock: None }
    }

    /// Every command runs with `--sim-clock`: it decides with the (manual) simulator's time, so a
    /// test lets time pass with `sim.advance` instead of sleeping. Before each command the manual
    /// clock is also moved on by the real time since the previous one started, so no command's
    /// clock runs behind the one before it (a refresh not newer than the last one observed adds
    /// nothing to the history).
    pub fn with_sim_clock(mut self) -> Bench {
        self.sim_clock = Some(Mutex::new(Instant::now()));
        self
    }

    /// The profile the apply tests use: 1 s grace, no typed confirmation.
    pub fn apply_profile(toml: String) -> String {
        let toml = set_toml(&toml, "absent_grace_secs", "1");
        set_toml(&toml, "confirm_over", "100")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scaleguard"));
        if let Some(last) = &self.sim_clock {
            let mut last = last.lock().unwrap();
            self.sim.advance(last.elapsed()).expect("--sim-clock needs a manual-clock simulator");
            *last = Instant::now();
            command.arg("--sim-clock");
        }
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("SCALEGUARD_DATA_DIR", &self.data)
            .env_remove("RUST_LOG")
            .envs(self.sim.env())
            .stdin(Stdio::null());
        command
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        let mut command = self.command(args);
        let output =
            tokio::task::spawn_blocking(move || command.output().expect("run scaleguard")).await.unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn journal_path(&self) -> PathBuf {
        self.data.join("journal.jsonl")
    }

    pub fn journal(&self) -> (Vec<Record>, Vec<Warning>) {
        journal::read_all(&self.journal_path()).expect("journal readable")
    }

    /// Every intent has its result, every line reads.
    pub fn assert_journal_paired(&self, context: &str) {
        let (records, warnings) = self.journal();
        assert!(warnings.is_empty(), "{context}: {warnings:?}");
        let pending = journal::pending_intents(&records);
        assert!(pending.is_empty(), "{context}: intents without a result: {pending:?}");
    }

    /// Machine id → the VM behind it, as the simulator knows it.
    pub fn machines(&self) -> BTreeMap<String, Option<(String, u64)>> {
        self.sim.with_world(|w| w.machines.iter().map(|m| (m.id.clone(), m.vm.clone())).collect())
    }

    pub fn vm_exists(&self, vm: &(String, u64)) -> bool {
        self.sim.with_world(|w| w.scale_sets.iter().any(|s| s.name == vm.0 && s.vm(vm.1).is_some()))
    }

    /// Deployments scaleguard created: the machine ids each went to.
    pub fn our_deployments(&self) -> Vec<BTreeSet<String>> {
        self.sim.with_world(|w| {
            w.deployments
                .iter()
                .filter(|d| d.comments.starts_with("scaleguard"))
                .map(|d| d.specific_machine_ids.iter().cloned().collect())
                .collect()
        })
    }

    pub fn stat(&self, endpoint: &str) -> u64 {
        self.sim.stats().get(endpoint)
    }

    /// The scale-in scenario after its event, with two earlier deploy-only runs: the next healthy
    /// `apply` deletes exactly the three scaled-in VMs' targets.
    pub async fn scale_in_ready(options: SimOptions, edit: impl FnOnce(String) -> String) -> Bench {
        let bench = Bench::start(options, |toml| edit(Bench::apply_profile(toml))).await.with_sim_clock();
        bench.sim.advance(Duration::from_secs(900)).unwrap();
        for _ in 0..2 {
            let warm = bench.run(&["apply", "--yes", "--only", "deploy", "--format", "json"]).await;
            assert_eq!(warm.code, 0, "warm-up: {}", warm.stderr);
            // More than the 1 s grace between listings.
            bench.sim.advance(Duration::from_secs(2)).unwrap();
        }
        bench.sim.reset_stats();
        bench
    }
}

impl Bench {
    /// The scale-out scenario driven (manual clock) until `plan` proposes a deploy to the new
    /// targets; returns that deploy action's JSON.
    pub async fn deploy_ready(
        options: SimOptions,
        edit: impl FnOnce(String) -> String,
    ) -> (Bench, serde_json::Value) {
        let bench = Bench::start(options, |toml| edit(Bench::apply_profile(toml))).await.with_sim_clock();
        for _ in 0..40 {
            bench.sim.advance(Duration::from_secs(10)).unwrap();
            let plan = bench.run(&["plan", "--format", "json"]).await;
            let json = plan.json();
            let deploy =
                json["actions"].as_array().into_iter().flatten().find(|a| a["action"]["kind"] == "deploy");
            if let Some(deploy) = deploy {
                let deploy = deploy.clone();
                bench.sim.reset_stats();
                return (bench, deploy);
            }
        }
        panic!("the scale-out never proposed a deploy");
    }

    /// Every deployment in the simulator: (id, release, machine ids, task state, comments).
    pub fn deployments(&self) -> Vec<(String, String, BTreeSet<String>, String, String)> {
        self.sim.with_world(|w| {
            w.deployments
                .iter()
                .map(|d| {
                    let state =
                        w.tasks.iter().find(|t| t.id == d.task_id).map(|t| t.state.as_str().to_string());
                    (
                        d.id.clone(),
                        d.release_id.clone(),
                        d.specific_machine_ids.iter().cloned().collect(),
                        state.unwrap_or_default(),
                        d.comments.clone(),
                    )
                })
                .collect()
        })
    }
}

/// Every string in `haystacks` is free of every secret; `what` names the haystack on failure.
pub fn assert_no_secret(secrets: &[String], what: &str, haystack: &str) {
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!haystack.contains(secret.as_str()), "a secret leaked into {what}: {haystack}");
    }
}

/// Every file under `dir` (journal, history, lock and log files), as (path, text).
pub fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}
