//! `scaleguard node ...` end to end: the real binary against a real-time simulator (speed 20,
//! so the profile's timings are 1/20th), including a `node drain --wait` killed mid-run.

use scaleguard::drain::DrainEffect;
use scaleguard::journal::{read_all, JournalAction, Outcome, Record, RecordKind};
use scaleguard::sim::{self, EventAction, RunningSim, SimOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Cli {
    sim: RunningSim,
    _dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

async fn start(read_only: bool) -> Cli {
    let sim = sim::start(SimOptions::new("ha-drain").speed(20.0)).await.expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    let mut toml = sim.profile_toml();
    if read_only {
        toml = toml.replace("read_only = false", "read_only = true");
        assert!(toml.contains("read_only = true"));
    }
    std::fs::write(&config, toml).unwrap();
    let data = dir.path().join("data");
    Cli { sim, _dir: dir, config, data }
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scaleguard"));
        command
            .arg("--config")
            .arg(&self.config)
            .arg("node")
            .args(args)
            .env("SCALEGUARD_DATA_DIR", &self.data)
            .envs(self.sim.env())
            .stdin(Stdio::null());
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().expect("run scaleguard node")).await.unwrap()
    }

    fn journal(&self) -> Vec<Record> {
        read_all(&self.data.join("journal.jsonl")).unwrap().0
    }

    fn stat(&self, endpoint: &str) -> u64 {
        self.sim.stats().get(endpoint)
    }
}

fn json(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("JSON ({e}): {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr))
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

fn drain_effects(records: &[Record], kind: RecordKind) -> Vec<DrainEffect> {
    records
        .iter()
        .filter(|r| r.kind == kind)
        .filter_map(|r| match &r.action {
            JournalAction::Drain { effect, .. } => Some(effect.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drain_killed_mid_wait_resumes_on_rerun_without_repeating_a_step() {
    let cli = start(false).await;
    // 100 simulated seconds = 5 s here: long enough to kill the first run while it waits.
    cli.sim.apply(EventAction::RunTask { node: "OCTO-NODE-1".into(), secs: 100.0 }).unwrap();
    let mut first = cli
        .command(&["drain", "OCTO-NODE-1", "--wait", "--yes", "--format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal_path = cli.data.join("journal.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (records, _) = read_all(&journal_path).unwrap();
        if drain_effects(&records, RecordKind::Result).contains(&DrainEffect::EnableDrain) {
            break;
        }
        assert!(first.try_wait().unwrap().is_none(), "the first run ended before drain was on");
        assert!(Instant::now() < deadline, "drain was never journaled as enabled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(cli
        .sim
        .with_world(|w| w.nodes.iter().any(|n| n.name == "OCTO-NODE-1" && n.is_in_maintenance_mode)));
    let deletes_before = cli.stat("octopus.octopusservernodes.delete");
    assert_eq!(deletes_before, 0, "killed while waiting, before any delete");

    let list = cli.run(&["list", "--format", "json"]).await;
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let rows = json(&list);
    let row = rows.as_array().unwrap().iter().find(|r| r["name"] == "OCTO-NODE-1").unwrap();
    assert_eq!(row["pending_job"], true, "{row}");

    let second = cli.run(&["drain", "OCTO-NODE-1", "--wait", "--yes", "--format", "json"]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let outcome = json(&second);
    assert_eq!(outcome["status"], "done", "{outcome}");
    assert_eq!(outcome["progress"]["resumed"], true, "{outcome}");
    assert!(stderr(&second).contains("OCTO-NODE-1: waiting for tasks"), "{}", stderr(&second));

    assert_eq!(cli.stat("octopus.octopusservernodes.put"), 1, "drain enabled once across both runs");
    assert_eq!(cli.stat("octopus.octopusservernodes.delete"), 1, "deleted once");
    assert_eq!(cli.stat("octopus.tasks.cancel"), 0, "an online node's tasks were waited for");
    let records = cli.journal();
    assert_eq!(
        drain_effects(&records, RecordKind::Intent),
        vec![DrainEffect::EnableDrain, DrainEffect::DeleteNode]
    );
    let jobs: Vec<&Record> =
        records.iter().filter(|r| matches!(r.action, JournalAction::DrainJob { .. })).collect();
    assert_eq!(jobs.len(), 2, "one job across both runs: intent and result");
    assert_eq!(jobs[1].outcome, Some(Outcome::Done));
    assert!(cli.sim.with_world(|w| w.nodes.iter().all(|n| n.name != "OCTO-NODE-1")));
    cli.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drain_without_wait_exits_2_while_tasks_run_and_needs_yes_without_a_terminal() {
    let cli = start(false).await;
    cli.sim.apply(EventAction::RunTask { node: "OCTO-NODE-2".into(), secs: 3600.0 }).unwrap();
    let unconfirmed = cli.run(&["drain", "OCTO-NODE-2"]).await;
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert!(stderr(&unconfirmed).contains("--yes"), "{}", stderr(&unconfirmed));
    assert_eq!(cli.stat("octopus.octopusservernodes.put"), 0);

    let started = cli.run(&["drain", "OCTO-NODE-2", "--yes", "--format", "json"]).await;
    assert_eq!(started.status.code(), Some(2), "{}", stderr(&started));
    let outcome = json(&started);
    assert_eq!(outcome["status"], "in-progress", "{outcome}");
    assert!(outcome["progress"]["running_tasks"].as_u64().unwrap() >= 1, "{outcome}");
    assert_eq!(cli.stat("octopus.octopusservernodes.put"), 1);

    // Node 3 picks up the cluster's tasks now: deleting it without --force is refused.
    let busy = cli.run(&["delete", "OCTO-NODE-3", "--yes"]).await;
    assert_eq!(busy.status.code(), Some(1));
    assert!(stderr(&busy).contains("still heartbeating and running"), "{}", stderr(&busy));
    assert_eq!(cli.stat("octopus.octopusservernodes.delete"), 0);

    let cap = cli.run(&["task-cap", "OCTO-NODE-1", "0", "--yes", "--format", "json"]).await;
    assert_eq!(cap.status.code(), Some(0), "{}", stderr(&cap));
    assert_eq!(json(&cap)["changed"], true);
    let last = cli.run(&["task-cap", "OCTO-NODE-3", "0", "--yes"]).await;
    assert_eq!(last.status.code(), Some(1), "the last task node keeps its cap");
    assert!(stderr(&last).contains("refused"), "{}", stderr(&last));
    assert_eq!(
        cli.sim.with_world(|w| w.nodes.iter().map(|n| n.max_concurrent_tasks).collect::<Vec<_>>()),
        vec![0, 5, 5]
    );
    cli.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_profile_refuses_every_mutating_node_command_but_lists() {
    let cli = start(true).await;
    for args in [
        vec!["drain", "OCTO-NODE-1", "--yes", "--wait"],
        vec!["undrain", "OCTO-NODE-1", "--yes"],
        vec!["delete", "OCTO-NODE-1", "--yes", "--force"],
        vec!["task-cap", "OCTO-NODE-1", "0", "--yes"],
    ] {
        let output = cli.run(&args).await;
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains("read-only"), "{args:?}: {}", stderr(&output));
    }
    assert_eq!(cli.sim.stats().octopus, 0, "nothing reached Octopus");
    assert!(!Path::new(&cli.data.join("journal.jsonl")).exists() || cli.journal().is_empty());

    let list = cli.run(&["list"]).await;
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let table = String::from_utf8_lossy(&list.stdout);
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(table.lines().filter(|l| l.starts_with("OCTO-NODE-")).count(), 3, "{table}");
    cli.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_deadline_a_headless_drain_stops_with_2_or_does_what_on_deadline_says() {
    let cli = start(false).await;
    cli.sim.apply(EventAction::RunTask { node: "OCTO-NODE-2".into(), secs: 3600.0 }).unwrap();
    let stopped =
        cli.run(&["drain", "OCTO-NODE-2", "--wait", "--yes", "--deadline", "0", "--format", "json"]).await;
    assert_eq!(stopped.status.code(), Some(2), "{}", stderr(&stopped));
    assert_eq!(json(&stopped)["status"], "needs-answer");
    assert_eq!(cli.stat("octopus.tasks.cancel"), 0, "nothing cancelled without an answer");

    // The rerun resumes the same job; this time the deadline's answer is "cancel".
    let args = ["drain", "OCTO-NODE-2", "--wait", "--yes", "--on-deadline", "cancel", "--format", "json"];
    let cancelled = cli.run(&args).await;
    assert_eq!(cancelled.status.code(), Some(0), "{}", stderr(&cancelled));
    let outcome = json(&cancelled);
    assert_eq!(outcome["status"], "done", "{outcome}");
    assert_eq!(outcome["progress"]["resumed"], true, "{outcome}");
    let sent = outcome["effects"].as_array().unwrap();
    let cancels = sent.iter().filter(|e| e["effect"] == "cancel-task").count() as u64;
    assert!(cancels >= 1, "{outcome}");
    assert_eq!(cli.stat("octopus.tasks.cancel"), cancels, "each task cancelled once");
    assert_eq!(cli.stat("octopus.octopusservernodes.put"), 1, "drain enabled once across both runs");
    assert_eq!(cli.stat("octopus.octopusservernodes.delete"), 1);
    cli.sim.shutdown().await;
}

/// A drain whose "drain on" a killed run journaled but never sent (the node shows drain off) is
/// sent again by the rerun at once, not after the two-minute resend delay.
#[tokio::test(flavor = "multi_thread")]
async fn a_drain_on_that_never_landed_is_sent_again_at_once_by_the_rerun() {
    use scaleguard::journal::Journal;
    let cli = start(false).await;
    let listed = json(&cli.run(&["list", "--format", "json"]).await);
    let id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "OCTO-NODE-2")
        .and_then(|n| n["id"].as_str())
        .unwrap()
        .to_string();
    std::fs::create_dir_all(&cli.data).unwrap();
    let journal = Journal::open(&cli.data.join("journal.jsonl")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let job = JournalAction::DrainJob {
        node_id: id.clone(),
        node_name: "OCTO-NODE-2".into(),
        force: false,
        wait_secs: 1800,
    };
    journal.append_intent("sim", "drain", job, now).unwrap();
    let enable = JournalAction::Drain {
        node_id: id.clone(),
        node_name: "OCTO-NODE-2".into(),
        effect: DrainEffect::EnableDrain,
    };
    journal.append_intent("sim", "step", enable, now).unwrap();

    let rerun = cli.run(&["drain", "OCTO-NODE-2", "--yes", "--format", "json"]).await;
    // Sent once by the rerun (the idle node then goes on to be deleted).
    assert_eq!(
        cli.stat("octopus.octopusservernodes.put"),
        1,
        "drain on sent again at once: {}",
        stderr(&rerun)
    );
}
