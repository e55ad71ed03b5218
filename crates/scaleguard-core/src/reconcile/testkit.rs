//! Test support (not used by the product): small builders for snapshots, targets, VMs and
//! deployments, shared by the planner's unit tests, the property tests, the bench and the
//! executor's tests. Every builder gives a sane "all is well" default that a test then bends.

use crate::config::{
    AzureConfig, ConsoleConfig, GuardConfig, MatchBy, NodesConfig, OctopusConfig, Profile, ReconcileConfig,
};
use crate::model::{
    Deployment, Endpoint, HealthStatus, Instance, OrchestrationMode, PowerState, ProvisioningState, Release,
    ScaleSetKey, ScaleSetState, SharedKey, Target, TaskState,
};
use crate::snapshot::{ProjectState, ReadFailure, ScaleSetListing, ScaleSetObservation, Snapshot};
use time::{Duration, OffsetDateTime};

pub const ROLE: &str = "vmss-web";
pub const ENVIRONMENT_ID: &str = "Environments-1";

/// `instance` as an Auto Scaling instance in lifecycle `state` ("Terminating:Wait"), healthy, its
/// provisioning state as the AWS provider maps it, and EC2 tagging it with its own group.
pub fn in_lifecycle(instance: Instance, state: &str) -> Instance {
    let lifecycle = crate::model::LifecycleState::new(state);
    Instance {
        provisioning_state: lifecycle.provisioning_state(),
        aws: Some(Box::new(crate::model::AwsInstance {
            lifecycle_state: lifecycle,
            health_status: Some("Healthy".into()),
            launch: None,
            name_tag: None,
            ec2_state: None,
            ec2_group: crate::model::Ec2Group::Tagged(instance.scale_set.name.clone()),
        })),
        ..instance
    }
}

/// An Auto Scaling group of 1..=`max_size` instances with `hooks`, a 300 s cooldown and nothing
/// else set (no termination policy, warm pool, refresh, launch template or status).
pub fn aws_group(max_size: u32, hooks: Vec<crate::model::LifecycleHook>) -> crate::model::AwsGroup {
    crate::model::AwsGroup {
        min_size: 1,
        max_size,
        default_cooldown_secs: 300,
        termination_policies: vec![],
        hooks,
        warm_pool: None,
        instance_refresh: None,
        launch: None,
        status: None,
        moving: vec![],
    }
}

/// 2026-01-01 10:00:00 UTC plus `secs`.
pub fn at(secs: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 10:00:00 UTC) + Duration::seconds(secs)
}

pub fn set_key(name: &str) -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "sub-1".into(),
        resource_group: "rg".into(),
        name: name.into(),
    }
}

/// A Succeeded, running VM whose computer name is `{set}-{id}` and vmId `vm-{set}-{id}`.
pub fn vm(set: &str, instance_id: u32) -> Instance {
    Instance {
        scale_set: set_key(set).into(),
        instance_id: instance_id.to_string(),
        vm_id: Some(format!("vm-{set}-{instance_id}")),
        name: format!("{set}_{instance_id}"),
        computer_name: Some(format!("{set}-{instance_id}")),
        guest_computer_name: None,
        provisioning_state: ProvisioningState::Succeeded,
        power_state: PowerState::Running,
        latest_model_applied: Some(true),
        protected_from_scale_in: Some(false),
        placement: Default::default(),
        aws: None,
    }
}

/// `vm` in another provisioning state.
pub fn vm_in(set: &str, instance_id: u32, state: ProvisioningState) -> Instance {
    Instance { provisioning_state: state, ..vm(set, instance_id) }
}

/// A healthy, enabled, in-scope target named like `vm(set, instance_id)`'s computer name.
pub fn target_on(target_id: &str, set: &str, instance_id: u32) -> Target {
    target(target_id, &format!("{set}-{instance_id}"))
}

pub fn target(target_id: &str, name: &str) -> Target {
    Target {
        id: target_id.into(),
        name: name.into(),
        roles: vec![ROLE.into()].into(),
        environment_ids: vec![ENVIRONMENT_ID.into()].into(),
        health: HealthStatus::Healthy,
        disabled: false,
        machine_policy_id: None,
        thumbprint: None,
        endpoint: Endpoint { communication_style: "TentaclePassive".into(), uri: None, thumbprint: None },
        has_latest_calamari: Some(true),
        tenanted: crate::model::TenantedMode::Untenanted,
        tenant_ids: vec![],
        tenant_tags: vec![],
    }
}

/// A profile scoped to `ROLE`, with K = 3 listings over a 300 s grace and a 900 s timeout.
pub fn profile() -> Profile {
    Profile {
        read_only: false,
        octopus: OctopusConfig {
            url: "https://octopus.example.com".into(),
            api_key_env: "OCTOPUS_API_KEY".into(),
            space: "Default".into(),
            environment: "Production".into(),
            roles: vec![ROLE.into()],
            projects: vec!["Web".into()],
            timeout_secs: 30,
        },
        azure: AzureConfig::default(),
        scale_sets: vec![],
        guard: GuardConfig::default(),
        reconcile: ReconcileConfig {
            absent_observations: 3,
            absent_grace_secs: 300,
            provisioning_timeout_secs: 900,
            confirm_over: 3,
            unregistered_after_secs: 600,
        },
        nodes: NodesConfig::default(),
        console: ConsoleConfig::default(),
        aws: None,
    }
}

pub fn release(project_id: &str, release_id: &str) -> Release {
    Release { id: release_id.into(), project_id: project_id.into(), version: format!("1.0.{release_id}") }
}

/// A project whose latest release in the environment is `release_id` (None: never deployed).
pub fn project(project_id: &str, release_id: Option<&str>) -> ProjectState {
    ProjectState {
        project_id: project_id.into(),
        project_name: format!("Project {project_id}"),
        latest_release: release_id.map(|r| release(project_id, r)),
        deployments: vec![],
        other_releases_in_flight: vec![],
        tenanted_mode: crate::model::TenantedMode::Untenanted,
        tenants: vec![],
        version_control: None,
    }
}

/// A deployment of `release_id` to `specific` targets (empty: the whole environment) that has
/// reached `deployed_to`.
pub fn deployment(
    deployment_id: &str,
    project_id: &str,
    release_id: &str,
    specific: &[&str],
    deployed_to: &[&str],
    state: TaskState,
) -> Deployment {
    Deployment {
        id: deployment_id.into(),
        project_id: project_id.into(),
        release_id: release_id.into(),
        environment_id: ENVIRONMENT_ID.into(),
        specific_machine_ids: specific.iter().map(|s| s.to_string()).collect(),
        excluded_machine_ids: vec![],
        deployed_to_machine_ids: Some(deployed_to.iter().map(|s| s.to_string()).collect()),
        task_id: Some(format!("ServerTasks-{deployment_id}")),
        task_state: Some(state),
        created: None,
        comments: String::new(),
        tenant_id: None,
    }
}

/// Builds a `Snapshot`: every read succeeds and is empty until told otherwise.
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    snapshot: Snapshot,
}

impl SnapshotBuilder {
    pub fn new(taken_at: OffsetDateTime) -> Self {
        Self {
            snapshot: Snapshot {
                taken_at,
                environment_id: Some(ENVIRONMENT_ID.into()),
                scale_sets: vec![],
                targets: Ok(vec![]),
                projects: Ok(vec![]),
                nodes: Ok(vec![]),
                server_version: Ok("2024.1.0".into()),
            },
        }
    }

    /// A steady set of `capacity` listing `instances` (add `set_state` to unsettle it). The VMs
    /// of the set share one key, as a provider's listing does.
    pub fn set(mut self, name: &str, capacity: u32, mut instances: Vec<Instance>) -> Self {
        let shared = SharedKey::new(set_key(name));
        for vm in instances.iter_mut().filter(|vm| vm.scale_set == shared) {
            vm.scale_set = SharedKey::clone(&shared);
        }
        let state = ScaleSetState {
            key: set_key(name),
            location: Some("westeurope".into()),
            capacity,
            provisioning_state: ProvisioningState::Succeeded,
            overprovision: true,
            orchestration_mode: OrchestrationMode::Uniform,
            scale_in_rules: vec![],
            etag: Some("\"1\"".into()),
            last_changed: None,
            layout: Default::default(),
            aws: None,
        };
        self.snapshot.scale_sets.push(ScaleSetObservation {
            key: set_key(name),
            match_by: MatchBy::ComputerName,
            listing: Ok(ScaleSetListing { state, instances, reread: None, foreign: vec![] }),
            others: crate::snapshot::OthersObservation::nobody(),
        });
        self
    }

    /// A set whose listing failed (say, on page 2).
    pub fn failed_set(mut self, name: &str) -> Self {
        self.snapshot.scale_sets.push(ScaleSetObservation {
            key: set_key(name),
            match_by: MatchBy::ComputerName,
            listing: Err(ReadFailure::new(format!("scale set rg/{name} instances (page 2)"), "HTTP 503")),
            others: crate::snapshot::OthersObservation::nobody(),
        });
        self
    }

    /// The provisioningState of the set added last.
    pub fn set_state(mut self, state: ProvisioningState) -> Self {
        if let Some(Ok(listing)) = self.snapshot.scale_sets.last_mut().map(|s| s.listing.as_mut()) {
            listing.state.provisioning_state = state;
        }
        self
    }

    pub fn targets(mut self, targets: Vec<Target>) -> Self {
        self.snapshot.targets = Ok(targets);
        self
    }

    pub fn failed_targets(mut self) -> Self {
        self.snapshot.targets = Err(ReadFailure::new("GET /api/Spaces-1/machines", "HTTP 500"));
        self
    }

    pub fn project(mut self, project: ProjectState) -> Self {
        if let Ok(projects) = &mut self.snapshot.projects {
            projects.push(project);
        }
        self
    }

    pub fn failed_projects(mut self) -> Self {
        self.snapshot.projects = Err(ReadFailure::new("GET /api/Spaces-1/projects", "HTTP 500"));
        self
    }

    pub fn build(self) -> Snapshot {
        self.snapshot
    }
}

/// A tenant connected to the project whose current release is `release_id` (None: never deployed),
/// named "Tenant {tenant_id}", carrying `tags`.
pub fn tenant(
    tenant_id: &str,
    project_id: &str,
    release_id: Option<&str>,
    tags: &[&str],
) -> crate::snapshot::TenantState {
    crate::snapshot::TenantState {
        tenant_id: tenant_id.into(),
        tenant_name: format!("Tenant {tenant_id}"),
        tenant_tags: tags.iter().map(|t| t.to_string()).collect(),
        latest_release: release_id.map(|r| release(project_id, r)),
        deployments: vec![],
        other_releases_in_flight: vec![],
    }
}

/// `target` with a tenanted participation, connected to `tenant_ids` and `tags`.
pub fn tenanted(
    target: Target,
    participation: crate::model::TenantedMode,
    tenant_ids: &[&str],
    tags: &[&str],
) -> Target {
    Target {
        tenanted: participation,
        tenant_ids: tenant_ids.iter().map(|t| t.to_string()).collect(),
        tenant_tags: tags.iter().map(|t| t.to_string()).collect(),
        ..target
    }
}

/// `deployment` for a tenant.
pub fn tenant_deployment(
    deployment_id: &str,
    tenant_id: &str,
    release_id: &str,
    specific: &[&str],
    deployed_to: &[&str],
    state: TaskState,
) -> Deployment {
    Deployment {
        tenant_id: Some(tenant_id.into()),
        ..deployment(deployment_id, "Projects-1", release_id, specific, deployed_to, state)
    }
}
