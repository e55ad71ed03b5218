//! Is a scale-set listing proven complete, so that a VM missing from it is gone? (pure)
//!
//! A listing exists only when paging ended cleanly (no failed page, no loop, no foreign nextLink,
//! no entry of a Uniform set's VM list that is not one of its VMs: those are errors in the
//! provider). What is left to judge is the listing itself. It is proven complete only when
//! - the set is settled (its provisioningState is final: while Azure adds or removes VMs, a lost
//!   page and a removed VM look the same) and did not change while its VMs were listed (the set
//!   read again after the last page has the same ETag, capacity and state);
//! - it lists at least `capacity` distinct VMs that are not being deleted (over-provisioning
//!   extras only ever add VMs; a VM deleted on its own is still listed as Deleting after the
//!   capacity already leaves it out, so it must not stand in for a lost one);
//! - nothing is listed twice: no instance id (compared as a number: "01" is "1"), vmId (compared
//!   case-insensitively: a GUID) or computer name (two VMs of one set never share one). A repeated
//!   entry can stand in for a missing one and keep the count right;
//! - it holds no VM of another scale set (a Flexible set's listing is a filter on the resource
//!   group's VMs: a VM reporting another set means the filter was not applied or the VM left the
//!   set);
//! - every instance an Auto Scaling group lists is one EC2 puts in that group (`Ec2Group`: its
//!   `aws:autoscaling:groupName` tag). The group's answer names no group per instance, so an
//!   instance of no group, or of another, listed in place of a lost one would keep the count
//!   right; such an instance is not counted either.
//!
//! Anything else is shown and still drives waits, but proves nothing about absence.

use crate::folded::{self, FastMap, Folded, HashMapExt};
use crate::matching::name_key;
use crate::model::{Ec2Group, Instance, OrchestrationMode, ProvisioningState, ScaleSetState};
use crate::snapshot::{ForeignVm, ScaleSetListing};
use std::fmt;

/// One reason a listing is not proven complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Doubt {
    /// The set's provisioningState is not final (Updating, Creating, ...).
    NotSettled(ProvisioningState),
    /// The set read again after the last page differs from the set read before the first.
    ChangedWhileListed { before: SetReading, after: SetReading },
    /// Fewer distinct VMs (not counting those being deleted) than the set's capacity.
    Short { distinct: u64, capacity: u32, deleting: u64 },
    /// Instance ids listed more than once, with how often.
    RepeatedInstanceIds(Vec<(String, usize)>),
    /// vmIds listed under more than one entry, with how often.
    RepeatedVmIds(Vec<(String, usize)>),
    /// Computer names carried by more than one VM of the set, with how often.
    RepeatedComputerNames(Vec<(String, usize)>),
    /// VMs listed for the set that report another scale set (or none).
    ForeignVms(Vec<ForeignVm>),
    /// Instances an Auto Scaling group lists that EC2 does not put in the group: each id with
    /// what EC2 says instead.
    OutsideGroup(Vec<(String, Ec2Group)>),
}

/// What a read of the set says about it, as far as a listing's proof goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetReading {
    pub capacity: u32,
    pub state: ProvisioningState,
    pub etag: Option<String>,
    /// A set found in another mode is another set (Azure cannot switch a set's mode).
    pub mode: OrchestrationMode,
}

impl SetReading {
    pub fn of(state: &ScaleSetState) -> Self {
        Self {
            capacity: state.capacity,
            state: state.provisioning_state.clone(),
            etag: state.etag.clone(),
            mode: state.orchestration_mode,
        }
    }
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSettled(state) => write!(f, "the scale set is {state}, not settled"),
            Self::ChangedWhileListed { before, after } => {
                write!(f, "the scale set changed while its VMs were listed (")?;
                let mut parts = Vec::new();
                if before.capacity != after.capacity {
                    parts.push(format!("capacity {} → {}", before.capacity, after.capacity));
                }
                if before.state != after.state {
                    parts.push(format!("{} → {}", before.state, after.state));
                }
                if before.mode != after.mode {
                    parts.push(format!("{} → {} orchestration", before.mode, after.mode));
                }
                if parts.is_empty() {
                    parts.push("its ETag changed".into());
                }
                write!(f, "{})", parts.join(", "))
            }
            Self::Short { distinct, capacity, deleting } => {
                write!(f, "{distinct} distinct VM(s) listed for capacity {capacity}")?;
                if *deleting > 0 {
                    write!(f, " (and {deleting} being deleted, which do not count)")?;
                }
                Ok(())
            }
            Self::RepeatedInstanceIds(ids) => write!(f, "{}", repeats("instance", ids)),
            Self::RepeatedVmIds(ids) => write!(f, "{}", repeats("vmId", ids)),
            Self::RepeatedComputerNames(names) => write!(f, "{}", repeats("computer name", names)),
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
            Self::OutsideGroup(instances) => {
                const SHOWN: usize = 3;
                let shown: Vec<String> = instances
                    .iter()
                    .take(SHOWN)
                    .map(|(id, ec2)| format!("instance {} ({ec2})", crate::untrusted::server_text(id)))
                    .collect();
                let more = instances.len().saturating_sub(SHOWN);
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                write!(
                    f,
                    "{}{more} listed for the group, but not the group's by EC2's aws:autoscaling:groupName \
                     tag: not counted, so none stands in for a lost instance of the group",
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
        // Ids and names are the server's text (in the form they are compared in): cleaned to show.
        ids.iter()
            .take(SHOWN)
            .map(|(id, times)| format!("{what} {} listed {times} times", crate::untrusted::server_text(id)))
            .collect();
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

    /// Something is listed twice (an instance id, vmId or computer name).
    pub fn has_repeats(&self) -> bool {
        self.doubts.iter().any(|d| {
            matches!(
                d,
                Doubt::RepeatedInstanceIds(_) | Doubt::RepeatedVmIds(_) | Doubt::RepeatedComputerNames(_)
            )
        })
    }

    /// The set changed between the read before the first page and the one after the last.
    pub fn changed_while_listed(&self) -> bool {
        self.doubts.iter().any(|d| matches!(d, Doubt::ChangedWhileListed { .. }))
    }

    /// A settled set that did not change while listed, listing fewer distinct VMs than its
    /// capacity: a page was certainly lost (nothing else makes such a set short), which a
    /// provider reports as an error.
    pub fn short_while_settled(&self) -> Option<(u64, u32)> {
        let settled =
            !self.doubts.iter().any(|d| matches!(d, Doubt::NotSettled(_) | Doubt::ChangedWhileListed { .. }));
        self.doubts.iter().find_map(|d| match d {
            Doubt::Short { distinct, capacity, .. } if settled => Some((*distinct, *capacity)),
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

/// A listing's VMs by canonical instance id and by canonical vmId, each key with the last VM
/// listed under it and how many are: what `judge` counts repeats on, and how the planner finds a
/// VM seen before (one index for both, built once per listing).
#[derive(Debug, Default)]
pub struct ListingIndex<'a> {
    by_id: FastMap<Folded<'a>, (usize, &'a Instance)>,
    by_vm_id: FastMap<Folded<'a>, (usize, &'a Instance)>,
}

impl<'a> ListingIndex<'a> {
    pub fn new(listing: &'a ScaleSetListing) -> Self {
        let instances = &listing.instances;
        let mut index = Self {
            by_id: FastMap::with_capacity(instances.len()),
            by_vm_id: FastMap::with_capacity(instances.len()),
        };
        for instance in instances {
            let seen = index.by_id.entry(instance_id_key(&instance.instance_id)).or_insert((0, instance));
            *seen = (seen.0 + 1, instance);
            if let Some(vm_id) = &instance.vm_id {
                let seen = index.by_vm_id.entry(vm_id_key(vm_id)).or_insert((0, instance));
                *seen = (seen.0 + 1, instance);
            }
        }
        index
    }

    /// How many instance ids the listing has, compared as `canonical_instance_id`.
    pub fn distinct_instance_ids(&self) -> usize {
        self.by_id.len()
    }

    /// The last VM listed under this instance id (compared as `canonical_instance_id`).
    pub fn by_instance_id(&self, id: &str) -> Option<&'a Instance> {
        self.by_id.get(&instance_id_key(id)).map(|(_, instance)| *instance)
    }

    /// The last VM listed under this vmId (compared as `canonical_vm_id`).
    pub fn by_vm_id(&self, vm_id: &str) -> Option<&'a Instance> {
        self.by_vm_id.get(&vm_id_key(vm_id)).map(|(_, instance)| *instance)
    }
}

/// The keys of `counted` seen more than once, in canonical form and sorted, with their counts.
fn repeats_of(counted: &FastMap<Folded<'_>, (usize, &Instance)>) -> Vec<(String, usize)> {
    let mut repeats: Vec<(String, usize)> =
        counted.iter().filter(|(_, (n, _))| *n > 1).map(|(key, (n, _))| (key.to_canonical(), *n)).collect();
    repeats.sort();
    repeats
}

/// How many distinct keys, and those seen more than once (sorted, in canonical form) with their
/// counts.
fn repeated<'a>(expected: usize, keys: impl Iterator<Item = Folded<'a>>) -> (usize, Vec<(String, usize)>) {
    let mut counts: FastMap<Folded<'a>, usize> = FastMap::with_capacity(expected);
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    let distinct = counts.len();
    let mut repeats: Vec<(String, usize)> =
        counts.into_iter().filter(|(_, n)| *n > 1).map(|(key, n)| (key.to_canonical(), n)).collect();
    repeats.sort();
    (distinct, repeats)
}

/// The form an instance id is compared in: a Uniform id is a number ("01" and "1" are one VM);
/// anything else compares case-insensitively.
pub fn canonical_instance_id(id: &str) -> String {
    let trimmed = id.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let digits = trimmed.trim_start_matches('0');
        return if digits.is_empty() { "0".into() } else { digits.into() };
    }
    trimmed.to_ascii_lowercase()
}

/// The form a vmId (a GUID) is compared in.
pub fn canonical_vm_id(vm_id: &str) -> String {
    vm_id.trim().to_ascii_lowercase()
}

/// `canonical_instance_id` as an index key, built without allocating.
pub fn instance_id_key(id: &str) -> Folded<'_> {
    let trimmed = folded::trim(id);
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let digits = trimmed.trim_start_matches('0');
        return Folded::borrowed(if digits.is_empty() { "0" } else { digits });
    }
    Folded::borrowed(trimmed)
}

/// `canonical_vm_id` as an index key, built without allocating.
pub fn vm_id_key(vm_id: &str) -> Folded<'_> {
    Folded::borrowed(folded::trim(vm_id))
}

/// The normalized computer names one VM answers to (each once; a VM has at most two).
fn computer_names(instance: &Instance) -> impl Iterator<Item = Folded<'_>> {
    let mut names = instance.computer_names().map(name_key).filter(|name| !name.is_empty());
    let first = names.next();
    let second = names.next().filter(|name| Some(name) != first.as_ref());
    first.into_iter().chain(second)
}

/// Judge one listing (see the module comment for the rule).
pub fn judge(listing: &ScaleSetListing) -> Completeness {
    judge_indexed(listing, &ListingIndex::new(listing))
}

/// `judge`, with the listing's index at hand.
pub fn judge_indexed(listing: &ScaleSetListing, index: &ListingIndex<'_>) -> Completeness {
    let state = &listing.state;
    let mut doubts = Vec::new();
    if !state.provisioning_state.is_final() {
        doubts.push(Doubt::NotSettled(state.provisioning_state.clone()));
    }
    if let Some(after) = &listing.reread {
        let (before, after) = (SetReading::of(state), SetReading::of(after));
        if before != after {
            doubts.push(Doubt::ChangedWhileListed { before, after });
        }
    }
    let instances = &listing.instances;
    let deleting = |i: &&Instance| i.provisioning_state == ProvisioningState::Deleting;
    let group = state.key.name.as_str();
    let outside = |i: &&Instance| i.aws.as_ref().is_some_and(|aws| !aws.ec2_group.is(group));
    // An AWS warm-pool or Standby instance is outside the desired capacity, and an instance EC2
    // does not put in the group is no instance of it: neither stands in for a missing one.
    let counted = |i: &&Instance| !deleting(i) && i.in_capacity() && !outside(i);
    fn id(instance: &Instance) -> Folded<'_> {
        instance_id_key(&instance.instance_id)
    }
    let uncounted = instances.iter().filter(|i| !counted(i)).count();
    // With every VM counted, the VMs counted are all of them.
    let distinct = match uncounted {
        0 => index.by_id.len(),
        _ => repeated(instances.len(), instances.iter().filter(counted).map(id)).0,
    } as u64;
    if distinct < u64::from(state.capacity) {
        let deleting = instances.iter().filter(deleting).count() as u64;
        doubts.push(Doubt::Short { distinct, capacity: state.capacity, deleting });
    }
    let repeated_ids = repeats_of(&index.by_id);
    if !repeated_ids.is_empty() {
        doubts.push(Doubt::RepeatedInstanceIds(repeated_ids));
    }
    let repeated_vm_ids = repeats_of(&index.by_vm_id);
    if !repeated_vm_ids.is_empty() {
        doubts.push(Doubt::RepeatedVmIds(repeated_vm_ids));
    }
    let (_, repeated_names) = repeated(instances.len(), instances.iter().flat_map(computer_names));
    if !repeated_names.is_empty() {
        doubts.push(Doubt::RepeatedComputerNames(repeated_names));
    }
    if !listing.foreign.is_empty() {
        doubts.push(Doubt::ForeignVms(listing.foreign.clone()));
    }
    let outsiders: Vec<(String, Ec2Group)> = instances
        .iter()
        .filter(outside)
        .filter_map(|i| i.aws.as_ref().map(|aws| (i.instance_id.clone(), aws.ec2_group.clone())))
        .collect();
    if !outsiders.is_empty() {
        doubts.push(Doubt::OutsideGroup(outsiders));
    }
    Completeness { doubts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Instance, OrchestrationMode, ScaleSetState};
    use crate::reconcile::testkit::{in_lifecycle, set_key, vm, vm_in as vm_in_state};
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
                aws: None,
            },
            instances,
            reread: None,
            foreign: vec![],
        }
    }

    fn vms(ids: &[u32]) -> Vec<Instance> {
        ids.iter().map(|id| vm("web", *id)).collect()
    }

    /// An InService instance of the Auto Scaling group `web`, which EC2 puts in `ec2_group`.
    fn aws_vm(id: u32, ec2_group: Ec2Group) -> Instance {
        let mut instance = in_lifecycle(vm("web", id), "InService");
        instance.aws.as_mut().expect("an AWS instance").ec2_group = ec2_group;
        instance
    }

    fn of_web(id: u32) -> Instance {
        aws_vm(id, Ec2Group::Tagged("web".into()))
    }

    /// Every way EC2 can fail to put an instance in `web`.
    fn not_of_web() -> [Ec2Group; 5] {
        [
            Ec2Group::NotFound,
            Ec2Group::Untagged,
            Ec2Group::Tagged("other-asg".into()),
            Ec2Group::Tagged("Web".into()),
            Ec2Group::NotRead,
        ]
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
             instance 2 listed 2 times; vmId vm-web-2 listed 2 times; computer name web-2 listed 2 times"
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
    fn one_vm_under_two_spellings_of_its_ids_is_a_repeat() {
        // Issue 13 review, break 3: instance 2 lost, instance 1 listed again as "01" with its vmId
        // in upper case: raw strings made three distinct VMs for capacity 3.
        let alias = Instance {
            instance_id: "01".into(),
            vm_id: Some("VM-WEB-1".into()),
            name: "web_01".into(),
            ..vm("web", 1)
        };
        let verdict =
            judge(&listing(3, ProvisioningState::Succeeded, vec![vm("web", 0), vm("web", 1), alias]));
        assert!(!verdict.is_proven(), "{verdict}");
        assert!(verdict.has_repeats(), "{verdict}");
        assert_eq!(verdict.short_while_settled(), Some((2, 3)), "{verdict}");
    }

    #[test]
    fn two_vms_of_one_set_with_one_computer_name_are_a_repeat() {
        let twin = Instance { computer_name: Some("WEB-1.corp.local".into()), ..vm("web", 2) };
        let verdict = judge(&listing(2, ProvisioningState::Succeeded, vec![vm("web", 1), twin]));
        assert!(!verdict.is_proven(), "{verdict}");
        assert!(verdict.has_repeats(), "{verdict}");
        assert!(verdict.to_string().contains("computer name web-1 listed 2 times"), "{verdict}");
    }

    #[test]
    fn a_deleting_vm_does_not_stand_in_for_a_lost_one() {
        // Issue 13 review, break 4: a VM deleted on its own (capacity already leaves it out) is
        // still listed as Deleting while instance 2 is lost.
        let deleting = vm_in_state("web", 7, ProvisioningState::Deleting);
        let verdict =
            judge(&listing(3, ProvisioningState::Succeeded, vec![vm("web", 0), vm("web", 1), deleting]));
        assert!(!verdict.is_proven(), "{verdict}");
        assert_eq!(verdict.short_while_settled(), Some((2, 3)), "{verdict}");
        // At capacity without it, it is only an extra on its way out.
        let deleting = vm_in_state("web", 7, ProvisioningState::Deleting);
        let full = vec![vm("web", 0), vm("web", 1), vm("web", 2), deleting];
        assert!(judge(&listing(3, ProvisioningState::Succeeded, full)).is_proven());
    }

    #[test]
    fn a_set_that_changed_while_its_vms_were_listed_is_not_proven() {
        let mut changed = listing(3, ProvisioningState::Succeeded, vms(&[1, 2, 3]));
        changed.reread = Some(ScaleSetState { capacity: 2, ..changed.state.clone() });
        let verdict = judge(&changed);
        assert_eq!(verdict.to_string(), "the scale set changed while its VMs were listed (capacity 3 → 2)");
        assert!(verdict.changed_while_listed());
        // Short while changing is no proof of a lost page.
        changed.instances.pop();
        assert_eq!(judge(&changed).short_while_settled(), None);
        // Read again unchanged: proven.
        let mut same = listing(3, ProvisioningState::Succeeded, vms(&[1, 2, 3]));
        same.reread = Some(same.state.clone());
        assert!(judge(&same).is_proven());
        let mut etag = same.clone();
        etag.reread = Some(ScaleSetState { etag: Some("\"9\"".into()), ..same.state.clone() });
        assert!(judge(&etag).to_string().contains("its ETag changed"));
        let mut mode = same.clone();
        mode.reread =
            Some(ScaleSetState { orchestration_mode: OrchestrationMode::Flexible, ..same.state.clone() });
        assert!(judge(&mode).to_string().contains("Uniform → Flexible orchestration"), "{}", judge(&mode));
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

    #[test]
    fn an_instance_ec2_does_not_put_in_the_group_never_stands_in_for_a_lost_one() {
        // The group lists 3 distinct instances for its capacity 3, but one of them is not its own
        // by EC2's tag: instance 2 may be the group's instance lost from the answer.
        assert!(judge(&listing(3, ProvisioningState::Succeeded, vec![of_web(0), of_web(1), of_web(2)]))
            .is_proven());
        for ec2 in not_of_web() {
            let stand_in = aws_vm(9, ec2.clone());
            let verdict =
                judge(&listing(3, ProvisioningState::Succeeded, vec![of_web(0), of_web(1), stand_in]));
            assert_eq!(
                verdict.doubts,
                vec![
                    Doubt::Short { distinct: 2, capacity: 3, deleting: 0 },
                    Doubt::OutsideGroup(vec![("9".into(), ec2.clone())])
                ],
                "{ec2:?}"
            );
        }
        let verdict = judge(&listing(
            3,
            ProvisioningState::Succeeded,
            vec![of_web(0), aws_vm(8, Ec2Group::NotFound), aws_vm(9, Ec2Group::Tagged("other-asg".into()))],
        ));
        assert_eq!(
            verdict.to_string(),
            "1 distinct VM(s) listed for capacity 3; instance 8 (EC2 does not know it), instance 9 (EC2 shows it \
             in group other-asg) listed for the group, but not the group's by EC2's aws:autoscaling:groupName \
             tag: not counted, so none stands in for a lost instance of the group"
        );
    }

    #[test]
    fn an_instance_outside_the_group_takes_the_proof_away_even_at_full_count() {
        // Like a Flexible set's foreign VM: the group's answer is not what it claims to be.
        let extra = aws_vm(9, Ec2Group::Untagged);
        let verdict = judge(&listing(2, ProvisioningState::Succeeded, vec![of_web(0), of_web(1), extra]));
        assert_eq!(verdict.doubts, vec![Doubt::OutsideGroup(vec![("9".into(), Ec2Group::Untagged)])]);
        // A warm-pool instance outside the group counts for nothing, but is doubted all the same.
        let warm = in_lifecycle(vm("web", 7), "Warmed:Stopped");
        let mut warm_elsewhere = warm.clone();
        warm_elsewhere.aws.as_mut().unwrap().ec2_group = Ec2Group::NotFound;
        let fine = listing(2, ProvisioningState::Succeeded, vec![of_web(0), of_web(1), warm]);
        assert!(judge(&fine).is_proven(), "{}", judge(&fine));
        let doubted = listing(2, ProvisioningState::Succeeded, vec![of_web(0), of_web(1), warm_elsewhere]);
        assert!(!judge(&doubted).is_proven());
    }

    #[test]
    fn doubts_show_what_the_server_named_cleaned() {
        // Ids are compared in canonical (lower-case) forms; what is shown must still hide a secret
        // a hostile server put into a name, and never carry a control character to the terminal.
        let _token = crate::secret::Secret::new("sim-arm-DOUBTNAME0123456789");
        let hostile = "web_SIM-ARM-DOUBTNAME0123456789\u{1b}[2J\nscaleguard: done";
        let twice = |id: &str| Instance { instance_id: id.into(), name: id.into(), ..vm("web", 1) };
        let verdict = judge(&listing(2, ProvisioningState::Succeeded, vec![twice(hostile), twice(hostile)]));
        let shown = verdict.to_string();
        assert!(!shown.to_lowercase().contains("doubtname"), "{shown}");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        // The same for the group an EC2 tag names.
        let tagged = aws_vm(9, Ec2Group::Tagged(hostile.into()));
        let shown = judge(&listing(1, ProvisioningState::Succeeded, vec![of_web(0), tagged])).to_string();
        assert!(!shown.to_lowercase().contains("doubtname"), "{shown}");
        assert!(!shown.chars().any(char::is_control), "{shown}");
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

            // A VM still listed, again under another spelling of its ids, for the lost one.
            if !at_capacity.instances.is_empty() {
                let mut alias = pick.get(&at_capacity.instances).clone();
                alias.instance_id = format!("0{}", alias.instance_id);
                alias.vm_id = alias.vm_id.map(|id| id.to_ascii_uppercase());
                let mut aliased = at_capacity.clone();
                aliased.instances.push(alias);
                prop_assert!(!judge(&aliased).is_proven());
            }

            // A VM being deleted does not make up for the lost one.
            let mut deleting = at_capacity.clone();
            deleting.instances.push(Instance {
                provisioning_state: ProvisioningState::Deleting,
                ..vm("web", 1000)
            });
            prop_assert!(!judge(&deleting).is_proven());

            let mut unsettled = proven.clone();
            unsettled.state.provisioning_state = ProvisioningState::parse(state);
            prop_assert!(!judge(&unsettled).is_proven());
        }

        /// An Auto Scaling group's proven listing loses its proof to any instance EC2 does not put
        /// in the group, whether it stands in for a lost instance or comes on top.
        #[test]
        fn an_instance_outside_the_group_takes_any_proof_away(
            ids in proptest::collection::btree_set(0..50u32, 1..12),
            pick in any::<prop::sample::Index>(),
            outside in 0..5usize,
            stand_in in 50..100u32,
        ) {
            let ids: Vec<u32> = ids.into_iter().collect();
            let proven = listing(ids.len() as u32, ProvisioningState::Succeeded, ids.iter().map(|id| of_web(*id)).collect());
            prop_assert!(judge(&proven).is_proven());
            let ec2 = not_of_web()[outside].clone();

            let mut replaced = proven.clone();
            replaced.instances[pick.index(ids.len())] = aws_vm(stand_in, ec2.clone());
            let verdict = judge(&replaced);
            prop_assert!(!verdict.is_proven());
            prop_assert!(verdict.doubts.contains(&Doubt::OutsideGroup(vec![(stand_in.to_string(), ec2.clone())])));

            let mut added = proven.clone();
            added.instances.push(aws_vm(stand_in, ec2));
            prop_assert!(!judge(&added).is_proven());
        }
    }
}
