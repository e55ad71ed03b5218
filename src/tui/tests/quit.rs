//! Issue 15, defect 1: quitting while a change or job runs asks first; "quit when it has ended"
//! waits for the result (so it is journaled); Ctrl-C and `:q` ask the same way.

use super::{keys, press};
use crate::scaling::ScaleOutcome;
use crate::tui::app::{ConsoleState, Overlay, PaneId};
use crate::tui::fixtures;
use crate::tui::messages::{ScaleReport, WorkerEvent};
use crate::tui::update::{update, Effect, Msg};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn scaling() -> ConsoleState {
    let mut model = fixtures::model();
    model.pane = PaneId::Instances;
    model.scale.running = Some("scaling vmss-web 4→5".into());
    model
}

fn ctrl_c(model: &mut ConsoleState) -> Vec<Effect> {
    update(model, Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)))
}

#[test]
fn quitting_while_a_scale_runs_asks_and_can_wait_for_the_result() {
    let mut model = scaling();
    assert!(keys(&mut model, "q").is_empty(), "q does not quit while a change runs");
    let Overlay::Quit(dialog) = &model.overlay else { panic!("asks: {:?}", model.overlay) };
    assert!(dialog.running.iter().any(|r| r.contains("scaling vmss-web")), "{:?}", dialog.running);
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "Enter on Stay stays");
    assert!(matches!(model.overlay, Overlay::None));

    assert!(ctrl_c(&mut model).is_empty(), "Ctrl-C asks too");
    assert!(matches!(model.overlay, Overlay::Quit(_)));
    press(&mut model, KeyCode::Esc);
    keys(&mut model, ":q");
    assert!(press(&mut model, KeyCode::Enter).is_empty(), ":q asks too");
    assert!(matches!(model.overlay, Overlay::Quit(_)));

    // Quit when it has ended: nothing yet; the result arrives; then the console quits.
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(model.quit_when_idle);
    let outcome = Ok(ScaleOutcome::Done { from: 4, to: 5, forced: false });
    let effects = update(
        &mut model,
        Msg::Worker(WorkerEvent::Scale(ScaleReport::Scaled { scale_set: "vmss-web".into(), outcome })),
    );
    assert!(effects.contains(&Effect::Quit), "quits once the result is in: {effects:?}");
}

#[test]
fn quit_now_quits_and_an_idle_console_quits_at_once() {
    let mut model = scaling();
    keys(&mut model, "q");
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    assert_eq!(press(&mut model, KeyCode::Enter), vec![Effect::Quit], "Quit now");

    let mut idle = fixtures::model();
    assert_eq!(keys(&mut idle, "q"), vec![Effect::Quit]);
}

#[test]
fn approved_changes_and_node_jobs_in_flight_also_ask() {
    let mut model = fixtures::model();
    model.progress.insert("delete-target:Machines-3".into(), crate::tui::app::Progress::Running);
    assert!(keys(&mut model, "q").is_empty());
    assert!(matches!(model.overlay, Overlay::Quit(_)));

    let mut model = super::nodes::three_nodes();
    model.jobs.jobs.insert(
        "OctopusServerNodes-1".into(),
        crate::tui::node_state::JobView::new(
            "OctopusServerNodes-1",
            "OCTO-NODE-1",
            crate::tui::messages::JobKind::Drain,
        ),
    );
    assert!(keys(&mut model, "q").is_empty());
    let Overlay::Quit(dialog) = &model.overlay else { panic!("asks") };
    assert!(dialog.running.iter().any(|r| r.contains("drain of OCTO-NODE-1")), "{:?}", dialog.running);
}
