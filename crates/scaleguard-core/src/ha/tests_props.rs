//! Shared builders for the `ha` tests, and the properties that hold for any cluster.

use super::scale_in::{self, ScaleInEffect, ScaleInJob, ScaleInObservation, ScaleInPhase};
use super::{choose, pair};
use crate::config::NodesConfig;
use crate::drain::{check_removal, DrainEffect};
use crate::model::{
    Instance, Node, OrchestrationMode, PowerState, ProvisioningState, ScaleSetKey, ScaleSetState, Task,
    TaskState,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

pub(crate) fn config() -> NodesConfig {
    NodesConfig { offline_after_secs: 300, drain_deadline_secs: 1800, ..NodesConfig::default() }
}

pub(crate) fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "sub".into(),
        resource_group: "rg-octo".into(),
        name: "vmss-octo".into(),
    }
}

pub(crate) fn node(id: &str, name: &str) -> Node {
    Node {
        id: id.into(),
        name: name.into(),
        last_seen: Some(NOW - Duration::seconds(10)),
        is_offline: false,
        drain: false,
        max_concurrent_tasks: 5,
        running_tasks: 0,
        version: Some("2024.3.12741".into()),
    }
}

pub(crate) fn busy(mut node: Node, running: u32) -> Node {
    node.running_tasks = running;
    node
}

pub(crate) fn instance(id: &str, computer_name: Option<&str>) -> Instance {
    Instance {
        scale_set: key().into(),
        instance_id: id.into(),
        vm_id: Some(format!("vm-{id}")),
        name: format!("vmss-octo_{id}"),
        computer_name: computer_name.map(str::to_string),
        guest_computer_name: None,
        provisioning_state: ProvisioningState::Succeeded,
        power_state: PowerState::Running,
        latest_model_applied: Some(true),
        protected_from_scale_in: Some(false),
        placement: Default::default(),
        aws: None,
    }
}

pub(crate) fn state(capacity: u32) -> ScaleSetState {
    ScaleSetState {
        key: key(),
        location: None,
        capacity,
        provisioning_state: ProvisioningState::Succeeded,
        overprovision: false,
        orchestration_mode: OrchestrationMode::Uniform,
        scale_in_rules: vec![],
        etag: Some("\"1\"".into()),
        last_changed: None,
        layout: Default::default(),
        aws: None,
    }
}

pub(crate) fn task(id: &str, state: TaskState) -> Task {
    Task {
        id: id.into(),
        name: "Deploy".into(),
        description: String::new(),
        state,
        server_node: None,
        deployment_id: None,
        queue_time: None,
        start_time: None,
        completed_time: None,
    }
}

/// A small world the job's effects act on: nodes heartbeat while their VM runs, tasks finish
/// when due, a deleted VM disappears one tick later and its node stops heartbeating.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub now: OffsetDateTime,
    pub nodes: Vec<Node>,
    /// Node id → (task id, finishes at, state).
    pub tasks: BTreeMap<String, Vec<(String, OffsetDateTime, TaskState)>>,
    pub vms: Vec<Instance>,
    pub deleted_vms: Vec<String>,
    pub deleted_nodes: Vec<String>,
    /// Tasks cancelled while their node was online.
    pub cancelled_online: Vec<String>,
    pub effects: Vec<ScaleInEffect>,
}

impl World {
    /// `running[i]`: node i's tasks' remaining seconds.
    pub fn new(running: &[Vec<i64>]) -> World {
        let mut world = World {
            now: NOW,
            nodes: Vec::new(),
            tasks: BTreeMap::new(),
            vms: Vec::new(),
            deleted_vms: Vec::new(),
            deleted_nodes: Vec::new(),
            cancelled_online: Vec::new(),
            effects: Vec::new(),
        };
        for (i, tasks) in running.iter().enumerate() {
            let id = format!("N{i}");
            world.nodes.push(busy(node(&id, &format!("octo{i}")), tasks.len() as u32));
            world.vms.push(instance(&i.to_string(), Some(&format!("octo{i}"))));
            let list = tasks
                .iter()
                .enumerate()
                .map(|(t, secs)| (format!("T{i}-{t}"), NOW + Duration::seconds(*secs), TaskState::Executing))
                .collect();
            world.tasks.insert(id, list);
        }
        world
    }

    fn hosted_alive(&self, node: &Node) -> bool {
        let index = node.id.trim_start_matches('N');
        self.vms
            .iter()
            .any(|vm| vm.instance_id == index && vm.provisioning_state != ProvisioningState::Deleting)
    }

    pub fn observe(&self) -> ScaleInObservation {
        let tasks = self
            .tasks
            .iter()
            .map(|(node, list)| {
                let running = list
                    .iter()
                    .filter(|(_, _, st)| matches!(st, TaskState::Executing | TaskState::Cancelling))
                    .map(|(id, _, st)| task(id, *st))
                    .collect();
                (node.clone(), running)
            })
            .collect();
        ScaleInObservation { nodes: self.nodes.clone(), tasks, vms: Some((self.vms.clone(), true)) }
    }

    pub fn apply(&mut self, effect: &ScaleInEffect, online: impl Fn(&Node) -> bool) {
        self.effects.push(effect.clone());
        match effect {
            ScaleInEffect::DeleteVms { instance_ids } => {
                for vm in self.vms.iter_mut().filter(|vm| instance_ids.contains(&vm.instance_id)) {
                    vm.provisioning_state = ProvisioningState::Deleting;
                }
                self.deleted_vms.extend(instance_ids.iter().cloned());
            }
            ScaleInEffect::Drain { node_id, effect, .. } => {
                let is_online = self.nodes.iter().find(|n| &n.id == node_id).is_some_and(&online);
                match effect {
                    DrainEffect::EnableDrain => self.set_drain(node_id, true),
                    DrainEffect::DisableDrain => self.set_drain(node_id, false),
                    DrainEffect::DeleteNode => {
                        self.nodes.retain(|n| &n.id != node_id);
                        self.deleted_nodes.push(node_id.clone());
                    }
                    DrainEffect::CancelTask(task) => {
                        if is_online {
                            self.cancelled_online.push(task.clone());
                        }
                        for entry in self.tasks.values_mut().flatten().filter(|(id, _, _)| id == task) {
                            entry.2 = TaskState::Cancelling;
                        }
                    }
                }
            }
        }
    }

    fn set_drain(&mut self, node_id: &str, on: bool) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.id == node_id) {
            node.drain = on;
        }
    }

    pub fn advance(&mut self, secs: i64) {
        self.now += Duration::seconds(secs);
        let now = self.now;
        // A VM being deleted is gone at the next tick.
        self.vms.retain(|vm| vm.provisioning_state != ProvisioningState::Deleting);
        let alive: Vec<String> =
            self.nodes.iter().filter(|n| self.hosted_alive(n)).map(|n| n.id.clone()).collect();
        for node in &mut self.nodes {
            if alive.contains(&node.id) {
                node.last_seen = Some(now);
            }
        }
        for (node, list) in &mut self.tasks {
            if !alive.contains(node) {
                continue;
            }
            for entry in list.iter_mut() {
                let due = entry.1 <= now || entry.2 == TaskState::Cancelling;
                if due && matches!(entry.2, TaskState::Executing | TaskState::Cancelling) {
                    entry.2 = if entry.2 == TaskState::Cancelling {
                        TaskState::Canceled
                    } else {
                        TaskState::Success
                    };
                }
            }
        }
        for node in &mut self.nodes {
            node.running_tasks = self.tasks.get(&node.id).map_or(0, |list| {
                list.iter()
                    .filter(|(_, _, st)| matches!(st, TaskState::Executing | TaskState::Cancelling))
                    .count() as u32
            });
        }
    }
}

/// Run `job` against `world` until it ends (or `ticks` pass), `secs` apart; `restart_at`: rebuild
/// the job from nothing but its victims at that tick (a killed process that lost its memory).
pub(crate) fn run(
    world: &mut World,
    mut job: ScaleInJob,
    secs: i64,
    ticks: usize,
    restart_at: Option<usize>,
) -> ScaleInJob {
    let config = config();
    for tick in 0..ticks {
        if restart_at == Some(tick) {
            let victims: Vec<_> = job.victims.iter().map(|v| v.victim.clone()).collect();
            job = ScaleInJob {
                scale_set: job.scale_set.clone(),
                victims: victims
                    .into_iter()
                    .map(|v| scale_in::VictimJob::new(v, config.drain_deadline_secs))
                    .collect(),
                phase: ScaleInPhase::Draining,
                provider_removes: false,
            };
        }
        let transition = scale_in::step(&job, &world.observe(), world.now, &config);
        let now = world.now;
        let online = |n: &Node| crate::drain::is_online(n, now, &config);
        for effect in &transition.effects {
            world.apply(effect, online);
        }
        job = transition.next;
        if transition.effects.iter().any(|e| matches!(e, ScaleInEffect::DeleteVms { .. })) {
            // The provider's operation finished.
            job.vms_deleted();
        }
        if job.phase.is_terminal() {
            return job;
        }
        world.advance(secs);
    }
    job
}

fn cluster() -> impl Strategy<Value = Vec<Vec<i64>>> {
    prop::collection::vec(prop::collection::vec(1i64..900, 0..3), 2..7)
}

proptest! {
    #[test]
    fn chosen_victims_never_strip_the_cluster(running in cluster(), drained in prop::collection::vec(any::<bool>(), 7), ui in prop::collection::vec(any::<bool>(), 7), count in 1u32..6) {
        let world = World::new(&running);
        let mut nodes = world.nodes.clone();
        for (i, node) in nodes.iter_mut().enumerate() {
            node.drain = drained[i];
            if ui[i] { node.max_concurrent_tasks = 0; }
        }
        let pairing = pair(&nodes, &world.vms);
        let choice = choose(count, &nodes, &pairing, &state(nodes.len() as u32), &world.vms, NOW, &config());
        let ids: Vec<&str> = choice.victims.iter().map(|v| v.node_id.as_str()).collect();
        prop_assert!(choice.victims.len() <= count as usize);
        prop_assert!(check_removal(&nodes, &ids, NOW, &config()).is_ok(), "{choice:?}");
        let mut unique = ids.clone();
        unique.dedup();
        prop_assert_eq!(unique.len(), ids.len());
        prop_assert_eq!(choice.is_allowed(), choice.victims.len() == count as usize);
        // Never a busy node while an idle one was passed over for no refusal.
        let idle_left = nodes.iter().filter(|n| !ids.contains(&n.id.as_str()) && n.running_tasks == 0).any(|n| {
            let mut with = ids.clone();
            with.push(&n.id);
            check_removal(&nodes, &with, NOW, &config()).is_ok()
        });
        let busy_taken = choice.victims.iter().any(|v| nodes.iter().any(|n| n.id == v.node_id && n.running_tasks > 0));
        prop_assert!(!(idle_left && busy_taken), "{choice:?}");
    }

    #[test]
    fn a_scale_in_drains_then_removes_exactly_its_vms_then_deletes_exactly_its_nodes(
        running in cluster(), count in 1u32..4, restart in prop::option::of(0usize..40)
    ) {
        let mut world = World::new(&running);
        let pairing = pair(&world.nodes, &world.vms);
        let choice = choose(count, &world.nodes, &pairing, &state(world.vms.len() as u32), &world.vms, NOW, &config());
        prop_assume!(choice.is_allowed());
        let victims: Vec<String> = choice.victims.iter().map(|v| v.node_id.clone()).collect();
        let vms: Vec<String> = choice.instance_ids();
        let job = ScaleInJob::start(key(), choice.victims.clone(), &world.nodes, NOW, &config()).unwrap();
        let job = run(&mut world, job, 60, 200, restart);
        prop_assert_eq!(&job.phase, &ScaleInPhase::Done);
        let mut deleted_vms = world.deleted_vms.clone();
        deleted_vms.sort();
        let mut expected_vms = vms.clone();
        expected_vms.sort();
        prop_assert_eq!(deleted_vms, expected_vms, "exactly the victims' VMs, each once");
        let mut deleted_nodes = world.deleted_nodes.clone();
        deleted_nodes.sort();
        let mut expected_nodes = victims.clone();
        expected_nodes.sort();
        prop_assert_eq!(deleted_nodes, expected_nodes, "exactly the victims' node records, each once");
        prop_assert!(world.cancelled_online.is_empty(), "no task cancelled on an online node: {:?}", world.cancelled_online);
        // Order: no node record deleted before its VM delete was sent.
        let first_vm_delete = world.effects.iter().position(|e| matches!(e, ScaleInEffect::DeleteVms { .. })).unwrap();
        let first_node_delete = world.effects.iter().position(|e| matches!(e, ScaleInEffect::Drain { effect: DrainEffect::DeleteNode, .. })).unwrap();
        prop_assert!(first_vm_delete < first_node_delete);
        let enables = world.effects.iter().filter(|e| matches!(e, ScaleInEffect::Drain { effect: DrainEffect::EnableDrain, .. })).count();
        prop_assert_eq!(enables, victims.len(), "drain enabled once per victim, restart or not");
    }
}
