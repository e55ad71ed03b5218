//! Azure Autoscale, purely: a setting's profiles, which one is active at a given time, what the
//! guard and the console make of it, and a change to the active profile. No IO: the provider
//! reads and writes settings (`providers::azure::monitor`), the simulator runs its own engine on
//! the same types.
//!
//! Facts this module encodes (Microsoft Learn, "Autoscale with multiple profiles" and
//! "Understand autoscale settings"):
//! - each time the engine runs, fixed-date profiles are evaluated first, then recurring ones, then
//!   the default profile; only the first that applies is used;
//! - a recurring profile has no end: it runs from its start until the next recurring profile's
//!   start (the portal models an "end" by adding a copy of the default profile that starts then);
//! - capacities are strings in the JSON (`"minimum": "2"`), schedules name Windows time zones
//!   ("Pacific Standard Time"), resolved here through CLDR's windowsZones mapping
//!   (`windows-timezones`) and the IANA database bundled by `jiff`.

mod change;
mod schedule;
mod state;
mod wire;

pub use change::{
    active_index, apply_to_resource, evaluate_change, same_content, AutoscaleChange, AutoscaleRefusal,
    ChangeVerdict, CooldownNow, ProfileValues,
};
pub use schedule::{active_profile, resolve_time_zone, Active, ScheduleError};
pub use state::{ActiveProfileSummary, AutoscaleState, AutoscaleSummary};
pub use wire::{parse_setting, targets, WireError};

use serde::{Deserialize, Serialize};
use std::fmt;
use time::{PrimitiveDateTime, Weekday};

/// A profile's capacity limits. Azure keeps `minimum <= default <= maximum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityRange {
    pub minimum: u32,
    pub maximum: u32,
    pub default: u32,
}

impl CapacityRange {
    pub fn contains(&self, capacity: u32) -> bool {
        (self.minimum..=self.maximum).contains(&capacity)
    }

    /// Where the engine takes a capacity outside the range at its next evaluation.
    pub fn clamp(&self, capacity: u32) -> u32 {
        capacity.clamp(self.minimum, self.maximum.max(self.minimum))
    }
}

impl fmt::Display for CapacityRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{} (default {})", self.minimum, self.maximum, self.default)
    }
}

/// When a profile applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    /// Neither `fixedDate` nor `recurrence`: used when nothing else applies.
    Default,
    /// From `start` until `end`, wall-clock times in `time_zone` (UTC when absent).
    FixedDate { time_zone: Option<String>, start: PrimitiveDateTime, end: PrimitiveDateTime },
    /// Starts every week on `days` at each of `hours` × `minutes`, wall-clock in `time_zone`.
    Recurring { time_zone: String, days: Vec<Weekday>, hours: Vec<u8>, minutes: Vec<u8> },
}

/// One profile of a setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub capacity: CapacityRange,
    pub schedule: Schedule,
    /// Some rule decreases the count: Autoscale may remove VMs on its own.
    pub scales_in: bool,
}

impl Profile {
    /// The name as a person reads it. The portal names the profiles it creates with a JSON
    /// object (`{"name":"Auto created default scale condition","for":"weekday"}`): show it as
    /// `Auto created default scale condition (after "weekday")`.
    pub fn display_name(&self) -> String {
        #[derive(Deserialize)]
        struct PortalName {
            name: String,
            #[serde(rename = "for")]
            after: String,
        }
        match serde_json::from_str::<PortalName>(&self.name) {
            Ok(portal) => format!("{} (after \"{}\")", portal.name, portal.after),
            Err(_) => self.name.clone(),
        }
    }
}

/// An autoscale setting as read, with the ARM resource it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// The ARM id (`/subscriptions/…/providers/microsoft.insights/autoscalesettings/NAME`).
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub target_resource_uri: String,
    pub profiles: Vec<Profile>,
    /// The resource exactly as read: a change writes it back with only the changed values
    /// replaced, so rules, notifications, tags and fields this version does not know survive.
    pub resource: serde_json::Value,
}
