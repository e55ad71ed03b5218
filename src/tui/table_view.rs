//! Cursor, scroll, filter and sort of one pane. `view` holds indices into the pane's rows (filtered
//! and sorted), rebuilt when the rows, the filter or the sort change, never per frame.
//!
//! The filter is k9s's: a case-insensitive regular expression (`/web-0[12]`), or its inverse with a
//! leading `!` (`/!Healthy`). Text that is not a valid expression is matched as plain text, so a
//! filter never fails to apply.

use super::panes::PaneRow;
use regex::{Regex, RegexBuilder};

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// As typed (with its `!`).
    pub text: String,
    matcher: Option<Regex>,
    /// The plain, lower-cased needle when the text is not a regular expression.
    literal: String,
    pub inverse: bool,
}

impl Filter {
    pub fn parse(text: &str) -> Filter {
        let (inverse, pattern) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let matcher = RegexBuilder::new(pattern).case_insensitive(true).size_limit(1 << 20).build().ok();
        Filter { text: text.to_string(), matcher, literal: pattern.to_lowercase(), inverse }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() || self.text == "!"
    }

    /// True when the filter is read as plain text (it is not a valid regular expression).
    pub fn is_literal(&self) -> bool {
        self.matcher.is_none()
    }

    pub fn matches(&self, text: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let found = match &self.matcher {
            Some(regex) => regex.is_match(text),
            None => text.to_lowercase().contains(&self.literal),
        };
        found != self.inverse
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter::parse("")
    }
}

#[derive(Debug, Clone, Default)]
pub struct TableView {
    pub view: Vec<usize>,
    pub cursor: usize,
    pub offset: usize,
    pub filter: Filter,
    /// Column index sorted on; None keeps the server's order.
    pub sort: Option<usize>,
    /// Sort descending (`o` toggles).
    pub descending: bool,
    /// The row under the cursor left (a refresh dropped it): no row is selected until the
    /// operator moves, so a key never acts on the row that slid into its place.
    pub lost: bool,
}

impl TableView {
    /// Rebuild `view` for `rows`, keeping the cursor on the row keyed `keep_key`. When that row is
    /// gone the cursor selects nothing (`lost`) rather than whatever row took its place.
    pub fn rebuild<T: PaneRow>(&mut self, rows: &[T], keep_key: Option<String>) {
        let mut view: Vec<usize> =
            (0..rows.len()).filter(|&i| self.filter.matches(&rows[i].filter_text())).collect();
        if let Some(column) = self.sort {
            view.sort_by_cached_key(|&i| rows[i].sort_key(column));
            if self.descending {
                view.reverse();
            }
        } else if self.descending {
            view.reverse();
        }
        self.view = view;
        if let Some(key) = keep_key {
            match self.view.iter().position(|&i| rows[i].key() == key) {
                Some(pos) => {
                    self.cursor = pos;
                    self.lost = false;
                }
                None => self.lost = true,
            }
        }
        self.clamp();
    }

    pub fn clamp(&mut self) {
        self.cursor = self.cursor.min(self.view.len().saturating_sub(1));
        self.offset = self.offset.min(self.cursor);
    }

    /// Move by `delta` rows (negative up). After a lost row the first move selects the row now at
    /// the cursor's place.
    pub fn step(&mut self, delta: isize) {
        if std::mem::take(&mut self.lost) {
            self.clamp();
            return;
        }
        let last = self.view.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
    }

    /// Scroll so the cursor is inside a window of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
    }

    /// The row index under the cursor; None when the pane is empty or the row left.
    pub fn selected_index(&self) -> Option<usize> {
        if self.lost {
            return None;
        }
        self.view.get(self.cursor).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::Filter;

    #[test]
    fn a_filter_is_a_case_insensitive_regex_or_its_inverse() {
        assert!(Filter::parse("web-0[12]").matches("VMSS WEB-01 healthy"));
        assert!(!Filter::parse("web-0[12]").matches("web-03"));
        assert!(Filter::parse("!healthy").matches("Unavailable"));
        assert!(!Filter::parse("!healthy").matches("Healthy"));
        assert!(Filter::parse("!").matches("anything"), "a lone ! filters nothing yet");
    }

    #[test]
    fn an_invalid_expression_is_matched_as_text() {
        let filter = Filter::parse("web(");
        assert!(filter.is_literal());
        assert!(filter.matches("a WEB( b"));
        assert!(!filter.matches("web"));
    }
}
