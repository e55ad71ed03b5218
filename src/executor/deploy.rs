//! One deploy action against Octopus: POST the deployment carrying the journal intent id, find
//! out whether an ambiguous failure landed anyway, then apply the cross-machine rule
//! (`reconcile::concurrent`): a deployment of the release queued earlier that covers our targets
//! wins, and ours is cancelled while it is still queued.

use crate::journal::Outcome;
use crate::model::{Deployment, TaskState};
use crate::octopus::{DeploymentRequest, OctopusClient, OctopusError};
use crate::reconcile::concurrent::{arbitrate, queue_order, Arbitration};
use std::collections::HashMap;
use uuid::Uuid;

/// The text that marks a deployment as the one this intent created (in its Comments).
pub fn intent_marker(intent_id: Uuid) -> String {
    format!("[scaleguard intent {intent_id}]")
}

pub(super) struct DeployCall<'a> {
    pub octopus: &'a OctopusClient,
    pub space_id: &'a str,
    pub request: DeploymentRequest,
    pub intent_id: Uuid,
    /// Target id → name, for messages.
    pub names: HashMap<String, String>,
}

impl DeployCall<'_> {
    pub(super) async fn run(self) -> (Outcome, Option<String>) {
        let marker = intent_marker(self.intent_id);
        let posted = self.octopus.create_deployment(self.space_id, &self.request).await;
        // A throttled POST is retried by the client; if a server acted on one it refused, the
        // marker shows it below. Only a request that certainly changed nothing ends here.
        if let Err(err) = &posted {
            if !err.may_have_acted() && !matches!(err, OctopusError::Throttled { .. }) {
                return failed(err.to_string());
            }
        }
        let all = match self.release_deployments().await {
            Ok(all) => all,
            Err(read) => {
                return match posted {
                    Ok(created) => (
                        Outcome::Done,
                        Some(format!(
                            "{}; the check for a concurrent deployment of the release could not read its \
                             deployments ({read})",
                            describe(&created)
                        )),
                    ),
                    Err(err) => failed(format!(
                        "{err}; reading back whether it was created failed too ({read}): not sent again, \
                         the next run sees the real state"
                    )),
                };
            }
        };
        // Every deployment this intent created: normally one, more only if a server acted on a
        // request it answered with a refusal.
        let mut mine: Vec<Deployment> =
            all.iter().filter(|d| d.comments.contains(&marker)).cloned().collect();
        if let Ok(created) = &posted {
            if !mine.iter().any(|d| crate::model::same_octopus_id(&d.id, &created.id)) {
                mine.push(created.clone());
            }
        }
        mine.sort_by(queue_order);
        let Some(ours) = mine.first().cloned() else {
            let err = posted.err().map(|e| e.to_string()).unwrap_or_default();
            return failed(format!(
                "{err}; no deployment carrying this run's intent id exists, so the POST is not sent again: \
                 the next run plans afresh"
            ));
        };
        let mut notes = Vec::new();
        if let Err(err) = &posted {
            notes.push(format!("the POST failed ({err}) but the deployment was created"));
        }
        for extra in &mine[1..] {
            notes.push(self.cancel_duplicate(extra).await);
        }
        let mut detail = describe(&ours);
        for note in notes {
            detail = format!("{detail}; {note}");
        }
        let task = ours.task_id.clone().unwrap_or_else(|| "no task".into());
        match arbitrate(&ours, &all, &self.request.specific_machine_ids) {
            Arbitration::Keep => (Outcome::Done, Some(detail)),
            Arbitration::CancelOurs { earlier, overlap } => {
                let why = format!(
                    "{} (queued {}) already covers {}",
                    earlier.id,
                    queued_at(earlier),
                    self.named(&overlap)
                );
                match self.octopus.cancel_task(&task).await {
                    Ok(()) => (
                        Outcome::Skipped(format!(
                            "{why}: this run's {} (task {task}) was cancelled while still queued, so the \
                             release goes to each target once",
                            ours.id
                        )),
                        Some(detail),
                    ),
                    Err(err) => failed(format!(
                        "{why}, and cancelling this run's {} (task {task}) failed: {err}; cancel it in Octopus",
                        ours.id
                    )),
                }
            }
            Arbitration::TooLateToCancel { earlier, overlap } => {
                let state = ours.task_state.map_or("in an unknown state", |s| s.as_str());
                failed(format!(
                    "{} (queued {}) also covers {}, and this run's {} (task {task}) is already {state}: \
                     not cancelled halfway; check those targets in Octopus",
                    earlier.id,
                    queued_at(earlier),
                    self.named(&overlap),
                    ours.id
                ))
            }
        }
    }

    /// A second deployment carrying this intent's marker: cancel it while it is queued.
    async fn cancel_duplicate(&self, extra: &Deployment) -> String {
        let Some(task) = &extra.task_id else {
            return format!("{} also carries this run's intent id but has no task", extra.id);
        };
        if extra.task_state != Some(TaskState::Queued) {
            let state = extra.task_state.map_or("in an unknown state", |s| s.as_str());
            return format!("{} also carries this run's intent id and is already {state}", extra.id);
        }
        match self.octopus.cancel_task(task).await {
            Ok(()) => format!("{} (a second copy the server made) was cancelled while queued", extra.id),
            Err(err) => format!("{} (a second copy the server made) could not be cancelled: {err}", extra.id),
        }
    }

    async fn release_deployments(&self) -> Result<Vec<Deployment>, OctopusError> {
        let request = &self.request;
        self.octopus
            .release_deployments(
                self.space_id,
                &request.release_id,
                &request.environment_id,
                request.tenant_id.as_deref(),
                HashMap::new(),
            )
            .await
    }

    fn named(&self, ids: &[String]) -> String {
        let names: Vec<String> = ids
            .iter()
            .map(|id| self.names.get(id).map_or(id.clone(), |name| format!("{name} ({id})")))
            .collect();
        names.join(", ")
    }
}

fn describe(deployment: &Deployment) -> String {
    format!("{}, task {}", deployment.id, deployment.task_id.as_deref().unwrap_or("none"))
}

fn queued_at(deployment: &Deployment) -> String {
    let at = deployment.created.and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok());
    at.map_or_else(|| "earlier".to_string(), |at| format!("earlier, at {at}"))
}

fn failed(why: String) -> (Outcome, Option<String>) {
    (Outcome::Failed(why), None)
}
