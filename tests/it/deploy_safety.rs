//! Never deploy a release twice to one target (issue 13 items 4–6), with the real binary against
//! the simulator: two runbook workers on two machines, a POST the server acted on and then
//! failed, and a deployment of another release in flight.
//!
//! Rows print `TABLE| fault | what the user sees | guaranteed |` like tests/it/fault_suite.rs.

use crate::support::bench::{set_toml, Bench, Run};
use scaleguard::sim::world::DeployRequest;
use scaleguard::sim::{EventAction, FaultSpec, RequestHook, SimOptions};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const DEPLOYMENTS: &str = "/api/Spaces-1/deployments";

fn table_row(fault: &str, seen: &str, guaranteed: &str) {
    let seen = seen.trim().replace('|', "\\|").replace('\n', " ");
    eprintln!("TABLE| {fault} | `{seen}` | {guaranteed} |");
}

/// Arm `kind` for the next POST of a deployment only (a hook, so GETs of the listing are spared).
fn on_next_post(bench: &Bench, kind: &str, delay_ms: u64) {
    bench.sim.before_next_request(RequestHook {
        method: Some("POST".into()),
        path_prefix: DEPLOYMENTS.into(),
        action: EventAction::Fault(FaultSpec {
            target: DEPLOYMENTS.into(),
            kind: kind.into(),
            count: 1,
            retry_after_secs: Some(0),
            delay_ms: Some(delay_ms),
        }),
    });
}

fn target_ids(deploy: &serde_json::Value) -> BTreeSet<String> {
    deploy["action"]["target_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// Deployments that will or did run (not cancelled) naming any of `targets`.
fn live_deployments_to(bench: &Bench, targets: &BTreeSet<String>) -> Vec<String> {
    bench
        .deployments()
        .into_iter()
        .filter(|(_, _, machines, state, _)| state != "Canceled" && !machines.is_disjoint(targets))
        .map(|(id, ..)| id)
        .collect()
}

fn report_line(run: &Run, status: &str) -> String {
    run.json()["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["outcome"]["status"] == status)
        .map(|r| {
            let why = r["outcome"]["why"].as_str().or(r["detail"].as_str()).unwrap_or_default();
            format!("{status} {}: {why}", r["summary"].as_str().unwrap_or(""))
        })
        .unwrap_or_default()
}

// ---- item 4: two machines, one plan ----

/// Two `apply --yes` runs with their own data dirs (two runbook workers, so no shared apply
/// lock) against a server whose POST waits before acting: both pass the fresh re-check, both
/// POST. Exactly one deployment may survive; the other is cancelled while it is still queued.
#[tokio::test(flavor = "multi_thread")]
async fn two_runbook_workers_with_a_slow_post_leave_exactly_one_deployment() {
    let (bench, deploy) = Bench::deploy_ready(SimOptions::new("scale-out").manual_clock(), |t| t).await;
    let targets = target_ids(&deploy);
    // Long enough for the second run to finish its fresh re-check even on a loaded machine.
    on_next_post(&bench, "delay", 3_000);
    on_next_post(&bench, "delay", 3_000);
    let spawn = |data: std::path::PathBuf| {
        let mut command = bench.command(&["apply", "--yes", "--format", "json"]);
        command.env("SCALEGUARD_DATA_DIR", data);
        tokio::task::spawn_blocking(move || command.output().expect("run scaleguard apply"))
    };
    let started = Instant::now();
    let first = spawn(bench.dir.path().join("worker-a"));
    let second = spawn(bench.dir.path().join("worker-b"));
    let runs: Vec<Run> = [first.await.unwrap(), second.await.unwrap()]
        .into_iter()
        .map(|output| Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
        .collect();
    let context = format!("{runs:#?}\n{:#?}", bench.deployments());
    assert_eq!(bench.stat("octopus.deployments.post"), 2, "both workers POSTed: {context}");
    for run in &runs {
        run.assert_no_panic(&context);
    }
    let live = live_deployments_to(&bench, &targets);
    assert_eq!(live.len(), 1, "one deployment per (release, target): {context}");
    // The loser was cancelled while queued: it never started.
    let never_started = bench.sim.with_world(|w| {
        w.deployments
            .iter()
            .filter(|d| !live.contains(&d.id) && d.comments.starts_with("scaleguard"))
            .all(|d| w.tasks.iter().any(|t| t.id == d.task_id && t.start_time.is_none()))
    });
    assert!(never_started, "the cancelled deployment never ran: {context}");
    let done = runs.iter().filter(|r| !report_line(r, "done").is_empty()).count();
    let skipped: Vec<String> =
        runs.iter().map(|r| report_line(r, "skipped")).filter(|l| !l.is_empty()).collect();
    assert_eq!((done, skipped.len()), (1, 1), "{context}");
    assert!(
        skipped[0].contains(&live[0]) && skipped[0].contains("cancelled"),
        "names the survivor: {skipped:?}"
    );
    for dir in ["worker-a", "worker-b"] {
        let (records, _) =
            scaleguard::journal::read_all(&bench.dir.path().join(dir).join("journal.jsonl")).unwrap();
        assert!(
            scaleguard::journal::pending_intents(&records).is_empty(),
            "{dir}: every intent has its result"
        );
    }
    table_row(
        "two machines apply one plan, POST delayed 3 s",
        &skipped[0],
        "each run reads the release's deployments after its POST; the later-queued one is cancelled while queued: one deployment runs",
    );
    eprintln!("two workers took {:?}", started.elapsed());
}

// ---- item 5: ambiguous POST failures ----

struct DeployRow {
    fault: &'static str,
    kind: &'static str,
    delay_ms: u64,
    /// POSTs the run sends (a throttle is retried).
    posts: u64,
    /// The run's own outcome ("done" or "failed").
    outcome: &'static str,
    names: &'static [&'static str],
    guaranteed: &'static str,
}

async fn deploy_row(row: DeployRow) {
    let (bench, deploy) = Bench::deploy_ready(SimOptions::new("scale-out").manual_clock(), |toml| {
        set_toml(&toml, "timeout_secs", "2")
    })
    .await;
    let targets = target_ids(&deploy);
    on_next_post(&bench, row.kind, row.delay_ms);
    let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
    let context = format!("{}: {run:#?}\n{:#?}", row.fault, bench.deployments());
    run.assert_no_panic(&context);
    bench.assert_journal_paired(&context);
    assert_eq!(bench.stat("octopus.deployments.post"), row.posts, "{context}");
    let line = report_line(&run, row.outcome);
    assert!(!line.is_empty(), "{context}");
    for name in row.names {
        assert!(line.contains(name), "{context}\nthe report does not name `{name}`");
    }
    // A rerun settles it: exactly one deployment of the release to the targets, ever.
    let rerun = bench.run(&["apply", "--yes", "--format", "json"]).await;
    rerun.assert_no_panic("rerun");
    assert_eq!(live_deployments_to(&bench, &targets).len(), 1, "{context}\nrerun: {rerun:#?}");
    table_row(row.fault, &line, row.guaranteed);
}

macro_rules! deploy_rows {
    ($($name:ident: $row:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            deploy_row($row).await;
        }
    )*};
}

deploy_rows! {
    a_deployment_answered_503_after_it_was_created_is_found_not_repeated: DeployRow {
        fault: "POST deployments: the server creates it, then answers 503",
        kind: "act_then_503", delay_ms: 0, posts: 1, outcome: "done", names: &["503", "created"],
        guaranteed: "not retried; the deployment is found by the intent id in its comments: one deployment",
    },
    a_503_before_the_server_acted_is_not_retried_and_the_rerun_deploys_once: DeployRow {
        fault: "POST deployments: 503, nothing created",
        kind: "503", delay_ms: 0, posts: 1, outcome: "failed", names: &["503", "no deployment"],
        guaranteed: "not retried (a 503 may follow a change); read back: none, so failed; the next run deploys once",
    },
    a_post_that_timed_out_after_acting_is_found_not_repeated: DeployRow {
        fault: "POST deployments: created, answer slower than timeout_secs",
        kind: "slow_reply", delay_ms: 3_000, posts: 1, outcome: "done", names: &["no complete answer within 2s", "created"],
        guaranteed: "not retried; found by its intent id: one deployment",
    },
    a_throttle_that_lied_leaves_one_deployment: DeployRow {
        fault: "POST deployments: created, then answered 429 (retried)",
        kind: "act_then_429", delay_ms: 0, posts: 2, outcome: "done", names: &["second copy", "cancelled while queued"],
        guaranteed: "a 429 is retried (RFC 6585: refused unprocessed); both copies carry the intent id, the later one is cancelled while queued",
    },
}

// ---- item 6: another release in flight ----

/// A whole-environment deployment of a newer release, queued or executing, holds the rollout of
/// the current release to the new targets: it will reach them itself, and a deployment of the
/// older release queued behind it would take them back to the older version.
#[tokio::test(flavor = "multi_thread")]
async fn a_newer_release_in_flight_holds_the_rollout_of_the_current_one() {
    let (bench, deploy) = Bench::deploy_ready(SimOptions::new("scale-out").manual_clock(), |t| t).await;
    let targets = target_ids(&deploy);
    let current = deploy["action"]["release_version"].as_str().unwrap().to_string();
    let (newer, newer_deployment) = bench.sim.with_world_mut(|w| {
        // Queued first: no node takes it.
        for node in &mut w.nodes {
            node.max_concurrent_tasks = 0;
        }
        let project = w.projects[0].id.clone();
        let release = w.add_release(&project, "1.9.0");
        let deployment = w
            .create_deployment(DeployRequest {
                release_id: release.clone(),
                environment_id: w.octopus.environment_id.clone(),
                ..Default::default()
            })
            .unwrap();
        (release, deployment)
    });
    for state in ["Queued", "Executing"] {
        let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
        let context = format!("{state}: {run:#?}\n{:#?}", bench.deployments());
        run.assert_no_panic(&context);
        assert_eq!(run.code, 0, "{context}");
        assert_eq!(bench.stat("octopus.deployments.post"), 0, "{current} is not rolled out: {context}");
        let plan = run.json();
        let wait = plan["plan"]["actions"]
            .as_array()
            .or_else(|| plan["actions"].as_array())
            .into_iter()
            .flatten()
            .find(|a| a["action"]["kind"] == "wait-for-deployment")
            .cloned()
            .unwrap_or_default();
        let reason = wait["reason"].as_str().unwrap_or_default().to_string();
        assert!(reason.contains("1.9.0") && reason.contains(&newer_deployment), "{context}");
        let assigned = bench.sim.with_world(|w| {
            let task = &w.deployments.iter().find(|d| d.id == newer_deployment).unwrap().task_id;
            w.tasks.iter().find(|t| &t.id == task).unwrap().state.as_str().to_string()
        });
        assert_eq!(assigned, state, "{context}");
        table_row(
            &format!("a newer release's deployment {state}"),
            &reason,
            "no deployment of the older release",
        );
        // Let a node take it (the manual clock steps the task queue when it moves).
        bench.sim.with_world_mut(|w| w.nodes.iter_mut().for_each(|n| n.max_concurrent_tasks = 5));
        bench.sim.advance(Duration::from_secs(1)).unwrap();
    }
    // Once it succeeds it has reached the new targets: nothing left to roll out.
    bench.sim.advance(Duration::from_secs(60)).unwrap();
    let after = bench.run(&["apply", "--yes", "--format", "json"]).await;
    assert_eq!(after.code, 0, "{after:#?}");
    assert_eq!(bench.stat("octopus.deployments.post"), 0);
    let reached = bench.sim.with_world(|w| {
        w.deployments.iter().find(|d| d.id == newer_deployment).unwrap().deployed_to_machine_ids.clone()
    });
    assert!(targets.iter().all(|t| reached.contains(t)), "{newer} reached the new targets: {reached:?}");
}
