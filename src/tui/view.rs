//! `view(&ConsoleState)`: only reads the model. The layout is a pure function of the terminal size so the
//! mouse handler can tell which row was clicked.

use super::app::{ConsoleState, Overlay};
use super::{dialogs, footer, header, panes};
use ratatui::layout::Rect;
use ratatui::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub tabs: Rect,
    pub strip: Rect,
    pub body: Rect,
    pub status: Rect,
    pub keys: Rect,
}

pub fn areas(size: Rect) -> Areas {
    let line = |y: u16| Rect { x: size.x, y, width: size.width, height: 1.min(size.height) };
    let strip_height = if size.height >= 16 { 2 } else { 0 };
    let fixed = 4 + strip_height;
    let body_height = size.height.saturating_sub(fixed);
    let top = size.y;
    let strip = Rect { x: size.x, y: top + 2, width: size.width, height: strip_height };
    let body = Rect { x: size.x, y: top + 2 + strip_height, width: size.width, height: body_height };
    let bottom = body.y + body.height;
    Areas {
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
    let areas = areas(size);
    header::render_header(frame, areas.header, model);
    header::render_tabs(frame, areas.tabs, model);
    if areas.strip.height > 0 {
        header::render_strip(frame, areas.strip, model);
    }
    panes::render_current(frame, areas.body, model);
    footer::render_status(frame, areas.status, model);
    footer::render_keys(frame, areas.keys, model);
    match &model.overlay {
        Overlay::Help => dialogs::help::render(frame, size, model.theme, &model.key_context()),
        Overlay::Details { title, lines, scroll } => {
            dialogs::details::render(frame, size, model.theme, title, lines, *scroll)
        }
        Overlay::Approve(dialog) => dialog.render(frame, size, model.theme, model.confirm_over),
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
