//! `update` for scaling, scale-in protection and the doctor's findings: opening the dialogs, their
//! keys, and the worker's reports. Plain functions over the model, like `update`; the mutating
//! actions only get here through the read-only gate in `update::dispatch`.

use super::app::{ConsoleState, Overlay, PaneId};
use super::dialogs::protect::{Outcome as ProtectOutcome, ProtectDialog};
use super::dialogs::scale::{Outcome as ScaleDialogOutcome, ScaleDialog};
use super::messages::{JobKind, NodeRequest, ScaleJob, ScaleReport};
use super::update::Effect;
use crate::model::{Instance, ScaleSetKey};
use crate::scaling::{ProtectOutcome as Protected, ScaleOutcome};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// The instance under the cursor of the instances pane.
fn cursor_instance(model: &ConsoleState) -> Option<&Instance> {
    model.instances.rows.get(model.table(PaneId::Instances).selected_index()?)
}

fn busy(model: &mut ConsoleState) -> bool {
    if let Some(running) = &model.scale.running {
        let text = format!("{running} is still running: one change at a time");
        model.warn(text);
        return true;
    }
    false
}

/// Open the scale dialog for the set of the instance under the cursor (on the instances pane) or
/// the profile's first scale set, over its latest listing.
pub fn open_scale(model: &mut ConsoleState, capacity: Option<u32>) {
    if busy(model) {
        return;
    }
    let on_instance = if model.pane == PaneId::Instances { cursor_instance(model) } else { None };
    // On the nodes pane, S scales the set that hosts the nodes.
    let on_nodes = if model.pane == PaneId::Nodes { model.ha.key.clone() } else { None };
    let key = match on_instance
        .map(|i| ScaleSetKey::clone(&i.scale_set))
        .or(on_nodes)
        .or_else(|| model.scale.configured.first().cloned())
    {
        Some(key) => key,
        None => return model.warn("this profile has no scale set to scale"),
    };
    if model.ha.is_nodes_set(&key) {
        if let Some(pending) = &model.ha.pending_scale_in {
            // Never plan another over an unfinished one: the journal's job is resumed first.
            let dialog = crate::tui::dialogs::node::NodeDialog::resume_scale_in(pending);
            model.overlay = Overlay::Node(dialog);
            return;
        }
    }
    let Some(listing) = model.scale.listing(&key, &model.instances.rows) else {
        return model.warn(format!("{} has not been read yet: wait for a refresh (r), then scale", key.name));
    };
    let dialog = ScaleDialog::open(
        &model.profile_name,
        listing,
        model.scale.limits.clone(),
        model.scale.history.clone(),
        model.scale.scalers(&key, model.now),
        capacity,
        model.now,
    );
    let dialog = if model.ha.is_nodes_set(&key) {
        dialog.drain_first(model.nodes.rows.clone(), model.nodes_config.clone(), model.now)
    } else {
        dialog
    };
    model.overlay = Overlay::Scale(Box::new(dialog));
}

pub fn open_protect(model: &mut ConsoleState) {
    if busy(model) {
        return;
    }
    if model.pane != PaneId::Instances {
        return model.warn("scale-in protection is set on an instance: use p on the instances pane");
    }
    let Some(instance) = cursor_instance(model) else {
        return model.say("no instance under the cursor");
    };
    model.overlay = Overlay::Protect(ProtectDialog::open(instance, model.scale.limits.require_reason));
}

/// Keep the latest listings (before the instances pane takes the refresh's rows).
pub fn remember_listings(model: &mut ConsoleState, snapshot: &crate::snapshot::Snapshot) {
    model.scale.remember(snapshot, &model.instances.rows);
}

/// An open scale dialog re-checks over its set's latest listing, so its verdict follows the scale
/// set (a provisioning that finishes, someone else's change) while the operator edits. Called
/// once the instances pane holds the refresh's VMs, where the listings keep theirs.
pub fn recheck_scale_dialog(model: &mut ConsoleState) {
    let now = model.now;
    if let Overlay::Scale(dialog) = &mut model.overlay {
        if let Some(latest) = model.scale.listing(&dialog.listing.state.key, &model.instances.rows) {
            dialog.listing = latest;
            dialog.others = model.scale.scalers(&dialog.listing.state.key, now);
            dialog.recompute(now);
        }
    }
}

/// `:doctor`: read and check again (read-only, so it is not behind the gate).
pub fn run_doctor(model: &mut ConsoleState) -> Vec<Effect> {
    if model.findings.gathering {
        model.say("the doctor is already reading");
        return vec![];
    }
    model.findings.gathering = true;
    model.findings.announce = true;
    model.say("doctor: reading settings, policies, nodes and permissions…");
    vec![Effect::Scale(ScaleJob::Doctor)]
}

pub fn on_key(model: &mut ConsoleState, key: &KeyEvent) -> Vec<Effect> {
    let now = model.now;
    match &mut model.overlay {
        Overlay::Scale(dialog) => match dialog.on_key(key, now) {
            ScaleDialogOutcome::Stay => vec![],
            ScaleDialogOutcome::Cancel => {
                model.overlay = Overlay::None;
                model.say("scale cancelled: nothing was changed");
                vec![]
            }
            ScaleDialogOutcome::Autoscale => {
                let key = dialog.listing.state.key.clone();
                super::update_autoscale::open(model, key);
                vec![]
            }
            ScaleDialogOutcome::ScaleIn(plan) => {
                model.overlay = Overlay::None;
                let names: Vec<String> = plan.choice.victims.iter().map(|v| v.label()).collect();
                for victim in &plan.choice.victims {
                    let view =
                        super::node_state::JobView::new(&victim.node_id, &victim.node_name, JobKind::ScaleIn);
                    model.jobs.jobs.insert(victim.node_id.clone(), view);
                }
                model.say(format!(
                    "scale-in of {}: draining {} first, then their VMs, then their node records",
                    plan.proposal.key().name,
                    names.join(", ")
                ));
                model.pane = PaneId::Nodes;
                let reason = plan.proposal.request.reason.clone();
                vec![Effect::Node(NodeRequest::ScaleIn { plan, reason })]
            }
            ScaleDialogOutcome::Confirm(shown) => {
                model.overlay = Overlay::None;
                let what = format!("scaling {} {}→{}", shown.key().name, shown.current(), shown.target());
                model.say(format!("{what}: re-reading, then waiting for Azure…"));
                model.scale.running = Some(what);
                vec![Effect::Scale(ScaleJob::Scale { profile_name: model.profile_name.clone(), shown })]
            }
        },
        Overlay::Protect(dialog) => match dialog.on_key(key) {
            ProtectOutcome::Stay => vec![],
            ProtectOutcome::Cancel => {
                model.overlay = Overlay::None;
                model.say("protection change cancelled: nothing was changed");
                vec![]
            }
            ProtectOutcome::Closed => {
                model.overlay = Overlay::None;
                vec![]
            }
            ProtectOutcome::Confirm(request) => {
                model.overlay = Overlay::None;
                let verb = if request.protect { "protecting" } else { "unprotecting" };
                let what = format!("{verb} instance {}", request.instance_id);
                model.say(format!("{what}: waiting for Azure…"));
                model.scale.running = Some(what);
                vec![Effect::Scale(ScaleJob::Protect { profile_name: model.profile_name.clone(), request })]
            }
        },
        Overlay::Findings { scroll } => {
            match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('!') | KeyCode::Enter => {
                    model.overlay = Overlay::None
                }
                _ => {
                    let area = ratatui::layout::Rect::new(0, 0, model.size.0, model.size.1);
                    let max = super::dialogs::findings::max_scroll(area, &model.findings);
                    *scroll = super::update::scrolled(*scroll, key, max);
                }
            }
            vec![]
        }
        _ => vec![],
    }
}

pub fn on_report(model: &mut ConsoleState, report: ScaleReport) -> Vec<Effect> {
    match report {
        ScaleReport::History(history) => {
            let now = model.now;
            if let Overlay::Scale(dialog) = &mut model.overlay {
                dialog.history = history.clone();
                dialog.recompute(now);
            }
            model.scale.history = history;
            vec![]
        }
        ScaleReport::Scaled { scale_set, outcome } => {
            model.scale.running = None;
            on_scaled(model, &scale_set, outcome)
        }
        ScaleReport::Protected { what, outcome } => {
            model.scale.running = None;
            match outcome {
                Ok(Protected::Done) => {
                    model.say(format!("{what}: done"));
                    return vec![Effect::Refresh];
                }
                Ok(other) => model.warn(format!("{what}: {}", other.sentence())),
                Err(why) => model.warn(format!("{what}: failed: {why}")),
            }
            vec![]
        }
        ScaleReport::Autoscaled { request, outcome } => {
            model.scale.running = None;
            super::update_autoscale::finished(model, request, outcome)
        }
        ScaleReport::Findings(report) => {
            let counts = report.counts();
            if model.findings.announce {
                model.say(format!(
                    "doctor: {} error(s), {} warning(s); ! lists them with their fixes",
                    counts.errors, counts.warnings
                ));
            }
            model.findings.report = Some(report);
            model.findings.gathering = false;
            model.findings.announce = false;
            vec![]
        }
    }
}

fn on_scaled(
    model: &mut ConsoleState,
    scale_set: &str,
    outcome: Result<ScaleOutcome, String>,
) -> Vec<Effect> {
    match outcome {
        Ok(ScaleOutcome::Done { from, to, forced }) => {
            let forced = if forced { " (forced)" } else { "" };
            model.say(format!(
                "scaled {scale_set} {from}→{to}{forced}: done; following the scale event in the diffs pane"
            ));
            model.pane = PaneId::Diffs;
            vec![Effect::Refresh]
        }
        Ok(ScaleOutcome::Changed(conflict)) => {
            let sentence = conflict.sentence();
            if let Ok(fresh) = conflict.fresh {
                // Ask again with what is true now; never retry by itself.
                let history = model.scale.history.clone();
                model.overlay = Overlay::Scale(Box::new(ScaleDialog::reopen(
                    fresh,
                    history,
                    sentence.clone(),
                    model.now,
                )));
            }
            model.warn(format!("scale {scale_set}: {sentence}"));
            vec![Effect::Refresh]
        }
        Ok(ScaleOutcome::Failed { why, accepted }) => {
            model.warn(format!("scale {scale_set} failed: {why}"));
            if accepted {
                model.pane = PaneId::Diffs;
            }
            vec![Effect::Refresh]
        }
        Ok(refused @ ScaleOutcome::Refused { .. }) => {
            model.warn(format!("scale {scale_set}: {}", refused.sentence()));
            vec![]
        }
        Err(why) => {
            model.warn(format!("scale {scale_set} failed: {why}"));
            vec![]
        }
    }
}
