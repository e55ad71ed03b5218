//! The `?` overlay, drawn from the key table (keymap::BINDINGS): what it lists is what dispatch does.

use super::centered;
use crate::tui::keymap::{self, KeyContext, Scope};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn render(frame: &mut Frame<'_>, area: Rect, theme: Theme, ctx: &KeyContext) {
    let mut lines = Vec::new();
    for binding in keymap::visible(ctx) {
        let scope = match binding.scope {
            Scope::Global => "",
            Scope::Pane(pane) => pane.title(),
            Scope::Demo => "demo",
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<7}", binding.label), theme.key()),
            Span::raw(format!("{:<50}", binding.help)),
            Span::raw(scope),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(" Mouse: wheel scrolls, click selects a row."));
    if ctx.read_only {
        lines.push(Line::from(" READ-ONLY: keys that change anything are hidden and refused."));
    }
    let height = lines.len() as u16 + 2;
    let rect = centered(area, 72, height);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Keys (? or Esc to close) ", theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
