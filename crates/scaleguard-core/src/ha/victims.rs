//! Which HA nodes a scale-in of the nodes' scale set by K removes.
//!
//! Cheapest first: nodes that are offline, or drained with nothing running, then idle ones, then
//! draining ones still busy, then busy ones; within each, the order the provider's scale-in
//! policy would remove their VMs in (`scale_in::expected_victims`: Uniform highest ids first,
//! Flexible by its policy). A candidate whose removal would leave the cluster without an online,
//! non-draining node or without a task node is kept (the `drain` refusals, over all the chosen
//! nodes together). Only VMs paired one to one with a node are candidates; a VM protected from
//! scale-in or already being deleted is never chosen.

use super::pairing::Pairing;
use crate::config::NodesConfig;
use crate::drain::{check_removal, is_online};
use crate::model::{Instance, Node, ProvisioningState, ScaleSetState};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;

/// One node a scale-in removes, with the VM that hosts it (journaled with the job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Victim {
    pub node_id: String,
    pub node_name: String,
    pub instance_id: String,
    /// The VM's `vmId` when reported: an instance id reused by a new VM is never taken for it.
    #[serde(default)]
    pub vm_id: Option<String>,
    #[serde(default)]
    pub computer_name: Option<String>,
    /// Why it was chosen: "idle", "already drained, idle", "2 running task(s)".
    pub why: String,
}

impl Victim {
    /// "OCTO000003 (VM 3)".
    pub fn label(&self) -> String {
        format!("{} (VM {})", self.node_name, self.instance_id)
    }
}

/// The choice for a scale-in by `count`: the victims in the order they were chosen, the notes on
/// candidates passed over, and every reason it cannot go ahead (empty = allowed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VictimChoice {
    pub count: u32,
    pub victims: Vec<Victim>,
    /// "kept OCTO1: it is the last online, non-draining node ...", "VM 5 hosts no known node".
    pub passed_over: Vec<String>,
    pub refusals: Vec<String>,
}

impl VictimChoice {
    pub fn is_allowed(&self) -> bool {
        self.refusals.is_empty() && self.victims.len() == self.count as usize && self.count > 0
    }

    pub fn instance_ids(&self) -> Vec<String> {
        self.victims.iter().map(|v| v.instance_id.clone()).collect()
    }
}

/// Cheapest to remove first: 0 offline or drained and idle, 1 idle, 2 draining and busy, 3 busy.
fn rank(node: &Node, now: OffsetDateTime, config: &NodesConfig) -> (u8, String) {
    let running = node.running_tasks;
    match (is_online(node, now, config), node.drain, running) {
        (false, _, _) => (0, "offline: nothing runs there".into()),
        (true, true, 0) => (0, "already drained, idle".into()),
        (true, false, 0) => (1, "idle".into()),
        (true, true, n) => (2, format!("draining, {n} running task(s) to wait for")),
        (true, false, n) => (3, format!("{n} running task(s) to wait for")),
    }
}

/// Choose `count` victims among the nodes hosted on `instances` (the nodes' set as listed with
/// `state`). Pure and deterministic.
pub fn choose(
    count: u32,
    nodes: &[Node],
    pairing: &Pairing,
    state: &ScaleSetState,
    instances: &[Instance],
    now: OffsetDateTime,
    config: &NodesConfig,
) -> VictimChoice {
    let mut choice = VictimChoice { count, ..VictimChoice::default() };
    if count == 0 {
        choice.refusals.push("a scale-in removes at least one node".into());
        return choice;
    }
    for (instance_id, why) in &pairing.unpaired_vms {
        choice.passed_over.push(format!("VM {instance_id} is never chosen: {why}"));
    }
    let mut candidates: Vec<(&Node, &Instance)> = Vec::new();
    for node in nodes {
        let Some(vm) = pairing.vm_of(&node.id) else { continue };
        // The VM as listed now (the pairing may come from the same listing; be sure).
        let Some(listed) = instances.iter().find(|i| i.instance_id == vm.instance_id) else { continue };
        if listed.provisioning_state == ProvisioningState::Deleting {
            choice
                .passed_over
                .push(format!("{}: its VM {} is already being deleted", node.name, listed.instance_id));
        } else if listed.is_protected() {
            choice
                .passed_over
                .push(format!("{}: its VM {} is protected from scale-in", node.name, listed.instance_id));
        } else {
            candidates.push((node, listed));
        }
    }
    // The provider's order over the candidates' VMs: where it would remove each.
    let candidate_vms: Vec<Instance> = candidates.iter().map(|(_, vm)| (*vm).clone()).collect();
    let policy: HashMap<String, usize> = crate::scale_in::expected_victims(state, &candidate_vms, 0)
        .into_iter()
        .enumerate()
        .map(|(index, vm)| (vm.instance_id, index))
        .collect();
    let mut ranked: Vec<(u8, usize, &Node, &Instance, String)> = candidates
        .iter()
        .map(|(node, vm)| {
            let (class, why) = rank(node, now, config);
            let order = policy.get(&vm.instance_id).copied().unwrap_or(usize::MAX);
            (class, order, *node, *vm, why)
        })
        .collect();
    ranked.sort_by(|a, b| (a.0, a.1, &a.3.instance_id).cmp(&(b.0, b.1, &b.3.instance_id)));
    let mut chosen: Vec<&str> = Vec::new();
    for (_, _, node, vm, why) in ranked {
        if choice.victims.len() == count as usize {
            break;
        }
        let mut tentative = chosen.clone();
        tentative.push(&node.id);
        if let Err(refusals) = check_removal(nodes, &tentative, now, config) {
            let said: Vec<String> = refusals.iter().map(ToString::to_string).collect();
            choice.passed_over.push(format!("kept {}: {}", node.name, said.join("; ")));
            continue;
        }
        chosen = tentative;
        choice.victims.push(Victim {
            node_id: node.id.clone(),
            node_name: node.name.clone(),
            instance_id: vm.instance_id.clone(),
            vm_id: vm.vm_id.clone(),
            computer_name: vm.computer_name.clone(),
            why,
        });
    }
    if choice.victims.len() < count as usize {
        let unpaired = pairing.unpaired_nodes.len();
        let mut sentence = format!(
            "only {} of the {count} node(s) asked for can be removed drain-first",
            choice.victims.len()
        );
        if unpaired > 0 {
            sentence.push_str(&format!(" ({unpaired} node(s) could not be paired with a VM)"));
        }
        choice.refusals.push(sentence);
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::pair;
    use crate::ha::tests_props::{busy, config, instance, node, state, NOW};

    fn names(choice: &VictimChoice) -> Vec<&str> {
        choice.victims.iter().map(|v| v.node_name.as_str()).collect()
    }

    #[test]
    fn idle_and_drained_nodes_go_first_then_the_policy_order() {
        let nodes = [
            node("N0", "octo0"),
            busy(node("N1", "octo1"), 2),
            node("N2", "octo2"),
            busy(node("N3", "octo3"), 1),
        ];
        let vms: Vec<Instance> =
            (0..4).map(|i| instance(&i.to_string(), Some(&format!("octo{i}")))).collect();
        let pairing = pair(&nodes, &vms);
        let choice = choose(3, &nodes, &pairing, &state(4), &vms, NOW, &config());
        assert!(choice.is_allowed(), "{choice:?}");
        // Idle first, highest id first among them (Uniform's order); then the busy ones the same way.
        assert_eq!(names(&choice), vec!["octo2", "octo0", "octo3"]);
        assert_eq!(choice.victims[0].why, "idle");
        assert!(choice.victims[2].why.contains("1 running task"));
    }

    #[test]
    fn the_last_task_node_is_kept_and_too_few_candidates_refuse() {
        let mut ui = node("N0", "octo0");
        ui.max_concurrent_tasks = 0;
        let nodes = [ui, node("N1", "octo1")];
        let vms: Vec<Instance> =
            (0..2).map(|i| instance(&i.to_string(), Some(&format!("octo{i}")))).collect();
        let pairing = pair(&nodes, &vms);
        let choice = choose(2, &nodes, &pairing, &state(2), &vms, NOW, &config());
        assert!(!choice.is_allowed());
        assert_eq!(names(&choice), vec!["octo0"], "the UI-only node may go, the task node may not");
        assert!(choice.passed_over.iter().any(|p| p.starts_with("kept octo1")), "{:?}", choice.passed_over);
        assert!(choice.refusals[0].contains("only 1 of the 2"), "{:?}", choice.refusals);
    }

    #[test]
    fn unpaired_protected_and_deleting_vms_are_never_chosen() {
        let nodes = [node("N0", "octo0"), node("N1", "octo1"), node("N2", "octo2"), node("N9", "octo9")];
        let mut vms: Vec<Instance> =
            (0..3).map(|i| instance(&i.to_string(), Some(&format!("octo{i}")))).collect();
        vms[1].protected_from_scale_in = Some(true);
        vms[2].provisioning_state = ProvisioningState::Deleting;
        vms.push(instance("5", Some("stranger")));
        let pairing = pair(&nodes, &vms);
        let choice = choose(2, &nodes, &pairing, &state(4), &vms, NOW, &config());
        assert_eq!(names(&choice), vec!["octo0"]);
        assert!(!choice.is_allowed());
        let notes = choice.passed_over.join(" | ");
        assert!(notes.contains("VM 5 is never chosen"), "{notes}");
        assert!(
            notes.contains("protected from scale-in") && notes.contains("already being deleted"),
            "{notes}"
        );
        assert!(choice.refusals[0].contains("1 node(s) could not be paired"), "{:?}", choice.refusals);
    }
}
