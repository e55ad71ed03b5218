//! Confirm a scale-in protection change on one instance. It captures the instance when it opens
//! (a refresh under the cursor cannot change the target), opens on its reason field (shared focus
//! model: `form`), and asks for a reason when the guard requires one. The worker re-reads the
//! instance before it changes it. On a VM whose protection cannot be set (a Flexible set's) the
//! same dialog opens with the reason and a Close button only, so the why stays on screen.

use super::centered;
use super::form::{Event, Field, Form, Slot};
use crate::model::{Instance, ScaleSetKey};
use crate::tui::messages::ProtectRequest;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectDialog {
    pub scale_set: ScaleSetKey,
    pub instance_id: String,
    pub name: String,
    pub protect: bool,
    pub require_reason: bool,
    /// One field: the reason. Only Close when `refused`.
    pub form: Form,
    /// Why protection cannot be changed on this instance; nothing can be confirmed then.
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Cancel,
    /// A refusal read and closed: nothing was asked, so nothing was cancelled.
    Closed,
    Confirm(ProtectRequest),
}

impl ProtectDialog {
    /// Toggle: protect an unprotected instance, unprotect a protected one. An instance whose
    /// protection Azure does not report (a Flexible set's VM) gets the refusal instead.
    pub fn open(instance: &Instance, require_reason: bool) -> Self {
        let refused = instance.protected_from_scale_in.is_none();
        let form = if refused {
            Form::confirm("").with_buttons(vec!["Close".into()], false)
        } else {
            Form::confirm(if instance.is_protected() { "Unprotect" } else { "Protect" }).with_field(
                Field::new(if require_reason { "Reason (required)" } else { "Reason" }, TextField::text()),
            )
        };
        Self {
            scale_set: ScaleSetKey::clone(&instance.scale_set),
            instance_id: instance.instance_id.clone(),
            name: instance.computer_name.clone().unwrap_or_else(|| instance.name.clone()),
            protect: !instance.is_protected(),
            require_reason,
            form,
            refused: refused.then(|| crate::scale_in::FLEXIBLE_NO_PROTECTION.to_string()),
        }
    }

    pub fn reason(&self) -> &str {
        self.form.field(0).value()
    }

    pub fn verb(&self) -> &'static str {
        if self.protect {
            "Protect"
        } else {
            "Unprotect"
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        match self.form.on_key(key) {
            Event::Cancel if self.refused.is_some() => Outcome::Closed,
            Event::Cancel => Outcome::Cancel,
            _ if self.refused.is_some() => Outcome::Stay,
            Event::Press(_) if self.require_reason && self.reason().trim().is_empty() => {
                self.form.fail("a reason is required to change scale-in protection", Slot::Field(0));
                Outcome::Stay
            }
            Event::Press(_) => Outcome::Confirm(ProtectRequest {
                scale_set: self.scale_set.clone(),
                instance_id: self.instance_id.clone(),
                protect: self.protect,
                reason: self.reason().trim().to_string(),
            }),
            _ => Outcome::Stay,
        }
    }

    /// A paste goes into the reason when it has the focus; elsewhere it is ignored.
    pub fn paste(&mut self, text: &str) {
        self.form.paste(text);
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        if let Some(why) = &self.refused {
            return self.render_refusal(why, frame, area, theme);
        }
        let rect = centered(area, 76, 10 + u16::from(self.form.error.is_some()));
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
        lines.extend(self.form.lines(theme));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }

    fn render_refusal(&self, why: &str, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        let mut lines = vec![
            Line::from(format!("Instance {} ({}) of {}", self.instance_id, self.name, self.scale_set)),
            Line::from(""),
            Line::from(Span::styled(why.to_string(), theme.tone(Tone::Warn))),
            Line::from(""),
        ];
        lines.extend(self.form.lines(theme));
        let inner = usize::from(area.width.min(76).saturating_sub(2)).max(1);
        let rows: usize = lines.iter().map(|line| super::wrapped_rows(&line.to_string(), inner)).sum();
        let rect = centered(area, 76, u16::try_from(rows + 2).unwrap_or(u16::MAX));
        frame.render_widget(Clear, rect);
        let title = format!(" Scale-in protection of {} ", self.instance_id);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
