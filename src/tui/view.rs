//! `view(&ConsoleState)`: only reads the model. The layout is a pure function of the terminal size so the
//! mouse handler can tell which row was clicked.

use super::app::{ConsoleState, Overlay};
use super::{dialogs, footer, header, panes};
use ratatui::layout::Rect;
use ratatui::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The pulse line (height 0 when all is calm).
    pub pulse: Rect,
    pub header: Rect,
    pub tabs: Rect,
    pub strip: Rect,
    pub body: Rect,
    pub status: Rect,
    pub keys: Rect,
}

/// The layout of `model`'s screen (the pulse line shows only when something needs attention).
pub fn areas_of(model: &ConsoleState) -> Areas {
    let pulse = !super::pulse::items(model).is_empty();
    areas(Rect::new(0, 0, model.size.0, model.size.1), pulse)
}

pub fn areas(size: Rect, pulse: bool) -> Areas {
    let line = |y: u16| Rect { x: size.x, y, width: size.width, height: 1.min(size.height) };
    let pulse_height = u16::from(pulse && size.height >= 8);
    let strip_height = if size.height >= 16 + pulse_height { 2 } else { 0 };
    let fixed = 4 + strip_height + pulse_height;
    let body_height = size.height.saturating_sub(fixed);
    let pulse_area = Rect { height: pulse_height, ..line(size.y) };
    let top = size.y + pulse_height;
    let strip = Rect { x: size.x, y: top + 2, width: size.width, height: strip_height };
    let body = Rect { x: size.x, y: top + 2 + strip_height, width: size.width, height: body_height };
    let bottom = body.y + body.height;
    Areas {
        pulse: pulse_area,
        header: line(top),
        tabs: line(top + 1),
        strip,
        body,
        status: line(bottom),
        keys: line(bottom + 1),
    }
}

pub fn view(frame: &mut Frame<'_>, model: &ConsoleState) {
    let size = frame.area();
    if size.height < 6 || size.width < 20 {
        frame.render_widget(ratatui::widgets::Paragraph::new("terminal too small"), size);
        return;
    }
    let pulse = super::pulse::items(model);
    let areas = areas(size, !pulse.is_empty());
    if let (true, Some((text, tone))) = (areas.pulse.height > 0, super::pulse::line(&pulse)) {
        let style = model.theme.badge(tone);
        frame.render_widget(ratatui::widgets::Paragraph::new(text).style(style), areas.pulse);
    }
    header::render_header(frame, areas.header, model);
    header::render_tabs(frame, areas.tabs, model);
    if areas.strip.height > 0 {
        header::render_strip(frame, areas.strip, model);
    }
    panes::render_current(frame, areas.body, model);
    footer::render_status(frame, areas.status, model);
    footer::render_keys(frame, areas.keys, model);
    match &model.overlay {
        Overlay::Help { scroll } => {
            dialogs::help::render(frame, size, model.theme, &model.key_context(), *scroll)
        }
        Overlay::Quit(dialog) => dialog.render(frame, size, model.theme),
        Overlay::Details { title, lines, scroll } => {
            dialogs::details::render(frame, size, model.theme, title, lines, *scroll)
        }
        Overlay::Approve(dialog) => dialog.render(frame, size, model.theme),
        Overlay::Node(dialog) => dialog.render(frame, size, model.theme),
        Overlay::Scale(dialog) => dialog.render(frame, size, model.theme),
        Overlay::Protect(dialog) => dialog.render(frame, size, model.theme),
        Overlay::Autoscale(dialog) => dialog.render(frame, size, model.theme),
        Overlay::Findings { scroll } => {
            dialogs::findings::render(frame, size, model.theme, &model.findings, *scroll)
        }
        Overlay::None | Overlay::Command(_) | Overlay::Filter(_) => {}
    }
}
