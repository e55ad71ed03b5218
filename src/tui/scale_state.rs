//! What the console keeps for scaling and for the doctor: the guard's limits, the latest scale-set
//! listings and the journal's capacity changes (so the scale dialog's verdict is computed live,
//! with no IO per keystroke), and the doctor's latest findings.

use super::messages::FindingsReport;
use crate::config::{GuardConfig, Profile};
use crate::model::{ScaleChange, ScaleSetKey};
use crate::snapshot::{ScaleSetListing, Snapshot};

#[derive(Debug, Clone)]
pub struct ScaleState {
    pub limits: GuardConfig,
    /// The profile's scale sets, in config order.
    pub configured: Vec<ScaleSetKey>,
    /// The latest good listing of each scale set (kept when a later read fails).
    pub listings: Vec<ScaleSetListing>,
    /// Capacity changes from the journal (anyone's), for the cooldown.
    pub history: Vec<ScaleChange>,
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
            running: None,
        }
    }

    /// Keep each scale set's latest good listing from a refresh.
    pub fn remember(&mut self, snapshot: &Snapshot) {
        for observation in &snapshot.scale_sets {
            let Ok(listing) = &observation.listing else { continue };
            match self.listings.iter_mut().find(|l| l.state.key == observation.key) {
                Some(kept) => *kept = listing.clone(),
                None => self.listings.push(listing.clone()),
            }
        }
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
