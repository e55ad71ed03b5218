//! Scale-in protection on one instance: prepare (read, check), then apply (journal, PUT, poll).

use super::{ScaleError, Scaling};
use crate::journal::{JournalAction, Outcome};
use crate::model::{Instance, OrchestrationMode, ScaleSetKey};

/// What `apply_protect` will do, read just before the operator confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectProposal {
    pub profile: String,
    pub scale_set: ScaleSetKey,
    pub instance: Instance,
    /// true = protect from scale-in, false = remove the protection.
    pub protect: bool,
    pub reason: String,
    /// Every reason not to go ahead; empty = allowed.
    pub refusals: Vec<String>,
}

impl ProtectProposal {
    pub fn is_allowed(&self) -> bool {
        self.refusals.is_empty()
    }

    pub fn describe(&self) -> String {
        let name = self.instance.computer_name.as_deref().unwrap_or(&self.instance.name);
        let verb = if self.protect { "protect" } else { "unprotect" };
        let now = match self.instance.protected_from_scale_in {
            None => "protection not reported",
            Some(true) if self.protect => "already protected",
            Some(false) if !self.protect => "already unprotected",
            Some(true) => "protected",
            Some(false) => "unprotected",
        };
        format!(
            "{verb} instance {} ({name}) of {} from scale-in (now {now})",
            self.instance.instance_id, self.scale_set
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectOutcome {
    Done,
    /// Nothing was journaled or sent.
    Refused {
        reasons: Vec<String>,
    },
    Failed {
        why: String,
    },
}

impl ProtectOutcome {
    pub fn sentence(&self) -> String {
        match self {
            ProtectOutcome::Done => "done".into(),
            ProtectOutcome::Refused { reasons } => {
                format!("refused, nothing was changed: {}", reasons.join("; "))
            }
            ProtectOutcome::Failed { why } => format!("failed: {why}"),
        }
    }
}

impl Scaling {
    /// Read the instance and check the request. Changes nothing.
    pub async fn prepare_protect(
        &self,
        key: &ScaleSetKey,
        instance_id: &str,
        protect: bool,
        reason: &str,
    ) -> Result<ProtectProposal, ScaleError> {
        let provider = self.provider(key)?;
        let state = provider.get_scale_set(key).await.map_err(ScaleError::Provider)?;
        let instances = provider.list_members(&state).await.map_err(ScaleError::Provider)?.instances;
        let Some(instance) = instances.iter().find(|i| i.instance_id == instance_id.trim()).cloned() else {
            let listed = instances.iter().map(|i| i.instance_id.as_str()).collect::<Vec<_>>().join(", ");
            return Err(ScaleError::UnknownInstance {
                instance_id: instance_id.to_string(),
                scale_set: key.to_string(),
                listed: if listed.is_empty() { "none".into() } else { listed },
            });
        };
        let mut refusals = Vec::new();
        if state.orchestration_mode == OrchestrationMode::Flexible {
            refusals.push(crate::scale_in::FLEXIBLE_NO_PROTECTION.to_string());
        }
        if self.profile.guard.require_reason && reason.trim().is_empty() {
            refusals.push("a reason is required to change scale-in protection".to_string());
        }
        if instance.protected_from_scale_in == Some(protect) {
            let state = if protect { "protected" } else { "unprotected" };
            refusals.push(format!("instance {} is already {state}", instance.instance_id));
        }
        Ok(ProtectProposal {
            profile: self.profile_name.clone(),
            scale_set: key.clone(),
            instance,
            protect,
            reason: reason.to_string(),
            refusals,
        })
    }

    /// Journal the intent, set the protection, wait for it, journal the result.
    pub async fn apply_protect(&self, proposal: &ProtectProposal) -> Result<ProtectOutcome, ScaleError> {
        self.ensure_writable()?;
        if !proposal.is_allowed() {
            return Ok(ProtectOutcome::Refused { reasons: proposal.refusals.clone() });
        }
        let provider = self.provider(&proposal.scale_set)?;
        let action = JournalAction::Protect {
            scale_set: proposal.scale_set.clone(),
            instance_id: proposal.instance.instance_id.clone(),
            protect: proposal.protect,
        };
        // Held until the result is journaled: settling (which takes it) never settles this change.
        let _lock = crate::executor::hold_for_change(&self.journal, &self.profile_name).await?;
        let intent = self.journal.append_intent(&self.profile_name, &proposal.reason, action, self.now())?;
        let sent = provider
            .set_scale_in_protection(&proposal.scale_set, &proposal.instance.instance_id, proposal.protect)
            .await;
        let result = match sent {
            Ok(operation) => provider.wait(&operation).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(()) => {
                self.journal.append_result(&intent, Outcome::Done, self.now())?;
                Ok(ProtectOutcome::Done)
            }
            Err(err) => {
                let why = err.to_string();
                self.journal.append_result(&intent, Outcome::Failed(why.clone()), self.now())?;
                Ok(ProtectOutcome::Failed { why })
            }
        }
    }
}
