//! Is a scale-set listing proven complete, so that a VM missing from it is gone? (pure)
//!
//! A listing exists only when paging ended cleanly (no failed page, no loop, no foreign nextLink:
//! those are errors in the provider). What is left to judge is the listing itself. It is proven
//! complete only when the set is settled (its provisioningState is final: while Azure adds or
//! removes VMs, a lost page and a removed VM look the same), it lists at least `capacity` distinct
//! VMs (over-provisioning extras only ever add VMs), and no instance id or vmId appears twice (a
//! repeated entry can stand in for a missing one and keep the count right), and it holds no VM
//! of another scale set (a Flexible set's listing is a filter on the resource group's VMs: a VM
//! reporting another set means the filter was not applied or the VM left the set). Anything else
//! is shown and still drives waits, but proves nothing about absence.

use crate::model::ProvisioningState;
use crate::snapshot::{ForeignVm, ScaleSetListing};
use std::collections::HashMap;
use std::fmt;

/// One reason a listing is not proven complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Doubt {
    /// The set's provisioningState is not final (Updating, Creating, ...).
    NotSettled(ProvisioningState),
    /// Fewer distinct VMs than the set's capacity.
    Short { distinct: u64, capacity: u32 },
    /// Instance ids listed more than once, with how often.
    RepeatedInstanceIds(Vec<(String, usize)>),
    /// vmIds listed under more than one entry, with how often.
    RepeatedVmIds(Vec<(String, usize)>),
    /// VMs listed for the set that report another scale set (or none).
    ForeignVms(Vec<ForeignVm>),
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSettled(state) => write!(f, "the scale set is {state}, not settled"),
            Self::Short { distinct, capacity } => {
                write!(f, "{distinct} distinct VM(s) listed for capacity {capacity}")
            }
            Self::RepeatedInstanceIds(ids) => write!(f, "{}", repeats("instance", ids)),
            Self::RepeatedVmIds(ids) => write!(f, "{}", repeats("vmId", ids)),
            Self::ForeignVms(vms) => {
                let shown: Vec<String> = vms.iter().take(3).map(ForeignVm::to_string).collect();
                let more = vms.len().saturating_sub(3);
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                write!(
                    f,
                    "{}{more} (it left the set, or the server did not apply the listing's filter)",
                    shown.join(", ")
                )
            }
        }
    }
}

/// "instance 2 listed 2 times, instance 7 listed 3 times" (the first few; the rest counted).
fn repeats(what: &str, ids: &[(String, usize)]) -> String {
    const SHOWN: usize = 5;
    let mut parts: Vec<String> =
        ids.iter().take(SHOWN).map(|(id, times)| format!("{what} {id} listed {times} times")).collect();
    if ids.len() > SHOWN {
        parts.push(format!("and {} more repeated", ids.len() - SHOWN));
    }
    parts.join(", ")
}

/// The verdict on one listing: proven complete when there is no doubt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completeness {
    pub doubts: Vec<Doubt>,
}

impl Completeness {
    pub fn is_proven(&self) -> bool {
        self.doubts.is_empty()
    }

    /// An instance id or vmId is listed twice.
    pub fn has_repeats(&self) -> bool {
        self.doubts.iter().any(|d| matches!(d, Doubt::RepeatedInstanceIds(_) | Doubt::RepeatedVmIds(_)))
    }

    /// A settled set listing fewer distinct VMs than its capacity: a page was certainly lost
    /// (nothing else makes a settled set short), which a provider reports as an error.
    pub fn short_while_settled(&self) -> Option<(u64, u32)> {
        let settled = !self.doubts.iter().any(|d| matches!(d, Doubt::NotSettled(_)));
        self.doubts.iter().find_map(|d| match d {
            Doubt::Short { distinct, capacity } if settled => Some((*distinct, *capacity)),
            _ => None,
        })
    }
}

impl fmt::Display for Completeness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.doubts.is_empty() {
            return f.write_str("proven complete");
        }
        let parts: Vec<String> = self.doubts.iter().map(Doubt::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

/// How many distinct ids, and those seen more than once (sorted) with their counts.
fn repeated<'a>(ids: impl Iterator<Item = &'a str>) -> (usize, Vec<(String, usize)>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    let distinct = counts.len();
    let mut repeats: Vec<(String, usize)> =
        counts.into_iter().filter(|(_, n)| *n > 1).map(|(id, n)| (id.to_string(), n)).collect();
    repeats.sort();
    (distinct, repeats)
}

/// Judge one listing (see the module comment for the rule).
pub fn judge(listing: &ScaleSetListing) -> Completeness {
    let state = &listing.state;
    let mut doubts = Vec::new();
    if !state.provisioning_state.is_final() {
        doubts.push(Doubt::NotSettled(state.provisioning_state.clone()));
    }
    let (distinct, repeated_ids) = repeated(listing.instances.iter().map(|i| i.instance_id.as_str()));
    let distinct = distinct as u64;
    if distinct < u64::from(state.capacity) {
        doubts.push(Doubt::Short { distinct, capacity: state.capacity });
    }
    if !repeated_ids.is_empty() {
        doubts.push(Doubt::RepeatedInstanceIds(repeated_ids));
    }
    let (_, repeated_vm_ids) = repeated(listing.instances.iter().filter_map(|i| i.vm_id.as_deref()));
    if !repeated_vm_ids.is_empty() {
        doubts.push(Doubt::RepeatedVmIds(repeated_vm_ids));
    }
    if !listing.foreign.is_empty() {
        doubts.push(Doubt::ForeignVms(listing.foreign.clone()));
    }
    Completeness { doubts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Instance, OrchestrationMode, ScaleSetState};
    use crate::reconcile::testkit::{set_key, vm};
    use proptest::prelude::*;

    fn listing(capacity: u32, state: ProvisioningState, instances: Vec<Instance>) -> ScaleSetListing {
        ScaleSetListing {
            state: ScaleSetState {
                key: set_key("web"),
                location: None,
                capacity,
                provisioning_state: state,
                overprovision: true,
                orchestration_mode: OrchestrationMode::Uniform,
                scale_in_rules: vec![],
                etag: None,
                last_changed: None,
                layout: Default::default(),
            },
            instances,
            foreign: vec![],
        }
    }

    fn vms(ids: &[u32]) -> Vec<Instance> {
        ids.iter().map(|id| vm("web", *id)).collect()
    }

    #[test]
    fn a_settled_set_listing_its_capacity_is_proven() {
        assert!(judge(&listing(3, ProvisioningState::Succeeded, vms(&[1, 2, 3]))).is_proven());
        // Extras beyond the capacity only add VMs; a failed set is settled too.
        assert!(judge(&listing(2, ProvisioningState::Failed, vms(&[1, 2, 3]))).is_proven());
        assert!(judge(&listing(0, ProvisioningState::Succeeded, vec![])).is_proven());
    }

    #[test]
    fn each_doubt_is_named() {
        let verdict = judge(&listing(3, ProvisioningState::Updating, vms(&[1, 2, 2])));
        assert_eq!(
            verdict.to_string(),
            "the scale set is Updating, not settled; 2 distinct VM(s) listed for capacity 3; \
             instance 2 listed 2 times; vmId vm-web-2 listed 2 times"
        );
        assert_eq!(verdict.short_while_settled(), None, "while Updating, short is no error");
        let settled = judge(&listing(3, ProvisioningState::Succeeded, vms(&[1, 2, 2])));
        assert_eq!(settled.short_while_settled(), Some((2, 3)));
    }

    #[test]
    fn a_vm_id_under_two_instance_ids_is_a_doubt() {
        let twin = Instance { vm_id: Some("vm-web-1".into()), ..vm("web", 9) };
        let verdict = judge(&listing(2, ProvisioningState::Succeeded, vec![vm("web", 1), twin]));
        assert_eq!(verdict.doubts, vec![Doubt::RepeatedVmIds(vec![("vm-web-1".into(), 2)])]);
    }

    #[test]
    fn a_vm_of_another_set_takes_the_proof_away_even_at_full_count() {
        let mut with_foreign = listing(2, ProvisioningState::Succeeded, vms(&[1, 2]));
        with_foreign.foreign.push(ForeignVm {
            name: "flex_0a1b2c3d".into(),
            vm_id: Some("v9".into()),
            reported_set: Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/other".into()),
        });
        let verdict = judge(&with_foreign);
        assert!(!verdict.is_proven());
        assert_eq!(verdict.short_while_settled(), None, "the set's own VMs are all there");
        assert_eq!(
            verdict.to_string(),
            "VM flex_0a1b2c3d reports scale set /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/\
             virtualMachineScaleSets/other (it left the set, or the server did not apply the listing's filter)"
        );
    }

    proptest! {
        /// Whatever a proven listing holds, repeating one entry, dropping one at capacity, or an
        /// unsettled state takes the proof away.
        #[test]
        fn a_proven_listing_loses_its_proof_to_any_flaw(
            ids in proptest::collection::btree_set(0..50u32, 1..12),
            extra in 0..3u32,
            pick in any::<prop::sample::Index>(),
            state in prop_oneof![Just("Updating"), Just("Creating"), Just("Deleting"), Just("Migrating")],
        ) {
            let ids: Vec<u32> = ids.into_iter().collect();
            let capacity = (ids.len() as u32).saturating_sub(extra).max(1);
            let proven = listing(capacity, ProvisioningState::Succeeded, vms(&ids));
            prop_assert!(judge(&proven).is_proven());

            let mut repeated = proven.clone();
            repeated.instances.push(pick.get(&proven.instances).clone());
            prop_assert!(!judge(&repeated).is_proven());

            let mut at_capacity = proven.clone();
            at_capacity.state.capacity = ids.len() as u32;
            at_capacity.instances.remove(pick.index(ids.len()));
            prop_assert!(!judge(&at_capacity).is_proven());
            prop_assert!(judge(&at_capacity).short_while_settled().is_some());

            let mut unsettled = proven.clone();
            unsettled.state.provisioning_state = ProvisioningState::parse(state);
            prop_assert!(!judge(&unsettled).is_proven());
        }
    }
}
