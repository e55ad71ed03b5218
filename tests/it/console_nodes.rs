//! The console drains an HA node end to end: the model's keys open the drain dialog, its effect
//! goes to the real worker, the worker's `NodeJobRunner` drives the job against the `ha-drain`
//! simulator over real HTTP (speed 20), and progress flows back into the model until the node is
//! deleted — the journal holding the job and its steps.

use crate::support::clients;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use scaleguard::clock::Clock;
use scaleguard::drain::DrainEffect;
use scaleguard::journal::{read_all, Journal, JournalAction, Outcome, RecordKind};
use scaleguard::node_job::NodeJobRunner;
use scaleguard::sim::{self, RunningSim, SimOptions};
use scaleguard::tui::app::{ConsoleState, Overlay, PaneId};
use scaleguard::tui::messages::Request;
use scaleguard::tui::update::{update, Effect, Msg};
use scaleguard::tui::worker::{self, NoExecutor, WorkerSetup};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

fn press(model: &mut ConsoleState, code: KeyCode) -> Vec<Effect> {
    update(model, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

struct Console {
    sim: RunningSim,
    _dir: tempfile::TempDir,
    journal_path: std::path::PathBuf,
    handle: worker::WorkerHandle,
    model: ConsoleState,
}

/// The simulator, a worker with a real `NodeJobRunner` journaling to a temp dir, and a model.
async fn start(drain_deadline_secs: Option<u64>) -> Console {
    let sim = sim::start(SimOptions::new("ha-drain").speed(20.0)).await.expect("simulator starts");
    let (_, mut profile) = clients::profile(&sim, |toml| toml);
    if let Some(secs) = drain_deadline_secs {
        profile.nodes.drain_deadline_secs = secs;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let journal = Arc::new(Journal::open(&journal_path).unwrap());
    let runner = NodeJobRunner::new(clients::octopus(&sim, &profile), journal, "sim", profile.nodes.clone());
    let handle = worker::spawn(WorkerSetup {
        collector: Arc::new(clients::collector_with_clock(&sim, &profile, Clock::system())),
        approvals: Arc::new(NoExecutor("not in this test".into())),
        refresh_every: Duration::from_millis(250),
        history_file: None,
        demo: None,
        profile: profile.clone(),
        node_jobs: Ok(runner),
    });
    let mut model = ConsoleState::new("sim", &profile, OffsetDateTime::now_utc());
    model.pane = PaneId::Nodes;
    Console { sim, _dir: dir, journal_path, handle, model }
}

impl Console {
    /// Take the worker's next event into the model; returns the effects it asked for.
    async fn next(&mut self) -> Vec<Effect> {
        let event = tokio::time::timeout(Duration::from_secs(5), self.handle.events.recv())
            .await
            .expect("the worker keeps talking")
            .expect("the worker runs");
        let effects = update(&mut self.model, Msg::Worker(event));
        update(&mut self.model, Msg::Tick(OffsetDateTime::now_utc()));
        effects
    }

    fn send(&self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Node(request) => self.handle.requests.send(Request::Node(request)).unwrap(),
                Effect::Refresh => self.handle.requests.send(Request::Refresh).unwrap(),
                other => panic!("unexpected effect {other:?}"),
            }
        }
    }

    /// The operator: cursor on the node, `d`, the dialog opens on the name field (a drain ends in
    /// a delete: the node's name is typed), Tab to Drain, Enter.
    fn drain(&mut self, name: &str) -> Vec<Effect> {
        let model = &mut self.model;
        let row = model.nodes.rows.iter().position(|n| n.name == name).unwrap();
        let position = model.table(PaneId::Nodes).view.iter().position(|&i| i == row).unwrap();
        model.table_mut(PaneId::Nodes).cursor = position;
        press(model, KeyCode::Char('d'));
        assert!(matches!(model.overlay, Overlay::Node(_)), "drain dialog: {:?}", model.notice);
        for c in name.chars() {
            press(model, KeyCode::Char(c));
        }
        press(model, KeyCode::Tab);
        let effects = press(model, KeyCode::Enter);
        assert!(effects.iter().any(|e| matches!(e, Effect::Node(_))), "drain sent: {effects:?}");
        effects
    }

    /// OCTO-NODE-1 with at least 3 running tasks, so a drain has tasks to wait for.
    fn node_1_busy(&self) -> bool {
        self.model.nodes.rows.iter().any(|n| n.name == "OCTO-NODE-1" && n.running_tasks >= 3)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_drains_a_node_until_it_is_deleted() {
    let mut console = start(None).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut drain_sent = false;
    let mut lines_seen = Vec::new();
    let node_id = loop {
        assert!(Instant::now() < deadline, "no drain finished; lines seen: {lines_seen:?}");
        let mut effects = console.next().await;
        if !drain_sent && console.node_1_busy() {
            effects.extend(console.drain("OCTO-NODE-1"));
            drain_sent = true;
        }
        console.send(effects);
        let model = &console.model;
        if let Some((id, job)) = model.jobs.jobs.iter().next() {
            let line = job.short_line();
            if lines_seen.last() != Some(&line) {
                lines_seen.push(line);
            }
            if let Some(result) = &job.ended {
                assert_eq!(result, &Ok("OCTO-NODE-1: done".to_string()), "lines: {lines_seen:?}");
                break id.clone();
            }
        }
    };
    assert!(lines_seen.iter().any(|l| l.starts_with("drain: waiting for tasks")), "{lines_seen:?}");
    let Console { sim, journal_path, mut handle, mut model, .. } = console;
    assert!(sim.with_world(|w| w.nodes.iter().all(|n| n.name != "OCTO-NODE-1")), "the node is gone");
    assert_eq!(sim.stats().get("octopus.octopusservernodes.delete"), 1, "deleted once");

    let (records, _) = read_all(&journal_path).unwrap();
    let effects: Vec<DrainEffect> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent)
        .filter_map(|r| match &r.action {
            JournalAction::Drain { effect, node_id: id, .. } if *id == node_id => Some(effect.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(effects, vec![DrainEffect::EnableDrain, DrainEffect::DeleteNode]);
    let job_result = records
        .iter()
        .find(|r| r.kind == RecordKind::Result && matches!(r.action, JournalAction::DrainJob { .. }));
    assert_eq!(job_result.and_then(|r| r.outcome.clone()), Some(Outcome::Done));

    // A refresh after the job shows the node gone from the pane.
    let refreshed = Instant::now() + Duration::from_secs(10);
    while model.nodes.rows.iter().any(|n| n.name == "OCTO-NODE-1") {
        assert!(Instant::now() < refreshed, "the pane still lists the deleted node");
        let event = handle.events.recv().await.unwrap();
        update(&mut model, Msg::Worker(event));
    }
    let _ = handle.requests.send(Request::Shutdown);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_question_is_answered_from_the_console_and_the_drain_goes_on() {
    // A 1-second deadline: the question comes while OCTO-NODE-1 still runs its tasks.
    let mut console = start(Some(1)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut drain_sent = false;
    let mut answered = false;
    loop {
        assert!(Instant::now() < deadline, "no end; notice: {:?}", console.model.notice);
        let mut effects = console.next().await;
        if !drain_sent && console.node_1_busy() {
            effects.extend(console.drain("OCTO-NODE-1"));
            drain_sent = true;
        }
        if let Overlay::Node(dialog) = &console.model.overlay {
            if matches!(dialog.kind, scaleguard::tui::dialogs::node::Kind::Question { .. }) {
                // Focus starts on "decide later": Down twice is "cancel tasks now".
                press(&mut console.model, KeyCode::Down);
                press(&mut console.model, KeyCode::Down);
                let answer = press(&mut console.model, KeyCode::Enter);
                assert_eq!(answer.len(), 1, "{answer:?}");
                effects.extend(answer);
                answered = true;
            }
        }
        console.send(effects);
        let job = console.model.jobs.jobs.values().next();
        if let Some(result) = job.and_then(|job| job.ended.clone()) {
            assert_eq!(result, Ok("OCTO-NODE-1: done".to_string()));
            break;
        }
    }
    assert!(answered, "the question was asked and answered");
    assert!(console.sim.stats().get("octopus.tasks.cancel") >= 1, "the answer cancelled tasks");
    assert!(console.sim.with_world(|w| w.nodes.iter().all(|n| n.name != "OCTO-NODE-1")));
    let (records, _) = read_all(&console.journal_path).unwrap();
    assert!(
        records
            .iter()
            .any(|r| matches!(&r.action, JournalAction::Drain { effect: DrainEffect::CancelTask(_), .. })),
        "cancels are journaled"
    );
    let _ = console.handle.requests.send(Request::Shutdown);
}
