//! Guarded manual scaling (IO around the pure guard): read the scale set, ask the guard, journal,
//! PATCH the capacity with If-Match, poll the operation, journal how it ended.
//!
//! Two steps, so a person sees exactly what will happen before anything changes (terraform's
//! plan/apply): [`Scaling::prepare`] reads and evaluates and changes nothing; [`Scaling::apply`]
//! re-checks the guard against the journal as it is now and makes exactly the proposed change,
//! conditional on the ETag the proposal was read with. If the set changed in between, Azure
//! answers 412: the outcome says so with a fresh proposal, and nothing is retried blindly.
//!
//! Read-only profiles are refused here, in the one place every caller (CLI, console) goes through.

mod apply;
mod autoscale;
mod error;
mod proposal;
mod protect;
mod text;

pub use apply::{Conflict, ScaleOutcome};
pub use autoscale::{AutoscaleOutcome, AutoscaleProposal, AutoscaleProposalSummary, CONCURRENCY};
pub use error::ScaleError;
pub use proposal::{propose, Proposal};
pub use protect::{ProtectOutcome, ProtectProposal};
pub use text::{ChangeSummary, OutcomeSummary, ProposalSummary};

use crate::clock::Clock;
use crate::config::Profile;
use crate::journal::{self, Journal, JournalAction, Outcome, Record, RecordKind};
use crate::model::{ScaleChange, ScaleSetKey};
use crate::providers::{self, ScaleSetProvider};
use std::sync::Arc;
use time::OffsetDateTime;

/// Everything a scale or protection change needs for one profile: its config, its journal, the
/// provider (built from the config unless one is given) and a clock.
pub struct Scaling {
    profile_name: String,
    profile: Profile,
    journal: Journal,
    provider: Option<Arc<dyn ScaleSetProvider>>,
    clock: Clock,
}

impl Scaling {
    pub fn new(profile_name: impl Into<String>, profile: Profile, journal: Journal) -> Self {
        Self { profile_name: profile_name.into(), profile, journal, provider: None, clock: Clock::system() }
    }

    /// Use this provider for every scale set instead of building one from the config (tests tune
    /// its poll interval; the console shares one).
    pub fn with_provider(mut self, provider: Arc<dyn ScaleSetProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn profile_name(&self) -> &str {
        &self.profile_name
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The configured scale set called `name` (case-insensitive), or `resource_group/name` when
    /// two configured sets share a name.
    pub fn scale_set(&self, name: &str) -> Result<ScaleSetKey, ScaleError> {
        let keys: Vec<ScaleSetKey> = self.profile.scale_sets.iter().map(|s| s.key()).collect();
        let matches: Vec<&ScaleSetKey> = keys
            .iter()
            .filter(|k| k.name.eq_ignore_ascii_case(name) || k.to_string().eq_ignore_ascii_case(name))
            .collect();
        let configured = || keys.iter().map(|k| k.name.clone()).collect::<Vec<_>>().join(", ");
        match matches[..] {
            [key] => Ok(key.clone()),
            [] => Err(ScaleError::UnknownScaleSet {
                name: name.to_string(),
                profile: self.profile_name.clone(),
                configured: configured(),
            }),
            _ => Err(ScaleError::AmbiguousScaleSet {
                name: name.to_string(),
                candidates: matches.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Refuses when the profile says `read_only = true`.
    pub fn ensure_writable(&self) -> Result<(), ScaleError> {
        if self.profile.read_only {
            return Err(ScaleError::ReadOnly(self.profile_name.clone()));
        }
        Ok(())
    }

    fn provider(&self, key: &ScaleSetKey) -> Result<Arc<dyn ScaleSetProvider>, ScaleError> {
        match &self.provider {
            Some(provider) => Ok(provider.clone()),
            None => providers::for_key(&self.profile, key).map_err(ScaleError::Provider),
        }
    }

    /// Capacity changes by anyone who journals (this console, another one, a runbook), read now.
    fn history(&self) -> Result<Vec<ScaleChange>, ScaleError> {
        let (records, _warnings) = journal::read_all(self.journal.path())?;
        Ok(cooldown_history(&records))
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

/// The capacity changes the guard's cooldown counts: the journal's (done, or interrupted), plus
/// changes Azure accepted whose operation then failed or timed out: the capacity moved anyway.
pub fn cooldown_history(records: &[Record]) -> Vec<ScaleChange> {
    let mut history = journal::scale_history(records);
    for result in records.iter().filter(|r| r.kind == RecordKind::Result) {
        // A drain-first scale-in deletes VMs by id: Azure lowers the capacity with them.
        if let (JournalAction::DeleteInstances { scale_set, .. }, Some(Outcome::Done)) =
            (&result.action, &result.outcome)
        {
            let by = Some(format!("{} via scaleguard (drain-first scale-in)", result.operator));
            history.push(ScaleChange {
                scale_set: scale_set.clone(),
                at: result.time,
                from: None,
                to: None,
                by,
            });
            continue;
        }
        let (JournalAction::Scale { scale_set, from, to }, Some(Outcome::Failed(why))) =
            (&result.action, &result.outcome)
        else {
            continue;
        };
        if why.starts_with(apply::ACCEPTED_BUT_FAILED) {
            let by = Some(format!("{} via scaleguard", result.operator));
            history.push(ScaleChange {
                scale_set: scale_set.clone(),
                at: result.time,
                from: *from,
                to: Some(*to),
                by,
            });
        }
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_accepted_change_whose_operation_failed_still_counts_for_the_cooldown() {
        let key = ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "sub".into(),
            resource_group: "rg".into(),
            name: "web".into(),
        };
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("journal.jsonl")).unwrap();
        let at = datetime!(2026-11-23 10:00 UTC);
        let scale = |to| JournalAction::Scale { scale_set: key.clone(), from: Some(2), to };
        let refused = journal.append_intent("p", "r", scale(3), at).unwrap();
        journal.append_result(&refused, Outcome::Failed("403 Forbidden".into()), at).unwrap();
        let accepted = journal.append_intent("p", "r", scale(4), at).unwrap();
        let why = format!("{} 4, but its operation did not succeed: timeout", apply::ACCEPTED_BUT_FAILED);
        journal.append_result(&accepted, Outcome::Failed(why), at).unwrap();

        let (records, _) = journal::read_all(journal.path()).unwrap();
        let history = cooldown_history(&records);
        assert_eq!(history.iter().map(|c| c.to).collect::<Vec<_>>(), vec![Some(4)], "{history:?}");
    }
}
