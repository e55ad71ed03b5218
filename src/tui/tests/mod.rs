//! Console tests: rendering (TestBackend + insta snapshots, cell styles) and `update` behaviour.
//! Fixtures use fixed times, so rendered ages ("12s ago") are stable without scrubbing.

mod autoscale;
mod behaviour;
mod k9s;
mod nodes;
mod quit;
mod render;
mod scaling;
mod text_fields;
mod trust;

use super::app::ConsoleState;
use super::update::{update, Effect, Msg};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

pub fn draw(model: &ConsoleState, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| super::view::view(frame, model)).expect("draw");
    terminal
}

pub fn press(model: &mut ConsoleState, code: KeyCode) -> Vec<Effect> {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    update(model, Msg::Key(KeyEvent::new(code, modifiers)))
}

pub fn keys(model: &mut ConsoleState, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| press(model, KeyCode::Char(c))).collect()
}

/// The screen as text, one line per row.
pub fn screen(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}
