//! The scale dialog: type a capacity (digits, `+`/`-` to step) and a reason, and see the guard's
//! verdict, the delta and the VMs a scale-in would remove change as you type. The verdict is the
//! pure `scaling::propose` over the latest refresh's listing and the journal's history: no IO per
//! keystroke. It opens with focus on Cancel; Scale is pressed only when the
//! guard allows. The worker re-reads and re-checks before it changes anything.

use super::centered;
use crate::config::GuardConfig;
use crate::guard::{OtherScalers, ScaleRequest};
use crate::model::ScaleChange;
use crate::scaling::{propose, Proposal};
use crate::snapshot::ScaleSetListing;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use time::OffsetDateTime;

/// Capacities have at most this many digits (the guard's maximum is far below).
const MAX_DIGITS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Cancel,
    Reason,
    Scale,
}

const ORDER: [Focus; 3] = [Focus::Cancel, Focus::Reason, Focus::Scale];

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleDialog {
    pub profile: String,
    /// The scale set as last read (the latest refresh's listing while the dialog is open).
    pub listing: ScaleSetListing,
    pub limits: GuardConfig,
    pub history: Vec<ScaleChange>,
    /// Who else scales the set (Azure Autoscale, the Activity Log, what the console saw).
    pub others: OtherScalers,
    /// The capacity as typed: digits, edited at its end wherever the focus is except the reason.
    pub capacity: TextField,
    pub reason: TextField,
    pub focus: Focus,
    /// The guard's answer for what is typed now; None while no capacity is typed.
    pub proposal: Option<Proposal>,
    /// Why the dialog (re)opened, e.g. "the scale set changed since it was read".
    pub banner: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stay,
    Cancel,
    /// Run exactly this (the guard allowed it when pressed).
    Confirm(Box<Proposal>),
    /// `a`: open the Azure Autoscale change for this scale set.
    Autoscale,
}

impl ScaleDialog {
    pub fn open(
        profile: &str,
        listing: ScaleSetListing,
        limits: GuardConfig,
        history: Vec<ScaleChange>,
        others: OtherScalers,
        capacity: Option<u32>,
        now: OffsetDateTime,
    ) -> Self {
        let mut dialog = Self {
            profile: profile.to_string(),
            listing,
            limits,
            history,
            others,
            capacity: TextField::digits(MAX_DIGITS)
                .with_value(&capacity.map(|c| c.to_string()).unwrap_or_default()),
            reason: TextField::text(),
            focus: Focus::Cancel,
            proposal: None,
            banner: None,
            error: None,
        };
        dialog.recompute(now);
        dialog
    }

    /// Re-open after a 412: the fresh read, the same request, and why it is asked again.
    pub fn reopen(fresh: Proposal, history: Vec<ScaleChange>, banner: String, now: OffsetDateTime) -> Self {
        let listing = ScaleSetListing {
            state: fresh.state.clone(),
            instances: fresh.instances.clone(),
            foreign: vec![],
        };
        let mut dialog = Self::open(
            &fresh.profile,
            listing,
            fresh.limits.clone(),
            history,
            fresh.others.clone(),
            Some(fresh.target()),
            now,
        );
        dialog.reason = TextField::text().with_value(&fresh.request.reason);
        dialog.banner = Some(banner);
        dialog.recompute(now);
        dialog
    }

    pub fn current(&self) -> u32 {
        self.listing.state.capacity
    }

    pub fn typed_capacity(&self) -> Option<u32> {
        self.capacity.value().parse().ok()
    }

    /// The guard's verdict for what is typed now (pure).
    pub fn recompute(&mut self, now: OffsetDateTime) {
        self.proposal = self.typed_capacity().map(|capacity| {
            let request = ScaleRequest {
                scale_set: self.listing.state.key.clone(),
                new_capacity: capacity,
                reason: self.reason.value().to_string(),
                force: false,
            };
            let others = self.others.clone();
            propose(&self.profile, &self.limits, request, self.listing.clone(), &self.history, others, now)
        });
    }

    fn step(&mut self, up: bool) {
        let from = self.typed_capacity().unwrap_or_else(|| self.current());
        let to = if up { from.saturating_add(1) } else { from.saturating_sub(1) };
        self.capacity = TextField::digits(MAX_DIGITS).with_value(&to.to_string());
    }

    fn move_focus(&mut self, forward: bool) {
        self.focus = super::cycle(&ORDER, self.focus, forward);
    }

    pub fn on_key(&mut self, key: &KeyEvent, now: OffsetDateTime) -> Outcome {
        let typing_reason = self.focus == Focus::Reason;
        let edited = if typing_reason { self.reason.on_key(key) } else { self.capacity.on_key_at_end(key) };
        if edited.is_some() {
            self.error = None;
            self.recompute(now);
            return Outcome::Stay;
        }
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Tab | KeyCode::Down => self.move_focus(true),
            KeyCode::BackTab | KeyCode::Up => self.move_focus(false),
            KeyCode::Left | KeyCode::Right if !typing_reason => self.move_focus(key.code == KeyCode::Right),
            KeyCode::Char('+') => self.step(true),
            KeyCode::Char('-') => self.step(false),
            KeyCode::Char('a') => return Outcome::Autoscale,
            KeyCode::Enter => match self.focus {
                Focus::Cancel => return Outcome::Cancel,
                // Enter in the reason moves on; it never confirms by itself.
                Focus::Reason => self.focus = Focus::Scale,
                Focus::Scale => return self.press_scale(now),
            },
            _ => return Outcome::Stay,
        }
        self.error = None;
        self.recompute(now);
        Outcome::Stay
    }

    /// A paste goes into the reason when it has the focus, otherwise into the capacity (digits).
    pub fn paste(&mut self, text: &str, now: OffsetDateTime) {
        let field = if self.focus == Focus::Reason { &mut self.reason } else { &mut self.capacity };
        if field.paste(text) {
            self.error = None;
            self.recompute(now);
        }
    }

    fn press_scale(&mut self, now: OffsetDateTime) -> Outcome {
        self.recompute(now);
        match &self.proposal {
            None => self.error = Some("type the new capacity first".into()),
            Some(proposal) if proposal.is_allowed() => return Outcome::Confirm(Box::new(proposal.clone())),
            Some(proposal) => {
                let count = proposal.verdict.refusals().len();
                self.error = Some(format!("the guard refuses ({count} reason(s) above): nothing was sent"));
            }
        }
        Outcome::Stay
    }

    /// The dialog's text, verdict last with every reason (also what tests read).
    pub fn lines(&self) -> Vec<(String, Tone)> {
        let mut lines = Vec::new();
        if let Some(banner) = &self.banner {
            lines.push((banner.clone(), Tone::Warn));
        }
        let typed = format!(
            "New capacity [{}_]   digits to type, + / - to step, a: Azure Autoscale",
            self.capacity.value()
        );
        lines.push((typed, Tone::Good));
        match &self.proposal {
            Some(proposal) => {
                for line in proposal.lines() {
                    if line.starts_with("Reason") {
                        continue;
                    }
                    let tone = if line.starts_with("Verdict      ALLOWED") {
                        Tone::Good
                    } else if line.starts_with("Verdict") || line.starts_with("  - ") {
                        Tone::Bad
                    } else if line.starts_with("Scale-in") {
                        Tone::Warn
                    } else {
                        Tone::Muted
                    };
                    lines.push((line, tone));
                }
            }
            None => {
                let limits = &self.limits;
                lines.push((
                    format!("Scale set    {} (profile {})", self.listing.state.key, self.profile),
                    Tone::Muted,
                ));
                lines.push((format!("Capacity     {} now", self.current()), Tone::Muted));
                lines.push((
                    format!(
                        "Limits       min {}, max {}, at most {} per change, cooldown {}s",
                        limits.min_capacity, limits.max_capacity, limits.max_step, limits.cooldown_secs
                    ),
                    Tone::Muted,
                ));
                lines.push(("Verdict      type a capacity".into(), Tone::Muted));
            }
        }
        lines
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        let body = self.lines();
        let inner = usize::from(area.width.min(96).saturating_sub(2)).max(1);
        // Long lines wrap: count the rows they take.
        let body_rows: usize = body.iter().map(|(text, _)| text.chars().count().div_ceil(inner).max(1)).sum();
        // Body, a blank line, the reason, the error (if any), the buttons, and the border.
        // Word wrapping can take a row more than the character count says.
        let slack = u16::from(body_rows > body.len());
        let height = body_rows as u16 + 5 + slack + u16::from(self.error.is_some());
        let rect = centered(area, 96, height);
        frame.render_widget(Clear, rect);
        let title = format!(" Scale {} ", self.listing.state.key.name);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
        let mut lines: Vec<Line> =
            body.into_iter().map(|(text, tone)| Line::from(Span::styled(text, theme.tone(tone)))).collect();
        lines.push(Line::from(""));
        let reason_style = if self.focus == Focus::Reason {
            theme.focused_button()
        } else {
            ratatui::style::Style::default()
        };
        let required = if self.limits.require_reason { " (required)" } else { "" };
        let mut reason = vec![Span::raw(format!("Reason{required}: "))];
        reason.extend(self.reason.spans(self.focus == Focus::Reason, reason_style));
        lines.push(Line::from(reason));
        lines.extend(super::error_and_buttons(
            self.error.as_deref(),
            "Scale",
            match self.focus {
                Focus::Cancel => super::ButtonFocus::Cancel,
                Focus::Reason => super::ButtonFocus::Field,
                Focus::Scale => super::ButtonFocus::Confirm,
            },
            theme,
        ));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
