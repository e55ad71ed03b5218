//! The simulated Azure Autoscale: `Microsoft.Insights/autoscalesettings` resources (stored as the
//! ARM JSON itself, so GET answers what PUT stored) and an engine that evaluates each enabled
//! setting every 30–60 s of simulated time, as the real one does.
//!
//! Each evaluation takes the active profile (the same pure selection scaleguard uses), scales a
//! capacity outside its range back to the nearest bound, and otherwise runs its rules against the
//! simulated load (`World::load_percent`, one number standing for every metric): scale out when any
//! scale-out rule fires, scale in only when every scale-in rule does ("Best practices for
//! autoscale"), each action waiting out its rule's cooldown since the engine's last action.

use super::activity_log::Writer;
use super::world::{SimTime, World};
use scaleguard_core::autoscale::{active_profile, parse_setting, targets};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct SimAutoscale {
    /// The ARM resource as stored.
    pub resource: Value,
    pub next_evaluation: SimTime,
    /// When the engine last scaled: its rules' cooldowns run from here.
    pub last_action: Option<SimTime>,
}

/// `[[autoscale]]` in a scenario: a setting for one of its scale sets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSection {
    pub name: String,
    /// The scale set it targets (by name).
    pub set: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub profiles: Vec<ProfileSection>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSection {
    pub name: String,
    pub minimum: u32,
    pub maximum: u32,
    pub default: u32,
    /// Scale out by one when the load is above this percentage (a "Percentage CPU" rule).
    pub scale_out_above: Option<f64>,
    /// Scale in by one when the load is below this percentage.
    pub scale_in_below: Option<f64>,
    /// `{ time_zone = "...", start = "2027-11-26T00:00:00", end = "..." }`
    pub fixed_date: Option<FixedDateSection>,
    /// `{ time_zone = "...", days = ["Monday"], hours = [8], minutes = [0] }`
    pub recurrence: Option<RecurrenceSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedDateSection {
    pub time_zone: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrenceSection {
    pub time_zone: String,
    pub days: Vec<String>,
    pub hours: Vec<u8>,
    pub minutes: Vec<u8>,
}

/// A scale set's ARM id.
pub fn set_id(world: &World, set_index: usize) -> String {
    let set = &world.scale_sets[set_index];
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
        set.subscription_id, set.resource_group, set.name
    )
}

/// An autoscale setting's ARM id (the casing real answers use).
pub fn setting_id(subscription: &str, resource_group: &str, name: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/microsoft.insights/autoscalesettings/{name}")
}

fn rule(metric_resource: &str, direction: &str, operator: &str, threshold: f64) -> Value {
    json!({
        "metricTrigger": {
            "metricName": "Percentage CPU",
            "metricNamespace": "microsoft.compute/virtualmachinescalesets",
            "metricResourceUri": metric_resource,
            "timeGrain": "PT1M",
            "statistic": "Average",
            "timeWindow": "PT5M",
            "timeAggregation": "Average",
            "operator": operator,
            "threshold": threshold,
            "dividePerInstance": false,
        },
        "scaleAction": {"direction": direction, "type": "ChangeCount", "value": "1", "cooldown": "PT5M"},
    })
}

impl World {
    /// Add the scenario's setting `section` (its set must exist).
    pub fn add_autoscale(&mut self, section: &AutoscaleSection) -> Result<(), super::world::WorldError> {
        let set_index = self.set_index(&section.set)?;
        let target = set_id(self, set_index);
        let set = &self.scale_sets[set_index];
        let profiles: Vec<Value> = section
            .profiles
            .iter()
            .map(|p| {
                let mut rules = Vec::new();
                if let Some(above) = p.scale_out_above {
                    rules.push(rule(&target, "Increase", "GreaterThan", above));
                }
                if let Some(below) = p.scale_in_below {
                    rules.push(rule(&target, "Decrease", "LessThan", below));
                }
                let mut profile = json!({
                    "name": p.name,
                    "capacity": {"minimum": p.minimum.to_string(), "maximum": p.maximum.to_string(), "default": p.default.to_string()},
                    "rules": rules,
                });
                if let Some(fixed) = &p.fixed_date {
                    profile["fixedDate"] = json!({"timeZone": fixed.time_zone, "start": fixed.start, "end": fixed.end});
                }
                if let Some(recurrence) = &p.recurrence {
                    profile["recurrence"] = json!({"frequency": "Week", "schedule": {
                        "timeZone": recurrence.time_zone, "days": recurrence.days,
                        "hours": recurrence.hours, "minutes": recurrence.minutes}});
                }
                profile
            })
            .collect();
        let resource = json!({
            "id": setting_id(&set.subscription_id, &set.resource_group, &section.name),
            "name": section.name,
            "type": "Microsoft.Insights/autoscaleSettings",
            "location": set.location,
            "tags": {},
            "properties": {
                "profiles": profiles,
                "enabled": section.enabled,
                "name": section.name,
                "targetResourceUri": target,
                "targetResourceLocation": set.location,
                "notifications": [],
                "predictiveAutoscalePolicy": {"scaleMode": "Disabled"},
            },
        });
        let next_evaluation = self.now + self.uniform(self.tunables.autoscale_every_secs);
        self.autoscale.push(SimAutoscale { resource, next_evaluation, last_action: None });
        Ok(())
    }

    /// A person's edit of setting `name` (see `EventAction::EditAutoscale`), logged as a write.
    pub fn edit_autoscale(
        &mut self,
        name: &str,
        profile: &str,
        minimum: Option<u32>,
        maximum: Option<u32>,
        enabled: Option<bool>,
    ) -> Result<(), super::world::WorldError> {
        let missing = || super::world::WorldError::NotFound(format!("autoscale setting `{name}`"));
        let index = self
            .autoscale
            .iter()
            .position(|s| {
                s.resource.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .ok_or_else(missing)?;
        let resource = &mut self.autoscale[index].resource;
        if let Some(enabled) = enabled {
            resource["properties"]["enabled"] = json!(enabled);
        }
        let profiles =
            resource.pointer_mut("/properties/profiles").and_then(Value::as_array_mut).ok_or_else(missing)?;
        let edited = profiles
            .iter_mut()
            .find(|p| p.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(profile)))
            .ok_or_else(|| {
                super::world::WorldError::NotFound(format!(
                    "profile `{profile}` of autoscale setting `{name}`"
                ))
            })?;
        for (field, value) in [("minimum", minimum), ("maximum", maximum)] {
            if let Some(value) = value {
                edited["capacity"][field] = json!(value.to_string());
            }
        }
        let id = resource.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let group = id.split('/').nth(4).unwrap_or_default().to_string();
        let writer = Writer::Person { caller: "ops@contoso.com".into(), app: "portal".into() };
        self.record_setting_write(&id, &group, &writer);
        Ok(())
    }

    pub(super) fn step_autoscale(&mut self) {
        for index in 0..self.autoscale.len() {
            if self.autoscale[index].next_evaluation <= self.now {
                self.evaluate_autoscale(index);
                self.autoscale[index].next_evaluation =
                    self.now + self.uniform(self.tunables.autoscale_every_secs);
            }
        }
    }

    fn evaluate_autoscale(&mut self, index: usize) {
        let resource = self.autoscale[index].resource.clone();
        let Ok(setting) = parse_setting(&resource) else { return };
        if !setting.enabled {
            return;
        }
        let Some(set_index) = (0..self.scale_sets.len()).find(|i| targets(&resource, &set_id(self, *i)))
        else {
            return;
        };
        let Ok(Some(active)) = active_profile(&setting.profiles, self.time_at(self.now)) else { return };
        let profile = &setting.profiles[active.index];
        let range = profile.capacity;
        let current = self.scale_sets[set_index].capacity;
        let wanted = if range.contains(current) {
            let rules = resource.pointer(&format!("/properties/profiles/{}/rules", active.index));
            let step =
                self.rule_step(rules.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]), index);
            range.clamp(current.saturating_add_signed(step))
        } else {
            range.clamp(current)
        };
        if wanted != current {
            let profile_name = profile.name.clone();
            self.set_capacity_by(set_index, wanted, &Writer::Autoscale { setting_id: setting.id.clone() });
            self.record_autoscale_action(&setting.id, set_index, current, wanted, &profile_name);
            self.autoscale[index].last_action = Some(self.now);
        }
    }

    /// +n when a scale-out rule fires, -n when every scale-in rule does, 0 otherwise.
    fn rule_step(&self, rules: &[Value], index: usize) -> i32 {
        let cooled = |rule: &Value| {
            let cooldown =
                rule.pointer("/scaleAction/cooldown").and_then(Value::as_str).and_then(iso_seconds);
            self.autoscale[index].last_action.is_none_or(|last| self.now - last >= cooldown.unwrap_or(300.0))
        };
        let fires = |rule: &Value| {
            let threshold =
                rule.pointer("/metricTrigger/threshold").and_then(Value::as_f64).unwrap_or(f64::NAN);
            let load = self.load_percent;
            match rule.pointer("/metricTrigger/operator").and_then(Value::as_str).unwrap_or_default() {
                "GreaterThan" => load > threshold,
                "GreaterThanOrEqual" => load >= threshold,
                "LessThan" => load < threshold,
                "LessThanOrEqual" => load <= threshold,
                "Equals" => load == threshold,
                "NotEquals" => load != threshold,
                _ => false,
            }
        };
        let amount = |rule: &Value| {
            rule.pointer("/scaleAction/value")
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<i32>().ok())
                .unwrap_or(1)
        };
        let direction = |rule: &Value, want: &str| {
            rule.pointer("/scaleAction/direction")
                .and_then(Value::as_str)
                .is_some_and(|d| d.eq_ignore_ascii_case(want))
        };
        if let Some(out) = rules.iter().find(|r| direction(r, "Increase") && fires(r) && cooled(r)) {
            return amount(out);
        }
        let ins: Vec<&Value> = rules.iter().filter(|r| direction(r, "Decrease")).collect();
        if !ins.is_empty() && ins.iter().all(|r| fires(r)) && ins.iter().all(|r| cooled(r)) {
            return -ins.iter().map(|r| amount(r)).max().unwrap_or(1);
        }
        0
    }
}

/// `PT5M`, `PT1H30M`, `PT45S`, `P1D` in seconds.
fn iso_seconds(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut seconds = 0.0;
    if !days.is_empty() {
        seconds += days.strip_suffix('D')?.parse::<f64>().ok()? * 86_400.0;
    }
    let mut number = String::new();
    for c in time.chars() {
        match c {
            'H' | 'M' | 'S' => {
                let value: f64 = number.parse().ok()?;
                seconds += value
                    * match c {
                        'H' => 3600.0,
                        'M' => 60.0,
                        _ => 1.0,
                    };
                number.clear();
            }
            _ => number.push(c),
        }
    }
    number.is_empty().then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::iso_seconds;

    #[test]
    fn iso_durations() {
        assert_eq!(iso_seconds("PT5M"), Some(300.0));
        assert_eq!(iso_seconds("PT1H30M"), Some(5400.0));
        assert_eq!(iso_seconds("P1DT1S"), Some(86_401.0));
        assert_eq!(iso_seconds("5M"), None);
    }
}
