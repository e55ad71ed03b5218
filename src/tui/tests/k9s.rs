//! What a k9s user expects (issue 15): the command line, Esc backing out, the journal pane,
//! columns that connect the panes, reversing the sort, half pages, regex and inverse filters,
//! and the pulse line.

use super::{draw, keys, press, screen};
use crate::journal::{JournalAction, Outcome, Record, RecordKind};
use crate::reconcile::testkit::at;
use crate::tui::app::{ConsoleState, Overlay, PaneId};
use crate::tui::fixtures;
use crate::tui::messages::WorkerEvent;
use crate::tui::update::{update, Msg};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn ctrl(model: &mut ConsoleState, c: char) {
    update(model, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
}

fn record(kind: RecordKind, id: uuid::Uuid, secs: i64, outcome: Option<Outcome>) -> Record {
    Record {
        time: at(secs),
        kind,
        intent_id: id,
        profile: "prod".into(),
        operator: "alice".into(),
        reason: "night shift".into(),
        action: JournalAction::Scale {
            scale_set: crate::reconcile::testkit::set_key("vmss-web"),
            from: Some(4),
            to: 2,
        },
        outcome,
        note: None,
    }
}

#[test]
fn command_aliases_switch_panes_and_tab_completes() {
    let mut model = fixtures::model();
    keys(&mut model, ":no");
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Enter);
    assert_eq!(model.pane, PaneId::Nodes);
    keys(&mut model, ":journal");
    press(&mut model, KeyCode::Enter);
    assert_eq!(model.pane, PaneId::Journal);
    keys(&mut model, ":");
    press(&mut model, KeyCode::Up);
    let Overlay::Command(line) = &model.overlay else { panic!("command line") };
    assert_eq!(line.field.value(), "journal", "the last command comes back");
}

#[test]
fn esc_backs_out_one_level_at_a_time() {
    let mut model = fixtures::model();
    model.pane = PaneId::Diffs;
    keys(&mut model, "a/del");
    press(&mut model, KeyCode::Enter);
    assert!(!model.selected.is_empty() && !model.table(PaneId::Diffs).filter.is_empty());
    press(&mut model, KeyCode::Esc);
    assert!(model.table(PaneId::Diffs).filter.is_empty(), "the filter goes first");
    assert!(!model.selected.is_empty());
    press(&mut model, KeyCode::Esc);
    assert!(model.selected.is_empty(), "then the selection");
    keys(&mut model, "?");
    press(&mut model, KeyCode::Esc);
    assert!(matches!(model.overlay, Overlay::None), "a dialog closes on Esc");
}

#[test]
fn the_journal_pane_lists_newest_first_with_who_what_result_why() {
    let mut model = fixtures::model();
    let (old, new) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let records = vec![
        record(RecordKind::Intent, old, -600, None),
        record(RecordKind::Result, old, -590, Some(Outcome::Done)),
        record(RecordKind::Intent, new, -60, None),
    ];
    update(&mut model, Msg::Worker(WorkerEvent::Journal(Ok(records))));
    keys(&mut model, "5");
    let text = screen(&draw(&model, 160, 30));
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("alice")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[0].contains("60s ago") && rows[0].contains("no result"), "newest first: {text}");
    assert!(
        rows[1].contains("10m ago") && rows[1].contains("done") && rows[1].contains("night shift"),
        "{text}"
    );
    assert!(rows[1].contains("scale rg/vmss-web 4→2"), "{text}");
    press(&mut model, KeyCode::Enter);
    let Overlay::Details { lines, .. } = &model.overlay else { panic!("the record") };
    assert!(lines.iter().any(|l| l.contains("Intent record")), "{lines:?}");
    press(&mut model, KeyCode::Esc);
    keys(&mut model, "/!no result");
    press(&mut model, KeyCode::Enter);
    assert_eq!(model.table(PaneId::Journal).view.len(), 1, "the inverse filter leaves the finished one");
}

#[test]
fn targets_show_their_vm_and_instances_their_target() {
    let mut model = fixtures::model();
    let instances = screen(&draw(&model, 160, 30));
    assert!(instances.contains("TARGET"), "{instances}");
    keys(&mut model, "2");
    let targets = screen(&draw(&model, 160, 30));
    let gone = targets.lines().find(|l| l.contains("vmss-web-9")).expect("the orphaned target");
    assert!(gone.contains("no VM"), "{gone}");
    let matched = targets.lines().find(|l| l.contains("Machines-1 ")).expect("a matched target");
    assert!(matched.contains("vmss-web/0"), "{matched}");
}

#[test]
fn sort_reverses_half_pages_move_and_filters_take_regexes() {
    let mut model = fixtures::model_with_instances(60);
    model.size = (120, 40);
    keys(&mut model, "s");
    let first = model.table(PaneId::Instances).view[0];
    keys(&mut model, "o");
    assert_ne!(model.table(PaneId::Instances).view[0], first, "o reverses");
    assert!(screen(&draw(&model, 120, 40)).contains("sort: ID ↓"));
    keys(&mut model, "g");
    ctrl(&mut model, 'd');
    let half = model.table(PaneId::Instances).cursor;
    assert!(half > 5 && half < 30, "half a page: {half}");
    ctrl(&mut model, 'u');
    assert_eq!(model.table(PaneId::Instances).cursor, 0);
    keys(&mut model, "/^(1|2) ");
    press(&mut model, KeyCode::Enter);
    assert_eq!(model.table(PaneId::Instances).view.len(), 2, "a regular expression");
}

#[test]
fn the_pulse_says_when_the_capacity_fell() {
    let mut model = fixtures::model();
    for capacity in [8, 8, 1] {
        model.samples.push_back(crate::tui::app::CapacitySample { capacity, running: capacity });
    }
    let text = screen(&draw(&model, 160, 30));
    let top = text.lines().next().unwrap_or_default();
    assert!(top.contains("capacity fell 8→1"), "{top}");
}
