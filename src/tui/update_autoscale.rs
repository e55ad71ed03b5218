//! `update` for the Azure Autoscale change dialog: opening it from the scale dialog over the
//! latest refresh, its keys, and the worker's report. Behind the same read-only gate as scaling
//! (it only opens from the scale dialog).

use super::app::{ConsoleState, Overlay};
use super::dialogs::autoscale::{AutoscaleDialog, AutoscaleRequest, Outcome};
use super::messages::ScaleJob;
use super::update::Effect;
use crate::autoscale::CooldownNow;
use crate::guard;
use crate::model::ScaleSetKey;
use crate::scaling::AutoscaleOutcome;
use ratatui::crossterm::event::KeyEvent;

/// Open the Autoscale change for `key`: its setting as last read, the set's capacity, the guard's
/// cooldown as it stands (journal, Activity Log, what the console saw; unknown when the Activity
/// Log could not be read).
pub fn open(model: &mut ConsoleState, key: ScaleSetKey) {
    let Some(listing) = model.scale.listing(&key, &model.instances.rows) else {
        return model.warn(format!("{} has not been read yet: wait for a refresh (r)", key.name));
    };
    let setting = match model.scale.others.get(&key).map(|o| &o.setting) {
        Some(Ok(Some(setting))) => setting.clone(),
        Some(Ok(None)) => {
            return model.warn(format!("no Azure Autoscale setting targets {key}: nothing to change"))
        }
        Some(Err(failure)) => {
            return model.warn(format!("the Azure Autoscale setting of {key} could not be read: {failure}"))
        }
        None => return model.warn(format!("{} has not been read yet: wait for a refresh (r)", key.name)),
    };
    let scalers = model.scale.scalers(&key, model.now);
    let mut history = model.scale.history.clone();
    history.extend(scalers.changes);
    // An unreadable Activity Log is an unknown cooldown, never "nobody changed it".
    let cooldown = CooldownNow {
        running: guard::cooldown_refusal(&model.scale.limits, &key, &listing.state, &history, model.now),
        unknown: scalers.activity_log_failure,
    };
    let dialog = AutoscaleDialog::open(
        key,
        setting,
        listing.state.capacity,
        model.scale.limits.clone(),
        cooldown,
        model.now,
    );
    model.overlay = Overlay::Autoscale(Box::new(dialog));
}

pub fn on_key(model: &mut ConsoleState, key: &KeyEvent) -> Vec<Effect> {
    let Overlay::Autoscale(dialog) = &mut model.overlay else { return vec![] };
    match dialog.on_key(key) {
        Outcome::Stay => vec![],
        Outcome::Cancel => {
            model.overlay = Overlay::None;
            model.say("autoscale change cancelled: nothing was changed");
            vec![]
        }
        Outcome::Confirm(request) => {
            model.overlay = Overlay::None;
            let what = format!("changing Azure Autoscale setting {}", request.setting);
            model.say(format!("{what}: reading it again, then writing…"));
            model.scale.running = Some(what);
            vec![Effect::Scale(ScaleJob::Autoscale { profile_name: model.profile_name.clone(), request })]
        }
    }
}

pub fn finished(
    model: &mut ConsoleState,
    request: Box<AutoscaleRequest>,
    outcome: Result<Box<AutoscaleOutcome>, String>,
) -> Vec<Effect> {
    let setting = request.setting.clone();
    match outcome.map(|o| *o) {
        Ok(done @ AutoscaleOutcome::Done { .. }) => {
            model.say(done.sentence(&setting));
            vec![Effect::Refresh]
        }
        Ok(changed @ AutoscaleOutcome::Changed { .. }) => {
            // Ask again over what is true now (after the refresh); never retry by itself.
            model.warn(format!("{}: press S, then a, to look again", changed.sentence(&setting)));
            vec![Effect::Refresh]
        }
        Ok(other) => {
            model.warn(other.sentence(&setting));
            vec![]
        }
        Err(why) => {
            model.warn(format!("changing Azure Autoscale setting {setting} failed: {why}"));
            vec![]
        }
    }
}
