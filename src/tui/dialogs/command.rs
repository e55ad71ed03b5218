//! The `:` command line: one table of commands for parsing, Tab completion and the help overlay,
//! parsed into the same typed actions keys produce (so commands pass the same read-only gate at
//! dispatch). Pane aliases switch panes (`:nodes`, `:journal`); Up/Down walk the history.

use crate::tui::app::PaneId;
use crate::tui::keymap::Action;
use crate::tui::text_field::TextField;
use crate::tui::theme::{Theme, Tone};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// One command: its name, what it takes, what it does, and whether it changes anything (hidden
/// in read-only mode, like the keys that do).
pub struct Command {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
    pub mutating: bool,
}

const fn cmd(name: &'static str, args: &'static str, help: &'static str, mutating: bool) -> Command {
    Command { name, args, help, mutating }
}

pub static COMMANDS: &[Command] = &[
    cmd("instances", "", "show the scale-set instances pane", false),
    cmd("targets", "", "show the Octopus targets pane", false),
    cmd("nodes", "", "show the HA nodes pane", false),
    cmd("diffs", "", "show the pending diffs pane", false),
    cmd("journal", "", "show the journal pane (the audit trail)", false),
    cmd("scale", "[N]", "scale the scale set, guarded", true),
    cmd("drain", "NODE", "drain an HA node (or resume its drain)", true),
    cmd("doctor", "", "check the setup again", false),
    cmd("findings", "", "the doctor's findings", false),
    cmd("profile", "[NAME]", "show or switch the profile", false),
    cmd("refresh", "", "refresh now", false),
    cmd("help", "", "every key and command", false),
    cmd("quit", "", "quit (asks while a change runs)", false),
];

/// The commands that work here (read-only hides the mutating ones).
pub fn available(read_only: bool) -> impl Iterator<Item = &'static Command> {
    COMMANDS.iter().filter(move |c| !(read_only && c.mutating))
}

/// ":instances, :targets, …" for messages.
pub fn list(read_only: bool) -> String {
    available(read_only)
        .map(|c| if c.args.is_empty() { format!(":{}", c.name) } else { format!(":{} {}", c.name, c.args) })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn parse(line: &str) -> Result<Action, String> {
    let mut words = line.trim().trim_start_matches(':').split_whitespace();
    let Some(command) = words.next() else {
        return Err(format!("type a command: {}", list(false)));
    };
    let rest: Vec<&str> = words.collect();
    let arg = rest.first().map(|s| s.to_string());
    if let Some(pane) = PaneId::ALL.into_iter().find(|p| p.alias() == command) {
        return Ok(Action::ShowPane(pane));
    }
    match command {
        "q" | "quit" | "q!" => Ok(Action::Quit),
        "refresh" | "r" => Ok(Action::Refresh),
        "help" => Ok(Action::Help),
        "profile" => Ok(Action::Profile(arg)),
        "scale" => match arg {
            None => Ok(Action::Scale(None)),
            Some(raw) => raw
                .parse::<u32>()
                .map(|n| Action::Scale(Some(n)))
                .map_err(|_| format!("`:scale {raw}`: the capacity must be a whole number (0 or more)")),
        },
        "drain" => Ok(Action::Drain(arg)),
        "doctor" => Ok(Action::Doctor),
        "findings" => Ok(Action::Findings),
        other => Err(format!("unknown command `:{other}` (Tab completes; known: {})", list(false))),
    }
}

/// The command line being typed.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub field: TextField,
    /// Position in the history while walking it with Up/Down (None: a new line).
    browsing: Option<usize>,
    /// What was typed before walking the history, to come back to.
    draft: String,
    /// Completions offered by the last Tab, shown on the status line.
    pub hint: Option<String>,
}

/// What a key did on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    Stay,
    Cancel,
    Run(String),
}

impl CommandLine {
    /// Handle a key. `history` is oldest first; `words` are the extra completions (node and
    /// profile names) for the argument.
    pub fn on_key(
        &mut self,
        key: &KeyEvent,
        history: &[String],
        read_only: bool,
        words: &[String],
    ) -> LineEvent {
        match key.code {
            KeyCode::Esc => return LineEvent::Cancel,
            KeyCode::Enter => return LineEvent::Run(self.field.value().trim().to_string()),
            KeyCode::Tab => self.complete(read_only, words),
            KeyCode::Up => self.walk(history, true),
            KeyCode::Down => self.walk(history, false),
            _ => {
                if self.field.on_key(key) == Some(true) {
                    self.browsing = None;
                    self.hint = None;
                }
            }
        }
        LineEvent::Stay
    }

    fn walk(&mut self, history: &[String], back: bool) {
        if history.is_empty() {
            return;
        }
        let next = match (self.browsing, back) {
            (None, true) => {
                self.draft = self.field.value().to_string();
                Some(history.len() - 1)
            }
            (None, false) => None,
            (Some(at), true) => Some(at.saturating_sub(1)),
            (Some(at), false) if at + 1 < history.len() => Some(at + 1),
            (Some(_), false) => None,
        };
        self.browsing = next;
        let text = match next {
            Some(at) => history[at].clone(),
            None => self.draft.clone(),
        };
        self.field = TextField::text().with_value(&text);
    }

    /// Complete the command (or, after it, the argument) to the longest common prefix of what
    /// matches; list the candidates when there is more than one.
    fn complete(&mut self, read_only: bool, words: &[String]) {
        let typed = self.field.value().to_string();
        let (head, partial, candidates): (String, String, Vec<String>) = match typed.rsplit_once(' ') {
            Some((head, partial)) => (format!("{head} "), partial.to_string(), words.to_vec()),
            None => {
                (String::new(), typed.clone(), available(read_only).map(|c| c.name.to_string()).collect())
            }
        };
        let lower = partial.to_lowercase();
        let matching: Vec<&String> =
            candidates.iter().filter(|c| c.to_lowercase().starts_with(&lower)).collect();
        match matching.as_slice() {
            [] => self.hint = Some(format!("nothing starts with `{partial}`")),
            [only] => {
                let space = if head.is_empty() { " " } else { "" };
                self.field = TextField::text().with_value(&format!("{head}{only}{space}"));
                self.hint = None;
            }
            many => {
                let common = common_prefix(many);
                if common.len() > partial.len() {
                    self.field = TextField::text().with_value(&format!("{head}{common}"));
                }
                let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                self.hint = Some(names.join("  "));
            }
        }
    }
}

fn common_prefix(words: &[&String]) -> String {
    let Some(first) = words.first() else { return String::new() };
    let mut prefix: Vec<char> = first.chars().collect();
    for word in &words[1..] {
        let shared = prefix.iter().zip(word.chars()).take_while(|(a, b)| a.eq_ignore_ascii_case(b)).count();
        prefix.truncate(shared);
    }
    prefix.into_iter().collect()
}

/// A prompt on the status line: `:` for a command, `/` for a filter, then the field being edited,
/// and for the command line the completions Tab found.
pub fn render_prompt(
    frame: &mut Frame<'_>,
    area: Rect,
    theme: Theme,
    prompt: &'static str,
    field: &TextField,
    hint: Option<&str>,
) {
    let mut spans = vec![Span::styled(prompt, theme.key())];
    spans.extend(field.spans(true, Style::default()));
    if let Some(hint) = hint {
        spans.push(Span::styled(format!("   {hint}"), theme.tone(Tone::Muted)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(line: &mut CommandLine, text: &str) {
        for c in text.chars() {
            line.on_key(&key(KeyCode::Char(c)), &[], false, &[]);
        }
    }

    #[test]
    fn commands_parse_to_actions() {
        assert_eq!(parse("quit"), Ok(Action::Quit));
        assert_eq!(parse("scale 7"), Ok(Action::Scale(Some(7))));
        assert_eq!(parse("drain OCTO-NODE-2"), Ok(Action::Drain(Some("OCTO-NODE-2".into()))));
        assert_eq!(parse("profile prod"), Ok(Action::Profile(Some("prod".into()))));
        assert_eq!(parse("nodes"), Ok(Action::ShowPane(PaneId::Nodes)));
        assert_eq!(parse("journal"), Ok(Action::ShowPane(PaneId::Journal)));
        assert!(parse("scale seven").unwrap_err().contains("whole number"));
        assert!(parse("delete everything").unwrap_err().contains("unknown command"));
    }

    #[test]
    fn tab_completes_commands_and_arguments() {
        let mut line = CommandLine::default();
        typed(&mut line, "jo");
        line.on_key(&key(KeyCode::Tab), &[], false, &[]);
        assert_eq!(line.field.value(), "journal ");
        let mut line = CommandLine::default();
        typed(&mut line, "d");
        line.on_key(&key(KeyCode::Tab), &[], false, &[]);
        assert_eq!(line.hint.as_deref(), Some("diffs  drain  doctor"));
        let mut line = CommandLine::default();
        typed(&mut line, "d");
        line.on_key(&key(KeyCode::Tab), &[], true, &[]);
        assert_eq!(line.hint.as_deref(), Some("diffs  doctor"), "read-only offers no drain");
        let mut line = CommandLine::default();
        typed(&mut line, "drain octo-node-1");
        let nodes = ["OCTO-NODE-1".to_string(), "OCTO-NODE-2".to_string()];
        for _ in 0.."octo-node-1".len() {
            line.on_key(&key(KeyCode::Backspace), &[], false, &nodes);
        }
        typed(&mut line, "octo");
        line.on_key(&key(KeyCode::Tab), &[], false, &nodes);
        assert_eq!(line.field.value(), "drain OCTO-NODE-");
    }

    #[test]
    fn up_and_down_walk_the_history_and_come_back_to_the_draft() {
        let history = vec!["scale 5".to_string(), "nodes".to_string()];
        let mut line = CommandLine::default();
        typed(&mut line, "jo");
        line.on_key(&key(KeyCode::Up), &history, false, &[]);
        assert_eq!(line.field.value(), "nodes");
        line.on_key(&key(KeyCode::Up), &history, false, &[]);
        assert_eq!(line.field.value(), "scale 5");
        line.on_key(&key(KeyCode::Up), &history, false, &[]);
        assert_eq!(line.field.value(), "scale 5", "stops at the oldest");
        line.on_key(&key(KeyCode::Down), &history, false, &[]);
        line.on_key(&key(KeyCode::Down), &history, false, &[]);
        assert_eq!(line.field.value(), "jo", "back to what was being typed");
    }
}
