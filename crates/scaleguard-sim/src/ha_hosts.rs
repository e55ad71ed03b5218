//! Octopus HA nodes hosted on a scale set's VMs or an Auto Scaling group's instances (scenario
//! `hosts_nodes = true`), as seed 004 describes the cluster: each machine runs one Octopus Server
//! node registered under the machine's name (upper case, as Windows reports it). A new machine
//! registers a new node with task cap 5 once it is running (the registration delay); a machine
//! shutting down stops its node heartbeating, and the tasks it was running hang until cancelled
//! or reaped, like the real thing. Such a set or group registers no deployment target.
//!
//! - Azure: the node is the VM's computer name; it stops once its VM is being deleted.
//! - AWS: the node is the host part of the instance's PrivateDnsName (`IP-10-0-0-4` for
//!   `ip-10-0-0-4.eu-west-1.compute.internal`, which EC2-launched Windows takes as its name); it
//!   registers once the instance is InService and keeps running through Terminating:Wait (the
//!   lifecycle hook holds the machine up), stopping at Terminating:Proceed.

use super::aws::Lifecycle;
use super::world::{Node, VmState, World};

/// Does an instance in this lifecycle state run its node? The machine is up from InService until
/// Auto Scaling shuts it down after the terminating hooks.
fn aws_runs_node(lifecycle: Lifecycle) -> bool {
    matches!(lifecycle, Lifecycle::InService | Lifecycle::Terminating | Lifecycle::TerminatingWait)
}

impl World {
    /// Does the scale set or Auto Scaling group called `name` host HA nodes rather than tentacles?
    pub fn is_node_host(&self, name: &str) -> bool {
        self.node_host_sets.iter().any(|set| set.eq_ignore_ascii_case(name))
    }

    /// Does the set at `set_index` host HA nodes rather than tentacles?
    pub fn hosts_nodes(&self, set_index: usize) -> bool {
        self.is_node_host(&self.scale_sets[set_index].name)
    }

    /// The node name a VM of a hosting set registers under.
    fn host_node_name(&self, set_index: usize, instance_id: u64) -> Option<String> {
        let set = &self.scale_sets[set_index];
        let vm = set.vm(instance_id)?;
        Some(set.vm_computer_name(vm).to_uppercase())
    }

    /// A VM of a hosting set finished provisioning: its node joins the cluster.
    pub(super) fn register_node_host(&mut self, set_index: usize, instance_id: u64) {
        if let Some(name) = self.host_node_name(set_index, instance_id) {
            self.add_host_node(name);
        }
    }

    /// An instance of a hosting group is due to register: its node joins the cluster once the
    /// instance is InService (a launching hook still holds it back). Returns whether it joined.
    pub(super) fn aws_register_node_host(&mut self, g: usize, index: usize) -> bool {
        let instance = &self.aws.groups[g].instances[index];
        if instance.lifecycle != Lifecycle::InService {
            return false;
        }
        let name = instance.computer_name(&self.aws.region);
        self.add_host_node(name);
        true
    }

    /// A node joins the cluster (unless the scenario already listed it), with Octopus's default
    /// task cap of 5.
    fn add_host_node(&mut self, name: String) {
        if self.nodes.iter().any(|n| n.name.eq_ignore_ascii_case(&name)) {
            return;
        }
        self.nodes.push(Node {
            id: format!("OctopusServerNodes-{name}"),
            name,
            version: self.octopus.version.clone(),
            max_concurrent_tasks: 5,
            is_in_maintenance_mode: false,
            last_seen: self.now,
            alive: true,
        });
    }

    /// A node whose machine is shutting down or gone stops heartbeating. Nodes are matched to a
    /// hosting set by its computer-name prefix, and to the hosting groups by the `ip-` their
    /// names start with, so a node the scenario runs elsewhere is left alone.
    pub(super) fn step_ha_hosts(&mut self) {
        for set_index in 0..self.scale_sets.len() {
            if !self.hosts_nodes(set_index) {
                continue;
            }
            let set = &self.scale_sets[set_index];
            let prefix = set.computer_name_prefix.to_ascii_lowercase();
            let running: Vec<String> = set
                .vms
                .iter()
                .filter(|vm| vm.state != VmState::Deleting)
                .map(|vm| set.vm_computer_name(vm).to_ascii_lowercase())
                .collect();
            self.stop_unhosted_nodes(&prefix, &running);
        }
        let hosting = self.aws.groups.iter().filter(|group| self.is_node_host(&group.name));
        let mut running = Vec::new();
        let mut any = false;
        for group in hosting {
            any = true;
            let up = group.instances.iter().filter(|i| aws_runs_node(i.lifecycle));
            running.extend(up.map(|i| i.computer_name(&self.aws.region).to_ascii_lowercase()));
        }
        // Private IPs are unique across the simulated groups: one list serves them all.
        if any {
            self.stop_unhosted_nodes("ip-", &running);
        }
    }

    /// Stop every live node named `{prefix}…` whose (lower-case) name is not `running`.
    fn stop_unhosted_nodes(&mut self, prefix: &str, running: &[String]) {
        for node in self.nodes.iter_mut().filter(|n| n.alive) {
            let name = node.name.to_ascii_lowercase();
            if name.starts_with(prefix) && !running.contains(&name) {
                node.alive = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario;
    use crate::world::{TaskState, VmState};

    fn world() -> crate::world::World {
        scenario::load("ha-scale").unwrap().build(7)
    }

    #[test]
    fn every_vm_of_the_hosting_set_runs_one_node_named_after_it_and_registers_no_target() {
        let world = world();
        let index = world.set_index("vmss-octo").unwrap();
        let set = &world.scale_sets[index];
        for vm in &set.vms {
            let name = set.vm_computer_name(vm).to_uppercase();
            assert!(world.nodes.iter().any(|n| n.name == name), "{name}: {:?}", world.nodes);
        }
        assert!(world.machines.iter().all(|m| m.vm.as_ref().is_none_or(|(s, _)| s != "vmss-octo")));
    }

    #[test]
    fn a_deleted_vm_takes_its_node_down_and_a_new_vm_brings_a_new_node_with_cap_5() {
        let mut world = world();
        let index = world.set_index("vmss-octo").unwrap();
        world.advance_to(5.0);
        let busy = world.tasks.iter().filter(|t| t.state == TaskState::Executing).count();
        assert!(busy >= 2, "the scenario starts busy nodes");
        world.delete_instances(index, &[3]).unwrap();
        world.advance_to(6.0);
        let node = world.nodes.iter().find(|n| n.name == "OCTO000003").unwrap();
        assert!(!node.alive, "shut down with its VM");
        let before = world.nodes.len();
        world.set_capacity(index, 4);
        world.advance_to(200.0);
        assert!(world.scale_sets[index].vms.iter().all(|vm| vm.state == VmState::Succeeded));
        assert_eq!(world.nodes.len(), before + 1);
        let new = world.nodes.last().unwrap();
        assert_eq!((new.max_concurrent_tasks, new.alive), (5, true), "{new:?}");
    }
}
