//! `scaleguard node hooks`: provider-driven scale-in of the HA nodes' scale set on AWS.
//!
//! When Auto Scaling terminates an instance of the nodes' group (its own scale-in, a health
//! replacement, an instance refresh), a terminating lifecycle hook holds it in
//! `Terminating:Wait`. Each pass of this runner:
//! 1. lists the group and the nodes; for each waiting instance that hosts a node (paired one to
//!    one, `ha::hook::host_of`) opens a provider-driven drain job (journaled with the hook as
//!    first seen), unless one is open;
//! 2. advances every open job one step (the same drain machine as `node scale-in`; the job never
//!    removes the VM, Auto Scaling does once the hook is completed; then the node record goes);
//! 3. for each waiting instance, asks `ha::hook::decide` with the drain's progress and sends a
//!    heartbeat (more time) or CONTINUE (drained, or the deadline came), journaled before and after.
//!
//! An instance whose node cannot be told (names unreadable, the nodes not listed) is only ever
//! extended, up to the deadline, never completed. An instance that hosts no node is the reconcile
//! plan's (`scaleguard apply` deletes its targets, then completes the hook).

use super::hooks_journal::{settle_open_call, HookCalls};
use super::scale_in::{ScaleInProgress, ScaleInRunner, ScaleInSession};
use super::scale_in_resume::{pending_hook_jobs, pending_scale_in};
use super::NodeJobError;
use crate::ha::hook::{self, DrainProgress, HookCall, HookDecision, HookHost, HookWait, TerminatingWait};
use crate::ha::Victim;
use crate::journal::{JournalAction, Outcome, Record};
use crate::model::{LifecycleResult, ScaleSetKey};
use crate::providers::ScaleSetProvider;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// What one pass did about one waiting instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookLine {
    pub instance_id: String,
    /// The node it hosts, when known.
    pub node: Option<String>,
    pub hook: Option<String>,
    /// `heartbeat`, `continue`, `wait`, `held` (not ours to complete) or `left` (the reconcile
    /// plan's, or nothing can be sent).
    pub action: &'static str,
    pub why: String,
    /// The call failed: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl HookLine {
    /// "i-0abc (IP-10-0-1-5), hook drain-node: heartbeat — 1 task(s) still running; ...".
    pub fn line(&self) -> String {
        let node = self.node.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
        let hook = self.hook.as_deref().map(|h| format!(", hook {h}")).unwrap_or_default();
        let failed = self.failed.as_deref().map(|f| format!(" — FAILED: {f}")).unwrap_or_default();
        format!("{}{node}{hook}: {} — {}{failed}", self.instance_id, self.action, self.why)
    }
}

/// One pass of the runner.
#[derive(Debug, Clone, Serialize)]
pub struct HookPass {
    pub scale_set: String,
    /// The waiting instances and what was done about each.
    pub hooks: Vec<HookLine>,
    /// The provider-driven drain jobs open at the start of the pass, after their step.
    pub jobs: Vec<ScaleInProgress>,
    /// Jobs that could not advance this pass, one sentence each (their hooks were only extended).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub job_errors: Vec<String>,
    /// Why the group could not be listed (nothing was extended or completed from the listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_failed: Option<String>,
}

impl HookPass {
    /// Nothing waits and no job is open: the runner has nothing to watch.
    pub fn is_idle(&self) -> bool {
        self.listing_failed.is_none()
            && self.jobs.iter().all(|j| j.done || j.aborted)
            && self.hooks.is_empty()
    }

    /// A call failed or the group could not be listed.
    pub fn has_failure(&self) -> bool {
        self.listing_failed.is_some()
            || !self.job_errors.is_empty()
            || self.hooks.iter().any(|h| h.failed.is_some())
    }
}

impl ScaleInRunner {
    /// One pass over the nodes' group: open, advance and answer. `poll`: how often passes run
    /// (a hook is extended two passes before it would time out).
    pub async fn hooks_pass(&self, poll: Duration) -> Result<HookPass, NodeJobError> {
        let key = self.nodes_scale_set()?;
        let provider = self.provider(&key)?;
        let listing = provider.listing(&key).await;
        let (listing, listing_failed) = match listing {
            Ok(listing) => (Some(listing), None),
            Err(err) => (None, Some(format!("{} could not be listed: {err}", key.name))),
        };
        let group = match &listing {
            Some(listing) => match listing.state.aws.as_deref() {
                Some(group) => Some((group, listing.instances.as_slice())),
                None => {
                    return Err(NodeJobError::Invalid(format!(
                        "{} is not an Auto Scaling group: on Azure the terminate notification is visible only \
                         inside the VM, so scale the nodes' set in through `scaleguard node scale-in {}` (drain first)",
                        key.name, key.name
                    )))
                }
            },
            None => None,
        };
        let nodes = self.nodes.client.nodes().await.map_err(|err| err.to_string());
        let waits: Vec<TerminatingWait<'_>> = match group {
            Some((group, instances)) => {
                hook::terminating_waits(group, instances, nodes.as_deref().map_err(String::as_str))
            }
            None => Vec::new(),
        };
        let (mut records, _) = crate::journal::read_all(self.nodes.journal.path())?;
        self.settle_open_calls(&records, &key, listing.as_ref().map(|_| waits.as_slice()))?;

        let profile = &self.nodes.profile;
        let pending = pending_hook_jobs(&records, profile, &key);
        // A node an operator's scale-in is draining is that job's: its progress answers the hook.
        // An aborted one (its "drain off" still unfinished) drains nothing: its node's instance is
        // held like any other.
        let operator_job = pending_scale_in(&records, profile, Some(&key))
            .map(|p| p.job)
            .filter(|job| !matches!(job.phase, crate::ha::scale_in::ScaleInPhase::Aborted { .. }));
        let mut opened = Vec::new();
        for wait in &waits {
            let (Ok(found), HookHost::Node { node_id, node_name }) = (&wait.hook, &wait.host) else {
                continue;
            };
            let has_job = pending.iter().any(|p| p.job.victims.iter().any(|v| v.victim.node_id == *node_id))
                || operator_job.as_ref().is_some_and(|job| job.victim(node_id).is_some());
            if !has_job {
                let first = HookWait::first_seen(&wait.instance.instance_id, found, self.nodes.now());
                opened.push(self.open_job(&key, wait, node_id, node_name, first)?);
            }
        }
        // The jobs just opened join the ones the journal held (no second read of the journal).
        records.append(&mut opened);
        let pending = pending_hook_jobs(&records, profile, &key);
        let calls = HookCalls::of(&records, profile, &key);

        let mut jobs = Vec::new();
        let mut job_errors = Vec::new();
        // Each job's hook (as journaled) with its job after the step, or why it could not step.
        type Stepped = (crate::ha::scale_in::ScaleInJob, usize);
        let mut stepped: Vec<(HookWait, Option<String>, Result<Stepped, String>)> = Vec::new();
        for job in pending {
            let hook = job.hook.clone();
            let victim = job.job.victims.first().map(|v| v.victim.node_id.clone());
            let since = Some(job.intent.time);
            let mut session = ScaleInSession::resumed(self.clone(), job);
            // A job that cannot step (Octopus unreachable) must not stop the hooks from being
            // extended: its instance is then held as unsure.
            let progress = advance(&mut session).await.map_err(|err| err.to_string());
            let outcome = match progress {
                Ok(progress) => {
                    // The tasks its node runs, as the step counted them, for the hook's words.
                    let running = progress.victims.iter().map(|v| v.running_tasks).sum();
                    jobs.push(progress);
                    Ok((session.job().clone(), running))
                }
                Err(why) => {
                    let names: Vec<&str> =
                        session.job().victims.iter().map(|v| v.victim.node_name.as_str()).collect();
                    job_errors
                        .push(format!("the drain job of {} could not advance: {why}", names.join(", ")));
                    Err(why)
                }
            };
            if let Some(hook) = hook {
                stepped.push((calls.with_journal(hook, since), victim, outcome));
            }
        }

        let mut lines = Vec::new();
        for wait in &waits {
            let instance_id = &wait.instance.instance_id;
            let found = match &wait.hook {
                Ok(found) => *found,
                Err(why) => {
                    lines.push(line(wait, None, "left", why.clone()));
                    continue;
                }
            };
            // The job of the node the instance hosts now (a node that re-registered under another
            // id has a job of its own); for a host that cannot be told, any job on the instance.
            let job = stepped
                .iter()
                .filter(|(w, _, _)| &w.instance_id == instance_id && w.hook_name == found.name)
                .find(|(_, victim, _)| match &wait.host {
                    HookHost::Node { node_id, .. } => victim.as_ref() == Some(node_id),
                    _ => true,
                })
                .map(|(w, _, outcome)| (w, outcome));
            let journaled = || {
                let first = HookWait::first_seen(instance_id, found, self.nodes.now());
                calls.with_journal(first, None)
            };
            let (hook_wait, progress) = match (&wait.host, job) {
                (HookHost::NoNode, None) => {
                    let why = "it hosts no HA node: the reconcile plan (`scaleguard apply`) deletes its targets and \
                               completes the hook";
                    lines.push(line(wait, Some(found.name.clone()), "left", why.into()));
                    continue;
                }
                (_, Some((hook_wait, Err(why)))) => (
                    hook_wait.clone(),
                    DrainProgress::Unsure { why: format!("its drain job could not advance ({why})") },
                ),
                (HookHost::Node { .. } | HookHost::NoNode, Some((hook_wait, Ok((job, running))))) => {
                    // A job's node that is gone since (NoNode) has nothing left to drain.
                    let node_id = job.victims.first().map(|v| v.victim.node_id.as_str());
                    let progress = match DrainProgress::of(job, node_id) {
                        DrainProgress::Draining { running: counted } => {
                            DrainProgress::Draining { running: counted.max(*running) }
                        }
                        other => other,
                    };
                    (hook_wait.clone(), progress)
                }
                (HookHost::Unsure { .. }, Some((hook_wait, Ok(_)))) => {
                    (hook_wait.clone(), DrainProgress::for_host(None, &wait.host))
                }
                (HookHost::Node { node_id, .. }, None) => match &operator_job {
                    Some(op) if op.victim(node_id).is_some() => {
                        (journaled(), DrainProgress::of(op, Some(node_id)))
                    }
                    _ => {
                        let why = "its drain job could not be opened".to_string();
                        (journaled(), DrainProgress::Unsure { why })
                    }
                },
                (HookHost::Unsure { .. }, None) => (journaled(), DrainProgress::for_host(None, &wait.host)),
            };
            let margin = margin_secs(poll, hook_wait.heartbeat_timeout_secs);
            let now = self.nodes.now();
            let decision =
                hook::decide(&hook_wait, &progress, now, self.nodes.config.hook_deadline_secs, margin);
            let node = node_name(&wait.host);
            let done = match decision {
                HookDecision::Heartbeat { why } => {
                    self.call(&provider, &key, wait, &found.name, node, HookCall::Heartbeat, &why).await?
                }
                HookDecision::Complete { why } => {
                    self.call(&provider, &key, wait, &found.name, node, HookCall::Continue, &why).await?
                }
                HookDecision::Wait { why, .. } => {
                    let action = if matches!(wait.host, HookHost::Unsure { .. }) { "held" } else { "wait" };
                    line(wait, Some(found.name.clone()), action, why)
                }
            };
            lines.push(done);
        }
        Ok(HookPass { scale_set: key.name.clone(), hooks: lines, jobs, job_errors, listing_failed })
    }

    /// Open the provider-driven drain job for the node on a waiting instance.
    fn open_job(
        &self,
        key: &ScaleSetKey,
        wait: &TerminatingWait<'_>,
        node_id: &str,
        node_name: &str,
        first: HookWait,
    ) -> Result<Record, NodeJobError> {
        let victim = Victim {
            node_id: node_id.to_string(),
            node_name: node_name.to_string(),
            instance_id: wait.instance.instance_id.clone(),
            vm_id: wait.instance.vm_id.clone(),
            computer_name: wait.instance.computer_name.clone(),
            why: format!("Auto Scaling is terminating its instance (hook {})", first.hook_name),
        };
        let reason = format!(
            "Auto Scaling is terminating {} and hook {} holds it: draining {node_name} first; {}",
            victim.instance_id,
            first.hook_name,
            first.expiry_line()
        );
        let action = JournalAction::ScaleInJob {
            scale_set: key.clone(),
            victims: vec![victim],
            wait_secs: self.nodes.config.drain_deadline_secs,
            hook: Some(first),
        };
        Ok(self.nodes.journal.append_intent(&self.nodes.profile, &reason, action, self.nodes.now())?)
    }

    /// Journal, send, journal one hook call.
    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        provider: &Arc<dyn ScaleSetProvider>,
        key: &ScaleSetKey,
        wait: &TerminatingWait<'_>,
        hook_name: &str,
        node_name: Option<String>,
        call: HookCall,
        why: &str,
    ) -> Result<HookLine, NodeJobError> {
        let runner = &self.nodes;
        let instance_id = &wait.instance.instance_id;
        let _lock = crate::executor::hold_for_change(&runner.journal, &runner.profile).await?;
        let action = JournalAction::LifecycleHook {
            scale_set: key.clone(),
            instance_id: instance_id.clone(),
            hook: hook_name.to_string(),
            node_name,
            call,
            why: why.to_string(),
        };
        let intent = runner.journal.append_intent(&runner.profile, why, action, runner.now())?;
        let sent = match call {
            HookCall::Heartbeat => provider.lifecycle_heartbeat(key, instance_id, hook_name).await,
            HookCall::Continue => {
                provider.complete_lifecycle(key, instance_id, hook_name, LifecycleResult::Continue).await
            }
        };
        let mut failed = sent.err().map(|err| err.to_string());
        let (outcome, note) = match &failed {
            None => (Outcome::Done, None),
            // A CONTINUE that landed behind a lost answer is refused when repeated (no active
            // lifecycle action): settled as a killed run's is, by whether the instance still waits.
            Some(err) if call == HookCall::Continue && !still_waits(provider, key, instance_id).await => {
                let note = format!("the instance no longer waits on its hook (the answer was: {err})");
                failed = None;
                (Outcome::Done, Some(note))
            }
            Some(err) => (Outcome::Failed(err.clone()), None),
        };
        runner.journal.append_result_noted(&intent, outcome, note, runner.now())?;
        let action = match call {
            HookCall::Heartbeat => "heartbeat",
            HookCall::Continue => "continue",
        };
        let mut done = line(wait, Some(hook_name.to_string()), action, why.to_string());
        done.failed = failed;
        Ok(done)
    }

    /// Close the hook calls a killed run left without a result, from what the listing shows.
    fn settle_open_calls(
        &self,
        records: &[Record],
        key: &ScaleSetKey,
        waits: Option<&[TerminatingWait<'_>]>,
    ) -> Result<(), NodeJobError> {
        let runner = &self.nodes;
        for record in HookCalls::of(records, &runner.profile, key).open() {
            let JournalAction::LifecycleHook { instance_id, call, .. } = &record.action else { continue };
            let still_waiting =
                waits.map(|waits| waits.iter().any(|w| &w.instance.instance_id == instance_id));
            let Some((outcome, seen)) = settle_open_call(*call, still_waiting) else { continue };
            let note = Some(format!("{}: {seen}", crate::executor::SETTLED));
            runner.journal.append_result_noted(&record, outcome, note, runner.now())?;
        }
        Ok(())
    }
}

/// Does `instance_id` still wait in `Terminating:Wait`, as listed now? Only a listing that shows
/// it in another state, or is proven complete without it, says no.
async fn still_waits(provider: &Arc<dyn ScaleSetProvider>, key: &ScaleSetKey, instance_id: &str) -> bool {
    let Ok(listing) = provider.listing(key).await else { return true };
    match listing.instances.iter().find(|i| i.instance_id == instance_id) {
        Some(instance) => {
            instance.lifecycle_state().and_then(|s| s.hook_wait())
                == Some(crate::model::HookTransition::Terminating)
        }
        None => !crate::completeness::judge(&listing).is_proven(),
    }
}

/// Step a job rebuilt from the journal until it sends something or stops moving: a rebuilt job
/// starts from the phase its journaled steps show, and a phase reached without a call (the VMs
/// seen gone) is only kept in memory, so one pass walks through it.
async fn advance(session: &mut ScaleInSession) -> Result<ScaleInProgress, NodeJobError> {
    let mut progress = session.tick().await?;
    for _ in 0..3 {
        let phase = session.job().phase.clone();
        if progress.done || progress.aborted || !progress.sent.is_empty() {
            break;
        }
        progress = session.tick().await?;
        if session.job().phase == phase && progress.sent.is_empty() {
            break;
        }
    }
    Ok(progress)
}

/// Act this long before a timeout: two passes and a quarter minute for the call, at most half
/// the heartbeat timeout.
fn margin_secs(poll: Duration, heartbeat_timeout_secs: u64) -> u64 {
    (2 * poll.as_secs() + 15).min(heartbeat_timeout_secs / 2)
}

fn node_name(host: &HookHost) -> Option<String> {
    match host {
        HookHost::Node { node_name, .. } => Some(node_name.clone()),
        _ => None,
    }
}

fn line(wait: &TerminatingWait<'_>, hook: Option<String>, action: &'static str, why: String) -> HookLine {
    HookLine {
        instance_id: wait.instance.instance_id.clone(),
        node: node_name(&wait.host),
        hook,
        action,
        why,
        failed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_two_passes_and_never_more_than_half_the_timeout() {
        assert_eq!(margin_secs(Duration::from_secs(5), 300), 25);
        assert_eq!(margin_secs(Duration::from_secs(120), 300), 150);
        assert_eq!(margin_secs(Duration::from_secs(0), 30), 15);
    }
}
