//! Colours for states, and the `mono` theme used when NO_COLOR is set. Every state is also written
//! as text by the panes, so the mono theme loses no information, only emphasis.

use ratatui::style::{Color, Modifier, Style};

/// How a state reads to an operator: fine, in progress, needs a look, broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Busy,
    Warn,
    Bad,
    Muted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub mono: bool,
}

impl Theme {
    pub const COLOR: Theme = Theme { mono: false };
    pub const MONO: Theme = Theme { mono: true };

    /// Mono when NO_COLOR is set to anything non-empty (https://no-color.org).
    pub fn from_env() -> Theme {
        Self::from_no_color(std::env::var_os("NO_COLOR"))
    }

    pub fn from_no_color(value: Option<std::ffi::OsString>) -> Theme {
        match value {
            Some(value) if !value.is_empty() => Theme::MONO,
            _ => Theme::COLOR,
        }
    }

    pub fn tone(&self, tone: Tone) -> Style {
        if self.mono {
            return match tone {
                Tone::Bad => Style::default().add_modifier(Modifier::BOLD),
                _ => Style::default(),
            };
        }
        match tone {
            Tone::Good => Style::default().fg(Color::Green),
            Tone::Busy => Style::default().fg(Color::Cyan),
            Tone::Warn => Style::default().fg(Color::Yellow),
            Tone::Bad => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            Tone::Muted => Style::default().fg(Color::DarkGray),
        }
    }

    pub fn header(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        }
    }

    /// The row under the cursor: reversed reads in every terminal, with or without colour.
    pub fn cursor(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn badge(&self, tone: Tone) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            let bg = match tone {
                Tone::Good => Color::Green,
                Tone::Busy => Color::Cyan,
                Tone::Warn => Color::Yellow,
                Tone::Bad => Color::Red,
                Tone::Muted => Color::DarkGray,
            };
            Style::default().fg(Color::Black).bg(bg).add_modifier(Modifier::BOLD)
        }
    }

    pub fn key(&self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)
        }
    }

    pub fn focused_button(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn series(&self, index: usize) -> Style {
        if self.mono {
            return Style::default();
        }
        match index {
            0 => Style::default().fg(Color::Blue),
            _ => Style::default().fg(Color::Green),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_means_mono_and_empty_no_color_does_not() {
        assert!(Theme::from_no_color(Some("1".into())).mono);
        assert!(!Theme::from_no_color(Some("".into())).mono);
        assert!(!Theme::from_no_color(None).mono);
    }

    #[test]
    fn mono_theme_has_no_colours() {
        for tone in [Tone::Good, Tone::Busy, Tone::Warn, Tone::Bad, Tone::Muted] {
            let style = Theme::MONO.tone(tone);
            assert_eq!(style.fg, None);
            assert_eq!(style.bg, None);
        }
        assert_eq!(Theme::COLOR.tone(Tone::Bad).fg, Some(Color::Red));
    }
}
