//! kill -9 at random (seeded) moments: the real `apply` mid-delete and mid-deploy, and
//! `node drain --wait --yes` mid-drain. After every kill the journal reads (at most a torn last
//! line); the next runs settle what was interrupted and reach the end state the uninterrupted run
//! would, with no action applied twice.
//!
//! A kill is followed by a pause longer than the simulator's injected delay, modelling the real
//! case: the client died, the server finished the request it had already received.

use crate::support::bench::{Bench, Run};
use rand::{RngExt, SeedableRng};
use scaleguard::drain::DrainEffect;
use scaleguard::journal::{self, JournalAction, Outcome, RecordKind};
use scaleguard::sim::{EventAction, FaultSpec, RequestHook, SimOptions};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const SEED: u64 = 0x5ca1_e9a4;
/// How long the simulator holds each write, so a kill lands while the action is in flight.
const WRITE_DELAY_MS: u64 = 300;

/// Hold the next `method` request on `path`: before acting on it (`delay`: a killed client's
/// request never lands) or after (`slow_reply`: it lands, the answer is lost with the client).
fn delay_next(bench: &Bench, kind: &str, method: &str, path: &str) {
    bench.sim.before_next_request(RequestHook {
        method: Some(method.into()),
        path_prefix: path.into(),
        action: EventAction::Fault(FaultSpec {
            target: path.into(),
            kind: kind.into(),
            count: 1,
            retry_after_secs: None,
            delay_ms: Some(WRITE_DELAY_MS),
        }),
    });
}

fn spawn(bench: &Bench, args: &[&str]) -> Child {
    bench.command(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn scaleguard")
}

/// How a round picks its moment: a random instant, or a random offset after the run journals
/// its next intent (so some kills land between an intent and its result).
#[derive(Debug, Clone, Copy)]
enum KillAt {
    After(Duration),
    IntentPlus(Duration),
    /// After the simulator counts one more deployment POST than the number given.
    AfterRequest(u64, Duration),
}

/// `intent_first`: always wait for the intent (the round that carries the action must be hit
/// mid-action whatever the machine's speed); otherwise a seeded mix.
fn pick(rng: &mut rand::rngs::StdRng, intent_first: bool) -> KillAt {
    if intent_first || rng.random_bool(0.6) {
        KillAt::IntentPlus(Duration::from_millis(rng.random_range(0..WRITE_DELAY_MS)))
    } else {
        KillAt::After(Duration::from_millis(rng.random_range(10..300)))
    }
}

fn hold(rng: &mut rand::rngs::StdRng) -> &'static str {
    if rng.random_bool(0.5) {
        "delay"
    } else {
        "slow_reply"
    }
}

fn intents(bench: &Bench) -> usize {
    bench.journal().0.iter().filter(|r| r.kind == RecordKind::Intent).count()
}

/// SIGKILL at `at` unless it ended by itself first; true if it was killed.
async fn kill_at(bench: &Bench, child: &mut Child, at: KillAt) -> bool {
    let ended = |child: &mut Child| child.try_wait().unwrap().is_some();
    let wait = match at {
        KillAt::After(after) => after,
        KillAt::IntentPlus(after) => {
            let seen = intents(bench);
            let give_up = Instant::now() + Duration::from_secs(3);
            while intents(bench) == seen {
                if ended(child) || Instant::now() > give_up {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            after
        }
        KillAt::AfterRequest(seen, after) => {
            let give_up = Instant::now() + Duration::from_secs(3);
            while bench.stat("octopus.deployments.post") == seen {
                if ended(child) || Instant::now() > give_up {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            after
        }
    };
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if ended(child) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let killed = !ended(child);
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
    eprintln!("{context} ended by itself ({:?}): {stderr}", output.status);
}

/// Apply until a run ends with nothing left (exit 0, nothing pending in the journal).
async fn settle_apply(bench: &Bench, context: &str) -> Run {
    let mut runs = Vec::new();
    for _ in 0..6 {
        let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
        run.assert_no_panic(context);
        let (records, _) = bench.journal();
        if run.code == 0 && journal::pending_intents(&records).is_empty() {
            return run;
        }
        runs.push(format!("exit {}: {}\n{}", run.code, run.stderr, run.stdout));
        // Past the 1 s grace, on the simulator's clock the binary decides with.
        bench.sim.advance(Duration::from_secs(2)).unwrap();
    }
    panic!("{context}: apply never settled:\n{}", runs.join("\n---\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_mid_delete_settles_and_deletes_each_target_once() {
    let bench = Bench::scale_in_ready(SimOptions::new("scale-in").manual_clock(), |toml| toml).await;
    let before = bench.machines();
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let (mut kills, mut mid_action) = (0, 0);
    for round in 0..10 {
        for _ in 0..3 {
            delay_next(&bench, hold(&mut rng), "DELETE", "/api/Spaces-1/machines/");
        }
        let mut child = spawn(&bench, &["apply", "--yes", "--format", "json"]);
        // The first rounds carry the deletes: hit them mid-action; later ones die anywhere.
        let at = pick(&mut rng, round < 3);
        if kill_at(&bench, &mut child, at).await {
            kills += 1;
        } else {
            no_panic(child, "apply");
        }
        tokio::time::sleep(Duration::from_millis(WRITE_DELAY_MS + 150)).await;
        let context = format!("round {round}, killed at {at:?}");
        let records = assert_journal_readable(&bench, &context);
        mid_action += usize::from(!journal::pending_intents(&records).is_empty());
        let after = bench.machines();
        for (id, vm) in before.iter().filter(|(id, _)| !after.contains_key(*id)) {
            assert!(!bench.vm_exists(vm.as_ref().unwrap()), "{context}: deleted {id} whose VM exists");
        }
    }
    assert!(mid_action >= 1, "no run was killed between an intent and its result ({kills} kills)");
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
        "crash(apply delete): {kills} kills in 10 runs ({mid_action} between intent and result); DELETE requests {}; done records {}",
        bench.stat("octopus.machines.delete"),
        done.len()
    );
}

/// The scale-out driven by killed applies: each round's POST is held (`hold`), and the run is
/// killed a seeded moment after the simulator received it. Returns the POSTs sent and how the
/// next run settled the interrupted deploy intents.
async fn apply_killed_mid_deploy(hold: &'static str, seed: u64) -> (u64, Vec<Outcome>) {
    let bench = Bench::start(SimOptions::new("scale-out").manual_clock(), Bench::apply_profile)
        .await
        .with_sim_clock();
    let before: Vec<String> = bench.machines().into_keys().collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut kills = 0;
    for round in 0..12 {
        bench.sim.advance(Duration::from_secs(25)).unwrap();
        delay_next(&bench, hold, "POST", "/api/Spaces-1/deployments");
        let posts = bench.stat("octopus.deployments.post");
        let mut child = spawn(&bench, &["apply", "--yes", "--format", "json"]);
        let at = KillAt::AfterRequest(posts, Duration::from_millis(rng.random_range(0..WRITE_DELAY_MS / 2)));
        if kill_at(&bench, &mut child, at).await {
            kills += 1;
        } else {
            no_panic(child, "apply");
        }
        tokio::time::sleep(Duration::from_millis(WRITE_DELAY_MS + 150)).await;
        let context = format!("{hold} round {round}, killed at {at:?}");
        assert_journal_readable(&bench, &context);
        assert!(bench.our_deployments().len() <= 1, "{context}: {:?}", bench.our_deployments());
    }
    assert!(kills >= 1, "{hold}: no run was killed mid-deploy");
    settle_apply(&bench, "final").await;
    let deployments = bench.our_deployments();
    assert_eq!(deployments.len(), 1, "{hold}: exactly one deployment for the event: {deployments:?}");
    assert!(deployments[0].iter().all(|id| !before.contains(id)), "only new targets");
    let (records, warnings) = bench.journal();
    assert!(warnings.is_empty() && journal::pending_intents(&records).is_empty(), "{warnings:?}");
    let deploy_results: Vec<Outcome> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Result)
        .filter(|r| {
            matches!(&r.action, JournalAction::Planned { action: scaleguard::model::Action::Deploy { .. } })
        })
        .filter_map(|r| r.outcome.clone())
        .collect();
    let posts = bench.stat("octopus.deployments.post");
    eprintln!("crash(apply deploy, {hold}): {kills} kill(s) mid-POST; 1 deployment from {posts} POST(s); results {deploy_results:?}");
    (posts, deploy_results)
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_after_its_deploy_landed_never_deploys_again() {
    // The server created the deployment; the answer died with the client.
    let (posts, results) = apply_killed_mid_deploy("slow_reply", SEED + 1).await;
    assert_eq!(posts, 1, "the landed POST is not repeated");
    assert_eq!(results, vec![Outcome::Done], "the next run settles the interrupted intent as done");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_before_its_deploy_landed_deploys_once_on_the_next_run() {
    // The client died while the server held the request unprocessed.
    let (posts, results) = apply_killed_mid_deploy("delay", SEED + 3).await;
    let done = results.iter().filter(|o| **o == Outcome::Done).count();
    assert_eq!(done, 1, "exactly one deploy done: {results:?}");
    // Every POST's intent was settled once: failed if the POST never landed, done if it did.
    assert_eq!(results.len() as u64, posts, "{results:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_killed_at_random_points_cancels_and_deletes_once() {
    let bench = Bench::start(SimOptions::new("ha-drain").speed(20.0), |toml| toml).await;
    // 60 simulated seconds = 3 s here: the drain waits on it across several kills.
    bench.sim.apply(EventAction::RunTask { node: "OCTO-NODE-1".into(), secs: 60.0 }).unwrap();
    let args = ["node", "drain", "OCTO-NODE-1", "--wait", "--yes", "--format", "json"];
    let node_exists = || bench.sim.with_world(|w| w.nodes.iter().any(|n| n.name == "OCTO-NODE-1"));
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED + 2);
    let mut kills = 0;
    for round in 0..12 {
        if !node_exists() {
            break;
        }
        let mut child = spawn(&bench, &args);
        let at = KillAt::After(Duration::from_millis(rng.random_range(10..600)));
        if kill_at(&bench, &mut child, at).await {
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
    while node_exists() {
        let run = bench.run(&args).await;
        run.assert_no_panic("final drain");
        assert!(run.code == 0 || node_exists(), "{}\n{}", run.stderr, run.stdout);
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
    eprintln!("crash(drain): {kills} run(s) killed before the node was deleted once");
}
