//! The Azure Autoscale line of the instances pane: what Autoscale does to each scale set now
//! (`vmss-web autoscale: on · profile "weekday" 2..10 (default 4) · next change 18:00 UTC`, or
//! `off`, `none`, `unknown: why`), from the latest refresh. One line, sets separated by ` | `.

use super::app::ConsoleState;
use super::theme::Tone;

/// The line and how it should look: Warn when something is off or unknown.
pub fn autoscale_line(model: &ConsoleState) -> Option<(String, Tone)> {
    let mut parts = Vec::new();
    let mut tone = Tone::Muted;
    for key in &model.scale.configured {
        let Some(others) = model.scale.others.get(key) else { continue };
        let state = others.autoscale(model.now);
        if matches!(
            state,
            crate::autoscale::AutoscaleState::Unknown { .. }
                | crate::autoscale::AutoscaleState::Disabled { .. }
        ) {
            tone = Tone::Warn;
        }
        let name = if model.scale.configured.len() > 1 { format!("{} ", key.name) } else { String::new() };
        parts.push(format!("{name}autoscale: {}", state.line(model.now)));
    }
    (!parts.is_empty()).then(|| (format!(" {} ", parts.join(" | ")), tone))
}
