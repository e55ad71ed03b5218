//! Runs approved reconcile actions: journal the intent → re-read the world → re-check the action
//! (`reconcile::still_valid`) → call Octopus → journal the result. Used by `apply` and the console.
//!
//! Two executors at once (two consoles, a console and a runbook) must never double-delete or
//! double-deploy (invariant 5). Each action holds the profile's apply lock (a file lock in the data
//! dir) from its fresh read until its result is journaled, so a second executor on the same machine
//! reads the world only after the first one's change is visible. Across machines the fresh read
//! still catches a change that landed before it (a deleted target, a queued deployment); a delete
//! that loses the race gets a 404 and is reported as skipped; of two deploys that both POST, the
//! later-queued one is cancelled while still queued (`deploy`, `reconcile::concurrent`).

mod approval;
mod deploy;
mod interrupted;
mod lock;
mod settle;

pub use approval::{confirm_word, confirmation_for, delete_count, Change, Confirmation};
pub use deploy::intent_marker;
pub use interrupted::{resolve_interrupted, InterruptedIntent, SETTLED};
pub use lock::{hold_for_change, path_beside as lock_path, try_hold_hooks_runner, ApplyLock};
pub use settle::{settle_and_report, settle_pending};

use crate::clock::Clock;
use crate::config::Profile;
use crate::inventory::Collector;
use crate::journal::{Journal, JournalAction, JournalError, Outcome};
use crate::model::{Action, PlannedAction};
use crate::octopus::{DeploymentRequest, OctopusClient, OctopusError};
use crate::reconcile::{still_valid, History, MatchedSnapshot};
use crate::snapshot::ReadFailure;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::OnceCell;

#[derive(Debug, Error)]
pub enum ExecutorError {
    #[error("the Octopus API key: {0}")]
    ApiKey(String),
    #[error("the Octopus client: {0}")]
    Client(#[from] OctopusError),
}

/// What happened to one approved action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionReport {
    pub action_id: String,
    /// "delete-target web-3 (Machines-12)": what ran, in words.
    pub summary: String,
    pub outcome: Outcome,
    /// What the server answered when it worked ("Deployments-7, task ServerTasks-9").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Live progress for the console and the headless output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecEvent {
    Started { action_id: String, summary: String },
    Finished(ActionReport),
}

/// Cheap to clone; clones share the clients, the journal and the resolved space.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    profile_name: String,
    profile: Profile,
    journal: Journal,
    octopus: OctopusClient,
    collector: Collector,
    space_id: OnceCell<String>,
    lock_path: PathBuf,
}

impl Executor {
    /// Build the clients the profile needs; actions are journaled to `journal`.
    pub fn new(profile_name: &str, profile: &Profile, journal: Journal) -> Result<Executor, ExecutorError> {
        Self::with_clock(profile_name, profile, journal, Clock::system())
    }

    /// As [`Executor::new`], reading and journaling with `clock` (the CLI's `--sim-clock`).
    pub fn with_clock(
        profile_name: &str,
        profile: &Profile,
        journal: Journal,
        clock: Clock,
    ) -> Result<Executor, ExecutorError> {
        let key = profile.octopus_api_key().map_err(|err| ExecutorError::ApiKey(err.to_string()))?;
        let octopus = OctopusClient::new(&profile.octopus, key)?;
        let collector = Collector::with_octopus(profile, Ok(octopus.clone())).with_clock(clock);
        Ok(Self::with_clients(profile_name, profile, journal, octopus, collector))
    }

    /// As [`Executor::new`] with a client the caller built (tests tune retries and page sizes).
    pub fn with_octopus(
        profile_name: &str,
        profile: &Profile,
        journal: Journal,
        octopus: OctopusClient,
    ) -> Executor {
        let collector = Collector::with_octopus(profile, Ok(octopus.clone()));
        Self::with_clients(profile_name, profile, journal, octopus, collector)
    }

    /// As [`Executor::with_octopus`], re-reading the world with `collector` (tests hand in clients
    /// built with their credentials and the simulator's clock). Journal times come from the
    /// collector's clock, so a fresh read and its journal lines share one notion of "now".
    pub fn with_clients(
        profile_name: &str,
        profile: &Profile,
        journal: Journal,
        octopus: OctopusClient,
        collector: Collector,
    ) -> Executor {
        let lock_path = lock::path_beside(journal.path(), profile_name);
        Executor {
            inner: Arc::new(Inner {
                profile_name: profile_name.to_string(),
                profile: profile.clone(),
                journal,
                octopus,
                collector,
                space_id: OnceCell::new(),
                lock_path,
            }),
        }
    }

    pub fn profile_name(&self) -> &str {
        &self.inner.profile_name
    }

    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// The clients this executor re-reads with; callers planning for it read with the same ones.
    pub fn collector(&self) -> &Collector {
        &self.inner.collector
    }

    /// Run the mutating actions of `approved` in order (waits and notes change nothing and are
    /// left out). `history` is the caller's observation history: each fresh read is observed into
    /// it, so the absence evidence a delete needs keeps growing. Never stops early: every action
    /// gets a report.
    pub async fn run(
        &self,
        approved: &[PlannedAction],
        reason: &str,
        history: &mut History,
        progress: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Vec<ActionReport> {
        let mut reports = Vec::new();
        for planned in approved.iter().filter(|p| p.action.is_mutating()) {
            let summary = planned.action.summary();
            progress(ExecEvent::Started { action_id: planned.id.clone(), summary: summary.clone() });
            let (outcome, detail) = match self.run_one(planned, reason, history).await {
                Ok(done) => done,
                Err(journal) => (Outcome::Failed(format!("not run: {journal}")), None),
            };
            let report = ActionReport { action_id: planned.id.clone(), summary, outcome, detail };
            progress(ExecEvent::Finished(report.clone()));
            reports.push(report);
        }
        reports
    }

    /// One action under the apply lock. Errors only when the journal cannot be written: an action
    /// that cannot be journaled is not run.
    async fn run_one(
        &self,
        planned: &PlannedAction,
        reason: &str,
        history: &mut History,
    ) -> Result<(Outcome, Option<String>), JournalError> {
        let inner = &self.inner;
        let _lock = match ApplyLock::acquire(&inner.lock_path).await {
            Ok(lock) => lock,
            Err(err) => return Ok((Outcome::Failed(format!("cannot take the apply lock: {err}")), None)),
        };
        let action = JournalAction::Planned { action: planned.action.clone() };
        let clock = inner.collector.clock();
        let intent = inner.journal.append_intent(&inner.profile_name, reason, action, clock.now())?;

        let fresh = inner.collector.collect().await;
        history.observe(&MatchedSnapshot::new(&fresh, &inner.profile));
        let (outcome, detail) = match still_valid(&planned.action, &fresh, history, &inner.profile) {
            Err(why) => (Outcome::Skipped(why), None),
            Ok(()) => self.perform(&planned.action, fresh.environment_id.as_deref(), intent.intent_id).await,
        };
        inner.journal.append_result(&intent, outcome.clone(), clock.now())?;
        Ok((outcome, detail))
    }

    async fn perform(
        &self,
        action: &Action,
        environment_id: Option<&str>,
        intent_id: uuid::Uuid,
    ) -> (Outcome, Option<String>) {
        // A lifecycle action talks to the scale set's provider only: Octopus need not answer.
        if matches!(action, Action::CompleteLifecycle { .. } | Action::LifecycleHeartbeat { .. }) {
            return self.lifecycle(action).await;
        }
        let space_id = match self.space_id().await {
            Ok(id) => id,
            Err(failure) => return (Outcome::Failed(failure.to_string()), None),
        };
        let octopus = &self.inner.octopus;
        match action {
            Action::DeleteTarget { target_id, target_name, .. } => {
                match octopus.delete_target(&space_id, target_id).await {
                    // A 200 proves nothing on its own: the target must be gone when read back.
                    Ok(()) => match octopus.target_registered(&space_id, target_id).await {
                        Ok(false) => (Outcome::Done, None),
                        Ok(true) => (
                            Outcome::Failed(format!(
                            "the server answered the DELETE of {target_name} ({target_id}) with success, \
                             but reading it back finds it still registered"
                        )),
                            None,
                        ),
                        Err(err) => (
                            Outcome::Failed(format!(
                                "the server answered the DELETE with success, but reading {target_id} back \
                             failed ({err}): the next run sees the real state"
                            )),
                            None,
                        ),
                    },
                    // Another executor won the race: the target is gone, which is what was wanted.
                    Err(OctopusError::NotFound { .. }) => {
                        (Outcome::Skipped(format!("{target_id} was already deleted by someone else")), None)
                    }
                    Err(err) => (Outcome::Failed(err.to_string()), None),
                }
            }
            Action::Deploy {
                release_id,
                release_version,
                environment_id: planned_env,
                target_ids,
                target_names,
                tenant,
                ..
            } => {
                // The plan's environment is the one the fresh read resolved; a changed config would differ.
                if environment_id.is_some_and(|fresh| fresh != planned_env) {
                    return (
                        Outcome::Skipped("the configured environment changed since the plan".into()),
                        None,
                    );
                }
                let request = DeploymentRequest {
                    release_id: release_id.clone(),
                    environment_id: planned_env.clone(),
                    specific_machine_ids: target_ids.clone(),
                    comments: format!(
                        "scaleguard: release {release_version}{} to {} new target(s) after a scale event {}",
                        tenant.as_ref().map_or(String::new(), |t| format!(" for tenant {}", t.name)),
                        target_ids.len(),
                        intent_marker(intent_id)
                    ),
                    use_guided_failure: false,
                    tenant_id: tenant.as_ref().map(|t| t.id.clone()),
                };
                let names = target_ids.iter().cloned().zip(target_names.iter().cloned()).collect();
                deploy::DeployCall { octopus, space_id: &space_id, request, intent_id, names }.run().await
            }
            Action::CompleteLifecycle { .. } | Action::LifecycleHeartbeat { .. } => {
                self.lifecycle(action).await
            }
            Action::Wait { .. } | Action::WaitForDeployment { .. } | Action::Note { .. } => {
                (Outcome::Skipped("information only".into()), None)
            }
        }
    }

    /// Complete a lifecycle action, or heartbeat it, through the set's provider. AWS refuses a
    /// completion no action waits for any more (completed by someone else, or timed out): that
    /// is reported as skipped, the instance having moved on.
    async fn lifecycle(&self, action: &Action) -> (Outcome, Option<String>) {
        let (scale_set, instance_id, hook) = match action {
            Action::CompleteLifecycle { scale_set, instance_id, hook, .. }
            | Action::LifecycleHeartbeat { scale_set, instance_id, hook, .. } => {
                (scale_set, instance_id, hook)
            }
            _ => return (Outcome::Skipped("not a lifecycle action".into()), None),
        };
        let Some(provider) = self.inner.collector.provider(scale_set) else {
            return (Outcome::Failed(format!("no provider reads {scale_set}")), None);
        };
        let done = match action {
            Action::CompleteLifecycle { result, .. } => {
                provider.complete_lifecycle(scale_set, instance_id, hook, *result).await
            }
            _ => provider.lifecycle_heartbeat(scale_set, instance_id, hook).await,
        };
        match done {
            Ok(()) => (Outcome::Done, None),
            Err(crate::providers::ProviderError::Rejected { detail: Some(detail), .. })
                if detail.to_ascii_lowercase().contains("no active lifecycle action") =>
            {
                (
                    Outcome::Skipped(format!("no lifecycle action holds {instance_id} any more ({detail})")),
                    None,
                )
            }
            Err(err) => (Outcome::Failed(err.to_string()), None),
        }
    }

    async fn space_id(&self) -> Result<String, ReadFailure> {
        let inner = &self.inner;
        inner
            .space_id
            .get_or_try_init(|| async {
                inner
                    .octopus
                    .resolve_space(&inner.profile.octopus.space)
                    .await
                    .map(|space| space.id)
                    .map_err(|err| ReadFailure::new("the Octopus space", err.to_string()))
            })
            .await
            .cloned()
    }
}
