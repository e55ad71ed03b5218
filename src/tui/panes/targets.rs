//! Octopus targets in scope: health, disabled, machine policy, endpoint.

use super::{json_lines, plain, styled, Column, PaneRow, RowCtx};
use crate::model::{HealthStatus, Target};
use crate::tui::theme::Tone;
use ratatui::text::Span;

static COLUMNS: &[Column] = &[
    Column::new("ID", 8, 12, 3),
    Column::new("NAME", 12, 24, 0),
    Column::new("HEALTH", 11, 11, 2),
    Column::new("ENABLED", 8, 8, 5),
    // The pane that connects: the scale-set VM this target was paired with.
    Column::new("VM", 8, 16, 1),
    Column::new("POLICY", 8, 17, 6),
    Column::new("ENDPOINT", 10, 40, 4).flex(),
];

pub fn health_tone(health: &HealthStatus) -> Tone {
    match health {
        HealthStatus::Healthy => Tone::Good,
        HealthStatus::HasWarnings => Tone::Warn,
        HealthStatus::Unhealthy | HealthStatus::Unavailable => Tone::Bad,
        HealthStatus::Unknown | HealthStatus::Other(_) => Tone::Muted,
    }
}

/// "listening https://web01:10933/" — the style in words, then where.
pub fn endpoint_text(target: &Target) -> String {
    let style = match &*target.endpoint.communication_style {
        "TentaclePassive" => "listening",
        "TentacleActive" => "polling",
        other => other,
    };
    match &target.endpoint.uri {
        Some(uri) => format!("{style} {uri}"),
        None => style.to_string(),
    }
}

impl PaneRow for Target {
    fn columns() -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, ctx: &RowCtx<'_>) -> Vec<Span<'static>> {
        let theme = ctx.theme;
        vec![
            plain(self.id.clone()),
            plain(self.name.clone()),
            styled(self.health.as_str(), theme, health_tone(&self.health)),
            if self.disabled { styled("disabled", theme, Tone::Warn) } else { plain("enabled") },
            match ctx.model.links.vm_of(ctx.row) {
                Some(vm) => plain(vm.to_string()),
                None => styled("no VM", theme, Tone::Warn),
            },
            plain(self.machine_policy_id.as_deref().unwrap_or("-").to_string()),
            plain(endpoint_text(self)),
        ]
    }

    fn sort_key(&self, column: usize) -> String {
        match column {
            0 => {
                let number = self.id.rsplit('-').next().unwrap_or("");
                super::padded_number(number)
            }
            1 => self.name.to_lowercase(),
            2 => self.health.as_str().to_string(),
            3 => self.disabled.to_string(),
            4 => String::new(),
            5 => self.machine_policy_id.as_deref().unwrap_or_default().to_string(),
            _ => endpoint_text(self),
        }
    }

    fn filter_text(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.id,
            self.name,
            self.health,
            if self.disabled { "disabled" } else { "enabled" },
            self.machine_policy_id.as_deref().unwrap_or(""),
            endpoint_text(self)
        )
    }

    fn key(&self) -> String {
        self.id.clone()
    }

    fn details(&self, _ctx: &RowCtx<'_>) -> (String, Vec<String>) {
        let mut lines = vec![
            format!("id        {}", self.id),
            format!("name      {}", self.name),
            format!("roles     {}", self.roles.join(", ")),
            format!("health    {}", self.health),
            format!("enabled   {}", if self.disabled { "no (disabled)" } else { "yes" }),
            format!("policy    {}", self.machine_policy_id.as_deref().unwrap_or("-")),
            format!("endpoint  {}", endpoint_text(self)),
            format!("thumbprint {}", self.thumbprint.as_deref().unwrap_or("-")),
            String::new(),
        ];
        lines.extend(json_lines(self));
        (format!("Target {}", self.name), lines)
    }
}
