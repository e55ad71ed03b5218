//! Key→frame latency at 10,000 VMs and targets while the worker's refresh is blocked: after a first
//! refresh fills the panes, every Octopus request is delayed by the simulator, and keys must still
//! be drawn within a 60 Hz frame as a rule (the render loop never waits on IO and draws only what
//! shows).

use crate::support::estate;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Terminal;
use scaleguard::config::ConfigFile;
use scaleguard::sim::FaultSpec;
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
    const VMS: u32 = 10_000;
    const PAGE: usize = 1_000;
    let (sim, toml) = estate::start(VMS / estate::PER_SET, PAGE).await;
    // The console builds its clients from the profile, so the credentials go into the environment;
    // no other test in this binary reads them (the pty tests hand them to their child process).
    for (key, value) in sim.env() {
        std::env::set_var(key, value);
    }
    let config = ConfigFile::parse(&toml, Path::new("sim.toml")).expect("sim profile");
    let (name, profile) = config.profile(None).expect("profile");
    let mut profile = profile.clone();
    profile.console.refresh_secs = 3600;
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
    // The first refresh reads all 10,000 VMs and targets into the panes.
    let mut seen_refreshing = false;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(120), frames.recv())
            .await
            .expect("the first refresh within 2 minutes")
            .expect("frames");
        if frame.refreshing {
            seen_refreshing = true;
        } else if seen_refreshing {
            break;
        }
    }
    let pages = sim.stats().get("arm.list_vms");
    assert!(pages >= u64::from(VMS).div_ceil(PAGE as u64), "all VMs were read ({pages} pages)");
    sim.inject_fault(FaultSpec {
        target: "octopus".into(),
        kind: "delay".into(),
        count: 10_000,
        retry_after_secs: None,
        delay_ms: Some(2_000),
    })
    .expect("delay fault");
    keys.unbounded_send(Ok(Event::Key(KeyEvent::from(KeyCode::Char('r'))))).unwrap();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), frames.recv())
            .await
            .expect("a frame")
            .expect("frames");
        if frame.refreshing {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Five rounds of the four panes: 20 keys, so one stall of a shared machine moves the worst
    // figure, not the median.
    let panes =
        [('2', PaneId::Targets), ('3', PaneId::Nodes), ('4', PaneId::Diffs), ('1', PaneId::Instances)];
    let mut latencies = Vec::new();
    for (key, pane) in panes.into_iter().cycle().take(20) {
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
    let (median, worst) = (latencies[latencies.len() / 2], *latencies.last().unwrap());
    println!("key→frame latency with a refresh blocked: median {median:?}, worst {worst:?}");
    // Within a 60 Hz frame as a rule; no key ever waits on the refresh. Five runs of 20 keys on the
    // shared 2-core machine: medians 2.6–3.2 ms, worst 4.7–45 ms (a stall of the machine, not of
    // the console: 4 keys a run put the worst over 16 ms in 2 runs of 6).
    assert!(median < Duration::from_millis(16), "keys took {median:?} (median) to reach the screen");
    assert!(worst < Duration::from_millis(250), "a key took {worst:?} to reach the screen");

    keys.unbounded_send(Ok(Event::Key(KeyEvent::from(KeyCode::Char('q'))))).unwrap();
    let (exit, terminal) =
        tokio::time::timeout(Duration::from_secs(5), console).await.expect("quits").unwrap();
    assert_eq!(exit, Exit::Quit);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("refreshing"), "the header says a refresh is running:\n{screen}");
    sim.shutdown().await;
}
