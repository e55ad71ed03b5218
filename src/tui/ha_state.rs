//! What the console keeps about the HA nodes' scale set (`nodes.scale_set`): the pairing of nodes
//! with VMs as of the latest refresh, for the nodes pane's VM column, the instances pane's node
//! hosts and the drain-first scale dialog.

use crate::config::Profile;
use crate::ha::{self, Pairing};
use crate::model::{Instance, Node, ScaleSetKey};

#[derive(Debug, Clone, Default)]
pub struct HaState {
    /// The nodes' scale set; None when the profile names none (or names it wrongly).
    pub key: Option<ScaleSetKey>,
    /// The latest pairing; None until both the nodes and the set were read.
    pub pairing: Option<Pairing>,
    /// A drain-first scale-in the journal holds unfinished (a killed console or CLI): `S` on the
    /// nodes' set resumes it instead of planning another.
    pub pending_scale_in: Option<PendingScaleInView>,
}

/// An unfinished drain-first scale-in, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingScaleInView {
    pub set: String,
    /// (node id, "OCTO000003 (VM 3)") of each victim.
    pub victims: Vec<(String, String)>,
    /// Where it stopped: "draining", "removing VMs", "deleting node records".
    pub phase: String,
}

impl HaState {
    pub fn new(profile: &Profile) -> Self {
        Self { key: profile.nodes_scale_set().ok().flatten(), pairing: None, pending_scale_in: None }
    }

    pub fn is_nodes_set(&self, key: &ScaleSetKey) -> bool {
        self.key.as_ref() == Some(key)
    }

    /// Pair again over the latest node rows and the nodes' set's listing.
    pub fn refresh(&mut self, nodes: &[Node], listing: Option<&[Instance]>) {
        if self.key.is_none() {
            return;
        }
        if let Some(instances) = listing {
            self.pairing = Some(ha::pair(nodes, instances));
        }
    }

    /// The nodes pane's VM cell: "vmss-octo/3", "unpaired", or "-" without a nodes' set.
    pub fn vm_cell(&self, node_id: &str) -> (String, bool) {
        match &self.pairing {
            None => ("-".into(), false),
            Some(pairing) => match pairing.shown_vm(node_id) {
                Some(vm) => (vm.label(), false),
                None => ("unpaired".into(), true),
            },
        }
    }

    /// Why a node has no VM, for its details.
    pub fn unpaired_reason(&self, node_id: &str) -> Option<&str> {
        self.pairing.as_ref()?.unpaired_nodes.get(node_id).map(String::as_str)
    }

    /// The node a VM of the nodes' set hosts (its id), or why none is known.
    pub fn host_of(&self, instance: &Instance) -> Option<Result<&str, &str>> {
        if !self.is_nodes_set(&instance.scale_set) {
            return None;
        }
        let pairing = self.pairing.as_ref()?;
        match pairing.node_on(&instance.instance_id) {
            Some(node) => Some(Ok(node)),
            None => pairing.unpaired_vms.get(&instance.instance_id).map(|why| Err(why.as_str())),
        }
    }
}
