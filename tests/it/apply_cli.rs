//! `scaleguard apply` end to end: the real binary against the simulator's scale-out, scale-in and
//! chaos scenarios, and two applies at once.

use scaleguard::sim::{self, RunningSim, SimOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Setup {
    sim: RunningSim,
    _dir: tempfile::TempDir,
    config: PathBuf,
    data_dir: PathBuf,
    env: Vec<(String, String)>,
    /// When the last run started: the manual clock is moved on by the real time since (see `step`).
    last_run: Mutex<Instant>,
}

/// The simulator on a manual clock, which the binary decides with (`--sim-clock`): a test lets
/// the 1 s grace pass with `sim.advance`, never by sleeping. Approvals are large.
async fn setup(scenario: &str) -> Setup {
    let sim = sim::start(SimOptions::new(scenario).manual_clock()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    let toml: String = sim
        .profile_toml()
        .lines()
        .map(|line| match line.split(" = ").next() {
            Some("absent_grace_secs") => "absent_grace_secs = 1",
            Some("confirm_over") => "confirm_over = 100",
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, toml).unwrap();
    let env = sim.env().into_iter().collect();
    let data_dir = dir.path().join("data");
    Setup { sim, config, data_dir, env, _dir: dir, last_run: Mutex::new(Instant::now()) }
}

struct Run {
    code: i32,
    json: serde_json::Value,
    stderr: String,
}

fn apply(config: &Path, data_dir: &Path, env: &[(String, String)], extra: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("--config")
        .arg(config)
        .args(["--sim-clock", "apply", "--yes", "--format", "json"])
        .args(extra)
        .env("SCALEGUARD_DATA_DIR", data_dir)
        .envs(env.iter().cloned())
        .output()
        .expect("run scaleguard apply");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    Run { code: output.status.code().unwrap_or(-1), json, stderr }
}

impl Setup {
    /// Before a run: move the manual clock on by the real time since the last run started, so no
    /// run's clock is behind the one before it (a refresh not newer than the last one observed
    /// adds nothing to the history).
    fn step(&self) {
        let mut last = self.last_run.lock().unwrap();
        self.sim.advance(last.elapsed()).unwrap();
        *last = Instant::now();
    }

    async fn apply(&self, extra: &[&str]) -> Run {
        self.step();
        let (config, data_dir, env) = (self.config.clone(), self.data_dir.clone(), self.env.clone());
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            apply(&config, &data_dir, &env, &extra)
        })
        .await
        .unwrap()
    }

    /// Machine id → the VM behind it (set, instance id), as the simulator knows it.
    fn machines(&self) -> BTreeMap<String, Option<(String, u64)>> {
        self.sim.with_world(|w| w.machines.iter().map(|m| (m.id.clone(), m.vm.clone())).collect())
    }

    fn vm_exists(&self, vm: &(String, u64)) -> bool {
        self.sim.with_world(|w| w.scale_sets.iter().any(|s| s.name == vm.0 && s.vm(vm.1).is_some()))
    }

    /// Deployments scaleguard created: (specific machine ids, release id).
    fn our_deployments(&self) -> Vec<(BTreeSet<String>, String)> {
        self.sim.with_world(|w| {
            w.deployments
                .iter()
                .filter(|d| d.comments.starts_with("scaleguard"))
                .map(|d| (d.specific_machine_ids.iter().cloned().collect(), d.release_id.clone()))
                .collect()
        })
    }

    fn journal(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.data_dir.join("journal.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

fn outcomes(run: &Run, status: &str) -> usize {
    run.json["reports"]
        .as_array()
        .map(|reports| reports.iter().filter(|r| r["outcome"]["status"] == status).count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_out_ends_with_one_deployment_to_exactly_the_new_non_extra_targets() {
    let s = setup("scale-out").await;
    let before: BTreeSet<String> = s.machines().into_keys().collect();
    // Drive the event: 2 -> 6 with over-provisioned extras, registrations, extras cleaned up.
    for _ in 0..30 {
        s.sim.advance(Duration::from_secs(10)).unwrap();
        let run = s.apply(&[]).await;
        assert!(run.code == 0 || run.code == 2, "apply failed ({}): {}\n{}", run.code, run.stderr, run.json);
        assert_eq!(outcomes(&run, "failed"), 0, "{}", run.json);
    }
    let deployments = s.our_deployments();
    assert_eq!(deployments.len(), 1, "exactly one deployment for the event: {deployments:?}");
    let machines = s.machines();
    let new_with_vm: BTreeSet<String> = machines
        .iter()
        .filter(|(id, vm)| !before.contains(*id) && vm.as_ref().is_some_and(|vm| s.vm_exists(vm)))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(new_with_vm.len(), 4, "4 new VMs registered: {machines:?}");
    assert_eq!(deployments[0].0, new_with_vm, "deployed to exactly the new, non-extra targets");
    assert!(deployments[0].0.is_disjoint(&before), "no pre-existing target is redeployed");

    // A duplicate trigger run: nothing more to do.
    let again = s.apply(&[]).await;
    assert_eq!(again.code, 0, "{}\n{}", again.stderr, again.json);
    assert_eq!(s.our_deployments().len(), 1);
    s.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_in_deletes_the_removed_vms_targets_after_the_grace_and_nothing_else() {
    let s = setup("scale-in").await;
    s.sim.advance(Duration::from_secs(900)).unwrap();
    let before = s.machines();
    for attempt in 1..=2 {
        let run = s.apply(&[]).await;
        assert_eq!(run.code, 0, "run {attempt}: too little evidence yet: {}\n{}", run.stderr, run.json);
        assert_eq!(s.machines(), before, "run {attempt} deleted something");
        // More than the 1 s grace between listings.
        s.sim.advance(Duration::from_secs(2)).unwrap();
    }
    let run = s.apply(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = s.machines();
    let deleted: Vec<_> = before.keys().filter(|id| !after.contains_key(*id)).collect();
    assert_eq!(deleted.len(), 3, "the three scaled-in VMs' targets: {deleted:?}");
    for id in &deleted {
        let vm = before[*id].as_ref().expect("a scale-set target");
        assert!(!s.vm_exists(vm), "{id} was deleted while its VM {vm:?} exists");
    }
    for (id, vm) in &after {
        assert!(vm.as_ref().is_some_and(|vm| s.vm_exists(vm)), "{id} kept although its VM is gone");
    }
    let journal = s.journal();
    let results: Vec<_> = journal.iter().filter(|r| r["kind"] == "result").collect();
    assert_eq!(journal.len(), 6, "one intent and one result per delete: {journal:?}");
    assert!(results.iter().all(|r| r["outcome"]["status"] == "done"), "{results:?}");
    assert!(journal.iter().all(|r| !r["operator"].as_str().unwrap_or_default().is_empty()));
    s.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_in_output_variables_count_the_deleted_targets() {
    let s = scale_in_ready_to_delete().await;
    let (config, data_dir, env) = (s.config.clone(), s.data_dir.clone(), s.env.clone());
    s.step();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_scaleguard"))
            .arg("--config")
            .arg(&config)
            .args(["--sim-clock", "apply", "--yes", "--octopus-output"])
            .env("SCALEGUARD_DATA_DIR", &data_dir)
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let variables = decode_service_messages(&stdout);
    assert_eq!(variables.get("ScaleguardDeletedTargetCount").map(String::as_str), Some("3"), "{stdout}");
    assert_eq!(variables.get("VMSSHasServersToDeployTo").map(String::as_str), Some("False"));
    assert_eq!(variables.get("VMSSDeploymentTargetIds").map(String::as_str), Some(""));
    s.sim.shutdown().await;
}

fn decode_service_messages(stdout: &str) -> BTreeMap<String, String> {
    use base64::Engine;
    let decode =
        |s: &str| String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap();
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("##octopus[setVariable name='"))
        .map(|rest| {
            let (name, rest) = rest.split_once("' value='").unwrap();
            let value = rest.strip_suffix("']").unwrap();
            (decode(name), decode(value))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_deletes_no_target_whose_vm_is_present() {
    let s = setup("chaos").await;
    let mut deleted_total = 0;
    for round in 0..20 {
        s.sim.advance(Duration::from_secs(20)).unwrap();
        let before = s.machines();
        let run = s.apply(&[]).await;
        assert!(run.code != 101 && !run.stderr.contains("panicked"), "round {round}: {}", run.stderr);
        let after = s.machines();
        for (id, vm) in before.iter().filter(|(id, _)| !after.contains_key(*id)) {
            deleted_total += 1;
            if let Some(vm) = vm {
                assert!(!s.vm_exists(vm), "round {round}: deleted {id} while its VM {vm:?} exists");
            }
        }
    }
    // Every target deleted had its VM gone; the journal holds a result for every intent.
    let journal = s.journal();
    let intents = journal.iter().filter(|r| r["kind"] == "intent").count();
    let results = journal.iter().filter(|r| r["kind"] == "result").count();
    assert_eq!(intents, results, "every intent has its result");
    eprintln!("chaos: {deleted_total} target(s) deleted over 20 rounds");
    s.sim.shutdown().await;
}

/// The scale-in scenario with enough absence evidence for its three deletes, observed by two
/// earlier deploy-only runs in `setup`'s data dir.
async fn scale_in_ready_to_delete() -> Setup {
    let s = setup("scale-in").await;
    s.sim.advance(Duration::from_secs(900)).unwrap();
    for _ in 0..2 {
        s.apply(&["--only", "deploy"]).await;
        s.sim.advance(Duration::from_secs(2)).unwrap();
    }
    s.sim.reset_stats();
    s
}

async fn race(s: &Setup, data_dirs: Vec<PathBuf>) -> Vec<Run> {
    s.step();
    let runs = futures::future::join_all(data_dirs.into_iter().map(|data| {
        let (config, env) = (s.config.clone(), s.env.clone());
        tokio::task::spawn_blocking(move || apply(&config, &data, &env, &[]))
    }))
    .await;
    runs.into_iter().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_on_different_machines_never_fail_or_double_delete() {
    let s = scale_in_ready_to_delete().await;
    // A second data dir stands for a second machine: no shared lock, so the server's 404 decides.
    let other = s.data_dir.parent().unwrap().join("data-other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(s.data_dir.join("history-sim.json"), other.join("history-sim.json")).unwrap();
    let runs = race(&s, vec![s.data_dir.clone(), other]).await;
    let done: usize = runs.iter().map(|r| outcomes(r, "done")).sum();
    let failed: usize = runs.iter().map(|r| outcomes(r, "failed")).sum();
    let jsons: Vec<_> = runs.iter().map(|r| &r.json).collect();
    assert_eq!(done, 3, "each target deleted exactly once: {jsons:?}");
    assert_eq!(failed, 0, "{jsons:?}");
    assert_eq!(s.machines().len(), 3, "the three targets whose VMs remain are kept");
    s.sim.shutdown().await;
}
