//! The four panes: one file per resource, one generic table renderer that builds only the rows
//! in the visible window (ratatui's `Table` would otherwise build every row each frame).

pub mod diffs;
pub mod instances;
pub mod jobs;
pub mod nodes;
pub mod targets;

use super::app::{age, ConsoleState, PaneId};
use super::theme::{Theme, Tone};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};
use ratatui::Frame;
use time::OffsetDateTime;

pub struct Column {
    pub title: &'static str,
    pub width: Constraint,
}

/// What a row's cells may depend on besides the row.
pub struct RowCtx<'a> {
    pub theme: Theme,
    pub now: OffsetDateTime,
    pub model: &'a ConsoleState,
}

/// One row type per pane.
pub trait PaneRow {
    fn columns() -> &'static [Column]
    where
        Self: Sized;
    /// One styled cell per column; each state is written as text as well as coloured.
    fn cells(&self, ctx: &RowCtx<'_>) -> Vec<Span<'static>>;
    /// Sorts ascending; numbers are padded so "10" sorts after "9".
    fn sort_key(&self, column: usize) -> String;
    fn filter_text(&self) -> String;
    /// Stable identity, so the cursor stays on a row across refreshes.
    fn key(&self) -> String;
    /// The full record for the details dialog.
    fn details(&self, ctx: &RowCtx<'_>) -> (String, Vec<String>);
}

pub fn styled(text: impl Into<String>, theme: Theme, tone: Tone) -> Span<'static> {
    Span::styled(text.into(), theme.tone(tone))
}

pub fn plain(text: impl Into<String>) -> Span<'static> {
    Span::raw(text.into())
}

pub fn padded_number(raw: &str) -> String {
    match raw.parse::<u64>() {
        Ok(n) => format!("{n:020}"),
        Err(_) => raw.to_lowercase(),
    }
}

/// Pretty JSON of a record, one line per string.
pub fn json_lines<T: serde::Serialize>(value: &T) -> Vec<String> {
    serde_json::to_string_pretty(value)
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_else(|err| vec![format!("(cannot show the record: {err})")])
}

/// Rows of the table body that fit in `area` (block borders, header and the banner taken off).
pub fn body_height(area: Rect, banner: u16) -> usize {
    (area.height as usize).saturating_sub(3 + banner as usize)
}

/// Lines above the table: two for a failed read (age, then the error, wrapped), one while loading.
pub fn banner_height(model: &ConsoleState, pane: PaneId) -> u16 {
    match model.pane_status(pane) {
        (_, Some(_)) => 2,
        (None, None) => 1,
        (Some(_), None) => 0,
    }
}

/// Draw a pane: a bordered table with a freshness/error banner when its last read failed.
pub fn render<T: PaneRow>(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState, pane: PaneId, rows: &[T]) {
    let theme = model.theme;
    let table = model.table(pane);
    let (good_at, error) = model.pane_status(pane);
    let columns = T::columns();
    let mut title = format!(" {} ({}", pane.title(), table.view.len());
    if table.view.len() != rows.len() {
        title.push_str(&format!(" of {}", rows.len()));
    }
    title.push(')');
    if !table.filter.is_empty() {
        title.push_str(&format!(" filter: {}", table.filter));
    }
    if let Some(column) = table.sort {
        title.push_str(&format!(" sort: {}", columns.get(column).map(|c| c.title).unwrap_or("?")));
    }
    title.push(' ');
    let mut block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
    if let (PaneId::Instances, Some((line, tone))) = (pane, crate::tui::autoscale_line::autoscale_line(model))
    {
        block = block.title(Line::from(Span::styled(line, theme.tone(tone))).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let banner = match (error, good_at) {
        (Some(error), Some(at)) => Some(Line::from(vec![
            Span::styled(" STALE ", theme.badge(Tone::Bad)),
            styled(
                format!(" last good read {}; refresh failed: {error}", age(at, model.now)),
                theme,
                Tone::Bad,
            ),
        ])),
        (Some(error), None) => Some(Line::from(vec![
            Span::styled(" FAILED ", theme.badge(Tone::Bad)),
            styled(format!(" never read; refresh failed: {error}"), theme, Tone::Bad),
        ])),
        (None, None) => {
            Some(Line::from(styled(" loading: the first refresh is running…", theme, Tone::Busy)))
        }
        (None, Some(_)) => None,
    };
    let mut body = inner;
    if let Some(banner) = banner {
        let height = banner_height(model, pane).min(inner.height);
        frame.render_widget(Paragraph::new(banner).wrap(Wrap { trim: true }), Rect { height, ..inner });
        body.y += height;
        body.height = body.height.saturating_sub(height);
    }
    let height = (body.height as usize).saturating_sub(1);
    let offset = effective_offset(table.offset, table.cursor, height);
    let ctx = RowCtx { theme, now: model.now, model };
    let visible = table.view.iter().enumerate().skip(offset).take(height);
    let body_rows: Vec<Row> = visible
        .map(|(position, &index)| {
            let row = Row::new(rows[index].cells(&ctx));
            if position == table.cursor {
                row.style(theme.cursor())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(columns.iter().map(|c| Span::styled(c.title, theme.header())));
    let widths: Vec<Constraint> = columns.iter().map(|c| c.width).collect();
    let empty = body_rows.is_empty() && good_at.is_some();
    frame.render_widget(Table::new(body_rows, widths).header(header).column_spacing(1), body);
    if empty {
        let text = if rows.is_empty() { " (none)" } else { " (nothing matches the filter)" };
        let y = body.y.saturating_add(1);
        if y < body.y + body.height {
            frame.render_widget(
                Paragraph::new(Span::styled(text, Style::default())),
                Rect { y, height: 1, ..body },
            );
        }
    }
}

/// The first visible row: the stored offset, moved just enough to show the cursor.
pub fn effective_offset(offset: usize, cursor: usize, height: usize) -> usize {
    let height = height.max(1);
    if cursor < offset {
        cursor
    } else if cursor >= offset + height {
        cursor + 1 - height
    } else {
        offset
    }
}

/// Draw the current pane.
pub fn render_current(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState) {
    match model.pane {
        PaneId::Instances => render(frame, area, model, PaneId::Instances, &model.instances.rows),
        PaneId::Targets => render(frame, area, model, PaneId::Targets, &model.targets.rows),
        PaneId::Nodes => render(frame, area, model, PaneId::Nodes, &model.nodes.rows),
        PaneId::Diffs => {
            let (plan, jobs) = jobs::split(area, model);
            render(frame, plan, model, PaneId::Diffs, &model.diffs.rows);
            jobs::render(frame, jobs, model);
        }
    }
}

/// Column titles of a pane (for `s` sort).
pub fn column_count(pane: PaneId) -> usize {
    match pane {
        PaneId::Instances => <crate::model::Instance as PaneRow>::columns().len(),
        PaneId::Targets => <crate::model::Target as PaneRow>::columns().len(),
        PaneId::Nodes => <crate::model::Node as PaneRow>::columns().len(),
        PaneId::Diffs => <crate::model::PlannedAction as PaneRow>::columns().len(),
    }
}

/// The details of the row under the cursor.
pub fn cursor_details(model: &ConsoleState) -> Option<(String, Vec<String>)> {
    let ctx = RowCtx { theme: model.theme, now: model.now, model };
    let index = model.table(model.pane).selected_index()?;
    match model.pane {
        PaneId::Instances => model.instances.rows.get(index).map(|r| r.details(&ctx)),
        PaneId::Targets => model.targets.rows.get(index).map(|r| r.details(&ctx)),
        PaneId::Nodes => model.nodes.rows.get(index).map(|r| r.details(&ctx)),
        PaneId::Diffs => model.diffs.rows.get(index).map(|r| r.details(&ctx)),
    }
}
