//! Property tests of the planner's safety invariants over random worlds: VMs come and go (scale-out
//! with overprovisioning extras, scale-in, out-of-band deletion), tentacles register, health and
//! power change, listings fail, time advances, and a simulated executor applies what the plan
//! proposes. After every refresh:
//! - no delete while the VM exists, while the current listing failed or is not proven complete
//!   (set Updating with a lost page, an entry repeated in place of a missing one, a VM of
//!   unreadable name), or before K complete absent listings spanning the grace period (counted
//!   here independently of `History`), whatever the vmIds' case or the `match` setting says;
//! - no (release, target) pair is ever deployed twice, and never to a target that had the release
//!   when it appeared;
//! - deploys go only to healthy, enabled targets on a Succeeded, running VM of a steady set;
//! - never to a target whose name another target shares (duplicates are held, never resolved),
//!   and never while a deployment of another release to the environment is in flight.

use proptest::prelude::*;
use scaleguard::completeness;
use scaleguard::config::Profile;
use scaleguard::matching::normalize_name;
use scaleguard::model::{Action, HealthStatus, Instance, PowerState, ProvisioningState, TaskState};
use scaleguard::reconcile::testkit::{self, at, SnapshotBuilder};
use scaleguard::reconcile::{plan_matched, History, MatchedSnapshot};
use scaleguard::snapshot::{InFlightDeployment, ProjectState, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    SetListingFails,
    /// The second, untouched scale set fails: still no absence evidence for anyone.
    OtherSetListingFails,
    TargetListingFails,
    ProjectListingFails,
    /// The web set reports Updating and its listing lost a page (its last VM).
    UpdatingAndTruncated,
    /// The web set's last VM is missing and another is listed twice in its place.
    RepeatedEntry,
    /// One web VM's computer name cannot be read.
    UnnamedVm,
    /// Every web vmId in upper case (the same VMs, spelled otherwise).
    VmIdCase,
    /// The web set matched by instance name (an operator slip): no target name matches a VM.
    MatchByInstanceName,
}

#[derive(Debug, Clone)]
enum Event {
    ScaleOut {
        count: u8,
        extras: u8,
    },
    FinishProvisioning,
    RemoveExtras,
    ScaleIn {
        count: u8,
    },
    VanishOutOfBand {
        pick: u8,
    },
    Register {
        pick: u8,
    },
    Health {
        pick: u8,
        healthy: bool,
    },
    Power {
        pick: u8,
        running: bool,
    },
    Advance {
        secs: u16,
    },
    Refresh {
        fault: Fault,
    },
    CompleteDeployments,
    NewRelease,
    ApplyDeletes,
    /// A second target registers under an existing target's name (another case or DNS suffix).
    DuplicateName {
        pick: u8,
    },
    /// Someone deploys a newer release to the whole environment; it stays queued or executing.
    OtherReleaseQueued,
    /// That deployment succeeds: it reached every healthy target, and its release is current.
    OtherReleaseSucceeds,
}

fn event() -> impl Strategy<Value = Event> {
    let fault = prop_oneof![
        6 => Just(Fault::None),
        1 => Just(Fault::SetListingFails),
        1 => Just(Fault::OtherSetListingFails),
        1 => Just(Fault::TargetListingFails),
        1 => Just(Fault::ProjectListingFails),
        1 => Just(Fault::UpdatingAndTruncated),
        1 => Just(Fault::RepeatedEntry),
        1 => Just(Fault::UnnamedVm),
        1 => Just(Fault::VmIdCase),
        1 => Just(Fault::MatchByInstanceName),
    ];
    prop_oneof![
        2 => (1..4u8, 0..3u8).prop_map(|(count, extras)| Event::ScaleOut { count, extras }),
        2 => Just(Event::FinishProvisioning),
        2 => Just(Event::RemoveExtras),
        1 => (1..3u8).prop_map(|count| Event::ScaleIn { count }),
        1 => any::<u8>().prop_map(|pick| Event::VanishOutOfBand { pick }),
        3 => any::<u8>().prop_map(|pick| Event::Register { pick }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(pick, healthy)| Event::Health { pick, healthy }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(pick, running)| Event::Power { pick, running }),
        4 => (0..400u16).prop_map(|secs| Event::Advance { secs }),
        6 => fault.prop_map(|fault| Event::Refresh { fault }),
        2 => Just(Event::CompleteDeployments),
        1 => Just(Event::NewRelease),
        2 => Just(Event::ApplyDeletes),
        1 => any::<u8>().prop_map(|pick| Event::DuplicateName { pick }),
        1 => Just(Event::OtherReleaseQueued),
        1 => Just(Event::OtherReleaseSucceeds),
    ]
}

/// The oracle's own absence count for one target: (listings, first, latest).
type Absence = (u32, OffsetDateTime, OffsetDateTime);

struct World {
    profile: Profile,
    now: i64,
    capacity: u32,
    /// Instance ids are never reused (Azure numbers on from the highest ever used).
    next_instance: u32,
    vms: Vec<Instance>,
    /// A second scale set that never changes, to fail on its own.
    api_vms: Vec<Instance>,
    /// (target id, name, health)
    targets: Vec<(String, String, HealthStatus)>,
    next_target: u32,
    project: ProjectState,
    next_release: u32,
    next_deployment: u32,
    history: History,
    pending_deletes: BTreeSet<String>,
    /// (release, target) pairs the executor has deployed.
    deployed: BTreeSet<(String, String)>,
    /// Targets that already had a release when they were registered (or when it appeared).
    had_at_start: BTreeSet<(String, String)>,
    absence: BTreeMap<String, Absence>,
}

impl World {
    fn new(profile: Profile, initial: u32) -> Self {
        let mut world = World {
            profile,
            now: 0,
            capacity: initial,
            next_instance: 0,
            vms: vec![],
            api_vms: vec![testkit::vm("api", 0), testkit::vm("api", 1)],
            targets: vec![],
            next_target: 1,
            project: testkit::project("Projects-1", Some("Releases-1")),
            next_release: 2,
            next_deployment: 1,
            history: History::default(),
            pending_deletes: BTreeSet::new(),
            deployed: BTreeSet::new(),
            had_at_start: BTreeSet::new(),
            absence: BTreeMap::new(),
        };
        for _ in 0..initial {
            let vm = testkit::vm("web", world.next_instance);
            world.next_instance += 1;
            world.register(&vm);
            world.vms.push(vm);
        }
        for vm in world.api_vms.clone() {
            world.register(&vm);
        }
        // Every pre-existing target already has Releases-1 from an environment-wide deployment.
        let ids: Vec<&str> = world.targets.iter().map(|(id, _, _)| id.as_str()).collect();
        world.project.deployments = vec![testkit::deployment(
            "Deployments-0",
            "Projects-1",
            "Releases-1",
            &[],
            &ids,
            TaskState::Success,
        )];
        for id in &ids {
            world.had_at_start.insert(("Releases-1".to_string(), id.to_string()));
        }
        world
    }

    fn register(&mut self, vm: &Instance) {
        let name = vm.computer_name.clone().unwrap_or_default();
        if self.targets.iter().any(|(_, n, _)| *n == name) {
            return;
        }
        self.targets.push((format!("Machines-{}", self.next_target), name, HealthStatus::Healthy));
        self.next_target += 1;
    }

    fn pick(&self, pick: u8) -> Option<usize> {
        (!self.vms.is_empty()).then(|| usize::from(pick) % self.vms.len())
    }

    fn vm_exists(&self, name: &str) -> bool {
        let name = normalize_name(name);
        self.vms
            .iter()
            .chain(&self.api_vms)
            .any(|vm| vm.computer_name.as_deref().map(normalize_name) == Some(name.clone()))
    }

    fn release_id(&self) -> String {
        self.project.latest_release.as_ref().map(|r| r.id.clone()).unwrap_or_default()
    }

    fn snapshot(&self, fault: Fault) -> Snapshot {
        let mut builder = SnapshotBuilder::new(at(self.now));
        let mut web = self.vms.clone();
        builder = match fault {
            Fault::SetListingFails => builder.failed_set("web"),
            Fault::UpdatingAndTruncated => {
                web.pop();
                builder.set("web", self.capacity, web).set_state(ProvisioningState::Updating)
            }
            Fault::RepeatedEntry => {
                if let (Some(first), Some(_)) = (web.first().cloned(), web.pop()) {
                    web.push(first);
                }
                builder.set("web", self.capacity, web)
            }
            Fault::UnnamedVm => {
                if let Some(vm) = web.last_mut() {
                    vm.computer_name = None;
                }
                builder.set("web", self.capacity, web)
            }
            Fault::VmIdCase => {
                for vm in &mut web {
                    vm.vm_id = vm.vm_id.as_ref().map(|id| id.to_ascii_uppercase());
                }
                builder.set("web", self.capacity, web)
            }
            _ => builder.set("web", self.capacity, web),
        };
        builder = match fault {
            Fault::OtherSetListingFails => builder.failed_set("api"),
            _ => builder.set("api", 2, self.api_vms.clone()),
        };
        let targets = self
            .targets
            .iter()
            .map(|(id, name, health)| scaleguard::model::Target {
                health: health.clone(),
                ..testkit::target(id, name)
            })
            .collect();
        builder = match fault {
            Fault::TargetListingFails => builder.failed_targets(),
            _ => builder.targets(targets),
        };
        let mut snapshot = match fault {
            Fault::ProjectListingFails => builder.failed_projects().build(),
            _ => builder.project(self.project.clone()).build(),
        };
        if let (Fault::MatchByInstanceName, Some(web)) = (fault, snapshot.scale_sets.first_mut()) {
            web.match_by = scaleguard::config::MatchBy::InstanceName;
        }
        snapshot
    }

    fn step(&mut self, event: &Event) -> Result<(), String> {
        match *event {
            Event::ScaleOut { count, extras } => {
                self.capacity += u32::from(count);
                for _ in 0..(count + extras) {
                    let vm = testkit::vm_in("web", self.next_instance, ProvisioningState::Creating);
                    self.next_instance += 1;
                    self.vms.push(vm);
                }
            }
            Event::FinishProvisioning => {
                for vm in &mut self.vms {
                    vm.provisioning_state = ProvisioningState::Succeeded;
                }
            }
            Event::RemoveExtras => {
                while self.vms.len() > self.capacity as usize {
                    self.vms.pop();
                }
            }
            Event::ScaleIn { count } => {
                for _ in 0..count.min(u8::try_from(self.vms.len()).unwrap_or(u8::MAX)) {
                    self.vms.pop();
                }
                self.capacity = self.capacity.saturating_sub(u32::from(count));
            }
            Event::VanishOutOfBand { pick } => {
                if let Some(i) = self.pick(pick) {
                    self.vms.remove(i);
                }
            }
            Event::Register { pick } => {
                if let Some(i) = self.pick(pick) {
                    let vm = self.vms[i].clone();
                    let before = self.targets.len();
                    self.register(&vm);
                    if self.targets.len() > before {
                        let id = self.targets[before].0.clone();
                        if self.has_success(&self.release_id(), &id) {
                            self.had_at_start.insert((self.release_id(), id));
                        }
                    }
                }
            }
            Event::Health { pick, healthy } => {
                if !self.targets.is_empty() {
                    let i = usize::from(pick) % self.targets.len();
                    self.targets[i].2 =
                        if healthy { HealthStatus::Healthy } else { HealthStatus::Unavailable };
                }
            }
            Event::Power { pick, running } => {
                if let Some(i) = self.pick(pick) {
                    self.vms[i].power_state = if running { PowerState::Running } else { PowerState::Stopped };
                }
            }
            Event::Advance { secs } => self.now += i64::from(secs),
            Event::Refresh { fault } => return self.refresh(fault),
            Event::CompleteDeployments => {
                for d in &mut self.project.deployments {
                    if d.task_state.is_some_and(|s| s.is_active()) {
                        d.task_state = Some(TaskState::Success);
                        d.deployed_to_machine_ids = Some(d.specific_machine_ids.clone());
                    }
                }
            }
            Event::NewRelease => {
                let id = format!("Releases-{}", self.next_release);
                self.next_release += 1;
                self.project.latest_release = Some(testkit::release("Projects-1", &id));
            }
            Event::ApplyDeletes => {
                let deletes = std::mem::take(&mut self.pending_deletes);
                self.targets.retain(|(id, _, _)| !deletes.contains(id));
            }
            Event::DuplicateName { pick } => {
                if !self.targets.is_empty() {
                    let (_, name, _) = self.targets[usize::from(pick) % self.targets.len()].clone();
                    let twin = if pick % 2 == 0 { name.to_uppercase() } else { format!("{name}.corp.local") };
                    self.targets.push((
                        format!("Machines-{}", self.next_target),
                        twin,
                        HealthStatus::Healthy,
                    ));
                    self.next_target += 1;
                }
            }
            Event::OtherReleaseQueued => {
                if self.project.other_releases_in_flight.is_empty() {
                    let id = format!("Releases-{}", self.next_release);
                    self.next_release += 1;
                    let deployment_id = format!("Deployments-{}", self.next_deployment);
                    self.next_deployment += 1;
                    let queued =
                        testkit::deployment(&deployment_id, "Projects-1", &id, &[], &[], TaskState::Queued);
                    self.project.other_releases_in_flight =
                        vec![InFlightDeployment { release_version: format!("1.0.{id}"), deployment: queued }];
                }
            }
            Event::OtherReleaseSucceeds => {
                if let Some(done) = self.project.other_releases_in_flight.pop() {
                    let mut deployment = done.deployment;
                    let release = deployment.release_id.clone();
                    let reached: Vec<String> = self
                        .targets
                        .iter()
                        .filter(|(_, _, health)| health.is_deployable())
                        .map(|(id, _, _)| id.clone())
                        .collect();
                    for id in &reached {
                        self.had_at_start.insert((release.clone(), id.clone()));
                    }
                    deployment.task_state = Some(TaskState::Success);
                    deployment.deployed_to_machine_ids = Some(reached);
                    self.project.latest_release = Some(testkit::release("Projects-1", &release));
                    self.project.deployments.push(deployment);
                }
            }
        }
        Ok(())
    }

    fn has_success(&self, release: &str, target: &str) -> bool {
        self.project.deployments.iter().any(|d| {
            d.release_id == release
                && d.task_state == Some(TaskState::Success)
                && d.reached(target) == Some(true)
        })
    }

    /// The oracle: evidence = no fault and the listing holds at least the capacity (the set is
    /// always settled here unless the fault says otherwise).
    fn count_absence(&mut self, fault: Fault) {
        let believable = self.vms.len() >= self.capacity as usize;
        let complete = matches!(
            fault,
            Fault::None | Fault::ProjectListingFails | Fault::VmIdCase | Fault::MatchByInstanceName
        );
        if !complete || !believable {
            return;
        }
        let t = at(self.now);
        let present: Vec<(String, bool)> =
            self.targets.iter().map(|(id, name, _)| (id.clone(), self.vm_exists(name))).collect();
        self.absence.retain(|id, _| present.iter().any(|(p, _)| p == id));
        for (id, is_present) in present {
            if is_present {
                self.absence.remove(&id);
            } else {
                let entry = self.absence.entry(id).or_insert((0, t, t));
                entry.0 += 1;
                entry.2 = t;
            }
        }
    }

    /// A fault that changes nothing (a repeated entry in a one-VM listing, an unnamed VM in an
    /// empty one) is no fault.
    fn effective(&self, fault: Fault) -> Fault {
        match fault {
            Fault::RepeatedEntry if self.vms.len() < 2 => Fault::None,
            Fault::UnnamedVm if self.vms.is_empty() => Fault::None,
            other => other,
        }
    }

    fn refresh(&mut self, fault: Fault) -> Result<(), String> {
        let fault = self.effective(fault);
        let snapshot = self.snapshot(fault);
        self.count_absence(fault);
        let matched = MatchedSnapshot::new(&snapshot, &self.profile);
        self.history.observe(&matched);
        // Headless runs keep the history in a file between runs: it must survive the trip whole.
        let saved = serde_json::to_string(&self.history).map_err(|e| e.to_string())?;
        let restored: History = serde_json::from_str(&saved).map_err(|e| e.to_string())?;
        if restored != self.history {
            return Err("history changed through JSON".into());
        }
        self.history = restored;
        let plan = plan_matched(&matched, &self.history, at(self.now), &self.profile);
        let config = &self.profile.reconcile;
        let unproven = snapshot
            .scale_sets
            .iter()
            .filter_map(|set| set.listing.as_ref().ok())
            .any(|listing| !completeness::judge(listing).is_proven());
        for planned in &plan.actions {
            match &planned.action {
                Action::DeleteTarget { target_id, target_name, .. } => {
                    if self.vm_exists(target_name) {
                        return Err(format!("{target_id} proposed for deletion while its VM exists"));
                    }
                    let complete = matches!(
                        fault,
                        Fault::None
                            | Fault::ProjectListingFails
                            | Fault::VmIdCase
                            | Fault::MatchByInstanceName
                    );
                    if !complete {
                        return Err(format!(
                            "{target_id} proposed for deletion on a failed or doubtful listing"
                        ));
                    }
                    if unproven {
                        return Err(format!(
                            "{target_id} proposed for deletion on a listing not proven complete"
                        ));
                    }
                    let (listings, first, latest) = self
                        .absence
                        .get(target_id)
                        .copied()
                        .ok_or(format!("{target_id}: no absence seen"))?;
                    if listings < config.absent_observations.max(1) {
                        return Err(format!("{target_id}: deleted after {listings} listings"));
                    }
                    if (latest - first).whole_seconds() < config.absent_grace_secs as i64 {
                        return Err(format!("{target_id}: deleted before the grace period"));
                    }
                    self.pending_deletes.insert(target_id.clone());
                }
                Action::Deploy { release_id, target_ids, .. } => {
                    if let Some(other) = self.project.other_releases_in_flight.first() {
                        return Err(format!("deploy while {} is in flight", other.deployment.id));
                    }
                    for target_id in target_ids {
                        self.check_deployable(target_id)?;
                        let pair = (release_id.clone(), target_id.clone());
                        if self.had_at_start.contains(&pair) {
                            return Err(format!("{target_id} already had {release_id} when it appeared"));
                        }
                        if !self.deployed.insert(pair) {
                            return Err(format!("{release_id} deployed twice to {target_id}"));
                        }
                    }
                    let id = format!("Deployments-{}", self.next_deployment);
                    self.next_deployment += 1;
                    let ids: Vec<&str> = target_ids.iter().map(String::as_str).collect();
                    let mut queued =
                        testkit::deployment(&id, "Projects-1", release_id, &ids, &[], TaskState::Queued);
                    queued.created = Some(at(self.now));
                    self.project.deployments.push(queued);
                }
                Action::CompleteLifecycle { .. } | Action::LifecycleHeartbeat { .. } => {
                    return Err(format!("{} proposed on Azure scale sets", planned.id));
                }
                Action::Wait { .. } | Action::WaitForDeployment { .. } | Action::Note { .. } => {}
            }
        }
        Ok(())
    }

    fn check_deployable(&self, target_id: &str) -> Result<(), String> {
        let (_, name, health) =
            self.targets.iter().find(|(id, _, _)| id == target_id).ok_or(format!("{target_id} unknown"))?;
        if !health.is_deployable() {
            return Err(format!("deploy to unhealthy {target_id}"));
        }
        let same_name =
            self.targets.iter().filter(|(_, other, _)| normalize_name(other) == normalize_name(name));
        if same_name.count() > 1 {
            return Err(format!("deploy to {target_id}, whose name {name} another target shares"));
        }
        let name = &normalize_name(name);
        let vm = self
            .vms
            .iter()
            .chain(&self.api_vms)
            .find(|vm| vm.computer_name.as_deref().map(normalize_name).as_deref() == Some(name.as_str()))
            .ok_or(format!("deploy to {target_id} without a VM"))?;
        if vm.provisioning_state != ProvisioningState::Succeeded || vm.power_state != PowerState::Running {
            return Err(format!("deploy to {target_id} whose VM is not Succeeded and running"));
        }
        let steady = vm.scale_set.name == "api"
            || self.vms.len() == self.capacity as usize
                && self.vms.iter().all(|vm| vm.provisioning_state == ProvisioningState::Succeeded);
        if !steady {
            return Err(format!("deploy to {target_id} while the set is not steady"));
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn planner_keeps_its_safety_invariants(
        initial in 0..5u32,
        absent_observations in 1..5u32,
        absent_grace_secs in 0..900u64,
        events in proptest::collection::vec(event(), 1..120),
    ) {
        let mut profile = testkit::profile();
        profile.reconcile.absent_observations = absent_observations;
        profile.reconcile.absent_grace_secs = absent_grace_secs;
        let mut world = World::new(profile, initial);
        for event in &events {
            if let Err(violation) = world.step(event) {
                prop_assert!(false, "{violation} after {event:?}");
            }
        }
    }
}
