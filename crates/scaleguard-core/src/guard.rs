//! May this manual scale request run? A pure check over the scale set's state, its instances and
//! the history of capacity changes, with `now` passed in.
//!
//! Every reason to refuse is reported, not just the first, so the operator fixes them all at once.
//!
//! Others scale the set too: Azure Autoscale (a capacity outside its active profile's range is
//! scaled back within about a minute, "Best practices for autoscale" on Microsoft Learn) and
//! whoever else writes to it (the Activity Log). [`OtherScalers`] carries what was read of them.

use crate::autoscale::AutoscaleState;
use crate::config::{AutoscalePolicy, GuardConfig};
use crate::model::{Instance, ScaleChange, ScaleSetKey, ScaleSetState};
use std::cmp::Reverse;
use std::fmt;
use time::OffsetDateTime;

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleRequest {
    pub scale_set: ScaleSetKey,
    pub new_capacity: u32,
    /// Why; journaled. Blank or whitespace-only counts as missing.
    pub reason: String,
    /// Run even while the set is still provisioning a previous change. Bypasses nothing else.
    pub force: bool,
}

/// The guard's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed {
        from: u32,
        to: u32,
        /// Instance ids a scale-in is expected to remove (`scale_in::expected_victims`).
        expected_victims: Vec<String>,
        /// True when `force` was needed: an unfinished provisioning, or an unknown cooldown or
        /// Autoscale state.
        forced: bool,
        /// What the operator should know before confirming (Autoscale may move it, what was
        /// forced past).
        warnings: Vec<String>,
    },
    /// Never empty.
    Refused { reasons: Vec<Refusal> },
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }

    pub fn refusals(&self) -> &[Refusal] {
        match self {
            Verdict::Allowed { .. } => &[],
            Verdict::Refused { reasons } => reasons,
        }
    }

    pub fn warnings(&self) -> &[String] {
        match self {
            Verdict::Allowed { warnings, .. } => warnings,
            Verdict::Refused { .. } => &[],
        }
    }
}

/// Who else scales the set, as read together with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherScalers {
    /// The Azure Autoscale setting that targets the set.
    pub autoscale: AutoscaleState,
    /// Changes made outside the journal, with who made them: writes to the set and Autoscale's
    /// actions (the Activity Log), capacity changes the console saw.
    pub changes: Vec<ScaleChange>,
    /// Why the Activity Log could not be read; None when it was.
    pub activity_log_failure: Option<String>,
}

impl OtherScalers {
    /// No autoscale setting, and an Activity Log that was read and holds nothing.
    pub fn none() -> Self {
        Self { autoscale: AutoscaleState::None, changes: Vec::new(), activity_log_failure: None }
    }
}

/// One reason a scale request may not run; `Display` is the sentence shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    BelowMinimum {
        requested: u32,
        min: u32,
    },
    AboveMaximum {
        requested: u32,
        max: u32,
    },
    StepTooLarge {
        from: u32,
        to: u32,
        max_step: u32,
    },
    /// `by`: who or what made the last change, when known.
    InCooldown {
        last_change: OffsetDateTime,
        remaining_secs: u64,
        by: Option<String>,
    },
    /// The Activity Log could not be read: changes by others are unknown.
    CooldownUnknown {
        why: String,
    },
    /// The capacity lies outside the active Autoscale profile: the engine undoes it.
    AutoscaleWouldRevert {
        setting: String,
        profile: String,
        minimum: u32,
        maximum: u32,
        back_to: u32,
    },
    /// The Autoscale setting could not be read or understood.
    AutoscaleUnknown {
        why: String,
    },
    ReasonMissing,
    StillProvisioning {
        scale_set_state: String,
        unfinished_instances: usize,
    },
    BelowProtected {
        requested: u32,
        protected: usize,
    },
    NoChange {
        capacity: u32,
    },
    /// AWS: the desired capacity lies outside the Auto Scaling group's MinSize..MaxSize.
    OutsideGroupLimits {
        requested: u32,
        min: u32,
        max: u32,
    },
    UnknownState {
        why: String,
    },
    /// The set hosts the Octopus HA nodes: a plain capacity decrement lets the cloud pick which
    /// VMs go, busy nodes included; the drain-first scale-in is the way.
    HostsHaNodes {
        scale_set: String,
        count: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::BelowMinimum { requested, min } => {
                write!(f, "capacity {requested} is below the minimum of {min}")
            }
            Refusal::AboveMaximum { requested, max } => {
                write!(f, "capacity {requested} is above the maximum of {max}")
            }
            Refusal::StepTooLarge { from, to, max_step } => write!(
                f,
                "changing from {from} to {to} is a step of {}, more than the allowed {max_step}",
                from.abs_diff(*to)
            ),
            Refusal::InCooldown { last_change, remaining_secs, by } => write!(
                f,
                "the capacity last changed at {}{}; the cooldown ends in {}",
                format_time(*last_change),
                by.as_deref().map(|by| format!(" by {by}")).unwrap_or_default(),
                format_duration(*remaining_secs)
            ),
            Refusal::CooldownUnknown { why } => write!(
                f,
                "the cooldown is unknown: the Activity Log could not be read ({why}), so a change by someone \
                 else may be seconds old; force it to go ahead"
            ),
            Refusal::AutoscaleWouldRevert { setting, profile, minimum, maximum, back_to } => write!(
                f,
                "Azure Autoscale setting {setting} would scale it back to {back_to} within about a minute: its \
                 profile \"{profile}\" allows {minimum}..{maximum}; change the profile first (scaleguard autoscale), \
                 or set guard.autoscale = \"warn\""
            ),
            Refusal::AutoscaleUnknown { why } => write!(
                f,
                "whether Azure Autoscale would undo this is unknown ({why}); force it to go ahead"
            ),
            Refusal::ReasonMissing => f.write_str("a reason is required for a manual scale"),
            Refusal::StillProvisioning { scale_set_state, unfinished_instances } => write!(
                f,
                "the scale set is still provisioning a previous change (state {scale_set_state}, \
                 {unfinished_instances} instance(s) not finished); wait, or force it"
            ),
            Refusal::BelowProtected { requested, protected } => {
                write!(f, "capacity {requested} is below the {protected} instance(s) protected from scale-in")
            }
            Refusal::NoChange { capacity } => write!(f, "the capacity is already {capacity}"),
            Refusal::OutsideGroupLimits { requested, min, max } => write!(
                f,
                "capacity {requested} is outside the Auto Scaling group's MinSize..MaxSize ({min}..{max}), which AWS \
                 refuses; change the group's limits first"
            ),
            Refusal::UnknownState { why } => write!(f, "the scale set's current state is unknown: {why}"),
            Refusal::HostsHaNodes { scale_set, count } => write!(
                f,
                "{scale_set} hosts the Octopus HA nodes (nodes.scale_set): a plain scale-in lets Azure pick the VMs, \
                 busy nodes included; run `scaleguard node scale-in {scale_set} --count {count}`, which drains the \
                 chosen nodes first (S in the console does the same)"
            ),
        }
    }
}

/// RFC 3339, as the journal and the proposal print times.
pub fn format_time(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// `1h 2m 3s`, `4m 5s`, `6s`.
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// Decide whether `request` may run now. Pure: same inputs, same verdict.
///
/// `history` may hold changes of other scale sets; only those of `request.scale_set` count, together
/// with `state.last_changed`: the journal's, the Activity Log's (anyone's writes, Autoscale's
/// actions) and the console's own observations. The state must be for the requested set and carry
/// an ETag (the PATCH is conditional on it, so a change made since the read is refused with 412);
/// otherwise the state is treated as unknown.
pub fn evaluate(
    config: &GuardConfig,
    request: &ScaleRequest,
    state: &ScaleSetState,
    instances: &[Instance],
    history: &[ScaleChange],
    others: &OtherScalers,
    now: OffsetDateTime,
) -> Verdict {
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut forced = false;
    let from = state.capacity;
    let to = request.new_capacity;

    if state.key != request.scale_set {
        reasons.push(Refusal::UnknownState {
            why: format!("the state read is for {}, not {}", state.key, request.scale_set),
        });
    } else if state.etag.is_none() {
        reasons.push(Refusal::UnknownState {
            why: "no ETag was read, so the change could not be made conditional".into(),
        });
    }
    if to < config.min_capacity {
        reasons.push(Refusal::BelowMinimum { requested: to, min: config.min_capacity });
    }
    if to > config.max_capacity {
        reasons.push(Refusal::AboveMaximum { requested: to, max: config.max_capacity });
    }
    if from == to {
        reasons.push(Refusal::NoChange { capacity: from });
    } else if from.abs_diff(to) > config.max_step {
        reasons.push(Refusal::StepTooLarge { from, to, max_step: config.max_step });
    }
    reasons.extend(aws::group_limits(state, to));
    let everyone: Vec<ScaleChange> = history.iter().chain(&others.changes).cloned().collect();
    let cooldown = aws::with_group_cooldown(config, state);
    if let Some(refusal) = cooldown_refusal(&cooldown, &request.scale_set, state, &everyone, now) {
        reasons.push(refusal);
    }
    if let Some(why) = &others.activity_log_failure {
        if request.force {
            forced = true;
            warnings
                .push(format!("forced past an unknown cooldown: the Activity Log could not be read ({why})"));
        } else {
            reasons.push(Refusal::CooldownUnknown { why: why.clone() });
        }
    }
    if from != to {
        autoscale_check(
            config.autoscale,
            &others.autoscale,
            to,
            request.force,
            &mut reasons,
            &mut warnings,
            &mut forced,
        );
    }
    if config.require_reason && request.reason.trim().is_empty() {
        reasons.push(Refusal::ReasonMissing);
    }
    let unfinished = instances.iter().filter(|i| !i.provisioning_state.is_final()).count();
    let provisioning = !state.provisioning_state.is_final() || unfinished > 0;
    forced |= provisioning;
    if provisioning && !request.force {
        reasons.push(Refusal::StillProvisioning {
            scale_set_state: state.provisioning_state.to_string(),
            unfinished_instances: unfinished,
        });
    }
    let protected = instances.iter().filter(|i| i.is_protected()).count();
    if to < from && (to as usize) < protected {
        reasons.push(Refusal::BelowProtected { requested: to, protected });
    }

    if !reasons.is_empty() {
        return Verdict::Refused { reasons };
    }
    let expected_victims = if to < from {
        crate::scale_in::expected_victims(state, instances, to).into_iter().map(|i| i.instance_id).collect()
    } else {
        Vec::new()
    };
    Verdict::Allowed { from, to, expected_victims, forced, warnings }
}

/// Autoscale's part of the verdict for a change to capacity `to`.
fn autoscale_check(
    policy: AutoscalePolicy,
    autoscale: &AutoscaleState,
    to: u32,
    force: bool,
    reasons: &mut Vec<Refusal>,
    warnings: &mut Vec<String>,
    forced: &mut bool,
) {
    match autoscale {
        AutoscaleState::None | AutoscaleState::Disabled { .. } => {}
        AutoscaleState::On { setting, profile, range, .. } if !range.contains(to) => {
            let refusal = Refusal::AutoscaleWouldRevert {
                setting: setting.clone(),
                profile: profile.clone(),
                minimum: range.minimum,
                maximum: range.maximum,
                back_to: range.clamp(to),
            };
            match policy {
                AutoscalePolicy::Refuse => reasons.push(refusal),
                AutoscalePolicy::Warn => warnings.push(format!("guard.autoscale = \"warn\": {refusal}")),
            }
        }
        AutoscaleState::On { setting, profile, range, .. } => warnings.push(format!(
            "Azure Autoscale setting {setting} is on (profile \"{profile}\", {}..{}): its rules may still move \
             the capacity",
            range.minimum, range.maximum
        )),
        AutoscaleState::Unknown { why } => match (policy, force) {
            (AutoscalePolicy::Refuse, false) => reasons.push(Refusal::AutoscaleUnknown { why: why.clone() }),
            (AutoscalePolicy::Refuse, true) => {
                *forced = true;
                warnings.push(format!("forced past an unknown Azure Autoscale state: {why}"));
            }
            (AutoscalePolicy::Warn, _) => {
                warnings.push(format!("whether Azure Autoscale would undo this is unknown: {why}"))
            }
        },
    }
}

/// The most recent change to `key` by anyone (journal, Activity Log, console observations, or the
/// scale set's creation).
pub fn last_change(key: &ScaleSetKey, state: &ScaleSetState, history: &[ScaleChange]) -> Option<ScaleChange> {
    let created = (&state.key == key).then_some(state.last_changed).flatten().map(|at| ScaleChange {
        scale_set: key.clone(),
        at,
        from: None,
        to: Some(state.capacity),
        by: Some("the scale set's creation".into()),
    });
    history.iter().filter(|c| &c.scale_set == key).cloned().chain(created).max_by_key(|c| c.at)
}

/// The cooldown's refusal, when the last change by anyone is younger than `cooldown_secs`.
pub fn cooldown_refusal(
    config: &GuardConfig,
    key: &ScaleSetKey,
    state: &ScaleSetState,
    history: &[ScaleChange],
    now: OffsetDateTime,
) -> Option<Refusal> {
    let ScaleChange { at: last, by, .. } = last_change(key, state, history)?;
    // Nanoseconds in i128: no overflow for any cooldown or clock skew.
    let elapsed = (now - last).whole_nanoseconds();
    let cooldown = i128::from(config.cooldown_secs) * 1_000_000_000;
    let remaining = cooldown - elapsed;
    if remaining <= 0 {
        return None;
    }
    let remaining_secs = u64::try_from((remaining + 999_999_999) / 1_000_000_000).unwrap_or(u64::MAX);
    Some(Refusal::InCooldown { last_change: last, remaining_secs, by })
}

/// Which VMs a scale-in to `new_capacity` is expected to remove: the highest instance ids first,
/// never an instance protected from scale-in.
///
/// This approximates Azure's Default scale-in policy for a single zone and fault-domain balance:
/// the real Default policy first balances across availability zones and fault domains, then takes
/// the highest instance id. NewestVM and OldestVM policies choose by creation time instead, so for
/// those sets this is only a hint. Flexible sets go by their policy instead (`scale_in`).
pub fn scale_in_victims(instances: &[Instance], new_capacity: u32) -> Vec<Instance> {
    let remove = instances.len().saturating_sub(new_capacity as usize);
    let mut candidates: Vec<&Instance> = instances.iter().filter(|i| !i.is_protected()).collect();
    candidates.sort_by_key(|i| (Reverse(i.numeric_id()), i.instance_id.clone()));
    candidates.into_iter().take(remove).cloned().collect()
}

mod aws;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_autoscale;
