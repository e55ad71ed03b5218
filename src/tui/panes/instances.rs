//! Scale-set instances: id, computer name, provisioning and power state, model, protection.

use super::{json_lines, padded_number, plain, styled, Column, PaneRow, RowCtx};
use crate::model::{Instance, PowerState, ProvisioningState};
use crate::tui::theme::Tone;
use ratatui::text::Span;

static COLUMNS: &[Column] = &[
    Column::new("ID", 3, 5, 2),
    Column::new("COMPUTER NAME", 13, 20, 0),
    Column::new("PROVISIONING", 9, 12, 3),
    Column::new("POWER", 8, 12, 4),
    Column::new("MODEL", 6, 7, 6),
    Column::new("PROTECTION", 9, 10, 5),
    // The pane that connects: the target registered on this VM.
    Column::new("TARGET", 13, 24, 1),
    Column::new("SCALE SET", 8, 16, 7).flex(),
];

pub fn provisioning_tone(state: &ProvisioningState) -> Tone {
    match state {
        ProvisioningState::Succeeded => Tone::Good,
        ProvisioningState::Failed => Tone::Bad,
        ProvisioningState::Canceled => Tone::Warn,
        _ => Tone::Busy,
    }
}

pub fn power_tone(state: &PowerState) -> Tone {
    match state {
        PowerState::Running => Tone::Good,
        PowerState::Starting | PowerState::Stopping | PowerState::Deallocating => Tone::Busy,
        PowerState::Stopped | PowerState::Deallocated => Tone::Warn,
        PowerState::Unknown | PowerState::Other(_) => Tone::Muted,
    }
}

impl PaneRow for Instance {
    fn columns() -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, ctx: &RowCtx<'_>) -> Vec<Span<'static>> {
        let theme = ctx.theme;
        vec![
            plain(self.instance_id.clone()),
            plain(self.computer_name.clone().unwrap_or_else(|| "-".into())),
            styled(self.provisioning_state.as_str(), theme, provisioning_tone(&self.provisioning_state)),
            styled(self.power_state.as_str(), theme, power_tone(&self.power_state)),
            if self.latest_model_applied {
                styled("latest", theme, Tone::Good)
            } else {
                styled("OLD", theme, Tone::Warn)
            },
            if self.protected_from_scale_in { styled("protected", theme, Tone::Busy) } else { plain("-") },
            match ctx.model.links.targets_on(self) {
                Some(names) => plain(names),
                None => styled("-", theme, Tone::Muted),
            },
            plain(self.scale_set.name.clone()),
        ]
    }

    fn sort_key(&self, column: usize) -> String {
        match column {
            0 => padded_number(&self.instance_id),
            1 => self.computer_name.clone().unwrap_or_default().to_lowercase(),
            2 => self.provisioning_state.as_str().to_lowercase(),
            3 => self.power_state.as_str().to_string(),
            4 => self.latest_model_applied.to_string(),
            5 => (!self.protected_from_scale_in).to_string(),
            6 => String::new(),
            _ => format!("{}/{}", self.scale_set.name, padded_number(&self.instance_id)),
        }
    }

    fn filter_text(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.instance_id,
            self.computer_name.as_deref().unwrap_or(""),
            self.provisioning_state,
            self.power_state,
            if self.protected_from_scale_in { "protected" } else { "" },
            self.scale_set.name
        )
    }

    fn key(&self) -> String {
        format!("{}/{}", self.scale_set, self.instance_id)
    }

    fn details(&self, _ctx: &RowCtx<'_>) -> (String, Vec<String>) {
        let mut lines = vec![
            format!("scale set     {}", self.scale_set),
            format!("instance id   {}", self.instance_id),
            format!("vm id         {}", self.vm_id.as_deref().unwrap_or("-")),
            format!("name          {}", self.name),
            format!("computer name {}", self.computer_name.as_deref().unwrap_or("-")),
            format!("provisioning  {}", self.provisioning_state),
            format!("power         {}", self.power_state),
            format!("latest model  {}", if self.latest_model_applied { "yes" } else { "no" }),
            format!(
                "protected     {}",
                if self.protected_from_scale_in { "yes (scale-in skips it)" } else { "no" }
            ),
            String::new(),
        ];
        lines.extend(json_lines(self));
        (format!("Instance {} of {}", self.instance_id, self.scale_set.name), lines)
    }
}
