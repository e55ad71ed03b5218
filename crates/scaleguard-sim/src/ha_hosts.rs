//! Octopus HA nodes hosted on a scale set's VMs (scenario `hosts_nodes = true`), as seed 004
//! describes the cluster: each VM runs one Octopus Server node registered under the machine's
//! name (upper case, as Windows reports it: the VM's computer name, differing only in case). A
//! new VM registers a new node with task cap 5 once it has provisioned (the registration delay);
//! a VM being deleted is shut down, so its node stops heartbeating and the tasks it was running
//! hang until cancelled or reaped, like the real thing. Such a set registers no deployment target.

use super::world::{Node, VmState, World};

impl World {
    /// Does the set at `set_index` host HA nodes rather than tentacles?
    pub fn hosts_nodes(&self, set_index: usize) -> bool {
        let name = &self.scale_sets[set_index].name;
        self.node_host_sets.iter().any(|set| set.eq_ignore_ascii_case(name))
    }

    /// The node name a VM of a hosting set registers under.
    fn host_node_name(&self, set_index: usize, instance_id: u64) -> Option<String> {
        let set = &self.scale_sets[set_index];
        let vm = set.vm(instance_id)?;
        Some(set.vm_computer_name(vm).to_uppercase())
    }

    /// A VM of a hosting set finished provisioning: its node joins the cluster (unless the
    /// scenario already listed it), with Octopus's default task cap of 5.
    pub(super) fn register_node_host(&mut self, set_index: usize, instance_id: u64) {
        let Some(name) = self.host_node_name(set_index, instance_id) else { return };
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

    /// A node whose VM is being deleted or gone stops heartbeating. Nodes are matched to a hosting
    /// set by its computer-name prefix, so a node the scenario runs elsewhere is left alone.
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
            for node in self.nodes.iter_mut().filter(|n| n.alive) {
                let name = node.name.to_ascii_lowercase();
                if name.starts_with(&prefix) && !running.contains(&name) {
                    node.alive = false;
                }
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
