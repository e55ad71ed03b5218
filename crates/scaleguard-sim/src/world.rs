//! The pure world model: scale sets, VMs, Octopus targets, HA nodes, tasks. No IO, no wall clock:
//! time is `SimTime` (seconds since the scenario started) passed in; randomness is a seeded StdRng.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

pub use super::octopus_model::*;
pub use super::tasks::DeployRequest;

/// Seconds of simulated time since the scenario started.
pub type SimTime = f64;

/// The world advances in steps of this many simulated seconds (timestamps have this resolution).
const STEP_SECS: f64 = 1.0;
/// Octopus calls a node offline after 5 minutes without a heartbeat.
pub const NODE_OFFLINE_AFTER_SECS: f64 = 300.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tunables {
    pub provision_secs: (f64, f64),
    pub registration_delay_secs: (f64, f64),
    pub delete_secs: (f64, f64),
    /// Azure deletes over-provisioned extras this long after enough VMs succeeded.
    pub overprovision_cleanup_secs: f64,
    /// Extra VMs created on scale-out, in percent of the VMs asked for (at least one).
    pub overprovision_percent: u32,
    pub task_secs: (f64, f64),
    pub heartbeat_secs: f64,
    /// Background (non-deployment) tasks queued per simulated minute.
    pub background_tasks_per_minute: f64,
    /// The Autoscale engine evaluates each setting this often (Azure: every 30 to 60 seconds).
    pub autoscale_every_secs: (f64, f64),
    /// The simulated load (percent CPU) Autoscale's rules compare with, at the start.
    pub load_percent: f64,
}

impl Default for Tunables {
    fn default() -> Self {
        Self {
            provision_secs: (60.0, 90.0),
            registration_delay_secs: (3.0, 6.0),
            delete_secs: (20.0, 40.0),
            overprovision_cleanup_secs: 15.0,
            overprovision_percent: 50,
            task_secs: (8.0, 15.0),
            heartbeat_secs: 30.0,
            background_tasks_per_minute: 0.0,
            autoscale_every_secs: (30.0, 60.0),
            load_percent: 50.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmState {
    Creating,
    Succeeded,
    Deleting,
}

#[derive(Debug, Clone)]
pub struct Vm {
    pub instance_id: u64,
    pub vm_id: String,
    pub state: VmState,
    /// When the current state ends (Creating → Succeeded, Deleting → gone).
    pub state_until: SimTime,
    pub created_at: SimTime,
    /// Part of a scale-out batch still waiting for enough of its VMs to succeed.
    pub batch: Option<u64>,
    pub protect_from_scale_in: bool,
    pub protect_from_scale_set_actions: bool,
    /// When the tentacle registers with Octopus (None once registered or never).
    pub register_at: Option<SimTime>,
    pub etag: u64,
    /// Names and placement of a Flexible set's VM; None on a Uniform set.
    pub flex: Option<super::flexible::FlexVm>,
}

#[derive(Debug, Clone)]
pub struct ScaleSet {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub sku_name: String,
    pub capacity: u32,
    pub overprovision: bool,
    pub computer_name_prefix: String,
    /// Windows tentacles register with the upper-case computer name.
    pub windows: bool,
    pub unique_id: String,
    pub etag: u64,
    /// Instance ids are never reused: the next one continues from the highest ever used.
    pub next_instance_id: u64,
    pub vms: Vec<Vm>,
    /// `scaleInPolicy.rules[0]`: Default, NewestVM or OldestVM.
    pub scale_in_policy: String,
    /// Some for a Flexible set (zones, fault domains); None for a Uniform one.
    pub flexible: Option<super::flexible::FlexSet>,
    /// What every target registering from this set is connected to.
    pub tenancy: MachineTenancy,
}

impl ScaleSet {
    pub fn computer_name(&self, instance_id: u64) -> String {
        format!("{}{}", self.computer_name_prefix, base36_padded(instance_id))
    }
    pub fn is_busy(&self) -> bool {
        self.vms.iter().any(|vm| vm.state != VmState::Succeeded)
    }
    pub fn provisioning_state(&self) -> &'static str {
        if self.is_busy() {
            "Updating"
        } else {
            "Succeeded"
        }
    }
    pub fn vm(&self, instance_id: u64) -> Option<&Vm> {
        self.vms.iter().find(|vm| vm.instance_id == instance_id)
    }
}

/// `4` → `000004`, `36` → `000010`: Azure's computer-name suffix.
pub fn base36_padded(mut value: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while value > 0 {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    while out.len() < 6 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// An ARM long-running operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub location: String,
    pub set: String,
    pub start: SimTime,
    pub end: Option<SimTime>,
    /// Instance ids whose disappearance completes a delete; None = wait until the set is idle.
    pub deleting: Option<Vec<u64>>,
    /// The Activity Log operation that gets its Succeeded event when this ends.
    pub activity: Option<String>,
}

/// A scale-out batch: `wanted` VMs were asked for, more were created (over-provisioning).
#[derive(Debug, Clone)]
pub struct Batch {
    pub set: String,
    pub id: u64,
    pub wanted: usize,
    /// Set once `wanted` members succeeded: the extras are deleted then.
    pub cleanup_at: Option<SimTime>,
}

/// Octopus-side identity of the world.
#[derive(Debug, Clone)]
pub struct OctopusInfo {
    pub space_id: String,
    pub space_name: String,
    pub version: String,
    pub installation_id: String,
    pub target_roles: Vec<String>,
    pub environment_id: String,
    pub communication_style: String,
    pub machine_policy_id: String,
    /// A newer server: machines carry `TargetTags` beside `Roles`.
    pub target_tags_field: bool,
}

/// Something the world asks its host to do (faults come from chaos events).
#[derive(Debug, Clone, PartialEq)]
pub enum WorldEffect {
    Fault(super::faults::FaultSpec),
}

#[derive(Debug)]
pub struct World {
    pub now: SimTime,
    pub rng: StdRng,
    pub tunables: Tunables,
    pub octopus: OctopusInfo,
    pub scale_sets: Vec<ScaleSet>,
    pub machines: Vec<Machine>,
    pub nodes: Vec<Node>,
    pub tasks: Vec<Task>,
    pub deployments: Vec<Deployment>,
    pub projects: Vec<Project>,
    pub releases: Vec<Release>,
    pub environments: Vec<Environment>,
    pub machine_policies: Vec<MachinePolicy>,
    pub tenants: Vec<Tenant>,
    pub operations: Vec<Operation>,
    pub events: Vec<super::scenario::ScheduledEvent>,
    pub chaos: Option<super::scenario::Chaos>,
    pub effects: Vec<WorldEffect>,
    /// Open over-provisioned scale-out batches.
    pub batches: Vec<Batch>,
    /// Wall-clock time of simulated t=0 (Autoscale schedules and Activity Log timestamps).
    pub epoch: time::OffsetDateTime,
    /// Every write to a scale set and every Autoscale action, oldest first.
    pub activity: Vec<super::activity_log::ActivityEvent>,
    pub autoscale: Vec<super::autoscale::SimAutoscale>,
    /// The load Autoscale's rules see, percent CPU.
    pub load_percent: f64,
    /// Scale sets and Auto Scaling groups whose machines host the Octopus HA nodes (`ha_hosts`).
    pub node_host_sets: Vec<String>,
    /// Amazon EC2 Auto Scaling groups and their instances.
    pub aws: super::aws::AwsWorld,
    next_id: u64,
    pub(super) next_background_task_at: SimTime,
    pub(super) next_chaos_at: SimTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("scale set `{0}` not found")]
    NoScaleSet(String),
    #[error("instance {1} of scale set `{0}` not found")]
    NoInstance(String, String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

impl World {
    pub fn new(seed: u64, tunables: Tunables, octopus: OctopusInfo) -> Self {
        let load_percent = tunables.load_percent;
        Self {
            now: 0.0,
            rng: StdRng::seed_from_u64(seed),
            tunables,
            octopus,
            scale_sets: Vec::new(),
            machines: Vec::new(),
            nodes: Vec::new(),
            tasks: Vec::new(),
            deployments: Vec::new(),
            projects: Vec::new(),
            releases: Vec::new(),
            environments: Vec::new(),
            machine_policies: Vec::new(),
            tenants: Vec::new(),
            operations: Vec::new(),
            events: Vec::new(),
            chaos: None,
            effects: Vec::new(),
            batches: Vec::new(),
            epoch: time::macros::datetime!(2026-01-05 09:00 UTC),
            activity: Vec::new(),
            autoscale: Vec::new(),
            load_percent,
            node_host_sets: Vec::new(),
            aws: Default::default(),
            next_id: 1,
            next_background_task_at: 0.0,
            next_chaos_at: 0.0,
        }
    }

    /// A fresh numeric id for Octopus documents (`Machines-7`, `ServerTasks-8`).
    pub fn next_id(&mut self, prefix: &str) -> String {
        let id = self.next_id;
        self.next_id += 1;
        format!("{prefix}-{id}")
    }

    pub fn new_guid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid().to_string()
    }

    pub(crate) fn thumbprint(&mut self) -> String {
        (0..40).map(|_| char::from(b"0123456789ABCDEF"[self.rng.random_range(0..16)])).collect()
    }

    pub(super) fn uniform(&mut self, (low, high): (f64, f64)) -> f64 {
        if high > low {
            self.rng.random_range(low..high)
        } else {
            low
        }
    }

    pub fn set_index(&self, name: &str) -> Result<usize, WorldError> {
        self.scale_sets
            .iter()
            .position(|set| set.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| WorldError::NoScaleSet(name.to_string()))
    }

    /// Add a VM that already exists at the start, with its registered, healthy target.
    pub fn add_existing_vm(&mut self, set_index: usize, protected: bool) {
        let instance_id = self.scale_sets[set_index].next_instance_id;
        self.scale_sets[set_index].next_instance_id += 1;
        let vm_id = self.new_guid();
        let created_at = self.now - 86_400.0;
        let flex = self.new_flex_vm(set_index);
        self.scale_sets[set_index].vms.push(Vm {
            instance_id,
            vm_id,
            state: VmState::Succeeded,
            state_until: created_at,
            created_at,
            batch: None,
            protect_from_scale_in: protected,
            protect_from_scale_set_actions: false,
            register_at: None,
            etag: 1,
            flex,
        });
        self.register_target(set_index, instance_id);
    }

    /// A healthy target with the scale-set roles and no VM behind it in any scale set.
    pub fn add_stray_target(&mut self, name: &str) {
        let id = self.next_id("Machines");
        let thumbprint = self.thumbprint();
        self.machines.push(Machine {
            id,
            name: name.to_string(),
            roles: self.octopus.target_roles.clone(),
            environment_ids: vec![self.octopus.environment_id.clone()],
            is_disabled: false,
            machine_policy_id: self.octopus.machine_policy_id.clone(),
            health: Health::Healthy,
            thumbprint,
            communication_style: self.octopus.communication_style.clone(),
            vm: None,
            tentacle_running: true,
            created_at: self.now,
            tenancy: MachineTenancy::default(),
        });
    }

    fn register_target(&mut self, set_index: usize, instance_id: u64) {
        if self.hosts_nodes(set_index) {
            return self.register_node_host(set_index, instance_id);
        }
        let set = &self.scale_sets[set_index];
        let computer_name =
            set.vm(instance_id).map_or_else(|| set.computer_name(instance_id), |vm| set.vm_computer_name(vm));
        let name = if set.windows { computer_name.to_uppercase() } else { computer_name };
        let set_name = set.name.clone();
        let tenancy = set.tenancy.clone();
        let id = self.next_id("Machines");
        let thumbprint = self.thumbprint();
        let machine = Machine {
            id,
            name,
            roles: self.octopus.target_roles.clone(),
            environment_ids: vec![self.octopus.environment_id.clone()],
            is_disabled: false,
            machine_policy_id: self.octopus.machine_policy_id.clone(),
            health: Health::Healthy,
            thumbprint,
            communication_style: self.octopus.communication_style.clone(),
            vm: Some((set_name, instance_id)),
            tentacle_running: true,
            created_at: self.now,
            tenancy,
        };
        self.machines.push(machine);
    }

    /// Wall-clock time of a simulated instant.
    pub fn time_at(&self, sim_secs: SimTime) -> time::OffsetDateTime {
        self.epoch + time::Duration::seconds_f64(sim_secs)
    }

    /// Change a set's capacity as a scenario event: see [`World::set_capacity_by`].
    pub fn set_capacity(&mut self, set_index: usize, capacity: u32) -> String {
        self.set_capacity_by(set_index, capacity, &super::activity_log::Writer::Scenario)
    }

    /// Change a set's capacity (a PATCH, a scenario, Autoscale): bumps the etag, starts creating
    /// or deleting VMs and logs the write in the Activity Log. Returns the operation id.
    pub fn set_capacity_by(
        &mut self,
        set_index: usize,
        capacity: u32,
        writer: &super::activity_log::Writer,
    ) -> String {
        self.scale_sets[set_index].capacity = capacity;
        self.scale_sets[set_index].etag += 1;
        self.converge(set_index);
        let activity =
            self.record_set_write(set_index, writer, "Microsoft.Compute/virtualMachineScaleSets/write");
        let operation = self.start_operation(set_index, None);
        self.link_activity(&operation, activity);
        operation
    }

    fn link_activity(&mut self, operation: &str, activity: String) {
        if let Some(op) = self.operations.iter_mut().find(|op| op.id == operation) {
            op.activity = Some(activity);
        }
    }

    fn start_operation(&mut self, set_index: usize, deleting: Option<Vec<u64>>) -> String {
        let id = self.new_guid();
        let set = &self.scale_sets[set_index];
        self.operations.push(Operation {
            id: id.clone(),
            location: set.location.clone(),
            set: set.name.clone(),
            start: self.now,
            end: None,
            deleting,
            activity: None,
        });
        id
    }

    /// Delete instances as a scenario event: see [`World::delete_instances_by`].
    pub fn delete_instances(&mut self, set_index: usize, instance_ids: &[u64]) -> Result<String, WorldError> {
        self.delete_instances_by(set_index, instance_ids, &super::activity_log::Writer::Scenario)
    }

    /// Delete instances by id (ARM POST delete): capacity drops by the number deleted; the write
    /// is logged in the Activity Log.
    pub fn delete_instances_by(
        &mut self,
        set_index: usize,
        instance_ids: &[u64],
        writer: &super::activity_log::Writer,
    ) -> Result<String, WorldError> {
        let set_name = self.scale_sets[set_index].name.clone();
        for id in instance_ids {
            let exists = self.scale_sets[set_index]
                .vms
                .iter()
                .any(|vm| vm.instance_id == *id && vm.state != VmState::Deleting);
            if !exists {
                return Err(WorldError::NoInstance(set_name, id.to_string()));
            }
        }
        for id in instance_ids {
            let until = self.now + self.uniform(self.tunables.delete_secs);
            let set = &mut self.scale_sets[set_index];
            if let Some(vm) = set.vms.iter_mut().find(|vm| vm.instance_id == *id) {
                vm.state = VmState::Deleting;
                vm.state_until = until;
                vm.register_at = None;
                vm.batch = None;
                vm.etag += 1;
            }
            set.capacity = set.capacity.saturating_sub(1);
        }
        self.scale_sets[set_index].etag += 1;
        let activity = self.record_set_write(
            set_index,
            writer,
            "Microsoft.Compute/virtualMachineScaleSets/delete/action",
        );
        let operation = self.start_operation(set_index, Some(instance_ids.to_vec()));
        self.link_activity(&operation, activity);
        Ok(operation)
    }

    pub fn set_protection(
        &mut self,
        set_index: usize,
        instance_id: u64,
        from_scale_in: bool,
        from_set_actions: bool,
    ) -> Result<(), WorldError> {
        let set = &mut self.scale_sets[set_index];
        let set_name = set.name.clone();
        let vm = set
            .vms
            .iter_mut()
            .find(|vm| vm.instance_id == instance_id)
            .ok_or_else(|| WorldError::NoInstance(set_name, instance_id.to_string()))?;
        vm.protect_from_scale_in = from_scale_in;
        vm.protect_from_scale_set_actions = from_set_actions;
        vm.etag += 1;
        Ok(())
    }

    /// Create or remove VMs until the VMs that count match capacity.
    fn converge(&mut self, set_index: usize) {
        let counted = self.counted_vms(set_index);
        let capacity = self.scale_sets[set_index].capacity as usize;
        if capacity > counted {
            let wanted = capacity - counted;
            let extras = if self.scale_sets[set_index].overprovision {
                (wanted * self.tunables.overprovision_percent as usize).div_ceil(100).max(1)
            } else {
                0
            };
            let batch = self.next_id;
            self.next_id += 1;
            for _ in 0..wanted + extras {
                let until = self.now + self.uniform(self.tunables.provision_secs);
                let vm_id = self.new_guid();
                let now = self.now;
                let flex = self.new_flex_vm(set_index);
                let set = &mut self.scale_sets[set_index];
                let instance_id = set.next_instance_id;
                set.next_instance_id += 1;
                set.vms.push(Vm {
                    instance_id,
                    vm_id,
                    state: VmState::Creating,
                    state_until: until,
                    created_at: now,
                    batch: Some(batch),
                    protect_from_scale_in: false,
                    protect_from_scale_set_actions: false,
                    register_at: None,
                    etag: 1,
                    flex,
                });
            }
            let set = self.scale_sets[set_index].name.clone();
            self.batches.push(Batch { set, id: batch, wanted, cleanup_at: None });
        } else if capacity < counted {
            // A scale-in closes open batches: their members become ordinary VMs.
            let set_name = self.scale_sets[set_index].name.clone();
            self.batches.retain(|batch| batch.set != set_name);
            for vm in &mut self.scale_sets[set_index].vms {
                vm.batch = None;
            }
            let live = self.counted_vms(set_index);
            let remove: Vec<u64> = if self.scale_sets[set_index].is_flexible() {
                self.flexible_scale_in(set_index, live.saturating_sub(capacity))
            } else {
                // Default scale-in policy: highest instance ids first, never a protected one.
                let mut candidates: Vec<u64> = self.scale_sets[set_index]
                    .vms
                    .iter()
                    .filter(|vm| vm.state != VmState::Deleting && !vm.protect_from_scale_in)
                    .map(|vm| vm.instance_id)
                    .collect();
                candidates.sort_unstable();
                candidates.into_iter().rev().take(live.saturating_sub(capacity)).collect()
            };
            for id in remove {
                self.begin_delete(set_index, id);
            }
        }
    }

    /// Non-deleting VMs, minus the extras of open batches.
    fn counted_vms(&self, set_index: usize) -> usize {
        let set = &self.scale_sets[set_index];
        let live = set.vms.iter().filter(|vm| vm.state != VmState::Deleting).count();
        let extras: usize = self
            .batches
            .iter()
            .filter(|batch| batch.set == set.name)
            .map(|batch| {
                let members = set.vms.iter().filter(|vm| vm.batch == Some(batch.id)).count();
                members.saturating_sub(batch.wanted)
            })
            .sum();
        live - extras
    }

    fn begin_delete(&mut self, set_index: usize, instance_id: u64) {
        let until = self.now + self.uniform(self.tunables.delete_secs);
        if let Some(vm) = self.scale_sets[set_index].vms.iter_mut().find(|vm| vm.instance_id == instance_id) {
            vm.state = VmState::Deleting;
            vm.state_until = until;
            vm.register_at = None;
            vm.batch = None;
            vm.etag += 1;
        }
    }

    /// Advance the world to `target`, in fixed steps so results do not depend on how often
    /// the host asks.
    pub fn advance_to(&mut self, target: SimTime) {
        while self.now + STEP_SECS <= target {
            self.now += STEP_SECS;
            self.step();
        }
    }

    fn step(&mut self) {
        self.run_scheduled_events();
        self.run_chaos();
        self.step_autoscale();
        for set_index in 0..self.scale_sets.len() {
            self.step_vms(set_index);
            self.step_batches(set_index);
        }
        self.step_aws();
        self.step_operations();
        self.step_ha_hosts();
        self.step_nodes();
        self.step_background_tasks();
        self.step_tasks();
    }

    fn step_vms(&mut self, set_index: usize) {
        let now = self.now;
        let mut to_register = Vec::new();
        let mut gone = Vec::new();
        let mut newly_succeeded = Vec::new();
        for vm in &mut self.scale_sets[set_index].vms {
            match vm.state {
                VmState::Creating if vm.state_until <= now => {
                    vm.state = VmState::Succeeded;
                    vm.etag += 1;
                    newly_succeeded.push(vm.instance_id);
                }
                VmState::Deleting if vm.state_until <= now => gone.push(vm.instance_id),
                _ => {}
            }
            if vm.register_at.is_some_and(|at| at <= now) {
                vm.register_at = None;
                to_register.push(vm.instance_id);
            }
        }
        for instance_id in newly_succeeded {
            let at = now + self.uniform(self.tunables.registration_delay_secs);
            if let Some(vm) =
                self.scale_sets[set_index].vms.iter_mut().find(|vm| vm.instance_id == instance_id)
            {
                vm.register_at = Some(at);
            }
        }
        self.scale_sets[set_index].vms.retain(|vm| !gone.contains(&vm.instance_id));
        let set_name = self.scale_sets[set_index].name.clone();
        for machine in &mut self.machines {
            if let Some((set, id)) = &machine.vm {
                if *set == set_name && gone.contains(id) {
                    // The target stays registered; its tentacle no longer answers.
                    machine.health = Health::Unavailable;
                    machine.tentacle_running = false;
                }
            }
        }
        for instance_id in to_register {
            self.register_target(set_index, instance_id);
        }
    }

    fn step_batches(&mut self, set_index: usize) {
        let now = self.now;
        let cleanup_secs = self.tunables.overprovision_cleanup_secs;
        let set_name = self.scale_sets[set_index].name.clone();
        let mut finished = Vec::new();
        for batch in self.batches.iter_mut().filter(|batch| batch.set == set_name) {
            let set = &self.scale_sets[set_index];
            let members: Vec<&Vm> = set.vms.iter().filter(|vm| vm.batch == Some(batch.id)).collect();
            let succeeded = members.iter().filter(|vm| vm.state == VmState::Succeeded).count();
            if batch.cleanup_at.is_none() && succeeded >= batch.wanted {
                batch.cleanup_at = Some(now + cleanup_secs);
            }
            if batch.cleanup_at.is_some_and(|at| at <= now) {
                // Keep the first `wanted` VMs that succeeded; the rest are the extras.
                let mut order: Vec<(bool, f64, u64)> = members
                    .iter()
                    .map(|vm| (vm.state != VmState::Succeeded, vm.state_until, vm.instance_id))
                    .collect();
                order.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                let extras: Vec<u64> = order.iter().skip(batch.wanted).map(|(_, _, id)| *id).collect();
                finished.push((batch.id, extras));
            }
        }
        for (batch_id, extras) in finished {
            self.batches.retain(|batch| batch.id != batch_id);
            for vm in &mut self.scale_sets[set_index].vms {
                if vm.batch == Some(batch_id) {
                    vm.batch = None;
                }
            }
            for id in extras {
                self.begin_delete(set_index, id);
            }
        }
    }

    fn step_operations(&mut self) {
        let now = self.now;
        for index in 0..self.operations.len() {
            if self.operations[index].end.is_some() {
                continue;
            }
            let op = &self.operations[index];
            let Ok(set_index) = self.set_index(&op.set) else {
                self.operations[index].end = Some(now);
                continue;
            };
            let set = &self.scale_sets[set_index];
            let done = match &op.deleting {
                Some(ids) => ids.iter().all(|id| set.vm(*id).is_none()),
                None => !set.is_busy(),
            };
            if done {
                self.operations[index].end = Some(now);
                if let Some(activity) = self.operations[index].activity.clone() {
                    self.finish_write(&activity);
                }
            }
        }
    }

    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id.eq_ignore_ascii_case(id))
    }

    /// Stop or start a target's tentacle: a stopped one is Unavailable while its VM stays.
    pub fn set_tentacle(&mut self, machine: &str, running: bool) -> Result<(), WorldError> {
        let machine = self.find_machine_mut(machine)?;
        machine.tentacle_running = running;
        machine.health = if running { Health::Healthy } else { Health::Unavailable };
        Ok(())
    }

    /// By id or (case-insensitive) name.
    pub fn find_machine_mut(&mut self, key: &str) -> Result<&mut Machine, WorldError> {
        self.machines
            .iter_mut()
            .find(|m| m.id.eq_ignore_ascii_case(key) || m.name.eq_ignore_ascii_case(key))
            .ok_or_else(|| WorldError::NotFound(format!("machine `{key}`")))
    }

    pub fn delete_machine(&mut self, id: &str) -> Result<(), WorldError> {
        let before = self.machines.len();
        self.machines.retain(|m| !m.id.eq_ignore_ascii_case(id));
        if self.machines.len() == before {
            return Err(WorldError::NotFound(format!("machine `{id}`")));
        }
        Ok(())
    }
}
