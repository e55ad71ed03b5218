//! The console drains an HA node end to end: the model's keys open the drain dialog, its effect
//! goes to the real worker, the worker's `NodeJobRunner` drives the job against the `ha-drain`
//! simulator over real HTTP (speed 20), and progress flows back into the model until the node is
//! deleted — the journal holding the job and its steps.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use scaleguard::config::{ConfigFile, Profile};
use scaleguard::drain::DrainEffect;
use scaleguard::inventory::Collector;
use scaleguard::journal::{read_all, Journal, JournalAction, Outcome, RecordKind};
use scaleguard::node_job::NodeJobRunner;
use scaleguard::octopus::OctopusClient;
use scaleguard::sim::{self, RunningSim, SimOptions};
use scaleguard::tui::app::{Model, Overlay, PaneId};
use scaleguard::tui::update::{update, Effect, Msg};
use scaleguard::tui::worker::{self, NoExecutor, Request, WorkerSetup};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

fn profile_for(sim: &RunningSim) -> Profile {
    let octopus_var = "SG_TEST_OCTOPUS_KEY_CONSOLE_NODES";
    let arm_var = "SG_TEST_ARM_TOKEN_CONSOLE_NODES";
    std::env::set_var(octopus_var, sim.api_key());
    std::env::set_var(arm_var, sim.arm_token());
    let config = ConfigFile::parse(&sim.profile_toml(), Path::new("sim.toml")).unwrap();
    let mut profile = config.profile(None).unwrap().1.clone();
    profile.octopus.api_key_env = octopus_var.into();
    profile.azure.token_env = Some(arm_var.into());
    profile
}

fn press(model: &mut Model, code: KeyCode) -> Vec<Effect> {
    update(model, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_drains_a_node_until_it_is_deleted() {
    let sim = sim::start(SimOptions::new("ha-drain").speed(20.0)).await.expect("simulator starts");
    let profile = profile_for(&sim);
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let journal = Arc::new(Journal::open(&journal_path).unwrap());
    let client = OctopusClient::new(&profile.octopus, profile.octopus_api_key().unwrap()).unwrap();
    let runner = NodeJobRunner::new(client, journal, "sim", profile.nodes.clone());
    let mut handle = worker::spawn(WorkerSetup {
        collector: Arc::new(Collector::new(&profile)),
        approvals: Arc::new(NoExecutor("not in this test".into())),
        refresh_every: Duration::from_millis(250),
        history_file: None,
        demo: None,
        profile: profile.clone(),
        node_jobs: Ok(runner),
    });
    let mut model = Model::new("sim", &profile, OffsetDateTime::now_utc());
    model.pane = PaneId::Nodes;

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut drain_sent = false;
    let mut lines_seen = Vec::new();
    let node_id = loop {
        assert!(Instant::now() < deadline, "no drain finished; lines seen: {lines_seen:?}");
        let event = tokio::time::timeout(Duration::from_secs(5), handle.events.recv())
            .await
            .expect("the worker keeps talking")
            .expect("the worker runs");
        let mut effects = update(&mut model, Msg::Worker(event));
        update(&mut model, Msg::Tick(OffsetDateTime::now_utc()));
        // Drain once the node is busy (3+ tasks), so the job has tasks to wait for.
        let busy = model.nodes.rows.iter().any(|n| n.name == "OCTO-NODE-1" && n.running_tasks >= 3);
        if !drain_sent && busy {
            // The operator: first row, `d`, the dialog opens on Cancel, Tab to Drain, Enter.
            let row = model.nodes.rows.iter().position(|n| n.name == "OCTO-NODE-1").unwrap();
            let position = model.table(PaneId::Nodes).view.iter().position(|&i| i == row).unwrap();
            model.table_mut(PaneId::Nodes).cursor = position;
            press(&mut model, KeyCode::Char('d'));
            assert!(matches!(model.overlay, Overlay::Node(_)), "drain dialog: {:?}", model.notice);
            press(&mut model, KeyCode::Tab);
            effects.extend(press(&mut model, KeyCode::Enter));
            assert!(effects.iter().any(|e| matches!(e, Effect::Node(_))), "drain sent: {effects:?}");
            drain_sent = true;
        }
        for effect in effects {
            match effect {
                Effect::Node(request) => handle.requests.send(Request::Node(request)).unwrap(),
                Effect::Refresh => handle.requests.send(Request::Refresh).unwrap(),
                other => panic!("unexpected effect {other:?}"),
            }
        }
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
