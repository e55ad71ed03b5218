//! The ARM JSON of `Microsoft.Insights/autoscalesettings` (api-version 2022-10-01,
//! `AutoscaleSettingResource` in the spec's autoscale_API.json) into [`Setting`].
//!
//! Tolerant where real answers differ from the spec: capacities are strings in the spec but a
//! number is taken too; days are names ("Monday") in real answers and digits ("1") in the spec's
//! own examples (.NET's DayOfWeek: 0 = Sunday). Fixed-date `start`/`end` are wall-clock times in
//! the profile's `timeZone`; tools often write them with a `Z` or `+00:00` regardless (azure-cli
//! issue 10116 reports `+00:00` beside "Tokyo Standard Time"), so any offset is ignored and the
//! time zone decides.

use super::{CapacityRange, Profile, Schedule, Setting};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use time::{PrimitiveDateTime, Weekday};

/// Why a setting could not be read; names the setting and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub setting: String,
    pub detail: String,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "autoscale setting {}: {}", self.setting, self.detail)
    }
}

impl std::error::Error for WireError {}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    properties: Properties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties {
    #[serde(default)]
    profiles: Vec<WireProfile>,
    /// The spec's default is true.
    enabled: Option<bool>,
    name: Option<String>,
    #[serde(default)]
    target_resource_uri: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProfile {
    name: String,
    capacity: WireCapacity,
    #[serde(default)]
    rules: Vec<WireRule>,
    fixed_date: Option<WireTimeWindow>,
    recurrence: Option<WireRecurrence>,
}

#[derive(Deserialize)]
struct WireCapacity {
    minimum: Value,
    maximum: Value,
    default: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRule {
    scale_action: Option<WireScaleAction>,
}

#[derive(Deserialize)]
struct WireScaleAction {
    #[serde(default)]
    direction: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTimeWindow {
    time_zone: Option<String>,
    start: String,
    end: String,
}

#[derive(Deserialize)]
struct WireRecurrence {
    #[serde(default)]
    frequency: String,
    schedule: WireSchedule,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSchedule {
    time_zone: String,
    #[serde(default)]
    days: Vec<String>,
    #[serde(default)]
    hours: Vec<i64>,
    #[serde(default)]
    minutes: Vec<i64>,
}

/// Does `setting_json`'s `properties.targetResourceUri` name `resource_id` (ARM ids compare
/// case-insensitively)?
pub fn targets(setting_json: &Value, resource_id: &str) -> bool {
    setting_json
        .pointer("/properties/targetResourceUri")
        .and_then(Value::as_str)
        .is_some_and(|uri| same_resource(uri, resource_id))
}

fn same_resource(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// One setting resource, as listed or got.
pub fn parse_setting(resource: &Value) -> Result<Setting, WireError> {
    let shown = resource.get("name").and_then(Value::as_str).unwrap_or("(unnamed)").to_string();
    let fail = |detail: String| WireError { setting: shown.clone(), detail };
    let wire: Resource =
        serde_json::from_value(resource.clone()).map_err(|err| fail(format!("unexpected shape ({err})")))?;
    let name =
        if wire.name.is_empty() { wire.properties.name.clone().unwrap_or_default() } else { wire.name };
    let mut profiles = Vec::new();
    for (index, profile) in wire.properties.profiles.into_iter().enumerate() {
        let at = format!("profiles[{index}] \"{}\"", profile.name);
        profiles.push(parse_profile(profile).map_err(|detail| fail(format!("{at}: {detail}")))?);
    }
    Ok(Setting {
        id: wire.id,
        name,
        enabled: wire.properties.enabled.unwrap_or(true),
        target_resource_uri: wire.properties.target_resource_uri,
        profiles,
        resource: resource.clone(),
    })
}

fn parse_profile(profile: WireProfile) -> Result<Profile, String> {
    let capacity = CapacityRange {
        minimum: count(&profile.capacity.minimum, "capacity.minimum")?,
        maximum: count(&profile.capacity.maximum, "capacity.maximum")?,
        default: count(&profile.capacity.default, "capacity.default")?,
    };
    if capacity.minimum > capacity.maximum {
        return Err(format!(
            "capacity.minimum {} is above capacity.maximum {}",
            capacity.minimum, capacity.maximum
        ));
    }
    let scales_in = profile.rules.iter().any(|rule| {
        rule.scale_action.as_ref().is_some_and(|action| action.direction.eq_ignore_ascii_case("Decrease"))
    });
    let schedule = match (profile.fixed_date, profile.recurrence) {
        (Some(window), _) => Schedule::FixedDate {
            time_zone: window.time_zone.filter(|zone| !zone.trim().is_empty()),
            start: wall_clock(&window.start).ok_or_else(|| format!("fixedDate.start `{}`", window.start))?,
            end: wall_clock(&window.end).ok_or_else(|| format!("fixedDate.end `{}`", window.end))?,
        },
        (None, Some(recurrence)) => {
            if !recurrence.frequency.eq_ignore_ascii_case("Week") {
                return Err(format!("recurrence.frequency `{}` (only Week is valid)", recurrence.frequency));
            }
            let schedule = recurrence.schedule;
            let days = schedule.days.iter().map(|day| weekday(day)).collect::<Result<Vec<_>, _>>()?;
            let hours = small_numbers(&schedule.hours, 23, "hours")?;
            let minutes = small_numbers(&schedule.minutes, 59, "minutes")?;
            if days.is_empty() || hours.is_empty() || minutes.is_empty() {
                return Err("recurrence.schedule needs days, hours and minutes".into());
            }
            Schedule::Recurring { time_zone: schedule.time_zone, days, hours, minutes }
        }
        (None, None) => Schedule::Default,
    };
    Ok(Profile { name: profile.name, capacity, schedule, scales_in })
}

/// `"4"` or `4`, at most 1000 (a Uniform scale set's limit).
fn count(value: &Value, field: &str) -> Result<u32, String> {
    let parsed = match value {
        Value::String(text) => text.trim().parse::<u32>().ok(),
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    };
    parsed.filter(|n| *n <= 1000).ok_or_else(|| format!("{field} `{value}` is not a count from 0 to 1000"))
}

fn small_numbers(values: &[i64], max: i64, field: &str) -> Result<Vec<u8>, String> {
    values
        .iter()
        .map(|v| {
            u8::try_from(*v)
                .ok()
                .filter(|n| i64::from(*n) <= max)
                .ok_or_else(|| format!("recurrence.schedule.{field} holds {v} (0..={max})"))
        })
        .collect()
}

fn weekday(day: &str) -> Result<Weekday, String> {
    let day = day.trim();
    let named = [
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
    ];
    if let Ok(number) = day.parse::<usize>() {
        return named.get(number).copied().ok_or_else(|| format!("day `{day}` (0 = Sunday .. 6 = Saturday)"));
    }
    named
        .into_iter()
        .find(|w| w.to_string().eq_ignore_ascii_case(day))
        .ok_or_else(|| format!("day `{day}` is not a day of the week"))
}

/// The wall-clock part of `2026-11-27T00:00:00`, `…Z`, `…+01:00` or with fractional seconds.
fn wall_clock(text: &str) -> Option<PrimitiveDateTime> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(PrimitiveDateTime::new(at.date(), at.time()));
    }
    let formats = [
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ];
    formats.iter().find_map(|format| PrimitiveDateTime::parse(text, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn setting(profiles: Value) -> Value {
        json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/as",
            "name": "as",
            "location": "West Europe",
            "properties": {
                "profiles": profiles,
                "targetResourceUri": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
            }
        })
    }

    #[test]
    fn capacities_are_strings_or_numbers_and_enabled_defaults_to_true() {
        let parsed = parse_setting(&setting(json!([
            {"name": "default", "capacity": {"minimum": "2", "maximum": 10, "default": "4"}, "rules": []}
        ])))
        .unwrap();
        assert!(parsed.enabled);
        assert_eq!(parsed.profiles[0].capacity, CapacityRange { minimum: 2, maximum: 10, default: 4 });
        assert_eq!(parsed.profiles[0].schedule, Schedule::Default);
        assert!(!parsed.profiles[0].scales_in);
    }

    #[test]
    fn days_are_names_or_dotnet_numbers_and_fixed_dates_ignore_their_offset() {
        let parsed = parse_setting(&setting(json!([
            {"name": "weekday", "capacity": {"minimum": "2", "maximum": "6", "default": "2"},
             "rules": [{"scaleAction": {"direction": "Decrease", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"}}],
             "recurrence": {"frequency": "Week", "schedule": {"timeZone": "Pacific Standard Time", "days": ["monday", "5"], "hours": [8], "minutes": [0, 30]}}},
            {"name": "sale", "capacity": {"minimum": "5", "maximum": "20", "default": "8"}, "rules": [],
             "fixedDate": {"timeZone": "Tokyo Standard Time", "start": "2026-11-27T09:00:00+00:00", "end": "2026-11-28T00:00:00.000Z"}}
        ])))
        .unwrap();
        let Schedule::Recurring { days, minutes, .. } = &parsed.profiles[0].schedule else { panic!() };
        assert_eq!(days, &[Weekday::Monday, Weekday::Friday]);
        assert_eq!(minutes, &[0, 30]);
        assert!(parsed.profiles[0].scales_in);
        let Schedule::FixedDate { start, end, time_zone } = &parsed.profiles[1].schedule else { panic!() };
        assert_eq!((*start, *end), (datetime!(2026-11-27 09:00), datetime!(2026-11-28 00:00)));
        assert_eq!(time_zone.as_deref(), Some("Tokyo Standard Time"));
    }

    #[test]
    fn a_bad_field_is_named_with_its_profile() {
        let err = parse_setting(&setting(json!([
            {"name": "p", "capacity": {"minimum": "two", "maximum": "6", "default": "2"}, "rules": []}
        ])))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "autoscale setting as: profiles[0] \"p\": capacity.minimum `\"two\"` is not a count from 0 to 1000"
        );
        let err = parse_setting(&setting(json!([
            {"name": "p", "capacity": {"minimum": "1", "maximum": "6", "default": "2"}, "rules": [],
             "recurrence": {"frequency": "Week", "schedule": {"timeZone": "UTC", "days": ["Funday"], "hours": [1], "minutes": [0]}}}
        ])))
        .unwrap_err();
        assert!(err.to_string().contains("day `Funday`"), "{err}");
    }

    #[test]
    fn the_target_is_compared_case_insensitively() {
        let json = setting(json!([]));
        assert!(targets(
            &json,
            "/subscriptions/S/resourcegroups/RG/providers/microsoft.compute/virtualmachinescalesets/WEB"
        ));
        assert!(!targets(
            &json,
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web2"
        ));
    }

    /// The spec's own example (tests/fixtures/azure/SOURCES.md).
    #[test]
    fn the_spec_example_parses() {
        let example: Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/azure/listAutoscaleSetting.json"))
                .unwrap();
        let listed = &example["responses"]["200"]["body"]["value"][0];
        let setting = parse_setting(listed).unwrap();
        assert_eq!(setting.name, "MySetting");
        assert!(setting.enabled);
        assert!(targets(
            listed,
            "/subscriptions/b67f7fec-69fc-4974-9099-a26bd6ffeda3/resourceGroups/TestingMetricsScaleSet/providers/Microsoft.Compute/virtualMachineScaleSets/testingsc"
        ));
        assert_eq!(setting.profiles.len(), 2);
        assert_eq!(setting.profiles[0].capacity, CapacityRange { minimum: 1, maximum: 10, default: 1 });
        assert!(setting.profiles[0].scales_in, "the example has a Decrease rule");
        assert_eq!(
            setting.profiles[0].schedule,
            Schedule::FixedDate {
                time_zone: Some("UTC".into()),
                start: datetime!(2015-03-05 14:00),
                end: datetime!(2015-03-05 14:30)
            }
        );
        assert_eq!(
            setting.profiles[1].schedule,
            Schedule::Recurring {
                time_zone: "UTC".into(),
                days: vec![Weekday::Monday],
                hours: vec![5],
                minutes: vec![15]
            }
        );
    }

    #[test]
    fn a_portal_profile_name_reads_as_words() {
        let profile = Profile {
            name: r#"{"name":"Auto created default scale condition","for":"weekday"}"#.into(),
            capacity: CapacityRange { minimum: 1, maximum: 2, default: 1 },
            schedule: Schedule::Default,
            scales_in: false,
        };
        assert_eq!(profile.display_name(), "Auto created default scale condition (after \"weekday\")");
    }
}
