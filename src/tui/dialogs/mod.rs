//! Dialogs drawn over the panes: one file each.

pub mod approve;
pub mod autoscale;
pub mod command;
pub mod details;
pub mod findings;
pub mod form;
pub mod help;
pub mod node;
pub mod protect;
pub mod quit;
pub mod scale;

use ratatui::layout::Rect;

/// The element after (or before) `current` in a dialog's focus `order`, wrapping around; the
/// first one when `current` is not in the order.
pub fn cycle<T: Copy + PartialEq>(order: &[T], current: T, forward: bool) -> T {
    let at = order.iter().position(|f| *f == current).unwrap_or(0);
    let next = if forward { (at + 1) % order.len() } else { (at + order.len() - 1) % order.len() };
    order[next]
}

/// How many rows `text` takes when word-wrapped to `width` columns (greedy, as the dialogs'
/// paragraphs wrap), so a dialog can be as tall as its text.
pub fn wrapped_rows(text: &str, width: usize) -> usize {
    let width = width.max(1);
    let mut rows = 1;
    // Columns used on the current row; None at the start of a row (no space before the word).
    let mut used: Option<usize> = None;
    for word in text.split(' ') {
        let len = word.chars().count();
        let needed = used.map_or(len, |used| used + 1 + len);
        if needed <= width {
            used = Some(needed);
        } else if len <= width {
            rows += 1;
            used = Some(len);
        } else {
            // A word longer than the line starts a row and is broken across rows.
            if used.is_some() {
                rows += 1;
            }
            let full = len.div_ceil(width);
            rows += full - 1;
            used = Some(len - (full - 1) * width);
        }
    }
    rows
}

/// A centred rectangle of at most `width`×`height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

#[cfg(test)]
mod tests {
    use super::wrapped_rows;

    #[test]
    fn rows_of_wrapped_text() {
        assert_eq!(wrapped_rows("", 10), 1);
        assert_eq!(wrapped_rows("  • abc", 7), 1);
        assert_eq!(wrapped_rows("  • abc", 6), 2);
        assert_eq!(wrapped_rows("aaaa bbbb cccc", 9), 2);
        assert_eq!(wrapped_rows("a 0123456789abc", 5), 4, "a long word starts a row and is broken");
    }
}
