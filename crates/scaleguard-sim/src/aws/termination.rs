//! Which instances a scale-in removes: Amazon EC2 Auto Scaling's termination policies
//! ("Configure termination policies for Amazon EC2 Auto Scaling", AWS documentation): the
//! Availability Zone with the most instances first, then the group's policies in order as
//! tie-breakers, then the default policy (oldest launch template version), then chance.

use super::model::{AsgGroup, AsgInstance};
use rand::rngs::StdRng;
use rand::RngExt;
use std::collections::BTreeMap;

/// Indexes (into `group.instances`) of `count` instances to terminate, in the order chosen. Never a
/// protected instance, never one already terminating or in the warm pool; fewer when too few
/// are left.
pub fn choose(group: &AsgGroup, count: usize, rng: &mut StdRng) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::new();
    for _ in 0..count {
        let counted = |i: &(usize, &AsgInstance)| i.1.lifecycle.counts() && !chosen.contains(&i.0);
        let candidates: Vec<usize> = group
            .instances
            .iter()
            .enumerate()
            .filter(counted)
            .filter(|(_, instance)| !instance.protected)
            .map(|(index, _)| index)
            .collect();
        if candidates.is_empty() {
            break;
        }
        // Per zone, the instances still counted (protected ones too: they unbalance a zone).
        let mut per_zone: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, instance) in group.instances.iter().enumerate().filter(counted) {
            *per_zone.entry(instance.zone.as_str()).or_default() += 1;
        }
        let busiest =
            candidates.iter().map(|&i| per_zone[group.instances[i].zone.as_str()]).max().unwrap_or(0);
        let mut pool: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| per_zone[group.instances[i].zone.as_str()] == busiest)
            .collect();
        for policy in group.termination_policies.iter().map(String::as_str).chain(["Default"]) {
            pool = narrow(group, pool, policy);
        }
        let pick = pool[rng.random_range(0..pool.len())];
        chosen.push(pick);
    }
    chosen
}

/// Keep the instances a policy prefers to terminate (all of them when it cannot tell).
fn narrow(group: &AsgGroup, pool: Vec<usize>, policy: &str) -> Vec<usize> {
    let instance = |i: usize| &group.instances[i];
    let keep_best = |pool: Vec<usize>, key: &dyn Fn(usize) -> f64| -> Vec<usize> {
        let best = pool.iter().map(|&i| key(i)).fold(f64::INFINITY, f64::min);
        pool.into_iter().filter(|&i| key(i) == best).collect()
    };
    match policy {
        "OldestInstance" => keep_best(pool, &|i| instance(i).launched_at),
        "NewestInstance" => keep_best(pool, &|i| -instance(i).launched_at),
        "OldestLaunchTemplate" | "OldestLaunchConfiguration" | "Default" => {
            keep_best(pool, &|i| f64::from(instance(i).template_version))
        }
        // AllocationStrategy and ClosestToNextInstanceHour cannot tell simulated instances apart.
        _ => pool,
    }
}
