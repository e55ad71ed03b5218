//! The approval dialog. It captures exactly what will run when it opens, so a refresh cannot
//! change it. The one confirmation rule (`executor::confirmation_for`) decides what it asks: a
//! delete of more than `confirm_over` targets (or of a set's every target) needs the scale set's
//! name typed; it then opens on that field. Otherwise it opens on Cancel.

use super::centered;
use super::form::{Event, Field, Form, Slot};
use crate::executor::{confirmation_for, Change, Confirmation};
use crate::model::PlannedAction;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproveDialog {
    /// What will run, captured when the dialog opened.
    pub actions: Vec<PlannedAction>,
    pub confirmation: Confirmation,
    pub form: Form,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Cancel,
    Confirm(Vec<PlannedAction>),
}

impl ApproveDialog {
    pub fn open(actions: Vec<PlannedAction>, confirm_over: u32, word: &str) -> Self {
        let confirmation = confirmation_for(Change::Plan { actions: &actions, confirm_over, word });
        let mut form = Form::confirm("Approve");
        if let Some(word) = confirmation.word() {
            form = form.with_field(Field::confirm(word));
        }
        Self { actions, confirmation, form }
    }

    pub fn needs_typed(&self) -> bool {
        self.confirmation != Confirmation::Plain
    }

    pub fn focus(&self) -> Slot {
        self.form.focus
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        match self.form.on_key(key) {
            Event::Cancel => Outcome::Cancel,
            Event::Press(_) => Outcome::Confirm(self.actions.clone()),
            _ => Outcome::Stay,
        }
    }

    /// A paste goes into the name box when it has the focus; elsewhere it is ignored.
    pub fn paste(&mut self, text: &str) {
        self.form.paste(text);
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        // List what fits (a long summary wraps onto more rows), the rest as "… and N more".
        let inner = usize::from(area.width.min(76).saturating_sub(2)).max(1);
        let foot = self.form.lines(theme);
        let reach = usize::from(crate::model::tenant_reach(&self.actions).is_some());
        let fixed = 4 + reach + foot.len() + usize::from(self.needs_typed()) * 2;
        let budget = usize::from(area.height).saturating_sub(fixed + 2).max(1);
        let mut list_rows = 0;
        let mut listed = 0;
        for planned in &self.actions {
            let rows = super::wrapped_rows(&format!("  • {}", planned.action.summary()), inner);
            if listed > 0 && list_rows + rows > budget {
                break;
            }
            list_rows += rows;
            listed += 1;
        }
        let mut lines = vec![Line::from("These will run, in this order:")];
        for planned in self.actions.iter().take(listed) {
            let tone = if planned.action.is_destructive() { Tone::Bad } else { Tone::Good };
            lines.push(Line::from(vec![
                Span::raw("  • "),
                Span::styled(planned.action.summary(), theme.tone(tone)),
            ]));
        }
        if self.actions.len() > listed {
            lines.push(Line::from(format!("  … and {} more", self.actions.len() - listed)));
        }
        if let Some(reach) = crate::model::tenant_reach(&self.actions) {
            lines.push(Line::from(format!("Deploys reach {reach}.")));
        }
        lines.push(Line::from(""));
        if let Confirmation::Typed { word, why } = &self.confirmation {
            lines.push(Line::from(Span::styled(
                format!("This needs the typed confirmation ({why}): type `{word}` to confirm."),
                theme.tone(Tone::Warn),
            )));
        }
        lines.extend(foot);
        let rows: usize = lines.iter().map(|line| line.width().max(1).div_ceil(inner)).sum();
        let rect = centered(area, 76, rows as u16 + 2);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(format!(" Approve {} change(s) ", self.actions.len()), theme.title()));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;
    use ratatui::crossterm::event::KeyCode;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::from(code)
    }

    #[test]
    fn a_plain_approval_opens_on_cancel_and_enter_cancels() {
        let mut dialog =
            ApproveDialog::open(vec![fixtures::delete("Machines-9", "vmssweb000009")], 3, "vmss-web");
        assert!(!dialog.needs_typed(), "one delete, confirm_over 3: a plain yes");
        assert_eq!(dialog.focus(), Slot::Button(0));
        assert_eq!(dialog.on_key(&key(KeyCode::Enter)), Outcome::Cancel);
    }

    #[test]
    fn more_deletes_than_confirm_over_need_the_name_typed() {
        let deletes: Vec<_> =
            (0..8).map(|i| fixtures::delete(&format!("Machines-{i}"), &format!("web-{i}"))).collect();
        let mut dialog = ApproveDialog::open(deletes.clone(), 3, "vmss-web");
        assert!(dialog.needs_typed());
        assert_eq!(dialog.focus(), Slot::Field(0), "opens on the name");
        for c in "vmss-web".chars() {
            dialog.on_key(&key(KeyCode::Char(c)));
        }
        assert_eq!(dialog.on_key(&key(KeyCode::Enter)), Outcome::Stay, "Enter in the box only moves on");
        assert_eq!(dialog.on_key(&key(KeyCode::Enter)), Outcome::Confirm(deletes));
    }

    #[test]
    fn deploys_alone_never_need_the_name() {
        let deploys: Vec<_> = (0..9).map(|i| fixtures::deploy(&format!("Machines-{i}"))).collect();
        assert!(!ApproveDialog::open(deploys, 2, "vmss-web").needs_typed());
    }

    #[test]
    fn tenanted_deploys_say_how_many_tenants_and_targets_they_reach() {
        let tenant = |planned: PlannedAction, id: &str, targets: &[&str]| {
            let mut planned = planned;
            if let crate::model::Action::Deploy { tenant, target_ids, target_names, .. } = &mut planned.action
            {
                *tenant = Some(crate::model::TenantRef { id: id.into(), name: format!("Tenant {id}") });
                *target_ids = targets.iter().map(|t| t.to_string()).collect();
                *target_names = targets.iter().map(|t| t.to_string()).collect();
            }
            planned
        };
        let actions = vec![
            tenant(fixtures::deploy("Machines-1"), "Tenants-1", &["Machines-1", "Machines-2"]),
            tenant(fixtures::deploy("Machines-3"), "Tenants-2", &["Machines-1", "Machines-2", "Machines-3"]),
            tenant(fixtures::deploy("Machines-4"), "Tenants-3", &["Machines-4", "Machines-5"]),
        ];
        let dialog = ApproveDialog::open(actions, 3, "vmss-web");
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).expect("test terminal");
        let theme = Theme::from_no_color(Some("1".into()));
        terminal.draw(|frame| dialog.render(frame, frame.area(), theme)).expect("draw");
        let screen = terminal.backend().to_string();
        assert!(screen.contains("Deploys reach 3 tenants, 5 targets."), "{screen}");
        assert!(screen.contains("for tenant Tenant Tenants-2"), "{screen}");
    }
}
