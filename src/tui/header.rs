//! The top of the screen: header (profile, server version, capacity vs instances, last refresh,
//! badges), the pane tabs, and the activity strip (capacity/running sparkline, provisioning gauge).

use super::app::{age, ConsoleState, PaneId};
use super::theme::Tone;
use crate::model::Action;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Sparkline};
use ratatui::Frame;

pub fn render_header(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState) {
    let theme = model.theme;
    // Badges first and the server version last, so a narrow terminal cuts the least useful part.
    let mut spans = Vec::new();
    if area.width >= 100 {
        spans.push(Span::styled(" scaleguard ", theme.title()));
    }
    if model.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.badge(Tone::Warn)));
        spans.push(Span::raw(" "));
    }
    if model.demo {
        spans.push(Span::styled(" DEMO ", theme.badge(Tone::Busy)));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::raw(format!("profile {} │ ", model.profile_name)));
    spans.push(refresh_span(model));
    for set in &model.sets {
        let tone = if set.instances == set.capacity && set.succeeded == set.capacity {
            Tone::Good
        } else {
            Tone::Busy
        };
        spans.push(Span::raw("│ "));
        spans.push(Span::styled(
            format!("{} cap {} / {} VMs ", set.name, set.capacity, set.instances),
            theme.tone(tone),
        ));
    }
    if let Some((text, tone)) = super::dialogs::findings::header_text(model.findings.report.as_ref()) {
        spans.push(Span::styled(text, theme.tone(tone)));
    }
    spans.push(Span::raw(format!("│ Octopus {}", model.server_version.as_deref().unwrap_or("?"))));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn refresh_span(model: &ConsoleState) -> Span<'static> {
    let theme = model.theme;
    let finished = model.refresh.last_finished.map(|at| age(at, model.now));
    let running = model.refresh.in_flight_since.map(|since| age(since, model.now));
    // Old data is not fresh just because a request is on its way: a hung server never answers.
    let stale = PaneId::ALL.into_iter().any(|pane| pane != PaneId::Journal && model.is_stale(pane));
    match (&model.refresh.last_error, finished) {
        (Some(_), Some(ago)) => Span::styled(format!("refresh FAILED {ago} "), theme.tone(Tone::Bad)),
        _ if model.refresh.in_flight_since.is_some() && model.refresh.last_finished.is_none() => {
            Span::styled("refreshing… ".to_string(), theme.tone(Tone::Busy))
        }
        (None, Some(ago)) if stale => {
            let waiting = running
                .map(|since| format!(", a refresh started {since} has not answered"))
                .unwrap_or_default();
            Span::styled(format!("STALE: refreshed {ago}{waiting} "), theme.tone(Tone::Bad))
        }
        (None, Some(ago)) => {
            let busy = if model.refresh.in_flight_since.is_some() { " (refreshing)" } else { "" };
            Span::styled(format!("refreshed {ago}{busy} "), theme.tone(Tone::Good))
        }
        (_, None) => Span::styled("not refreshed yet ".to_string(), theme.tone(Tone::Muted)),
    }
}

pub fn render_tabs(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState) {
    let theme = model.theme;
    let mut spans = Vec::new();
    for pane in PaneId::ALL {
        let stale = pane != PaneId::Journal && model.is_stale(pane);
        // Narrow terminals: the journal tab by its number only.
        let title = if pane == PaneId::Journal && area.width < 90 { "Jrnl" } else { pane.title() };
        let mut label = format!(" {} {title} ({})", pane.index() + 1, model.tab_count(pane));
        if stale {
            label.push_str(" STALE");
        }
        label.push(' ');
        let style = if pane == model.pane {
            theme.focused_button()
        } else if stale {
            theme.tone(Tone::Bad)
        } else {
            ratatui::style::Style::default()
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(if area.width < 90 { "" } else { " " }));
    }
    if !model.selected.is_empty() {
        spans.push(Span::styled(format!(" {} selected ", model.selected.len()), theme.tone(Tone::Warn)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Capacity vs running instances over time, and a gauge per scale set still provisioning.
pub fn render_strip(frame: &mut Frame<'_>, area: Rect, model: &ConsoleState) {
    let theme = model.theme;
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
    let rows = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).split(left);
    let width = left.width.saturating_sub(14) as usize;
    let skip = model.samples.len().saturating_sub(width);
    let capacity: Vec<u64> = model.samples.iter().skip(skip).map(|s| s.capacity).collect();
    let running: Vec<u64> = model.samples.iter().skip(skip).map(|s| s.running).collect();
    let max = capacity.iter().chain(&running).copied().max().unwrap_or(1).max(1);
    let last = model.samples.back();
    for (index, (label, data, now)) in
        [("capacity", &capacity, last.map(|s| s.capacity)), ("running ", &running, last.map(|s| s.running))]
            .into_iter()
            .enumerate()
    {
        let [text, spark] =
            Layout::horizontal([Constraint::Length(14), Constraint::Fill(1)]).areas(rows[index]);
        let value = now.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
        frame.render_widget(Paragraph::new(format!(" {label} {value:>3} ")), text);
        frame
            .render_widget(Sparkline::default().data(data.iter()).max(max).style(theme.series(index)), spark);
    }
    let waits: Vec<&Action> =
        model.diffs.rows.iter().map(|p| &p.action).filter(|a| matches!(a, Action::Wait { .. })).collect();
    if waits.is_empty() {
        let text = if model.instances.good_at.is_some() { " no scale set is provisioning" } else { "" };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.tone(Tone::Muted))), right);
        return;
    }
    let rows = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).split(right);
    for (row, action) in rows.iter().zip(waits) {
        if let Action::Wait { scale_set, succeeded, capacity, waiting_secs, timed_out, .. } = action {
            let ratio =
                if *capacity == 0 { 1.0 } else { (*succeeded as f64 / *capacity as f64).clamp(0.0, 1.0) };
            let tone = if *timed_out { Tone::Warn } else { Tone::Busy };
            let label = format!(
                "{} provisioning {succeeded}/{capacity}, waiting {waiting_secs}s{}",
                scale_set.name,
                if *timed_out { " TIMED OUT" } else { "" }
            );
            let gauge = LineGauge::default().ratio(ratio).label(label).filled_style(theme.tone(tone));
            frame.render_widget(gauge, *row);
        }
    }
}
