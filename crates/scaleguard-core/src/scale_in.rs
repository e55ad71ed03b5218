//! Which VMs a scale-in is expected to remove, and how sure that is (pure).
//!
//! Uniform sets number their instances: the guard's highest-ids-first approximation
//! (`guard::scale_in_victims`). Flexible sets have no numeric ids: Azure chooses by the set's
//! scale-in policy, which the Microsoft.Compute spec describes for `scaleInPolicy.rules`
//! (ScaleInPolicy, 2024-07-01): **Default** balances across zones, then across fault domains, and
//! within a fault domain removes the newest VMs not protected from scale-in; **NewestVM** and
//! **OldestVM** balance zones first, then remove the newest or the oldest. How Azure breaks ties,
//! and how a max-spreading set (which reports one fault domain) counts them, is not documented: the
//! result is what the policy likely removes, and Azure decides. The planner never acts on it: a
//! target is deleted only once its VM is absent from complete listings.

use crate::guard;
use crate::model::{Instance, OrchestrationMode, ProvisioningState, ScaleSetState};
use std::cmp::Ordering;
use std::collections::HashMap;

/// The VMs a scale-in of `state`'s set to `new_capacity` is expected to remove.
pub fn expected_victims(state: &ScaleSetState, instances: &[Instance], new_capacity: u32) -> Vec<Instance> {
    if state.aws.is_some() {
        return aws::likely(state, instances, new_capacity);
    }
    match state.orchestration_mode {
        OrchestrationMode::Uniform => guard::scale_in_victims(instances, new_capacity),
        OrchestrationMode::Flexible => likely_by_policy(policy_rule(state), instances, new_capacity),
    }
}

/// The set's first scale-in rule; an empty policy is Azure's Default.
pub fn policy_rule(state: &ScaleSetState) -> &str {
    state.scale_in_rules.first().map(String::as_str).filter(|r| !r.trim().is_empty()).unwrap_or("Default")
}

/// How the expected victims were chosen, for the operator (after "expected to remove ...").
pub fn basis(state: &ScaleSetState) -> String {
    if state.aws.is_some() {
        return aws::basis(state);
    }
    match state.orchestration_mode {
        OrchestrationMode::Uniform => "highest ids first, protected ones kept".into(),
        OrchestrationMode::Flexible => {
            let rule = policy_rule(state);
            format!("likely, by the scale-in policy {rule}: {}; Azure decides which VMs go", rule_words(rule))
        }
    }
}

fn rule_words(rule: &str) -> &'static str {
    match Rule::of(rule) {
        Rule::Default => "zones balanced first, then fault domains, then the newest VM in each",
        Rule::Newest => "zones balanced first, then the newest VMs",
        Rule::Oldest => "zones balanced first, then the oldest VMs",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Default,
    Newest,
    Oldest,
}

impl Rule {
    /// Unknown rules read as Default, Azure's own fallback.
    fn of(rule: &str) -> Self {
        match rule.trim().to_ascii_lowercase().as_str() {
            "newestvm" => Self::Newest,
            "oldestvm" => Self::Oldest,
            _ => Self::Default,
        }
    }
}

/// What a policy `rule` likely removes to bring `instances` down to `new_capacity`: one VM at a
/// time from the fullest zone (and, for Default, its fullest fault domain), never a VM reported
/// protected, never one already being deleted. Deterministic for the same input.
pub fn likely_by_policy(rule: &str, instances: &[Instance], new_capacity: u32) -> Vec<Instance> {
    let rule = Rule::of(rule);
    let mut remaining: Vec<&Instance> =
        instances.iter().filter(|i| i.provisioning_state != ProvisioningState::Deleting).collect();
    let remove = remaining.len().saturating_sub(new_capacity as usize);
    let mut victims = Vec::with_capacity(remove);
    for _ in 0..remove {
        let Some(index) = next_victim(rule, &remaining) else { break };
        victims.push(remaining.swap_remove(index).clone());
    }
    victims
}

/// The index in `remaining` of the VM the policy removes next; None when every VM is protected.
fn next_victim(rule: Rule, remaining: &[&Instance]) -> Option<usize> {
    let candidates: Vec<usize> = (0..remaining.len()).filter(|&i| !remaining[i].is_protected()).collect();
    let zone = fullest(&candidates, remaining, |vm| vm.placement.zone.clone())?;
    let in_zone: Vec<usize> =
        candidates.into_iter().filter(|&i| remaining[i].placement.zone == zone).collect();
    let pool = match rule {
        Rule::Default => {
            let domain =
                fullest(&in_zone, remaining, |vm| (vm.placement.zone.clone(), vm.placement.fault_domain))?;
            in_zone
                .into_iter()
                .filter(|&i| {
                    (remaining[i].placement.zone.clone(), remaining[i].placement.fault_domain) == domain
                })
                .collect()
        }
        Rule::Newest | Rule::Oldest => in_zone,
    };
    let newest_first = |a: &usize, b: &usize| by_age(remaining[*b], remaining[*a]);
    match rule {
        Rule::Default | Rule::Newest => pool.into_iter().min_by(newest_first),
        Rule::Oldest => pool.into_iter().max_by(newest_first),
    }
}

/// The group (by `group_of`) holding the most of `remaining`'s VMs among those that hold a
/// candidate; ties go to the greater group key, so the answer does not depend on order.
fn fullest<K: Ord + std::hash::Hash + Clone>(
    candidates: &[usize],
    remaining: &[&Instance],
    group_of: impl Fn(&Instance) -> K,
) -> Option<K> {
    let mut counts: HashMap<K, usize> = HashMap::new();
    for vm in remaining {
        *counts.entry(group_of(vm)).or_default() += 1;
    }
    candidates
        .iter()
        .map(|&i| group_of(remaining[i]))
        .max_by(|a, b| counts[a].cmp(&counts[b]).then_with(|| a.cmp(b)))
}

/// Older first; a VM of unknown creation time counts as the newest (it is likely still being
/// created), then names break ties.
fn by_age(a: &Instance, b: &Instance) -> Ordering {
    match (a.placement.created_at, b.placement.created_at) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.instance_id.cmp(&b.instance_id))
}

/// Why `protect` is refused on a Flexible set (one sentence, with what to do instead).
pub const FLEXIBLE_NO_PROTECTION: &str = "scale-in protection cannot be set on a Flexible scale set's VMs: \
     the VM resource has no protection policy (Microsoft.Compute 2024-07-01) and the scale set's \
     per-instance API does not address Flexible VMs; to keep a VM, consider a CanNotDelete management \
     lock on it (Azure Resource Manager locks), which scaleguard does not see";

pub mod aws;
#[cfg(test)]
mod tests;
