//! Every text field of the console is the one `TextField`: the same editing keys (cursor,
//! Home/End, Ctrl-U, Ctrl-W) and bracketed paste in each dialog and prompt, opened the way an
//! operator opens it. A paste is never read as keys.

use super::{keys, press};
use crate::tui::app::{ConsoleState, Overlay, PaneId};
use crate::tui::fixtures;
use crate::tui::text_field::TextField;
use crate::tui::update::{update, Effect, Msg};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn ctrl(model: &mut ConsoleState, c: char) -> Vec<Effect> {
    update(model, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

fn paste(model: &mut ConsoleState, text: &str) -> Vec<Effect> {
    update(model, Msg::Paste(text.into()))
}

/// One field: how an operator reaches it with the focus in it, and where it is read.
struct Field {
    name: &'static str,
    open: fn() -> ConsoleState,
    read: fn(&ConsoleState) -> Option<&TextField>,
}

/// The fixture's diffs with confirm_over 0: approving its delete needs the typed name.
fn large_approval() -> ConsoleState {
    let mut model = fixtures::model();
    model.confirm_over = 0;
    model
}

fn with_keys(mut model: ConsoleState, pane: PaneId, typed: &str, tabs: usize) -> ConsoleState {
    model.pane = pane;
    keys(&mut model, typed);
    for _ in 0..tabs {
        press(&mut model, KeyCode::Tab);
    }
    model
}

const TEXT_FIELDS: [Field; 6] = [
    Field {
        name: "approve: the typed name",
        open: || with_keys(large_approval(), PaneId::Diffs, "aA", 0),
        read: |m| match &m.overlay {
            Overlay::Approve(dialog) => dialog.form.fields.first().map(|f| &f.input),
            _ => None,
        },
    },
    Field {
        name: "protect: the reason",
        open: || with_keys(fixtures::model_with_instances(3), PaneId::Instances, "p", 0),
        read: |m| match &m.overlay {
            Overlay::Protect(dialog) => dialog.form.fields.first().map(|f| &f.input),
            _ => None,
        },
    },
    Field {
        name: "scale: the reason",
        open: || with_keys(fixtures::model_with_instances(3), PaneId::Instances, "S", 1),
        read: |m| match &m.overlay {
            Overlay::Scale(dialog) => {
                dialog.form.fields.get(crate::tui::dialogs::scale::REASON).map(|f| &f.input)
            }
            _ => None,
        },
    },
    Field {
        name: "delete node: the typed name",
        open: || with_keys(super::nodes::three_nodes(), PaneId::Nodes, "GD", 0),
        read: |m| match &m.overlay {
            Overlay::Node(dialog) => dialog.form.fields.first().map(|f| &f.input),
            _ => None,
        },
    },
    Field {
        name: "the : command line",
        open: || with_keys(fixtures::model(), PaneId::Instances, ":", 0),
        read: |m| match &m.overlay {
            Overlay::Command(line) => Some(&line.field),
            _ => None,
        },
    },
    Field {
        name: "the / filter",
        open: || with_keys(fixtures::model(), PaneId::Targets, "/", 0),
        read: |m| match &m.overlay {
            Overlay::Filter(field) => Some(field),
            _ => None,
        },
    },
];

fn value<'a>(field: &Field, model: &'a ConsoleState) -> &'a str {
    (field.read)(model)
        .unwrap_or_else(|| panic!("{}: still open, not {:?}", field.name, model.overlay))
        .value()
}

#[test]
fn every_text_field_moves_its_cursor_and_edits_at_it() {
    for field in TEXT_FIELDS {
        let mut model = (field.open)();
        assert_eq!(value(&field, &model), "", "{}: opens empty", field.name);
        keys(&mut model, "bc");
        press(&mut model, KeyCode::Home);
        keys(&mut model, "a");
        press(&mut model, KeyCode::End);
        keys(&mut model, "d");
        assert_eq!(value(&field, &model), "abcd", "{}: Home/End", field.name);
        press(&mut model, KeyCode::Left);
        press(&mut model, KeyCode::Backspace);
        assert_eq!(value(&field, &model), "abd", "{}: ← then Backspace", field.name);
        press(&mut model, KeyCode::Right);
        keys(&mut model, " ef");
        assert!(ctrl(&mut model, 'w').is_empty());
        assert_eq!(value(&field, &model), "abd ", "{}: Ctrl-W deletes the word", field.name);
        assert!(ctrl(&mut model, 'u').is_empty());
        assert_eq!(value(&field, &model), "", "{}: Ctrl-U clears", field.name);
    }
}

#[test]
fn every_text_field_takes_a_paste_at_its_cursor_and_a_line_break_presses_nothing() {
    for field in TEXT_FIELDS {
        let mut model = (field.open)();
        keys(&mut model, "ad");
        press(&mut model, KeyCode::Left);
        assert!(paste(&mut model, "b\nc").is_empty(), "{}: a paste sends nothing", field.name);
        assert_eq!(value(&field, &model), "ab cd", "{}: pasted at the cursor", field.name);
    }
}

#[test]
fn the_filter_applies_as_it_is_edited_and_pasted() {
    let mut model = (TEXT_FIELDS[5].open)();
    keys(&mut model, "web2");
    assert_eq!(model.table(PaneId::Targets).filter.text, "web2");
    ctrl(&mut model, 'u');
    assert_eq!(model.table(PaneId::Targets).filter.text, "", "Ctrl-U clears the filter too");
    paste(&mut model, "vmss");
    assert_eq!(model.table(PaneId::Targets).filter.text, "vmss");
}

#[test]
fn digit_fields_take_digits_only() {
    // The node dialog's task cap: a field with the focus.
    let mut model = with_keys(super::nodes::three_nodes(), PaneId::Nodes, "c", 0);
    let cap = |m: &ConsoleState| match &m.overlay {
        Overlay::Node(dialog) => dialog.typed().to_string(),
        other => panic!("the task cap dialog: {other:?}"),
    };
    keys(&mut model, "1x2");
    press(&mut model, KeyCode::Home);
    keys(&mut model, "3");
    assert_eq!(cap(&model), "312");
    ctrl(&mut model, 'u');
    paste(&mut model, "4\n5 tasks");
    assert_eq!(cap(&model), "45");

    // The scale dialog's capacity: the field it opens on; `+`/`-` step it; digits typed on a
    // button go into it.
    let mut model = with_keys(fixtures::model_with_instances(3), PaneId::Instances, "S", 0);
    let capacity = |m: &ConsoleState| match &m.overlay {
        Overlay::Scale(dialog) => (dialog.form.field(0).value().to_string(), dialog.form.focus),
        other => panic!("the scale dialog: {other:?}"),
    };
    use crate::tui::dialogs::form::Slot;
    keys(&mut model, "12");
    press(&mut model, KeyCode::Tab);
    assert_eq!(capacity(&model), ("12".into(), Slot::Field(1)), "Tab moves on to the reason");
    keys(&mut model, "+");
    assert_eq!(capacity(&model), ("12".into(), Slot::Field(1)), "in the reason `+` is text");
    press(&mut model, KeyCode::BackTab);
    keys(&mut model, "+");
    assert_eq!(capacity(&model), ("13".into(), Slot::Field(0)));
    ctrl(&mut model, 'u');
    paste(&mut model, "5\n");
    assert_eq!(capacity(&model), ("5".into(), Slot::Field(0)));
    press(&mut model, KeyCode::BackTab);
    keys(&mut model, "7");
    assert_eq!(capacity(&model), ("57".into(), Slot::Field(0)), "a digit typed on Cancel goes in");
}

#[test]
fn a_paste_outside_a_field_is_never_read_as_keys() {
    let mut model = fixtures::model();
    model.pane = PaneId::Diffs;
    assert!(paste(&mut model, "aA").is_empty());
    assert!(matches!(model.overlay, Overlay::None), "no selection, no approval dialog");
    assert!(model.selected.is_empty());
    assert!(model.notice.as_ref().is_some_and(|n| n.text.contains("paste ignored")));

    // In a dialog whose focus is on a button, a paste is dropped too.
    keys(&mut model, "aA");
    paste(&mut model, "vmss-web");
    let Overlay::Approve(dialog) = &model.overlay else { panic!("the approval dialog") };
    assert!(dialog.form.fields.is_empty() && dialog.form.error.is_none(), "nothing went anywhere");
}

#[test]
fn a_pasted_name_with_a_line_break_confirms_only_through_the_button() {
    let mut model = with_keys(large_approval(), PaneId::Diffs, "aA", 0);
    assert!(paste(&mut model, "vmss-web\n").is_empty(), "the line break is not Enter");
    assert!(matches!(model.overlay, Overlay::Approve(_)));
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Execute { .. }]), "{effects:?}");
}

#[test]
fn while_a_field_is_edited_no_button_is_marked_as_focused() {
    for field in [&TEXT_FIELDS[0], &TEXT_FIELDS[1], &TEXT_FIELDS[2], &TEXT_FIELDS[3]] {
        let model = (field.open)();
        let screen = super::screen(&super::draw(&model, 120, 40));
        assert!(
            !screen.contains('▶'),
            "{}: the focus is in the field, not on a button:\n{screen}",
            field.name
        );
    }
}
