//! kill -9 at random (seeded) moments: the real `apply` mid-delete and mid-deploy, and
//! `node drain --wait --yes` mid-drain. After every kill the journal reads (at most a torn last
//! line); the next runs settle what was interrupted and reach the end state the uninterrupted run
//! would, with no action applied twice.
//!
//! A kill is followed by a pause longer than the simulator's injected delay, modelling the real
//! case: the client died, the server finished the request it had already received.

mod rel_common;

use rand::{Rng, SeedableRng};
use rel_common::{Bench, Run};
use scaleguard::drain::DrainEffect;
use scaleguard::journal::{self, JournalAction, Outcome, RecordKind};
use scaleguard::sim::{EventAction, FaultSpec, RequestHook, SimOptions};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const SEED: u64 = 0x5ca1e_9a4d;
/// How long the simulator holds each write, so a kill lands while the action is in flight.
const WRITE_DELAY_MS: u64 = 300;

fn delay_next(bench: &Bench, method: &str, path: &str) {
    bench.sim.before_next_request(RequestHook {
        method: Some(method.into()),
        path_prefix: path.into(),
        action: EventAction::Fault(FaultSpec {
            target: path.into(),
            kind: "delay".into(),
            count: 1,
            retry_after_secs: None,
            delay_ms: Some(WRITE_DELAY_MS),
        }),
    });
}

fn spawn(bench: &Bench, args: &[&str]) -> Child {
    bench.command(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn scaleguard")
}

/// SIGKILL after `after` unless it ended by itself; true if it was killed.
async fn kill_after(child: &mut Child, after: Duration) -> bool {
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = child.try_wait().unwrap().is_none();
    child.kill().ok(); // SIGKILL on Unix
    child.wait().unwrap();
    killed
}

/// The journal after a kill: readable, every line whole except maybe a torn last one.
fn assert_journal_readable(bench: &Bench, context: &str) -> Vec<journal::Record> {
    let (records, warnings) = bench.journal();
    assert!(
        warnings.len() <= 1 && warnings.iter().all(|w| w.message.contains("incomplete last line")),
        "{context}: {warnings:?}"
    );
    records
}

fn no_panic(child: Child, context: &str) {
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{context}: {stderr}");
}

/// Apply until a run ends with nothing left (exit 0, nothing pending in the journal).
async fn settle_apply(bench: &Bench, context: &str) -> Run {
    for _ in 0..6 {
        let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
        run.assert_no_panic(context);
        let (records, _) = bench.journal();
        if run.code == 0 && journal::pending_intents(&records).is_empty() {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    panic!("{context}: apply never settled");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_mid_delete_settles_and_deletes_each_target_once() {
    let bench = Bench::scale_in_ready(SimOptions::new("scale-in").manual_clock(), |toml| toml).await;
    let before = bench.machines();
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let mut kills = 0;
    for round in 0..10 {
        delay_next(&bench, "DELETE", "/api/Spaces-1/machines/");
        let mut child = spawn(&bench, &["apply", "--yes", "--format", "json"]);
        let at = Duration::from_millis(rng.gen_range(50..900));
        if kill_after(&mut child, at).await {
            kills += 1;
        } else {
            no_panic(child, "apply");
        }
        tokio::time::sleep(Duration::from_millis(WRITE_DELAY_MS + 150)).await;
        let context = format!("round {round}, killed at {at:?}");
        assert_journal_readable(&bench, &context);
        let after = bench.machines();
        for (id, vm) in before.iter().filter(|(id, _)| !after.contains_key(*id)) {
            assert!(!bench.vm_exists(vm.as_ref().unwrap()), "{context}: deleted {id} whose VM exists");
        }
    }
    assert!(kills >= 3, "the seed must kill some runs mid-flight ({kills})");
    settle_apply(&bench, "final").await;
    let after = bench.machines();
    assert_eq!(after.len(), 3, "exactly the three scaled-in VMs' targets are gone");
    let (records, warnings) = bench.journal();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(journal::pending_intents(&records).is_empty());
    // Each target reported done at most once across all runs and settlements.
    let mut done: Vec<String> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Result && r.outcome == Some(Outcome::Done))
        .filter_map(|r| match &r.action {
            JournalAction::Planned { action: scaleguard::model::Action::DeleteTarget { target_id, .. } } => {
                Some(target_id.clone())
            }
            _ => None,
        })
        .collect();
    done.sort();
    let mut unique = done.clone();
    unique.dedup();
    assert_eq!(done, unique, "a delete journaled done twice");
    eprintln!(
        "crash(apply delete): {kills} kills in 10 runs; DELETE requests {}; done records {}",
        bench.stat("octopus.machines.delete"),
        done.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_mid_deploy_never_deploys_twice() {
    let bench = Bench::start(SimOptions::new("scale-out").manual_clock(), Bench::apply_profile).await;
    let before: Vec<String> = bench.machines().into_keys().collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED + 1);
    let mut kills = 0;
    for round in 0..14 {
        bench.sim.advance(Duration::from_secs(25)).unwrap();
        delay_next(&bench, "POST", "/api/Spaces-1/deployments");
        let mut child = spawn(&bench, &["apply", "--yes", "--format", "json"]);
        let at = Duration::from_millis(rng.gen_range(50..900));
        if kill_after(&mut child, at).await {
            kills += 1;
        } else {
            no_panic(child, "apply");
        }
        tokio::time::sleep(Duration::from_millis(WRITE_DELAY_MS + 150)).await;
        let context = format!("round {round}, killed at {at:?}");
        assert_journal_readable(&bench, &context);
        assert!(bench.our_deployments().len() <= 1, "{context}: {:?}", bench.our_deployments());
    }
    assert!(kills >= 3, "the seed must kill some runs mid-flight ({kills})");
    settle_apply(&bench, "final").await;
    let deployments = bench.our_deployments();
    assert_eq!(deployments.len(), 1, "exactly one deployment for the event: {deployments:?}");
    assert!(deployments[0].iter().all(|id| !before.contains(id)), "only new targets");
    assert_eq!(bench.stat("octopus.deployments.post"), 1, "one POST in all runs");
    eprintln!("crash(apply deploy): {kills} kills in 14 runs; 1 deployment, 1 POST");
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_killed_at_random_points_cancels_and_deletes_once() {
    let bench = Bench::start(SimOptions::new("ha-drain").speed(20.0), |toml| toml).await;
    // 60 simulated seconds = 3 s here: the drain waits on it across several kills.
    bench.sim.apply(EventAction::RunTask { node: "OCTO-NODE-1".into(), secs: 60.0 }).unwrap();
    let args = ["node", "drain", "OCTO-NODE-1", "--wait", "--yes", "--format", "json"];
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED + 2);
    let mut kills = 0;
    for round in 0..10 {
        let mut child = spawn(&bench, &args);
        let at = Duration::from_millis(rng.gen_range(50..700));
        if kill_after(&mut child, at).await {
            kills += 1;
        } else {
            no_panic(child, "drain");
        }
        let context = format!("round {round}, killed at {at:?}");
        assert_journal_readable(&bench, &context);
        assert!(bench.stat("octopus.octopusservernodes.delete") <= 1, "{context}");
    }
    assert!(kills >= 3, "the seed must kill some runs mid-flight ({kills})");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = bench.run(&args).await;
        run.assert_no_panic("final drain");
        if bench.sim.with_world(|w| w.nodes.iter().all(|n| n.name != "OCTO-NODE-1")) {
            assert!(run.code == 0, "{}\n{}", run.stderr, run.stdout);
            break;
        }
        assert!(Instant::now() < deadline, "the drain never finished: {}", run.stderr);
    }
    assert_eq!(bench.stat("octopus.octopusservernodes.delete"), 1, "the node is deleted once");
    assert_eq!(bench.stat("octopus.tasks.cancel"), 0, "the task finished by itself: nothing cancelled");
    let (records, warnings) = bench.journal();
    assert!(warnings.is_empty(), "{warnings:?}");
    let enables = records
        .iter()
        .filter(|r| r.kind == RecordKind::Result && r.outcome == Some(Outcome::Done))
        .filter(|r| matches!(&r.action, JournalAction::Drain { effect: DrainEffect::EnableDrain, .. }))
        .count();
    assert_eq!(enables, 1, "drain enabled once across all restarts");
    eprintln!("crash(drain): {kills} kills in 10 runs; node deleted once");
}
