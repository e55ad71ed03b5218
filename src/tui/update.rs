//! `update(&mut ConsoleState, Msg) -> Vec<Effect>`: every change to the console's state happens
//! here, as a plain function (no IO, no clock: time arrives as `Msg::Tick`). Effects are carried
//! out by the event loop and the worker.

use super::app::{ConsoleState, Filter, Overlay, PaneId, Progress};
use super::dialogs::approve::{ApproveDialog, Outcome as DialogOutcome};
use super::dialogs::command::{self, CommandLine, LineEvent};
use super::dialogs::quit::{Outcome as QuitOutcome, QuitDialog};
use super::keymap::{self, Action};
use super::messages::{DemoEvent, NodeRequest, ScaleJob, WorkerEvent};
use super::panes::{self, effective_offset};
use super::text_field::TextField;
pub use super::update_refresh::apply_refresh;
use super::view;
use crate::journal::Outcome;
use crate::model::PlannedAction;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use time::OffsetDateTime;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste), as one message.
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick(OffsetDateTime),
    Worker(WorkerEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Refresh,
    Execute { actions: Vec<PlannedAction>, reason: String },
    Demo(DemoEvent),
    Node(NodeRequest),
    Scale(ScaleJob),
    SwitchProfile(String),
    Quit,
}

/// How many approved diffs stay in the pane after they left the plan.
const KEEP_APPROVED: usize = 20;

pub fn update(model: &mut ConsoleState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) if key.kind == KeyEventKind::Press => on_key(model, key),
        Msg::Key(_) => vec![],
        Msg::Paste(text) => on_paste(model, &text),
        Msg::Mouse(mouse) => on_mouse(model, mouse),
        Msg::Resize(width, height) => {
            model.size = (width, height);
            keep_cursor_visible(model);
            vec![]
        }
        Msg::Tick(now) => {
            model.now = now;
            model.expire_notice();
            quit_if_idle(model)
        }
        Msg::Worker(event) => {
            // A result that ends the last change in flight may be what a pending quit waits for.
            let mut effects = on_worker(model, event);
            if !effects.contains(&Effect::Quit) {
                effects.extend(quit_if_idle(model));
            }
            effects
        }
    }
}

fn on_key(model: &mut ConsoleState, key: KeyEvent) -> Vec<Effect> {
    let (read_only, size, theme, context) = (model.read_only, model.size, model.theme, model.key_context());
    let history = model.command_history.clone();
    let words = completion_words(model);
    match &mut model.overlay {
        Overlay::None => match keymap::lookup(&key, &model.key_context()) {
            Some(action) => dispatch(model, action),
            None => vec![],
        },
        Overlay::Help { scroll } => {
            let area = Rect::new(0, 0, size.0, size.1);
            let max = super::dialogs::help::max_scroll(area, theme, &context);
            if matches!(key.code, KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter) {
                model.overlay = Overlay::None;
            } else {
                *scroll = scrolled(*scroll, &key, max);
            }
            vec![]
        }
        Overlay::Details { scroll, lines, .. } => {
            // The details box is the screen less a margin; it shows its height less the border.
            let max = lines.len().saturating_sub(usize::from(size.1.saturating_sub(4)));
            match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => model.overlay = Overlay::None,
                _ => *scroll = scrolled(*scroll, &key, u16::try_from(max).unwrap_or(u16::MAX)),
            }
            vec![]
        }
        Overlay::Approve(dialog) => match dialog.on_key(&key) {
            DialogOutcome::Stay => vec![],
            DialogOutcome::Cancel => {
                model.overlay = Overlay::None;
                model.say("approval cancelled: nothing was run");
                vec![]
            }
            DialogOutcome::Confirm(actions) => {
                model.overlay = Overlay::None;
                confirm(model, actions)
            }
        },
        Overlay::Command(line) => match line.on_key(&key, &history, read_only, &words) {
            LineEvent::Stay => vec![],
            LineEvent::Cancel => {
                model.overlay = Overlay::None;
                vec![]
            }
            LineEvent::Run(text) => {
                model.overlay = Overlay::None;
                if !text.is_empty() && model.command_history.last() != Some(&text) {
                    model.command_history.push(text.clone());
                }
                match command::parse(&text) {
                    Ok(action) => dispatch(model, action),
                    Err(message) => {
                        model.warn(message);
                        vec![]
                    }
                }
            }
        },
        Overlay::Quit(dialog) => match dialog.on_key(&key) {
            QuitOutcome::Stay => vec![],
            QuitOutcome::Cancel => {
                model.overlay = Overlay::None;
                model.say("not quitting");
                vec![]
            }
            QuitOutcome::QuitWhenIdle => {
                model.overlay = Overlay::None;
                model.quit_when_idle = true;
                model.say("quitting once what runs has ended and its result is journaled (q again asks)");
                quit_if_idle(model)
            }
            QuitOutcome::QuitNow => {
                model.quit = true;
                vec![Effect::Quit]
            }
        },
        Overlay::Node(_) => super::update_nodes::on_dialog_key(model, &key),
        Overlay::Scale(_) | Overlay::Protect(_) | Overlay::Findings { .. } => {
            super::update_scale::on_key(model, &key)
        }
        Overlay::Autoscale(_) => super::update_autoscale::on_key(model, &key),
        Overlay::Filter(field) => {
            match key.code {
                KeyCode::Esc => {
                    model.overlay = Overlay::None;
                    set_filter(model, String::new());
                }
                KeyCode::Enter => model.overlay = Overlay::None,
                _ => {
                    if field.on_key(&key) == Some(true) {
                        let typed = field.value().to_string();
                        set_filter(model, typed);
                    }
                }
            }
            vec![]
        }
    }
}

/// A scroll position after a scrolling key (j/k, arrows, PgDn/PgUp, Ctrl-D/U, g/G), within 0..=max.
pub fn scrolled(scroll: u16, key: &KeyEvent, max: u16) -> u16 {
    let ctrl = key.modifiers.contains(ratatui::crossterm::event::KeyModifiers::CONTROL);
    let next = match key.code {
        KeyCode::Char('d') if ctrl => scroll.saturating_add(5),
        KeyCode::Char('u') if ctrl => scroll.saturating_sub(5),
        KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
        KeyCode::PageUp => scroll.saturating_sub(10),
        KeyCode::Char('g') | KeyCode::Home => 0,
        KeyCode::Char('G') | KeyCode::End => max,
        _ => scroll,
    };
    next.min(max)
}

/// Words the command line completes an argument with: node and profile names.
fn completion_words(model: &ConsoleState) -> Vec<String> {
    let mut words: Vec<String> = model.nodes.rows.iter().map(|n| n.name.clone()).collect();
    words.extend(model.profiles.iter().cloned());
    words
}

/// After "quit when it has ended": quit once nothing is in flight.
fn quit_if_idle(model: &mut ConsoleState) -> Vec<Effect> {
    if model.quit_when_idle && model.in_flight().is_empty() {
        model.quit = true;
        return vec![Effect::Quit];
    }
    vec![]
}

/// Filter the current pane's rows by `text` (as it is typed; Esc clears it).
fn set_filter(model: &mut ConsoleState, text: String) {
    let pane = model.pane;
    model.table_mut(pane).filter = Filter::parse(&text);
    model.rebuild_view(pane);
}

/// Bracketed paste: the text goes into the field being edited, never read as keys (a pasted "aA"
/// must not select and approve). Outside a field it is ignored, and the status line says so.
fn on_paste(model: &mut ConsoleState, text: &str) -> Vec<Effect> {
    let now = model.now;
    match &mut model.overlay {
        Overlay::Approve(dialog) => dialog.paste(text),
        Overlay::Protect(dialog) => dialog.paste(text),
        Overlay::Node(dialog) => dialog.paste(text),
        Overlay::Scale(dialog) => dialog.paste(text, now),
        Overlay::Autoscale(dialog) => dialog.paste(text),
        Overlay::Command(line) => {
            line.field.paste(text);
        }
        Overlay::Filter(field) => {
            if field.paste(text) {
                let typed = field.value().to_string();
                set_filter(model, typed);
            }
        }
        Overlay::None
        | Overlay::Help { .. }
        | Overlay::Details { .. }
        | Overlay::Findings { .. }
        | Overlay::Quit(_) => {
            model.say("paste ignored: open a text field first (/ filter, : command)");
        }
    }
    vec![]
}

/// The one gate: every key and every `:` command passes here, and a mutating action is refused
/// when the console is read-only.
pub fn dispatch(model: &mut ConsoleState, action: Action) -> Vec<Effect> {
    if action.is_mutating() && model.read_only {
        model.warn(format!("read-only: {} is refused (this profile or --read-only)", describe(&action)));
        return vec![];
    }
    let pane = model.pane;
    match action {
        Action::NextPane => show_pane(model, pane.next()),
        Action::PrevPane => show_pane(model, pane.prev()),
        Action::ShowPane(target) => show_pane(model, target),
        Action::Down => move_cursor(model, 1),
        Action::Up => move_cursor(model, -1),
        Action::PageDown => move_cursor(model, page(model) as isize),
        Action::PageUp => move_cursor(model, -(page(model) as isize)),
        Action::HalfPageDown => move_cursor(model, (page(model) / 2).max(1) as isize),
        Action::HalfPageUp => move_cursor(model, -((page(model) / 2).max(1) as isize)),
        Action::Top => move_cursor(model, isize::MIN / 2),
        Action::Bottom => move_cursor(model, isize::MAX / 2),
        Action::Filter => {
            model.overlay = Overlay::Filter(TextField::text().with_value(&model.table(pane).filter.text))
        }
        Action::ReverseSort => {
            let table = model.table_mut(pane);
            table.descending = !table.descending;
            model.rebuild_view(pane);
        }
        Action::Back => back(model),
        Action::Sort => {
            let columns = panes::column_count(pane);
            let table = model.table_mut(pane);
            table.sort = match table.sort {
                None => Some(0),
                Some(c) if c + 1 < columns => Some(c + 1),
                Some(_) => None,
            };
            model.rebuild_view(pane);
        }
        Action::Details => match panes::cursor_details(model) {
            Some((title, lines)) => model.overlay = Overlay::Details { title, lines, scroll: 0 },
            None => model.say("nothing selected"),
        },
        Action::CommandLine => model.overlay = Overlay::Command(CommandLine::default()),
        Action::Help => model.overlay = Overlay::Help { scroll: 0 },
        Action::Refresh => {
            model.say("refresh requested");
            return vec![Effect::Refresh];
        }
        Action::Quit => {
            // A change or job in flight would lose its result: ask first.
            let running = model.in_flight();
            if running.is_empty() {
                model.quit = true;
                return vec![Effect::Quit];
            }
            model.overlay = Overlay::Quit(QuitDialog::open(running));
        }
        Action::ToggleSelect => toggle_select(model),
        Action::SelectAll => select_all(model),
        Action::Approve => open_approval(model),
        Action::Drain(name) => return super::update_nodes::open_drain(model, name),
        Action::Undrain => {
            return super::update_nodes::open_node_action(model, super::update_nodes::NodeOp::Undrain)
        }
        Action::TaskCap => {
            return super::update_nodes::open_node_action(model, super::update_nodes::NodeOp::TaskCap)
        }
        Action::DeleteNode => {
            return super::update_nodes::open_node_action(model, super::update_nodes::NodeOp::Delete)
        }
        Action::Admit => return super::update_nodes::read_admission(model),
        Action::Scale(capacity) => super::update_scale::open_scale(model, capacity),
        Action::Protect => super::update_scale::open_protect(model),
        Action::Findings => model.overlay = Overlay::Findings { scroll: 0 },
        Action::Doctor => return super::update_scale::run_doctor(model),
        Action::Profile(None) => {
            let defined = model.profiles.join(", ");
            model.say(format!(
                "profile {} (defined: {defined}); `:profile NAME` switches",
                model.profile_name
            ));
        }
        Action::Profile(Some(name)) if name == model.profile_name => {
            model.say(format!("already on profile {name}"))
        }
        Action::Profile(Some(name)) => {
            if model.profiles.contains(&name) {
                return vec![Effect::SwitchProfile(name)];
            }
            model.warn(format!("no profile `{name}` (defined: {})", model.profiles.join(", ")));
        }
        Action::Demo(event) => {
            if model.demo {
                return vec![Effect::Demo(event)];
            }
            model.warn("world events are for `scaleguard demo` only");
        }
    }
    vec![]
}

fn describe(action: &Action) -> &'static str {
    match action {
        Action::Approve => "approving changes",
        Action::Scale(_) => "scaling",
        Action::Protect => "changing scale-in protection",
        Action::Drain(_) => "draining a node",
        Action::Undrain => "turning drain off",
        Action::TaskCap => "changing a task cap",
        Action::DeleteNode => "deleting a node",
        Action::Admit => "admitting a node",
        Action::Demo(_) => "changing the demo's world",
        _ => "this action",
    }
}

fn show_pane(model: &mut ConsoleState, pane: PaneId) {
    model.pane = pane;
}

/// Esc with nothing open: back out one level, the filter first, then the selection.
fn back(model: &mut ConsoleState) {
    let pane = model.pane;
    if !model.table(pane).filter.is_empty() {
        set_filter(model, String::new());
        model.say("filter cleared");
    } else if pane == PaneId::Diffs && !model.selected.is_empty() {
        model.selected.clear();
        model.say("selection cleared");
    } else if model.quit_when_idle {
        model.quit_when_idle = false;
        model.say("not quitting after all");
    }
}

/// Table body rows on screen for the current pane.
fn page(model: &ConsoleState) -> usize {
    let area = view::areas_of(model).body;
    panes::body_height(area, panes::banner_height(model, model.pane)).max(1)
}

fn move_cursor(model: &mut ConsoleState, delta: isize) {
    let pane = model.pane;
    model.table_mut(pane).step(delta);
    keep_cursor_visible(model);
}

pub(super) fn keep_cursor_visible(model: &mut ConsoleState) {
    let height = page(model);
    let pane = model.pane;
    let table = model.table_mut(pane);
    table.offset = effective_offset(table.offset, table.cursor, height);
}

fn is_open(model: &ConsoleState, planned: &PlannedAction) -> bool {
    planned.action.is_mutating()
        && !matches!(
            model.progress.get(&planned.id),
            Some(Progress::Queued | Progress::Running | Progress::Done)
        )
}

fn toggle_select(model: &mut ConsoleState) {
    let Some(planned) = model.cursor_diff().cloned() else { return };
    if !is_open(model, &planned) {
        model.say("only proposed changes can be selected (waits and notes are information)");
        return;
    }
    if !model.selected.remove(&planned.id) {
        model.selected.insert(planned.id.clone());
    }
    move_cursor(model, 1);
}

/// Select every proposed change the filter shows (or clear the selection when all already are).
fn select_all(model: &mut ConsoleState) {
    let table = model.table(PaneId::Diffs);
    let open: Vec<String> = table
        .view
        .iter()
        .filter_map(|&i| model.diffs.rows.get(i))
        .filter(|p| is_open(model, p))
        .map(|p| p.id.clone())
        .collect();
    if open.is_empty() {
        model.say("no proposed changes to select");
    } else if open.iter().all(|id| model.selected.contains(id)) {
        model.selected.clear();
        model.say("selection cleared");
    } else {
        model.say(format!("{} change(s) selected", open.len()));
        model.selected = open.into_iter().collect();
    }
}

/// Open the dialog with exactly what will run, captured now: the selected changes in plan order,
/// or the change under the cursor when nothing is selected.
fn open_approval(model: &mut ConsoleState) {
    let mut chosen: Vec<PlannedAction> = model
        .diffs
        .rows
        .iter()
        .filter(|p| model.selected.contains(&p.id) && is_open(model, p))
        .cloned()
        .collect();
    if chosen.is_empty() {
        if let Some(planned) = model.cursor_diff().filter(|p| is_open(model, p)).cloned() {
            chosen.push(planned);
        }
    }
    if chosen.is_empty() {
        model.warn("nothing to approve: select proposed changes with Space (or a for all)");
        return;
    }
    model.overlay = Overlay::Approve(ApproveDialog::open(chosen, model.confirm_over, &model.confirm_word));
}

fn confirm(model: &mut ConsoleState, actions: Vec<PlannedAction>) -> Vec<Effect> {
    for planned in &actions {
        model.selected.remove(&planned.id);
        model.progress.insert(planned.id.clone(), Progress::Queued);
        model.approved.retain(|p| p.id != planned.id);
        model.approved.push(planned.clone());
    }
    let excess = model.approved.len().saturating_sub(KEEP_APPROVED);
    model.approved.drain(..excess);
    model.say(format!("approved {} change(s): running…", actions.len()));
    let reason = format!("approved in the scaleguard console (profile {})", model.profile_name);
    vec![Effect::Execute { actions, reason }]
}

fn on_mouse(model: &mut ConsoleState, mouse: MouseEvent) -> Vec<Effect> {
    if !matches!(model.overlay, Overlay::None) {
        return vec![];
    }
    match mouse.kind {
        MouseEventKind::ScrollDown => move_cursor(model, 3),
        MouseEventKind::ScrollUp => move_cursor(model, -3),
        MouseEventKind::Down(MouseButton::Left) => {
            let areas = view::areas_of(model);
            if mouse.row == areas.tabs.y {
                // Tabs are drawn left to right in order; pick by rough width.
                let count = PaneId::ALL.len();
                let slot = (mouse.column as usize) / (model.size.0 as usize / count).max(1);
                show_pane(model, PaneId::ALL[slot.min(count - 1)]);
                return vec![];
            }
            let banner = panes::banner_height(model, model.pane);
            let first_row = areas.body.y + 2 + banner;
            let last_row = areas.body.y + areas.body.height.saturating_sub(1);
            if mouse.row >= first_row && mouse.row < last_row {
                let height = page(model);
                let table = model.table(model.pane);
                let offset = effective_offset(table.offset, table.cursor, height);
                let position = offset + (mouse.row - first_row) as usize;
                if position < table.view.len() {
                    let pane = model.pane;
                    model.table_mut(pane).cursor = position;
                    keep_cursor_visible(model);
                }
            }
        }
        _ => {}
    }
    vec![]
}

fn on_worker(model: &mut ConsoleState, event: WorkerEvent) -> Vec<Effect> {
    match event {
        WorkerEvent::RefreshStarted { at } => model.refresh.in_flight_since = Some(at),
        WorkerEvent::Refreshed(refresh) => apply_refresh(model, *refresh),
        WorkerEvent::ExecStarted { action_id, summary } => {
            model.progress.insert(action_id, Progress::Running);
            model.say(format!("running: {summary}"));
        }
        WorkerEvent::ExecFinished { action_id, summary, outcome, detail } => {
            let (progress, text, error) = match outcome {
                Outcome::Done => {
                    let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
                    (Progress::Done, format!("done: {summary}{detail}"), false)
                }
                Outcome::Skipped(why) => {
                    (Progress::Skipped(why.clone()), format!("skipped: {summary}: {why}"), true)
                }
                Outcome::Failed(why) => {
                    (Progress::Failed(why.clone()), format!("failed: {summary}: {why}"), true)
                }
            };
            model.progress.insert(action_id, progress);
            if error {
                model.warn(text)
            } else {
                model.say(text)
            }
        }
        WorkerEvent::ExecDone { ran, failed } => {
            let text = format!(
                "{ran} approved action(s) finished, {failed} not done; the journal pane (5) has each"
            );
            if failed > 0 {
                model.warn(text)
            } else {
                model.say(text)
            }
        }
        WorkerEvent::Demo(Ok(text)) => model.say(text),
        WorkerEvent::Demo(Err(text)) => model.warn(text),
        WorkerEvent::Failed(text) => model.warn(text),
        WorkerEvent::Node(event) => return super::update_nodes::on_event(model, event),
        WorkerEvent::Scale(report) => return super::update_scale::on_report(model, report),
        WorkerEvent::Journal(read) => {
            let keep = model.cursor_key(PaneId::Journal);
            let at = model.now;
            model.journal.accept(read.map(|records| super::panes::journal::entries(&records)), at);
            model.rebuild_view_keeping(PaneId::Journal, keep);
        }
        WorkerEvent::Settled(settled) => {
            if !settled.is_empty() {
                model.warn(format!(
                    "{} interrupted change(s) settled against the real state: {}; see :journal",
                    settled.len(),
                    settled.join("; ")
                ));
            }
            model.settled.extend(settled);
        }
        WorkerEvent::ServerClock(offset) => model.server_clock_offset = offset,
    }
    vec![]
}
