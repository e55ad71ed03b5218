//! The Autoscale change dialog (opened with `a` from the scale dialog): the active profile's
//! minimum, maximum and default and the setting's enabled flag, a reason, and the guard's verdict
//! live (the pure `autoscale::evaluate_change` over the latest refresh: no IO per keystroke). It
//! opens on its first field (shared focus model: `form`); Apply is pressed only when the guard
//! allows, and a change that makes Autoscale scale in (or turns it off) needs the scale set's name
//! typed, as a delete does (the one confirmation rule). Turning it on while its active profile
//! cannot be worked out, or making Autoscale move the capacity while the cooldown is unknown (the
//! Activity Log could not be read), is refused; a force box is then offered, as `autoscale --force`
//! is, and a forced change needs the name typed too. The worker reads the setting again and compares it
//! before it writes.

use super::centered;
use super::form::{Event, Field, Form, Slot};
use crate::autoscale::{
    active_index, evaluate_change, AutoscaleChange, AutoscaleRefusal, ChangeVerdict, CooldownNow,
    ScheduleError, Setting,
};
use crate::config::GuardConfig;
use crate::executor::{confirmation_for, Change};
use crate::guard::Refusal;
use crate::model::ScaleSetKey;
pub use crate::tui::messages::AutoscaleRequest;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use time::OffsetDateTime;

const MAX_DIGITS: usize = 4;
const MINIMUM: usize = 0;
const MAXIMUM: usize = 1;
const DEFAULT: usize = 2;
const REASON: usize = 3;
/// The typed name, present only while the change needs it.
const NAME: usize = 4;
/// The tick boxes: Enabled, and force while it is offered.
const ENABLED: usize = 0;
const FORCE: usize = 1;

const FORCE_LABEL: &str = "force: go ahead although its active profile or the cooldown is unknown";

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stay,
    Cancel,
    Confirm(Box<AutoscaleRequest>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AutoscaleDialog {
    pub key: ScaleSetKey,
    pub setting: Setting,
    /// Its active profile (None when none applies, an error when that cannot be worked out).
    pub active: Result<Option<usize>, ScheduleError>,
    pub capacity: u32,
    pub limits: GuardConfig,
    /// The guard's cooldown now (running, unknown): it counts when the change moves the capacity.
    pub cooldown: CooldownNow,
    /// Minimum, maximum, default, reason, and the scale set's name while the change needs it
    /// typed; the Enabled box, and the force box while it is offered; Cancel and Apply (shared
    /// focus model: `form`).
    pub form: Form,
    pub verdict: ChangeVerdict,
    pub banner: Option<String>,
}

impl AutoscaleDialog {
    pub fn open(
        key: ScaleSetKey,
        setting: Setting,
        capacity: u32,
        limits: GuardConfig,
        cooldown: CooldownNow,
        now: OffsetDateTime,
    ) -> Self {
        let active = active_index(&setting, now);
        let range =
            active.as_ref().ok().copied().flatten().and_then(|i| setting.profiles.get(i)).map(|p| p.capacity);
        let number = |label: &str, value: Option<u32>| {
            let input =
                TextField::digits(MAX_DIGITS).with_value(&value.map(|v| v.to_string()).unwrap_or_default());
            Field::new(label, input)
        };
        let required = if limits.require_reason { "Reason (required)" } else { "Reason" };
        let mut form = Form::confirm("Apply")
            .with_field(number("Minimum", range.map(|r| r.minimum)))
            .with_field(number("Maximum", range.map(|r| r.maximum)))
            .with_field(number("Default", range.map(|r| r.default)))
            .with_field(Field::new(required, TextField::text()))
            .with_toggle("Enabled");
        form.toggles[ENABLED].1 = setting.enabled;
        let mut dialog = Self {
            key,
            setting,
            active,
            capacity,
            limits,
            cooldown,
            form,
            verdict: ChangeVerdict::Refused { reasons: vec![] },
            banner: None,
        };
        dialog.recompute();
        dialog
    }

    fn typed(&self, index: usize) -> Option<u32> {
        self.form.field(index).value().parse().ok()
    }

    pub fn enabled(&self) -> bool {
        self.form.toggled(ENABLED)
    }

    pub fn reason(&self) -> &str {
        self.form.field(REASON).value()
    }

    /// The active profile, when it is known.
    fn known_active(&self) -> Option<&crate::autoscale::Profile> {
        self.active.as_ref().ok().copied().flatten().and_then(|i| self.setting.profiles.get(i))
    }

    /// The change the fields describe (only what differs from the setting as read).
    pub fn change(&self) -> AutoscaleChange {
        let range = self.known_active().map(|p| p.capacity);
        let differs = |typed: Option<u32>, now: Option<u32>| typed.filter(|t| Some(*t) != now);
        AutoscaleChange {
            minimum: differs(self.typed(MINIMUM), range.map(|r| r.minimum)),
            maximum: differs(self.typed(MAXIMUM), range.map(|r| r.maximum)),
            default: differs(self.typed(DEFAULT), range.map(|r| r.default)),
            enabled: (self.enabled() != self.setting.enabled).then_some(self.enabled()),
            force: self.form.toggled(FORCE),
        }
    }

    fn evaluate(&self, force: bool) -> ChangeVerdict {
        evaluate_change(
            &self.limits,
            &self.setting,
            &self.active,
            &AutoscaleChange { force, ..self.change() },
            self.reason(),
            self.capacity,
            self.cooldown.clone(),
        )
    }

    /// The verdict for what is typed now (pure), and the form that goes with it: the force box
    /// while an unknown active profile or cooldown refuses (or it is ticked), and the typed-name
    /// field while the one confirmation rule asks for it.
    pub fn recompute(&mut self) {
        let unforced = self.evaluate(false);
        // Force lifts what `autoscale --force` lifts: the unknown active profile, the unknown
        // cooldown. Nothing else.
        let forceable = matches!(&unforced, ChangeVerdict::Refused { reasons }
            if reasons.iter().any(|r| matches!(r, AutoscaleRefusal::ActiveProfileUnknown { .. }
                | AutoscaleRefusal::ImpliedMove { refusal: Refusal::CooldownUnknown { .. }, .. })));
        let ticked = self.form.toggled(FORCE);
        if forceable || ticked {
            if self.form.toggles.len() <= FORCE {
                self.form.toggles.push((FORCE_LABEL.to_string(), false));
            }
        } else if self.form.focus != Slot::Toggle(FORCE) {
            self.form.toggles.truncate(FORCE);
        }
        self.verdict = if ticked { self.evaluate(true) } else { unforced };
        let needs_name = self.needs_name();
        match (needs_name, self.form.fields.len() > NAME) {
            (true, false) => {
                let word = self.key.name.clone();
                self.form.fields.push(Field { label: format!("type `{word}`"), ..Field::confirm(&word) });
            }
            (false, true) => {
                self.form.fields.truncate(NAME);
                if self.form.focus == Slot::Field(NAME) {
                    self.form.focus = Slot::Field(REASON);
                }
            }
            _ => {}
        }
    }

    /// A change that makes Autoscale scale in, turns it off, or is forced past an unknown active
    /// profile or cooldown is confirmed by typing the name (the one confirmation rule,
    /// `executor::confirmation_for`).
    pub fn needs_name(&self) -> bool {
        match &self.verdict {
            ChangeVerdict::Allowed { before, after, implied_move, forced, .. } => {
                confirmation_for(Change::Autoscale {
                    scale_set: &self.key.name,
                    implied_move: *implied_move,
                    disables: before.enabled && !after.enabled,
                    forced: *forced,
                })
                .word()
                .is_some()
            }
            ChangeVerdict::Refused { .. } => false,
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        let outcome = match self.form.on_key(key) {
            Event::Cancel => return Outcome::Cancel,
            Event::Press(_) => self.press_apply(),
            _ => Outcome::Stay,
        };
        self.recompute();
        outcome
    }

    pub fn paste(&mut self, text: &str) {
        if self.form.paste(text).is_some() {
            self.recompute();
        }
    }

    /// Apply was pressed (the form has checked the typed name already).
    fn press_apply(&mut self) -> Outcome {
        self.recompute();
        match &self.verdict {
            ChangeVerdict::Refused { reasons } => {
                let error =
                    format!("the guard refuses ({} reason(s) above): nothing was sent", reasons.len());
                self.form.fail(error, Slot::Button(0));
                Outcome::Stay
            }
            ChangeVerdict::Allowed { .. } if self.needs_name() && self.form.fields.len() <= NAME => {
                // The name field appears with this very change: ask for it before anything runs.
                self.recompute();
                self.form.fail(format!("type `{}` to confirm", self.key.name), Slot::Field(NAME));
                Outcome::Stay
            }
            ChangeVerdict::Allowed { .. } => Outcome::Confirm(Box::new(AutoscaleRequest {
                scale_set: self.key.clone(),
                setting: self.setting.name.clone(),
                seen: self.setting.resource.clone(),
                change: self.change(),
                reason: self.reason().to_string(),
                active: self.active.clone(),
                confirmed: self.verdict.clone(),
            })),
        }
    }

    /// The dialog's text, verdict last with every reason (also what tests read).
    pub fn lines(&self) -> Vec<(String, Tone)> {
        let mut lines = Vec::new();
        if let Some(banner) = &self.banner {
            lines.push((banner.clone(), Tone::Warn));
        }
        let profile = match (&self.active, self.known_active()) {
            (Err(why), _) => format!("unknown: {why}"),
            (Ok(_), Some(profile)) => format!("\"{}\"", profile.display_name()),
            (Ok(_), None) => "none applies now".into(),
        };
        lines.push((
            format!("Setting      {} on scale set {}, active profile {profile}", self.setting.name, self.key),
            Tone::Muted,
        ));
        lines.push((format!("Capacity     {} now", self.capacity), Tone::Muted));
        match &self.verdict {
            ChangeVerdict::Allowed { before, after, implied_move, warnings, .. } => {
                lines.push((format!("Now          {before}"), Tone::Muted));
                lines.push((format!("After        {after}"), Tone::Muted));
                if let Some((from, to)) = implied_move {
                    lines.push((format!("Autoscale will move the capacity from {from} to {to}"), Tone::Warn));
                }
                lines.push(("Verdict      ALLOWED".into(), Tone::Good));
                lines.extend(warnings.iter().map(|w| (format!("  ! {w}"), Tone::Warn)));
            }
            ChangeVerdict::Refused { reasons } => {
                lines.push((format!("Verdict      REFUSED ({} reason(s))", reasons.len()), Tone::Bad));
                lines.extend(reasons.iter().map(|r| (format!("  - {r}"), Tone::Bad)));
            }
        }
        lines
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        let body = self.lines();
        let inner = usize::from(area.width.min(96).saturating_sub(2)).max(1);
        let body_rows: usize = body.iter().map(|(text, _)| super::wrapped_rows(text, inner)).sum();
        let form_rows = self.form.fields.len() + self.form.toggles.len() + 3;
        let height = (body_rows + form_rows) as u16 + 3 + u16::from(self.form.error.is_some());
        let rect = centered(area, 96, height);
        frame.render_widget(Clear, rect);
        let title = format!(" Azure Autoscale of {} ", self.key.name);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
        let mut lines: Vec<Line> =
            body.into_iter().map(|(text, tone)| Line::from(Span::styled(text, theme.tone(tone)))).collect();
        lines.push(Line::from(""));
        lines.extend(self.form.lines(theme));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
