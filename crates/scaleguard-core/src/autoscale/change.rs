//! A change to an autoscale setting: the active profile's minimum/maximum/default, or the
//! setting's enabled flag. Checked like a manual scale (every reason at once), and written back as
//! the whole resource as read with only those values replaced.
//!
//! Autoscale settings carry no ETag and their PUT takes no If-Match (autoscale_API.json
//! 2022-10-01 has neither, nor does azure-mgmt-monitor), so the caller re-reads the setting right
//! before the write and compares it with the one the proposal was made from ([`same_content`]).
//!
//! Which profile is active decides what Autoscale does once it is on. When that cannot be worked
//! out (a time zone scaleguard cannot resolve, or no profile applies now) a change that turns it
//! on is refused unless forced, as a manual scale under an unknown Autoscale state is.

use super::{active_profile, CapacityRange, ScheduleError, Setting};
use crate::config::GuardConfig;
use crate::guard::Refusal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;
use time::OffsetDateTime;

/// The most a Uniform scale set holds: a profile beyond it is refused before Azure refuses it.
const MAX_COUNT: u32 = 1000;

/// What the operator asks for; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoscaleChange {
    pub minimum: Option<u32>,
    pub maximum: Option<u32>,
    pub default: Option<u32>,
    pub enabled: Option<bool>,
    /// Turn Autoscale on although its active profile cannot be worked out (so nobody can say what
    /// it then does to the capacity). Bypasses nothing else.
    pub force: bool,
}

impl AutoscaleChange {
    fn touches_profile(&self) -> bool {
        self.minimum.is_some() || self.maximum.is_some() || self.default.is_some()
    }
}

/// The values a change edits, before or after it (journaled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileValues {
    pub enabled: bool,
    /// None when no profile is active (only `enabled` can change then).
    pub capacity: Option<CapacityRange>,
}

impl fmt::Display for ProfileValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.enabled { "enabled" } else { "disabled" };
        match self.capacity {
            Some(range) => write!(f, "{state}, {range}"),
            None => f.write_str(state),
        }
    }
}

/// One reason an autoscale change may not run; `Display` is the sentence shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoscaleRefusal {
    NothingToChange,
    ReasonMissing,
    NoActiveProfile {
        setting: String,
    },
    /// A profile edit while the active profile cannot be worked out: there is no telling which
    /// profile to edit. Not forceable.
    ProfileToEditUnknown {
        setting: String,
        why: String,
    },
    /// Turning Autoscale on while its active profile cannot be worked out: it may then move the
    /// capacity, nobody can say how. Forceable.
    ActiveProfileUnknown {
        setting: String,
        why: String,
    },
    InvalidRange {
        range: CapacityRange,
    },
    AboveLimit {
        field: &'static str,
        value: u32,
    },
    /// Asked again right before the write, the change does something other than what was
    /// confirmed (another profile took over, the capacity moved): `now` says what.
    ChangedSinceConfirmed {
        now: String,
    },
    /// With the new range Autoscale moves the capacity at its next evaluation: that move must
    /// pass the guard's limits like a manual scale.
    ImpliedMove {
        from: u32,
        to: u32,
        refusal: Refusal,
    },
}

impl fmt::Display for AutoscaleRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NothingToChange => {
                f.write_str("nothing would change: give a new minimum, maximum or default, or enable or disable it")
            }
            Self::ReasonMissing => f.write_str("a reason is required for an autoscale change"),
            Self::NoActiveProfile { setting } => write!(f, "no profile of autoscale setting {setting} applies now, so there is no active profile to change"),
            Self::ProfileToEditUnknown { setting, why } => write!(
                f,
                "which profile of autoscale setting {setting} is active is unknown ({why}), so there is no known profile to change"
            ),
            Self::ActiveProfileUnknown { setting, why } => write!(
                f,
                "turning autoscale setting {setting} on lets it act with a profile that cannot be worked out ({why}): it \
                 may move the capacity, nobody can say how; force it to go ahead"
            ),
            Self::InvalidRange { range } => write!(
                f,
                "minimum {}, maximum {}, default {} is not a valid range: Azure needs minimum <= default <= maximum",
                range.minimum, range.maximum, range.default
            ),
            Self::AboveLimit { field, value } => write!(f, "{field} {value} is above {MAX_COUNT}, the most a scale set holds"),
            Self::ChangedSinceConfirmed { now } => write!(
                f,
                "what the change does is no longer what was confirmed (now: {now}); look at it again"
            ),
            Self::ImpliedMove { from, to, refusal } => write!(
                f,
                "Autoscale would then move the capacity from {from} to {to} within about a minute, and {refusal}"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeVerdict {
    Allowed {
        before: ProfileValues,
        after: ProfileValues,
        /// Autoscale will move the capacity from .0 to .1 once the change is in.
        implied_move: Option<(u32, u32)>,
        /// True when `force` was needed: Autoscale is turned on with an unknown active profile.
        forced: bool,
        warnings: Vec<String>,
    },
    /// Never empty.
    Refused { reasons: Vec<AutoscaleRefusal> },
}

impl ChangeVerdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }
}

/// The index of `setting`'s active profile at `at`: None when no profile applies, an error when
/// that cannot be worked out (a time zone scaleguard cannot resolve).
pub fn active_index(setting: &Setting, at: OffsetDateTime) -> Result<Option<usize>, ScheduleError> {
    active_profile(&setting.profiles, at).map(|active| active.map(|a| a.index))
}

/// May `change` be made to `setting`, whose active profile is `active` (an index into its
/// profiles, as [`active_index`] gives it), with the set at `capacity`? `cooldown` is the guard's
/// cooldown refusal for the set now, if any: it counts only when the change makes Autoscale move
/// the capacity. Pure.
pub fn evaluate_change(
    guard: &GuardConfig,
    setting: &Setting,
    active: &Result<Option<usize>, ScheduleError>,
    change: &AutoscaleChange,
    reason: &str,
    capacity: u32,
    cooldown: Option<Refusal>,
) -> ChangeVerdict {
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let known = active.as_ref().ok().copied().flatten();
    let current_range = known.and_then(|i| setting.profiles.get(i)).map(|p| p.capacity);
    let before = ProfileValues { enabled: setting.enabled, capacity: current_range };
    if change.touches_profile() && current_range.is_none() {
        reasons.push(match active {
            Err(why) => {
                AutoscaleRefusal::ProfileToEditUnknown { setting: setting.name.clone(), why: why.to_string() }
            }
            Ok(_) => AutoscaleRefusal::NoActiveProfile { setting: setting.name.clone() },
        });
    }
    let after_range = current_range.map(|range| CapacityRange {
        minimum: change.minimum.unwrap_or(range.minimum),
        maximum: change.maximum.unwrap_or(range.maximum),
        default: change.default.unwrap_or(range.default),
    });
    let after = ProfileValues { enabled: change.enabled.unwrap_or(setting.enabled), capacity: after_range };
    // Turned on, Autoscale acts with whichever profile is active: when that is unknown, so is
    // what it does to the capacity (no implied move can be checked against the guard).
    let mut forced = false;
    if after.enabled && !before.enabled && current_range.is_none() {
        let why = match active {
            Err(why) => why.to_string(),
            Ok(_) => format!(
                "no profile of autoscale setting {} applies now (only fixed dates, none of them now)",
                setting.name
            ),
        };
        if change.force {
            forced = true;
            warnings.push(format!("forced past an unknown active profile: {why}"));
        } else {
            reasons.push(AutoscaleRefusal::ActiveProfileUnknown { setting: setting.name.clone(), why });
        }
    }
    if after == before {
        reasons.push(AutoscaleRefusal::NothingToChange);
    }
    if guard.require_reason && reason.trim().is_empty() {
        reasons.push(AutoscaleRefusal::ReasonMissing);
    }
    for (field, value) in
        [("minimum", change.minimum), ("maximum", change.maximum), ("default", change.default)]
    {
        if let Some(value) = value.filter(|v| *v > MAX_COUNT) {
            reasons.push(AutoscaleRefusal::AboveLimit { field, value });
        }
    }
    if let Some(range) = after_range {
        if range.minimum > range.maximum || !range.contains(range.default) {
            reasons.push(AutoscaleRefusal::InvalidRange { range });
        }
    }
    let implied_move = match (after.enabled, after_range) {
        (true, Some(range)) if range.minimum <= range.maximum && !range.contains(capacity) => {
            Some((capacity, range.clamp(capacity)))
        }
        _ => None,
    };
    if let Some((from, to)) = implied_move {
        let mut implied = Vec::new();
        if to < guard.min_capacity {
            implied.push(Refusal::BelowMinimum { requested: to, min: guard.min_capacity });
        }
        if to > guard.max_capacity {
            implied.push(Refusal::AboveMaximum { requested: to, max: guard.max_capacity });
        }
        if from.abs_diff(to) > guard.max_step {
            implied.push(Refusal::StepTooLarge { from, to, max_step: guard.max_step });
        }
        implied.extend(cooldown);
        reasons.extend(implied.into_iter().map(|refusal| AutoscaleRefusal::ImpliedMove {
            from,
            to,
            refusal,
        }));
    }
    if !reasons.is_empty() {
        return ChangeVerdict::Refused { reasons };
    }
    if let Some((from, to)) = implied_move {
        warnings.push(format!("Autoscale will move the capacity from {from} to {to} within about a minute"));
    }
    if let (true, Some(range)) = (after.enabled, after_range) {
        if range.maximum > guard.max_capacity {
            warnings.push(format!(
                "Autoscale may then scale out to {}, above the guard's max_capacity {}",
                range.maximum, guard.max_capacity
            ));
        }
        if range.minimum < guard.min_capacity {
            warnings.push(format!(
                "Autoscale may then scale in to {}, below the guard's min_capacity {}",
                range.minimum, guard.min_capacity
            ));
        }
    }
    if before.enabled && !after.enabled {
        warnings.push(format!(
            "Autoscale stops acting on the scale set until setting {} is enabled again",
            setting.name
        ));
    }
    ChangeVerdict::Allowed { before, after, implied_move, forced, warnings }
}

/// The resource to PUT: `resource` as read, with `after` written into it (capacities as strings,
/// as the spec has them) and the read-only fields left out.
pub fn apply_to_resource(resource: &Value, active: Option<usize>, after: &ProfileValues) -> Value {
    let mut body = resource.clone();
    if let Some(object) = body.as_object_mut() {
        for read_only in ["id", "name", "type", "systemData", "etag"] {
            object.remove(read_only);
        }
    }
    if let Some(properties) = body.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert("enabled".into(), json!(after.enabled));
        let profile = active.and_then(|i| properties.get_mut("profiles")?.as_array_mut()?.get_mut(i));
        if let (Some(profile), Some(range)) = (profile.and_then(Value::as_object_mut), after.capacity) {
            let capacity = profile.entry("capacity").or_insert_with(|| json!({}));
            if let Some(capacity) = capacity.as_object_mut() {
                capacity.insert("minimum".into(), json!(range.minimum.to_string()));
                capacity.insert("maximum".into(), json!(range.maximum.to_string()));
                capacity.insert("default".into(), json!(range.default.to_string()));
            }
        }
    }
    body
}

/// Did anything an operator can change (location, tags, properties) change between two reads?
pub fn same_content(a: &Value, b: &Value) -> bool {
    ["location", "tags", "properties"].iter().all(|key| a.get(key) == b.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::parse_setting;

    fn setting(enabled: bool) -> Setting {
        let resource = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/as",
            "name": "as", "type": "Microsoft.Insights/autoscaleSettings", "location": "West Europe",
            "tags": {"team": "web"},
            "properties": {
                "enabled": enabled,
                "targetResourceUri": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
                "notifications": [{"operation": "Scale", "webhooks": []}],
                "profiles": [
                    {"name": "default", "capacity": {"minimum": "2", "maximum": "6", "default": "3"},
                     "rules": [{"metricTrigger": {"metricName": "Percentage CPU"}, "scaleAction": {"direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"}}]}
                ]
            }
        });
        parse_setting(&resource).unwrap()
    }

    fn guard() -> GuardConfig {
        GuardConfig { min_capacity: 1, max_capacity: 10, max_step: 3, ..GuardConfig::default() }
    }

    fn change(minimum: Option<u32>, maximum: Option<u32>, default: Option<u32>) -> AutoscaleChange {
        AutoscaleChange { minimum, maximum, default, enabled: None, force: false }
    }

    fn refusals(verdict: ChangeVerdict) -> Vec<String> {
        match verdict {
            ChangeVerdict::Refused { reasons } => reasons.iter().map(ToString::to_string).collect(),
            allowed => panic!("allowed: {allowed:?}"),
        }
    }

    #[test]
    fn raising_the_maximum_is_allowed_and_moves_nothing() {
        let verdict = evaluate_change(
            &guard(),
            &setting(true),
            &Ok(Some(0)),
            &change(None, Some(8), None),
            "sale",
            4,
            None,
        );
        let ChangeVerdict::Allowed { before, after, implied_move, forced, warnings } = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(before.capacity, Some(CapacityRange { minimum: 2, maximum: 6, default: 3 }));
        assert_eq!(after.capacity, Some(CapacityRange { minimum: 2, maximum: 8, default: 3 }));
        assert_eq!((implied_move, forced), (None, false));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn every_reason_is_given_at_once() {
        let reasons = refusals(evaluate_change(
            &guard(),
            &setting(true),
            &Ok(Some(0)),
            &change(Some(9), Some(1200), Some(1)),
            " ",
            4,
            None,
        ));
        assert_eq!(
            reasons,
            vec![
                "a reason is required for an autoscale change",
                "maximum 1200 is above 1000, the most a scale set holds",
                "minimum 9, maximum 1200, default 1 is not a valid range: Azure needs minimum <= default <= maximum",
                "Autoscale would then move the capacity from 4 to 9 within about a minute, and changing from 4 to 9 is a step of 5, more than the allowed 3",
            ]
        );
        assert_eq!(
            refusals(evaluate_change(
                &guard(),
                &setting(true),
                &Ok(Some(0)),
                &change(None, Some(6), None),
                "r",
                4,
                None
            )),
            vec!["nothing would change: give a new minimum, maximum or default, or enable or disable it"]
        );
    }

    #[test]
    fn a_lower_maximum_is_a_scale_in_by_autoscale_and_meets_the_guard_and_the_cooldown() {
        let cooldown = Refusal::InCooldown {
            last_change: time::macros::datetime!(2026-01-05 10:00 UTC),
            remaining_secs: 60,
            by: None,
        };
        let reasons = refusals(evaluate_change(
            &guard(),
            &setting(true),
            &Ok(Some(0)),
            &change(Some(1), Some(1), Some(1)),
            "r",
            5,
            Some(cooldown),
        ));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("from 5 to 1") && reasons[0].contains("step of 4"), "{reasons:?}");
        assert!(reasons[1].contains("cooldown ends in 1m 0s"), "{reasons:?}");
        // Disabled settings never move the capacity.
        let verdict = evaluate_change(
            &guard(),
            &setting(false),
            &Ok(Some(0)),
            &change(Some(1), Some(1), Some(1)),
            "r",
            5,
            None,
        );
        assert!(verdict.is_allowed(), "{verdict:?}");
    }

    #[test]
    fn enabling_warns_of_the_move_it_starts_and_disabling_of_what_stops() {
        let enable = AutoscaleChange { enabled: Some(true), ..AutoscaleChange::default() };
        let ChangeVerdict::Allowed { implied_move, warnings, .. } =
            evaluate_change(&guard(), &setting(false), &Ok(Some(0)), &enable, "r", 8, None)
        else {
            panic!()
        };
        assert_eq!(implied_move, Some((8, 6)));
        assert_eq!(warnings, vec!["Autoscale will move the capacity from 8 to 6 within about a minute"]);
        let disable = AutoscaleChange { enabled: Some(false), ..AutoscaleChange::default() };
        let ChangeVerdict::Allowed { warnings, .. } =
            evaluate_change(&guard(), &setting(true), &Ok(None), &disable, "r", 8, None)
        else {
            panic!()
        };
        assert_eq!(
            warnings,
            vec!["Autoscale stops acting on the scale set until setting as is enabled again"]
        );
    }

    /// `setting(enabled)` with a second, recurring profile "weekday" (Mondays 08:00, 1..2) in time
    /// zone `zone`.
    fn setting_with_weekday_in(enabled: bool, zone: &str) -> Setting {
        let mut resource = setting(enabled).resource;
        resource["properties"]["profiles"].as_array_mut().unwrap().push(json!({
            "name": "weekday", "capacity": {"minimum": "1", "maximum": "2", "default": "2"}, "rules": [],
            "recurrence": {"frequency": "Week", "schedule": {"timeZone": zone, "days": ["Monday"], "hours": [8], "minutes": [0]}}
        }));
        parse_setting(&resource).unwrap()
    }

    fn enable(force: bool) -> AutoscaleChange {
        AutoscaleChange { enabled: Some(true), force, ..AutoscaleChange::default() }
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-01-07 12:00 UTC);

    #[test]
    fn turning_it_on_with_an_unknown_active_profile_is_refused_naming_the_profile_and_its_zone() {
        let read = setting_with_weekday_in(false, "Mars Standard Time");
        let active = active_index(&read, NOW);
        assert!(active.is_err(), "{active:?}");
        let reasons = refusals(evaluate_change(&guard(), &read, &active, &enable(false), "r", 4, None));
        assert_eq!(
            reasons,
            vec![
                "turning autoscale setting as on lets it act with a profile that cannot be worked out (profile \
                 \"weekday\" names time zone \"Mars Standard Time\", which is neither a Windows nor an IANA time \
                 zone scaleguard knows): it may move the capacity, nobody can say how; force it to go ahead"
            ]
        );
        // No active profile at all (only fixed dates, none now): as unknown.
        let reasons =
            refusals(evaluate_change(&guard(), &setting(false), &Ok(None), &enable(false), "r", 4, None));
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(reasons[0].contains("no profile of autoscale setting as applies now"), "{reasons:?}");
        // A profile edit cannot say which profile to edit: refused, forced or not.
        for force in [false, true] {
            let edit = AutoscaleChange { maximum: Some(8), force, ..enable(force) };
            let reasons = refusals(evaluate_change(&guard(), &read, &active, &edit, "r", 4, None));
            assert!(
                reasons[0].starts_with(
                    "which profile of autoscale setting as is active is unknown (profile \"weekday\""
                ),
                "{reasons:?}"
            );
        }
    }

    #[test]
    fn a_forced_turn_on_with_an_unknown_active_profile_is_allowed_and_says_what_was_forced() {
        let read = setting_with_weekday_in(false, "Mars Standard Time");
        let verdict =
            evaluate_change(&guard(), &read, &active_index(&read, NOW), &enable(true), "r", 4, None);
        let ChangeVerdict::Allowed { before, after, implied_move, forced, warnings } = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(
            (before.enabled, before.capacity, after.enabled, after.capacity),
            (false, None, true, None)
        );
        assert_eq!((implied_move, forced), (None, true));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(
                "forced past an unknown active profile: profile \"weekday\" names time zone \"Mars"
            ),
            "{warnings:?}"
        );
        // The rest of the guard still holds when forced.
        let reasons = refusals(evaluate_change(
            &guard(),
            &read,
            &active_index(&read, NOW),
            &enable(true),
            " ",
            4,
            None,
        ));
        assert_eq!(reasons, vec!["a reason is required for an autoscale change"]);
    }

    #[test]
    fn with_a_known_active_profile_force_changes_nothing_and_turning_it_off_needs_no_profile() {
        let read = setting_with_weekday_in(false, "Eastern Standard Time");
        let active = active_index(&read, NOW);
        assert_eq!(active, Ok(Some(1)), "a recurring profile runs from its start on: \"weekday\", 1..2");
        for capacity in [2, 4, 8] {
            let unforced = evaluate_change(&guard(), &read, &active, &enable(false), "r", capacity, None);
            let forced = evaluate_change(&guard(), &read, &active, &enable(true), "r", capacity, None);
            assert_eq!(unforced, forced, "capacity {capacity}");
        }
        let verdict = evaluate_change(&guard(), &read, &active, &enable(true), "r", 4, None);
        assert!(
            matches!(verdict, ChangeVerdict::Allowed { implied_move: Some((4, 2)), forced: false, .. }),
            "{verdict:?}"
        );
        // Autoscale stops acting whatever profile is active: nothing to force.
        let unknown = setting_with_weekday_in(true, "Mars Standard Time");
        let disable = AutoscaleChange { enabled: Some(false), ..AutoscaleChange::default() };
        let verdict =
            evaluate_change(&guard(), &unknown, &active_index(&unknown, NOW), &disable, "r", 4, None);
        assert!(matches!(verdict, ChangeVerdict::Allowed { forced: false, .. }), "{verdict:?}");
    }

    #[test]
    fn the_body_keeps_everything_but_the_changed_values_and_the_read_only_fields() {
        let read = setting(true);
        let after = ProfileValues {
            enabled: true,
            capacity: Some(CapacityRange { minimum: 2, maximum: 8, default: 3 }),
        };
        let body = apply_to_resource(&read.resource, Some(0), &after);
        assert_eq!(body.get("id"), None);
        assert_eq!(body["tags"], json!({"team": "web"}));
        assert_eq!(
            body["properties"]["profiles"][0]["capacity"],
            json!({"minimum": "2", "maximum": "8", "default": "3"})
        );
        assert_eq!(
            body["properties"]["profiles"][0]["rules"],
            read.resource["properties"]["profiles"][0]["rules"]
        );
        assert_eq!(body["properties"]["notifications"], read.resource["properties"]["notifications"]);
        assert!(!same_content(&read.resource, &body), "the capacity changed");
        let mut renamed = read.resource.clone();
        renamed["systemData"] = json!({"lastModifiedAt": "2026-01-05T10:00:00Z"});
        assert!(same_content(&read.resource, &renamed), "system data is not content");
    }
}
