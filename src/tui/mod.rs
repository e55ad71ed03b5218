//! The operations console: a ratatui TUI in the Elm architecture.
//!
//! - The UI side is pure: `app` holds the state (`ConsoleState`), `update` changes it
//!   (`update(&mut ConsoleState, Msg) -> Vec<Effect>`, with `update_nodes` and `update_scale` for
//!   those features), `view` draws it; `keymap` is the one key table; one file per pane and per
//!   dialog; every dialog field is a `text_field::TextField`.
//! - `worker/` owns all IO (refresh loop, executor, node and scaling jobs). The two sides share only
//!   the types in `messages`; this file's event loop carries them across.
//! - This file: terminal setup and restore, logging to a file, and the event loop that selects
//!   between terminal events, worker messages and a one-second tick, drawing only after a change.

pub mod app;
pub mod autoscale_line;
pub mod dialogs;
pub mod fixtures;
pub mod footer;
pub mod ha_state;
pub mod header;
pub mod keymap;
pub mod messages;
pub mod node_state;
pub mod panes;
pub mod pulse;
pub mod relative_time;
pub mod scale_state;
mod scrub;
pub mod table_view;
pub mod text_field;
pub mod theme;
pub mod update;
pub mod update_autoscale;
pub mod update_nodes;
pub mod update_refresh;
pub mod update_scale;
pub mod view;
pub mod worker;

#[cfg(test)]
mod tests;

use crate::config::Profile;
use crate::inventory::Collector;
use crate::sim::RunningSim;
use app::ConsoleState;
use futures::{Stream, StreamExt};
use messages::Request;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event as TermEvent,
    EventStream,
};
use ratatui::Terminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use theme::Theme;
use time::OffsetDateTime;
use update::{update, Effect, Msg};
use worker::{Approvals, WorkerSetup};

/// One profile's console: what the worker needs and how the model starts.
pub struct Session {
    pub profile_name: String,
    pub profile: Profile,
    /// Every profile of the config file, for `:profile`.
    pub profiles: Vec<String>,
    /// `--read-only` or `read_only = true` in the profile.
    pub read_only: bool,
    pub demo: Option<Arc<RunningSim>>,
    pub history_file: Option<PathBuf>,
    pub approvals: Arc<dyn Approvals>,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Quit,
    SwitchProfile(String),
}

/// Test hooks: told about each frame drawn (key→frame latency measurements).
#[derive(Default)]
pub struct Hooks {
    pub frames: Option<tokio::sync::mpsc::UnboundedSender<FrameInfo>>,
}

/// A frame as drawn: when, which pane, and whether a refresh was in flight.
#[derive(Debug, Clone, Copy)]
pub struct FrameInfo {
    pub at: Instant,
    pub pane: app::PaneId,
    pub refreshing: bool,
}

/// Log to `<data dir>/scaleguard.log`, never to the terminal while the UI is up. Level from
/// `SCALEGUARD_LOG` (default `info`). Keep the guard alive until the console ends.
pub fn init_logging(dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    crate::logging::init(dir, "info")
}

/// The platform data dir (or `$SCALEGUARD_DATA_DIR`), where the journal, history and log live.
pub fn data_dir() -> Option<PathBuf> {
    crate::journal::default_path().and_then(|p| p.parent().map(Path::to_path_buf))
}

/// Run the console in the real terminal. `load` gives the session for a profile (None: the first);
/// `:profile NAME` ends a session and asks `load` for the next. The terminal is restored on every
/// exit path, panics included.
pub async fn run_terminal(
    first: Session,
    mut load: impl FnMut(&str) -> anyhow::Result<Session>,
) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture, DisableBracketedPaste);
        ratatui::restore();
        previous(info);
    }));
    // Bracketed paste: a paste arrives as one text message for the field being edited, never as
    // keys that could select and approve.
    let _ = ratatui::crossterm::execute!(std::io::stdout(), EnableMouseCapture, EnableBracketedPaste);
    let result = async {
        let mut events = EventStream::new();
        let theme = Theme::from_env();
        let mut session = first;
        loop {
            match run_session(&mut terminal, &mut events, session, theme, Hooks::default()).await? {
                Exit::Quit => return Ok(()),
                Exit::SwitchProfile(name) => session = load(&name)?,
            }
        }
    }
    .await;
    let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture, DisableBracketedPaste);
    ratatui::restore();
    result
}

/// The executor for a profile, journaling to the data dir's journal. When it cannot be built
/// (no journal, no API key) the console still opens, and every approval reports why it did not run.
pub fn approvals_for(profile_name: &str, profile: &Profile) -> Arc<dyn Approvals> {
    let journal = crate::journal::default_path()
        .ok_or_else(|| "cannot find the platform data dir: set SCALEGUARD_DATA_DIR".to_string())
        .and_then(|path| crate::journal::Journal::open(&path).map_err(|err| err.to_string()));
    let executor = journal.and_then(|journal| {
        crate::executor::Executor::new(profile_name, profile, journal).map_err(|err| err.to_string())
    });
    match executor {
        Ok(executor) => Arc::new(executor),
        Err(why) => {
            tracing::warn!(%why, "approvals disabled");
            Arc::new(worker::NoExecutor(format!("cannot run approved actions: {why}")))
        }
    }
}

/// Build the worker for a session.
pub fn worker_setup(session: &Session) -> WorkerSetup {
    WorkerSetup {
        profile: session.profile.clone(),
        collector: Arc::new(Collector::new(&session.profile)),
        approvals: session.approvals.clone(),
        refresh_every: Duration::from_secs(session.profile.console.refresh_secs.max(1)),
        history_file: session.history_file.clone(),
        demo: session.demo.clone(),
        node_jobs: worker::nodes::runner_for(&session.profile_name, &session.profile),
    }
}

/// The event loop of one session, over any backend and any terminal-event stream (tests drive it
/// with a `TestBackend` and a channel).
pub async fn run_session<B, S>(
    terminal: &mut Terminal<B>,
    events: &mut S,
    session: Session,
    theme: Theme,
    hooks: Hooks,
) -> anyhow::Result<Exit>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = std::io::Result<TermEvent>> + Unpin,
{
    let mut model = ConsoleState::new(&session.profile_name, &session.profile, OffsetDateTime::now_utc());
    model.read_only = session.read_only || session.profile.read_only;
    model.demo = session.demo.is_some();
    model.profiles = session.profiles.clone();
    model.theme = theme;
    let size = terminal.size()?;
    model.size = (size.width, size.height);
    if model.demo {
        model.say("demo: + scale out, - scale in, x kill a node, f inject a fault; ? for every key");
    }
    tracing::info!(profile = %session.profile_name, read_only = model.read_only, demo = model.demo, "console started");
    let mut worker = worker::spawn(worker_setup(&session));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    let exit = loop {
        if dirty {
            terminal.draw(|frame| {
                view::view(frame, &model);
                scrub::scrub_frame(frame.buffer_mut());
            })?;
            if let Some(frames) = &hooks.frames {
                let info = FrameInfo {
                    at: Instant::now(),
                    pane: model.pane,
                    refreshing: model.refresh.in_flight_since.is_some(),
                };
                let _ = frames.send(info);
            }
            dirty = false;
        }
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => match terminal_msg(event) {
                    Some(msg) => msg,
                    None => continue,
                },
                Some(Err(err)) => break Err(err.into()),
                None => break Ok(Exit::Quit),
            },
            Some(event) = worker.events.recv() => Msg::Worker(event),
            _ = tick.tick() => Msg::Tick(OffsetDateTime::now_utc()),
        };
        dirty = true;
        let mut exit = None;
        for effect in update(&mut model, msg) {
            let request = match effect {
                Effect::Refresh => Request::Refresh,
                Effect::Execute { actions, reason } => Request::Execute { actions, reason },
                Effect::Demo(event) => Request::Demo(event),
                Effect::Node(request) => Request::Node(request),
                Effect::Scale(job) => Request::Scale(job),
                Effect::Quit => {
                    exit = Some(Exit::Quit);
                    continue;
                }
                Effect::SwitchProfile(name) => {
                    exit = Some(Exit::SwitchProfile(name));
                    continue;
                }
            };
            if worker.requests.send(request).is_err() {
                model.warn("the background worker stopped; see the log");
            }
        }
        if let Some(exit) = exit {
            break Ok(exit);
        }
    };
    let _ = worker.requests.send(Request::Shutdown);
    tracing::info!(?exit, "console session ended");
    exit
}

fn terminal_msg(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Resize(width, height) => Some(Msg::Resize(width, height)),
        _ => None,
    }
}
