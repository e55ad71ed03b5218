//! The three core modules together: the journal feeds the guard's cooldown, and a drain resumes
//! after a restart from the node's real state without repeating work.

use scaleguard::config::{GuardConfig, NodesConfig};
use scaleguard::drain::{step, DrainEffect, DrainJob, DrainState, NodeObservation};
use scaleguard::guard::{evaluate, OtherScalers, Refusal, ScaleRequest};
use scaleguard::journal::{pending_intents, read_all, scale_history, Journal, JournalAction, Outcome};
use scaleguard::model::{Node, OrchestrationMode, ProvisioningState, ScaleSetKey, ScaleSetState};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "sub".into(),
        resource_group: "rg".into(),
        name: "web".into(),
    }
}

fn state(capacity: u32) -> ScaleSetState {
    ScaleSetState {
        key: key(),
        location: None,
        capacity,
        provisioning_state: ProvisioningState::Succeeded,
        overprovision: false,
        orchestration_mode: OrchestrationMode::Uniform,
        scale_in_rules: vec![],
        etag: Some("\"7\"".into()),
        last_changed: None,
        layout: Default::default(),
        aws: None,
    }
}

#[test]
fn journaled_scale_change_starts_the_guards_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let journal = Journal::open(&path).unwrap();
    let intent = journal
        .append_intent("prod", "sale", JournalAction::Scale { scale_set: key(), from: Some(2), to: 3 }, NOW)
        .unwrap();
    journal.append_result(&intent, Outcome::Done, NOW + Duration::seconds(60)).unwrap();

    let (records, warnings) = read_all(&path).unwrap();
    assert!(warnings.is_empty());
    let history = scale_history(&records);
    let config = GuardConfig::default();
    let request = ScaleRequest { scale_set: key(), new_capacity: 4, reason: "more".into(), force: false };

    let soon = evaluate(
        &config,
        &request,
        &state(3),
        &[],
        &history,
        &OtherScalers::none(),
        NOW + Duration::seconds(120),
    );
    assert_eq!(soon.refusals().len(), 1);
    assert!(matches!(soon.refusals()[0], Refusal::InCooldown { remaining_secs: 540, .. }));

    let later = evaluate(
        &config,
        &request,
        &state(3),
        &[],
        &history,
        &OtherScalers::none(),
        NOW + Duration::seconds(660),
    );
    assert!(later.is_allowed(), "{later:?}");
}

fn node(drain: bool, running: u32, now: OffsetDateTime) -> Node {
    Node {
        id: "OctopusServerNodes-2".into(),
        name: "octo2".into(),
        last_seen: Some(now - Duration::seconds(5)),
        is_offline: false,
        drain,
        max_concurrent_tasks: 5,
        running_tasks: running,
        version: None,
    }
}

#[test]
fn drain_resumes_after_a_restart_without_repeating_effects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let config = NodesConfig::default();
    let other = Node { id: "OctopusServerNodes-1".into(), name: "octo1".into(), ..node(false, 0, NOW) };
    let job =
        DrainJob::start(&[other, node(false, 1, NOW)], "OctopusServerNodes-2", false, NOW, &config).unwrap();

    // First process: enable drain, journal the intent, then "crash" before the result.
    let first = step(&job, &NodeObservation { node: Some(node(false, 1, NOW)), tasks: vec![] }, NOW, &config);
    assert_eq!(first.effects, vec![DrainEffect::EnableDrain]);
    let journal = Journal::open(&path).unwrap();
    let drain = JournalAction::Drain {
        node_id: job.node_id.clone(),
        node_name: job.node_name.clone(),
        effect: DrainEffect::EnableDrain,
    };
    journal.append_intent("prod", &first.reason, drain, NOW).unwrap();
    drop(journal);

    // Second process: the interrupted intent is found; the node shows drain on, so no repeat.
    let (records, _) = read_all(&path).unwrap();
    assert_eq!(pending_intents(&records).len(), 1);
    let restarted = DrainJob { state: DrainState::Requested, ..job };
    let later = NOW + Duration::seconds(30);
    let resumed = step(
        &restarted,
        &NodeObservation { node: Some(node(true, 1, later)), tasks: vec![] },
        later,
        &config,
    );
    assert!(resumed.effects.is_empty());
    assert!(matches!(resumed.next, DrainState::WaitingForTasks { .. }));

    let idle = step(
        &DrainJob { state: resumed.next, ..restarted.clone() },
        &NodeObservation { node: Some(node(true, 0, later)), tasks: vec![] },
        later,
        &config,
    );
    assert_eq!(idle.effects, vec![DrainEffect::DeleteNode]);
    let done = step(
        &DrainJob { state: idle.next, ..restarted },
        &NodeObservation { node: None, tasks: vec![] },
        later,
        &config,
    );
    assert_eq!(done.next, DrainState::Done);
    assert!(done.effects.is_empty());
}
