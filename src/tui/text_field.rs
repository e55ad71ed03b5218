//! The one text field every dialog and prompt uses (approve's typed name, scale's capacity and
//! reason, protect's reason, the node dialogs' task cap and typed name, the `:` command line, the
//! `/` filter). Editing is `tui-input`'s: ←/→ (Ctrl-←/→ by word), Home/End (Ctrl-A/E), Backspace,
//! Delete, Ctrl-U clears, Ctrl-W deletes a word, Ctrl-K to the end; a paste is inserted as text.
//!
//! A field only edits: Enter, Esc, Tab and ↑/↓ are never its keys, so a dialog keeps them (Enter in
//! a field never confirms anything by itself). Pasted line breaks become spaces, so a pasted
//! "name\n" cannot press Enter.

use ratatui::crossterm::event::{Event, KeyEvent};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

/// What a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accepts {
    #[default]
    Text,
    /// ASCII digits only, at most this many (capacities, task caps).
    Digits(usize),
}

#[derive(Debug, Clone, Default)]
pub struct TextField {
    input: Input,
    accepts: Accepts,
}

impl PartialEq for TextField {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value() && self.cursor() == other.cursor() && self.accepts == other.accepts
    }
}

impl Eq for TextField {}

impl TextField {
    pub fn text() -> Self {
        Self::default()
    }

    pub fn digits(most: usize) -> Self {
        Self { input: Input::default(), accepts: Accepts::Digits(most) }
    }

    /// The same field holding `value` as it is (set by the program, not typed: a `:scale 12345`
    /// shows all five digits), the cursor at its end.
    pub fn with_value(mut self, value: &str) -> Self {
        self.input = Input::new(value.to_string());
        self
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Characters before the cursor.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    pub fn is_empty(&self) -> bool {
        self.value().is_empty()
    }

    pub fn clear(&mut self) {
        self.input.reset();
    }

    /// Apply `key` if it is an editing key for this field. None: not the field's key (the dialog
    /// handles it: Enter, Esc, Tab, ↑/↓, and characters a digits field refuses, like `+`);
    /// Some(changed): the field took it, and whether its text changed.
    pub fn on_key(&mut self, key: &KeyEvent) -> Option<bool> {
        let request = to_input_request(&Event::Key(*key))?;
        if let InputRequest::InsertChar(c) = request {
            if !self.takes(c) {
                return None;
            }
        }
        Some(self.input.handle(request).is_some_and(|changed| changed.value))
    }

    /// For a field the dialog edits without giving it the focus (the scale dialog's capacity):
    /// typing and deleting at its end only, so the arrows and Home/End stay the dialog's.
    pub fn on_key_at_end(&mut self, key: &KeyEvent) -> Option<bool> {
        let request = to_input_request(&Event::Key(*key))?;
        match request {
            InputRequest::InsertChar(_)
            | InputRequest::DeletePrevChar
            | InputRequest::DeletePrevWord
            | InputRequest::DeleteLine => self.on_key(key),
            _ => None,
        }
    }

    /// Insert pasted text at the cursor: line breaks and tabs become spaces, other control
    /// characters and anything the field does not accept are left out. True if anything went in.
    pub fn paste(&mut self, text: &str) -> bool {
        let mut changed = false;
        for c in text.chars() {
            let c = if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c };
            if !c.is_control() && self.takes(c) {
                changed |= self.input.handle(InputRequest::InsertChar(c)).is_some();
            }
        }
        changed
    }

    /// Whether the field takes `c` (a digits field takes digits while it has room).
    pub fn takes(&self, c: char) -> bool {
        match self.accepts {
            Accepts::Text => true,
            Accepts::Digits(most) => c.is_ascii_digit() && self.value().chars().count() < most,
        }
    }

    /// The field as spans: the text with a `_` at its end; when focused and the cursor is inside the
    /// text, the character under it is shown reversed instead.
    pub fn spans(&self, focused: bool, style: Style) -> Vec<Span<'static>> {
        let value = self.value();
        let at = self.cursor();
        if !focused || at >= value.chars().count() {
            return vec![Span::styled(format!("{value}_"), style)];
        }
        let before: String = value.chars().take(at).collect();
        let under: String = value.chars().skip(at).take(1).collect();
        let after: String = value.chars().skip(at + 1).collect();
        vec![
            Span::styled(before, style),
            Span::styled(under, style.add_modifier(Modifier::REVERSED)),
            Span::styled(after, style),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(field: &mut TextField, text: &str) {
        for c in text.chars() {
            field.on_key(&key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn the_cursor_moves_and_typing_inserts_at_it() {
        let mut field = TextField::text();
        typed(&mut field, "vmss-wb");
        field.on_key(&key(KeyCode::Left));
        typed(&mut field, "e");
        assert_eq!((field.value(), field.cursor()), ("vmss-web", 7));
        field.on_key(&key(KeyCode::Home));
        typed(&mut field, ">");
        assert_eq!(field.value(), ">vmss-web");
        field.on_key(&key(KeyCode::Delete));
        assert_eq!((field.value(), field.cursor()), (">mss-web", 1), "Delete takes the character after");
        field.on_key(&key(KeyCode::End));
        typed(&mut field, "!");
        assert_eq!(field.value(), ">mss-web!");
        field.on_key(&key(KeyCode::Backspace));
        assert_eq!((field.value(), field.cursor()), (">mss-web", 8));
    }

    #[test]
    fn ctrl_u_clears_and_ctrl_w_deletes_a_word() {
        let mut field = TextField::text();
        typed(&mut field, "hold the cache");
        assert_eq!(field.on_key(&ctrl('w')), Some(true));
        assert_eq!(field.value(), "hold the ");
        assert_eq!(field.on_key(&ctrl('u')), Some(true));
        assert!(field.is_empty());
        assert_eq!(field.on_key(&ctrl('u')), Some(false), "still the field's key, nothing to clear");
    }

    #[test]
    fn dialog_keys_are_never_the_fields() {
        let mut field = TextField::text();
        typed(&mut field, "x");
        for code in [KeyCode::Enter, KeyCode::Esc, KeyCode::Tab, KeyCode::BackTab, KeyCode::Up, KeyCode::Down]
        {
            assert_eq!(field.on_key(&key(code)), None, "{code:?}");
        }
        assert_eq!(field.on_key(&ctrl('c')), None, "Ctrl-C is not a character");
        assert_eq!(field.value(), "x");
    }

    #[test]
    fn a_paste_goes_in_at_the_cursor_without_line_breaks() {
        let mut field = TextField::text();
        typed(&mut field, "ab");
        field.on_key(&key(KeyCode::Left));
        assert!(field.paste("1\n2\r\n\u{1b}3"));
        assert_eq!(field.value(), "a1 2  3b");
        assert_eq!(field.cursor(), 7);
    }

    #[test]
    fn a_digits_field_takes_digits_up_to_its_length() {
        let mut field = TextField::digits(4);
        assert_eq!(field.on_key(&key(KeyCode::Char('+'))), None, "left to the dialog");
        assert_eq!(field.on_key(&key(KeyCode::Char('x'))), None);
        typed(&mut field, "12345");
        assert_eq!(field.value(), "1234");
        field.clear();
        field.paste(" 7 x8\n");
        assert_eq!(field.value(), "78");
        assert_eq!(TextField::digits(4).with_value("12345").value(), "12345", "set, not typed");
    }

    #[test]
    fn a_field_edited_at_its_end_leaves_the_arrows_to_the_dialog() {
        let mut field = TextField::digits(4).with_value("12");
        for code in [KeyCode::Left, KeyCode::Right, KeyCode::Home, KeyCode::End, KeyCode::Delete] {
            assert_eq!(field.on_key_at_end(&key(code)), None, "{code:?}");
        }
        assert_eq!(field.on_key_at_end(&key(KeyCode::Char('3'))), Some(true));
        assert_eq!(field.on_key_at_end(&key(KeyCode::Backspace)), Some(true));
        assert_eq!(field.on_key_at_end(&ctrl('u')), Some(true));
        assert!(field.is_empty());
    }

    #[test]
    fn the_cursor_is_drawn_where_it_is() {
        let mut field = TextField::text().with_value("web");
        let text =
            |spans: Vec<Span<'static>>| spans.iter().map(|s| s.content.to_string()).collect::<Vec<_>>();
        assert_eq!(text(field.spans(true, Style::default())), vec!["web_"]);
        field.on_key(&key(KeyCode::Home));
        let spans = field.spans(true, Style::default());
        assert_eq!(text(spans.clone()), vec!["", "w", "eb"]);
        assert!(spans[1].style.add_modifier.contains(Modifier::REVERSED));
        assert_eq!(text(field.spans(false, Style::default())), vec!["web_"], "unfocused: just the text");
    }
}
