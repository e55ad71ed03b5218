//! The journal pane: the audit trail the product keeps. One row per intent, with its result
//! (or none yet: running, or interrupted), newest first: when, who, what → result, why.

use super::{json_lines, plain, styled, Column, PaneRow, RowCtx};
use crate::journal::{Outcome, Record, RecordKind};
use crate::tui::app::age;
use crate::tui::theme::Tone;
use ratatui::text::Span;
use std::collections::HashMap;
use uuid::Uuid;

static COLUMNS: &[Column] = &[
    Column::new("WHEN", 8, 8, 3),
    Column::new("WHO", 6, 12, 4),
    Column::new("WHAT", 16, 40, 0),
    Column::new("RESULT", 8, 30, 1),
    Column::new("WHY", 8, 60, 2).flex(),
];

/// An intent and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub intent: Record,
    pub result: Option<Record>,
}

impl JournalEntry {
    /// "done", "failed: …", "skipped: …", or "no result" for an intent still open.
    pub fn result_text(&self) -> String {
        match self.result.as_ref().and_then(|r| r.outcome.as_ref()) {
            None => "no result".into(),
            Some(Outcome::Done) => "done".into(),
            Some(Outcome::Skipped(why)) => format!("skipped: {why}"),
            Some(Outcome::Failed(why)) => format!("failed: {why}"),
        }
    }

    fn tone(&self) -> Tone {
        match self.result.as_ref().and_then(|r| r.outcome.as_ref()) {
            None => Tone::Busy,
            Some(Outcome::Done) => Tone::Good,
            Some(Outcome::Skipped(_)) => Tone::Warn,
            Some(Outcome::Failed(_)) => Tone::Bad,
        }
    }
}

/// Pair each intent with its result; newest intent first. Results without an intent (a torn
/// journal) are kept as their own rows so nothing is hidden.
pub fn entries(records: &[Record]) -> Vec<JournalEntry> {
    let mut results: HashMap<Uuid, &Record> =
        records.iter().filter(|r| r.kind == RecordKind::Result).map(|r| (r.intent_id, r)).collect();
    let mut rows: Vec<JournalEntry> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent)
        .map(|intent| JournalEntry {
            intent: intent.clone(),
            result: results.remove(&intent.intent_id).cloned(),
        })
        .collect();
    rows.extend(results.into_values().map(|r| JournalEntry { intent: r.clone(), result: Some(r.clone()) }));
    rows.sort_by_key(|row| std::cmp::Reverse(row.intent.time));
    rows
}

impl PaneRow for JournalEntry {
    fn columns() -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, ctx: &RowCtx<'_>) -> Vec<Span<'static>> {
        let mut result = self.result_text();
        if self.result.as_ref().is_some_and(|r| r.note.is_some()) {
            result.push_str(" (settled)");
        }
        vec![
            plain(age(self.intent.time, ctx.now)),
            plain(self.intent.operator.clone()),
            plain(self.intent.action.summary()),
            styled(result, ctx.theme, self.tone()),
            plain(self.intent.reason.clone()),
        ]
    }

    fn sort_key(&self, column: usize) -> String {
        match column {
            0 => self.intent.time.unix_timestamp_nanos().to_string(),
            1 => self.intent.operator.to_lowercase(),
            2 => self.intent.action.summary().to_lowercase(),
            3 => self.result_text(),
            _ => self.intent.reason.to_lowercase(),
        }
    }

    fn filter_text(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.intent.profile,
            self.intent.operator,
            self.intent.action.summary(),
            self.result_text(),
            self.intent.reason
        )
    }

    fn key(&self) -> String {
        self.intent.intent_id.to_string()
    }

    fn details(&self, ctx: &RowCtx<'_>) -> (String, Vec<String>) {
        let when = |r: &Record| {
            let stamp = r.time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            format!("{} ({stamp})", age(r.time, ctx.now))
        };
        let mut lines = vec![
            format!("intent    {}", self.intent.intent_id),
            format!("profile   {}", self.intent.profile),
            format!("who       {}", self.intent.operator),
            format!("when      {}", when(&self.intent)),
            format!("what      {}", self.intent.action.summary()),
            format!("why       {}", self.intent.reason),
            format!("result    {}", self.result_text()),
        ];
        if let Some(result) = &self.result {
            lines.push(format!("finished  {} by {}", when(result), result.operator));
            if let Some(note) = &result.note {
                lines.push(format!("note      {note}"));
            }
        } else {
            lines.push("          no result yet: running, or interrupted (settled on the next start)".into());
        }
        lines.push(String::new());
        lines.push("Intent record:".into());
        lines.extend(json_lines(&self.intent).into_iter().map(|l| format!("  {l}")));
        if let Some(result) = &self.result {
            lines.push("Result record:".into());
            lines.extend(json_lines(result).into_iter().map(|l| format!("  {l}")));
        }
        (format!("Journal: {}", self.intent.action.summary()), lines)
    }
}
