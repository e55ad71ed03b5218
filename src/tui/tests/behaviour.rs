use super::{keys, press};
use crate::journal::Outcome;
use crate::model::Action as PlanAction;
use crate::tui::app::{PaneId, Progress};
use crate::tui::dialogs::form::Slot;
use crate::tui::fixtures;
use crate::tui::messages::{Refresh, WorkerEvent};
use crate::tui::update::{apply_refresh, update, Effect, Msg};
use ratatui::crossterm::event::KeyCode;

fn diffs_model() -> crate::tui::app::ConsoleState {
    let mut model = fixtures::model();
    model.pane = PaneId::Diffs;
    model
}

fn type_text(model: &mut crate::tui::app::ConsoleState, text: &str) {
    keys(model, text);
}

#[test]
fn approval_runs_exactly_what_the_dialog_captured_even_after_a_refresh() {
    let mut model = diffs_model();
    keys(&mut model, "aA");
    let crate::tui::app::Overlay::Approve(dialog) = &model.overlay else { panic!("dialog opens") };
    assert_eq!(dialog.focus(), Slot::Button(0), "one delete (confirm_over 3) needs a plain yes");
    assert!(!dialog.needs_typed());
    let captured: Vec<String> = dialog.actions.iter().map(|a| a.id.clone()).collect();
    assert_eq!(captured, vec!["delete-target:Machines-3", "deploy:Projects-1:Releases-2:Machines-2"]);

    // A refresh lands while the dialog is open: the plan changes under it.
    let mut plan = fixtures::plan();
    plan.actions.retain(|a| !matches!(a.action, PlanAction::Deploy { .. }));
    plan.actions.push(fixtures::deploy("Machines-7"));
    apply_refresh(&mut model, Refresh { snapshot: fixtures::snapshot(), plan, finished_at: fixtures::now() });

    assert!(press(&mut model, KeyCode::Enter).is_empty(), "Enter on Cancel runs nothing");
    assert!(matches!(model.overlay, crate::tui::app::Overlay::None));

    keys(&mut model, "aA");
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    let [Effect::Execute { actions, reason }] = effects.as_slice() else {
        panic!("one execute: {effects:?}")
    };
    let ran: Vec<&str> = actions.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ran, vec!["delete-target:Machines-3", "deploy:Projects-1:Releases-2:Machines-7"]);
    assert!(reason.contains("console"));
    assert_eq!(model.progress.get("delete-target:Machines-3"), Some(&Progress::Queued));
}

#[test]
fn wrong_name_does_not_confirm_a_large_delete() {
    let mut model = diffs_model();
    model.confirm_over = 0;
    press(&mut model, KeyCode::Down);
    keys(&mut model, " A");
    type_text(&mut model, "vmss-wob");
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    let crate::tui::app::Overlay::Approve(dialog) = &model.overlay else { panic!("dialog stays open") };
    assert!(dialog.form.error.as_deref().unwrap_or("").contains("vmss-web"));
    assert_eq!(dialog.focus(), Slot::Field(0), "the focus goes back to the name");
}

#[test]
fn read_only_refuses_approve_and_scale_at_the_one_gate() {
    let mut model = diffs_model();
    model.read_only = true;
    keys(&mut model, "aA");
    assert!(matches!(model.overlay, crate::tui::app::Overlay::None), "no dialog in read-only");
    assert!(model.notice.as_ref().unwrap().text.contains("read-only"));
    keys(&mut model, ":scale 5");
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(model.notice.as_ref().unwrap().text.contains("read-only"));
}

#[test]
fn results_land_in_the_pane_and_a_done_change_leaves_it_at_the_next_refresh() {
    let mut model = diffs_model();
    press(&mut model, KeyCode::Down);
    keys(&mut model, " A");
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Enter);
    let id = "delete-target:Machines-3".to_string();
    update(
        &mut model,
        Msg::Worker(WorkerEvent::ExecStarted { action_id: id.clone(), summary: "delete".into() }),
    );
    assert_eq!(model.progress.get(&id), Some(&Progress::Running));
    update(
        &mut model,
        Msg::Worker(WorkerEvent::ExecFinished {
            action_id: id.clone(),
            summary: "delete".into(),
            outcome: Outcome::Done,
            detail: Some("Deployments-7".into()),
        }),
    );
    let mut plan = fixtures::plan();
    plan.actions.retain(|a| a.id != id);
    apply_refresh(&mut model, Refresh { snapshot: fixtures::snapshot(), plan, finished_at: fixtures::now() });
    assert!(!model.diffs.rows.iter().any(|a| a.id == id), "a done change leaves (the journal keeps it)");
    assert!(model.notice.as_ref().unwrap().text.contains("Deployments-7"), "the server's answer is shown");
}

#[test]
fn filter_and_sort_change_the_view_not_the_rows() {
    let mut model = fixtures::model();
    keys(&mut model, "/creat");
    press(&mut model, KeyCode::Enter);
    assert_eq!(model.table(PaneId::Instances).view.len(), 1);
    assert_eq!(model.instances.rows.len(), 4);
    keys(&mut model, "/");
    press(&mut model, KeyCode::Esc);
    assert_eq!(model.table(PaneId::Instances).view.len(), 4);
    keys(&mut model, "ss");
    let table = model.table(PaneId::Instances);
    assert_eq!(table.sort, Some(1));
    let names: Vec<_> =
        table.view.iter().map(|&i| model.instances.rows[i].computer_name.clone().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn cursor_follows_its_row_across_a_refresh() {
    let mut model = fixtures::model();
    keys(&mut model, "jj");
    let before =
        model.instances.rows[model.table(PaneId::Instances).selected_index().unwrap()].instance_id.clone();
    let mut snapshot = fixtures::snapshot();
    if let Ok(listing) = &mut snapshot.scale_sets[0].listing {
        listing.instances.reverse();
    }
    apply_refresh(&mut model, Refresh { snapshot, plan: fixtures::plan(), finished_at: fixtures::now() });
    let after =
        model.instances.rows[model.table(PaneId::Instances).selected_index().unwrap()].instance_id.clone();
    assert_eq!(before, after);
}

#[test]
fn navigation_keys_move_within_bounds() {
    let mut model = fixtures::model();
    keys(&mut model, "G");
    assert_eq!(model.table(PaneId::Instances).cursor, 3);
    keys(&mut model, "jjj");
    assert_eq!(model.table(PaneId::Instances).cursor, 3);
    keys(&mut model, "g");
    assert_eq!(model.table(PaneId::Instances).cursor, 0);
    press(&mut model, KeyCode::Tab);
    assert_eq!(model.pane, PaneId::Targets);
    press(&mut model, KeyCode::BackTab);
    assert_eq!(model.pane, PaneId::Instances);
    keys(&mut model, "3");
    assert_eq!(model.pane, PaneId::Nodes);
    assert_eq!(keys(&mut model, "q"), vec![Effect::Quit]);
}

#[test]
fn details_of_a_diff_show_why_and_the_evidence() {
    let mut model = diffs_model();
    press(&mut model, KeyCode::Down);
    press(&mut model, KeyCode::Enter);
    let crate::tui::app::Overlay::Details { lines, .. } = &model.overlay else { panic!("details open") };
    let text = lines.join("\n");
    assert!(text.contains("Why it is proposed:"));
    assert!(text.contains("vmss-web-9's VM is gone from the scale set"));
    assert!(text.contains("absent from 3 complete listings over 320s"));
}

#[test]
fn profile_command_switches_only_to_a_defined_profile() {
    let mut model = fixtures::model();
    model.profiles = vec!["prod".into(), "staging".into()];
    keys(&mut model, ":profile staging");
    assert_eq!(press(&mut model, KeyCode::Enter), vec![Effect::SwitchProfile("staging".into())]);
    keys(&mut model, ":profile nope");
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(model.notice.as_ref().unwrap().text.contains("no profile `nope`"));
}

#[test]
fn mouse_click_selects_the_row_under_it_and_the_wheel_scrolls() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut model = fixtures::model();
    let mouse = |kind, row| Msg::Mouse(MouseEvent { kind, column: 10, row, modifiers: KeyModifiers::NONE });
    // The pulse (a target is unavailable), header, tabs, two strip rows, the pane's border, its
    // column header: the first row is at y=7.
    update(&mut model, mouse(MouseEventKind::Down(MouseButton::Left), 9));
    assert_eq!(model.table(PaneId::Instances).cursor, 2);
    update(&mut model, mouse(MouseEventKind::ScrollUp, 9));
    assert_eq!(model.table(PaneId::Instances).cursor, 0);
    update(&mut model, mouse(MouseEventKind::ScrollDown, 9));
    assert_eq!(model.table(PaneId::Instances).cursor, 3);
    update(&mut model, mouse(MouseEventKind::Down(MouseButton::Left), 30));
    assert_eq!(model.table(PaneId::Instances).cursor, 3, "a click below the rows selects nothing");
}
