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
//!
//! A change that makes Autoscale move the capacity meets the guard's cooldown like a manual scale;
//! when the cooldown is unknown (the Activity Log could not be read) it is refused unless forced,
//! as a manual scale is. A change that moves nothing needs no cooldown.

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
    /// it then does to the capacity), or let it move the capacity although the cooldown is
    /// unknown. Bypasses nothing else.
    pub force: bool,
}

/// The guard's cooldown for the scale set now, as far as it is known. It counts only when the
/// change makes Autoscale move the capacity. `Default` is a cooldown known to be over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CooldownNow {
    /// The cooldown's refusal over the changes that could be read (the journal, the Activity
    /// Log), if one is still running.
    pub running: Option<Refusal>,
    /// Why the Activity Log could not be read: a change by someone else may be seconds old.
    pub unknown: Option<String>,
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
    /// Turning Autoscale on past an unknown active profile (forced) while the guard's cooldown
    /// runs: whatever it does may be a move at once, inside the cooldown. Force does not lift it.
    UnknownMoveInCooldown {
        setting: String,
        refusal: Refusal,
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
            Self::UnknownMoveInCooldown { setting, refusal } => write!(
                f,
                "turning autoscale setting {setting} on may let it move the capacity at once (its active profile \
                 cannot be worked out), and {refusal}"
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
        /// True when `force` was needed: Autoscale is turned on with an unknown active profile, or
        /// moves the capacity while the cooldown is unknown.
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
/// cooldown for the set now: it counts only when the change makes Autoscale move the capacity.
/// Pure.
pub fn evaluate_change(
    guard: &GuardConfig,
    setting: &Setting,
    active: &Result<Option<usize>, ScheduleError>,
    change: &AutoscaleChange,
    reason: &str,
    capacity: u32,
    cooldown: CooldownNow,
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
            // What it then does may be a move at once: a running cooldown holds it as it holds a
            // known move, and an unknown one is forced past too.
            if let Some(refusal) = cooldown.running.clone() {
                reasons
                    .push(AutoscaleRefusal::UnknownMoveInCooldown { setting: setting.name.clone(), refusal });
            }
            if let Some(why) = &cooldown.unknown {
                warnings.push(format!(
                    "forced past an unknown cooldown: the Activity Log could not be read ({why})"
                ));
            }
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
        implied.extend(cooldown.running);
        // As for a manual scale: an unreadable Activity Log is an unknown cooldown, not "nobody".
        if let Some(why) = cooldown.unknown {
            if change.force {
                forced = true;
                warnings.push(format!(
                    "forced past an unknown cooldown: the Activity Log could not be read ({why})"
                ));
            } else {
                implied.push(Refusal::CooldownUnknown { why });
            }
        }
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
mod tests;
