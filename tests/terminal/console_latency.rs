//! Key→frame latency while the worker's refresh is blocked: every Octopus request is delayed by
//! the simulator, and keys must still be drawn at once (the render loop never waits on IO).

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Terminal;
use scaleguard::config::ConfigFile;
use scaleguard::sim::{self, FaultSpec, SimOptions};
use scaleguard::tui::app::PaneId;
use scaleguard::tui::theme::Theme;
use scaleguard::tui::worker::NoExecutor;
use scaleguard::tui::{run_session, Exit, Hooks, Session};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_drawn_at_once_while_a_refresh_is_blocked_on_a_slow_server() {
    let _alone = crate::ALONE.write().await;
    let sim = sim::start(SimOptions::new("steady")).await.expect("simulator");
    // The console builds its clients from the profile, so the credentials go into the environment;
    // no other test in this binary reads them (the pty tests hand them to their child process).
    for (key, value) in sim.env() {
        std::env::set_var(key, value);
    }
    let config = ConfigFile::parse(&sim.profile_toml(), Path::new("sim.toml")).expect("sim profile");
    let (name, profile) = config.profile(None).expect("profile");
    let mut profile = profile.clone();
    profile.console.refresh_secs = 3600;
    sim.inject_fault(FaultSpec {
        target: "octopus".into(),
        kind: "delay".into(),
        count: 10_000,
        retry_after_secs: None,
        delay_ms: Some(2_000),
    })
    .expect("delay fault");
    let session = Session {
        profile_name: name.clone(),
        profile,
        profiles: vec![name],
        read_only: false,
        demo: None,
        history_file: None,
        approvals: Arc::new(NoExecutor("not in this test".into())),
    };
    let (keys, mut events) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let (frame_tx, mut frames) = tokio::sync::mpsc::unbounded_channel();
    let console = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(120, 30)).expect("terminal");
        let hooks = Hooks { frames: Some(frame_tx) };
        let exit =
            run_session(&mut terminal, &mut events, session, Theme::COLOR, hooks).await.expect("session");
        (exit, terminal)
    });
    frames.recv().await.expect("first frame");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut latencies = Vec::new();
    for (key, pane) in
        [('2', PaneId::Targets), ('3', PaneId::Nodes), ('4', PaneId::Diffs), ('1', PaneId::Instances)]
    {
        while frames.try_recv().is_ok() {}
        let sent = Instant::now();
        keys.unbounded_send(Ok(Event::Key(KeyEvent::from(KeyCode::Char(key))))).unwrap();
        let frame = loop {
            let frame = tokio::time::timeout(Duration::from_secs(2), frames.recv())
                .await
                .expect("a frame within 2 s")
                .expect("frames");
            if frame.pane == pane {
                break frame;
            }
        };
        assert!(frame.refreshing, "the refresh must still be in flight for the measurement to mean anything");
        latencies.push(frame.at - sent);
    }
    latencies.sort();
    let worst = *latencies.last().unwrap();
    println!(
        "key→frame latency with a refresh blocked: median {:?}, worst {:?}",
        latencies[latencies.len() / 2],
        worst
    );
    assert!(worst < Duration::from_millis(250), "a key took {worst:?} to reach the screen");

    keys.unbounded_send(Ok(Event::Key(KeyEvent::from(KeyCode::Char('q'))))).unwrap();
    let (exit, terminal) =
        tokio::time::timeout(Duration::from_secs(5), console).await.expect("quits").unwrap();
    assert_eq!(exit, Exit::Quit);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("refreshing"), "the header says a refresh is running:\n{screen}");
    sim.shutdown().await;
}
