//! Waits: a scale set that is still settling. Deploys to it are held until it is steady, so the
//! overprovisioning extras Azure is about to remove never receive a deployment.

use super::history::History;
use super::matched::{MatchedSnapshot, SetView};
use super::text::{capped, clock, duration, secs_between, set_id};
use crate::config::ReconcileConfig;
use crate::model::{Action, PlannedAction};
use crate::snapshot::ScaleSetListing;
use time::OffsetDateTime;

pub(crate) fn waits(
    matched: &MatchedSnapshot<'_>,
    history: &History,
    now: OffsetDateTime,
    config: &ReconcileConfig,
) -> Vec<PlannedAction> {
    matched.sets.iter().filter_map(|set| wait_for(set, history, now, config)).collect()
}

fn wait_for(
    set: &SetView<'_>,
    history: &History,
    now: OffsetDateTime,
    config: &ReconcileConfig,
) -> Option<PlannedAction> {
    let (Ok(listing), Some(progress)) = (set.listing, set.progress) else { return None };
    if progress.is_steady() {
        return None;
    }
    let since = history.set(set.key).and_then(|r| r.unsteady_since);
    let waiting_secs = since.map_or(0, |since| secs_between(since, now));
    let timed_out = waiting_secs >= config.provisioning_timeout_secs;

    let mut observations = Vec::new();
    if !progress.set_final {
        observations.push(format!("scale set provisioningState {}", listing.state.provisioning_state));
    }
    let is_group = listing.state.aws.is_some();
    let unsettled = listing.instances.iter().filter(|i| !i.provisioning_state.is_final()).map(|instance| {
        let age = duration(history.vm(instance).map_or(0, |vm| secs_between(vm.first_seen, now)));
        match instance.lifecycle_state() {
            // An Auto Scaling instance says where it is in its own lifecycle.
            Some(state) => format!("instance {} {} (seen for {age})", instance.instance_id, state.as_str()),
            None => format!(
                "instance {} provisioning {} for {age}",
                instance.instance_id, instance.provisioning_state
            ),
        }
    });
    observations.extend(capped(unsettled.collect()));
    if progress.extras() > 0 {
        observations.push(format!(
            "{} VMs listed for capacity {}: {} overprovisioning extra(s) not yet removed",
            progress.listed,
            progress.capacity,
            progress.extras()
        ));
    }
    if progress.repeated {
        observations.push(
            "the listing repeats an instance id, vmId or computer name: its counts are in doubt".into(),
        );
    }
    if progress.changed {
        observations.push("the scale set changed while its VMs were listed: its counts are in doubt".into());
    }
    if progress.succeeded < progress.capacity {
        observations.push(format!("{} of {} VMs Succeeded", progress.succeeded, progress.capacity));
    }
    if let Some(since) = since {
        observations.push(format!("not steady since {} ({})", clock(since), duration(waiting_secs)));
    }

    let reason = if is_group {
        group_reason(set, listing, &progress, waiting_secs, timed_out, config)
    } else if timed_out {
        format!(
            "{} has not settled for {}, past the {} provisioning timeout: deploys to it stay held; \
             look at the scale set in Azure",
            set.key,
            duration(waiting_secs),
            duration(config.provisioning_timeout_secs)
        )
    } else {
        format!(
            "{} is still provisioning ({} in progress, {} of {} Succeeded): deploys to it wait until it is steady",
            set.key, progress.in_progress, progress.succeeded, progress.capacity
        )
    };
    Some(PlannedAction {
        id: format!("wait:{}", set_id(set.key)),
        action: Action::Wait {
            scale_set: set.key.clone(),
            in_progress: progress.in_progress,
            succeeded: progress.succeeded,
            capacity: progress.capacity,
            waiting_secs,
            timed_out,
        },
        reason,
        observations,
    })
}

/// An Auto Scaling group in motion, in its own terms: which instances are launching or
/// terminating, and where AWS records why (its scaling activities).
fn group_reason(
    set: &SetView<'_>,
    listing: &ScaleSetListing,
    progress: &super::matched::SetProgress,
    waiting_secs: u64,
    timed_out: bool,
    config: &ReconcileConfig,
) -> String {
    let moving: Vec<String> = listing
        .instances
        .iter()
        .filter(|i| !i.provisioning_state.is_final() && !i.is_warm_pool())
        .filter_map(|i| Some(format!("{} {}", i.instance_id, i.lifecycle_state()?.as_str())))
        .collect();
    let moving = if moving.is_empty() {
        format!("{} instance(s) not settled", progress.in_progress)
    } else {
        capped(moving).join(", ")
    };
    if timed_out {
        format!(
            "{} has not settled for {}, past the {} provisioning timeout ({moving}): deploys to it stay held; \
             look at the group's scaling activities (aws autoscaling describe-scaling-activities)",
            set.key,
            duration(waiting_secs),
            duration(config.provisioning_timeout_secs)
        )
    } else {
        format!(
            "{} is launching or terminating instances ({moving}; {} of {} in service): deploys to it wait until it \
             is settled",
            set.key, progress.succeeded, progress.capacity
        )
    }
}
