//! Two executors (two consoles on one machine: one journal dir, so one apply lock) approving the
//! same deploy at once: exactly one deployment is created (invariants 3 and 5); the other
//! re-checks against a fresh read, sees it queued and skips.

use crate::support::clients;
use scaleguard::executor::ExecEvent;
use scaleguard::journal::{self, Journal, Outcome};
use scaleguard::model::Action;
use scaleguard::reconcile::{self, History, MatchedSnapshot};
use scaleguard::sim::{self, SimOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn two_executors_with_one_deploy_plan_create_one_deployment() {
    let running = sim::start(SimOptions::new("scale-out").manual_clock()).await.unwrap();
    let (name, profile) = clients::profile(&running, |toml| toml);
    let profile = &profile;

    // Drive the scale-out until the planner wants its deploy.
    let collector = clients::collector(&running, profile);
    let mut history = History::default();
    let mut plan = None;
    for _ in 0..60 {
        running.advance(Duration::from_secs(10)).unwrap();
        let snapshot = collector.collect().await;
        history.observe(&MatchedSnapshot::new(&snapshot, profile));
        let candidate = reconcile::plan(&snapshot, &history, collector.clock().now(), profile);
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
    let first = clients::executor(&running, &name, profile, Journal::open(&journal_path).unwrap());
    let second = clients::executor(&running, &name, profile, Journal::open(&journal_path).unwrap());
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
