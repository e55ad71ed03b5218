//! The bottom two lines: the status line (notices, running actions) and the keys that work here,
//! read from the key table.

use super::app::{ConsoleState, Overlay, Progress};
use super::keymap;
use super::theme::Tone;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn render_status(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState) {
    let theme = model.theme;
    match &model.overlay {
        Overlay::Command(line) => {
            return super::dialogs::command::render_prompt(
                frame,
                area,
                theme,
                ":",
                &line.field,
                line.hint.as_deref(),
            )
        }
        Overlay::Filter(field) => {
            return super::dialogs::command::render_prompt(frame, area, theme, "/", field, None)
        }
        _ => {}
    }
    let running = model.progress.values().filter(|p| **p == Progress::Running).count();
    let mut spans = Vec::new();
    if running > 0 {
        spans.push(Span::styled(format!(" running {running} action(s)… "), theme.badge(Tone::Busy)));
        spans.push(Span::raw(" "));
    }
    if let Some(what) = &model.scale.running {
        spans.push(Span::styled(format!(" {what}… "), theme.badge(Tone::Busy)));
        spans.push(Span::raw(" "));
    }
    if let Some(notice) = &model.notice {
        let tone = if notice.error { Tone::Bad } else { Tone::Good };
        spans.push(Span::styled(notice.text.clone(), theme.tone(tone)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn render_keys(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState) {
    let theme = model.theme;
    let ctx = model.key_context();
    let mut spans = Vec::new();
    for binding in keymap::visible(&ctx).filter(|b| b.footer) {
        spans.push(Span::styled(binding.label, theme.key()));
        spans.push(Span::raw(format!(" {}  ", binding.short)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
