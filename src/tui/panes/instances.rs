//! Scale-set instances: id, computer name, provisioning and power state, model, protection.
//!
//! A Flexible set's instance id is the VM name, `{set}_{8 hex}`: the ID column shows the part
//! after `{set}_`, never cut short (`floors`); the details and the filter use the whole name.
//! What Azure does not report for Flexible VMs (latest model, protection) reads "unknown".

use super::{json_lines, padded_number, plain, styled, Column, PaneRow, RowCtx};
use crate::model::{Instance, PowerState, ProvisioningState};
use crate::tui::theme::Tone;
use ratatui::text::Span;

static COLUMNS: &[Column] = &[
    // A Flexible VM's id is wider (8 hex): `floors` keeps the column as wide as the widest id.
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

/// TARGET's index in `COLUMNS`, and how wide a node host's label may ask it to be.
const TARGET_COLUMN: usize = 6;
const HOST_FLOOR_CAP: usize = 30;

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

/// An EC2 instance id (`i-` and 17 hex digits) fits whole.
const ID_FLOOR_CAP: usize = 19;
/// "Warmed:Pending:Proceed", the longest lifecycle state.
const STATE_FLOOR_CAP: usize = 22;

/// The id as the ID column shows it: a Flexible VM's name without its `{set}_` prefix.
pub fn short_id(instance: &Instance) -> &str {
    let prefix_len = instance.scale_set.name.len() + 1;
    match instance.instance_id.get(..prefix_len) {
        Some(head)
            if head.len() < instance.instance_id.len()
                && head.ends_with('_')
                && head[..head.len() - 1].eq_ignore_ascii_case(&instance.scale_set.name) =>
        {
            &instance.instance_id[prefix_len..]
        }
        _ => &instance.instance_id,
    }
}

/// The PROVISIONING cell: an AWS instance's lifecycle state ("Pending:Wait", "Warmed:Stopped"),
/// which says more than the provisioning state it maps to.
fn state_word(instance: &Instance) -> &str {
    instance.lifecycle_state().map_or(instance.provisioning_state.as_str(), |state| state.as_str())
}

/// The MODEL cell: "unknown" where Azure does not report it (a Flexible VM).
fn model_word(latest: Option<bool>) -> &'static str {
    match latest {
        Some(true) => "latest",
        Some(false) => "OLD",
        None => "unknown",
    }
}

/// Sorts "no" (0) before "yes" (1) before "unknown" (2).
fn known_order(value: Option<bool>) -> u8 {
    match value {
        Some(false) => 0,
        Some(true) => 1,
        None => 2,
    }
}

impl PaneRow for Instance {
    fn columns() -> &'static [Column] {
        COLUMNS
    }

    fn model_floors(model: &crate::tui::app::ConsoleState, rows: &[Self]) -> Vec<(usize, u16)> {
        // Every host label starts "node " and node names share a prefix: never cut them short.
        let widest = rows
            .iter()
            .filter_map(|row| host_label(row, model))
            .map(|label| label.unwrap_or_else(|e| e).chars().count())
            .max()
            .unwrap_or(0);
        vec![(TARGET_COLUMN, widest.min(HOST_FLOOR_CAP) as u16)]
    }

    fn floors(rows: &[Self]) -> Vec<(usize, u16)> {
        // A name not in the `{set}_{8 hex}` form (a VM attached by hand) may be long: past
        // ID_FLOOR_CAP it is cut here and read whole in the details.
        let widest = rows.iter().map(|row| short_id(row).chars().count()).max().unwrap_or(0);
        let model = rows.iter().map(|row| model_word(row.latest_model_applied).len()).max().unwrap_or(0);
        // An AWS lifecycle state ("Terminating:Wait") is read whole.
        let state = rows.iter().map(|row| state_word(row).chars().count()).max().unwrap_or(0);
        vec![(0, widest.min(ID_FLOOR_CAP) as u16), (2, state.min(STATE_FLOOR_CAP) as u16), (4, model as u16)]
    }

    fn cells(&self, ctx: &RowCtx<'_>) -> Vec<Span<'static>> {
        let theme = ctx.theme;
        vec![
            plain(short_id(self).to_string()),
            plain(self.computer_name.clone().unwrap_or_else(|| "-".into())),
            styled(state_word(self), theme, provisioning_tone(&self.provisioning_state)),
            styled(self.power_state.as_str(), theme, power_tone(&self.power_state)),
            styled(
                model_word(self.latest_model_applied),
                theme,
                match self.latest_model_applied {
                    Some(true) => Tone::Good,
                    Some(false) => Tone::Warn,
                    None => Tone::Muted,
                },
            ),
            match self.protected_from_scale_in {
                Some(true) => styled("protected", theme, Tone::Busy),
                Some(false) => plain("-"),
                None => styled("unknown", theme, Tone::Muted),
            },
            // A VM of the nodes' scale set hosts an HA node, not a target.
            match (host_label(self, ctx.model), ctx.model.links.targets_on(ctx.row)) {
                (Some(Ok(label)), _) => styled(label, theme, Tone::Busy),
                (Some(Err(label)), _) => styled(label, theme, Tone::Warn),
                (None, Some(names)) => plain(names.to_string()),
                (None, None) => styled("-", theme, Tone::Muted),
            },
            plain(self.scale_set.name.clone()),
        ]
    }

    fn sort_key(&self, column: usize) -> String {
        match column {
            0 => padded_number(&self.instance_id),
            1 => self.computer_name.clone().unwrap_or_default().to_lowercase(),
            2 => state_word(self).to_lowercase(),
            3 => self.power_state.as_str().to_string(),
            4 => known_order(self.latest_model_applied).to_string(),
            5 => known_order(self.protected_from_scale_in.map(|p| !p)).to_string(),
            6 => String::new(),
            _ => format!("{}/{}", self.scale_set.name, padded_number(&self.instance_id)),
        }
    }

    fn filter_text(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.instance_id,
            self.computer_name.as_deref().unwrap_or(""),
            state_word(self),
            self.power_state,
            match self.protected_from_scale_in {
                Some(true) => "protected",
                Some(false) => "",
                None => "unknown",
            },
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
            format!("lifecycle     {}", self.lifecycle_state().map_or("-", |s| s.as_str())),
            format!("power         {}", self.power_state),
            format!(
                "latest model  {}",
                match self.latest_model_applied {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "unknown (not reported for this VM)",
                }
            ),
            format!(
                "protected     {}",
                match self.protected_from_scale_in {
                    Some(true) => "yes (scale-in skips it)",
                    Some(false) => "no",
                    None => "unknown (a Flexible set's VM carries no protection policy)",
                }
            ),
            String::new(),
        ];
        lines.extend(json_lines(self));
        (format!("Instance {} of {}", self.instance_id, self.scale_set.name), lines)
    }
}

/// The TARGET cell of a VM of the nodes' scale set: "node OCTO000003", or Err("node: unpaired").
fn host_label(instance: &Instance, model: &crate::tui::app::ConsoleState) -> Option<Result<String, String>> {
    Some(match model.ha.host_of(instance)? {
        Ok(node) => {
            let name = model.nodes.rows.iter().find(|n| n.id == node).map_or(node, |n| n.name.as_str());
            Ok(format!("node {name}"))
        }
        Err(_) => Err("node: unpaired".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::short_id;
    use crate::reconcile::testkit::vm;

    #[test]
    fn a_flexible_vm_shows_the_part_after_its_sets_name() {
        let mut flexible = vm("vmss-flex", 0);
        flexible.instance_id = "VMSS-Flex_0a1b2c3d".into();
        assert_eq!(short_id(&flexible), "0a1b2c3d", "the set's name in any case");
        assert_eq!(short_id(&vm("vmss-flex", 7)), "7", "a Uniform id as it is");
        let mut other = vm("vmss-flex", 0);
        other.instance_id = "attached-vm".into();
        assert_eq!(short_id(&other), "attached-vm", "a VM named otherwise keeps its whole name");
        other.instance_id = "vmss-flex_".into();
        assert_eq!(short_id(&other), "vmss-flex_", "never an empty id");
    }
}
