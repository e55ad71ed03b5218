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

    // Rows this refresh replaces go before the new ones move in: at 10,000 VMs each is
    // megabytes (the old rows were read for the cursor and the scale dialog's listings above; a
    // failed read keeps its pane's rows).
    if listings_ok {
        model.instances.rows = Vec::new();
    }
    if snapshot.targets.is_ok() {
        model.targets.rows = Vec::new();
    }
    model.links = Links::default();
    let inventory_complete = snapshot.inventory_complete();

    // The snapshot has served: its rows move into the panes (at 10,000 VMs a copy of each
    // listing is megabytes held twice while the panes change).
    let instances = if listings_ok {
        let listings = snapshot.scale_sets.into_iter().filter_map(|observation| observation.listing.ok());
        Ok(concatenated(listings.map(|listing| listing.instances)))
    } else {
        Err(listing_errors.join("; "))
    };
    model.instances.accept(instances, at);
    super::update_scale::recheck_scale_dialog(model);
    model.targets.accept(snapshot.targets.map_err(|f| f.to_string()), at);
    // Between the rows the panes show, new or kept.
    model.links = Links::new(&model.instances.rows, &model.match_by, &model.targets.rows);
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

/// The listings' VMs in one `Vec`, in order, grown once to the exact size from the first
/// listing's own buffer: collecting them anew would hold a second buffer, up to twice the size
/// needed, while the listings are moved over.
fn concatenated<T>(lists: impl IntoIterator<Item = Vec<T>>) -> Vec<T> {
    let mut lists: Vec<Vec<T>> = lists.into_iter().collect();
    let total: usize = lists.iter().map(Vec::len).sum();
    let mut rest = lists.drain(..);
    let Some(mut all) = rest.next() else { return Vec::new() };
    all.reserve_exact(total - all.len());
    for mut list in rest {
        all.append(&mut list);
    }
    // The first listing may have had room to spare (a `Vec` grown by pushing).
    all.shrink_to_fit();
    all
}

#[cfg(test)]
mod tests {
    use super::concatenated;

    #[test]
    fn listings_are_concatenated_in_order_into_a_buffer_of_the_exact_size() {
        let mut first = Vec::with_capacity(64);
        first.extend([1, 2]);
        let all = concatenated([first, vec![], vec![3], vec![4, 5, 6]]);
        assert_eq!(all, [1, 2, 3, 4, 5, 6]);
        assert_eq!(all.capacity(), 6, "no room beyond the rows");
        assert!(concatenated(Vec::<Vec<u8>>::new()).is_empty());
    }
}
