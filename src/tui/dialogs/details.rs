//! The details dialog: the full record of the row under the cursor (for a diff: why it is
//! proposed and the observations behind it).

use super::centered;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn render(frame: &mut Frame<'_>, area: Rect, theme: Theme, title: &str, lines: &[String], scroll: u16) {
    let rect = centered(area, area.width.saturating_sub(4).max(20), area.height.saturating_sub(2).max(5));
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), theme.title()))
        .title_bottom(" j/k scroll · Esc close ");
    let text: Vec<Line> = lines.iter().map(|l| Line::from(l.as_str())).collect();
    frame.render_widget(Paragraph::new(text).block(block).scroll((scroll, 0)), rect);
}
