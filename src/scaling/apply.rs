//! Apply a proposal: re-check, journal the intent, PATCH with If-Match, poll, journal the result.

use super::{propose, Proposal, ScaleError, Scaling};
use crate::guard::{self, Refusal, Verdict};
use crate::journal::{JournalAction, Outcome};
use crate::providers::ProviderError;

/// How a journaled failure starts when Azure took the new capacity and only its operation failed:
/// the capacity did change, so it still starts the cooldown (see [`cooldown_history`]).
pub(super) const ACCEPTED_BUT_FAILED: &str = "Azure accepted capacity";

/// How an apply ended. Only `Done` changed the capacity for sure; `Failed { accepted: true }`
/// means Azure took the new capacity but its operation did not finish well.
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleOutcome {
    Done {
        from: u32,
        to: u32,
        forced: bool,
    },
    /// The guard said no (at apply time: the journal may show a newer change). Nothing was
    /// journaled or sent.
    Refused {
        reasons: Vec<Refusal>,
    },
    /// Azure answered 412: the scale set changed since it was read. Nothing was changed.
    Changed(Box<Conflict>),
    Failed {
        why: String,
        accepted: bool,
    },
}

/// The scale set moved under a proposal: what was expected and what a fresh read says now.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub expected_capacity: u32,
    /// The request re-read and re-checked; Err when that re-read failed.
    pub fresh: Result<Proposal, String>,
}

impl Conflict {
    pub fn found_capacity(&self) -> Option<u32> {
        self.fresh.as_ref().ok().map(Proposal::current)
    }
}

impl ScaleOutcome {
    /// One or two sentences for the operator.
    pub fn sentence(&self) -> String {
        match self {
            ScaleOutcome::Done { from, to, forced } => {
                let forced = if *forced { " (forced)" } else { "" };
                format!("done: capacity changed from {from} to {to} and the operation finished{forced}")
            }
            ScaleOutcome::Refused { reasons } => format!(
                "refused, nothing was changed: {}",
                reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
            ScaleOutcome::Changed(conflict) => conflict.sentence(),
            ScaleOutcome::Failed { why, .. } => format!("failed: {why}"),
        }
    }
}

impl Conflict {
    pub fn sentence(&self) -> String {
        let expected = self.expected_capacity;
        match &self.fresh {
            Ok(fresh) => {
                let found = fresh.current();
                let moved = if found == expected {
                    format!("capacity still {found}, but it was modified by someone else")
                } else {
                    format!("capacity {expected}→{found} by someone else")
                };
                let guard = match &fresh.verdict {
                    Verdict::Allowed { from, to, .. } => format!("{from}→{to} would be allowed"),
                    Verdict::Refused { reasons } => format!(
                        "refused: {}",
                        reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                    ),
                };
                format!(
                    "the scale set changed ({moved}); nothing was changed; guard now says {guard}; ask again"
                )
            }
            Err(why) => format!(
                "the scale set changed since it was read (capacity was {expected}); nothing was changed; \
                 re-reading it failed ({why}); ask again"
            ),
        }
    }
}

impl Scaling {
    /// Make exactly the change `proposal` describes. The guard is asked again first (the journal
    /// may show a change since `prepare`); the PATCH carries the ETag the proposal was read with,
    /// so a set changed by someone else is never overwritten (invariants 4 and 5).
    pub async fn apply(&self, proposal: &Proposal) -> Result<ScaleOutcome, ScaleError> {
        self.ensure_writable()?;
        let key = proposal.key();
        let provider = self.provider(key)?;
        let history = self.history()?;
        let now = self.now();
        let verdict = guard::evaluate(
            &self.profile.guard,
            &proposal.request,
            &proposal.state,
            &proposal.instances,
            &history,
            &proposal.others,
            now,
        );
        let (from, to, forced) = match verdict {
            Verdict::Refused { reasons } => return Ok(ScaleOutcome::Refused { reasons }),
            Verdict::Allowed { from, to, forced, .. } => (from, to, forced),
        };
        // Never through here for the HA nodes' set: the cloud would pick the VMs.
        if let Some(refusal) = self.hosts_nodes_refusal(key, from, to) {
            return Ok(ScaleOutcome::Refused { reasons: vec![refusal] });
        }
        let Some(etag) = proposal.state.etag.as_deref() else {
            // The guard refuses a state without an ETag; never send an unconditional PATCH.
            return Ok(ScaleOutcome::Refused {
                reasons: vec![Refusal::UnknownState { why: "no ETag was read".into() }],
            });
        };

        let action = JournalAction::Scale { scale_set: key.clone(), from: Some(from), to };
        // Held until the result is journaled: settling (which takes it) never settles this change.
        let _lock = crate::executor::hold_for_change(&self.journal, &self.profile_name).await?;
        let intent = self.journal.append_intent(&self.profile_name, &proposal.request.reason, action, now)?;
        let operation = match provider.set_capacity(key, to, etag).await {
            Ok(operation) => operation,
            Err(ProviderError::PreconditionFailed { .. }) => {
                let listing = provider.listing(key).await;
                let moved = match &listing {
                    Ok(listing) => format!(" (capacity {from}→{})", listing.state.capacity),
                    Err(_) => String::new(),
                };
                let why = format!("the scale set changed since it was read{moved}; nothing was changed");
                // Journal the skip first, so the fresh check does not count this attempt as a change.
                self.journal.append_result(&intent, Outcome::Skipped(why), self.now())?;
                let fresh = match listing {
                    Ok(listing) => {
                        let history = self.history()?;
                        let request = proposal.request.clone();
                        Ok(propose(
                            &self.profile_name,
                            &self.profile.guard,
                            request,
                            listing,
                            &history,
                            proposal.others.clone(),
                            self.now(),
                        ))
                    }
                    Err(err) => Err(err.to_string()),
                };
                let conflict = Conflict { expected_capacity: from, fresh };
                return Ok(ScaleOutcome::Changed(Box::new(conflict)));
            }
            Err(err) => {
                let why = err.to_string();
                self.journal.append_result(&intent, Outcome::Failed(why.clone()), self.now())?;
                return Ok(ScaleOutcome::Failed { why, accepted: false });
            }
        };
        match provider.wait(&operation).await {
            Ok(()) => {
                self.journal.append_result(&intent, Outcome::Done, self.now())?;
                Ok(ScaleOutcome::Done { from, to, forced })
            }
            Err(err) => {
                let why = format!("{ACCEPTED_BUT_FAILED} {to}, but its operation did not succeed: {err}");
                self.journal.append_result(&intent, Outcome::Failed(why.clone()), self.now())?;
                Ok(ScaleOutcome::Failed { why, accepted: true })
            }
        }
    }
}
