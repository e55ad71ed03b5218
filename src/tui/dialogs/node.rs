//! HA-node dialogs: confirm a drain / undrain / delete, type a task cap, answer a drain's deadline
//! question, read a refusal. Each opens with focus on Cancel, so Enter alone never sends anything;
//! a delete needs the node's name typed, and a forced delete also the explicit force choice.

use super::centered;
use crate::drain::{self, DrainChoice};
use crate::model::Node;
use crate::tui::messages::NodeRequest;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `resume`: the journal holds an unfinished drain for the node.
    Drain {
        resume: bool,
    },
    Undrain,
    /// `force_needed`: the node heartbeats with running tasks; `refusal` says so.
    Delete {
        force_needed: bool,
        refusal: Option<String>,
    },
    TaskCap {
        current: u32,
    },
    /// The drain's deadline passed with tasks still running.
    Question {
        running_tasks: usize,
    },
    Refused {
        sentence: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Cancel,
    Input,
    Force,
    Confirm,
    Choice(DrainChoice),
}

pub const CHOICES: [DrainChoice; 4] = [
    DrainChoice::KeepWaiting,
    DrainChoice::CancelTasksNow,
    DrainChoice::AbortLeaveDrainOn,
    DrainChoice::AbortTurnDrainOff,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDialog {
    pub kind: Kind,
    pub node_id: String,
    pub node_name: String,
    /// The node's name for a delete, the new cap for a task cap (digits).
    pub typed: TextField,
    pub force: bool,
    pub focus: Focus,
    pub error: Option<String>,
    /// The node list when the dialog opened, for the live task-cap check.
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Close,
    Run(NodeRequest),
}

impl NodeDialog {
    pub fn open(kind: Kind, node: &Node, nodes: &[Node]) -> Self {
        // A cap is a u32: at most 10 digits are taken, and one out of range is explained live.
        let typed =
            if matches!(kind, Kind::TaskCap { .. }) { TextField::digits(10) } else { TextField::text() };
        Self {
            kind,
            node_id: node.id.clone(),
            node_name: node.name.clone(),
            typed,
            force: false,
            focus: Focus::Cancel,
            error: None,
            nodes: nodes.to_vec(),
        }
    }

    fn order(&self) -> Vec<Focus> {
        match &self.kind {
            Kind::Drain { .. } | Kind::Undrain => vec![Focus::Cancel, Focus::Confirm],
            Kind::Delete { force_needed: true, .. } => {
                vec![Focus::Cancel, Focus::Input, Focus::Force, Focus::Confirm]
            }
            Kind::Delete { .. } | Kind::TaskCap { .. } => vec![Focus::Cancel, Focus::Input, Focus::Confirm],
            Kind::Question { .. } => {
                let mut order = vec![Focus::Cancel];
                order.extend(CHOICES.map(Focus::Choice));
                order
            }
            Kind::Refused { .. } => vec![Focus::Cancel],
        }
    }

    fn move_focus(&mut self, forward: bool) {
        self.focus = super::cycle(&self.order(), self.focus, forward);
    }

    /// Why the typed task cap cannot be set (checked live, as it is typed).
    pub fn cap_error(&self) -> Option<String> {
        let raw = self.typed.value().trim();
        if raw.is_empty() {
            return Some("type the new task cap (0 = UI-only node)".into());
        }
        let cap = match raw.parse::<u32>() {
            Ok(cap) => cap,
            Err(_) => return Some(format!("`{raw}` is not a task cap")),
        };
        drain::validate_task_cap(&self.nodes, &self.node_id, cap).err().map(|refusal| refusal.to_string())
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        if self.focus == Focus::Input {
            if let Some(changed) = self.typed.on_key(key) {
                if changed {
                    self.error = None;
                }
                return Outcome::Stay;
            }
        }
        match key.code {
            KeyCode::Esc => return Outcome::Close,
            KeyCode::Tab | KeyCode::Down => self.move_focus(true),
            KeyCode::BackTab | KeyCode::Up => self.move_focus(false),
            KeyCode::Left | KeyCode::Right if self.focus != Focus::Input => {
                self.move_focus(key.code == KeyCode::Right)
            }
            KeyCode::Char(' ') if self.focus == Focus::Force => self.force = !self.force,
            KeyCode::Enter => return self.press(),
            _ => {}
        }
        Outcome::Stay
    }

    fn press(&mut self) -> Outcome {
        let node = self.node_id.clone();
        match self.focus {
            Focus::Cancel => Outcome::Close,
            // Enter in the text box moves on; it never confirms by itself.
            Focus::Input => {
                self.move_focus(true);
                Outcome::Stay
            }
            Focus::Force => {
                self.force = !self.force;
                Outcome::Stay
            }
            Focus::Choice(choice) => Outcome::Run(NodeRequest::Answer { node, choice }),
            Focus::Confirm => match &self.kind {
                Kind::Drain { .. } => Outcome::Run(NodeRequest::Drain { node }),
                Kind::Undrain => Outcome::Run(NodeRequest::Undrain { node }),
                Kind::Delete { force_needed, .. } => {
                    if self.typed.value().trim() != self.node_name {
                        self.refuse(format!("type `{}` to confirm", self.node_name), Focus::Input)
                    } else if *force_needed && !self.force {
                        self.refuse(
                            "choose force (Space) to delete it while it runs tasks".into(),
                            Focus::Force,
                        )
                    } else {
                        Outcome::Run(NodeRequest::Delete { node, force: *force_needed })
                    }
                }
                Kind::TaskCap { .. } => match (self.cap_error(), self.typed.value().trim().parse::<u32>()) {
                    (None, Ok(cap)) => Outcome::Run(NodeRequest::TaskCap { node, cap }),
                    (error, _) => self.refuse(error.unwrap_or_default(), Focus::Input),
                },
                Kind::Question { .. } | Kind::Refused { .. } => Outcome::Close,
            },
        }
    }

    /// A paste goes into the text box when it has the focus; elsewhere it is ignored.
    pub fn paste(&mut self, text: &str) {
        if self.focus == Focus::Input && self.typed.paste(text) {
            self.error = None;
        }
    }

    fn refuse(&mut self, error: String, focus: Focus) -> Outcome {
        self.error = Some(error);
        self.focus = focus;
        Outcome::Stay
    }

    fn title(&self) -> String {
        let name = &self.node_name;
        match &self.kind {
            Kind::Drain { resume: false } => format!(" Drain {name} "),
            Kind::Drain { resume: true } => format!(" Resume the drain of {name} "),
            Kind::Undrain => format!(" Turn drain off on {name} "),
            Kind::Delete { force_needed: false, .. } => format!(" Delete {name} "),
            Kind::Delete { force_needed: true, .. } => format!(" Force-delete {name} "),
            Kind::TaskCap { .. } => format!(" Task cap of {name} "),
            Kind::Question { .. } => format!(" Drain of {name}: the deadline passed "),
            Kind::Refused { .. } => format!(" {name}: refused "),
        }
    }

    fn body(&self) -> Vec<(String, Tone)> {
        let name = &self.node_name;
        let plain = |s: String| (s, Tone::Muted);
        match &self.kind {
            Kind::Drain { resume: false } => vec![plain(format!(
                "Turns drain on, waits for {name}'s running tasks (then asks), cancels what is left \
                 once it is offline, and deletes the node. Each step is journaled."
            ))],
            Kind::Drain { resume: true } => vec![plain(format!(
                "An earlier run left this drain unfinished (see the journal). Resuming observes \
                 {name} again and carries on from where it is."
            ))],
            Kind::Undrain => {
                vec![plain(format!("{name} takes tasks again. An unfinished drain job for it is closed."))]
            }
            Kind::Delete { refusal, .. } => {
                let mut lines = vec![plain(format!(
                    "Deletes {name} from the cluster now, without draining. Tasks it leaves \
                     behind are cancelled once it is gone."
                ))];
                if let Some(refusal) = refusal {
                    lines.push((refusal.clone(), Tone::Bad));
                }
                lines.push((format!("Type `{name}` to confirm."), Tone::Warn));
                lines
            }
            Kind::TaskCap { current } => vec![plain(format!(
                "Current cap {current}. New MaxConcurrentTasks (0 makes it a UI-only node):"
            ))],
            Kind::Question { running_tasks } => vec![(
                format!("{name} still runs {running_tasks} task(s) after the deadline. What now?"),
                Tone::Warn,
            )],
            Kind::Refused { sentence } => vec![(sentence.clone(), Tone::Bad)],
        }
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        let mut lines: Vec<Line> = self
            .body()
            .into_iter()
            .map(|(text, tone)| Line::from(Span::styled(text, theme.tone(tone))))
            .collect();
        lines.push(Line::from(""));
        let focused = |focus: Focus| {
            if self.focus == focus {
                theme.focused_button()
            } else {
                ratatui::style::Style::default()
            }
        };
        let input_label = match self.kind {
            Kind::TaskCap { .. } => "  cap: ",
            _ => "  name: ",
        };
        if self.order().contains(&Focus::Input) {
            let mut input = vec![Span::raw(input_label)];
            input.extend(self.typed.spans(self.focus == Focus::Input, focused(Focus::Input)));
            lines.push(Line::from(input));
        }
        if self.order().contains(&Focus::Force) {
            let mark = if self.force { "[x]" } else { "[ ]" };
            lines.push(Line::from(Span::styled(
                format!("  {mark} force: delete it anyway; its running tasks fail"),
                focused(Focus::Force),
            )));
        }
        let live_error = match self.kind {
            Kind::TaskCap { .. } if !self.typed.is_empty() => self.cap_error(),
            _ => None,
        };
        if let Some(error) = self.error.clone().or(live_error) {
            lines.push(Line::from(Span::styled(error, theme.tone(Tone::Bad))));
        }
        let button = |label: String, focus: Focus| {
            let text = format!("[ {label} ]");
            if self.focus == focus {
                Span::styled(format!("▶{text}"), theme.focused_button())
            } else {
                Span::raw(format!(" {text}"))
            }
        };
        match &self.kind {
            Kind::Question { .. } => {
                lines.push(Line::from(button("Cancel (decide later)".into(), Focus::Cancel)));
                for choice in CHOICES {
                    lines.push(Line::from(button(choice.label().to_string(), Focus::Choice(choice))));
                }
            }
            Kind::Refused { .. } => lines.push(Line::from(button("Close".into(), Focus::Cancel))),
            kind => {
                let confirm = match kind {
                    Kind::Drain { resume: true } => "Resume",
                    Kind::Drain { .. } => "Drain",
                    Kind::Undrain => "Undrain",
                    Kind::TaskCap { .. } => "Set cap",
                    _ => "Delete",
                };
                lines.push(Line::from(vec![
                    button("Cancel".into(), Focus::Cancel),
                    Span::raw("   "),
                    button(confirm.into(), Focus::Confirm),
                ]));
            }
        }
        lines
            .push(Line::from(Span::styled("Tab moves, Enter presses, Esc cancels", theme.tone(Tone::Muted))));
        // As tall as its wrapped lines (74 columns inside the border; slack for word wrap).
        let rows: usize = lines.iter().map(|line| line.width().max(1).div_ceil(70)).sum();
        let rect = centered(area, 76, rows as u16 + 2);
        frame.render_widget(Clear, rect);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(self.title(), theme.title()));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
