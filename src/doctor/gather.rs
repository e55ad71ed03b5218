//! The doctor's only IO: one snapshot of the inventory (via the [`Collector`]) plus the settings the
//! checks look at (projects, environment, machine policies) and the permission probes.

use super::permissions::{probes_for, PermissionProbe, ProbeOutcome};
use super::DoctorInput;
use crate::config::Profile;
use crate::inventory::Collector;
use crate::octopus::{
    EnvironmentSettings, MachinePolicy, OctopusClient, OctopusError, ProjectSettings, Resolved,
};
use crate::snapshot::{Observed, ReadFailure};

/// Build the clients from the profile and read everything the checks need. Never fails as a
/// whole: each read that fails is a `ReadFailure` in its slot.
pub async fn gather(profile: &Profile) -> DoctorInput {
    let octopus = profile
        .octopus_api_key()
        .map_err(|err| ReadFailure::new("the Octopus API key", err.to_string()))
        .and_then(|key| {
            OctopusClient::new(&profile.octopus, key)
                .map_err(|err| ReadFailure::new("the Octopus client", err.to_string()))
        });
    let collector = Collector::with_octopus(profile, octopus.clone());
    gather_with(profile, &collector, octopus).await
}

/// As [`gather`], with clients the caller already holds (the console's refresh worker).
pub async fn gather_with(
    profile: &Profile,
    collector: &Collector,
    octopus: Result<OctopusClient, ReadFailure>,
) -> DoctorInput {
    let settings = async {
        match &octopus {
            Ok(client) => read_settings(profile, client).await,
            Err(failure) => Settings::failed(failure.clone(), profile),
        }
    };
    let (snapshot, settings) = tokio::join!(collector.collect(), settings);
    DoctorInput {
        taken_at: snapshot.taken_at,
        server_version: snapshot.server_version,
        environment: settings.environment,
        projects: settings.projects,
        targets: snapshot.targets,
        policies: settings.policies,
        nodes: snapshot.nodes,
        scale_sets: snapshot.scale_sets,
        permissions: settings.permissions,
        // The caller knows the profile's history file (see `DoctorInput::last_reconcile`).
        last_reconcile: None,
    }
}

struct Settings {
    environment: Observed<EnvironmentSettings>,
    projects: Observed<Vec<ProjectSettings>>,
    policies: Observed<Vec<MachinePolicy>>,
    permissions: Vec<PermissionProbe>,
}

impl Settings {
    /// Every slot failed the same way; the probes that need no space still say why.
    fn failed(failure: ReadFailure, profile: &Profile) -> Self {
        let permissions = probes_for(profile, "{space}")
            .into_iter()
            .map(|spec| PermissionProbe { spec, outcome: ProbeOutcome::Failed(failure.clone()) })
            .collect();
        Self {
            environment: Err(failure.clone()),
            projects: Err(failure.clone()),
            policies: Err(failure),
            permissions,
        }
    }
}

fn failure(profile: &Profile, what: &str, err: OctopusError) -> ReadFailure {
    ReadFailure::new(format!("{what} from {}", profile.octopus.url), err.to_string())
}

async fn read_settings(profile: &Profile, client: &OctopusClient) -> Settings {
    let config = &profile.octopus;
    let space = match client.resolve_space(&config.space).await {
        Ok(space) => space,
        Err(err @ (OctopusError::Forbidden { .. } | OctopusError::Unauthorized { .. })) => {
            // The space list itself was refused: say so as a probe, so it becomes a finding.
            let mut settings = Settings::failed(failure(profile, "Octopus space", err.clone()), profile);
            settings.permissions = vec![PermissionProbe {
                spec: super::permissions::ProbeSpec {
                    path: "/api/spaces".into(),
                    permission: "SpaceView",
                    needed_for: format!("to find space `{}`", config.space),
                },
                outcome: ProbeOutcome::from_result(Err(err), "Octopus space"),
            }];
            return settings;
        }
        Err(err) => return Settings::failed(failure(profile, "Octopus space", err), profile),
    };
    let probes =
        futures::future::join_all(probes_for(profile, &space.id).into_iter().map(|spec| async move {
            let what = format!("GET {} from {}", spec.path, profile.octopus.url);
            let outcome = ProbeOutcome::from_result(client.probe_read(&spec.path).await, &what);
            PermissionProbe { spec, outcome }
        }));
    let environment = async {
        let resolved = client
            .resolve_environment(&space.id, &config.environment)
            .await
            .map_err(|e| failure(profile, "Octopus environment", e))?;
        client
            .environment_settings(&space.id, &resolved)
            .await
            .map_err(|e| failure(profile, "Octopus environment", e))
    };
    let projects = read_projects(profile, client, &space);
    let policies = async {
        client.machine_policies(&space.id).await.map_err(|e| failure(profile, "Octopus machine policies", e))
    };
    let (permissions, environment, projects, policies) =
        tokio::join!(probes, environment, projects, policies);
    Settings { environment, projects, policies, permissions }
}

async fn read_projects(
    profile: &Profile,
    client: &OctopusClient,
    space: &Resolved,
) -> Observed<Vec<ProjectSettings>> {
    let mut projects = Vec::new();
    for name in &profile.octopus.projects {
        let what = format!("Octopus project `{name}`");
        let project =
            client.resolve_project(&space.id, name).await.map_err(|e| failure(profile, &what, e))?;
        projects.push(
            client.project_settings(&space.id, &project).await.map_err(|e| failure(profile, &what, e))?,
        );
    }
    Ok(projects)
}
