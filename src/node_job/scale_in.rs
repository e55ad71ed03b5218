//! The drain-first scale-in of the HA nodes' scale set (IO around `ha::scale_in`): plan, then one
//! resumable job: observe → step → re-validate → journal → call → journal.
//!
//! Every step is journaled before and after: the victims' drain steps as `Drain` records, the VM
//! delete as one `DeleteInstances`. A killed job is resumed from the journal by the next run
//! (`scale_in_resume`), and the pure step decides from the real state, so nothing the world shows
//! done is sent twice.

use super::scale_in_plan::ScaleInPlan;
use super::scale_in_resume::{pending_scale_in, PendingScaleIn};
pub use super::scale_in_session::ScaleInSession;
use super::{NodeJobError, NodeJobRunner};
use crate::config::Profile;
use crate::drain::{DrainChoice, DrainState};
use crate::guard::ScaleRequest;
use crate::ha::scale_in::ScaleInJob;
use crate::journal::{Journal, JournalAction};
use crate::model::ScaleSetKey;
use crate::providers::{self, ScaleSetProvider};
use crate::scaling::Scaling;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// Runs drain-first scale-ins for one profile: the node runner (Octopus, journal, clock) plus the
/// profile's scale-set provider.
#[derive(Clone)]
pub struct ScaleInRunner {
    pub(crate) nodes: NodeJobRunner,
    pub(crate) profile: Profile,
    pub(crate) provider: Option<Arc<dyn ScaleSetProvider>>,
}

/// One victim's progress, for a line of the console's Jobs box and the CLI's stderr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VictimProgress {
    pub node_id: String,
    pub node_name: String,
    pub instance_id: String,
    pub state: DrainState,
    pub state_name: &'static str,
    pub drained: bool,
    pub running_tasks: usize,
}

/// The job's progress after a tick or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleInProgress {
    pub scale_set: String,
    pub phase: &'static str,
    pub victims: Vec<VictimProgress>,
    /// The last transition's reasons.
    pub reasons: Vec<String>,
    /// What this tick or answer sent, one sentence each.
    pub sent: Vec<String>,
    pub resumed: bool,
    pub elapsed_secs: u64,
    pub done: bool,
    pub aborted: bool,
}

impl ScaleInProgress {
    /// "vmss-octo: draining; OCTO000003 drained, OCTO000002 waiting for tasks (1 running)".
    pub fn line(&self) -> String {
        let victims: Vec<String> = self
            .victims
            .iter()
            .map(|v| {
                if v.drained {
                    format!("{} drained", v.node_name)
                } else {
                    format!("{} {} ({} running)", v.node_name, v.state_name, v.running_tasks)
                }
            })
            .collect();
        format!("{}: {}, {}s; {}", self.scale_set, self.phase, self.elapsed_secs, victims.join(", "))
    }

    /// The victims waiting for the operator's answer (past their drain deadline).
    pub fn questions(&self) -> Vec<&VictimProgress> {
        self.victims.iter().filter(|v| matches!(v.state, DrainState::Question { .. })).collect()
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleInStatus {
    Done,
    /// Returned without waiting while the job still waits (tasks running).
    InProgress,
    /// A victim's deadline passed and no answer was given; the job stays open in the journal.
    NeedsAnswer,
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleInOutcome {
    pub status: ScaleInStatus,
    pub progress: ScaleInProgress,
}

impl ScaleInRunner {
    pub fn new(nodes: NodeJobRunner, profile: Profile) -> Self {
        Self { nodes, profile, provider: None }
    }

    /// The node runner underneath (list, admit, hold new nodes).
    pub fn nodes(&self) -> &NodeJobRunner {
        &self.nodes
    }

    /// Use this provider instead of building one from the config (tests, the console's).
    pub fn with_provider(mut self, provider: Arc<dyn ScaleSetProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The configured nodes' scale set, or why there is none.
    pub fn nodes_scale_set(&self) -> Result<ScaleSetKey, NodeJobError> {
        match self.profile.nodes_scale_set() {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(NodeJobError::Invalid(
                "no scale set hosts the HA nodes: set nodes.scale_set in the profile to the configured scale set \
                 whose VMs run them"
                    .into(),
            )),
            Err(why) => Err(NodeJobError::Invalid(why)),
        }
    }

    /// `set` names the nodes' scale set (case-insensitive name or resource_group/name).
    pub fn check_set(&self, set: &str) -> Result<ScaleSetKey, NodeJobError> {
        let key = self.nodes_scale_set()?;
        let wanted = set.trim();
        if key.name.eq_ignore_ascii_case(wanted) || key.to_string().eq_ignore_ascii_case(wanted) {
            Ok(key)
        } else {
            Err(NodeJobError::Invalid(format!(
                "`{wanted}` is not the HA nodes' scale set (nodes.scale_set is {}): a drain-first scale-in is for \
                 that set; scale other sets with `scaleguard scale`",
                key.name
            )))
        }
    }

    pub(super) fn provider(&self, key: &ScaleSetKey) -> Result<Arc<dyn ScaleSetProvider>, NodeJobError> {
        match &self.provider {
            Some(provider) => Ok(provider.clone()),
            None => {
                providers::for_key(&self.profile, key).map_err(|err| NodeJobError::Invalid(err.to_string()))
            }
        }
    }

    fn scaling(&self, key: &ScaleSetKey) -> Result<Scaling, NodeJobError> {
        let journal = Journal::open(self.nodes.journal.path())?;
        let scaling = Scaling::new(self.nodes.profile.clone(), self.profile.clone(), journal)
            .with_provider(self.provider(key)?)
            .with_clock(self.nodes.clock.clone());
        Ok(scaling)
    }

    /// The nodes with the VM each runs on (`vm` null when unpaired, with the reason).
    pub async fn list(&self) -> Result<Vec<super::NodeRow>, NodeJobError> {
        let Ok(key) = self.nodes_scale_set() else { return self.nodes.list().await };
        let listing = match self.provider(&key) {
            Ok(provider) => provider.listing(&key).await.map(|l| l.instances).map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        self.nodes.list_with(Some(listing.as_deref().map_err(Clone::clone))).await
    }

    /// An unfinished scale-in of the nodes' set in the journal.
    pub fn pending(&self) -> Result<Option<PendingScaleIn>, NodeJobError> {
        let (records, _) = crate::journal::read_all(self.nodes.journal.path())?;
        let key = self.nodes_scale_set().ok();
        Ok(pending_scale_in(&records, &self.nodes.profile, key.as_ref()))
    }

    /// Read the set, the guard's verdict and the nodes, and choose `count` victims. Changes nothing.
    pub async fn plan(
        &self,
        key: &ScaleSetKey,
        count: u32,
        reason: &str,
        force: bool,
    ) -> Result<ScaleInPlan, NodeJobError> {
        if count == 0 {
            return Err(NodeJobError::Invalid(
                "a scale-in removes at least one node: --count 0 would change nothing".into(),
            ));
        }
        let scaling = self.scaling(key)?;
        let listing =
            self.provider(key)?.get_scale_set(key).await.map_err(|e| NodeJobError::Invalid(e.to_string()))?;
        if count > listing.capacity {
            // Never clamped: removing "every VM" is not what was asked, and says so.
            return Err(NodeJobError::Invalid(format!(
                "--count {count} is more than the {} VM(s) {} has; nothing was changed",
                listing.capacity, key.name
            )));
        }
        let request = ScaleRequest {
            scale_set: key.clone(),
            new_capacity: listing.capacity.saturating_sub(count),
            reason: reason.to_string(),
            force,
        };
        let proposal =
            scaling.prepare_drain_first(request).await.map_err(|e| NodeJobError::Invalid(e.to_string()))?;
        let nodes = self.nodes.client.nodes().await?;
        Ok(ScaleInPlan::new(proposal, nodes, self.nodes.now(), &self.nodes.config))
    }

    /// Resume the unfinished scale-in, or start the one `plan` describes after reading everything
    /// again: the same victims must still be chosen, and the guard must still allow it.
    pub async fn open(
        &self,
        plan: Option<&ScaleInPlan>,
        reason: &str,
    ) -> Result<ScaleInSession, NodeJobError> {
        if let Some(pending) = self.pending()? {
            let pending_ids: std::collections::BTreeSet<&str> =
                pending.job.victims.iter().map(|v| v.victim.node_id.as_str()).collect();
            let same = |shown: &ScaleInPlan| {
                let shown_ids: std::collections::BTreeSet<&str> =
                    shown.choice.victims.iter().map(|v| v.node_id.as_str()).collect();
                shown_ids == pending_ids
            };
            // Never run another job than the one shown: an unfinished one is resumed on its own.
            if plan.is_none_or(same) {
                return Ok(ScaleInSession::resumed(self.clone(), pending));
            }
            let names: Vec<String> = pending.job.victims.iter().map(|v| v.victim.label()).collect();
            return Err(NodeJobError::Invalid(format!(
                "an unfinished drain-first scale-in of {} ({}) is in the journal: resume it first with \
                 `scaleguard node scale-in {}`; nothing was changed",
                pending.job.scale_set.name,
                names.join(", "),
                pending.job.scale_set.name
            )));
        }
        let Some(shown) = plan else {
            return Err(NodeJobError::Invalid("no unfinished scale-in to resume".into()));
        };
        let key = shown.proposal.key().clone();
        let fresh = self.plan(&key, shown.count(), reason, shown.proposal.request.force).await?;
        if !fresh.is_allowed() {
            return Err(NodeJobError::Invalid(format!(
                "refused, nothing was changed: {}",
                fresh.refusals().join("; ")
            )));
        }
        // The same nodes on the same VMs: the VMs deleted are the ones the operator approved.
        let identity = |plan: &ScaleInPlan| -> Vec<(String, String)> {
            plan.choice.victims.iter().map(|v| (v.node_id.clone(), v.instance_id.clone())).collect()
        };
        if identity(shown) != identity(&fresh) {
            let labels = |plan: &ScaleInPlan| {
                plan.choice.victims.iter().map(|v| v.label()).collect::<Vec<_>>().join(", ")
            };
            return Err(NodeJobError::Invalid(format!(
                "the cluster changed since it was shown: now {} would be removed instead of {}; nothing was changed, \
                 ask again",
                labels(&fresh),
                labels(shown)
            )));
        }
        let now = self.nodes.now();
        let job = ScaleInJob::start(
            key.clone(),
            fresh.choice.victims.clone(),
            &fresh.nodes,
            now,
            &self.nodes.config,
        )
        .map_err(NodeJobError::Refused)?;
        let action = JournalAction::ScaleInJob {
            scale_set: key,
            victims: fresh.choice.victims.clone(),
            wait_secs: self.nodes.config.drain_deadline_secs,
            hook: None,
        };
        let reason = if reason.trim().is_empty() { "drain-first scale-in of the HA nodes" } else { reason };
        let intent = self.nodes.journal.append_intent(&self.nodes.profile, reason, action, now)?;
        Ok(ScaleInSession {
            runner: self.clone(),
            job,
            intent,
            started_at: now,
            resumed: false,
            uncertain_cancels: Vec::new(),
            disable_drain_unfinished: Vec::new(),
            vm_delete_open: None,
            steps_open: Vec::new(),
            last: None,
        })
    }

    /// Run the job to its end (or until a question nobody answers): `on_question` gets the
    /// progress and answers (node id, choice), or None to stop with the job left open.
    pub async fn run(
        &self,
        plan: Option<&ScaleInPlan>,
        reason: &str,
        poll: Duration,
        wait: bool,
        on_progress: &mut (dyn FnMut(&ScaleInProgress) + Send),
        on_question: &mut (dyn FnMut(&ScaleInProgress) -> Option<(String, DrainChoice)> + Send),
    ) -> Result<ScaleInOutcome, NodeJobError> {
        let mut session = self.open(plan, reason).await?;
        loop {
            let before = session.job.phase.clone();
            let mut progress = session.tick().await?;
            on_progress(&progress);
            if !progress.questions().is_empty() {
                match on_question(&progress) {
                    Some((node, choice)) => {
                        progress = session.answer(&node, choice).await?;
                        on_progress(&progress);
                    }
                    None => return Ok(ScaleInOutcome { status: ScaleInStatus::NeedsAnswer, progress }),
                }
            }
            if progress.done {
                return Ok(ScaleInOutcome { status: ScaleInStatus::Done, progress });
            }
            if progress.aborted {
                return Ok(ScaleInOutcome { status: ScaleInStatus::Aborted, progress });
            }
            let moved = !progress.sent.is_empty() || before != session.job.phase;
            if !wait && !moved {
                return Ok(ScaleInOutcome { status: ScaleInStatus::InProgress, progress });
            }
            tokio::time::sleep(poll).await;
        }
    }
}
