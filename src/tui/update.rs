//! `update(&mut ConsoleState, Msg) -> Vec<Effect>`: every change to the console's state happens
//! here, as a plain function (no IO, no clock: time arrives as `Msg::Tick`). Effects are carried
//! out by the event loop and the worker.

use super::app::{CapacitySample, ConsoleState, Overlay, PaneId, Progress, SetSummary, SPARK_SAMPLES};
use super::dialogs::approve::{ApproveDialog, Outcome as DialogOutcome};
use super::dialogs::command;
use super::keymap::{self, Action};
use super::messages::{DemoEvent, NodeRequest, Refresh, ScaleJob, WorkerEvent};
use super::panes::{self, effective_offset};
use super::text_field::TextField;
use super::view;
use crate::journal::Outcome;
use crate::model::{PlannedAction, PowerState, ProvisioningState};
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
            vec![]
        }
        Msg::Worker(event) => on_worker(model, event),
    }
}

fn on_key(model: &mut ConsoleState, key: KeyEvent) -> Vec<Effect> {
    match &mut model.overlay {
        Overlay::None => match keymap::lookup(&key, &model.key_context()) {
            Some(action) => dispatch(model, action),
            None => vec![],
        },
        Overlay::Help => {
            if matches!(key.code, KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter) {
                model.overlay = Overlay::None;
            }
            vec![]
        }
        Overlay::Details { scroll, .. } => {
            match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => model.overlay = Overlay::None,
                KeyCode::Char('j') | KeyCode::Down => *scroll = scroll.saturating_add(1),
                KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
                KeyCode::PageDown => *scroll = scroll.saturating_add(10),
                KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                _ => {}
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
        Overlay::Command(field) => match key.code {
            KeyCode::Esc => {
                model.overlay = Overlay::None;
                vec![]
            }
            KeyCode::Enter => {
                let line = field.value().to_string();
                model.overlay = Overlay::None;
                match command::parse(&line) {
                    Ok(action) => dispatch(model, action),
                    Err(message) => {
                        model.warn(message);
                        vec![]
                    }
                }
            }
            _ => {
                field.on_key(&key);
                vec![]
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

/// Filter the current pane's rows by `text` (as it is typed; Esc clears it).
fn set_filter(model: &mut ConsoleState, text: String) {
    let pane = model.pane;
    model.table_mut(pane).filter = text;
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
        Overlay::Command(field) => {
            field.paste(text);
        }
        Overlay::Filter(field) => {
            if field.paste(text) {
                let typed = field.value().to_string();
                set_filter(model, typed);
            }
        }
        Overlay::None | Overlay::Help | Overlay::Details { .. } | Overlay::Findings { .. } => {
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
        Action::Top => move_cursor(model, isize::MIN / 2),
        Action::Bottom => move_cursor(model, isize::MAX / 2),
        Action::Filter => {
            model.overlay = Overlay::Filter(TextField::text().with_value(&model.table(pane).filter))
        }
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
        Action::CommandLine => model.overlay = Overlay::Command(TextField::text()),
        Action::Help => model.overlay = Overlay::Help,
        Action::Refresh => {
            model.say("refresh requested");
            return vec![Effect::Refresh];
        }
        Action::Quit => {
            model.quit = true;
            return vec![Effect::Quit];
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
        _ => "this action",
    }
}

fn show_pane(model: &mut ConsoleState, pane: PaneId) {
    model.pane = pane;
}

/// Table body rows on screen for the current pane.
fn page(model: &ConsoleState) -> usize {
    let area = view::areas(Rect::new(0, 0, model.size.0, model.size.1)).body;
    panes::body_height(area, panes::banner_height(model, model.pane)).max(1)
}

fn move_cursor(model: &mut ConsoleState, delta: isize) {
    let pane = model.pane;
    model.table_mut(pane).step(delta);
    keep_cursor_visible(model);
}

fn keep_cursor_visible(model: &mut ConsoleState) {
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
            let areas = view::areas(Rect::new(0, 0, model.size.0, model.size.1));
            if mouse.row == areas.tabs.y {
                // Tabs are drawn left to right in order; pick by rough width.
                let slot = (mouse.column as usize) / (model.size.0 as usize / 4).max(1);
                show_pane(model, PaneId::ALL[slot.min(3)]);
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
            model.notice = Some(super::app::Notice { text, error });
        }
        WorkerEvent::ExecDone { ran, failed } => {
            let text = format!("{ran} approved action(s) finished, {failed} not done; see the journal");
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
    }
    vec![]
}

/// Take a finished refresh. Each pane takes its own read; a failed read keeps the pane's last
/// good rows and marks them stale with the error.
pub fn apply_refresh(model: &mut ConsoleState, refresh: Refresh) {
    let Refresh { snapshot, plan, finished_at } = refresh;
    let cursor_keys: Vec<Option<String>> = PaneId::ALL.iter().map(|&pane| model.cursor_key(pane)).collect();
    let at = snapshot.taken_at;
    let failures: Vec<String> = snapshot.failures().iter().map(|f| f.to_string()).collect();
    super::update_scale::remember_listings(model, &snapshot);
    model.refresh.in_flight_since = None;
    model.refresh.last_finished = Some(finished_at);
    model.refresh.last_error = if failures.is_empty() { None } else { Some(failures.join("; ")) };
    if let Ok(version) = &snapshot.server_version {
        model.server_version = Some(version.clone());
    }

    let mut listings_ok = true;
    let mut instances = Vec::new();
    let mut listing_errors = Vec::new();
    for observation in &snapshot.scale_sets {
        match &observation.listing {
            Ok(listing) => {
                let summary = SetSummary {
                    name: observation.key.name.clone(),
                    capacity: listing.state.capacity,
                    instances: listing.instances.len() as u32,
                    succeeded: listing
                        .instances
                        .iter()
                        .filter(|i| i.provisioning_state == ProvisioningState::Succeeded)
                        .count() as u32,
                };
                match model.sets.iter_mut().find(|s| s.name == summary.name) {
                    Some(existing) => *existing = summary,
                    None => model.sets.push(summary),
                }
                instances.extend(listing.instances.iter().cloned());
            }
            Err(failure) => {
                listings_ok = false;
                listing_errors.push(failure.to_string());
            }
        }
    }
    let instances = if listings_ok { Ok(instances) } else { Err(listing_errors.join("; ")) };
    if let Ok(rows) = &instances {
        let capacity = model.sets.iter().map(|s| u64::from(s.capacity)).sum();
        let running = rows
            .iter()
            .filter(|i| {
                i.provisioning_state == ProvisioningState::Succeeded && i.power_state == PowerState::Running
            })
            .count() as u64;
        model.samples.push_back(CapacitySample { capacity, running });
        while model.samples.len() > SPARK_SAMPLES {
            model.samples.pop_front();
        }
    }
    model.instances.accept(instances, at);
    model.targets.accept(snapshot.targets.clone().map_err(|f| f.to_string()), at);
    model.nodes.accept(snapshot.nodes.clone().map_err(|f| f.to_string()), at);

    let plan_read = if snapshot.inventory_complete() {
        let mut rows = plan.actions;
        let in_plan: std::collections::HashSet<String> = rows.iter().map(|p| p.id.clone()).collect();
        rows.extend(model.approved.iter().filter(|p| !in_plan.contains(&p.id)).cloned());
        Ok(rows)
    } else {
        Err(format!("the plan needs complete listings: {}", failures.join("; ")))
    };
    model.diffs.accept(plan_read, at);
    let alive: std::collections::HashSet<&String> = model.diffs.rows.iter().map(|p| &p.id).collect();
    model.selected.retain(|id| alive.contains(id));
    model.progress.retain(|id, _| alive.contains(id));
    for (pane, keep) in PaneId::ALL.into_iter().zip(cursor_keys) {
        model.rebuild_view_keeping(pane, keep);
    }
    keep_cursor_visible(model);
}
