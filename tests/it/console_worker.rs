//! The console's background worker over the simulator: refreshes are coalesced (never two at
//! once), each refresh carries a plan, and demo world events reach the running simulator.

use crate::support::clients;
use scaleguard::config::Profile;
use scaleguard::sim::{self, FaultSpec, RunningSim, SimOptions};
use scaleguard::tui::messages::{DemoEvent, Request, WorkerEvent};
use scaleguard::tui::worker::{self, NoExecutor, WorkerSetup};
use std::sync::Arc;
use std::time::Duration;

/// The sim's profile, refreshing only when asked.
fn profile_for(sim: &RunningSim) -> Profile {
    let (_, mut profile) = clients::profile(sim, |toml| toml);
    profile.console.refresh_secs = 3600;
    profile
}

/// A worker reading `sim` with its credentials handed in.
fn setup(sim: &RunningSim, profile: Profile, demo: Option<Arc<RunningSim>>) -> WorkerSetup {
    WorkerSetup {
        collector: Arc::new(clients::collector(sim, &profile)),
        approvals: Arc::new(NoExecutor("not in this test".into())),
        refresh_every: Duration::from_secs(3600),
        history_file: None,
        demo,
        profile,
        node_jobs: Err("not in this test".into()),
    }
}

async fn next_event(events: &mut tokio::sync::mpsc::UnboundedReceiver<WorkerEvent>) -> WorkerEvent {
    tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .expect("an event within 20 s")
        .expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_requests_during_a_refresh_are_coalesced() {
    let sim = sim::start(SimOptions::new("steady")).await.unwrap();
    let profile = profile_for(&sim);
    sim.inject_fault(FaultSpec {
        target: "octopus".into(),
        kind: "delay".into(),
        count: 10_000,
        retry_after_secs: None,
        delay_ms: Some(300),
    })
    .unwrap();
    let mut handle = worker::spawn(setup(&sim, profile, None));
    // The first refresh starts at once; other jobs' reports (the doctor's) may come first.
    while !matches!(next_event(&mut handle.events).await, WorkerEvent::RefreshStarted { .. }) {}
    for _ in 0..5 {
        handle.requests.send(Request::Refresh).unwrap();
    }
    let refresh = loop {
        match next_event(&mut handle.events).await {
            WorkerEvent::Refreshed(refresh) => break refresh,
            WorkerEvent::RefreshStarted { .. } => panic!("a second refresh started while one was in flight"),
            _ => {}
        }
    };
    let targets = refresh.snapshot.targets.as_ref().expect("targets read");
    assert_eq!(targets.len(), 3, "the steady scenario has three targets");
    assert!(!refresh.plan.has_changes(), "a steady world needs nothing: {:?}", refresh.plan.actions);
    handle.requests.send(Request::Refresh).unwrap();
    // Other jobs (the doctor's startup read) may report in between; the next refresh event must
    // be a start, not a finished refresh from a coalesced request.
    loop {
        match next_event(&mut handle.events).await {
            WorkerEvent::RefreshStarted { .. } => break,
            WorkerEvent::Refreshed(_) => {
                panic!("a later request refreshes: a refresh finished without starting")
            }
            _ => {}
        }
    }
    handle.requests.send(Request::Shutdown).unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_events_change_the_simulated_world() {
    let sim = Arc::new(sim::start(SimOptions::new("steady")).await.unwrap());
    let profile = profile_for(&sim);
    let mut handle = worker::spawn(setup(&sim, profile, Some(sim.clone())));
    handle.requests.send(Request::Demo(DemoEvent::ScaleOut)).unwrap();
    let said = loop {
        if let WorkerEvent::Demo(result) = next_event(&mut handle.events).await {
            break result.expect("scale out applies");
        }
    };
    assert!(said.contains("3 → 5"), "{said}");
    assert_eq!(sim.with_world(|w| w.scale_sets[0].capacity), 5);
    handle.requests.send(Request::Demo(DemoEvent::KillNode)).unwrap();
    loop {
        if let WorkerEvent::Demo(result) = next_event(&mut handle.events).await {
            assert!(result.expect("kill applies").contains("OCTO-NODE-2"));
            break;
        }
    }
    assert!(sim.with_world(|w| !w.nodes[1].alive));
    handle.requests.send(Request::Shutdown).unwrap();
}
