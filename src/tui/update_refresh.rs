//! `update` for a finished refresh: each pane takes its own read (a failed read keeps the last
//! good rows under a STALE banner), the links between targets and VMs, the capacity samples, and
//! the plan with what was approved and has not finished.

use super::app::{CapacitySample, ConsoleState, Links, PaneId, Progress, SetSummary, SPARK_SAMPLES};
use super::messages::Refresh;
use crate::model::{PowerState, ProvisioningState};

/// Take a finished refresh. Each pane takes its own read; a failed read keeps the pane's last
/// good rows and marks them stale with the error.
pub fn apply_refresh(model: &mut ConsoleState, refresh: Refresh) {
    let Refresh { snapshot, plan, finished_at } = refresh;
    let cursor_keys: Vec<Option<String>> = PaneId::ALL.iter().map(|&pane| model.cursor_key(pane)).collect();
    let at = snapshot.taken_at;
    let failures: Vec<String> = snapshot.failures().iter().map(|f| f.to_string()).collect();
    super::update_scale::remember_listings(model, &snapshot);
    model.refresh.in_flight_since = None;
    model.refresh.last_finished = Some(finished_at);
    model.refresh.last_error = if failures.is_empty() { None } else { Some(failures.join("; ")) };
    if let Ok(version) = &snapshot.server_version {
        model.server_version = Some(version.clone());
    }

    let mut listings_ok = true;
    let mut listing_errors = Vec::new();
    let mut running = 0u64;
    for observation in &snapshot.scale_sets {
        match &observation.listing {
            Ok(listing) => {
                let summary = SetSummary {
                    name: observation.key.name.clone(),
                    capacity: listing.state.capacity,
                    instances: listing.instances.len() as u32,
                    succeeded: listing
                        .instances
                        .iter()
                        .filter(|i| i.provisioning_state == ProvisioningState::Succeeded)
                        .count() as u32,
                };
                match model.sets.iter_mut().find(|s| s.name == summary.name) {
                    Some(existing) => *existing = summary,
                    None => model.sets.push(summary),
                }
                running += listing
                    .instances
                    .iter()
                    .filter(|i| {
                        i.provisioning_state == ProvisioningState::Succeeded
                            && i.power_state == PowerState::Running
                    })
                    .count() as u64;
            }
            Err(failure) => {
                listings_ok = false;
                listing_errors.push(failure.to_string());
            }
        }
    }
    if listings_ok {
        let capacity = model.sets.iter().map(|s| u64::from(s.capacity)).sum();
        model.samples.push_back(CapacitySample { capacity, running });
        while model.samples.len() > SPARK_SAMPLES {
            model.samples.pop_front();
        }
    }

    if let Ok(targets) = &snapshot.targets {
        let sets = snapshot.scale_sets.iter().filter_map(|observation| {
            let listing = observation.listing.as_ref().ok()?;
            let match_by = model.match_by.iter().find(|(key, _)| *key == observation.key).map(|(_, m)| *m)?;
            Some((match_by, listing.instances.as_slice()))
        });
        model.links = Links::new(&crate::matching::pair_targets(sets, targets), targets);
    }
    let inventory_complete = snapshot.inventory_complete();

    // The snapshot has served: its rows move into the panes (at 10,000 VMs a copy of each
    // listing is megabytes held twice while the panes change).
    let instances = if listings_ok {
        // The old rows go first: they are replaced, and the new ones are megabytes too.
        model.instances.rows = Vec::new();
        let listings = snapshot.scale_sets.into_iter().filter_map(|observation| observation.listing.ok());
        Ok(listings.flat_map(|listing| listing.instances).collect())
    } else {
        Err(listing_errors.join("; "))
    };
    model.instances.accept(instances, at);
    super::update_scale::recheck_scale_dialog(model);
    model.targets.accept(snapshot.targets.map_err(|f| f.to_string()), at);
    model.nodes.accept(snapshot.nodes.map_err(|f| f.to_string()), at);
    if let Some(key) = model.ha.key.clone() {
        let listing = model.scale.listing(&key, &model.instances.rows).map(|l| l.instances);
        let nodes = model.nodes.rows.clone();
        model.ha.refresh(&nodes, listing.as_deref());
        // An open drain-first dialog plans over the nodes as they are now.
        let now = model.now;
        if let super::app::Overlay::Scale(dialog) = &mut model.overlay {
            if let Some(drain_first) = &mut dialog.drain_first {
                drain_first.nodes = nodes;
                dialog.recompute(now);
            }
        }
    }

    // Done changes leave the pane (the journal keeps them); the rest of what was approved stays
    // with its status after it left the plan.
    model.approved.retain(|p| model.progress.get(&p.id) != Some(&Progress::Done));
    let plan_read = if inventory_complete {
        let mut rows = plan.actions;
        let in_plan: std::collections::HashSet<String> = rows.iter().map(|p| p.id.clone()).collect();
        rows.extend(model.approved.iter().filter(|p| !in_plan.contains(&p.id)).cloned());
        Ok(rows)
    } else {
        Err(format!("the plan needs complete listings: {}", failures.join("; ")))
    };
    model.diffs.accept(plan_read, at);
    let alive: std::collections::HashSet<&String> = model.diffs.rows.iter().map(|p| &p.id).collect();
    model.selected.retain(|id| alive.contains(id));
    model.progress.retain(|id, _| alive.contains(id));
    for (pane, keep) in PaneId::ALL.into_iter().zip(cursor_keys) {
        model.rebuild_view_keeping(pane, keep);
    }
    super::update::keep_cursor_visible(model);
}
