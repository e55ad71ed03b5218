//! Issue 15's operator-trust defects, one test each (stale data, the last HA node, read-only demo
//! keys, the diffs pane, status messages, the findings overlay, relative times).

use super::{draw, keys, press, screen};
use crate::journal::Outcome;
use crate::model::{Action as PlanAction, ProvisioningState};
use crate::reconcile::testkit::{at, set_key};
use crate::tui::app::{ConsoleState, Overlay, PaneId};
use crate::tui::fixtures;
use crate::tui::messages::{Refresh, WorkerEvent};
use crate::tui::update::{apply_refresh, update, Effect, Msg};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn on(pane: PaneId) -> ConsoleState {
    let mut model = fixtures::model();
    model.pane = pane;
    model
}

fn tick(model: &mut ConsoleState, secs: i64) {
    update(model, Msg::Tick(at(secs)));
}

fn refresh_with(model: &mut ConsoleState, plan: crate::model::Plan, secs: i64) {
    let mut snapshot = fixtures::snapshot();
    snapshot.taken_at = at(secs);
    model.now = at(secs);
    apply_refresh(model, Refresh { snapshot, plan, finished_at: at(secs) });
}

/// Defect 2: a hung server (the request never answers) must not look fresh.
#[test]
fn data_older_than_a_few_refresh_intervals_is_stale_while_a_request_hangs() {
    let mut model = on(PaneId::Instances);
    update(&mut model, Msg::Worker(WorkerEvent::RefreshStarted { at: at(5) }));
    tick(&mut model, 6);
    let fresh = screen(&draw(&model, 120, 30));
    assert!(!fresh.contains("STALE"), "one interval old is fresh:\n{fresh}");
    // refresh_secs = 5 and the request started at 5 s has not answered by 40 s.
    tick(&mut model, 40);
    let hung = screen(&draw(&model, 120, 30));
    assert!(hung.lines().nth(1).is_some_and(|tabs| tabs.contains("STALE")), "the tabs say so:\n{hung}");
    assert!(hung.contains("last good read 40s ago"), "the pane says how old:\n{hung}");
    assert!(!hung.contains("refreshed 40s ago (refreshing)"), "the header does not look calm:\n{hung}");
}

/// Defect 5: no online node that takes tasks is an error, said at the top.
#[test]
fn no_online_task_node_is_an_error_banner() {
    let mut model = on(PaneId::Instances);
    for node in &mut model.nodes.rows {
        node.is_offline = true;
    }
    let text = screen(&draw(&model, 120, 30));
    let top = text.lines().next().unwrap_or_default();
    assert!(top.contains("no node can run deployments"), "the first line says it:\n{text}");
}

/// Defect 9: read-only refuses the demo's world keys and does not list changing commands.
#[test]
fn read_only_refuses_demo_world_keys_and_hides_changing_commands_in_help() {
    let mut model = on(PaneId::Instances);
    model.demo = true;
    model.read_only = true;
    for key in ['+', '-', 'x', 'f'] {
        let effects = keys(&mut model, &key.to_string());
        assert!(effects.is_empty(), "{key} acted in read-only: {effects:?}");
    }
    keys(&mut model, "?");
    let help = screen(&draw(&model, 120, 50));
    assert!(!help.contains(":scale") && !help.contains(":drain"), "{help}");
}

/// Defect 10: a done row leaves the pane and the tab count; the cursor follows identity.
#[test]
fn done_diffs_leave_and_the_cursor_never_jumps_to_another_row() {
    let mut model = on(PaneId::Diffs);
    // Cursor on the deploy (wait, delete, deploy, note).
    press(&mut model, KeyCode::Down);
    press(&mut model, KeyCode::Down);
    assert!(matches!(model.cursor_diff().map(|p| &p.action), Some(PlanAction::Deploy { .. })));
    // The deploy leaves the plan: the cursor must not land on the delete.
    let mut plan = fixtures::plan();
    plan.actions.retain(|p| !matches!(p.action, PlanAction::Deploy { .. }));
    refresh_with(&mut model, plan.clone(), 10);
    assert!(model.cursor_diff().is_none(), "no row under the cursor: {:?}", model.cursor_diff());
    keys(&mut model, "A");
    assert!(!matches!(model.overlay, Overlay::Approve(_)), "A approves nothing without a row");

    // Approve the delete; it runs and is done; the next refresh no longer lists or counts it.
    press(&mut model, KeyCode::Char('g'));
    press(&mut model, KeyCode::Down);
    let id = model.cursor_diff().map(|p| p.id.clone()).unwrap_or_default();
    model.approved.push(model.cursor_diff().cloned().unwrap());
    update(
        &mut model,
        Msg::Worker(WorkerEvent::ExecFinished {
            action_id: id.clone(),
            summary: "delete".into(),
            outcome: Outcome::Done,
            detail: None,
        }),
    );
    let mut plan = fixtures::plan();
    plan.actions.retain(|p| p.id != id && !matches!(p.action, PlanAction::Deploy { .. }));
    refresh_with(&mut model, plan, 20);
    assert!(model.diffs.rows.iter().all(|p| p.id != id), "the done row left the pane");
    let text = screen(&draw(&model, 120, 30));
    assert!(text.contains("4 Diffs (2)"), "the tab counts what is left:\n{text}");
}

/// Defect 10: the subject column uses the width it is given.
#[test]
fn the_diffs_subject_column_grows_with_the_terminal() {
    let mut model = on(PaneId::Diffs);
    let mut plan = fixtures::plan();
    let long = "a-very-long-target-name-that-is-forty-chars";
    let mut delete = fixtures::delete("Machines-40", long);
    delete.reason = "its VM is gone".into();
    plan.actions.push(delete);
    refresh_with(&mut model, plan, 1);
    let text = screen(&draw(&model, 200, 40));
    assert!(text.contains(long), "shown in full at 200 columns:\n{text}");
}

/// Defect 11: a status message goes once its cause has recovered, and is not said twice.
#[test]
fn status_messages_clear_after_recovery_and_do_not_repeat() {
    let mut model = fixtures::model_with_failed_refresh(30);
    update(&mut model, Msg::Worker(WorkerEvent::Failed("cannot save history".into())));
    update(&mut model, Msg::Worker(WorkerEvent::Failed("cannot save history".into())));
    let text = screen(&draw(&model, 160, 30));
    assert_eq!(text.matches("cannot save history").count(), 1, "{text}");
    refresh_with(&mut model, fixtures::plan(), 40);
    tick(&mut model, 120);
    assert!(model.notice.is_none(), "still shown after recovery: {:?}", model.notice);
}

/// Defect 11: the findings overlay's G goes to the end and j stops there.
#[test]
fn the_findings_overlay_scrolls_within_its_text() {
    let mut model = on(PaneId::Instances);
    model.size = (80, 24);
    let finding = crate::doctor::Finding {
        id: "node.stale-registration",
        severity: crate::model::Severity::Warning,
        subject: "node OCTO-NODE-2".into(),
        observed: "reported offline".into(),
        recommended: "removed".into(),
        why: "tasks look Executing".into(),
        fix: "drain it".into(),
        source: crate::doctor::finding::source::HA_NODES,
    };
    let report = crate::tui::messages::FindingsReport {
        findings: vec![finding; 6],
        failures: vec![],
        taken_at: at(0),
    };
    model.findings.report = Some(report);
    model.findings.gathering = false;
    keys(&mut model, "!");
    keys(&mut model, "G");
    let bottom = screen(&draw(&model, 80, 24));
    assert!(bottom.contains("help.octopus.com") || bottom.contains("https://"), "G shows the end:\n{bottom}");
    let Overlay::Findings { scroll } = model.overlay else { panic!("open") };
    for _ in 0..50 {
        keys(&mut model, "j");
    }
    let Overlay::Findings { scroll: after } = model.overlay else { panic!("open") };
    assert_eq!(after, scroll, "j at the end stays at the end");
    assert!(scroll > 0, "G moved");
}

/// Defect 11: times in the scale dialog read "2m ago", not an RFC 3339 stamp with nanoseconds.
#[test]
fn the_scale_dialog_shows_times_relative() {
    let mut model = on(PaneId::Instances);
    model.scale.history = vec![crate::model::ScaleChange {
        scale_set: set_key("vmss-web"),
        at: at(-150) + time::Duration::nanoseconds(301_566_815),
        from: Some(3),
        to: Some(4),
        by: None,
    }];
    keys(&mut model, "S5");
    let text = screen(&draw(&model, 120, 40));
    assert!(text.contains("2m ago"), "{text}");
    assert!(!text.contains(".301566815"), "{text}");
}

/// Defect 11: the console offers force when only an unfinished provisioning stands in the way,
/// so the refusal's "or force it" is something it can do.
#[test]
fn a_refusal_that_says_force_it_comes_with_a_force_choice() {
    let mut model = on(PaneId::Instances);
    if let Some(listing) = model.scale.listings.first_mut() {
        listing.state.provisioning_state = ProvisioningState::Updating;
    }
    keys(&mut model, "S5");
    let text = screen(&draw(&model, 120, 40));
    assert!(text.contains("force it"), "refused for the unfinished provisioning:\n{text}");
    assert!(text.contains("[ ] force"), "a force choice is offered:\n{text}");
}

/// Ctrl-C is quit too (and is in the key table).
#[allow(dead_code)]
fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

#[allow(dead_code)]
fn effects_of(model: &mut ConsoleState, key: KeyEvent) -> Vec<Effect> {
    update(model, Msg::Key(key))
}

/// Defect 6: at 80 columns names are shown whole (other columns give way first).
#[test]
fn at_80_columns_node_names_are_whole_and_versions_give_way() {
    let mut model = on(PaneId::Nodes);
    model.size = (80, 24);
    let text = screen(&draw(&model, 80, 24));
    assert!(text.contains("OCTO-NODE-1") && text.contains("OCTO-NODE-2"), "{text}");
}

/// Defect 6: the help scrolls to its last line at 80×24, and no line is cut at 120 columns.
#[test]
fn help_scrolls_at_80x24_and_fits_at_120_columns() {
    let mut model = on(PaneId::Instances);
    model.size = (80, 24);
    keys(&mut model, "?");
    let first = screen(&draw(&model, 80, 24));
    assert!(!first.contains("Mouse: wheel scrolls"), "the end does not fit on one screen:\n{first}");
    keys(&mut model, "G");
    let last = screen(&draw(&model, 80, 24));
    assert!(last.contains("Mouse: wheel scrolls"), "G shows the end:\n{last}");

    let mut model = on(PaneId::Diffs);
    model.size = (120, 60);
    keys(&mut model, "?");
    let text = screen(&draw(&model, 120, 60));
    for binding in crate::tui::keymap::visible(&model.key_context()) {
        assert!(text.contains(binding.help), "help cuts `{}`:\n{text}", binding.help);
    }
}
