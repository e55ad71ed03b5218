//! What the console keeps for scaling and for the doctor: the guard's limits, the latest scale-set
//! listings and the journal's capacity changes (so the scale dialog's verdict is computed live,
//! with no IO per keystroke), and the doctor's latest findings.

use super::messages::FindingsReport;
use crate::config::{GuardConfig, Profile};
use crate::guard::OtherScalers;
use crate::model::{ScaleChange, ScaleSetKey};
use crate::snapshot::{OthersObservation, ScaleSetListing, Snapshot};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Capacity changes the console saw (a refresh reading another capacity than the one before) are
/// kept this long: longer than any sensible cooldown.
const OBSERVED_KEPT: time::Duration = time::Duration::hours(6);

#[derive(Debug, Clone)]
pub struct ScaleState {
    pub limits: GuardConfig,
    /// The profile's scale sets, in config order.
    pub configured: Vec<ScaleSetKey>,
    /// The latest good listing of each scale set (kept when a later read fails).
    pub listings: Vec<ScaleSetListing>,
    /// Capacity changes from the journal (anyone's), for the cooldown.
    pub history: Vec<ScaleChange>,
    /// Who else scales each set (Azure Autoscale, the Activity Log), as last read.
    pub others: BTreeMap<ScaleSetKey, OthersObservation>,
    /// Capacity changes the console itself saw between refreshes.
    pub observed: Vec<ScaleChange>,
    /// A scale or protection change is running in the worker: one at a time.
    pub running: Option<String>,
}

impl ScaleState {
    pub fn new(profile: &Profile) -> Self {
        Self {
            limits: profile.guard.clone(),
            configured: profile.scale_sets.iter().map(|s| s.key()).collect(),
            listings: Vec::new(),
            history: Vec::new(),
            others: BTreeMap::new(),
            observed: Vec::new(),
            running: None,
        }
    }

    /// Keep each scale set's latest good listing and who else scales it; a capacity that moved
    /// since the listing kept is a change the cooldown counts ("seen by the console").
    pub fn remember(&mut self, snapshot: &Snapshot) {
        let taken_at = snapshot.taken_at;
        self.observed.retain(|c| taken_at - c.at < OBSERVED_KEPT);
        for observation in &snapshot.scale_sets {
            self.others.insert(observation.key.clone(), observation.others.clone());
            let Ok(listing) = &observation.listing else { continue };
            match self.listings.iter_mut().find(|l| l.state.key == observation.key) {
                Some(kept) => {
                    if kept.state.capacity != listing.state.capacity {
                        self.observed.push(ScaleChange {
                            scale_set: observation.key.clone(),
                            at: taken_at,
                            from: Some(kept.state.capacity),
                            to: Some(listing.state.capacity),
                            by: Some("someone (seen by the console)".into()),
                        });
                    }
                    *kept = listing.clone()
                }
                None => self.listings.push(listing.clone()),
            }
        }
    }

    /// Who else scales `key`, for the guard: the latest read plus the console's own observations.
    pub fn scalers(&self, key: &ScaleSetKey, now: OffsetDateTime) -> OtherScalers {
        let mut scalers = self.others.get(key).cloned().unwrap_or_default().scalers(now);
        scalers.changes.extend(self.observed.iter().filter(|c| &c.scale_set == key).cloned());
        scalers
    }

    pub fn listing(&self, key: &ScaleSetKey) -> Option<&ScaleSetListing> {
        self.listings.iter().find(|l| &l.state.key == key)
    }
}

#[derive(Debug, Clone, Default)]
pub struct FindingsState {
    pub report: Option<FindingsReport>,
    /// A doctor run is in flight (the worker starts one with the console).
    pub gathering: bool,
    /// Say how it went when it lands (asked for with `:doctor`, not the startup run).
    pub announce: bool,
}

impl FindingsState {
    pub fn starting() -> Self {
        Self { report: None, gathering: true, announce: false }
    }
}
