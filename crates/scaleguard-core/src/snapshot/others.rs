//! Who else scales a set, as one refresh read it: its Azure Autoscale setting and the writes to it
//! by anyone over the cooldown window (the Activity Log). Each read fails on its own, and a failure
//! stays one: the guard then says "unknown", never "nobody".

use super::{Observed, ReadFailure};
use crate::autoscale::{AutoscaleState, Setting};
use crate::guard::OtherScalers;
use crate::model::ScaleChange;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OthersObservation {
    /// The autoscale setting that targets the set; Ok(None) when there is none.
    pub setting: Observed<Option<Setting>>,
    /// Writes to the set and Autoscale's actions, with who made them.
    pub changes: Observed<Vec<ScaleChange>>,
}

impl OthersObservation {
    /// Nothing was read (a provider that could not be built, a listing that failed first).
    pub fn not_read(why: &ReadFailure) -> Self {
        Self { setting: Err(why.clone()), changes: Err(why.clone()) }
    }

    /// Read, and nobody else scales the set: no autoscale setting, no write in the window.
    pub fn nobody() -> Self {
        Self { setting: Ok(None), changes: Ok(Vec::new()) }
    }

    pub fn autoscale(&self, at: OffsetDateTime) -> AutoscaleState {
        AutoscaleState::of(self.setting.as_ref().map(Option::as_ref).map_err(ToString::to_string), at)
    }

    /// What the guard needs, at `at`.
    pub fn scalers(&self, at: OffsetDateTime) -> OtherScalers {
        OtherScalers {
            autoscale: self.autoscale(at),
            changes: self.changes.clone().unwrap_or_default(),
            activity_log_failure: self.changes.as_ref().err().map(ToString::to_string),
        }
    }
}

impl Default for OthersObservation {
    fn default() -> Self {
        Self::not_read(&ReadFailure::new("Azure Autoscale and the Activity Log", "not read"))
    }
}
