//! HA-node dialogs: confirm a drain / undrain / delete, type a task cap, answer a drain's deadline
//! question, read a refusal. The shared focus model (`form`): a drain or a delete (both end with
//! the node deleted) needs the node's name typed and opens on that field; a forced delete also
//! needs the force box ticked; the others open on Cancel, so Enter alone never sends anything.

use super::centered;
use super::form::{Event, Field, Form, Slot};
use crate::drain::{self, DrainChoice};
use crate::model::Node;
use crate::tui::messages::NodeRequest;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::KeyEvent;
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
    /// Admit a node (`node admit`): what can be checked from here and on the node, then the cap.
    Admit {
        lines: Vec<String>,
        verified: bool,
    },
    /// The journal holds an unfinished drain-first scale-in of the nodes' set (`set`).
    ResumeScaleIn {
        victims: Vec<String>,
        phase: String,
    },
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
    /// The node's name for a drain or delete, the new cap for a task cap; the force box; the
    /// buttons (the answers, for the deadline question).
    pub form: Form,
    /// The node list when the dialog opened, for the live task-cap check.
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stay,
    Close,
    Run(NodeRequest),
}

impl NodeDialog {
    pub fn open(kind: Kind, node: &Node, nodes: &[Node]) -> Self {
        let name = node.name.as_str();
        let form = match &kind {
            Kind::Drain { resume } => {
                let verb = if *resume { "Resume" } else { "Drain" };
                Form::confirm(verb).with_field(Field::confirm(name))
            }
            Kind::Undrain => Form::confirm("Undrain"),
            Kind::Delete { force_needed, .. } => {
                let form = Form::confirm("Delete").with_field(Field::confirm(name));
                if *force_needed {
                    form.with_toggle("force: delete it anyway; its running tasks fail")
                } else {
                    form
                }
            }
            // A cap is a u32: at most 10 digits are taken, and one out of range is explained live.
            Kind::TaskCap { .. } => {
                Form::confirm("Set cap").with_field(Field::new("cap", TextField::digits(10)))
            }
            Kind::Question { .. } => {
                let mut buttons = vec!["Cancel (decide later)".to_string()];
                buttons.extend(CHOICES.iter().map(|c| c.label().to_string()));
                Form::confirm("").with_buttons(buttons, true)
            }
            Kind::Refused { .. } => Form::confirm("").with_buttons(vec!["Close".into()], false),
            Kind::ResumeScaleIn { .. } => Form::confirm("Resume").with_field(Field::confirm(name)),
            Kind::Admit { .. } => Form::confirm("Admit").with_field(Field::new("cap", TextField::digits(10))),
        };
        Self { kind, node_id: node.id.clone(), node_name: node.name.clone(), form, nodes: nodes.to_vec() }
    }

    /// Resume the unfinished drain-first scale-in `pending`: the set's name typed to confirm.
    pub fn resume_scale_in(pending: &crate::tui::ha_state::PendingScaleInView) -> Self {
        let victims = pending.victims.iter().map(|(_, label)| label.clone()).collect();
        Self {
            kind: Kind::ResumeScaleIn { victims, phase: pending.phase.clone() },
            node_id: String::new(),
            node_name: pending.set.clone(),
            form: Form::confirm("Resume").with_field(Field::confirm(&pending.set)),
            nodes: Vec::new(),
        }
    }

    /// What is typed in the dialog's field (the name or the cap).
    pub fn typed(&self) -> &str {
        self.form.fields.first().map(|f| f.input.value()).unwrap_or("")
    }

    /// Why the typed task cap cannot be set (checked live, as it is typed).
    pub fn cap_error(&self) -> Option<String> {
        let raw = self.typed().trim();
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
        match self.form.on_key(key) {
            Event::Cancel => Outcome::Close,
            Event::Press(index) => self.press(index),
            _ => Outcome::Stay,
        }
    }

    fn press(&mut self, index: usize) -> Outcome {
        let node = self.node_id.clone();
        match &self.kind {
            Kind::Question { .. } => match CHOICES.get(index - 1) {
                Some(choice) => Outcome::Run(NodeRequest::Answer { node, choice: *choice }),
                None => Outcome::Close,
            },
            Kind::Refused { .. } => Outcome::Close,
            Kind::ResumeScaleIn { .. } => Outcome::Run(NodeRequest::ResumeScaleIn),
            Kind::Admit { .. } => match self.typed().trim() {
                "" => Outcome::Run(NodeRequest::Admit { node, cap: None }),
                raw => match raw.parse::<u32>() {
                    Ok(cap) if cap > 0 => Outcome::Run(NodeRequest::Admit { node, cap: Some(cap) }),
                    Ok(_) => {
                        let why = "admitting gives a task cap above 0; to keep it UI-only set its cap (c)";
                        self.form.fail(why, Slot::Field(0));
                        Outcome::Stay
                    }
                    Err(_) => {
                        self.form.fail(format!("`{raw}` is not a task cap"), Slot::Field(0));
                        Outcome::Stay
                    }
                },
            },
            Kind::Drain { .. } => Outcome::Run(NodeRequest::Drain { node }),
            Kind::Undrain => Outcome::Run(NodeRequest::Undrain { node }),
            Kind::Delete { force_needed, .. } => {
                if *force_needed && !self.form.toggled(0) {
                    self.form.fail("tick force (Space) to delete it while it runs tasks", Slot::Toggle(0));
                    Outcome::Stay
                } else {
                    Outcome::Run(NodeRequest::Delete { node, force: *force_needed })
                }
            }
            Kind::TaskCap { .. } => match (self.cap_error(), self.typed().trim().parse::<u32>()) {
                (None, Ok(cap)) => Outcome::Run(NodeRequest::TaskCap { node, cap }),
                (error, _) => {
                    self.form.fail(error.unwrap_or_default(), Slot::Field(0));
                    Outcome::Stay
                }
            },
        }
    }

    /// A paste goes into the text box when it has the focus; elsewhere it is ignored.
    pub fn paste(&mut self, text: &str) {
        self.form.paste(text);
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
            Kind::ResumeScaleIn { .. } => format!(" Resume the scale-in of {name} "),
            Kind::Admit { .. } => format!(" Admit {name} "),
        }
    }

    fn body(&self) -> Vec<(String, Tone)> {
        let name = &self.node_name;
        let plain = |s: String| (s, Tone::Muted);
        match &self.kind {
            Kind::Drain { resume: false } => vec![
                plain(format!(
                    "Turns drain on, waits for {name}'s running tasks (then asks), cancels what is left \
                     once it is offline, and deletes the node. Each step is journaled."
                )),
                (format!("It ends with the node deleted: type `{name}` to confirm."), Tone::Warn),
            ],
            Kind::Drain { resume: true } => vec![
                plain(format!(
                    "An earlier run left this drain unfinished (see the journal). Resuming observes \
                     {name} again and carries on from where it is."
                )),
                (format!("It ends with the node deleted: type `{name}` to confirm."), Tone::Warn),
            ],
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
            Kind::Admit { lines, verified } => {
                let mut body: Vec<(String, Tone)> = lines
                    .iter()
                    .map(|line| {
                        let tone = if line.starts_with("NOT YET") || line.starts_with("unknown") {
                            Tone::Warn
                        } else {
                            Tone::Muted
                        };
                        (line.clone(), tone)
                    })
                    .collect();
                if *verified {
                    body.push((
                        format!("{name} is already verified; admitting it again is journaled."),
                        Tone::Muted,
                    ));
                }
                body.push((
                    "Admit records that you checked these on the node (journaled) and raises its task cap. \
                     Cap (empty: what it had before it was held at 0, else 5):"
                        .into(),
                    Tone::Warn,
                ));
                body
            }
            Kind::ResumeScaleIn { victims, phase } => vec![
                plain(format!(
                    "An earlier run left the drain-first scale-in of {name} unfinished ({phase}): {}. \
                     Resuming observes the nodes and the set again and carries on from there; a step \
                     they show done is not sent again. No other scale-in of {name} starts until it ends.",
                    victims.join(", ")
                )),
                (
                    format!("It ends with those VMs and node records removed: type `{name}` to confirm."),
                    Tone::Warn,
                ),
            ],
        }
    }

    pub fn render(&self, frame: &mut Frame<'_>, area: Rect, theme: Theme) {
        let mut lines: Vec<Line> = self
            .body()
            .into_iter()
            .map(|(text, tone)| Line::from(Span::styled(text, theme.tone(tone))))
            .collect();
        lines.push(Line::from(""));
        let live_error = match self.kind {
            Kind::TaskCap { .. } if !self.typed().is_empty() && self.form.error.is_none() => self.cap_error(),
            _ => None,
        };
        let mut foot = self.form.lines(theme);
        if let Some(error) = live_error {
            let at = foot.len().saturating_sub(2);
            foot.insert(at, Line::from(Span::styled(error, theme.tone(Tone::Bad))));
        }
        lines.extend(foot);
        // As tall as its wrapped lines (74 columns inside the border; slack for word wrap).
        let rows: usize = lines.iter().map(|line| line.width().max(1).div_ceil(70)).sum();
        let rect = centered(area, 76, rows as u16 + 2);
        frame.render_widget(Clear, rect);
        let block = Block::default().borders(Borders::ALL).title(Span::styled(self.title(), theme.title()));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
    }
}
