//! A change to Azure Autoscale as its own guarded, journaled action: the active profile's
//! minimum/maximum/default, or the setting's enabled flag, with a reason.
//!
//! Two steps like a scale: [`Scaling::prepare_autoscale`] reads and evaluates, changing nothing;
//! [`Scaling::apply_autoscale`] re-checks, then writes. The re-check asks the guard again over
//! what holds at that moment (the active profile now, the capacity read again, the cooldown when
//! Autoscale would move the capacity) and writes only if the answer is the one confirmed: a
//! profile's schedule may have switched, or the set moved, while the operator read the prompt.
//!
//! Autoscale settings have no ETag and their PUT takes no If-Match (autoscale_API.json
//! 2022-10-01), so the setting is read again right before the PUT and compared with the one the
//! proposal was made from: if anything an operator can change differs, nothing is written and the
//! fresh proposal is shown instead. The journal says which concurrency control was used. A small
//! window remains between that read and the PUT.

use super::{ScaleError, Scaling};
use crate::autoscale::{
    active_index, apply_to_resource, evaluate_change, same_content, AutoscaleChange, AutoscaleRefusal,
    ChangeVerdict, CooldownNow, ProfileValues, ScheduleError, Setting,
};
use crate::guard;
use crate::journal::{JournalAction, Outcome};
use crate::model::{ScaleSetKey, ScaleSetState};
use crate::providers::other_scalers;
use crate::snapshot::OthersObservation;
use serde::Serialize;
use time::OffsetDateTime;

/// What the journal says about concurrency for every autoscale change.
pub const CONCURRENCY: &str =
    "autoscale settings have no ETag: the setting was read again and compared right before the PUT";

#[derive(Debug, Clone, PartialEq)]
pub struct AutoscaleProposal {
    pub profile: String,
    pub scale_set: ScaleSetKey,
    /// The setting as read.
    pub setting: Setting,
    /// Its active profile when read (an index into its profiles; None when none applies, an
    /// error when that could not be worked out).
    pub active: Result<Option<usize>, ScheduleError>,
    pub change: AutoscaleChange,
    pub reason: String,
    /// The scale set's capacity when read.
    pub capacity: u32,
    pub verdict: ChangeVerdict,
    pub read_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AutoscaleOutcome {
    Done {
        before: ProfileValues,
        after: ProfileValues,
    },
    /// The guard said no at apply time, or what the change does is no longer what was confirmed
    /// (a change since the proposal). Nothing was written.
    Refused {
        reasons: Vec<AutoscaleRefusal>,
    },
    /// Someone changed the setting since it was read: nothing was written; the fresh proposal,
    /// or why it could not be made.
    Changed {
        fresh: Result<Box<AutoscaleProposal>, String>,
    },
    Failed {
        why: String,
    },
}

/// A proposal as plain data (`--format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoscaleProposalSummary {
    pub profile: String,
    pub scale_set: String,
    pub setting: String,
    pub active_profile: Option<String>,
    pub capacity: u32,
    pub before: Option<ProfileValues>,
    pub after: Option<ProfileValues>,
    /// `[from, to]` when Autoscale will move the capacity once the change is in.
    pub implied_move: Option<(u32, u32)>,
    pub reason: String,
    pub allowed: bool,
    pub refusals: Vec<String>,
    pub warnings: Vec<String>,
}

impl AutoscaleProposal {
    pub fn is_allowed(&self) -> bool {
        self.verdict.is_allowed()
    }

    /// The active profile the change edits, when it is known (the verdict refuses a profile edit
    /// otherwise).
    pub fn known_active(&self) -> Option<usize> {
        self.active.as_ref().ok().copied().flatten()
    }

    fn active_name(&self) -> Option<String> {
        self.known_active().and_then(|i| self.setting.profiles.get(i)).map(|p| p.display_name())
    }

    /// What the change does, in a line: the active profile, the values after it and the move
    /// Autoscale then makes.
    fn effect(&self) -> String {
        let profile = match (&self.active, self.active_name()) {
            (Err(why), _) => format!("active profile unknown ({why})"),
            (Ok(_), Some(name)) => format!("active profile \"{name}\""),
            (Ok(_), None) => "no active profile".into(),
        };
        let effect = match &self.verdict {
            ChangeVerdict::Allowed { after, implied_move: Some((from, to)), .. } => {
                format!("{profile}; {after}; Autoscale moves the capacity from {from} to {to}")
            }
            ChangeVerdict::Allowed { after, implied_move: None, .. }
                if after.enabled && after.capacity.is_none() =>
            {
                format!(
                    "{profile}; {after}; what Autoscale does with the capacity ({}) is unknown",
                    self.capacity
                )
            }
            ChangeVerdict::Allowed { after, implied_move: None, .. } => {
                format!("{profile}; {after}; Autoscale does not move the capacity ({})", self.capacity)
            }
            ChangeVerdict::Refused { .. } => return profile,
        };
        match &self.verdict {
            ChangeVerdict::Allowed { forced: true, .. } => format!("{effect}; only forced"),
            _ => effect,
        }
    }

    /// This proposal made again right before the write, against the one the operator confirmed
    /// (its active profile and verdict): None when it does the same, else every reason to write
    /// nothing (its own refusals, or that what it does changed). A force it now needs must have
    /// been confirmed; one it no longer needs (the Activity Log read this time) is no reason to
    /// stop, nor is an unreadable Activity Log failing with other words (a new correlation id).
    pub fn unlike(
        &self,
        confirmed_active: &Result<Option<usize>, ScheduleError>,
        confirmed: &ChangeVerdict,
    ) -> Option<Vec<AutoscaleRefusal>> {
        let does = |verdict: &ChangeVerdict| match verdict {
            ChangeVerdict::Allowed { before, after, implied_move, forced, .. } => {
                Some((*before, *after, *implied_move, *forced))
            }
            ChangeVerdict::Refused { .. } => None,
        };
        match (&self.verdict, does(&self.verdict), does(confirmed)) {
            (ChangeVerdict::Refused { reasons }, ..) => Some(reasons.clone()),
            (
                _,
                Some((before, after, moves, forced)),
                Some((was_before, was_after, was_moving, was_forced)),
            ) if self.active == *confirmed_active
                && (before, after, moves) == (was_before, was_after, was_moving)
                && (!forced || was_forced) =>
            {
                None
            }
            _ => Some(vec![AutoscaleRefusal::ChangedSinceConfirmed { now: self.effect() }]),
        }
    }

    pub fn summary(&self) -> AutoscaleProposalSummary {
        let (before, after, implied_move, warnings, refusals) = match &self.verdict {
            ChangeVerdict::Allowed { before, after, implied_move, warnings, .. } => {
                (Some(*before), Some(*after), *implied_move, warnings.clone(), vec![])
            }
            ChangeVerdict::Refused { reasons } => {
                (None, None, None, vec![], reasons.iter().map(ToString::to_string).collect())
            }
        };
        AutoscaleProposalSummary {
            profile: self.profile.clone(),
            scale_set: self.scale_set.to_string(),
            setting: self.setting.name.clone(),
            active_profile: self.active_name(),
            capacity: self.capacity,
            before,
            after,
            implied_move,
            reason: self.reason.clone(),
            allowed: self.is_allowed(),
            refusals,
            warnings,
        }
    }

    /// The proposal as aligned lines, verdict last with every reason.
    pub fn lines(&self) -> Vec<String> {
        let state = if self.setting.enabled { "enabled" } else { "disabled" };
        let profile = match (&self.active, self.active_name()) {
            (Err(why), _) => format!("unknown: {why}"),
            (Ok(_), Some(name)) => format!("\"{name}\""),
            (Ok(_), None) => "none applies now".into(),
        };
        let mut lines = vec![
            format!("Scale set    {} (profile {})", self.scale_set, self.profile),
            format!("Setting      Azure Autoscale {} ({state}), active profile {profile}", self.setting.name),
        ];
        match &self.verdict {
            ChangeVerdict::Allowed { before, after, implied_move, warnings, .. } => {
                lines.push(format!("Now          {before}"));
                lines.push(format!("After        {after}"));
                lines.push(match implied_move {
                    Some((from, to)) => {
                        format!("Capacity     {from}, which Autoscale will then move to {to}")
                    }
                    // Turned on (forced) with no known active profile.
                    None if after.enabled && after.capacity.is_none() => format!(
                        "Capacity     {} (what Autoscale then does with it is unknown: no active profile is known)",
                        self.capacity
                    ),
                    None => format!(
                        "Capacity     {} (within the new range: Autoscale does not move it for this)",
                        self.capacity
                    ),
                });
                lines.push(format!("Reason       {}", self.reason));
                lines.push("Verdict      ALLOWED".into());
                lines.extend(warnings.iter().map(|w| format!("  ! {w}")));
            }
            ChangeVerdict::Refused { reasons } => {
                lines.push(format!("Capacity     {}", self.capacity));
                lines.push(format!(
                    "Reason       {}",
                    if self.reason.trim().is_empty() { "(none)" } else { &self.reason }
                ));
                lines.push(format!("Verdict      REFUSED ({} reason(s))", reasons.len()));
                lines.extend(reasons.iter().map(|r| format!("  - {r}")));
            }
        }
        lines
    }
}

impl AutoscaleOutcome {
    pub fn sentence(&self, setting: &str) -> String {
        match self {
            AutoscaleOutcome::Done { before, after } => format!(
                "done: Azure Autoscale setting {setting} is now {after} (was {before}); {CONCURRENCY}"
            ),
            AutoscaleOutcome::Refused { reasons } => format!(
                "refused, nothing was written: {}",
                reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
            AutoscaleOutcome::Changed { fresh: Ok(_) } => format!(
                "Azure Autoscale setting {setting} changed since it was read (compared right before the write: it has no \
                 ETag); nothing was written; look at it again and ask again"
            ),
            AutoscaleOutcome::Changed { fresh: Err(why) } => format!(
                "Azure Autoscale setting {setting} changed since it was read; nothing was written; reading it again failed \
                 ({why})"
            ),
            AutoscaleOutcome::Failed { why } => format!("failed: {why}"),
        }
    }
}

impl Scaling {
    /// Read the scale set, its autoscale setting and who changed it lately; ask the guard.
    /// Changes nothing.
    pub async fn prepare_autoscale(
        &self,
        key: &ScaleSetKey,
        change: AutoscaleChange,
        reason: &str,
    ) -> Result<AutoscaleProposal, ScaleError> {
        let provider = self.provider(key)?;
        let now = self.now();
        let state = provider.get_scale_set(key).await.map_err(ScaleError::Provider)?;
        let setting = provider.autoscale(key).await.map_err(ScaleError::Provider)?.ok_or_else(|| {
            ScaleError::NoAutoscale { scale_set: key.to_string(), resource_group: key.resource_group.clone() }
        })?;
        // Who changed the capacity lately: only a change that makes Autoscale move the capacity
        // has to wait out the cooldown.
        let others = other_scalers::read(provider.as_ref(), key, self.profile.guard.cooldown_secs, now).await;
        let active = active_index(&setting, now);
        let cooldown = self.cooldown_now(key, &state, others, now)?;
        let verdict = evaluate_change(
            &self.profile.guard,
            &setting,
            &active,
            &change,
            reason,
            state.capacity,
            cooldown,
        );
        Ok(AutoscaleProposal {
            profile: self.profile_name.clone(),
            scale_set: key.clone(),
            setting,
            active,
            change,
            reason: reason.to_string(),
            capacity: state.capacity,
            verdict,
            read_at: now,
        })
    }

    /// Write exactly what `proposal` allowed, if the setting is still as it was read.
    pub async fn apply_autoscale(
        &self,
        proposal: &AutoscaleProposal,
    ) -> Result<AutoscaleOutcome, ScaleError> {
        self.ensure_writable()?;
        let key = &proposal.scale_set;
        let provider = self.provider(key)?;
        let now = self.now();
        let (before, after) = match &proposal.verdict {
            ChangeVerdict::Refused { reasons } => {
                return Ok(AutoscaleOutcome::Refused { reasons: reasons.clone() })
            }
            ChangeVerdict::Allowed { before, after, .. } => (*before, *after),
        };
        // The operator confirmed this verdict, read a while ago: ask again over what holds now.
        let again = self.evaluate_again(proposal, now).await?;
        if let Some(reasons) = again.unlike(&proposal.active, &proposal.verdict) {
            return Ok(AutoscaleOutcome::Refused { reasons });
        }
        // No ETag: read again and compare right before the write.
        let fresh = match provider.autoscale(key).await {
            Ok(Some(fresh)) => fresh,
            Ok(None) => {
                return Ok(AutoscaleOutcome::Changed {
                    fresh: Err(format!("no autoscale setting targets {key} any more")),
                })
            }
            Err(err) => {
                return Ok(AutoscaleOutcome::Failed {
                    why: format!("reading the setting again before the write: {err}"),
                })
            }
        };
        if fresh.id != proposal.setting.id || !same_content(&fresh.resource, &proposal.setting.resource) {
            let again = self.prepare_autoscale(key, proposal.change.clone(), &proposal.reason).await;
            return Ok(AutoscaleOutcome::Changed {
                fresh: again.map(Box::new).map_err(|err| err.to_string()),
            });
        }
        let action = JournalAction::Autoscale {
            scale_set: key.clone(),
            setting: proposal.setting.name.clone(),
            profile: proposal
                .known_active()
                .and_then(|i| proposal.setting.profiles.get(i))
                .map(|p| p.name.clone()),
            before,
            after,
            concurrency: CONCURRENCY.into(),
        };
        let intent = self.journal.append_intent(&self.profile_name, &proposal.reason, action, now)?;
        let body = apply_to_resource(&proposal.setting.resource, proposal.known_active(), &after);
        let outcome = match provider.put_autoscale(&proposal.setting, &body).await {
            Ok(written) if written_as_asked(&written, proposal.known_active(), &after) => {
                AutoscaleOutcome::Done { before, after }
            }
            Ok(_) => AutoscaleOutcome::Failed {
                why: format!(
                    "the server answered the PUT of autoscale setting {} with other values than were sent",
                    proposal.setting.name
                ),
            },
            Err(err) => AutoscaleOutcome::Failed { why: err.to_string() },
        };
        let journaled = match &outcome {
            AutoscaleOutcome::Done { .. } => Outcome::Done,
            other => Outcome::Failed(other.sentence(&proposal.setting.name)),
        };
        self.journal.append_result(&intent, journaled, self.now())?;
        Ok(outcome)
    }

    /// `proposal` evaluated again at `now`: its setting's active profile then, the set's capacity
    /// read again and, when the change makes Autoscale move the capacity or is a forced turn-on
    /// (which may), the cooldown (the journal and the Activity Log read again).
    async fn evaluate_again(
        &self,
        proposal: &AutoscaleProposal,
        now: OffsetDateTime,
    ) -> Result<AutoscaleProposal, ScaleError> {
        let key = &proposal.scale_set;
        let provider = self.provider(key)?;
        let guard = &self.profile.guard;
        let state = provider.get_scale_set(key).await.map_err(ScaleError::Provider)?;
        let active = active_index(&proposal.setting, now);
        let evaluate = |cooldown| {
            let (change, reason) = (&proposal.change, proposal.reason.as_str());
            evaluate_change(guard, &proposal.setting, &active, change, reason, state.capacity, cooldown)
        };
        let mut verdict = evaluate(CooldownNow::default());
        // A forced turn-on past an unknown active profile may move the capacity at once too.
        if matches!(
            verdict,
            ChangeVerdict::Allowed { implied_move: Some(_), .. }
                | ChangeVerdict::Allowed { forced: true, .. }
        ) {
            let others = other_scalers::read(provider.as_ref(), key, guard.cooldown_secs, now).await;
            verdict = evaluate(self.cooldown_now(key, &state, others, now)?);
        }
        Ok(AutoscaleProposal { active, capacity: state.capacity, verdict, read_at: now, ..proposal.clone() })
    }

    /// The guard's cooldown for `key` at `now` over the journal and what `others` read: unknown
    /// when the Activity Log could not be read (never "nobody changed it").
    fn cooldown_now(
        &self,
        key: &ScaleSetKey,
        state: &ScaleSetState,
        others: OthersObservation,
        now: OffsetDateTime,
    ) -> Result<CooldownNow, ScaleError> {
        let mut history = self.history()?;
        let unknown = match others.changes {
            Ok(changes) => {
                history.extend(changes);
                None
            }
            Err(failure) => Some(failure.to_string()),
        };
        let running = guard::cooldown_refusal(&self.profile.guard, key, state, &history, now);
        Ok(CooldownNow { running, unknown })
    }
}

/// Does the answer hold what was sent?
fn written_as_asked(written: &Setting, active: Option<usize>, after: &ProfileValues) -> bool {
    let profile_ok = match (active.and_then(|i| written.profiles.get(i)), after.capacity) {
        (Some(profile), Some(range)) => profile.capacity == range,
        (_, None) => true,
        (None, Some(_)) => false,
    };
    written.enabled == after.enabled && profile_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::parse_setting;
    use crate::config::GuardConfig;
    use serde_json::json;
    use time::macros::datetime;

    /// Disabled; its default profile 2..6, and a fixed-date profile "sale" 1..2 from 12:00 to
    /// 13:00 UTC on 2026-01-07.
    fn setting() -> Setting {
        parse_setting(&json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/as",
            "name": "as",
            "location": "westeurope",
            "properties": {"enabled": false, "targetResourceUri": "x", "profiles": [
                {"name": "default", "capacity": {"minimum": "2", "maximum": "6", "default": "4"}, "rules": []},
                {"name": "sale", "capacity": {"minimum": "1", "maximum": "2", "default": "2"}, "rules": [],
                 "fixedDate": {"timeZone": "UTC", "start": "2026-01-07T12:00:00", "end": "2026-01-07T13:00:00"}}
            ]}
        }))
        .unwrap()
    }

    /// Turning it on, evaluated at `at` with the set at `capacity`.
    fn enable(at: OffsetDateTime, capacity: u32) -> AutoscaleProposal {
        enable_with(at, capacity, false, CooldownNow::default())
    }

    /// Turning it on (`force`d or not) with the guard's cooldown `cooldown`.
    fn enable_with(
        at: OffsetDateTime,
        capacity: u32,
        force: bool,
        cooldown: CooldownNow,
    ) -> AutoscaleProposal {
        let setting = setting();
        let change = AutoscaleChange { enabled: Some(true), force, ..Default::default() };
        let guard = GuardConfig { min_capacity: 1, max_capacity: 10, max_step: 3, ..GuardConfig::default() };
        let active = active_index(&setting, at);
        let verdict = evaluate_change(&guard, &setting, &active, &change, "r", capacity, cooldown);
        AutoscaleProposal {
            profile: "sim".into(),
            scale_set: ScaleSetKey {
                provider: "azure".into(),
                subscription_id: "s".into(),
                resource_group: "rg".into(),
                name: "web".into(),
            },
            setting,
            active,
            change,
            reason: "r".into(),
            capacity,
            verdict,
            read_at: at,
        }
    }

    #[test]
    fn asked_again_a_change_goes_ahead_only_if_it_still_does_what_was_confirmed() {
        let confirmed = enable(datetime!(2026-01-07 11:59 UTC), 4);
        assert!(confirmed.is_allowed(), "{:?}", confirmed.verdict);
        let unlike = |again: AutoscaleProposal| {
            again
                .unlike(&confirmed.active, &confirmed.verdict)
                .map(|reasons| reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        };
        assert_eq!(unlike(enable(datetime!(2026-01-07 11:59:30 UTC), 4)), None, "nothing changed");
        // The fixed-date profile took over while the operator read the prompt.
        let switched = unlike(enable(datetime!(2026-01-07 12:00 UTC), 4)).expect("refused");
        assert_eq!(
            switched,
            "what the change does is no longer what was confirmed (now: active profile \"sale\"; enabled, 1..2 \
             (default 2); Autoscale moves the capacity from 4 to 2); look at it again"
        );
        // The set moved: Autoscale would now scale it in.
        let moved = unlike(enable(datetime!(2026-01-07 11:59:30 UTC), 8)).expect("refused");
        assert!(moved.contains("Autoscale moves the capacity from 8 to 6"), "{moved}");
        // Refused now: its own reasons.
        let refused = unlike(enable(datetime!(2026-01-07 11:59:30 UTC), 10)).expect("refused");
        assert!(refused.contains("from 10 to 6 is a step of 4"), "{refused}");
    }

    #[test]
    fn asked_again_a_force_must_have_been_confirmed_but_its_words_may_differ() {
        let at = datetime!(2026-01-07 11:59 UTC);
        let unknown = |why: &str| CooldownNow { running: None, unknown: Some(why.into()) };
        // Turning it on at 8 makes Autoscale scale in 8 -> 6 with the cooldown unknown: forced.
        let confirmed = enable_with(at, 8, true, unknown("500 (correlation id 1)"));
        assert!(
            matches!(confirmed.verdict, ChangeVerdict::Allowed { forced: true, .. }),
            "{:?}",
            confirmed.verdict
        );
        let unlike = |again: AutoscaleProposal| again.unlike(&confirmed.active, &confirmed.verdict);
        assert_eq!(unlike(enable_with(at, 8, true, unknown("500 (correlation id 2)"))), None);
        assert_eq!(unlike(enable_with(at, 8, true, CooldownNow::default())), None, "read this time");
        // Confirmed with the Activity Log read; now it would go ahead only forced: refused.
        let confirmed = enable_with(at, 8, true, CooldownNow::default());
        let again = enable_with(at, 8, true, unknown("500"));
        let reasons = again.unlike(&confirmed.active, &confirmed.verdict).expect("refused");
        assert_eq!(
            reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "what the change does is no longer what was confirmed (now: active profile \"default\"; enabled, \
                 2..6 (default 4); Autoscale moves the capacity from 8 to 6; only forced); look at it again"
            ]
        );
    }
}
