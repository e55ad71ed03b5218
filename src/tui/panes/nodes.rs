//! Octopus HA nodes: last seen, offline, drain mode, task cap, running tasks.

use super::{json_lines, plain, styled, Column, PaneRow, RowCtx};
use crate::model::Node;
use crate::tui::app::age;
use crate::tui::theme::Tone;
use ratatui::text::Span;

static COLUMNS: &[Column] = &[
    Column::new("NAME", 12, 20, 0),
    // The VM of the nodes' scale set that hosts it (nodes.scale_set), "unpaired" when unsure.
    // Every label starts with the set's name: cut short they all read alike, so it shrinks
    // last and never below its widest label (`model_floors`).
    Column::new("VM", 8, 16, 0),
    Column::new("LAST SEEN", 8, 10, 2),
    Column::new("STATE", 7, 8, 1),
    Column::new("DRAIN", 5, 8, 4),
    Column::new("TASK CAP", 6, 8, 5),
    Column::new("RUNNING", 4, 7, 3),
    Column::new("VERSION", 7, 14, 7),
    Column::new("JOB", 10, 40, 6).flex(),
];

/// Past this a VM label (a Flexible set's long instance names) is cut here and read whole in the
/// details.
const VM_FLOOR_CAP: usize = 30;

impl PaneRow for Node {
    fn columns() -> &'static [Column] {
        COLUMNS
    }

    fn unused_columns(model: &crate::tui::app::ConsoleState) -> Vec<usize> {
        if model.ha.key.is_none() {
            vec![1]
        } else {
            Vec::new()
        }
    }

    fn model_floors(model: &crate::tui::app::ConsoleState, rows: &[Self]) -> Vec<(usize, u16)> {
        let widest = rows.iter().map(|node| model.ha.vm_cell(&node.id).0.chars().count()).max().unwrap_or(0);
        vec![(1, widest.min(VM_FLOOR_CAP) as u16)]
    }

    fn cells(&self, ctx: &RowCtx<'_>) -> Vec<Span<'static>> {
        let theme = ctx.theme;
        // Last seen is the server's time: read it on the server's clock.
        let server_now = ctx.now + ctx.model.server_clock_offset;
        let last_seen = self.last_seen.map(|at| age(at, server_now)).unwrap_or_else(|| "never".into());
        let (vm, unpaired) = ctx.model.ha.vm_cell(&self.id);
        vec![
            plain(self.name.clone()),
            if unpaired { styled(vm, theme, Tone::Warn) } else { plain(vm) },
            plain(last_seen),
            if self.is_offline {
                styled("OFFLINE", theme, Tone::Bad)
            } else {
                styled("online", theme, Tone::Good)
            },
            if self.drain { styled("draining", theme, Tone::Warn) } else { plain("-") },
            if self.max_concurrent_tasks == 0 {
                styled("0 (UI)", theme, Tone::Muted)
            } else {
                plain(self.max_concurrent_tasks.to_string())
            },
            if self.running_tasks > 0 {
                styled(self.running_tasks.to_string(), theme, Tone::Busy)
            } else {
                plain("0")
            },
            plain(self.version.clone().unwrap_or_else(|| "-".into())),
            job_cell(self, ctx),
        ]
    }

    fn sort_key(&self, column: usize) -> String {
        match column {
            0 => self.name.to_lowercase(),
            1 => String::new(),
            2 => self.last_seen.map(|t| t.unix_timestamp().to_string()).unwrap_or_default(),
            3 => self.is_offline.to_string(),
            4 => self.drain.to_string(),
            5 => format!("{:010}", self.max_concurrent_tasks),
            6 => format!("{:010}", self.running_tasks),
            7 => self.version.clone().unwrap_or_default(),
            _ => self.id.clone(),
        }
    }

    fn filter_text(&self) -> String {
        format!(
            "{} {} {} {}",
            self.name,
            if self.is_offline { "offline" } else { "online" },
            if self.drain { "draining" } else { "" },
            self.version.as_deref().unwrap_or("")
        )
    }

    fn key(&self) -> String {
        self.id.clone()
    }

    fn details(&self, ctx: &RowCtx<'_>) -> (String, Vec<String>) {
        let mut lines = vec![
            format!("id        {}", self.id),
            format!("name      {}", self.name),
            format!(
                "last seen {}",
                self.last_seen.map(|at| age(at, ctx.now)).unwrap_or_else(|| "never".into())
            ),
            format!("state     {}", if self.is_offline { "offline" } else { "online" }),
            format!("drain     {}", if self.drain { "on (maintenance mode)" } else { "off" }),
            format!("task cap  {}", self.max_concurrent_tasks),
            format!("running   {}", self.running_tasks),
            format!("version   {}", self.version.as_deref().unwrap_or("-")),
            format!("job       {}", ctx.model.jobs.node_line(&self.id).unwrap_or_else(|| "-".into())),
            format!(
                "vm        {}{}",
                ctx.model.ha.vm_cell(&self.id).0,
                ctx.model.ha.unpaired_reason(&self.id).map(|why| format!(" ({why})")).unwrap_or_default()
            ),
            String::new(),
        ];
        lines.extend(json_lines(self));
        (format!("Node {}", self.name), lines)
    }
}

/// The node's drain or delete job: its live progress line, or "unfinished drain: d resumes".
fn job_cell(node: &Node, ctx: &RowCtx<'_>) -> Span<'static> {
    let jobs = &ctx.model.jobs;
    let Some(line) = jobs.node_line(&node.id) else { return plain("-") };
    let tone = match jobs.jobs.get(&node.id) {
        None => Tone::Warn,
        Some(job) if job.waits_for_answer() => Tone::Warn,
        Some(job) => match &job.ended {
            None => Tone::Busy,
            Some(Ok(_)) => Tone::Good,
            Some(Err(_)) => Tone::Bad,
        },
    };
    styled(line, ctx.theme, tone)
}
