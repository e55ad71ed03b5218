//! The jobs section under the pending diffs: HA-node drains and deletes with their live progress,
//! kept apart from the reconcile plan (they are not diffs to approve).

use super::styled;
use crate::tui::app::ConsoleState;
use crate::tui::theme::Tone;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// The diffs pane's area split into the plan (top) and the jobs section (bottom; empty without jobs).
pub fn split(area: Rect, model: &ConsoleState) -> (Rect, Rect) {
    let rows = model.jobs.rows().len() as u16;
    if rows == 0 {
        return (area, Rect { height: 0, ..area });
    }
    let height = (rows + 2).min(area.height / 2);
    let plan = Rect { height: area.height - height, ..area };
    (plan, Rect { y: area.y + plan.height, height, ..area })
}

pub fn render(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState) {
    if area.height == 0 {
        return;
    }
    let theme = model.theme;
    let rows = model.jobs.rows();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" Jobs ({}): HA nodes ", rows.len()), theme.title()));
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(kind, node, status)| {
            Line::from(vec![
                styled(format!("{kind:<13}"), theme, Tone::Busy),
                Span::raw(format!("{node:<16} ")),
                Span::raw(status),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
