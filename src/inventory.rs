//! One snapshot of everything a profile covers: scale sets and their VMs, Octopus targets,
//! projects, HA nodes and the server version. Used by `scaleguard inventory`, and meant for the
//! planner's `plan`/`apply` and the console's refresh worker.
//!
//! Reads run concurrently; each failure becomes a `ReadFailure` in its slot, never an empty list.
//! Requests grow with pages, never with VMs or targets: per scale set one GET plus one per page,
//! then who else scales it (the resource group's autoscale settings, one page as a rule, and the
//! Activity Log of the set and of its setting), targets one GET per page (plus space and
//! environment resolution), nodes one GET, version one.

use crate::clock::Clock;
use crate::config::Profile;
use crate::model::Node;
use crate::octopus::{OctopusClient, OctopusError, Resolved};
use crate::providers::{self, other_scalers, ProviderError, ScaleSetProvider};
use crate::snapshot::{OthersObservation, ProjectState, ReadFailure, ScaleSetObservation, Snapshot};
use std::sync::Arc;

/// The clients one profile needs, built once and reused across refreshes (a credential keeps its
/// token cache, connections are pooled). Building never fails: a client that cannot be built
/// becomes the `ReadFailure` of every read that needs it. A snapshot is stamped with the
/// collector's clock, which whoever plans from it and acts on it shares (`Collector::clock`).
pub struct Collector {
    profile: Profile,
    clock: Clock,
    octopus: Result<OctopusClient, ReadFailure>,
    /// One provider per configured scale set, in config order.
    providers: Vec<Result<Arc<dyn ScaleSetProvider>, ReadFailure>>,
}

impl Collector {
    pub fn new(profile: &Profile) -> Self {
        let octopus = profile
            .octopus_api_key()
            .map_err(|err| ReadFailure::new("the Octopus API key", err.to_string()))
            .and_then(|key| {
                OctopusClient::new(&profile.octopus, key)
                    .map_err(|err| ReadFailure::new("the Octopus client", err.to_string()))
            });
        Self::with_octopus(profile, octopus)
    }

    /// As [`Collector::new`], with an Octopus client the caller built (tests tune retries, pages).
    pub fn with_octopus(profile: &Profile, octopus: Result<OctopusClient, ReadFailure>) -> Self {
        // Every Azure set of a profile shares one endpoint and credential: one provider for all;
        // so does every AWS group (one region, endpoint and credentials chain).
        let mut azure: Option<Result<Arc<dyn ScaleSetProvider>, ReadFailure>> = None;
        let mut aws: Option<Result<Arc<dyn ScaleSetProvider>, ReadFailure>> = None;
        let providers = profile
            .scale_sets
            .iter()
            .map(|set| {
                let key = set.key();
                let what = || source(profile, &key);
                let shared = match key.provider.as_str() {
                    "azure" => Some(&mut azure),
                    "aws" => Some(&mut aws),
                    _ => None,
                };
                if let Some(shared) = shared {
                    shared
                        .get_or_insert_with(|| {
                            providers::for_key(profile, &key).map_err(|err| provider_failure(&what(), err))
                        })
                        .clone()
                } else {
                    providers::for_key(profile, &key).map_err(|err| provider_failure(&what(), err))
                }
            })
            .collect();
        Self { profile: profile.clone(), clock: Clock::system(), octopus, providers }
    }

    /// Stamp snapshots with `clock` instead of the wall clock (a simulator's, in tests).
    pub fn with_clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The clock snapshots are stamped with: plan and act with the same one.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The provider that reads and changes the configured set `key` (None: not configured, or
    /// its provider could not be built).
    pub fn provider(&self, key: &crate::model::ScaleSetKey) -> Option<Arc<dyn ScaleSetProvider>> {
        let at = self.profile.scale_sets.iter().position(|set| &set.key() == key)?;
        self.providers.get(at)?.as_ref().ok().cloned()
    }

    /// Use `provider` for every scale set (tests, and callers that share one provider).
    pub fn with_provider(mut self, provider: Arc<dyn ScaleSetProvider>) -> Self {
        self.providers = self.providers.iter().map(|_| Ok(provider.clone())).collect();
        self
    }

    /// Read everything in the profile's scope. Never fails as a whole: failures are in the snapshot.
    pub async fn collect(&self) -> Snapshot {
        let profile = &self.profile;
        let taken_at = self.clock.now();
        let scale_sets = futures::future::join_all(profile.scale_sets.iter().zip(&self.providers).map(
            |(set, provider)| async move {
                let key = set.key();
                let what = source(profile, &key);
                let (listing, others) = match provider {
                    Ok(provider) => {
                        let listing =
                            provider.listing(&key).await.map_err(|err| provider_failure(&what, err));
                        let window = profile.guard.cooldown_secs;
                        let others = other_scalers::read(provider.as_ref(), &key, window, taken_at).await;
                        (listing, others)
                    }
                    Err(failure) => (Err(failure.clone()), OthersObservation::not_read(failure)),
                };
                ScaleSetObservation { listing, key, match_by: set.match_by, others }
            },
        ));
        let octopus_side = async {
            match &self.octopus {
                Ok(client) => read_octopus(profile, client).await,
                Err(failure) => OctopusSide::failed(failure.clone()),
            }
        };
        let (scale_sets, side) = tokio::join!(scale_sets, octopus_side);
        Snapshot {
            taken_at,
            environment_id: side.environment_id,
            scale_sets,
            targets: side.targets,
            projects: side.projects,
            nodes: side.nodes,
            server_version: side.server_version,
        }
    }
}

/// One-shot: build the clients and read everything in the profile's scope.
pub async fn collect(profile: &Profile) -> Snapshot {
    Collector::new(profile).collect().await
}

/// "scale set rg/vmss from https://management.azure.com", "Auto Scaling group web-asg in eu-west-1".
fn source(profile: &Profile, key: &crate::model::ScaleSetKey) -> String {
    match (key.provider.as_str(), &profile.aws) {
        ("aws", Some(aws)) => match &aws.endpoint_url {
            Some(url) => format!("Auto Scaling group {key} in {} at {url}", aws.region),
            None => format!("Auto Scaling group {key} in {}", aws.region),
        },
        _ => format!("scale set {key} from {}", profile.azure.arm_url),
    }
}

fn provider_failure(what: &str, err: ProviderError) -> ReadFailure {
    ReadFailure::new(what, err.to_string())
}

/// "Octopus targets from https://host/octopus": what, and from which server.
fn octopus_failure(profile: &Profile, what: &str, err: OctopusError) -> ReadFailure {
    ReadFailure::new(format!("{what} from {}", profile.octopus.url), err.to_string())
}

struct OctopusSide {
    environment_id: Option<String>,
    targets: Result<Vec<crate::model::Target>, ReadFailure>,
    projects: Result<Vec<ProjectState>, ReadFailure>,
    nodes: Result<Vec<Node>, ReadFailure>,
    server_version: Result<String, ReadFailure>,
}

impl OctopusSide {
    fn failed(failure: ReadFailure) -> Self {
        Self {
            environment_id: None,
            targets: Err(failure.clone()),
            projects: Err(failure.clone()),
            nodes: Err(failure.clone()),
            server_version: Err(failure),
        }
    }
}

async fn read_octopus(profile: &Profile, client: &OctopusClient) -> OctopusSide {
    let config = &profile.octopus;
    let version = async {
        client.server_version().await.map_err(|e| octopus_failure(profile, "Octopus server version", e))
    };
    let nodes = async { client.nodes().await.map_err(|e| octopus_failure(profile, "Octopus HA nodes", e)) };
    let scoped = async {
        let space = client
            .resolve_space(&config.space)
            .await
            .map_err(|e| octopus_failure(profile, "Octopus space", e))?;
        let environment = client
            .resolve_environment(&space.id, &config.environment)
            .await
            .map_err(|e| octopus_failure(profile, "Octopus environment", e))?;
        Ok::<(Resolved, Resolved), ReadFailure>((space, environment))
    };
    let (version, nodes, scoped) = tokio::join!(version, nodes, scoped);
    let (space, environment) = match scoped {
        Ok(pair) => pair,
        Err(failure) => {
            return OctopusSide {
                environment_id: None,
                targets: Err(failure.clone()),
                projects: Err(failure),
                nodes,
                server_version: version,
            }
        }
    };
    let targets = async {
        client
            .targets(&space.id, &environment.id, &config.roles)
            .await
            .map_err(|e| octopus_failure(profile, "Octopus targets", e))
    };
    let projects = async {
        let mut states = Vec::new();
        for name in &config.projects {
            let what = format!("Octopus project `{name}`");
            let project = client
                .resolve_project(&space.id, name)
                .await
                .map_err(|e| octopus_failure(profile, &what, e))?;
            states.push(
                client
                    .project_state(&space.id, &project, &environment.id)
                    .await
                    .map_err(|e| octopus_failure(profile, &what, e))?,
            );
        }
        Ok(states)
    };
    let (targets, projects) = tokio::join!(targets, projects);
    OctopusSide { environment_id: Some(environment.id), targets, projects, nodes, server_version: version }
}

// ---- the inventory report (stable JSON keys): `report.rs` ----------------------------------------

mod report;
pub use report::{report, InstanceRow, JsonReport, NodeRow, Report, ScaleSetRow, ServerRow, TargetRow};

/// One sentence for stderr: the first failure, and how many more there were.
pub fn failure_sentence(failures: &[ReadFailure]) -> String {
    match failures {
        [] => "nothing failed".into(),
        [only] => format!("could not read {only}"),
        [first, rest @ ..] => format!("could not read {first} (and {} more read(s) failed)", rest.len()),
    }
}
