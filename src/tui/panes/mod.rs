//! The four panes: one file per resource, one generic table renderer that builds only the rows
//! in the visible window (ratatui's `Table` would otherwise build every row each frame).

pub mod diffs;
pub mod instances;
pub mod jobs;
pub mod journal;
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

/// A table column: as wide as `max` when there is room; narrower down to `min` when there is not,
/// the highest `shrink` giving way first (names have 0: they shrink last); a `flex` column takes
/// what is left over beyond its `max`.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub min: u16,
    pub max: u16,
    pub shrink: u8,
    pub flex: bool,
}

impl Column {
    pub const fn new(title: &'static str, min: u16, max: u16, shrink: u8) -> Column {
        Column { title, min, max, shrink, flex: false }
    }

    pub const fn flex(self) -> Column {
        Column { flex: true, ..self }
    }

    /// At least `floor` wide, so a cell that would be ambiguous cut short is never cut.
    pub fn at_least(self, floor: u16) -> Column {
        Column { min: self.min.max(floor), max: self.max.max(floor), ..self }
    }
}

/// A pane's columns, each widened to the floor its rows ask for.
pub fn floored_columns<T: PaneRow>(rows: &[T]) -> Vec<Column> {
    let mut columns = T::columns().to_vec();
    for (index, floor) in T::floors(rows) {
        if let Some(column) = columns.get_mut(index) {
            *column = column.at_least(floor);
        }
    }
    columns
}

/// Column widths for `width` cells (one space between columns). Columns that cannot get even
/// their `min` get 0 and are left out, highest `shrink` first.
pub fn column_widths(columns: &[Column], width: u16) -> Vec<u16> {
    let mut widths: Vec<u16> = columns.iter().map(|c| c.max).collect();
    // A column of width 0 is left out (`PaneRow::unused_columns`).
    let mut shown: Vec<bool> = columns.iter().map(|c| c.max > 0).collect();
    let needed = |widths: &[u16], shown: &[bool]| -> u32 {
        let count = shown.iter().filter(|s| **s).count() as u32;
        widths.iter().zip(shown).filter(|(_, s)| **s).map(|(w, _)| u32::from(*w)).sum::<u32>()
            + count.saturating_sub(1)
    };
    // Give way in shrink order: highest first, the rightmost first among equals.
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(columns[i].shrink), std::cmp::Reverse(i)));
    for &i in &order {
        let over = needed(&widths, &shown).saturating_sub(u32::from(width));
        if over == 0 {
            break;
        }
        let room = widths[i] - columns[i].min;
        widths[i] -= room.min(u16::try_from(over).unwrap_or(u16::MAX));
    }
    for &i in &order {
        if needed(&widths, &shown) <= u32::from(width) || shown.iter().filter(|s| **s).count() == 1 {
            break;
        }
        shown[i] = false;
        widths[i] = 0;
    }
    let spare = u32::from(width).saturating_sub(needed(&widths, &shown));
    let flexible: Vec<usize> = (0..columns.len()).filter(|&i| shown[i] && columns[i].flex).collect();
    if let Some((&last, rest)) = flexible.split_last() {
        let each = spare / flexible.len() as u32;
        for &i in rest {
            widths[i] = widths[i].saturating_add(u16::try_from(each).unwrap_or(u16::MAX));
        }
        let given = each * rest.len() as u32;
        widths[last] = widths[last].saturating_add(u16::try_from(spare - given).unwrap_or(u16::MAX));
    }
    widths
}

/// What a row's cells may depend on besides the row.
pub struct RowCtx<'a> {
    pub theme: Theme,
    pub now: OffsetDateTime,
    pub model: &'a ConsoleState,
    /// The row's place in its pane's rows (what the links between panes go by).
    pub row: usize,
}

/// One row type per pane.
pub trait PaneRow {
    fn columns() -> &'static [Column]
    where
        Self: Sized;
    /// (column, width) pairs a column must not shrink below for these rows: an id cut short
    /// could read as another's. Most panes have none.
    fn floors(_rows: &[Self]) -> Vec<(usize, u16)>
    where
        Self: Sized,
    {
        Vec::new()
    }
    /// Columns with nothing to show for this console (the nodes pane's VM column without a
    /// nodes' scale set): left out of the table.
    fn unused_columns(_model: &ConsoleState) -> Vec<usize>
    where
        Self: Sized,
    {
        Vec::new()
    }
    /// Floors that depend on the console as well as the rows (the nodes pane's VM column).
    fn model_floors(_model: &ConsoleState, _rows: &[Self]) -> Vec<(usize, u16)>
    where
        Self: Sized,
    {
        Vec::new()
    }
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

/// Lines above the table: two for a failed read (age, then the error, wrapped), one while loading
/// or when the data grew stale with no answer.
pub fn banner_height(model: &ConsoleState, pane: PaneId) -> u16 {
    match model.pane_status(pane) {
        (_, Some(_)) => 2,
        (None, None) => 1,
        (Some(_), None) if model.is_stale(pane) => 1,
        (Some(_), None) => 0,
    }
}

/// Draw a pane: a bordered table with a freshness/error banner when its last read failed.
pub fn render<T: PaneRow>(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState, pane: PaneId, rows: &[T]) {
    let theme = model.theme;
    let table = model.table(pane);
    let (good_at, error) = model.pane_status(pane);
    let mut columns = floored_columns(rows);
    for (index, floor) in T::model_floors(model, rows) {
        if let Some(column) = columns.get_mut(index) {
            *column = column.at_least(floor);
        }
    }
    for unused in T::unused_columns(model) {
        if let Some(column) = columns.get_mut(unused) {
            (column.min, column.max) = (0, 0);
        }
    }
    let columns = &columns;
    let mut title = format!(" {} ({}", pane.title(), table.view.len());
    if table.view.len() != rows.len() {
        title.push_str(&format!(" of {}", rows.len()));
    }
    title.push(')');
    if !table.filter.is_empty() {
        let kind = if table.filter.is_literal() { " (text)" } else { "" };
        title.push_str(&format!(" filter: {}{kind}", table.filter.text));
    }
    let arrow = if table.descending { "↓" } else { "↑" };
    match table.sort {
        Some(column) => {
            title.push_str(&format!(" sort: {} {arrow}", columns.get(column).map(|c| c.title).unwrap_or("?")))
        }
        None if table.descending => title.push_str(" sort: reversed"),
        None => {}
    }
    title.push(' ');
    let mut block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
    if let (PaneId::Instances, Some((line, tone))) = (pane, crate::tui::autoscale_line::autoscale_line(model))
    {
        block = block.title(Line::from(Span::styled(line, theme.tone(tone))).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let stale_by_age = error.is_none() && model.is_stale(pane);
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
        (None, Some(at)) if stale_by_age => {
            let waiting = match model.refresh.in_flight_since {
                Some(since) => format!("the refresh started {} has not answered", age(since, model.now)),
                None => "no refresh has finished since".into(),
            };
            Some(Line::from(vec![
                Span::styled(" STALE ", theme.badge(Tone::Bad)),
                styled(format!(" last good read {}; {waiting}", age(at, model.now)), theme, Tone::Bad),
            ]))
        }
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
    let ctx = RowCtx { theme, now: model.now, model, row: 0 };
    let widths = column_widths(columns, body.width);
    let keep = |i: &usize| widths[*i] > 0;
    let visible = table.view.iter().enumerate().skip(offset).take(height);
    let body_rows: Vec<Row> = visible
        .map(|(position, &index)| {
            let cells = rows[index].cells(&RowCtx { row: index, ..ctx });
            let row = Row::new(cells.into_iter().enumerate().filter(|(i, _)| keep(i)).map(|(_, c)| c));
            if position == table.cursor && !table.lost {
                row.style(theme.cursor())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(
        columns
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(i))
            .map(|(_, c)| Span::styled(c.title, theme.header())),
    );
    let widths: Vec<Constraint> = widths.iter().filter(|w| **w > 0).map(|w| Constraint::Length(*w)).collect();
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
        PaneId::Journal => render(frame, area, model, PaneId::Journal, &model.journal.rows),
    }
}

/// Column titles of a pane (for `s` sort).
pub fn column_count(pane: PaneId) -> usize {
    match pane {
        PaneId::Instances => <crate::model::Instance as PaneRow>::columns().len(),
        PaneId::Targets => <crate::model::Target as PaneRow>::columns().len(),
        PaneId::Nodes => <crate::model::Node as PaneRow>::columns().len(),
        PaneId::Diffs => <crate::model::PlannedAction as PaneRow>::columns().len(),
        PaneId::Journal => <journal::JournalEntry as PaneRow>::columns().len(),
    }
}

/// The details of the row under the cursor.
pub fn cursor_details(model: &ConsoleState) -> Option<(String, Vec<String>)> {
    let index = model.table(model.pane).selected_index()?;
    let ctx = RowCtx { theme: model.theme, now: model.now, model, row: index };
    match model.pane {
        PaneId::Instances => model.instances.rows.get(index).map(|r| r.details(&ctx)),
        PaneId::Targets => model.targets.rows.get(index).map(|r| r.details(&ctx)),
        PaneId::Nodes => model.nodes.rows.get(index).map(|r| r.details(&ctx)),
        PaneId::Diffs => model.diffs.rows.get(index).map(|r| r.details(&ctx)),
        PaneId::Journal => model.journal.rows.get(index).map(|r| r.details(&ctx)),
    }
}
