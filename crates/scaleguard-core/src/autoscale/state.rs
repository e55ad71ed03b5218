//! What Autoscale means for one scale set right now: none, off, on with its active profile, or
//! unknown (and why). Three different things on screen: a set without a setting, a disabled
//! setting and one that could not be read.

use super::{active_profile, CapacityRange, Setting};
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoscaleState {
    /// No autoscale setting targets the scale set.
    None,
    /// A setting targets it but is disabled: Autoscale does not act.
    Disabled { setting: String },
    /// Enabled, with the profile in force now.
    On { setting: String, profile: String, range: CapacityRange, next_change: Option<OffsetDateTime> },
    /// It could not be read or understood (a 403, an unknown time zone, no profile applies): it
    /// may act, nobody can say how.
    Unknown { why: String },
}

impl AutoscaleState {
    /// The state of `read` (the setting targeting the set, if any) at `at`.
    pub fn of(read: Result<Option<&Setting>, String>, at: OffsetDateTime) -> Self {
        let setting = match read {
            Err(why) => return Self::Unknown { why },
            Ok(None) => return Self::None,
            Ok(Some(setting)) => setting,
        };
        if !setting.enabled {
            return Self::Disabled { setting: setting.name.clone() };
        }
        match active_profile(&setting.profiles, at) {
            Ok(Some(active)) => {
                let profile = &setting.profiles[active.index];
                Self::On {
                    setting: setting.name.clone(),
                    profile: profile.display_name(),
                    range: profile.capacity,
                    next_change: active.next_change,
                }
            }
            Ok(None) => Self::Unknown {
                why: format!(
                    "no profile of autoscale setting {} applies now (only fixed dates, none of them now)",
                    setting.name
                ),
            },
            Err(err) => Self::Unknown { why: format!("autoscale setting {}: {err}", setting.name) },
        }
    }

    pub fn setting(&self) -> Option<&str> {
        match self {
            Self::Disabled { setting } | Self::On { setting, .. } => Some(setting),
            Self::None | Self::Unknown { .. } => None,
        }
    }

    /// `on · profile "weekday" 2..10 (default 4) · next change 18:00 UTC`, `off (setting X is
    /// disabled)`, `none`, `unknown: why`.
    pub fn line(&self, now: OffsetDateTime) -> String {
        match self {
            Self::None => "none".into(),
            Self::Disabled { setting } => format!("off (setting {setting} is disabled)"),
            Self::Unknown { why } => format!("unknown: {why}"),
            Self::On { profile, range, next_change, .. } => {
                let mut line = format!("on · profile \"{profile}\" {range}");
                if let Some(next) = next_change {
                    line.push_str(&format!(" · next change {}", when(*next, now)));
                }
                line
            }
        }
    }

    pub fn summary(&self) -> Option<AutoscaleSummary> {
        let time = |at: &OffsetDateTime| at.format(&time::format_description::well_known::Rfc3339).ok();
        match self {
            Self::None => None,
            Self::Disabled { setting } => Some(AutoscaleSummary {
                name: Some(setting.clone()),
                enabled: Some(false),
                state: "off",
                active_profile: None,
                next_change: None,
                why: None,
            }),
            Self::On { setting, profile, range, next_change } => Some(AutoscaleSummary {
                name: Some(setting.clone()),
                enabled: Some(true),
                state: "on",
                active_profile: Some(ActiveProfileSummary {
                    name: profile.clone(),
                    minimum: range.minimum,
                    maximum: range.maximum,
                    default: range.default,
                }),
                next_change: next_change.as_ref().and_then(time),
                why: None,
            }),
            Self::Unknown { why } => Some(AutoscaleSummary {
                name: None,
                enabled: None,
                state: "unknown",
                active_profile: None,
                next_change: None,
                why: Some(why.clone()),
            }),
        }
    }
}

/// `18:00 UTC` within a day, else `2026-01-12 08:00 UTC`.
fn when(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let clock = format!("{:02}:{:02} UTC", at.hour(), at.minute());
    if at - now < time::Duration::hours(24) {
        clock
    } else {
        format!("{} {clock}", at.date())
    }
}

/// The `autoscale` object of `inventory --format json` (`null` when no setting targets the set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoscaleSummary {
    /// The setting's name; null when it could not be read.
    pub name: Option<String>,
    pub enabled: Option<bool>,
    /// "on", "off" or "unknown".
    pub state: &'static str,
    pub active_profile: Option<ActiveProfileSummary>,
    /// RFC 3339, when another profile takes over.
    pub next_change: Option<String>,
    /// Why the state is unknown.
    pub why: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveProfileSummary {
    pub name: String,
    pub minimum: u32,
    pub maximum: u32,
    pub default: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::{Profile, Schedule};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-05 10:00 UTC);

    fn setting(enabled: bool, profiles: Vec<Profile>) -> Setting {
        Setting {
            id: "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/as".into(),
            name: "as".into(),
            enabled,
            target_resource_uri: String::new(),
            profiles,
            resource: serde_json::Value::Null,
        }
    }

    fn weekday() -> Profile {
        Profile {
            name: "weekday".into(),
            capacity: CapacityRange { minimum: 2, maximum: 10, default: 4 },
            schedule: Schedule::Recurring {
                time_zone: "UTC".into(),
                days: vec![time::Weekday::Monday],
                hours: vec![8],
                minutes: vec![0],
            },
            scales_in: true,
        }
    }

    fn evening() -> Profile {
        Profile {
            name: "evening".into(),
            schedule: Schedule::Recurring {
                time_zone: "UTC".into(),
                days: vec![time::Weekday::Monday],
                hours: vec![18],
                minutes: vec![0],
            },
            ..weekday()
        }
    }

    #[test]
    fn none_off_on_and_unknown_read_differently() {
        assert_eq!(AutoscaleState::of(Ok(None), NOW).line(NOW), "none");
        let off = AutoscaleState::of(Ok(Some(&setting(false, vec![weekday()]))), NOW);
        assert_eq!(off.line(NOW), "off (setting as is disabled)");
        let on = AutoscaleState::of(Ok(Some(&setting(true, vec![weekday(), evening()]))), NOW);
        assert_eq!(on.line(NOW), "on · profile \"weekday\" 2..10 (default 4) · next change 18:00 UTC");
        let unknown = AutoscaleState::of(Err("permission denied (403 Forbidden)".into()), NOW);
        assert_eq!(unknown.line(NOW), "unknown: permission denied (403 Forbidden)");
    }

    #[test]
    fn a_next_change_more_than_a_day_away_names_its_date() {
        let on = AutoscaleState::of(Ok(Some(&setting(true, vec![weekday()]))), NOW);
        assert_eq!(
            on.line(NOW),
            "on · profile \"weekday\" 2..10 (default 4)",
            "one weekly profile never changes"
        );
        let later = AutoscaleState::On {
            setting: "as".into(),
            profile: "p".into(),
            range: CapacityRange { minimum: 1, maximum: 2, default: 1 },
            next_change: Some(datetime!(2026-01-12 08:00 UTC)),
        };
        assert!(later.line(NOW).ends_with("next change 2026-01-12 08:00 UTC"), "{}", later.line(NOW));
    }

    #[test]
    fn an_unknown_time_zone_makes_the_state_unknown_naming_the_setting() {
        let mut profile = weekday();
        profile.schedule = Schedule::Recurring {
            time_zone: "Mars Standard Time".into(),
            days: vec![time::Weekday::Monday],
            hours: vec![8],
            minutes: vec![0],
        };
        let state = AutoscaleState::of(Ok(Some(&setting(true, vec![profile]))), NOW);
        let AutoscaleState::Unknown { why } = &state else { panic!("{state:?}") };
        assert!(why.starts_with("autoscale setting as: profile \"weekday\" names time zone"), "{why}");
    }

    #[test]
    fn the_json_summary_has_the_active_profile() {
        let on = AutoscaleState::of(Ok(Some(&setting(true, vec![weekday(), evening()]))), NOW);
        let json = serde_json::to_value(on.summary()).unwrap();
        assert_eq!(json["name"], "as");
        assert_eq!(json["enabled"], true);
        assert_eq!(
            json["active_profile"],
            serde_json::json!({"name": "weekday", "minimum": 2, "maximum": 10, "default": 4})
        );
        assert_eq!(json["next_change"], "2026-01-05T18:00:00Z");
        assert_eq!(AutoscaleState::None.summary(), None);
    }
}
