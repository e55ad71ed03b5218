//! The approval dialog. It captures exactly what will run when it opens, so a refresh cannot
//! change it; it opens with focus on Cancel; a destructive or large approval needs the scale set's
//! name typed, so Enter alone never confirms it.

use super::centered;
use crate::model::PlannedAction;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Cancel,
    Input,
    Approve,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproveDialog {
    /// What will run, captured when the dialog opened.
    pub actions: Vec<PlannedAction>,
    /// Any delete, or more than `confirm_over` changes.
    pub needs_typed: bool,
    pub word: String,
    pub typed: TextField,
    pub focus: Focus,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Cancel,
    Confirm(Vec<PlannedAction>),
}

impl ApproveDialog {
    pub fn open(actions: Vec<PlannedAction>, confirm_over: u32, word: &str) -> Self {
        let destructive = actions.iter().any(|a| a.action.is_destructive());
        let large = actions.len() > confirm_over as usize;
        Self {
            actions,
            needs_typed: destructive || large,
            word: word.to_string(),
            typed: TextField::text(),
            focus: Focus::Cancel,
            error: None,
        }
    }

    fn order(&self) -> Vec<Focus> {
        if self.needs_typed {
            vec![Focus::Cancel, Focus::Input, Focus::Approve]
        } else {
            vec![Focus::Cancel, Focus::Approve]
        }
    }

    fn move_focus(&mut self, forward: bool) {
        self.focus = super::cycle(&self.order(), self.focus, forward);
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        if self.focus == Focus::Input {
            if let Some(changed) = self.typed.on_key(key) {
                if changed {
                    self.error = None;
                }
                return Outcome::Stay;
            }
        }
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Tab | KeyCode::Down => self.move_focus(true),
            KeyCode::BackTab | KeyCode::Up => self.move_focus(false),
            KeyCode::Left | KeyCode::Right if self.focus != Focus::Input => {
                self.move_focus(key.code == KeyCode::Right)
            }
            KeyCode::Enter => match self.focus {
                Focus::Cancel => return Outcome::Cancel,
                // Enter in the text box moves on; it never confirms by itself.
                Focus::Input => self.focus = Focus::Approve,
                Focus::Approve => {
                    if self.needs_typed && self.typed.value().trim() != self.word {
                        self.error = Some(format!("type `{}` to confirm", self.word));
                        self.focus = Focus::Input;
                    } else {
                        return Outcome::Confirm(self.actions.clone());
                    }
                }
            },
            _ => {}
        }
        Outcome::Stay
    }

    /// A paste goes into the name box when it has the focus; elsewhere it is ignored.
    pub fn paste(&mut self, text: &str) {
        if self.focus == Focus::Input && self.typed.paste(text) {
            self.error = None;
        }
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme, confirm_over: u32) {
        // List what fits (a long summary wraps onto more rows), the rest as "… and N more".
        let inner = usize::from(area.width.min(76).saturating_sub(2)).max(1);
        let budget = usize::from(area.height.saturating_sub(12)).max(1);
        let mut list_rows = 0;
        let mut listed = 0;
        for planned in &self.actions {
            let rows = super::wrapped_rows(&format!("  • {}", planned.action.summary()), inner);
            if listed > 0 && list_rows + rows > budget {
                break;
            }
            list_rows += rows;
            listed += 1;
        }
        let height = list_rows as u16 + if self.needs_typed { 11 } else { 8 };
        let rect = centered(area, 76, height);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(format!(" Approve {} change(s) ", self.actions.len()), theme.title()));
        let mut lines = vec![Line::from("These will run, in this order:")];
        for planned in self.actions.iter().take(listed) {
            let tone = if planned.action.is_destructive() { Tone::Bad } else { Tone::Good };
            lines.push(Line::from(vec![
                Span::raw("  • "),
                Span::styled(planned.action.summary(), theme.tone(tone)),
            ]));
        }
        if self.actions.len() > listed {
            lines.push(Line::from(format!("  … and {} more", self.actions.len() - listed)));
        }
        lines.push(Line::from(""));
        if self.needs_typed {
            let why = if self.actions.iter().any(|a| a.action.is_destructive()) {
                "it deletes".to_string()
            } else {
                format!("it is more than {confirm_over} changes")
            };
            lines.push(Line::from(Span::styled(
                format!("Destructive or large ({why}): type `{}` to confirm.", self.word),
                theme.tone(Tone::Warn),
            )));
            let input_style = if self.focus == Focus::Input {
                theme.focused_button()
            } else {
                ratatui::style::Style::default()
            };
            let mut name = vec![Span::raw("  name: ")];
            name.extend(self.typed.spans(self.focus == Focus::Input, input_style));
            lines.push(Line::from(name));
            lines.push(Line::from(""));
        }
        lines.extend(super::error_and_buttons(
            self.error.as_deref(),
            "Approve",
            match self.focus {
                Focus::Cancel => super::ButtonFocus::Cancel,
                Focus::Input => super::ButtonFocus::Field,
                Focus::Approve => super::ButtonFocus::Confirm,
            },
            theme,
        ));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::from(code)
    }

    fn delete_action() -> PlannedAction {
        fixtures::delete("Machines-9", "vmssweb000009")
    }

    #[test]
    fn opens_on_cancel_and_enter_cancels() {
        let mut dialog = ApproveDialog::open(vec![delete_action()], 3, "vmss-web");
        assert_eq!(dialog.focus, Focus::Cancel);
        assert_eq!(dialog.on_key(&key(KeyCode::Enter)), Outcome::Cancel);
    }

    #[test]
    fn a_delete_needs_the_typed_name_even_on_approve() {
        let mut dialog = ApproveDialog::open(vec![delete_action()], 3, "vmss-web");
        assert!(dialog.needs_typed);
        dialog.on_key(&key(KeyCode::Tab));
        dialog.on_key(&key(KeyCode::Tab));
        assert_eq!(dialog.focus, Focus::Approve);
        assert_eq!(dialog.on_key(&key(KeyCode::Enter)), Outcome::Stay);
        assert_eq!(dialog.focus, Focus::Input);
        for c in "vmss-web".chars() {
            dialog.on_key(&key(KeyCode::Char(c)));
        }
        assert_eq!(dialog.on_key(&key(KeyCode::Enter)), Outcome::Stay, "Enter in the box only moves on");
        assert_eq!(dialog.on_key(&key(KeyCode::Enter)), Outcome::Confirm(vec![delete_action()]));
    }

    #[test]
    fn more_than_confirm_over_changes_needs_the_name() {
        let deploys: Vec<_> = (0..3).map(|i| fixtures::deploy(&format!("Machines-{i}"))).collect();
        assert!(!ApproveDialog::open(deploys.clone(), 3, "vmss-web").needs_typed);
        assert!(ApproveDialog::open(deploys, 2, "vmss-web").needs_typed);
    }
}
