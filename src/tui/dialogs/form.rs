//! The one focus model every confirmation dialog uses (approve, scale, protect, the node dialogs,
//! quit): text fields, tick boxes, and buttons, the first of which cancels.
//!
//! - Focus is drawn where it is, always: a button is marked only while it has the focus, a field
//!   only while it has it.
//! - A dialog with a field opens on its first field, so what the operator types right away goes
//!   in; one without opens on Cancel. Enter never confirms from a field (it moves on), and a
//!   typed confirmation that does not match puts the focus back on its field with the error.
//! - Typed text never vanishes: a character typed while a button has the focus goes into the
//!   first field that takes it, or the dialog says why it went nowhere.

use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// One text field of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: String,
    pub input: TextField,
    /// The word a typed confirmation needs (the scale set's or node's name).
    pub must_type: Option<String>,
}

impl Field {
    pub fn new(label: &str, input: TextField) -> Field {
        Field { label: label.to_string(), input, must_type: None }
    }

    pub fn confirm(word: &str) -> Field {
        Field { label: "name".into(), input: TextField::text(), must_type: Some(word.to_string()) }
    }

    fn unmatched(&self) -> Option<&str> {
        let word = self.must_type.as_deref()?;
        (self.input.value().trim() != word).then_some(word)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Field(usize),
    Toggle(usize),
    Button(usize),
}

/// What a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Stay,
    /// Field `n`'s text changed.
    Edited(usize),
    Toggled,
    Cancel,
    /// A button other than the first was pressed (every typed confirmation matched).
    Press(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub fields: Vec<Field>,
    /// Tick boxes (force, Enabled), each with its label.
    pub toggles: Vec<(String, bool)>,
    /// The first cancels.
    pub buttons: Vec<String>,
    /// Buttons one per line (a question with several answers).
    pub stacked: bool,
    pub focus: Slot,
    pub error: Option<String>,
}

impl Form {
    /// Cancel and `confirm`, no fields yet.
    pub fn confirm(confirm: &str) -> Form {
        Form {
            fields: Vec::new(),
            toggles: Vec::new(),
            buttons: vec!["Cancel".into(), confirm.into()],
            stacked: false,
            focus: Slot::Button(0),
            error: None,
        }
    }

    pub fn with_field(mut self, field: Field) -> Form {
        self.fields.push(field);
        self.focus = Slot::Field(0);
        self
    }

    pub fn with_toggle(mut self, label: &str) -> Form {
        self.toggles.push((label.to_string(), false));
        self
    }

    pub fn with_buttons(mut self, buttons: Vec<String>, stacked: bool) -> Form {
        self.buttons = buttons;
        self.stacked = stacked;
        self
    }

    pub fn field(&self, index: usize) -> &TextField {
        &self.fields[index].input
    }

    /// Is tick box `index` there and ticked?
    pub fn toggled(&self, index: usize) -> bool {
        self.toggles.get(index).is_some_and(|(_, on)| *on)
    }

    /// Tab order: Cancel, the fields, the tick boxes, the other buttons.
    fn order(&self) -> Vec<Slot> {
        let mut order = vec![Slot::Button(0)];
        order.extend((0..self.fields.len()).map(Slot::Field));
        order.extend((0..self.toggles.len()).map(Slot::Toggle));
        order.extend((1..self.buttons.len()).map(Slot::Button));
        order
    }

    pub fn move_focus(&mut self, forward: bool) {
        self.focus = super::cycle(&self.order(), self.focus, forward);
    }

    /// Show `error` and put the focus on `slot` (the field to fix, say).
    pub fn fail(&mut self, error: impl Into<String>, slot: Slot) {
        self.error = Some(error.into());
        self.focus = slot;
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Event {
        if let Slot::Field(index) = self.focus {
            if let Some(changed) = self.fields[index].input.on_key(key) {
                if changed {
                    self.error = None;
                    return Event::Edited(index);
                }
                return Event::Stay;
            }
        }
        let in_field = matches!(self.focus, Slot::Field(_));
        match key.code {
            KeyCode::Esc => return Event::Cancel,
            KeyCode::Tab | KeyCode::Down => self.move_focus(true),
            KeyCode::BackTab | KeyCode::Up => self.move_focus(false),
            KeyCode::Left | KeyCode::Right if !in_field => self.move_focus(key.code == KeyCode::Right),
            KeyCode::Char(' ') if matches!(self.focus, Slot::Toggle(_)) => return self.flip(),
            KeyCode::Enter => return self.press(),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                return self.type_char(key, c)
            }
            _ => {}
        }
        Event::Stay
    }

    /// A character typed with a button focused: into the first field that takes it.
    fn type_char(&mut self, key: &KeyEvent, c: char) -> Event {
        match self.fields.iter().position(|f| f.input.takes(c)) {
            Some(index) => {
                self.focus = Slot::Field(index);
                self.fields[index].input.on_key(key);
                self.error = None;
                Event::Edited(index)
            }
            None => {
                self.error = Some(format!("`{c}` goes nowhere here: Tab moves, Enter presses, Esc cancels"));
                Event::Stay
            }
        }
    }

    fn flip(&mut self) -> Event {
        if let Slot::Toggle(index) = self.focus {
            if let Some((_, on)) = self.toggles.get_mut(index) {
                *on = !*on;
            }
        }
        self.error = None;
        Event::Toggled
    }

    fn press(&mut self) -> Event {
        match self.focus {
            Slot::Button(0) => Event::Cancel,
            // Enter in a field moves on (past Cancel); it never confirms by itself.
            Slot::Field(_) => {
                self.move_focus(true);
                Event::Stay
            }
            Slot::Toggle(_) => self.flip(),
            Slot::Button(index) => {
                if let Some((at, word)) = self
                    .fields
                    .iter()
                    .enumerate()
                    .find_map(|(i, f)| f.unmatched().map(|w| (i, w.to_string())))
                {
                    self.fail(format!("type `{word}` to confirm"), Slot::Field(at));
                    return Event::Stay;
                }
                Event::Press(index)
            }
        }
    }

    /// A paste goes into the focused field; elsewhere it is ignored. True if anything went in.
    pub fn paste(&mut self, text: &str) -> Option<usize> {
        let Slot::Field(index) = self.focus else { return None };
        if self.fields[index].input.paste(text) {
            self.error = None;
            return Some(index);
        }
        None
    }

    /// The fields, the tick box, the error, the buttons and the keys that work.
    pub fn lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let focused = |slot: Slot| if self.focus == slot { theme.focused_button() } else { Style::default() };
        let mut lines = Vec::new();
        for (index, field) in self.fields.iter().enumerate() {
            let slot = Slot::Field(index);
            let mut spans = vec![Span::raw(format!("  {}: ", field.label))];
            spans.extend(field.input.spans(self.focus == slot, focused(slot)));
            lines.push(Line::from(spans));
        }
        for (index, (label, on)) in self.toggles.iter().enumerate() {
            let mark = if *on { "[x]" } else { "[ ]" };
            lines.push(Line::from(Span::styled(format!("  {mark} {label}"), focused(Slot::Toggle(index)))));
        }
        if let Some(error) = &self.error {
            lines.push(Line::from(Span::styled(error.clone(), theme.tone(Tone::Bad))));
        }
        let button = |index: usize| {
            let text = format!("[ {} ]", self.buttons[index]);
            if self.focus == Slot::Button(index) {
                Span::styled(format!("▶{text}"), theme.focused_button())
            } else {
                Span::raw(format!(" {text}"))
            }
        };
        if self.stacked {
            lines.extend((0..self.buttons.len()).map(|i| Line::from(button(i))));
        } else {
            let mut row = Vec::new();
            for index in 0..self.buttons.len() {
                if index > 0 {
                    row.push(Span::raw("   "));
                }
                row.push(button(index));
            }
            lines.push(Line::from(row));
        }
        let toggle = if self.toggles.is_empty() { "" } else { ", Space ticks" };
        lines.push(Line::from(Span::styled(
            format!("Tab moves, Enter presses{toggle}, Esc cancels"),
            theme.tone(Tone::Muted),
        )));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(form: &mut Form, text: &str) {
        for c in text.chars() {
            form.on_key(&key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn a_typed_confirmation_opens_on_its_field_and_enter_never_confirms_a_wrong_name() {
        let mut form = Form::confirm("Approve").with_field(Field::confirm("vmss-web"));
        assert_eq!(form.focus, Slot::Field(0), "typing right away goes in");
        assert_eq!(form.on_key(&key(KeyCode::Enter)), Event::Stay, "Enter in the field moves on");
        assert_eq!(form.focus, Slot::Button(1));
        assert_eq!(form.on_key(&key(KeyCode::Enter)), Event::Stay, "an empty name never approves");
        assert_eq!(form.focus, Slot::Field(0), "back to the field");
        assert!(form.error.as_deref().unwrap_or("").contains("vmss-web"));
        typed(&mut form, "vmss-wob");
        form.on_key(&key(KeyCode::Enter));
        assert_eq!(form.on_key(&key(KeyCode::Enter)), Event::Stay);
        assert_eq!(form.focus, Slot::Field(0));
        form.on_key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        typed(&mut form, "vmss-web");
        form.on_key(&key(KeyCode::Enter));
        assert_eq!(form.on_key(&key(KeyCode::Enter)), Event::Press(1));
    }

    #[test]
    fn typing_on_a_button_goes_into_the_field_and_without_one_says_why() {
        let mut form = Form::confirm("Approve").with_field(Field::confirm("web"));
        form.focus = Slot::Button(0);
        typed(&mut form, "we");
        assert_eq!((form.focus, form.field(0).value()), (Slot::Field(0), "we"));
        let mut plain = Form::confirm("Drain");
        typed(&mut plain, "y");
        assert!(plain.error.as_deref().unwrap_or("").contains("goes nowhere"));
        assert_eq!(plain.on_key(&key(KeyCode::Enter)), Event::Cancel, "still on Cancel");
    }

    #[test]
    fn only_the_focused_button_is_marked() {
        let form = Form::confirm("Approve").with_field(Field::confirm("web"));
        let text: String = form.lines(Theme::MONO).iter().map(|l| l.to_string()).collect();
        assert!(!text.contains('▶'), "a field has the focus: {text}");
    }
}
