//! A proposed capacity change: what was read, what the guard says, what a scale-in would remove.

use super::{ScaleError, Scaling};
use crate::config::GuardConfig;
use crate::guard::{self, OtherScalers, Refusal, ScaleRequest, Verdict};
use crate::model::{Instance, ScaleChange, ScaleSetKey, ScaleSetState};
use crate::providers::other_scalers;
use crate::snapshot::ScaleSetListing;
use time::OffsetDateTime;

/// Everything the operator confirms, captured when it was read: `apply` changes exactly this and
/// only while the scale set still has `state.etag`.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub profile: String,
    pub request: ScaleRequest,
    /// The scale set as read, with its capacity and ETag.
    pub state: ScaleSetState,
    pub instances: Vec<Instance>,
    pub limits: GuardConfig,
    /// Who else scales the set (Azure Autoscale, the Activity Log's writes), read with it.
    pub others: OtherScalers,
    /// The last change by anyone: the journal, the Activity Log, the console, the set's creation.
    pub last_change: Option<ScaleChange>,
    /// Every change within the cooldown window, newest first.
    pub recent_changes: Vec<ScaleChange>,
    /// Instance ids protected from scale-in.
    pub protected: Vec<String>,
    /// For a scale-in: the instance ids expected to go (`scale_in::expected_victims`: highest ids
    /// first on Uniform sets, the scale-in policy's likely choice on Flexible ones).
    pub expected_victims: Vec<String>,
    pub verdict: Verdict,
    pub read_at: OffsetDateTime,
}

impl Proposal {
    pub fn key(&self) -> &ScaleSetKey {
        &self.request.scale_set
    }

    pub fn current(&self) -> u32 {
        self.state.capacity
    }

    pub fn target(&self) -> u32 {
        self.request.new_capacity
    }

    /// Positive for a scale-out, negative for a scale-in.
    pub fn delta(&self) -> i64 {
        i64::from(self.target()) - i64::from(self.current())
    }

    pub fn is_allowed(&self) -> bool {
        self.verdict.is_allowed()
    }
}

/// Pure: the proposal for `request` over a listing just read, the journal's history and what the
/// other scalers did.
pub fn propose(
    profile: &str,
    limits: &GuardConfig,
    request: ScaleRequest,
    listing: ScaleSetListing,
    history: &[ScaleChange],
    others: OtherScalers,
    now: OffsetDateTime,
) -> Proposal {
    let ScaleSetListing { state, instances, .. } = listing;
    let verdict = guard::evaluate(limits, &request, &state, &instances, history, &others, now);
    let key = &request.scale_set;
    let everyone: Vec<ScaleChange> =
        history.iter().chain(&others.changes).filter(|c| &c.scale_set == key).cloned().collect();
    let window = time::Duration::seconds(i64::try_from(limits.cooldown_secs).unwrap_or(i64::MAX / 2));
    let mut recent_changes: Vec<ScaleChange> = everyone
        .iter()
        .filter(|c| now.checked_sub(window).is_none_or(|start| c.at >= start))
        .cloned()
        .collect();
    recent_changes.sort_by_key(|c| std::cmp::Reverse(c.at));
    // Shown even when refused, so the operator sees what a scale-in would cost.
    let expected_victims = match &verdict {
        Verdict::Allowed { expected_victims, .. } => expected_victims.clone(),
        Verdict::Refused { .. } if request.new_capacity < state.capacity => {
            crate::scale_in::expected_victims(&state, &instances, request.new_capacity)
                .into_iter()
                .map(|i| i.instance_id)
                .collect()
        }
        Verdict::Refused { .. } => Vec::new(),
    };
    let protected = instances.iter().filter(|i| i.is_protected()).map(|i| i.instance_id.clone()).collect();
    Proposal {
        profile: profile.to_string(),
        last_change: guard::last_change(key, &state, &everyone),
        recent_changes,
        others,
        request,
        state,
        instances,
        limits: limits.clone(),
        protected,
        expected_victims,
        verdict,
        read_at: now,
    }
}

impl Scaling {
    /// Read the scale set and its instances, and ask the guard. Changes nothing.
    pub async fn prepare(
        &self,
        key: &ScaleSetKey,
        capacity: u32,
        reason: &str,
        force: bool,
    ) -> Result<Proposal, ScaleError> {
        let request = ScaleRequest {
            scale_set: key.clone(),
            new_capacity: capacity,
            reason: reason.to_string(),
            force,
        };
        self.prepare_request(request).await
    }

    pub(super) async fn prepare_request(&self, request: ScaleRequest) -> Result<Proposal, ScaleError> {
        let mut proposal = self.prepare_drain_first(request).await?;
        if let Some(refusal) = self.hosts_nodes_refusal(proposal.key(), proposal.current(), proposal.target())
        {
            let mut reasons = proposal.verdict.refusals().to_vec();
            reasons.push(refusal);
            proposal.verdict = Verdict::Refused { reasons };
        }
        Ok(proposal)
    }

    /// A plain scale-in of the set that hosts the HA nodes is refused with a pointer to the
    /// drain-first scale-in.
    pub(super) fn hosts_nodes_refusal(&self, key: &ScaleSetKey, from: u32, to: u32) -> Option<Refusal> {
        (to < from && self.profile.hosts_nodes(key))
            .then(|| Refusal::HostsHaNodes { scale_set: key.name.clone(), count: from - to })
    }

    /// The guard's proposal without the nodes' set refusal: what the drain-first scale-in
    /// (`node_job::scale_in`) checks its capacity change with.
    pub async fn prepare_drain_first(&self, request: ScaleRequest) -> Result<Proposal, ScaleError> {
        let provider = self.provider(&request.scale_set)?;
        let listing = provider.listing(&request.scale_set).await.map_err(ScaleError::Provider)?;
        let now = self.now();
        let cooldown = self.profile.guard.cooldown_secs;
        let others = other_scalers::read(provider.as_ref(), &request.scale_set, cooldown, now).await;
        let history = self.history()?;
        Ok(propose(
            &self.profile_name,
            &self.profile.guard,
            request,
            listing,
            &history,
            others.scalers(now),
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrchestrationMode, PowerState, ProvisioningState};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    fn key() -> ScaleSetKey {
        ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "sub".into(),
            resource_group: "rg".into(),
            name: "web".into(),
        }
    }

    fn listing(capacity: u32, protected: &[u64]) -> ScaleSetListing {
        let state = ScaleSetState {
            key: key(),
            location: None,
            capacity,
            provisioning_state: ProvisioningState::Succeeded,
            overprovision: false,
            orchestration_mode: OrchestrationMode::Uniform,
            scale_in_rules: vec![],
            etag: Some("\"3\"".into()),
            last_changed: None,
            layout: Default::default(),
            aws: None,
        };
        let instances = (0..u64::from(capacity))
            .map(|id| Instance {
                scale_set: key().into(),
                instance_id: id.to_string(),
                vm_id: None,
                name: format!("web_{id}"),
                computer_name: None,
                guest_computer_name: None,
                provisioning_state: ProvisioningState::Succeeded,
                power_state: PowerState::Running,
                latest_model_applied: Some(true),
                protected_from_scale_in: Some(protected.contains(&id)),
                placement: Default::default(),
                aws: None,
            })
            .collect();
        ScaleSetListing { state, instances, reread: None, foreign: vec![] }
    }

    fn request(capacity: u32, reason: &str) -> ScaleRequest {
        ScaleRequest { scale_set: key(), new_capacity: capacity, reason: reason.into(), force: false }
    }

    #[test]
    fn a_refused_scale_in_still_shows_what_it_would_remove() {
        let limits = GuardConfig { max_step: 10, ..GuardConfig::default() };
        let proposal =
            propose("p", &limits, request(3, ""), listing(6, &[5]), &[], OtherScalers::none(), NOW);
        assert!(!proposal.is_allowed());
        assert_eq!(proposal.expected_victims, vec!["4", "3", "2"]);
        assert_eq!(proposal.protected, vec!["5"]);
        assert_eq!(proposal.delta(), -3);
    }

    #[test]
    fn a_scale_out_names_no_victims_and_carries_the_last_change() {
        let at = NOW - time::Duration::hours(1);
        let history = [ScaleChange {
            scale_set: key(),
            at,
            from: None,
            to: Some(2),
            by: Some("bob via scaleguard".into()),
        }];
        let proposal = propose(
            "p",
            &GuardConfig::default(),
            request(5, "sale"),
            listing(2, &[]),
            &history,
            OtherScalers::none(),
            NOW,
        );
        assert!(proposal.is_allowed(), "{:?}", proposal.verdict);
        assert!(proposal.expected_victims.is_empty());
        assert_eq!(proposal.last_change.as_ref().map(|c| c.at), Some(at));
        assert!(proposal.recent_changes.is_empty(), "an hour ago is outside the 600 s cooldown");
        assert_eq!(proposal.delta(), 3);
    }
}
