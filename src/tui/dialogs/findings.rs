//! The `!` overlay: the doctor's findings, most severe first, each with what was seen, what is
//! recommended, why it matters and the fix; and the header's count.

use super::centered;
use crate::model::Severity;
use crate::tui::messages::FindingsReport;
use crate::tui::scale_state::FindingsState;
use crate::tui::theme::{Theme, Tone};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// The overlay's text, one (line, tone) each (also what tests read).
pub fn lines(state: &FindingsState) -> Vec<(String, Tone)> {
    let Some(report) = &state.report else {
        let text = if state.gathering {
            "the doctor is reading…"
        } else {
            "no doctor run yet: `:doctor` runs one"
        };
        return vec![(text.to_string(), Tone::Muted)];
    };
    let mut lines = Vec::new();
    let counts = report.counts();
    lines.push((
        format!(
            "{} error(s), {} warning(s), {} info; `:doctor` reads again",
            counts.errors, counts.warnings, counts.info
        ),
        if counts.errors > 0 {
            Tone::Bad
        } else if counts.warnings > 0 {
            Tone::Warn
        } else {
            Tone::Good
        },
    ));
    for failure in &report.failures {
        lines.push((format!("could not check: {failure}"), Tone::Bad));
    }
    for finding in &report.findings {
        let tone = match finding.severity {
            Severity::Error => Tone::Bad,
            Severity::Warning => Tone::Warn,
            Severity::Info => Tone::Muted,
        };
        lines.push((String::new(), Tone::Muted));
        lines.push((format!("{:<7} {} — {}", finding.severity_label(), finding.subject, finding.id), tone));
        lines.push((format!("  observed     {}", finding.observed), Tone::Muted));
        lines.push((format!("  recommended  {}", finding.recommended), Tone::Muted));
        lines.push((format!("  why          {}", finding.why), Tone::Muted));
        lines.push((format!("  fix          {}", finding.fix), Tone::Good));
        lines.push((format!("  source       {}", finding.source.title), Tone::Muted));
        lines.push((format!("               {}", finding.source.url), Tone::Muted));
    }
    if report.findings.is_empty() && report.failures.is_empty() {
        lines.push(("nothing to fix: every checked setting is as recommended".into(), Tone::Good));
    }
    lines
}

fn frame_of(area: Rect) -> Rect {
    centered(area, area.width.saturating_sub(4).max(20), area.height.saturating_sub(2).max(5))
}

/// The largest useful scroll: the wrapped text's rows past what the overlay shows (so `G` goes
/// to the last finding and `j` stops there).
pub fn max_scroll(area: Rect, state: &FindingsState) -> u16 {
    let rect = frame_of(area);
    let inner = usize::from(rect.width.saturating_sub(2)).max(1);
    let rows: usize = lines(state).iter().map(|(text, _)| super::wrapped_rows(text, inner)).sum();
    u16::try_from(rows.saturating_sub(usize::from(rect.height.saturating_sub(2)))).unwrap_or(u16::MAX)
}

pub fn render(frame: &mut Frame<'_>, area: Rect, theme: Theme, state: &FindingsState, scroll: u16) {
    let rect = frame_of(area);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Doctor findings ", theme.title()))
        .title_bottom(" j/k PgDn/PgUp g/G scroll · Esc close ");
    let text: Vec<Line> = lines(state)
        .into_iter()
        .map(|(text, tone)| Line::from(Span::styled(text, theme.tone(tone))))
        .collect();
    let paragraph = Paragraph::new(text)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(max_scroll(area, state)), 0));
    frame.render_widget(paragraph, rect);
}

/// The header's count: "findings 1E 2W (!)"; None before the first run.
pub fn header_text(report: Option<&FindingsReport>) -> Option<(String, Tone)> {
    let report = report?;
    let counts = report.counts();
    if !report.failures.is_empty() {
        // Nothing found because nothing could be read is not "0 errors".
        let text = format!(
            "│ findings {}E {}W, {} check(s) could not run (!) ",
            counts.errors,
            counts.warnings,
            report.failures.len()
        );
        return Some((text, Tone::Warn));
    }
    let tone = if counts.errors > 0 {
        Tone::Bad
    } else if counts.warnings > 0 {
        Tone::Warn
    } else {
        Tone::Good
    };
    Some((format!("│ findings {}E {}W (!) ", counts.errors, counts.warnings), tone))
}
