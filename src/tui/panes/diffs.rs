//! Pending diffs: the reconcile plan, with selection marks and the executor's progress.

use super::{json_lines, plain, styled, Column, PaneRow, RowCtx};
use crate::model::{Action, PlannedAction, Severity};
use crate::tui::app::Progress;
use crate::tui::theme::Tone;
use ratatui::text::Span;

static COLUMNS: &[Column] = &[
    Column::new("SEL", 3, 3, 1),
    Column::new("KIND", 13, 13, 2),
    Column::new("SUBJECT", 16, 60, 0),
    Column::new("STATUS", 8, 10, 1),
    Column::new("REASON", 10, 80, 3).flex(),
];

/// One line naming what the action touches.
pub fn subject(action: &Action) -> String {
    match action {
        Action::Wait { scale_set, succeeded, capacity, .. } => {
            format!("{} {succeeded}/{capacity}", scale_set.name)
        }
        Action::WaitForDeployment { project_name, in_flight_version, .. } => {
            format!("{project_name} {in_flight_version} in flight")
        }
        Action::DeleteTarget { target_name, .. } => target_name.clone(),
        Action::Deploy { project_name, release_version, target_names, tenant, .. } => {
            let tenant = tenant.as_ref().map_or(String::new(), |t| format!(" for {}", t.name));
            format!("{project_name} {release_version}{tenant} → {} target(s)", target_names.len())
        }
        Action::CompleteLifecycle { instance_id, result, .. } => format!("{instance_id} {result}"),
        Action::LifecycleHeartbeat { instance_id, .. } => format!("{instance_id} heartbeat"),
        Action::Note { subject, .. } => subject.clone(),
    }
}

fn kind_tone(action: &Action) -> Tone {
    match action {
        Action::DeleteTarget { .. } => Tone::Bad,
        Action::Deploy { .. } => Tone::Good,
        Action::CompleteLifecycle { .. } if action.is_destructive() => Tone::Bad,
        Action::CompleteLifecycle { .. } | Action::LifecycleHeartbeat { .. } => Tone::Good,
        Action::Wait { timed_out: true, .. } => Tone::Warn,
        Action::Wait { .. } | Action::WaitForDeployment { .. } => Tone::Busy,
        Action::Note { severity: Severity::Error, .. } => Tone::Bad,
        Action::Note { severity: Severity::Warning, .. } => Tone::Warn,
        Action::Note { .. } => Tone::Muted,
    }
}

fn progress_tone(progress: &Progress) -> Tone {
    match progress {
        Progress::Queued | Progress::Running => Tone::Busy,
        Progress::Done => Tone::Good,
        Progress::Skipped(_) => Tone::Warn,
        Progress::Failed(_) => Tone::Bad,
    }
}

impl PaneRow for PlannedAction {
    fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// The KIND column holds the longest kind listed (`complete-lifecycle`, `lifecycle-heartbeat`).
    fn floors(rows: &[Self]) -> Vec<(usize, u16)> {
        let widest = rows.iter().map(|row| row.action.kind().as_str().len()).max().unwrap_or(0);
        vec![(1, widest as u16)]
    }

    fn cells(&self, ctx: &RowCtx<'_>) -> Vec<Span<'static>> {
        let theme = ctx.theme;
        let mark = if !self.action.is_mutating() {
            plain(" ")
        } else if ctx.model.selected.contains(&self.id) {
            plain("[x]")
        } else {
            plain("[ ]")
        };
        let status = match ctx.model.progress.get(&self.id) {
            Some(progress) => styled(progress.label(), theme, progress_tone(progress)),
            None if self.action.is_mutating() => plain("proposed"),
            None => styled("info", theme, Tone::Muted),
        };
        vec![
            mark,
            styled(self.action.kind().as_str(), theme, kind_tone(&self.action)),
            plain(subject(&self.action)),
            status,
            plain(self.reason.clone()),
        ]
    }

    fn sort_key(&self, column: usize) -> String {
        match column {
            0 => (!self.action.is_mutating()).to_string(),
            1 => self.action.kind().as_str().to_string(),
            2 => subject(&self.action).to_lowercase(),
            3 => self.action.is_mutating().to_string(),
            _ => self.reason.to_lowercase(),
        }
    }

    fn filter_text(&self) -> String {
        format!("{} {} {}", self.action.kind(), subject(&self.action), self.reason)
    }

    fn key(&self) -> String {
        self.id.clone()
    }

    fn details(&self, ctx: &RowCtx<'_>) -> (String, Vec<String>) {
        let mut lines = vec![format!("id      {}", self.id), format!("kind    {}", self.action.kind())];
        lines.push(format!("subject {}", subject(&self.action)));
        if let Some(progress) = ctx.model.progress.get(&self.id) {
            lines.push(format!("status  {}", progress.label()));
        }
        lines.push(String::new());
        lines.push("Why it is proposed:".into());
        lines.push(format!("  {}", self.reason));
        lines.push(String::new());
        lines.push("Observations behind it:".into());
        if self.observations.is_empty() {
            lines.push("  (none recorded)".into());
        }
        lines.extend(self.observations.iter().map(|o| format!("  - {o}")));
        lines.push(String::new());
        lines.push("Action:".into());
        lines.extend(json_lines(&self.action).into_iter().map(|l| format!("  {l}")));
        (format!("Diff: {}", self.action.summary()), lines)
    }
}
