//! Property tests of invariant 3 with tenants, over random tenanted worlds: a project in any
//! tenanted-deployment mode, up to three tenants (some never deployed, some with tags), targets of
//! any participation connected by id and by tag (some to tenants the project does not know), and
//! deployments per tenant in every task state (some successes without `DeployedToMachineIds`),
//! some for another tenant or untenanted. A simulated
//! executor queues what each plan proposes, some of it succeeds, and the world is planned again.
//! After every refresh:
//! - no (release, tenant, target) is proposed twice, nor while that tenant's deployment of the
//!   release that covers the target is queued or running, nor once one reached it (or, not
//!   saying what it reached, covered it);
//! - a tenant's release goes only to targets connected to that tenant (by id or by one of its
//!   tags, with a participation that allows tenanted deployments), and it is that tenant's
//!   current release;
//! - the untenanted release goes only to targets that take untenanted deployments and are
//!   connected to no tenant of the project, and only when the project's mode has one.

use proptest::prelude::*;
use scaleguard::model::{Action, Deployment, Target, TaskState, TenantedMode};
use scaleguard::reconcile::testkit::{self, at, SnapshotBuilder};
use scaleguard::reconcile::{plan_matched, History, MatchedSnapshot};
use scaleguard::snapshot::{ProjectState, TenantState};
use std::collections::BTreeSet;

const TAGS: [&str; 3] = ["Region/EU", "Region/US", "Tier/Gold"];
const TENANTS: usize = 3;

fn mode(pick: u8) -> TenantedMode {
    match pick % 3 {
        0 => TenantedMode::Untenanted,
        1 => TenantedMode::TenantedOrUntenanted,
        _ => TenantedMode::Tenanted,
    }
}

fn tenant_id(index: usize) -> String {
    format!("Tenants-{}", index + 1)
}

#[derive(Debug, Clone)]
struct TargetSpec {
    participation: u8,
    /// Bits 0-2: connected to Tenants-1..3 by id; bit 3: to Tenants-9 (unknown to the project).
    ids: u8,
    /// Bits 0-2: carries TAGS[i].
    tags: u8,
}

#[derive(Debug, Clone)]
struct TenantSpec {
    /// None: never deployed here; Some(r): Releases-{r}.
    release: Option<u8>,
    tags: u8,
}

#[derive(Debug, Clone)]
struct DeploymentSpec {
    /// 0..TENANTS: that tenant; TENANTS: untenanted.
    tenant: usize,
    /// Put into which lane's list (a server may answer with a wrong tenant; the planner must
    /// count each deployment only for its own tenant).
    listed_under: usize,
    release: u8,
    targets: u8,
    state: u8,
}

fn state(pick: u8) -> Option<TaskState> {
    match pick % 7 {
        0 => Some(TaskState::Queued),
        1 => Some(TaskState::Executing),
        // 6: a success that does not say which targets it reached (no DeployedToMachineIds).
        2 | 6 => Some(TaskState::Success),
        3 => Some(TaskState::Failed),
        4 => Some(TaskState::Canceled),
        _ => None,
    }
}

fn bits<T: Clone>(mask: u8, of: &[T]) -> Vec<T> {
    of.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, v)| v.clone()).collect()
}

struct World {
    project: ProjectState,
    targets: Vec<Target>,
    next_deployment: u32,
}

impl World {
    fn new(
        project_mode: u8,
        untenanted_release: Option<u8>,
        tenants: &[TenantSpec],
        targets: &[TargetSpec],
        deployments: &[DeploymentSpec],
    ) -> Self {
        let mut project = testkit::project("Projects-1", None);
        project.tenanted_mode = mode(project_mode);
        project.latest_release =
            untenanted_release.map(|r| testkit::release("Projects-1", &format!("Releases-{r}")));
        let tags: Vec<&str> = TAGS.to_vec();
        project.tenants = tenants
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let release = spec.release.map(|r| format!("Releases-{r}"));
                testkit::tenant(&tenant_id(i), "Projects-1", release.as_deref(), &bits(spec.tags, &tags))
            })
            .collect();
        let ids: Vec<String> = (0..TENANTS).map(tenant_id).chain(["Tenants-9".to_string()]).collect();
        let targets: Vec<Target> = targets
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let ids = bits(spec.ids, &ids);
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                testkit::tenanted(
                    testkit::target_on(&format!("Machines-{}", i + 1), "web", i as u32 + 1),
                    mode(spec.participation),
                    &ids,
                    &bits(spec.tags, &tags),
                )
            })
            .collect();
        let mut world = Self { project, targets, next_deployment: 1 };
        for spec in deployments {
            let machines: Vec<String> =
                bits(spec.targets, &world.targets).iter().map(|t| t.id.clone()).collect();
            let reached =
                if state(spec.state) == Some(TaskState::Success) { machines.clone() } else { vec![] };
            let tenant = (spec.tenant < TENANTS).then(|| tenant_id(spec.tenant));
            let mut deployment = world.deployment(
                &format!("Releases-{}", spec.release),
                tenant,
                &machines,
                &reached,
                state(spec.state),
            );
            if spec.state % 7 == 6 {
                deployment.deployed_to_machine_ids = None;
            }
            world.list(spec.listed_under, deployment);
        }
        world
    }

    fn deployment(
        &mut self,
        release: &str,
        tenant: Option<String>,
        specific: &[String],
        reached: &[String],
        state: Option<TaskState>,
    ) -> Deployment {
        let id = format!("Deployments-{}", self.next_deployment);
        self.next_deployment += 1;
        let specific: Vec<&str> = specific.iter().map(String::as_str).collect();
        let reached: Vec<&str> = reached.iter().map(String::as_str).collect();
        let mut d = testkit::deployment(&id, "Projects-1", release, &specific, &reached, TaskState::Queued);
        d.task_state = state;
        d.tenant_id = tenant;
        d
    }

    /// Into the untenanted list (index >= tenants) or a tenant's list.
    fn list(&mut self, under: usize, deployment: Deployment) {
        match self.project.tenants.get_mut(under) {
            Some(tenant) => tenant.deployments.push(deployment),
            None => self.project.deployments.push(deployment),
        }
    }

    fn lane_of(&self, tenant: Option<&str>) -> Option<&TenantState> {
        tenant.and_then(|id| self.project.tenants.iter().find(|t| t.tenant_id == id))
    }

    /// The deployments for `tenant` (None: untenanted) of `release` in that lane's list (the
    /// client reads each lane by tenant; one filed under another lane is noise to ignore).
    fn deployments_for<'a>(
        &'a self,
        tenant: Option<&'a str>,
        release: &'a str,
    ) -> impl Iterator<Item = &'a Deployment> {
        let list = match self.lane_of(tenant) {
            Some(lane) => &lane.deployments,
            None => &self.project.deployments,
        };
        list.iter().filter(move |d| d.tenant_id.as_deref() == tenant && d.release_id == release)
    }

    fn connected(target: &Target, tenant: &TenantState) -> bool {
        target.tenanted != TenantedMode::Untenanted
            && (target.tenant_ids.contains(&tenant.tenant_id)
                || target.tenant_tags.iter().any(|tag| tenant.tenant_tags.contains(tag)))
    }

    /// Plan, check the invariants, then queue what was proposed and let `succeed` of it finish.
    fn round(&mut self, succeed: u8) -> Result<usize, String> {
        let snapshot = SnapshotBuilder::new(at(0))
            .set(
                "web",
                self.targets.len() as u32,
                (1..=self.targets.len() as u32).map(|i| testkit::vm("web", i)).collect(),
            )
            .targets(self.targets.clone())
            .project(self.project.clone())
            .build();
        let profile = testkit::profile();
        let matched = MatchedSnapshot::new(&snapshot, &profile);
        let mut history = History::default();
        history.observe(&matched);
        let plan = plan_matched(&matched, &history, at(0), &profile);
        let mut proposed = BTreeSet::new();
        let mut queued = Vec::new();
        for action in &plan.actions {
            let Action::Deploy { release_id, target_ids, tenant, .. } = &action.action else { continue };
            let tenant_id = tenant.as_ref().map(|t| t.id.clone());
            let lane = self.lane_of(tenant_id.as_deref());
            match (&tenant_id, lane) {
                (Some(id), None) => return Err(format!("{id} is not a tenant of the project")),
                (Some(id), Some(lane)) => {
                    if !self.project.tenanted_mode.allows_tenanted() {
                        return Err(format!(
                            "a tenanted deploy for {id} in a {:?} project",
                            self.project.tenanted_mode
                        ));
                    }
                    if lane.latest_release.as_ref().map(|r| &r.id) != Some(release_id) {
                        return Err(format!("{release_id} is not {id}'s current release"));
                    }
                }
                (None, _) => {
                    if !self.project.tenanted_mode.allows_untenanted() {
                        return Err("an untenanted deploy in a Tenanted project".into());
                    }
                    if self.project.latest_release.as_ref().map(|r| &r.id) != Some(release_id) {
                        return Err(format!("{release_id} is not the untenanted current release"));
                    }
                }
            }
            for target_id in target_ids {
                let target = self.targets.iter().find(|t| &t.id == target_id).ok_or("unknown target")?;
                match lane {
                    Some(lane) if !Self::connected(target, lane) => {
                        return Err(format!(
                            "{}'s release to {target_id}, which is not connected to it",
                            lane.tenant_id
                        ))
                    }
                    None if target.tenanted == TenantedMode::Tenanted => {
                        return Err(format!("the untenanted release to the Tenanted-only {target_id}"))
                    }
                    None if self.project.tenants.iter().any(|t| {
                        self.project.tenanted_mode.allows_tenanted() && Self::connected(target, t)
                    }) =>
                    {
                        return Err(format!(
                            "the untenanted release to {target_id}, which is connected to a tenant"
                        ))
                    }
                    _ => {}
                }
                if !proposed.insert((release_id.clone(), tenant_id.clone(), target_id.clone())) {
                    return Err(format!(
                        "({release_id}, {tenant_id:?}, {target_id}) proposed twice in one plan"
                    ));
                }
                for existing in self.deployments_for(tenant_id.as_deref(), release_id) {
                    let active =
                        existing.task_state.is_none_or(|s| s.is_active()) && existing.covers(target_id);
                    // A success that did not say which targets it reached may have reached any it
                    // covered: that lane holds them rather than deploy twice.
                    let reached = existing.task_state == Some(TaskState::Success)
                        && match &existing.deployed_to_machine_ids {
                            Some(ids) => ids.contains(target_id),
                            None => existing.covers(target_id),
                        };
                    if active || reached {
                        return Err(format!(
                            "({release_id}, {tenant_id:?}, {target_id}) proposed although {} ({:?}) {}",
                            existing.id,
                            existing.task_state,
                            if reached { "reached it" } else { "covers it" }
                        ));
                    }
                }
            }
            queued.push((release_id.clone(), tenant_id, target_ids.clone()));
        }
        let count = queued.len();
        for (index, (release, tenant, targets)) in queued.into_iter().enumerate() {
            let done = succeed & (1 << (index % 8)) != 0;
            let (state, reached) = if done {
                (Some(TaskState::Success), targets.clone())
            } else {
                (Some(TaskState::Queued), vec![])
            };
            let deployment = self.deployment(&release, tenant.clone(), &targets, &reached, state);
            let under = tenant
                .as_deref()
                .and_then(|id| self.project.tenants.iter().position(|t| t.tenant_id == id))
                .unwrap_or(usize::MAX);
            self.list(under, deployment);
        }
        Ok(count)
    }
}

fn target_spec() -> impl Strategy<Value = TargetSpec> {
    (0..3u8, 0..16u8, 0..8u8).prop_map(|(participation, ids, tags)| TargetSpec { participation, ids, tags })
}

fn tenant_spec() -> impl Strategy<Value = TenantSpec> {
    (proptest::option::of(1..4u8), 0..8u8).prop_map(|(release, tags)| TenantSpec { release, tags })
}

fn deployment_spec() -> impl Strategy<Value = DeploymentSpec> {
    (0..=TENANTS, 0..=TENANTS, 1..4u8, 0..64u8, 0..7u8).prop_map(
        |(tenant, listed_under, release, targets, state)| DeploymentSpec {
            tenant,
            listed_under,
            release,
            targets,
            state,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_twice_per_release_tenant_and_target_and_only_to_connected_targets(
        project_mode in 0..3u8,
        untenanted_release in proptest::option::of(1..4u8),
        tenants in proptest::collection::vec(tenant_spec(), 0..=TENANTS),
        targets in proptest::collection::vec(target_spec(), 1..7),
        deployments in proptest::collection::vec(deployment_spec(), 0..8),
        successes in proptest::collection::vec(0..=255u8, 1..4),
    ) {
        let mut world = World::new(project_mode, untenanted_release, &tenants, &targets, &deployments);
        for succeed in successes {
            if let Err(violation) = world.round(succeed) {
                prop_assert!(false, "{violation}\nproject: {:#?}\ntargets: {:#?}", world.project, world.targets);
            }
        }
        // Whatever was proposed is now queued or done: a last plan proposes nothing.
        let last = world.round(0);
        prop_assert_eq!(last, Ok(0), "a rerun after every proposal was queued still proposes");
    }
}
