//! The pulse: one line at the very top, there only when something needs the operator's attention
//! (chaos took capacity from 8 to 1 and 8 of 9 targets went Unavailable while the header stayed
//! calm). Pure over the console's state; the most severe item first.

use super::app::{ConsoleState, PaneId, Progress};
use super::theme::Tone;
use crate::model::HealthStatus;

/// One thing that needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub text: String,
    pub tone: Tone,
}

fn item(text: impl Into<String>, tone: Tone) -> Item {
    Item { text: text.into(), tone }
}

/// How many refreshes back a capacity drop still counts as news.
const DROP_WINDOW: usize = 30;

/// What needs attention now, most severe first; empty when all is calm.
pub fn items(model: &ConsoleState) -> Vec<Item> {
    let mut bad = Vec::new();
    let mut warn = Vec::new();
    if model.nodes.good_at.is_some() && !model.nodes.rows.is_empty() {
        let can_run =
            model.nodes.rows.iter().any(|n| !n.is_offline && !n.drain && n.max_concurrent_tasks > 0);
        if !can_run {
            bad.push(item(
                "no node can run deployments (every task node is offline, draining or capped at 0)",
                Tone::Bad,
            ));
        }
    }
    let stale: Vec<&str> = PaneId::ALL
        .into_iter()
        .filter(|&pane| pane != PaneId::Journal && model.is_stale(pane))
        .map(PaneId::title)
        .collect();
    if !stale.is_empty() {
        bad.push(item(format!("STALE data: {}", stale.join(", ")), Tone::Bad));
    }
    let failed = model.progress.values().filter(|p| matches!(p, Progress::Failed(_))).count();
    if failed > 0 {
        bad.push(item(format!("{failed} approved change(s) failed (4 diffs, :journal)"), Tone::Bad));
    }
    if let Some(drop) = capacity_drop(model) {
        warn.push(item(drop, Tone::Warn));
    }
    if model.targets.error.is_none() && model.targets.good_at.is_some() {
        let targets = &model.targets.rows;
        let down = targets
            .iter()
            .filter(|t| matches!(t.health, HealthStatus::Unavailable | HealthStatus::Unhealthy))
            .count();
        if down > 0 {
            let tone = if down * 2 >= targets.len() { Tone::Bad } else { Tone::Warn };
            let entry = item(format!("{down} of {} targets unavailable or unhealthy", targets.len()), tone);
            if tone == Tone::Bad {
                bad.push(entry);
            } else {
                warn.push(entry);
            }
        }
    }
    for job in model.jobs.jobs.values().filter(|job| job.waits_for_answer()) {
        warn.push(item(
            format!("the drain of {} waits for your answer (d on it)", job.node_name),
            Tone::Warn,
        ));
    }
    if !model.jobs.pending.is_empty() {
        warn.push(item(
            format!("{} unfinished drain(s) in the journal (3 nodes, d)", model.jobs.pending.len()),
            Tone::Warn,
        ));
    }
    if !model.settled.is_empty() {
        warn.push(item(
            format!("{} interrupted change(s) settled at start (:journal)", model.settled.len()),
            Tone::Warn,
        ));
    }
    bad.extend(warn);
    bad
}

/// "capacity 8→1" when the capacity fell by half or more within the recent refreshes.
fn capacity_drop(model: &ConsoleState) -> Option<String> {
    let recent: Vec<u64> = model.samples.iter().rev().take(DROP_WINDOW).map(|s| s.capacity).collect();
    let now = *recent.first()?;
    let peak = recent.iter().copied().max()?;
    (peak >= 2 && now * 2 <= peak).then(|| format!("capacity fell {peak}→{now}"))
}

/// The line as drawn: the tone of its worst item, the items joined.
pub fn line(items: &[Item]) -> Option<(String, Tone)> {
    let first = items.first()?;
    let text = items.iter().map(|i| i.text.as_str()).collect::<Vec<_>>().join(" · ");
    Some((format!(" ▲ {text}"), first.tone))
}
