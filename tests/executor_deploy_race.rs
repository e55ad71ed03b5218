//! Two executors (two consoles on one machine: one journal dir, so one apply lock) approving the
//! same deploy at once: exactly one deployment is created (invariants 3 and 5); the other
//! re-checks against a fresh read, sees it queued and skips. Its own test binary because it sets
//! the simulator's credentials in the process environment.

use scaleguard::config::ConfigFile;
use scaleguard::executor::{ExecEvent, Executor};
use scaleguard::inventory::Collector;
use scaleguard::journal::{self, Journal, Outcome};
use scaleguard::model::Action;
use scaleguard::reconcile::{self, History, Inventory};
use scaleguard::sim::{self, SimOptions};
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread")]
async fn two_executors_with_one_deploy_plan_create_one_deployment() {
    let running = sim::start(SimOptions::new("scale-out").manual_clock()).await.unwrap();
    for (name, value) in running.env() {
        std::env::set_var(name, value);
    }
    let toml = running.profile_toml().replace("absent_grace_secs = 300", "absent_grace_secs = 1");
    let config = ConfigFile::parse(&toml, Path::new("sim.toml")).unwrap();
    let (name, profile) = config.profile(None).unwrap();

    // Drive the scale-out until the planner wants its deploy.
    let collector = Collector::new(profile);
    let mut history = History::default();
    let mut plan = None;
    for _ in 0..60 {
        running.advance(Duration::from_secs(10)).unwrap();
        let snapshot = collector.collect().await;
        history.observe(&Inventory::new(&snapshot, profile));
        let candidate = reconcile::plan(&snapshot, &history, OffsetDateTime::now_utc(), profile);
        if candidate.actions.iter().any(|a| matches!(a.action, Action::Deploy { .. })) {
            plan = Some(candidate);
            break;
        }
    }
    let plan = plan.expect("the scale-out plans a deploy");
    let deploys: Vec<_> =
        plan.actions.iter().filter(|a| matches!(a.action, Action::Deploy { .. })).cloned().collect();
    assert_eq!(deploys.len(), 1, "{plan:?}");

    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let first = Executor::new(&name, profile, Journal::open(&journal_path).unwrap()).unwrap();
    let second = Executor::new(&name, profile, Journal::open(&journal_path).unwrap()).unwrap();
    running.reset_stats();
    let (mut history_a, mut history_b) = (history.clone(), history);
    let (mut quiet_a, mut quiet_b) = (|_: ExecEvent| {}, |_: ExecEvent| {});
    let (a, b) = tokio::join!(
        first.run(&deploys, "console A", &mut history_a, &mut quiet_a),
        second.run(&deploys, "console B", &mut history_b, &mut quiet_b),
    );
    let all: Vec<_> = a.iter().chain(&b).collect();
    let done = all.iter().filter(|r| r.outcome == Outcome::Done).count();
    let skipped = all.iter().filter(|r| matches!(r.outcome, Outcome::Skipped(_))).count();
    assert_eq!((done, skipped), (1, 1), "{all:?}");
    let ours =
        running.with_world(|w| w.deployments.iter().filter(|d| d.comments.starts_with("scaleguard")).count());
    assert_eq!(ours, 1, "exactly one deployment created");
    assert_eq!(running.stats().get("octopus.deployments.post"), 1, "the losing executor sends no POST");

    let (records, warnings) = journal::read_all(&journal_path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(records.len(), 4, "intent + result for each of 2 approvals");
    assert!(journal::pending_intents(&records).is_empty());
    running.shutdown().await;
}
