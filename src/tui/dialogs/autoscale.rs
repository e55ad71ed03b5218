//! The Autoscale change dialog (opened with `a` from the scale dialog): the active profile's
//! minimum, maximum and default and the setting's enabled flag, a reason, and the guard's verdict
//! live (the pure `autoscale::evaluate_change` over the latest refresh: no IO per keystroke). It
//! opens on Cancel; Apply is pressed only when the guard allows, and a change that makes Autoscale
//! scale in (or turns it off) needs the scale set's name typed, as a delete does. The worker reads
//! the setting again and compares it before it writes.

use super::centered;
use crate::autoscale::{active_profile, evaluate_change, AutoscaleChange, ChangeVerdict, Setting};
use crate::config::GuardConfig;
use crate::guard::Refusal;
use crate::model::ScaleSetKey;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use time::OffsetDateTime;

const MAX_DIGITS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Cancel,
    Minimum,
    Maximum,
    Default,
    Enabled,
    Reason,
    Confirm,
    Apply,
}

/// What the worker gets: the change, confirmed over the values the operator saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoscaleRequest {
    pub scale_set: ScaleSetKey,
    pub setting: String,
    /// The setting's resource as the operator saw it: the worker writes only over that.
    pub seen: serde_json::Value,
    pub change: AutoscaleChange,
    pub reason: String,
}

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
    pub active: Option<usize>,
    pub capacity: u32,
    pub limits: GuardConfig,
    /// The guard's cooldown refusal now, if any: it counts when the change moves the capacity.
    pub cooldown: Option<Refusal>,
    pub minimum: TextField,
    pub maximum: TextField,
    pub default: TextField,
    pub enabled: bool,
    pub reason: TextField,
    /// The scale set's name, typed when the change makes Autoscale scale in or turns it off.
    pub typed_name: TextField,
    pub focus: Focus,
    pub verdict: ChangeVerdict,
    pub banner: Option<String>,
    pub error: Option<String>,
}

impl AutoscaleDialog {
    pub fn open(
        key: ScaleSetKey,
        setting: Setting,
        capacity: u32,
        limits: GuardConfig,
        cooldown: Option<Refusal>,
        now: OffsetDateTime,
    ) -> Self {
        let active = active_profile(&setting.profiles, now).ok().flatten().map(|a| a.index);
        let range = active.and_then(|i| setting.profiles.get(i)).map(|p| p.capacity);
        let field = |value: Option<u32>| {
            TextField::digits(MAX_DIGITS).with_value(&value.map(|v| v.to_string()).unwrap_or_default())
        };
        let mut dialog = Self {
            key,
            enabled: setting.enabled,
            minimum: field(range.map(|r| r.minimum)),
            maximum: field(range.map(|r| r.maximum)),
            default: field(range.map(|r| r.default)),
            setting,
            active,
            capacity,
            limits,
            cooldown,
            reason: TextField::text(),
            typed_name: TextField::text(),
            focus: Focus::Cancel,
            verdict: ChangeVerdict::Refused { reasons: vec![] },
            banner: None,
            error: None,
        };
        dialog.recompute();
        dialog
    }

    fn typed(field: &TextField) -> Option<u32> {
        field.value().parse().ok()
    }

    /// The change the fields describe (only what differs from the setting as read).
    pub fn change(&self) -> AutoscaleChange {
        let range = self.active.and_then(|i| self.setting.profiles.get(i)).map(|p| p.capacity);
        let differs = |typed: Option<u32>, now: Option<u32>| typed.filter(|t| Some(*t) != now);
        AutoscaleChange {
            minimum: differs(Self::typed(&self.minimum), range.map(|r| r.minimum)),
            maximum: differs(Self::typed(&self.maximum), range.map(|r| r.maximum)),
            default: differs(Self::typed(&self.default), range.map(|r| r.default)),
            enabled: (self.enabled != self.setting.enabled).then_some(self.enabled),
        }
    }

    pub fn recompute(&mut self) {
        self.verdict = evaluate_change(
            &self.limits,
            &self.setting,
            self.active,
            &self.change(),
            self.reason.value(),
            self.capacity,
            self.cooldown.clone(),
        );
    }

    /// A change that makes Autoscale scale in, or turns it off, is confirmed by typing the name.
    pub fn needs_name(&self) -> bool {
        match &self.verdict {
            ChangeVerdict::Allowed { before, after, implied_move, .. } => {
                implied_move.is_some_and(|(from, to)| to < from) || (before.enabled && !after.enabled)
            }
            ChangeVerdict::Refused { .. } => false,
        }
    }

    fn order(&self) -> Vec<Focus> {
        let mut order = vec![
            Focus::Cancel,
            Focus::Minimum,
            Focus::Maximum,
            Focus::Default,
            Focus::Enabled,
            Focus::Reason,
        ];
        if self.needs_name() {
            order.push(Focus::Confirm);
        }
        order.push(Focus::Apply);
        order
    }

    fn field(&mut self) -> Option<&mut TextField> {
        match self.focus {
            Focus::Minimum => Some(&mut self.minimum),
            Focus::Maximum => Some(&mut self.maximum),
            Focus::Default => Some(&mut self.default),
            Focus::Reason => Some(&mut self.reason),
            Focus::Confirm => Some(&mut self.typed_name),
            Focus::Cancel | Focus::Enabled | Focus::Apply => None,
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        if let Some(field) = self.field() {
            if field.on_key(key).is_some() {
                self.error = None;
                self.recompute();
                return Outcome::Stay;
            }
        }
        let order = self.order();
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Tab | KeyCode::Down => self.focus = super::cycle(&order, self.focus, true),
            KeyCode::BackTab | KeyCode::Up => self.focus = super::cycle(&order, self.focus, false),
            KeyCode::Char(' ') if self.focus == Focus::Enabled => self.enabled = !self.enabled,
            KeyCode::Enter => match self.focus {
                Focus::Cancel => return Outcome::Cancel,
                Focus::Enabled => self.enabled = !self.enabled,
                Focus::Apply => return self.press_apply(),
                // Enter in a field moves on; it never confirms by itself.
                _ => self.focus = super::cycle(&order, self.focus, true),
            },
            _ => return Outcome::Stay,
        }
        self.error = None;
        self.recompute();
        Outcome::Stay
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(field) = self.field() {
            if field.paste(text) {
                self.error = None;
                self.recompute();
            }
        }
    }

    fn press_apply(&mut self) -> Outcome {
        self.recompute();
        match &self.verdict {
            ChangeVerdict::Refused { reasons } => {
                self.error =
                    Some(format!("the guard refuses ({} reason(s) above): nothing was sent", reasons.len()));
            }
            ChangeVerdict::Allowed { .. }
                if self.needs_name() && self.typed_name.value() != self.key.name =>
            {
                self.error = Some(format!("type the scale set's name ({}) to confirm", self.key.name));
                self.focus = Focus::Confirm;
            }
            ChangeVerdict::Allowed { .. } => {
                return Outcome::Confirm(Box::new(AutoscaleRequest {
                    scale_set: self.key.clone(),
                    setting: self.setting.name.clone(),
                    seen: self.setting.resource.clone(),
                    change: self.change(),
                    reason: self.reason.value().to_string(),
                }))
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
        let profile = self
            .active
            .and_then(|i| self.setting.profiles.get(i))
            .map(|p| format!("\"{}\"", p.display_name()))
            .unwrap_or_else(|| "none applies now".into());
        lines.push((
            format!("Setting      {} on scale set {}, active profile {profile}", self.setting.name, self.key),
            Tone::Muted,
        ));
        lines.push((format!("Capacity     {} now", self.capacity), Tone::Muted));
        match &self.verdict {
            ChangeVerdict::Allowed { before, after, implied_move, warnings } => {
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
        let height = body_rows as u16 + 8 + u16::from(self.needs_name()) + u16::from(self.error.is_some());
        let rect = centered(area, 96, height);
        frame.render_widget(Clear, rect);
        let title = format!(" Azure Autoscale of {} ", self.key.name);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(title, theme.title()));
        let mut lines: Vec<Line> =
            body.into_iter().map(|(text, tone)| Line::from(Span::styled(text, theme.tone(tone)))).collect();
        lines.push(Line::from(""));
        let style = |focus: Focus| {
            if self.focus == focus {
                theme.focused_button()
            } else {
                ratatui::style::Style::default()
            }
        };
        let mut numbers = Vec::new();
        for (label, field, focus) in [
            ("Minimum ", &self.minimum, Focus::Minimum),
            ("   Maximum ", &self.maximum, Focus::Maximum),
            ("   Default ", &self.default, Focus::Default),
        ] {
            numbers.push(Span::raw(label));
            numbers.extend(field.spans(self.focus == focus, style(focus)));
        }
        lines.push(Line::from(numbers));
        let check = if self.enabled { "[x]" } else { "[ ]" };
        lines.push(Line::from(vec![
            Span::styled(format!("{check} Enabled"), style(Focus::Enabled)),
            Span::raw("   Space toggles"),
        ]));
        let required = if self.limits.require_reason { " (required)" } else { "" };
        let mut reason = vec![Span::raw(format!("Reason{required}: "))];
        reason.extend(self.reason.spans(self.focus == Focus::Reason, style(Focus::Reason)));
        lines.push(Line::from(reason));
        if self.needs_name() {
            let mut name = vec![Span::raw(format!("Type {} to confirm: ", self.key.name))];
            name.extend(self.typed_name.spans(self.focus == Focus::Confirm, style(Focus::Confirm)));
            lines.push(Line::from(name));
        }
        lines.extend(super::error_and_buttons(
            self.error.as_deref(),
            "Apply",
            match self.focus {
                Focus::Cancel => super::ButtonFocus::Cancel,
                Focus::Apply => super::ButtonFocus::Confirm,
                _ => super::ButtonFocus::Field,
            },
            theme,
        ));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
