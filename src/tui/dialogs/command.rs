//! The `:` command line: parsing into the same typed actions keys produce, so commands pass the
//! same read-only gate at dispatch.

use crate::tui::keymap::Action;
use crate::tui::text_field::TextField;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub const COMMANDS: &str = ":profile [NAME], :scale [N], :drain NODE, :doctor, :findings, :refresh, :quit";

pub fn parse(line: &str) -> Result<Action, String> {
    let mut words = line.split_whitespace();
    let Some(command) = words.next() else {
        return Err(format!("type a command: {COMMANDS}"));
    };
    let rest: Vec<&str> = words.collect();
    let arg = rest.first().map(|s| s.to_string());
    match command {
        "q" | "quit" => Ok(Action::Quit),
        "refresh" | "r" => Ok(Action::Refresh),
        "help" => Ok(Action::Help),
        "profile" => Ok(Action::Profile(arg)),
        "scale" => match arg {
            None => Ok(Action::Scale(None)),
            Some(raw) => raw
                .parse::<u32>()
                .map(|n| Action::Scale(Some(n)))
                .map_err(|_| format!("`:scale {raw}`: the capacity must be a whole number")),
        },
        "drain" => Ok(Action::Drain(arg)),
        "doctor" => Ok(Action::Doctor),
        "findings" => Ok(Action::Findings),
        other => Err(format!("unknown command `:{other}` (known: {COMMANDS})")),
    }
}

/// A prompt on the status line: `:` for a command, `/` for a filter, then the field being edited.
pub fn render_prompt(
    frame: &mut Frame<'_>,
    area: Rect,
    theme: Theme,
    prompt: &'static str,
    field: &TextField,
) {
    let mut spans = vec![Span::styled(prompt, theme.key())];
    spans.extend(field.spans(true, Style::default()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_to_actions() {
        assert_eq!(parse("quit"), Ok(Action::Quit));
        assert_eq!(parse("scale 7"), Ok(Action::Scale(Some(7))));
        assert_eq!(parse("drain OCTO-NODE-2"), Ok(Action::Drain(Some("OCTO-NODE-2".into()))));
        assert_eq!(parse("profile prod"), Ok(Action::Profile(Some("prod".into()))));
        assert!(parse("scale seven").unwrap_err().contains("whole number"));
        assert!(parse("delete everything").unwrap_err().contains("unknown command"));
    }
}
