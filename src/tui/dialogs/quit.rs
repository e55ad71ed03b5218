//! Quitting (q, :q, Ctrl-C) while a change or job runs asks first: stay, quit once it has ended
//! (its result is then journaled), or quit now (the journal then holds its intent without a
//! result, settled against the real state when the console or a command next starts).

use super::centered;
use super::form::{Event, Form};
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuitDialog {
    /// What is running, one phrase each.
    pub running: Vec<String>,
    pub form: Form,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Cancel,
    QuitWhenIdle,
    QuitNow,
}

impl QuitDialog {
    pub fn open(running: Vec<String>) -> Self {
        let buttons = vec!["Stay".into(), "Quit when it has ended".into(), "Quit now".into()];
        Self { running, form: Form::confirm("").with_buttons(buttons, false) }
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        match self.form.on_key(key) {
            Event::Cancel => Outcome::Cancel,
            Event::Press(1) => Outcome::QuitWhenIdle,
            Event::Press(_) => Outcome::QuitNow,
            _ => Outcome::Stay,
        }
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        let mut lines = vec![
            Line::from(Span::styled(
                format!("Still running: {}.", self.running.join(", ")),
                theme.tone(Tone::Warn),
            )),
            Line::from(
                "Quit when it has ended: the console waits for the result and journals it, then quits.",
            ),
            Line::from(
                "Quit now: the result is not waited for; the change may still happen. The next start of \
                 the console (or of apply, scale, protect, node) settles it against the real state.",
            ),
            Line::from(""),
        ];
        lines.extend(self.form.lines(theme));
        let inner = usize::from(area.width.min(80).saturating_sub(2)).max(1);
        let rows: usize = lines.iter().map(|line| line.width().max(1).div_ceil(inner)).sum();
        let rect = centered(area, 80, rows as u16 + 3);
        frame.render_widget(Clear, rect);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(" Quit? ", theme.title()));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
