//! Dialogs drawn over the panes: one file each.

pub mod approve;
pub mod command;
pub mod details;
pub mod findings;
pub mod help;
pub mod node;
pub mod protect;
pub mod scale;

use ratatui::layout::Rect;

/// A centred rectangle of at most `width`×`height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}
