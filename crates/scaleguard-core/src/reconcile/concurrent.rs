//! The cross-machine rule for deployments (pure). Two executors on two machines share no lock,
//! so both may pass the fresh re-check and POST a deployment of one release to the same targets.
//! Octopus runs one deployment per project and environment (and tenant) at a time by default
//! (`Octopus.Task.ConcurrencyTag`), so the later one waits in the queue behind the earlier one.
//! Right after its POST each executor reads the release's deployments to the environment and
//! keeps its own only if no deployment queued earlier covers any of its targets; otherwise it
//! cancels its own while it is still queued.
//!
//! "Earlier" is the server's order: `Created`, then the numeric part of the id, then the id, so
//! every reader that sees the same deployments agrees on which one came first and exactly one
//! of two concurrent runs keeps its deployment.

use crate::model::{same_octopus_id, same_optional_octopus_id, Deployment, TaskState};
use std::cmp::Ordering;

/// What to do with the deployment this executor just created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arbitration<'a> {
    /// No earlier deployment of the release covers any of our targets: ours stands.
    Keep,
    /// `earlier` was queued before ours and covers `overlap` (our target ids): cancel ours,
    /// which is still queued.
    CancelOurs { earlier: &'a Deployment, overlap: Vec<String> },
    /// As `CancelOurs`, but ours has already left the queue (or its state is unknown): cancelling
    /// now would stop a deployment halfway, so it is reported instead.
    TooLateToCancel { earlier: &'a Deployment, overlap: Vec<String> },
}

/// Server order: `Created`, then the id's number, then the id. A deployment without `Created`
/// (real servers always send it) counts as the earliest, so the order stays total: a comparison
/// that is not (time only when both have one) would let a hostile listing make `a < b < c < a`,
/// and two readers disagree, or a sort panic.
pub fn queue_order(a: &Deployment, b: &Deployment) -> Ordering {
    (a.created, id_number(&a.id), &a.id).cmp(&(b.created, id_number(&b.id), &b.id))
}

fn id_number(id: &str) -> u64 {
    id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(u64::MAX)
}

/// Does `other` (queued before ours) take care of `target_id`? An active deployment does when it
/// names the target or covers the whole environment; a successful one when it reached it (or,
/// when the server did not say which it reached, when it covered it). A failed or cancelled one
/// does not.
fn takes_care_of(other: &Deployment, target_id: &str) -> bool {
    match other.task_state {
        None => other.covers(target_id),
        Some(state) if state.is_active() => other.covers(target_id),
        Some(TaskState::Success) => other.reached(target_id).unwrap_or_else(|| other.covers(target_id)),
        Some(_) => false,
    }
}

/// Decide about `ours` (as read back, with its task state) given every deployment of the same
/// release to the same environment (`ours` may be among them). Only deployments for the same
/// tenant (or both untenanted) compete: another tenant's deployment is a different one.
pub fn arbitrate<'a>(
    ours: &Deployment,
    deployments: &'a [Deployment],
    target_ids: &[String],
) -> Arbitration<'a> {
    let mut earlier: Vec<&'a Deployment> = deployments
        .iter()
        .filter(|d| {
            !same_octopus_id(&d.id, &ours.id)
                && same_octopus_id(&d.release_id, &ours.release_id)
                && same_octopus_id(&d.environment_id, &ours.environment_id)
                && same_optional_octopus_id(d.tenant_id.as_deref(), ours.tenant_id.as_deref())
        })
        .filter(|d| queue_order(d, ours) == Ordering::Less)
        .collect();
    earlier.sort_by(|a, b| queue_order(a, b));
    for other in earlier {
        let overlap: Vec<String> = target_ids.iter().filter(|t| takes_care_of(other, t)).cloned().collect();
        if overlap.is_empty() {
            continue;
        }
        return if ours.task_state == Some(TaskState::Queued) {
            Arbitration::CancelOurs { earlier: other, overlap }
        } else {
            Arbitration::TooLateToCancel { earlier: other, overlap }
        };
    }
    Arbitration::Keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::testkit::{at, deployment};

    fn queued(id: &str, secs: i64, targets: &[&str]) -> Deployment {
        let mut d = deployment(id, "Projects-1", "Releases-1", targets, &[], TaskState::Queued);
        d.created = Some(at(secs));
        d
    }

    fn ids(targets: &[&str]) -> Vec<String> {
        targets.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn of_two_concurrent_runs_exactly_one_keeps_its_deployment() {
        let a = queued("Deployments-7", 0, &["Machines-4", "Machines-5"]);
        let b = queued("Deployments-8", 0, &["Machines-4", "Machines-5"]);
        let both = vec![a.clone(), b.clone()];
        let targets = ids(&["Machines-4", "Machines-5"]);
        // Same Created to the millisecond: the id decides.
        assert_eq!(arbitrate(&a, &both, &targets), Arbitration::Keep);
        assert_eq!(
            arbitrate(&b, &both, &targets),
            Arbitration::CancelOurs { earlier: &both[0], overlap: targets.clone() }
        );
        // A run that read before the other's POST landed sees only its own: it keeps it, and
        // the later one, which sees both, cancels itself.
        assert_eq!(arbitrate(&a, &both[..1], &targets), Arbitration::Keep);
    }

    #[test]
    fn created_time_comes_before_the_id_which_ha_nodes_allocate_in_blocks() {
        let late_low_id = queued("Deployments-1005", 10, &["Machines-4"]);
        let early_high_id = queued("Deployments-1100", 5, &["Machines-4"]);
        let both = vec![late_low_id.clone(), early_high_id.clone()];
        let targets = ids(&["Machines-4"]);
        assert_eq!(arbitrate(&early_high_id, &both, &targets), Arbitration::Keep);
        assert!(matches!(arbitrate(&late_low_id, &both, &targets), Arbitration::CancelOurs { .. }));
    }

    #[test]
    fn the_queue_order_is_total_when_some_deployments_lack_a_created_time() {
        // Time when both have one, ids otherwise, made a cycle: late(t=5, #5) < early(t=1, #20)?
        let early = queued("Deployments-20", 1, &[]);
        let undated = Deployment { created: None, ..queued("Deployments-10", 0, &[]) };
        let late = queued("Deployments-5", 5, &[]);
        let all = [&early, &undated, &late];
        for a in all {
            for b in all {
                for c in all {
                    if queue_order(a, b) == Ordering::Less && queue_order(b, c) == Ordering::Less {
                        assert_eq!(queue_order(a, c), Ordering::Less, "{} < {} < {}", a.id, b.id, c.id);
                    }
                }
            }
        }
    }

    #[test]
    fn only_earlier_deployments_that_will_or_did_reach_our_targets_count() {
        let targets = ids(&["Machines-4", "Machines-5"]);
        let ours = queued("Deployments-9", 10, &["Machines-4", "Machines-5"]);
        let elsewhere = queued("Deployments-3", 0, &["Machines-1"]);
        let mut failed = queued("Deployments-4", 0, &["Machines-4"]);
        failed.task_state = Some(TaskState::Failed);
        let mut old_success = queued("Deployments-5", 0, &[]);
        old_success.task_state = Some(TaskState::Success);
        old_success.deployed_to_machine_ids = Some(ids(&["Machines-1"]));
        let mut other_release = queued("Deployments-6", 0, &["Machines-4"]);
        other_release.release_id = "Releases-2".into();
        let later = queued("Deployments-12", 20, &["Machines-4"]);
        let all = vec![elsewhere, failed, old_success, other_release, later, ours.clone()];
        assert_eq!(arbitrate(&ours, &all, &targets), Arbitration::Keep);

        let whole_environment = queued("Deployments-2", 0, &[]);
        let mut reached = queued("Deployments-1", 0, &["Machines-5"]);
        reached.task_state = Some(TaskState::Success);
        reached.deployed_to_machine_ids = Some(ids(&["Machines-5"]));
        let all = vec![whole_environment, reached, ours.clone()];
        match arbitrate(&ours, &all, &targets) {
            Arbitration::CancelOurs { earlier, overlap } => {
                assert_eq!(earlier.id, "Deployments-1", "the earliest one is named");
                assert_eq!(overlap, ids(&["Machines-5"]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_earlier_success_that_did_not_say_what_it_reached_takes_care_of_what_it_covered() {
        let targets = ids(&["Machines-4"]);
        let ours = queued("Deployments-9", 10, &["Machines-4"]);
        let mut unknown = queued("Deployments-2", 0, &[]);
        unknown.task_state = Some(TaskState::Success);
        unknown.deployed_to_machine_ids = None;
        let all = vec![unknown, ours.clone()];
        assert!(matches!(arbitrate(&ours, &all, &targets), Arbitration::CancelOurs { .. }));
        let mut elsewhere = all[0].clone();
        elsewhere.specific_machine_ids = ids(&["Machines-1"]);
        assert_eq!(arbitrate(&ours, &[elsewhere, ours.clone()], &targets), Arbitration::Keep);
    }

    #[test]
    fn only_deployments_for_the_same_tenant_compete() {
        let targets = ids(&["Machines-4"]);
        let for_tenant = |id: &str, secs: i64, tenant: Option<&str>| Deployment {
            tenant_id: tenant.map(str::to_string),
            ..queued(id, secs, &["Machines-4"])
        };
        let ours = for_tenant("Deployments-9", 10, Some("Tenants-1"));
        // Another tenant's (or an untenanted) deployment queued earlier is a different one.
        let others = vec![
            for_tenant("Deployments-2", 0, Some("Tenants-2")),
            for_tenant("Deployments-3", 0, None),
            ours.clone(),
        ];
        assert_eq!(arbitrate(&ours, &others, &targets), Arbitration::Keep);
        // The same tenant's, from another machine: ours is cancelled while queued.
        let mut same = others.clone();
        same.push(for_tenant("Deployments-4", 5, Some("Tenants-1")));
        match arbitrate(&ours, &same, &targets) {
            Arbitration::CancelOurs { earlier, overlap } => {
                assert_eq!((earlier.id.as_str(), overlap), ("Deployments-4", targets.clone()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_deployment_that_already_left_the_queue_is_not_cancelled_halfway() {
        let targets = ids(&["Machines-4"]);
        let earlier = queued("Deployments-7", 0, &["Machines-4"]);
        for state in [Some(TaskState::Executing), Some(TaskState::Success), None] {
            let mut ours = queued("Deployments-8", 1, &["Machines-4"]);
            ours.task_state = state;
            let all = vec![earlier.clone(), ours.clone()];
            assert!(
                matches!(arbitrate(&ours, &all, &targets), Arbitration::TooLateToCancel { .. }),
                "{state:?}"
            );
        }
    }

    proptest::proptest! {
        /// Runs POST in some order (ids and `Created` follow it, several may share a
        /// millisecond) and each reads the release's deployments at some moment after its own
        /// POST landed, seeing those created by then and the cancels made by then. Whatever the
        /// interleaving, no target is left with two deployments that will run.
        #[test]
        fn no_target_keeps_two_deployments_whatever_the_interleaving(
            runs in proptest::collection::vec((0..3i64, proptest::collection::btree_set(0..4u8, 1..4), 0..6usize), 2..6)
        ) {
            // (gap in ms since the previous POST, targets, how many later POSTs land before the read)
            let mut created = 0i64;
            let mut deployments = Vec::new();
            for (index, (gap, targets, _)) in runs.iter().enumerate() {
                created += gap;
                let names: Vec<String> = targets.iter().map(|t| format!("Machines-{t}")).collect();
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut d = queued(&format!("Deployments-{}", index + 1), 0, &refs);
                d.created = Some(at(0) + time::Duration::milliseconds(created));
                deployments.push(d);
            }
            // Each run reads after `lag` further POSTs landed; reads happen in that order.
            let mut reads: Vec<(usize, usize)> =
                runs.iter().enumerate().map(|(i, (_, _, lag))| ((i + lag).min(runs.len() - 1), i)).collect();
            reads.sort();
            for (visible_up_to, run) in reads {
                let seen: Vec<Deployment> = deployments[..=visible_up_to].to_vec();
                let ours = deployments[run].clone();
                if let Arbitration::CancelOurs { .. } = arbitrate(&ours, &seen, &ours.specific_machine_ids) {
                    deployments[run].task_state = Some(TaskState::Canceled);
                }
            }
            for target in 0..4u8 {
                let id = format!("Machines-{target}");
                let live = deployments
                    .iter()
                    .filter(|d| d.task_state == Some(TaskState::Queued) && d.covers(&id))
                    .count();
                proptest::prop_assert!(live <= 1, "{id} keeps {live} deployments: {deployments:?}");
            }
        }
    }
}
