//! The `?` overlay, drawn from the key table (keymap::BINDINGS) and the command table
//! (command::COMMANDS): what it lists is what dispatch does. It scrolls when it does not fit.

use super::centered;
use crate::tui::keymap::{self, KeyContext, Scope};
use crate::tui::theme::{Theme, Tone};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// The overlay's width at most.
const WIDTH: u16 = 96;

/// The help text: keys grouped by where they work, then the commands, dialogs and fields.
pub fn lines(theme: Theme, ctx: &KeyContext) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), theme.title()));
    type InGroup = fn(Scope) -> bool;
    let groups: [(&str, InGroup); 3] = [
        ("Everywhere", |s| s == Scope::Global),
        ("On this pane", |s| matches!(s, Scope::Pane(_))),
        ("Demo only (the simulated world)", |s| s == Scope::Demo),
    ];
    for (title, wanted) in groups {
        let bindings: Vec<_> = keymap::visible(ctx).filter(|b| wanted(b.scope)).collect();
        if bindings.is_empty() {
            continue;
        }
        lines.push(heading(title));
        for binding in bindings {
            lines.push(Line::from(vec![
                Span::styled(format!(" {:<7}", binding.label), theme.key()),
                Span::raw(binding.help),
            ]));
        }
        lines.push(Line::from(""));
    }
    lines.push(heading("Commands (: then Tab completes)"));
    for command in super::command::available(ctx.read_only) {
        let name = format!(":{} {}", command.name, command.args);
        lines.push(Line::from(vec![
            Span::styled(format!(" {name:<16}"), theme.key()),
            Span::raw(command.help),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(heading("In a dialog"));
    for (keys, what) in [
        ("Tab S-Tab", "move between the fields and buttons (↑/↓ too; ←/→ between buttons)"),
        ("Enter", "press the button with the focus; in a field, move on (never confirms)"),
        ("Space", "tick or untick a box (force)"),
        ("Esc", "cancel and close"),
    ] {
        lines.push(Line::from(vec![Span::styled(format!(" {keys:<10}"), theme.key()), Span::raw(what)]));
    }
    lines.push(Line::from(""));
    lines.push(heading("In a text field"));
    lines.push(Line::from(
        " ←/→ (Ctrl by word), Home/End, Backspace/Delete, Ctrl-U clears, Ctrl-W deletes a word; a paste is text",
    ));
    lines.push(Line::from(""));
    lines.push(Line::from(" Mouse: wheel scrolls, click selects a row or a tab."));
    if ctx.read_only {
        lines.push(Line::from(Span::styled(
            " READ-ONLY: keys and commands that change anything are hidden and refused.",
            theme.tone(Tone::Warn),
        )));
    }
    lines
}

/// The overlay's rectangle and its inner text rows for a screen `area`.
fn frame_of(area: Rect, rows: usize) -> Rect {
    centered(area, WIDTH, (rows as u16).saturating_add(2))
}

/// The largest useful scroll: the text's wrapped rows past what the overlay shows.
pub fn max_scroll(area: Rect, theme: Theme, ctx: &KeyContext) -> u16 {
    let text = lines(theme, ctx);
    let rect = frame_of(area, usize::from(area.height));
    let inner = usize::from(rect.width.saturating_sub(2)).max(1);
    let rows: usize = text.iter().map(|line| line.width().max(1).div_ceil(inner)).sum();
    u16::try_from(rows.saturating_sub(usize::from(rect.height.saturating_sub(2)))).unwrap_or(u16::MAX)
}

pub fn render(frame: &mut Frame<'_>, area: Rect, theme: Theme, ctx: &KeyContext, scroll: u16) {
    let text = lines(theme, ctx);
    let rect = frame_of(area, text.len());
    frame.render_widget(Clear, rect);
    let more = max_scroll(area, theme, ctx);
    let foot = if more > 0 { " j/k PgDn/PgUp g/G scroll · ? or Esc close " } else { " ? or Esc close " };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Keys ", theme.title()))
        .title_bottom(foot);
    let paragraph =
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }).scroll((scroll.min(more), 0));
    frame.render_widget(paragraph, rect);
}
