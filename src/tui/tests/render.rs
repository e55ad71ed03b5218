use super::{draw, keys, press, screen};
use crate::tui::app::PaneId;
use crate::tui::fixtures;
use crate::tui::theme::Theme;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};

fn pane_model(pane: PaneId) -> crate::tui::app::ConsoleState {
    let mut model = fixtures::model();
    model.pane = pane;
    model
}

#[test]
fn instances_pane() {
    insta::assert_snapshot!(screen(&draw(&pane_model(PaneId::Instances), 120, 20)));
}

#[test]
fn targets_pane() {
    insta::assert_snapshot!(screen(&draw(&pane_model(PaneId::Targets), 120, 20)));
}

#[test]
fn nodes_pane() {
    insta::assert_snapshot!(screen(&draw(&pane_model(PaneId::Nodes), 120, 20)));
}

#[test]
fn diffs_pane_with_a_selection() {
    let mut model = pane_model(PaneId::Diffs);
    press(&mut model, KeyCode::Down);
    keys(&mut model, " ");
    insta::assert_snapshot!(screen(&draw(&model, 120, 20)));
}

#[test]
fn help_overlay_lists_the_key_table() {
    let mut model = pane_model(PaneId::Diffs);
    keys(&mut model, "?");
    let terminal = draw(&model, 120, 40);
    let text = screen(&terminal);
    for binding in crate::tui::keymap::visible(&model.key_context()) {
        assert!(text.contains(binding.help), "help lacks `{}`", binding.help);
    }
    insta::assert_snapshot!(text);
}

#[test]
fn approval_dialog_for_a_delete_and_a_deploy() {
    let mut model = pane_model(PaneId::Diffs);
    keys(&mut model, "aA");
    let terminal = draw(&model, 120, 30);
    insta::assert_snapshot!(screen(&terminal));
}

#[test]
fn failed_refresh_shows_age_and_error_over_the_last_rows() {
    let model = fixtures::model_with_failed_refresh(95);
    let text = screen(&draw(&model, 120, 20));
    assert!(text.contains("STALE"), "{text}");
    assert!(text.contains("last good read 95s ago"), "{text}");
    assert!(text.contains("HTTP 503 Service"), "{text}");
    assert!(text.contains("vmss-web-3"), "the last good rows stay: {text}");
    insta::assert_snapshot!(text);
}

#[test]
fn small_terminal_80x24() {
    let mut model = pane_model(PaneId::Diffs);
    model.size = (80, 24);
    insta::assert_snapshot!(screen(&draw(&model, 80, 24)));
}

/// Issue 16 with issue 15's column priorities: at 80 columns a Flexible VM's 8-hex id is never cut
/// (the Uniform ids keep their narrow column), the computer name and target stay.
#[test]
fn flexible_ids_stay_whole_at_80_columns() {
    let mut model = fixtures::model_with_flexible();
    model.pane = PaneId::Instances;
    model.size = (80, 24);
    let text = screen(&draw(&model, 80, 24));
    for id in ["0a1b2c3d", "4e5f6a7b", "8c9d0e1f"] {
        assert!(text.contains(&format!("│{id} ")), "{id} whole in the ID column: {text}");
    }
    assert!(text.contains("flexweb0a1b2c") && text.contains("unknown"), "{text}");
    assert!(text.contains("TARGET"), "issue 15's TARGET column stays: {text}");
    insta::assert_snapshot!(text);
}

fn cell_with<'a>(
    terminal: &'a ratatui::Terminal<ratatui::backend::TestBackend>,
    text: &str,
) -> &'a ratatui::buffer::Cell {
    let buffer = terminal.backend().buffer();
    let area = buffer.area;
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        if let Some(start) = line.find(text) {
            let x = line[..start].chars().count() as u16;
            return &buffer[(x, y)];
        }
    }
    panic!("`{text}` is not on screen");
}

#[test]
fn states_are_coloured() {
    let terminal = draw(&pane_model(PaneId::Targets), 120, 20);
    assert_eq!(cell_with(&terminal, "Healthy").fg, Color::Green);
    assert_eq!(cell_with(&terminal, "HasWarnings").fg, Color::Yellow);
    assert_eq!(cell_with(&terminal, "Unavailable").fg, Color::Red);
    let terminal = draw(&pane_model(PaneId::Instances), 120, 20);
    assert_eq!(cell_with(&terminal, "Creating").fg, Color::Cyan);
    assert_eq!(cell_with(&terminal, "stopped").fg, Color::Yellow);
}

#[test]
fn mono_theme_writes_every_state_as_text_without_colour() {
    for pane in PaneId::ALL {
        let mut model = pane_model(pane);
        model.theme = Theme::MONO;
        let terminal = draw(&model, 120, 20);
        for cell in terminal.backend().buffer().content() {
            assert_eq!(cell.fg, Color::Reset, "{pane:?}: coloured cell `{}`", cell.symbol());
            assert_eq!(cell.bg, Color::Reset, "{pane:?}: coloured cell `{}`", cell.symbol());
        }
        let text = screen(&terminal);
        let states: &[&str] = match pane {
            PaneId::Instances => &["Succeeded", "Creating", "running", "stopped", "OLD", "protected"],
            PaneId::Targets => &["Healthy", "HasWarnings", "Unavailable", "disabled"],
            PaneId::Nodes => &["online", "OFFLINE", "draining"],
            PaneId::Diffs => &["wait", "delete-target", "deploy", "note", "proposed"],
            PaneId::Journal => &[],
        };
        for state in states {
            assert!(text.contains(state), "{pane:?} lacks the state `{state}` as text:\n{text}");
        }
    }
    let mut model = pane_model(PaneId::Instances);
    model.theme = Theme::MONO;
    let terminal = draw(&model, 120, 20);
    assert!(
        cell_with(&terminal, "0     vmss-web-0").modifier.contains(Modifier::REVERSED),
        "cursor is reversed"
    );
}

#[test]
fn read_only_footer_hides_mutating_keys_and_shows_the_badge() {
    let mut model = pane_model(PaneId::Diffs);
    model.read_only = true;
    let text = screen(&draw(&model, 160, 20));
    assert!(text.contains("READ-ONLY"), "{text}");
    assert!(!text.contains("approve"), "{text}");
    model.read_only = false;
    assert!(screen(&draw(&model, 160, 20)).contains("approve"));
}
