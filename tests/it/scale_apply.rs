//! Guarded manual scaling end to end over the simulator: the library's prepare/apply and the real
//! `scaleguard scale` / `scaleguard protect` binaries, over HTTP on 127.0.0.1.
//!
//! Every test starts its own simulator (manual clock) and passes keys to child processes
//! explicitly, so tests run in parallel.

use crate::support::static_token::StaticToken;

use scaleguard::config::{ConfigFile, Profile};
use scaleguard::journal::{read_all, Journal, JournalAction, Outcome, RecordKind};
use scaleguard::providers::azure::AzureProvider;
use scaleguard::scaling::{ScaleOutcome, Scaling};
use scaleguard::sim::{self, EventAction, RequestHook, RunningSim, SimOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SET: &str = "vmss-web";

/// A steady simulator (3 VMs, ids 0..=2, over-provisioning on), a config file and a data dir.
struct Setup {
    running: RunningSim,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    async fn new() -> Self {
        Self::with_toml(|toml| toml).await
    }

    async fn with_toml(edit: impl FnOnce(String) -> String) -> Self {
        let running = sim::start(SimOptions::new("steady").manual_clock()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sim.toml");
        std::fs::write(&config, edit(running.profile_toml())).unwrap();
        Self { running, dir, config }
    }

    fn profile(&self) -> Profile {
        let text = std::fs::read_to_string(&self.config).unwrap();
        ConfigFile::parse(&text, &self.config).unwrap().profile(None).unwrap().1.clone()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn journal_path(&self) -> PathBuf {
        self.data_dir().join("journal.jsonl")
    }

    /// The library entry point, as operator `alice`, polling operations every 50 ms.
    fn scaling(&self) -> Scaling {
        let profile = self.profile();
        let provider =
            AzureProvider::with_credential(&profile.azure, Arc::new(StaticToken(self.running.arm_token())))
                .unwrap()
                .with_poll_interval(Duration::from_millis(50));
        let journal = Journal::open(&self.journal_path()).unwrap().with_operator("alice");
        Scaling::new("sim", profile, journal).with_provider(Arc::new(provider))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scaleguard"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("SCALEGUARD_DATA_DIR", self.data_dir())
            .env("USER", "bob")
            .envs(self.running.env());
        command
    }

    /// Run the binary on a blocking thread while the simulated clock moves `step_secs` every
    /// 100 ms, so long-running operations it waits for can finish.
    async fn run_advancing(&self, args: &[&str], step_secs: u64) -> Output {
        crate::support::sim_harness::output_advancing(self.command(args), &self.running, step_secs).await
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_advancing(args, 0).await
    }

    fn capacity(&self) -> u32 {
        self.running.with_world(|w| w.scale_sets[0].capacity)
    }

    fn instance_ids(&self) -> Vec<u64> {
        self.running.with_world(|w| w.scale_sets[0].vms.iter().map(|vm| vm.instance_id).collect())
    }

    fn patches(&self) -> u64 {
        self.running.stats().get("arm.patch_scale_set")
    }

    /// `scaleguard plan --format json` against the simulator.
    async fn plan(&self) -> serde_json::Value {
        let output = self.run(&["plan", "--format", "json"]).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("plan JSON ({e}): {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr))
        })
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn actions<'p>(plan: &'p serde_json::Value, kind: &str) -> Vec<&'p serde_json::Value> {
    plan["actions"].as_array().unwrap().iter().filter(|a| a["action"]["kind"] == kind).collect()
}

fn journal(path: &Path) -> Vec<scaleguard::journal::Record> {
    let (records, warnings) = read_all(path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    records
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capacity_change_between_read_and_write_is_a_412_surfaced_and_rechecked() {
    let setup = Setup::new().await;
    let scaling = setup.scaling();
    let key = scaling.scale_set(SET).unwrap();
    let proposal = scaling.prepare(&key, 5, "Black Friday load test", false).await.unwrap();
    assert!(proposal.is_allowed(), "{:?}", proposal.verdict);
    assert_eq!((proposal.current(), proposal.target()), (3, 5));

    // Someone else (an autoscale rule, another console) moves the set to 7 after our read.
    setup.running.apply(EventAction::SetCapacity { set: SET.into(), capacity: 7 }).unwrap();
    let outcome = scaling.apply(&proposal).await.unwrap();

    let ScaleOutcome::Changed(conflict) = &outcome else { panic!("expected a conflict, got {outcome:?}") };
    assert_eq!(conflict.expected_capacity, 3);
    assert_eq!(conflict.found_capacity(), Some(7), "the set was read again after the 412");
    let fresh = conflict.fresh.as_ref().unwrap();
    assert!(!fresh.is_allowed(), "7 VMs are still creating: {:?}", fresh.verdict);
    let sentence = outcome.sentence();
    assert!(sentence.contains("3→7 by someone else") && sentence.contains("ask again"), "{sentence}");
    assert!(sentence.contains("still provisioning"), "the guard's fresh answer is included: {sentence}");
    assert!(!sentence.contains("cooldown"), "our own skipped attempt is not a change: {sentence}");
    assert_eq!(setup.capacity(), 7, "our PATCH must not have overwritten the other change");
    assert_eq!(setup.patches(), 1, "a 412 is never retried blindly");

    let records = journal(&setup.journal_path());
    assert_eq!(records.len(), 2, "intent and result: {records:?}");
    assert_eq!(records[0].kind, RecordKind::Intent);
    assert_eq!(records[0].action, JournalAction::Scale { scale_set: key.clone(), from: Some(3), to: 5 });
    assert!(matches!(&records[1].outcome, Some(Outcome::Skipped(why)) if why.contains("3→7")));
    for record in &records {
        assert_eq!((record.operator.as_str(), record.reason.as_str()), ("alice", "Black Friday load test"));
    }
    setup.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_exits_2_when_the_set_changes_between_its_read_and_its_patch() {
    let setup = Setup::new().await;
    setup.running.before_next_request(RequestHook {
        method: Some("PATCH".into()),
        path_prefix: "/subscriptions/".into(),
        action: EventAction::SetCapacity { set: SET.into(), capacity: 4 },
    });
    let output = setup.run(&["scale", SET, "--capacity", "5", "--reason", "peak", "--yes"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stdout: {}\nstderr: {stderr}", text(&output.stdout));
    assert!(stderr.contains("capacity 3→4 by someone else") && stderr.contains("ask again"), "{stderr}");
    assert_eq!(setup.capacity(), 4);
    assert_eq!(setup.patches(), 1);
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Now:") && stdout.contains("4 → 5"), "the fresh proposal is shown: {stdout}");
    setup.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_names_every_reason_and_changes_nothing() {
    let setup = Setup::new().await;
    // A change journaled a minute ago (cooldown) and one still provisioning (out of band).
    let journal = Journal::open(&setup.journal_path()).unwrap();
    let key = setup.profile().scale_sets[0].key();
    let now = time::OffsetDateTime::now_utc();
    let intent = journal
        .append_intent("sim", "warm-up", JournalAction::Scale { scale_set: key, from: Some(2), to: 3 }, now)
        .unwrap();
    journal.append_result(&intent, Outcome::Done, now).unwrap();
    setup.running.apply(EventAction::SetCapacity { set: SET.into(), capacity: 4 }).unwrap();
    let patches = setup.patches();

    let output = setup.run(&["scale", SET, "--capacity", "40", "--yes"]).await;
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    for expected in [
        "capacity 40 is above the maximum of 20",
        "changing from 4 to 40 is a step of 36, more than the allowed 5",
        "the cooldown ends in",
        "a reason is required",
        "still provisioning a previous change",
    ] {
        assert!(stdout.contains(expected), "stdout lacks `{expected}`: {stdout}");
        assert!(stderr.contains(expected), "stderr lacks `{expected}`: {stderr}");
    }
    assert!(stdout.contains("REFUSED (5 reason(s))"), "{stdout}");
    assert_eq!(setup.patches(), patches, "a refused request sends nothing");
    assert_eq!(journal_len(&setup), 2, "a refused request journals nothing");
    setup.running.shutdown().await;
}

fn journal_len(setup: &Setup) -> usize {
    journal(&setup.journal_path()).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scale_out_is_followed_by_a_wait_then_a_deploy_to_the_new_targets_only() {
    let setup = Setup::new().await;
    let before: BTreeSet<String> =
        setup.running.with_world(|w| w.machines.iter().map(|m| m.id.clone()).collect());
    let scaling = Arc::new(setup.scaling());
    let key = scaling.scale_set(SET).unwrap();
    let proposal = scaling.prepare(&key, 5, "peak", false).await.unwrap();
    assert!(proposal.is_allowed(), "{:?}", proposal.verdict);

    let apply = tokio::spawn({
        let scaling = scaling.clone();
        async move { scaling.apply(&proposal).await }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while setup.capacity() != 5 {
        assert!(Instant::now() < deadline, "the PATCH never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Provisioning: the planner waits and deploys nothing yet.
    let plan = setup.plan().await;
    assert_eq!(actions(&plan, "wait").len(), 1, "{plan}");
    assert!(actions(&plan, "deploy").is_empty(), "{plan}");
    assert!(!apply.is_finished(), "apply waits for the operation");

    while !apply.is_finished() {
        assert!(Instant::now() < deadline + Duration::from_secs(30), "the operation never finished");
        setup.running.advance(Duration::from_secs(5)).unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let outcome = apply.await.unwrap().unwrap();
    assert_eq!(outcome, ScaleOutcome::Done { from: 3, to: 5, forced: false });
    setup.running.advance(Duration::from_secs(10)).unwrap(); // the new tentacles register

    let plan = setup.plan().await;
    assert!(actions(&plan, "wait").is_empty(), "{plan}");
    let deploys = actions(&plan, "deploy");
    assert_eq!(deploys.len(), 1, "{plan}");
    let deployed: BTreeSet<String> = deploys[0]["action"]["target_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    let new_vm_targets: BTreeSet<String> = setup.running.with_world(|w| {
        let set = &w.scale_sets[0];
        w.machines
            .iter()
            .filter(|m| m.vm.as_ref().is_some_and(|(_, id)| *id >= 3 && set.vm(*id).is_some()))
            .map(|m| m.id.clone())
            .collect()
    });
    assert_eq!(new_vm_targets.len(), 2, "two new VMs, each registered once");
    assert_eq!(deployed, new_vm_targets, "exactly the new VMs' targets");
    assert!(deployed.is_disjoint(&before), "never a pre-existing target");

    let records = journal(&setup.journal_path());
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].outcome, Some(Outcome::Done));
    assert_eq!(records[1].intent_id, records[0].intent_id);
    setup.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scale_in_removes_the_highest_ids_except_protected_ones() {
    let setup = Setup::new().await;
    let output = setup.run(&["protect", SET, "1", "--reason", "holds the session cache", "--yes"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(setup.running.with_world(|w| w.scale_sets[0].vm(1).unwrap().protect_from_scale_in));

    let output = setup
        .run_advancing(
            &["scale", SET, "--capacity", "1", "--reason", "night", "--yes", "--format", "json"],
            10,
        )
        .await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", text(&output.stderr));
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(body["proposal"]["expected_victims"], serde_json::json!(["2", "0"]));
    assert_eq!(body["proposal"]["protected"], serde_json::json!(["1"]));
    assert_eq!(body["outcome"]["status"], "done");
    assert_eq!(setup.instance_ids(), vec![1], "the protected instance stays, the others go");

    let records = journal(&setup.journal_path());
    let summary: Vec<(RecordKind, &str, &str, Option<&Outcome>)> = records
        .iter()
        .map(|r| (r.kind, r.operator.as_str(), r.reason.as_str(), r.outcome.as_ref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (RecordKind::Intent, "bob", "holds the session cache", None),
            (RecordKind::Result, "bob", "holds the session cache", Some(&Outcome::Done)),
            (RecordKind::Intent, "bob", "night", None),
            (RecordKind::Result, "bob", "night", Some(&Outcome::Done)),
        ]
    );
    assert!(
        matches!(&records[0].action, JournalAction::Protect { instance_id, protect: true, .. } if instance_id == "1")
    );
    assert!(matches!(records[2].action, JournalAction::Scale { from: Some(3), to: 1, .. }));
    setup.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_profile_refuses_scale_and_protect() {
    let setup = Setup::with_toml(|toml| toml.replace("read_only = false", "read_only = true")).await;
    for args in [
        &["scale", SET, "--capacity", "4", "--reason", "x", "--yes"][..],
        &["protect", SET, "1", "--reason", "x", "--yes"][..],
    ] {
        let output = setup.run(args).await;
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(text(&output.stderr).contains("read-only"), "{}", text(&output.stderr));
    }
    assert_eq!(setup.patches(), 0);
    assert_eq!(setup.running.stats().get("arm.put_vm"), 0);
    setup.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_yes_is_required_and_unknown_sets_are_named() {
    let setup = Setup::new().await;
    let output = setup.run(&["scale", SET, "--capacity", "4", "--reason", "x"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--yes"), "{}", text(&output.stderr));
    assert_eq!(setup.patches(), 0);

    let output = setup.run(&["scale", "vmss-api", "--capacity", "4", "--reason", "x", "--yes"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`vmss-api` is not configured") && stderr.contains(SET), "{stderr}");
    setup.running.shutdown().await;
}

/// Run `scaleguard` in a pseudo-terminal, wait for its question, type `answer` and Enter; the
/// exit code and everything the terminal showed.
fn answer_in_terminal(mut command: portable_pty::CommandBuilder, answer: &str) -> (u32, String) {
    use portable_pty::{native_pty_system, PtySize};
    use std::io::{Read, Write};
    let pair = native_pty_system()
        .openpty(PtySize { rows: 40, cols: 160, pixel_width: 0, pixel_height: 0 })
        .expect("a pseudo-terminal");
    command.env("NO_COLOR", "1");
    let mut child = pair.slave.spawn_command(command).expect("spawn in the terminal");
    drop(pair.slave);
    let screen = Arc::new(std::sync::Mutex::new(String::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let sink = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !screen.lock().unwrap().contains("Type ") {
        assert!(Instant::now() < deadline, "no question asked: {}", screen.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut writer = pair.master.take_writer().unwrap();
    writer.write_all(format!("{answer}\r").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let shown = screen.lock().unwrap().clone();
    (status.exit_code(), shown)
}

impl Setup {
    fn terminal_command(&self, args: &[&str]) -> portable_pty::CommandBuilder {
        let mut command = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_scaleguard"));
        command.arg("--config");
        command.arg(&self.config);
        command.args(args);
        command.env("SCALEGUARD_DATA_DIR", self.data_dir());
        command.env("USER", "carol");
        for (key, value) in self.running.env() {
            command.env(key, value);
        }
        command
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_enter_alone_cancels_and_typing_yes_scales() {
    let setup = Setup::new().await;
    let args = ["scale", SET, "--capacity", "4", "--reason", "peak"];
    let command = setup.terminal_command(&args);
    let (code, shown) = tokio::task::spawn_blocking(move || answer_in_terminal(command, "")).await.unwrap();
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("3 → 4") && shown.contains("cancelled"), "{shown}");
    assert_eq!(setup.patches(), 0, "Enter alone must never confirm");

    let command = setup.terminal_command(&args);
    let asked = tokio::task::spawn_blocking(move || answer_in_terminal(command, "yes"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !asked.is_finished() {
        assert!(Instant::now() < deadline, "the confirmed scale did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
        setup.running.advance(Duration::from_secs(10)).unwrap();
    }
    let (code, shown) = asked.await.unwrap();
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("done: capacity changed from 3 to 4"), "{shown}");
    assert_eq!((setup.capacity(), setup.patches()), (4, 1));
    let records = journal(&setup.journal_path());
    assert!(records.iter().all(|r| r.operator == "carol" && r.reason == "peak"), "{records:?}");
    setup.running.shutdown().await;
}

/// A scale-in deletes VMs: the one confirmation rule wants the scale set's name, not `yes`.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_a_scale_in_needs_the_scale_sets_name_typed() {
    let setup = Setup::new().await;
    let args = ["scale", SET, "--capacity", "2", "--reason", "night"];
    let command = setup.terminal_command(&args);
    let (code, shown) =
        tokio::task::spawn_blocking(move || answer_in_terminal(command, "yes")).await.unwrap();
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains(&format!("Type `{SET}`")), "the name is asked for: {shown}");
    assert_eq!(setup.patches(), 0, "a yes does not scale in");
    setup.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_asks_the_guard_again_with_the_journal_as_it_is_now() {
    let setup = Setup::new().await;
    let scaling = setup.scaling();
    let key = scaling.scale_set(SET).unwrap();
    let proposal = scaling.prepare(&key, 5, "peak", false).await.unwrap();
    assert!(proposal.is_allowed());

    // Another console scales (and journals it) between our prepare and our apply.
    let other = Journal::open(&setup.journal_path()).unwrap().with_operator("dave");
    let now = time::OffsetDateTime::now_utc();
    let action = JournalAction::Scale { scale_set: key.clone(), from: Some(3), to: 4 };
    let intent = other.append_intent("sim", "their reason", action, now).unwrap();
    other.append_result(&intent, Outcome::Done, now).unwrap();

    let outcome = scaling.apply(&proposal).await.unwrap();
    let ScaleOutcome::Refused { reasons } = &outcome else { panic!("expected a refusal, got {outcome:?}") };
    assert!(reasons.iter().any(|r| r.to_string().contains("cooldown")), "{reasons:?}");
    assert_eq!(setup.patches(), 0, "nothing is sent once the guard says no");
    assert_eq!(journal(&setup.journal_path()).len(), 2, "only the other console's records");
    setup.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_change_whose_operation_fails_is_journaled_failed_and_still_starts_the_cooldown() {
    let setup = Setup::new().await;
    let scaling = setup.scaling();
    let key = scaling.scale_set(SET).unwrap();
    let proposal = scaling.prepare(&key, 4, "peak", false).await.unwrap();
    // Polling the operation is refused: the PATCH went through, its outcome is unknown.
    let operations = format!("/subscriptions/{}/providers/Microsoft.Compute/locations", key.subscription_id);
    setup
        .running
        .inject_fault(scaleguard::sim::FaultSpec {
            target: operations,
            kind: "401".into(),
            count: 100,
            retry_after_secs: None,
            delay_ms: None,
        })
        .unwrap();
    let outcome = scaling.apply(&proposal).await.unwrap();
    let ScaleOutcome::Failed { why, accepted: true } = &outcome else { panic!("{outcome:?}") };
    assert!(why.contains("accepted capacity 4") && why.contains("401"), "{why}");
    assert_eq!(setup.capacity(), 4);
    let records = journal(&setup.journal_path());
    assert!(matches!(&records[1].outcome, Some(Outcome::Failed(text)) if text == why));

    // The capacity did move: asking again right away is refused by the cooldown.
    setup.running.advance(Duration::from_secs(300)).unwrap();
    let again = scaling.prepare(&key, 5, "peak", false).await.unwrap();
    let refusals: Vec<String> = again.verdict.refusals().iter().map(ToString::to_string).collect();
    assert!(refusals.iter().any(|r| r.contains("cooldown")), "{refusals:?}");
    setup.running.shutdown().await;
}

/// Issue 15, defect 1: a scale whose console quit before its result (capacity changed, no result
/// journaled) is settled against the capacity now by the next command, with a note saying so.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_scale_is_settled_by_the_next_command() {
    let setup = Setup::new().await;
    let journal = Journal::open(&setup.journal_path()).unwrap();
    let key = setup.profile().scale_sets[0].key();
    let now = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    // The sim's set has capacity 3: a 2→3 intent happened; a 3→7 one did not.
    let reached = JournalAction::Scale { scale_set: key.clone(), from: Some(2), to: 3 };
    let missed = JournalAction::Scale { scale_set: key, from: Some(3), to: 7 };
    journal.append_intent("sim", "quit while it ran", reached, now).unwrap();
    journal.append_intent("sim", "quit while it ran", missed, now).unwrap();

    let output = setup.run(&["scale", SET, "--capacity", "3", "--reason", "x", "--yes"]).await;
    let stderr = text(&output.stderr);
    assert!(stderr.contains("an earlier run was interrupted"), "{stderr}");
    let results: Vec<_> = journal_records(&setup)
        .into_iter()
        .filter(|r| r.kind == scaleguard::journal::RecordKind::Result)
        .collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results
        .iter()
        .all(|r| r.note.as_deref().is_some_and(|n| n.starts_with("settled after an interruption"))));
    assert_eq!(results[0].outcome, Some(Outcome::Done), "capacity is 3, as intended");
    assert!(matches!(&results[1].outcome, Some(Outcome::Failed(why)) if why.contains("not 7")));
    setup.running.shutdown().await;
}

fn journal_records(setup: &Setup) -> Vec<scaleguard::journal::Record> {
    journal(&setup.journal_path())
}
