//! The scale dialog: type a capacity (digits, `+`/`-` to step) and a reason, and see the guard's
//! verdict, the delta and the VMs a scale-in would remove change as you type. The verdict is the
//! pure `scaling::propose` over the latest refresh's listing and the journal's history: no IO per
//! keystroke. It opens on the capacity (shared focus model: `form`); Scale is pressed only when
//! the guard allows, and a scale-in (it deletes VMs) or a forced change also needs the scale set's
//! name typed (the one confirmation rule). When an unfinished provisioning stands in the way a force
//! box is offered, as `scale --force` is. The worker re-reads and re-checks before it
//! changes anything.

use super::centered;
use super::form::{Event, Field, Form, Slot};
use crate::config::GuardConfig;
use crate::config::NodesConfig;
use crate::executor::{confirmation_for, Change};
use crate::guard::{OtherScalers, ScaleRequest};
use crate::guard::{Refusal, Verdict};
use crate::model::{Node, ScaleChange};
use crate::node_job::ScaleInPlan;
use crate::scaling::{propose, Proposal};
use crate::snapshot::ScaleSetListing;
use crate::tui::relative_time::relative;
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

/// The form's fields, in order.
pub const CAPACITY: usize = 0;
pub const REASON: usize = 1;
pub const NAME: usize = 2;

const FORCE_LABEL: &str = "force: scale while a change still provisions or what others do is unknown";

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleDialog {
    pub profile: String,
    /// The scale set as last read (the latest refresh's listing while the dialog is open).
    pub listing: ScaleSetListing,
    pub limits: GuardConfig,
    pub history: Vec<ScaleChange>,
    /// Who else scales the set (Azure Autoscale, the Activity Log, what the console saw).
    pub others: OtherScalers,
    /// Capacity (digits), reason, and the name when the change needs it typed; the force box
    /// when it is offered; Cancel and Scale.
    pub form: Form,
    /// The guard's answer for what is typed now; None while no capacity is typed.
    pub proposal: Option<Proposal>,
    /// Why the dialog (re)opened, e.g. "the scale set changed since it was read".
    pub banner: Option<String>,
    /// When the verdict was last computed (times in it are shown relative to this).
    pub now: OffsetDateTime,
    /// The set hosts the HA nodes: a scale-in is drain-first, over these nodes.
    pub drain_first: Option<DrainFirst>,
    /// For a drain-first scale-in: the nodes chosen, what was passed over, every refusal.
    pub plan: Option<ScaleInPlan>,
}

/// What a drain-first scale-in is planned over: the latest node rows and the node timings.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainFirst {
    pub nodes: Vec<Node>,
    pub config: NodesConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stay,
    Cancel,
    /// Run exactly this (the guard allowed it when pressed).
    Confirm(Box<Proposal>),
    /// `a`: open the Azure Autoscale change for this scale set.
    Autoscale,
    /// Run this drain-first scale-in of the nodes' scale set (allowed when pressed).
    ScaleIn(Box<ScaleInPlan>),
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
        let typed =
            TextField::digits(MAX_DIGITS).with_value(&capacity.map(|c| c.to_string()).unwrap_or_default());
        let required = if limits.require_reason { "Reason (required)" } else { "Reason" };
        let form = Form::confirm("Scale")
            .with_field(Field::new("New capacity", typed))
            .with_field(Field::new(required, TextField::text()));
        let mut dialog = Self {
            profile: profile.to_string(),
            listing,
            limits,
            history,
            others,
            form: Form { focus: Slot::Field(CAPACITY), ..form },
            proposal: None,
            banner: None,
            now,
            drain_first: None,
            plan: None,
        };
        dialog.recompute(now);
        dialog
    }

    /// Re-open after a 412: the fresh read, the same request, and why it is asked again.
    pub fn reopen(fresh: Proposal, history: Vec<ScaleChange>, banner: String, now: OffsetDateTime) -> Self {
        let listing = ScaleSetListing {
            state: fresh.state.clone(),
            instances: fresh.instances.clone(),
            reread: None,
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
        dialog.form.fields[REASON].input = TextField::text().with_value(&fresh.request.reason);
        dialog.banner = Some(banner);
        dialog.recompute(now);
        dialog
    }

    pub fn current(&self) -> u32 {
        self.listing.state.capacity
    }

    pub fn typed_capacity(&self) -> Option<u32> {
        self.form.field(CAPACITY).value().parse().ok()
    }

    pub fn reason(&self) -> &str {
        self.form.field(REASON).value()
    }

    fn propose(&self, capacity: u32, force: bool, now: OffsetDateTime) -> Proposal {
        let request = ScaleRequest {
            scale_set: self.listing.state.key.clone(),
            new_capacity: capacity,
            reason: self.reason().to_string(),
            force,
        };
        propose(
            &self.profile,
            &self.limits,
            request,
            self.listing.clone(),
            &self.history,
            self.others.clone(),
            now,
        )
    }

    /// The guard's verdict for what is typed now (pure), and the form that goes with it: the force
    /// box while an unfinished provisioning refuses (or it is ticked), and the name field
    /// while the change needs it typed.
    pub fn recompute(&mut self, now: OffsetDateTime) {
        self.now = now;
        let Some(capacity) = self.typed_capacity() else {
            self.proposal = None;
            self.set_name_field(None);
            return;
        };
        let unforced = self.propose(capacity, false, now);
        // Force lifts what `scale --force` lifts: an unfinished provisioning, or a cooldown or
        // Autoscale state that could not be read. Nothing else.
        let forceable = matches!(&unforced.verdict, Verdict::Refused { reasons }
            if reasons.iter().any(|r| matches!(r, Refusal::StillProvisioning { .. }
                | Refusal::CooldownUnknown { .. } | Refusal::AutoscaleUnknown { .. })));
        let ticked = self.form.toggled(0);
        if forceable || ticked {
            if self.form.toggles.is_empty() {
                self.form.toggles.push((FORCE_LABEL.to_string(), false));
            }
        } else if self.form.focus != Slot::Toggle(0) {
            self.form.toggles.clear();
        }
        let proposal = if ticked { self.propose(capacity, true, now) } else { unforced };
        let needed = confirmation_for(Change::Capacity {
            scale_set: &self.listing.state.key.name,
            from: proposal.current(),
            to: proposal.target(),
            forced: ticked,
        });
        self.set_name_field(needed.word());
        self.plan = match &self.drain_first {
            Some(ha) if proposal.delta() < 0 => {
                Some(ScaleInPlan::new(proposal.clone(), ha.nodes.clone(), now, &ha.config))
            }
            _ => None,
        };
        self.proposal = Some(proposal);
    }

    /// Open over the nodes' scale set: a scale-in drains the chosen nodes first.
    pub fn drain_first(mut self, nodes: Vec<Node>, config: NodesConfig, now: OffsetDateTime) -> Self {
        self.drain_first = Some(DrainFirst { nodes, config });
        self.recompute(now);
        self
    }

    /// Add the typed-name field when the change needs it, drop it when it no longer does.
    fn set_name_field(&mut self, word: Option<&str>) {
        match (word, self.form.fields.len() > NAME) {
            (Some(word), false) => {
                self.form.fields.push(Field { label: format!("type `{word}`"), ..Field::confirm(word) })
            }
            (None, true) => {
                self.form.fields.truncate(NAME);
                if self.form.focus == Slot::Field(NAME) {
                    self.form.focus = Slot::Field(REASON);
                }
            }
            _ => {}
        }
    }

    fn step(&mut self, up: bool) {
        let from = self.typed_capacity().unwrap_or_else(|| self.current());
        let to = if up { from.saturating_add(1) } else { from.saturating_sub(1) };
        self.form.fields[CAPACITY].input = TextField::digits(MAX_DIGITS).with_value(&to.to_string());
    }

    pub fn on_key(&mut self, key: &KeyEvent, now: OffsetDateTime) -> Outcome {
        let in_text = matches!(self.form.focus, Slot::Field(REASON) | Slot::Field(NAME));
        if let (KeyCode::Char(c @ ('+' | '-')), false) = (key.code, in_text) {
            self.step(c == '+');
            self.form.error = None;
            self.recompute(now);
            return Outcome::Stay;
        }
        // `a` opens the Autoscale change unless a text field would take the letter.
        if key.code == KeyCode::Char('a') && !in_text {
            return Outcome::Autoscale;
        }
        let outcome = match self.form.on_key(key) {
            Event::Cancel => return Outcome::Cancel,
            Event::Press(_) => self.press_scale(now),
            _ => Outcome::Stay,
        };
        self.recompute(now);
        outcome
    }

    /// A paste goes into the focused field (the capacity takes only its digits).
    pub fn paste(&mut self, text: &str, now: OffsetDateTime) {
        if self.form.paste(text).is_some() {
            self.recompute(now);
        }
    }

    fn press_scale(&mut self, now: OffsetDateTime) -> Outcome {
        self.recompute(now);
        match &self.proposal {
            None => self.form.fail("type the new capacity first", Slot::Field(CAPACITY)),
            Some(_) if self.plan.as_ref().is_some_and(|plan| !plan.is_allowed()) => {
                let count = self.plan.as_ref().map_or(0, |plan| plan.refusals().len());
                self.form.error = Some(format!("refused ({count} reason(s) above): nothing was sent"));
            }
            Some(proposal) if proposal.is_allowed() => {
                // The name field may have just appeared (a ticked force): it must match too.
                if let Some(field) = self.form.fields.get(NAME) {
                    if let Some(word) = field.must_type.clone().filter(|w| field.input.value().trim() != w) {
                        self.form.fail(format!("type `{word}` to confirm"), Slot::Field(NAME));
                        return Outcome::Stay;
                    }
                }
                if let Some(plan) = &self.plan {
                    return Outcome::ScaleIn(Box::new(plan.clone()));
                }
                return Outcome::Confirm(Box::new(proposal.clone()));
            }
            Some(proposal) => {
                let count = proposal.verdict.refusals().len();
                let error = format!("the guard refuses ({count} reason(s) above): nothing was sent");
                self.form.error = Some(error);
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
        lines.push(("Capacity: digits to type, + / - to step, a: Azure Autoscale".to_string(), Tone::Muted));
        let drain_first = self.plan.as_ref().map(ScaleInPlan::lines);
        match &self.proposal {
            Some(proposal) => {
                for line in drain_first.unwrap_or_else(|| proposal.lines()) {
                    let line = relative(&line, self.now);
                    if line.starts_with("Reason") {
                        continue;
                    }
                    let tone = if line.starts_with("Verdict      ALLOWED") {
                        Tone::Good
                    } else if line.starts_with("Verdict") || line.starts_with("  - ") {
                        Tone::Bad
                    } else if line.starts_with("Scale-in")
                        || line.starts_with("Remove")
                        || line.starts_with("   ")
                    {
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
        // Body, a blank line, the form, and the border. Word wrapping can take a row more than
        // the character count says.
        let slack = u16::from(body_rows > body.len());
        let foot = self.form.lines(theme).len() as u16;
        let height = body_rows as u16 + 3 + foot + slack;
        let rect = centered(area, 96, height);
        frame.render_widget(Clear, rect);
        let title = format!(" Scale {} ", self.listing.state.key.name);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
        let mut lines: Vec<Line> =
            body.into_iter().map(|(text, tone)| Line::from(Span::styled(text, theme.tone(tone)))).collect();
        lines.push(Line::from(""));
        lines.extend(self.form.lines(theme));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
