//! Which VM of the nodes' scale set hosts which Octopus node.
//!
//! A node registers under its machine's name, so its name is the VM's computer name: compared
//! case-insensitively, any DNS suffix dropped (`OCTO000001.corp.local` = `octo000001`), exactly
//! (never a substring: `octo1` must not claim `octo10`). A VM answers to its `osProfile` computer
//! name and, when the guest renamed itself, to the instance view's too. Anything that is not one
//! node to one VM is left unpaired with the reason, for the operator to see: a scale-in never
//! removes a VM whose node it is not sure of.

use crate::matching::{instance_match_names, normalize_name};
use crate::model::{Instance, Node, ProvisioningState};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The VM a node runs on, as `node list --format json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeVm {
    /// The scale set's name.
    pub scale_set: String,
    pub instance_id: String,
    pub vm_id: Option<String>,
    pub computer_name: Option<String>,
    pub provisioning_state: String,
    pub protected_from_scale_in: Option<bool>,
}

impl NodeVm {
    fn of(instance: &Instance) -> Self {
        Self {
            scale_set: instance.scale_set.name.clone(),
            instance_id: instance.instance_id.clone(),
            vm_id: instance.vm_id.clone(),
            computer_name: instance.computer_name.clone(),
            provisioning_state: instance.provisioning_state.to_string(),
            protected_from_scale_in: instance.protected_from_scale_in,
        }
    }

    /// "vmss-octo/3".
    pub fn label(&self) -> String {
        format!("{}/{}", self.scale_set, self.instance_id)
    }
}

/// Nodes and VMs paired one to one, and why the rest are not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairing {
    /// Node id → the VM hosting it.
    pub hosts: BTreeMap<String, Instance>,
    /// Node id → why it has no VM.
    pub unpaired_nodes: BTreeMap<String, String>,
    /// Instance id → why it hosts no known node.
    pub unpaired_vms: BTreeMap<String, String>,
}

impl Pairing {
    pub fn vm_of(&self, node_id: &str) -> Option<&Instance> {
        self.hosts.get(node_id)
    }

    /// The node a VM hosts, by instance id.
    pub fn node_on(&self, instance_id: &str) -> Option<&str> {
        self.hosts.iter().find(|(_, vm)| vm.instance_id == instance_id).map(|(node, _)| node.as_str())
    }

    /// The VM as `node list` shows it; None when unpaired.
    pub fn shown_vm(&self, node_id: &str) -> Option<NodeVm> {
        self.vm_of(node_id).map(NodeVm::of)
    }
}

/// Pair `nodes` with the VMs of the nodes' scale set (`instances`, one listing).
pub fn pair(nodes: &[Node], instances: &[Instance]) -> Pairing {
    let mut by_name: HashMap<String, Vec<&Instance>> = HashMap::new();
    let mut pairing = Pairing::default();
    for instance in instances {
        let names = instance_match_names(instance, crate::config::MatchBy::ComputerName);
        if names.is_empty() {
            let why = if instance.provisioning_state == ProvisioningState::Creating {
                "still being created: its computer name is not reported yet"
            } else {
                "its computer name is not reported, so no node can be paired with it"
            };
            pairing.unpaired_vms.insert(instance.instance_id.clone(), why.to_string());
        }
        for name in names {
            let vms = by_name.entry(name).or_default();
            if !vms.iter().any(|vm| vm.instance_id == instance.instance_id) {
                vms.push(instance);
            }
        }
    }
    let mut nodes_by_name: HashMap<String, Vec<&Node>> = HashMap::new();
    for node in nodes {
        nodes_by_name.entry(normalize_name(&node.name)).or_default().push(node);
    }
    for node in nodes {
        let name = normalize_name(&node.name);
        let vms = by_name.get(&name).map(Vec::as_slice).unwrap_or(&[]);
        let twins = &nodes_by_name[&name];
        let why = match (vms, twins.len()) {
            ([], _) => Some(format!("no VM of the scale set has the computer name {}", node.name.trim())),
            ([vm], 1) => {
                pairing.hosts.insert(node.id.clone(), (*vm).clone());
                None
            }
            ([_], _) => {
                let names: Vec<&str> = twins.iter().map(|n| n.name.as_str()).collect();
                Some(format!("nodes {} answer to one VM's name: not guessed", names.join(" and ")))
            }
            (many, _) => {
                let ids: Vec<&str> = many.iter().map(|vm| vm.instance_id.as_str()).collect();
                Some(format!("VMs {} all answer to {}: not guessed", ids.join(", "), node.name.trim()))
            }
        };
        if let Some(why) = why {
            pairing.unpaired_nodes.insert(node.id.clone(), why);
        }
    }
    // A VM renamed by its guest answers to two names: two nodes on one VM is not one to one.
    let mut on_vm: HashMap<&str, Vec<String>> = HashMap::new();
    for (node_id, vm) in &pairing.hosts {
        on_vm.entry(vm.instance_id.as_str()).or_default().push(node_id.clone());
    }
    let shared: Vec<(String, Vec<String>)> =
        on_vm.into_iter().filter(|(_, ids)| ids.len() > 1).map(|(vm, ids)| (vm.to_string(), ids)).collect();
    for (vm, ids) in shared {
        let names: Vec<&str> =
            ids.iter().filter_map(|id| nodes.iter().find(|n| &n.id == id)).map(|n| n.name.as_str()).collect();
        for id in &ids {
            pairing.hosts.remove(id);
            pairing
                .unpaired_nodes
                .insert(id.clone(), format!("VM {vm} answers to {}: not guessed", names.join(" and ")));
        }
        pairing.unpaired_vms.insert(vm, format!("it answers to nodes {}: not guessed", names.join(" and ")));
    }
    for instance in instances {
        let paired = pairing.hosts.values().any(|vm| vm.instance_id == instance.instance_id);
        if paired || pairing.unpaired_vms.contains_key(&instance.instance_id) {
            continue;
        }
        let names = instance_match_names(instance, crate::config::MatchBy::ComputerName);
        let claimed: Vec<&Node> =
            names.iter().filter_map(|n| nodes_by_name.get(n)).flatten().copied().collect();
        let why = if claimed.is_empty() {
            let shown = instance.computer_name.as_deref().unwrap_or(&instance.name);
            format!("no HA node is named {shown}")
        } else {
            let names: Vec<&str> = claimed.iter().map(|n| n.name.as_str()).collect();
            format!("its name is ambiguous ({}): not guessed", names.join(", "))
        };
        pairing.unpaired_vms.insert(instance.instance_id.clone(), why);
    }
    pairing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::tests_props::{instance, node};

    #[test]
    fn a_node_is_paired_with_the_vm_of_its_name_ignoring_case_and_dns_suffix() {
        let nodes = [node("N1", "OCTO000001"), node("N2", "octo000002.corp.local")];
        let vms = [
            instance("1", Some("octo000001")),
            instance("2", Some("OCTO000002")),
            instance("3", Some("octo000003")),
        ];
        let pairing = pair(&nodes, &vms);
        assert_eq!(pairing.vm_of("N1").map(|vm| vm.instance_id.as_str()), Some("1"));
        assert_eq!(pairing.vm_of("N2").map(|vm| vm.instance_id.as_str()), Some("2"));
        assert_eq!(pairing.node_on("2"), Some("N2"));
        assert!(pairing.unpaired_nodes.is_empty());
        assert_eq!(pairing.unpaired_vms.get("3").map(String::as_str), Some("no HA node is named octo000003"));
    }

    #[test]
    fn a_name_that_is_only_a_prefix_pairs_nothing() {
        let pairing = pair(&[node("N1", "octo1")], &[instance("10", Some("octo10"))]);
        assert!(pairing.hosts.is_empty());
        assert!(pairing.unpaired_nodes["N1"].contains("no VM of the scale set has the computer name octo1"));
    }

    #[test]
    fn two_vms_answering_one_node_name_leave_it_unpaired_with_the_reason() {
        let pairing =
            pair(&[node("N1", "OCTO1")], &[instance("1", Some("octo1")), instance("7", Some("OCTO1"))]);
        assert!(pairing.hosts.is_empty(), "never guessed: {pairing:?}");
        assert_eq!(pairing.unpaired_nodes["N1"], "VMs 1, 7 all answer to OCTO1: not guessed");
        assert!(pairing.unpaired_vms["1"].contains("ambiguous"), "{:?}", pairing.unpaired_vms);
    }

    #[test]
    fn two_nodes_of_one_name_are_both_unpaired() {
        let pairing = pair(&[node("N1", "OCTO1"), node("N2", "octo1")], &[instance("1", Some("octo1"))]);
        assert!(pairing.hosts.is_empty());
        assert!(pairing.unpaired_nodes["N2"].contains("nodes OCTO1 and octo1 answer to one VM's name"));
        assert!(pairing.unpaired_vms.contains_key("1"));
    }

    #[test]
    fn a_vm_renamed_by_its_guest_never_hosts_two_nodes() {
        let mut renamed = instance("1", Some("octo1"));
        renamed.guest_computer_name = Some("octo-new".into());
        let pairing = pair(&[node("N1", "octo1"), node("N2", "OCTO-NEW")], &[renamed.clone()]);
        assert!(pairing.hosts.is_empty(), "{pairing:?}");
        assert!(pairing.unpaired_nodes["N1"].contains("answers to"), "{:?}", pairing.unpaired_nodes);
        let pairing = pair(&[node("N2", "OCTO-NEW")], &[renamed]);
        assert_eq!(
            pairing.vm_of("N2").map(|vm| vm.instance_id.as_str()),
            Some("1"),
            "the guest's name pairs"
        );
    }

    #[test]
    fn a_vm_without_a_computer_name_is_shown_unpaired() {
        let pairing = pair(&[node("N1", "octo1")], &[instance("1", None)]);
        assert!(pairing.unpaired_vms["1"].contains("computer name is not reported"));
        assert!(pairing.unpaired_nodes.contains_key("N1"));
    }
}
