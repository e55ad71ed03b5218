//! Two executors (two consoles on one machine) approving the same plan at once: each delete is
//! sent once, the slower executor re-checks against a fresh read and skips (invariant 5).

use crate::support::clients;
use scaleguard::executor::ExecEvent;
use scaleguard::journal::{self, Journal, Outcome};
use scaleguard::model::Action;
use scaleguard::reconcile::{self, History, MatchedSnapshot};
use scaleguard::sim::{self, SimOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn two_executors_with_one_plan_send_each_delete_once() {
    let running = sim::start(SimOptions::new("scale-in").manual_clock()).await.unwrap();
    running.advance(Duration::from_secs(900)).unwrap();
    let (name, profile) = clients::profile(&running, |toml| toml);
    let profile = &profile;

    let collector = clients::collector(&running, profile);
    let mut history = History::default();
    let mut snapshot = collector.collect().await;
    for _ in 0..3 {
        snapshot = collector.collect().await;
        history.observe(&MatchedSnapshot::new(&snapshot, profile));
        // Three listings over the profile's 300 s grace, on the simulator's clock.
        running.advance(Duration::from_secs(200)).unwrap();
    }
    let plan = reconcile::plan(&snapshot, &history, collector.clock().now(), profile);
    let deletes = plan.actions.iter().filter(|a| matches!(a.action, Action::DeleteTarget { .. })).count();
    assert_eq!(deletes, 3, "the scaled-in VMs' targets: {plan:?}");

    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let first = clients::executor(&running, &name, profile, Journal::open(&journal_path).unwrap());
    let second = clients::executor(&running, &name, profile, Journal::open(&journal_path).unwrap());
    running.reset_stats();
    let (mut history_a, mut history_b) = (history.clone(), history);
    let (mut quiet_a, mut quiet_b) = (|_: ExecEvent| {}, |_: ExecEvent| {});
    let (a, b) = tokio::join!(
        first.run(&plan.actions, "console A", &mut history_a, &mut quiet_a),
        second.run(&plan.actions, "console B", &mut history_b, &mut quiet_b),
    );
    let all: Vec<_> = a.iter().chain(&b).collect();
    let done = all.iter().filter(|r| r.outcome == Outcome::Done).count();
    let skipped = all.iter().filter(|r| matches!(r.outcome, Outcome::Skipped(_))).count();
    assert_eq!((done, skipped), (3, 3), "{all:?}");
    let sent = running.stats().by_endpoint.get("octopus.machines.delete").copied().unwrap_or(0);
    assert_eq!(sent, 3, "the apply lock serialises re-check and act: no losing DELETE is sent");

    let (records, warnings) = journal::read_all(&journal_path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(records.len(), 12, "intent + result for each of 6 approvals");
    assert!(journal::pending_intents(&records).is_empty());
    running.shutdown().await;
}
