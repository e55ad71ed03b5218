//! The inventory report: one row per scale set, VM, target and node, with stable JSON keys.
//! `report` builds it whole (the table, the tests); `JsonReport` writes the same JSON a row at a
//! time from the snapshot, so `inventory --format json` over 50,000 VMs never holds a second copy
//! of the estate.

use crate::config::MatchBy;
use crate::matching::{pair_targets, Pairing};
use crate::model::{Instance, ScaleSetKey, Target};
use crate::snapshot::{ReadFailure, ScaleSetListing, Snapshot};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scale_sets: Vec<ScaleSetRow>,
    pub instances: Vec<InstanceRow>,
    pub targets: Vec<TargetRow>,
    pub nodes: Vec<NodeRow>,
    pub server: ServerRow,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleSetRow {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    /// "Uniform" or "Flexible" ("AutoScalingGroup" for an AWS group).
    pub orchestration_mode: String,
    pub capacity: u32,
    pub provisioning_state: String,
    pub overprovision: bool,
    pub etag: Option<String>,
    /// The Azure Autoscale setting that targets the set, with its active profile; `null` when
    /// there is none (`state` "unknown" with `why` when it could not be read).
    pub autoscale: Option<crate::autoscale::AutoscaleSummary>,
    /// An AWS Auto Scaling group's limits, cooldown, termination policies, lifecycle hooks, warm
    /// pool and instance refresh; absent on Azure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<crate::model::AwsGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    pub scale_set: String,
    pub instance_id: String,
    pub name: String,
    pub computer_name: Option<String>,
    pub provisioning_state: String,
    pub power_state: String,
    /// null where Azure does not report it (Flexible sets).
    pub latest_model: Option<bool>,
    /// null where Azure does not report it (Flexible sets).
    pub protected: Option<bool>,
    /// An AWS instance's Auto Scaling lifecycle state ("InService", "Pending:Wait",
    /// "Warmed:Stopped"); null on Azure.
    pub lifecycle_state: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetRow {
    pub id: String,
    pub name: String,
    pub roles: crate::model::SharedList,
    pub health: String,
    pub disabled: bool,
    pub matched_instance_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    pub name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    pub offline: bool,
    pub drain: bool,
    pub task_cap: u32,
    pub running_tasks: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerRow {
    pub version: String,
}

/// The report for a complete snapshot, or every read that failed.
pub fn report(snapshot: &Snapshot) -> Result<Report, Vec<ReadFailure>> {
    let json = JsonReport::of(snapshot)?;
    Ok(Report {
        scale_sets: json.scale_set_rows().collect(),
        instances: json.instance_rows().collect(),
        targets: json.target_rows().collect(),
        nodes: json.node_rows().collect(),
        server: json.server_row(),
    })
}

/// `report` of a complete snapshot as it serializes: the same JSON as the `Report`, each row made
/// as it is written, out of the snapshot it borrows.
pub struct JsonReport<'a> {
    snapshot: &'a Snapshot,
    listings: Vec<(MatchBy, &'a ScaleSetListing)>,
    targets: &'a [Target],
    pairing: Pairing<'a>,
}

impl<'a> JsonReport<'a> {
    /// None of it when a read failed: every failure instead.
    pub fn of(snapshot: &'a Snapshot) -> Result<Self, Vec<ReadFailure>> {
        let failures: Vec<ReadFailure> = snapshot.failures().into_iter().cloned().collect();
        if !failures.is_empty() {
            return Err(failures);
        }
        let listings: Vec<(MatchBy, &ScaleSetListing)> = snapshot
            .scale_sets
            .iter()
            .filter_map(|s| s.listing.as_ref().ok().map(|l| (s.match_by, l)))
            .collect();
        let targets = snapshot.targets.as_deref().map_err(|f| vec![f.clone()])?;
        let pairing = pair_targets(listings.iter().map(|(by, l)| (*by, l.instances.as_slice())), targets);
        Ok(Self { snapshot, listings, targets, pairing })
    }

    fn scale_set_rows(&self) -> impl Iterator<Item = ScaleSetRow> + use<'_, 'a> {
        self.listings.iter().map(|(_, l)| ScaleSetRow {
            subscription_id: l.state.key.subscription_id.clone(),
            resource_group: l.state.key.resource_group.clone(),
            name: l.state.key.name.clone(),
            // An Auto Scaling group has no orchestration mode: said as what it is.
            orchestration_mode: match &l.state.aws {
                Some(_) => "AutoScalingGroup".into(),
                None => l.state.orchestration_mode.to_string(),
            },
            capacity: l.state.capacity,
            provisioning_state: l.state.provisioning_state.to_string(),
            overprovision: l.state.overprovision,
            etag: l.state.etag.clone(),
            autoscale: self.autoscale(&l.state.key),
            aws: l.state.aws.as_deref().cloned(),
        })
    }

    fn autoscale(&self, key: &ScaleSetKey) -> Option<crate::autoscale::AutoscaleSummary> {
        let others = self.snapshot.scale_sets.iter().find(|s| &s.key == key).map(|s| &s.others);
        others.and_then(|o| o.autoscale(self.snapshot.taken_at).summary())
    }

    fn instance_rows(&self) -> impl Iterator<Item = InstanceRow> + '_ {
        self.listings.iter().flat_map(|(_, l)| l.instances.iter()).map(|i: &Instance| InstanceRow {
            scale_set: i.scale_set.to_string(),
            instance_id: i.instance_id.clone(),
            name: i.name.clone(),
            computer_name: i.computer_name.clone(),
            provisioning_state: i.provisioning_state.to_string(),
            power_state: i.power_state.to_string(),
            latest_model: i.latest_model_applied,
            protected: i.protected_from_scale_in,
            lifecycle_state: i.lifecycle_state().map(ToString::to_string),
        })
    }

    fn target_rows(&self) -> impl Iterator<Item = TargetRow> + use<'_, 'a> {
        self.targets.iter().map(|t| TargetRow {
            id: t.id.clone(),
            name: t.name.clone(),
            roles: t.roles.clone(),
            health: t.health.to_string(),
            disabled: t.disabled,
            matched_instance_id: self.pairing.instance_of(&t.id).map(|i| i.instance_id.clone()),
        })
    }

    fn node_rows(&self) -> impl Iterator<Item = NodeRow> + '_ {
        self.snapshot.nodes.iter().flatten().map(|n| NodeRow {
            name: n.name.clone(),
            last_seen: n.last_seen,
            offline: n.is_offline,
            drain: n.drain,
            task_cap: n.max_concurrent_tasks,
            running_tasks: n.running_tasks,
        })
    }

    fn server_row(&self) -> ServerRow {
        ServerRow { version: self.snapshot.server_version.clone().unwrap_or_default() }
    }
}

/// A sequence serialized from the rows `rows` makes, one at a time.
struct Rows<F>(F);

impl<F, I> Serialize for Rows<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

impl Serialize for JsonReport<'_> {
    /// Field for field what `Report`'s derived `Serialize` writes.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut report = serializer.serialize_struct("Report", 5)?;
        report.serialize_field("scale_sets", &Rows(|| self.scale_set_rows()))?;
        report.serialize_field("instances", &Rows(|| self.instance_rows()))?;
        report.serialize_field("targets", &Rows(|| self.target_rows()))?;
        report.serialize_field("nodes", &Rows(|| self.node_rows()))?;
        report.serialize_field("server", &self.server_row())?;
        report.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::testkit::*;

    /// The streamed JSON is the report's JSON, byte for byte, empty lists included.
    #[test]
    fn the_streamed_json_is_the_reports_json() {
        let full = SnapshotBuilder::new(at(0))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .set("api", 0, vec![])
            .targets(vec![target_on("Machines-1", "web", 1), target("Machines-9", "gone-9")])
            .build();
        let empty = SnapshotBuilder::new(at(0)).build();
        for snapshot in [full, empty] {
            let whole = serde_json::to_string_pretty(&report(&snapshot).unwrap()).unwrap();
            let streamed = serde_json::to_string_pretty(&JsonReport::of(&snapshot).ok().unwrap()).unwrap();
            assert_eq!(streamed, whole);
        }
        let failed = SnapshotBuilder::new(at(0)).failed_set("web").build();
        assert_eq!(JsonReport::of(&failed).err(), report(&failed).err());
    }
}
