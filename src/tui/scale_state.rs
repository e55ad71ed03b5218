//! What the console keeps for scaling and for the doctor: the guard's limits, the latest scale-set
//! listings and the journal's capacity changes (so the scale dialog's verdict is computed live,
//! with no IO per keystroke), and the doctor's latest findings.

use super::messages::FindingsReport;
use crate::config::{GuardConfig, Profile};
use crate::guard::OtherScalers;
use crate::model::{Instance, ScaleChange, ScaleSetKey, ScaleSetState};
use crate::snapshot::{ForeignVm, OthersObservation, ScaleSetListing, Snapshot};
use std::collections::BTreeMap;
use std::ops::Range;
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
    pub listings: Vec<KeptListing>,
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
    /// since the listing kept is a change the cooldown counts ("seen by the console"). `pane` is
    /// the instances pane's rows before it takes this refresh: when every listing was read, the
    /// pane takes all their VMs, set after set, and the listings keep their VMs there.
    pub fn remember(&mut self, snapshot: &Snapshot, pane: &[Instance]) {
        let taken_at = snapshot.taken_at;
        self.observed.retain(|c| taken_at - c.at < OBSERVED_KEPT);
        let to_pane = snapshot.scale_sets.iter().all(|o| o.listing.is_ok());
        if to_pane {
            // A set this refresh does not list again is about to lose its rows: its VMs become
            // its own.
            for kept in &mut self.listings {
                let listed_again = snapshot.scale_sets.iter().any(|o| o.key == kept.state.key);
                if let (false, KeptVms::InPane(rows)) = (listed_again, &kept.instances) {
                    kept.instances =
                        KeptVms::Own(pane.get(rows.clone()).map(<[Instance]>::to_vec).unwrap_or_default());
                }
            }
        }
        let mut next_row = 0;
        for observation in &snapshot.scale_sets {
            self.others.insert(observation.key.clone(), observation.others.clone());
            let Ok(listing) = &observation.listing else { continue };
            let instances = if to_pane {
                let rows = next_row..next_row + listing.instances.len();
                next_row = rows.end;
                KeptVms::InPane(rows)
            } else {
                KeptVms::Own(listing.instances.clone())
            };
            let fresh = KeptListing {
                state: listing.state.clone(),
                reread: listing.reread.clone(),
                foreign: listing.foreign.clone(),
                instances,
            };
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
                    *kept = fresh
                }
                None => self.listings.push(fresh),
            }
        }
    }

    /// Who else scales `key`, for the guard: the latest read plus the console's own observations.
    pub fn scalers(&self, key: &ScaleSetKey, now: OffsetDateTime) -> OtherScalers {
        let mut scalers = self.others.get(key).cloned().unwrap_or_default().scalers(now);
        scalers.changes.extend(self.observed.iter().filter(|c| &c.scale_set == key).cloned());
        scalers
    }

    /// The latest good listing of `key`, whole; `pane` is the instances pane's rows.
    pub fn listing(&self, key: &ScaleSetKey, pane: &[Instance]) -> Option<ScaleSetListing> {
        let kept = self.listings.iter().find(|l| &l.state.key == key)?;
        let instances = match &kept.instances {
            KeptVms::Own(vms) => vms.clone(),
            KeptVms::InPane(rows) => pane.get(rows.clone())?.to_vec(),
        };
        Some(ScaleSetListing {
            state: kept.state.clone(),
            instances,
            reread: kept.reread.clone(),
            foreign: kept.foreign.clone(),
        })
    }
}

/// A scale set's latest good listing. Its VMs stay in the instances pane when the pane shows the
/// same read (every set was read): at 10,000 VMs a second copy of each is megabytes more at every
/// refresh. A set read in a refresh in which another set's read failed keeps its own (the pane
/// keeps its older rows).
#[derive(Debug, Clone)]
pub struct KeptListing {
    pub state: ScaleSetState,
    reread: Option<ScaleSetState>,
    foreign: Vec<ForeignVm>,
    instances: KeptVms,
}

#[derive(Debug, Clone)]
enum KeptVms {
    Own(Vec<Instance>),
    /// These rows of the instances pane.
    InPane(Range<usize>),
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
