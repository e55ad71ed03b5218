//! Which instances an Auto Scaling group's scale-in likely terminates, by its termination
//! policies ("Configure termination policies for Amazon EC2 Auto Scaling",
//! <https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-termination-policies.html>):
//! Auto Scaling first balances the availability zones (an instance goes from the zone with the
//! most), then applies the policies in order within that zone, each narrowing the candidates:
//! OldestInstance and NewestInstance by launch time, OldestLaunchTemplate and
//! OldestLaunchConfiguration the instances not on the group's current launch template or
//! configuration; Default is OldestLaunchTemplate then the instance closest to its next billing
//! hour, which cannot be read, so the last tie goes by instance id. Instances protected from
//! scale-in, in Standby or in the warm pool are never chosen. AWS decides which instances go.

use crate::model::{Instance, ScaleSetState};
use std::cmp::Ordering;
use std::collections::HashMap;

/// The group's policies in order; an empty list is AWS's Default.
pub fn policies(state: &ScaleSetState) -> Vec<String> {
    let policies = state.aws.as_ref().map(|g| g.termination_policies.clone()).unwrap_or_default();
    if policies.is_empty() {
        vec!["Default".into()]
    } else {
        policies
    }
}

/// How the expected instances were chosen, for the operator.
pub fn basis(state: &ScaleSetState) -> String {
    format!(
        "likely, by the termination policies {}: zones balanced first, then each policy in order; AWS decides \
         which instances go",
        policies(state).join(", ")
    )
}

/// The instances a scale-in of the group to `new_capacity` likely terminates.
pub fn likely(state: &ScaleSetState, instances: &[Instance], new_capacity: u32) -> Vec<Instance> {
    let policies = policies(state);
    let mut remaining: Vec<&Instance> = instances.iter().filter(|i| i.in_capacity()).collect();
    let remove = remaining.len().saturating_sub(new_capacity as usize);
    let mut victims = Vec::with_capacity(remove);
    for _ in 0..remove {
        let Some(index) = next(&policies, &remaining) else { break };
        victims.push(remaining.swap_remove(index).clone());
    }
    victims
}

fn next(policies: &[String], remaining: &[&Instance]) -> Option<usize> {
    let candidates: Vec<usize> = (0..remaining.len()).filter(|&i| !remaining[i].is_protected()).collect();
    let mut per_zone: HashMap<Option<&str>, usize> = HashMap::new();
    for instance in remaining {
        *per_zone.entry(instance.placement.zone.as_deref()).or_default() += 1;
    }
    let zone = candidates
        .iter()
        .map(|&i| remaining[i].placement.zone.as_deref())
        .max_by(|a, b| per_zone[a].cmp(&per_zone[b]).then_with(|| a.cmp(b)))?;
    let mut pool: Vec<usize> =
        candidates.into_iter().filter(|&i| remaining[i].placement.zone.as_deref() == zone).collect();
    for policy in policies {
        pool = narrow(policy, pool, remaining);
        if pool.len() <= 1 {
            break;
        }
    }
    pool.into_iter().min_by(|a, b| remaining[*a].instance_id.cmp(&remaining[*b].instance_id))
}

/// The candidates one policy keeps (all of them when it cannot tell them apart).
fn narrow(policy: &str, pool: Vec<usize>, remaining: &[&Instance]) -> Vec<usize> {
    let by_launch = |a: &usize, b: &usize| -> Ordering {
        match (remaining[*a].placement.created_at, remaining[*b].placement.created_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => Ordering::Equal,
        }
    };
    let keep_extreme = |oldest: bool| -> Vec<usize> {
        let pick = if oldest {
            pool.iter().min_by(|a, b| by_launch(a, b))
        } else {
            pool.iter().max_by(|a, b| by_launch(a, b))
        };
        match pick {
            Some(&chosen) => {
                pool.iter().copied().filter(|i| by_launch(i, &chosen) == Ordering::Equal).collect()
            }
            None => pool.clone(),
        }
    };
    match policy.trim().to_ascii_lowercase().as_str() {
        "oldestinstance" => keep_extreme(true),
        "newestinstance" => keep_extreme(false),
        "oldestlaunchtemplate" | "oldestlaunchconfiguration" | "default" => {
            let outdated: Vec<usize> =
                pool.iter().copied().filter(|&i| remaining[i].latest_model_applied == Some(false)).collect();
            if outdated.is_empty() {
                pool
            } else {
                outdated
            }
        }
        _ => pool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AwsGroup, AwsInstance, LifecycleState, Placement, PowerState, ProvisioningState, ScaleSetKey,
    };
    use time::macros::datetime;

    fn state(policies: &[&str]) -> ScaleSetState {
        ScaleSetState {
            key: ScaleSetKey {
                provider: "aws".into(),
                subscription_id: String::new(),
                resource_group: String::new(),
                name: "web-asg".into(),
            },
            location: None,
            capacity: 4,
            provisioning_state: ProvisioningState::Succeeded,
            overprovision: false,
            orchestration_mode: crate::model::OrchestrationMode::Uniform,
            scale_in_rules: vec![],
            etag: None,
            last_changed: None,
            layout: Default::default(),
            aws: Some(Box::new(AwsGroup {
                min_size: 0,
                termination_policies: policies.iter().map(|p| p.to_string()).collect(),
                ..crate::reconcile::testkit::aws_group(10, vec![])
            })),
        }
    }

    /// `id` in `zone`, launched at hour `hour`, on the current template or not.
    fn instance(id: &str, zone: &str, hour: u8, current: bool, state: &str) -> Instance {
        Instance {
            scale_set: state_key().into(),
            instance_id: id.into(),
            vm_id: Some(id.into()),
            name: id.into(),
            computer_name: None,
            guest_computer_name: None,
            provisioning_state: LifecycleState::new(state).provisioning_state(),
            power_state: PowerState::Running,
            latest_model_applied: Some(current),
            protected_from_scale_in: Some(id == "i-protected"),
            placement: Placement {
                zone: Some(zone.into()),
                fault_domain: None,
                created_at: Some(datetime!(2026-11-29 00:00 UTC) + time::Duration::hours(hour.into())),
            },
            aws: Some(Box::new(AwsInstance {
                lifecycle_state: LifecycleState::new(state),
                health_status: None,
                launch: None,
                name_tag: None,
                ec2_state: None,
                ec2_group: Default::default(),
            })),
        }
    }

    fn state_key() -> ScaleSetKey {
        state(&[]).key
    }

    fn ids(victims: Vec<Instance>) -> Vec<String> {
        victims.into_iter().map(|i| i.instance_id).collect()
    }

    fn group() -> Vec<Instance> {
        vec![
            instance("i-a1", "a", 1, true, "InService"),
            instance("i-a2", "a", 5, false, "InService"),
            instance("i-a3", "a", 3, true, "InService"),
            instance("i-b1", "b", 2, true, "InService"),
            instance("i-protected", "a", 0, false, "InService"),
            instance("i-warm", "a", 0, false, "Warmed:Stopped"),
        ]
    }

    #[test]
    fn zones_are_balanced_first_then_each_policy_narrows() {
        // Zone a holds 4 of the 5 in service: it loses one first.
        assert_eq!(ids(likely(&state(&["OldestInstance"]), &group(), 4)), vec!["i-a1"]);
        assert_eq!(ids(likely(&state(&["NewestInstance"]), &group(), 4)), vec!["i-a2"]);
        assert_eq!(
            ids(likely(&state(&[]), &group(), 4)),
            vec!["i-a2"],
            "Default: the outdated template first"
        );
        // Then zones are even (a: a1, a3, protected; b: b1): a goes on losing until b is fuller.
        assert_eq!(ids(likely(&state(&["OldestInstance"]), &group(), 3)), vec!["i-a1", "i-a3"]);
    }

    #[test]
    fn protected_standby_and_warm_instances_never_go() {
        let victims = ids(likely(&state(&["OldestLaunchTemplate", "OldestInstance"]), &group(), 0));
        assert!(
            !victims.contains(&"i-protected".to_string()) && !victims.contains(&"i-warm".to_string()),
            "{victims:?}"
        );
        assert_eq!(victims.len(), 4);
        assert!(basis(&state(&[])).contains("AWS decides"));
        assert!(basis(&state(&["OldestInstance", "Default"])).contains("OldestInstance, Default"));
    }
}
