//! Confirm a scale-in protection change on one instance. It captures the instance when it opens
//! (a refresh under the cursor cannot change the target), opens with focus on Cancel, and asks for
//! a reason when the guard requires one. The worker re-reads the instance before it changes it.

use super::centered;
use crate::model::{Instance, ScaleSetKey};
use crate::tui::messages::ProtectRequest;
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
    Reason,
    Confirm,
}

const ORDER: [Focus; 3] = [Focus::Cancel, Focus::Reason, Focus::Confirm];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectDialog {
    pub scale_set: ScaleSetKey,
    pub instance_id: String,
    pub name: String,
    pub protect: bool,
    pub require_reason: bool,
    pub reason: TextField,
    pub focus: Focus,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Cancel,
    Confirm(ProtectRequest),
}

impl ProtectDialog {
    /// Toggle: protect an unprotected instance, unprotect a protected one.
    pub fn open(instance: &Instance, require_reason: bool) -> Self {
        Self {
            scale_set: instance.scale_set.clone(),
            instance_id: instance.instance_id.clone(),
            name: instance.computer_name.clone().unwrap_or_else(|| instance.name.clone()),
            protect: !instance.is_protected(),
            require_reason,
            reason: TextField::text(),
            focus: Focus::Cancel,
            error: None,
        }
    }

    pub fn verb(&self) -> &'static str {
        if self.protect {
            "Protect"
        } else {
            "Unprotect"
        }
    }

    fn move_focus(&mut self, forward: bool) {
        self.focus = super::cycle(&ORDER, self.focus, forward);
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        let typing = self.focus == Focus::Reason;
        if typing {
            if let Some(changed) = self.reason.on_key(key) {
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
            KeyCode::Left | KeyCode::Right if !typing => self.move_focus(key.code == KeyCode::Right),
            KeyCode::Enter => match self.focus {
                Focus::Cancel => return Outcome::Cancel,
                Focus::Reason => self.focus = Focus::Confirm,
                Focus::Confirm if self.require_reason && self.reason.value().trim().is_empty() => {
                    self.error = Some("a reason is required to change scale-in protection".into());
                    self.focus = Focus::Reason;
                }
                Focus::Confirm => {
                    return Outcome::Confirm(ProtectRequest {
                        scale_set: self.scale_set.clone(),
                        instance_id: self.instance_id.clone(),
                        protect: self.protect,
                        reason: self.reason.value().trim().to_string(),
                    })
                }
            },
            _ => {}
        }
        Outcome::Stay
    }

    /// A paste goes into the reason when it has the focus; elsewhere it is ignored.
    pub fn paste(&mut self, text: &str) {
        if self.focus == Focus::Reason && self.reason.paste(text) {
            self.error = None;
        }
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        let rect = centered(area, 76, 10);
        frame.render_widget(Clear, rect);
        let title = format!(" {} instance {} ", self.verb(), self.instance_id);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
        let what = if self.protect {
            "protect it from scale-in: Azure will not remove it when the set shrinks"
        } else {
            "remove its scale-in protection: a later scale-in may remove it"
        };
        let mut lines = vec![
            Line::from(format!("Instance {} ({}) of {}", self.instance_id, self.name, self.scale_set)),
            Line::from(Span::styled(what, theme.tone(Tone::Warn))),
            Line::from(""),
        ];
        let style = if self.focus == Focus::Reason {
            theme.focused_button()
        } else {
            ratatui::style::Style::default()
        };
        let required = if self.require_reason { " (required)" } else { "" };
        let mut reason = vec![Span::raw(format!("Reason{required}: "))];
        reason.extend(self.reason.spans(self.focus == Focus::Reason, style));
        lines.push(Line::from(reason));
        lines.extend(super::error_and_buttons(
            self.error.as_deref(),
            self.verb(),
            match self.focus {
                Focus::Cancel => super::ButtonFocus::Cancel,
                Focus::Reason => super::ButtonFocus::Field,
                Focus::Confirm => super::ButtonFocus::Confirm,
            },
            theme,
        ));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
