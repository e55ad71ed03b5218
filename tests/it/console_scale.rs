//! Scaling from the console end to end over the simulator: the console's own `update` drives the
//! real worker (as the event loop does), the operator scales out in the dialog, the worker
//! re-reads, applies and journals, and the diffs pane then follows the event: a Wait while the
//! new VMs provision, then a Deploy to exactly the new targets.

use crate::support::clients;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use scaleguard::config::Profile;
use scaleguard::model::Action;
use scaleguard::sim::{self, RunningSim, SimOptions};
use scaleguard::tui::app::{ConsoleState, Overlay, PaneId};
use scaleguard::tui::messages::{Request, WorkerEvent};
use scaleguard::tui::update::{update, Effect, Msg};
use scaleguard::tui::worker::{self, NoExecutor, WorkerSetup};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The sim's profile, its secrets in env vars only this test reads: the console's scale jobs
/// build their clients from the profile (the refresh worker's are handed in).
fn profile_for(sim: &RunningSim) -> Profile {
    std::env::set_var("SG_TEST_OCTOPUS_KEY_SCALE", sim.api_key());
    std::env::set_var("SG_TEST_ARM_TOKEN_SCALE", sim.arm_token());
    let (_, mut profile) = clients::profile(sim, |toml| toml);
    profile.octopus.api_key_env = "SG_TEST_OCTOPUS_KEY_SCALE".into();
    profile.azure.token_env = Some("SG_TEST_ARM_TOKEN_SCALE".into());
    profile.console.refresh_secs = 3600;
    profile
}

fn key(model: &mut ConsoleState, code: KeyCode) -> Vec<Effect> {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    update(model, Msg::Key(KeyEvent::new(code, modifiers)))
}

fn type_text(model: &mut ConsoleState, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| key(model, KeyCode::Char(c))).collect()
}

/// What the event loop does with effects.
fn forward(requests: &tokio::sync::mpsc::UnboundedSender<Request>, effects: Vec<Effect>) {
    for effect in effects {
        let request = match effect {
            Effect::Refresh => Request::Refresh,
            Effect::Scale(job) => Request::Scale(job),
            other => panic!("unexpected effect {other:?}"),
        };
        requests.send(request).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_out_from_the_console_ends_in_a_deploy_to_only_the_new_targets_then_protect() {
    let data_dir = tempfile::tempdir().unwrap();
    // The console's scale jobs journal to the data dir: the only test in this process that sets it
    // (every test running the binary hands the child its own).
    std::env::set_var("SCALEGUARD_DATA_DIR", data_dir.path());
    let sim = sim::start(SimOptions::new("steady").manual_clock()).await.unwrap();
    let profile = profile_for(&sim);
    let mut model = ConsoleState::new("sim", &profile, OffsetDateTime::now_utc());
    model.size = (120, 40);
    let mut handle = worker::spawn(WorkerSetup {
        collector: Arc::new(clients::collector(&sim, &profile)),
        approvals: Arc::new(NoExecutor("not in this test".into())),
        refresh_every: Duration::from_secs(3600),
        history_file: None,
        demo: None,
        profile: profile.clone(),
        node_jobs: Err("not in this test".into()),
    });

    // The first refresh gives the dialog its listing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while model.refresh.last_finished.is_none() {
        assert!(Instant::now() < deadline, "no refresh");
        let event =
            tokio::time::timeout(Duration::from_secs(20), handle.events.recv()).await.unwrap().unwrap();
        forward(&handle.requests, update(&mut model, Msg::Worker(event)));
    }
    let before: BTreeSet<String> = model.targets.rows.iter().map(|t| t.id.clone()).collect();
    assert_eq!(before.len(), 3, "steady: three targets");

    model.now = OffsetDateTime::now_utc();
    assert!(type_text(&mut model, "S5").is_empty());
    assert!(matches!(model.overlay, Overlay::Scale(_)), "{:?}", model.notice);
    key(&mut model, KeyCode::Tab);
    type_text(&mut model, "console e2e");
    key(&mut model, KeyCode::Tab);
    let effects = key(&mut model, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Scale(_)]), "{effects:?} {:?}", model.overlay);
    forward(&handle.requests, effects);

    // While the scale job runs, keep refreshing (as the console's timer does).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut followed = false;
    let mut saw_wait = false;
    let deployed = loop {
        assert!(Instant::now() < deadline, "no deploy for the new targets; last notice {:?}", model.notice);
        if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), handle.events.recv()).await
        {
            let refreshed = matches!(event, WorkerEvent::Refreshed(_));
            forward(&handle.requests, update(&mut model, Msg::Worker(event)));
            if !refreshed {
                continue;
            }
        }
        sim.advance(Duration::from_secs(10)).unwrap();
        let notice = model.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
        if notice.contains("following the scale event in the diffs pane") {
            assert_eq!(model.pane, PaneId::Diffs, "the console shows the diffs pane");
            followed = true;
        }
        // The refresh loop keeps running while the worker waits for Azure: the Wait shows then.
        saw_wait |= model.diffs.rows.iter().any(|p| matches!(p.action, Action::Wait { .. }));
        if followed {
            let deploy = model.diffs.rows.iter().find_map(|p| match &p.action {
                Action::Deploy { target_ids, .. } => Some(target_ids.clone()),
                _ => None,
            });
            if let Some(targets) = deploy {
                break targets;
            }
        }
        forward(&handle.requests, vec![Effect::Refresh]);
    };

    assert_eq!(sim.with_world(|w| w.scale_sets[0].capacity), 5, "the capacity changed");
    assert!(saw_wait, "the diffs pane showed the Wait while the new VMs provisioned");
    let deployed: BTreeSet<String> = deployed.into_iter().collect();
    assert_eq!(deployed.len(), 2, "3 → 5: two new targets: {deployed:?}");
    assert!(deployed.is_disjoint(&before), "no existing target is redeployed: {deployed:?}");
    let now: BTreeSet<String> = model.targets.rows.iter().map(|t| t.id.clone()).collect();
    assert!(deployed.is_subset(&now), "deploys go to registered targets");

    let journal = std::fs::read_to_string(data_dir.path().join("journal.jsonl")).unwrap();
    assert!(journal.contains("console e2e"), "the scale is journaled with its reason");

    // Protect instance 0 from scale-in, from the instances pane.
    key(&mut model, KeyCode::Char('1'));
    key(&mut model, KeyCode::Char('g'));
    type_text(&mut model, "p");
    let Overlay::Protect(dialog) = &model.overlay else { panic!("protect dialog: {:?}", model.notice) };
    let instance = dialog.instance_id.clone();
    key(&mut model, KeyCode::Tab);
    type_text(&mut model, "keep the first VM");
    key(&mut model, KeyCode::Tab);
    forward(&handle.requests, key(&mut model, KeyCode::Enter));
    let deadline = Instant::now() + Duration::from_secs(60);
    while model.scale.running.is_some() {
        assert!(Instant::now() < deadline, "protection did not finish");
        if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), handle.events.recv()).await
        {
            forward(&handle.requests, update(&mut model, Msg::Worker(event)));
        }
        sim.advance(Duration::from_secs(10)).unwrap();
    }
    let notice = model.notice.clone().unwrap();
    assert!(!notice.error && notice.text.contains("done"), "{notice:?}");
    let protected = sim.with_world(|w| {
        w.scale_sets[0]
            .vms
            .iter()
            .any(|vm| vm.instance_id.to_string() == instance && vm.protect_from_scale_in)
    });
    assert!(protected, "instance {instance} is protected in the world");

    handle.requests.send(Request::Shutdown).unwrap();
    sim.shutdown().await;
}
