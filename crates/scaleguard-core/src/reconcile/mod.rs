//! The reconcile planner (pure): a snapshot and the observation history in, a plan out.
//!
//! Use it in this order on every refresh:
//! ```text
//! let matched = MatchedSnapshot::new(&snapshot, &profile);
//! history.observe(&matched);                 // record this refresh first
//! let plan = plan_matched(&matched, &history, now, &profile);
//! ```
//! Deletes trust only absence streaks that include the current snapshot, so planning without
//! observing first proposes no delete. Right before an action runs, refresh, observe, and ask
//! `still_valid` again (invariant 5).
//!
//! Order of the plan: waits, deletes, deploys, lifecycle completions and heartbeats, notes; each group sorted by id, notes by severity
//! first. Ids are stable while a proposal stays the same.

pub mod concurrent;
mod deletes;
mod deploys;
mod history;
mod history_vms;
mod lifecycle;
mod matched;
mod notes;
mod notes_evidence;
mod summary;
mod target_positions;
mod tenants;
mod text;
mod validate;
mod wait;

pub mod testkit;

pub use history::{
    vm_key, AbsenceStreak, ClockSkew, History, ModeChange, SetRecord, TargetRecord, VmRecord, VmSighting,
    CLOCK_SKEW_TOLERANCE, FORGET_AFTER,
};
pub use matched::{AbsenceDoubt, MatchedSnapshot, SetProgress, SetView};
pub use summary::{summarize, PlanSummary};
pub use tenants::Lane;
pub use validate::still_valid;

use crate::config::Profile;
use crate::model::{ActionKind, Plan, PlannedAction};
use crate::snapshot::Snapshot;
use time::OffsetDateTime;

/// Plan from a snapshot (matching done here). `history` must already have observed `snapshot`.
pub fn plan(snapshot: &Snapshot, history: &History, now: OffsetDateTime, profile: &Profile) -> Plan {
    plan_matched(&MatchedSnapshot::new(snapshot, profile), history, now, profile)
}

/// Plan from a `MatchedSnapshot` already built for `History::observe`, saving a second matching pass.
pub fn plan_matched(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    now: OffsetDateTime,
    profile: &Profile,
) -> Plan {
    let config = &profile.reconcile;
    let mut waits = wait::waits(matched, history, now, config);
    let mut deletes = deletes::deletes(matched, history, config);
    let mut notes = notes::notes(matched, history, now, config, &waits);
    let mut deploys = Vec::new();
    for proposal in deploys::deploys(matched) {
        match proposal.action.kind() {
            ActionKind::Wait => waits.push(proposal),
            ActionKind::Note => notes.push(proposal),
            _ => deploys.push(proposal),
        }
    }
    // AWS lifecycle hooks: deletes at once join the deletes; completions and heartbeats run
    // after the deletes and deploys they follow.
    let mut hooks = Vec::new();
    for proposal in lifecycle::lifecycle(matched, history, now) {
        match proposal.action.kind() {
            ActionKind::DeleteTarget => deletes.push(proposal),
            ActionKind::Note => notes.push(proposal),
            _ => hooks.push(proposal),
        }
    }
    notes::sort(&mut notes);
    for group in [&mut waits, &mut deletes, &mut deploys, &mut hooks] {
        group.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let actions: Vec<PlannedAction> =
        waits.into_iter().chain(deletes).chain(deploys).chain(hooks).chain(notes).collect();
    Plan { generated_at: now, actions }
}

#[cfg(test)]
mod tests_complete;
#[cfg(test)]
mod tests_deletes;
#[cfg(test)]
mod tests_deploys;
#[cfg(test)]
mod tests_identity;
#[cfg(test)]
mod tests_lifecycle;
#[cfg(test)]
mod tests_mode;
#[cfg(test)]
mod tests_plan;
#[cfg(test)]
mod tests_tenants;
