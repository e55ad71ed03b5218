//! Azure Autoscale in the console: the instances pane's autoscale line, the scale dialog's
//! verdict over the active profile, `a` opening the Autoscale change (on Cancel, live verdict,
//! the set's name typed for a change that makes Autoscale scale in, turning it on with an unknown
//! active profile or moving the capacity with an unknown cooldown refused unless forced), and
//! capacity changes the console saw holding the cooldown.

use super::{draw, keys, press, screen};
use crate::autoscale::parse_setting;
use crate::tui::app::{ConsoleState, Overlay, PaneId};
use crate::tui::dialogs::form::Slot;
use crate::tui::fixtures;
use crate::tui::messages::{Refresh, ScaleJob};
use crate::tui::update::{apply_refresh, Effect};
use ratatui::crossterm::event::KeyCode;
use serde_json::json;

fn setting(enabled: bool) -> crate::autoscale::Setting {
    parse_setting(&json!({
        "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/web-autoscale",
        "name": "web-autoscale",
        "location": "westeurope",
        "properties": {"enabled": enabled, "targetResourceUri": "x", "profiles": [
            {"name": "default", "capacity": {"minimum": "2", "maximum": "6", "default": "3"}, "rules": []}
        ]}
    }))
    .unwrap()
}

/// Three VMs (capacity 3) governed by `web-autoscale` (2..6), read at `fixtures::now()`.
fn model() -> ConsoleState {
    model_with(setting(true))
}

/// Three VMs (capacity 3) governed by `setting`, read at `fixtures::now()`.
fn model_with(setting: crate::autoscale::Setting) -> ConsoleState {
    model_with_activity_log(setting, Ok(Vec::new()))
}

/// As `model_with`, with the Activity Log read as `changes`.
fn model_with_activity_log(
    setting: crate::autoscale::Setting,
    changes: crate::snapshot::Observed<Vec<crate::model::ScaleChange>>,
) -> ConsoleState {
    let mut model = fixtures::model_with_instances(3);
    let mut snapshot = fixtures::snapshot();
    snapshot.scale_sets = crate::reconcile::testkit::SnapshotBuilder::new(fixtures::now())
        .set("vmss-web", 3, (0..3).map(|i| crate::reconcile::testkit::vm("vmss-web", i)).collect())
        .build()
        .scale_sets;
    snapshot.scale_sets[0].others.setting = Ok(Some(setting));
    snapshot.scale_sets[0].others.changes = changes;
    apply_refresh(&mut model, Refresh { snapshot, plan: fixtures::plan(), finished_at: fixtures::now() });
    model.pane = PaneId::Instances;
    model
}

fn autoscale_text(model: &ConsoleState) -> String {
    match &model.overlay {
        Overlay::Autoscale(dialog) => {
            dialog.lines().into_iter().map(|(l, _)| l).collect::<Vec<_>>().join("\n")
        }
        other => panic!("the autoscale dialog is open: {other:?}"),
    }
}

#[test]
fn the_instances_pane_says_what_autoscale_does() {
    let model = model();
    let shown = screen(&draw(&model, 140, 30));
    assert!(shown.contains("autoscale: on · profile \"default\" 2..6 (default 3)"), "{shown}");
}

#[test]
fn the_scale_dialog_refuses_outside_the_profile_and_a_opens_the_autoscale_change() {
    let mut model = model();
    keys(&mut model, "S8");
    let Overlay::Scale(dialog) = &model.overlay else { panic!("{:?}", model.overlay) };
    let text: Vec<String> = dialog.lines().into_iter().map(|(l, _)| l).collect();
    assert!(
        text.iter().any(|l| l.contains("Azure Autoscale setting web-autoscale would scale it back to 6")),
        "{text:#?}"
    );

    keys(&mut model, "a");
    let Overlay::Autoscale(dialog) = &model.overlay else { panic!("{:?}", model.overlay) };
    assert_eq!(dialog.form.focus, Slot::Field(0), "it opens on its first field, the minimum");
    assert!(
        autoscale_text(&model).contains("nothing would change"),
        "nothing typed yet: {}",
        autoscale_text(&model)
    );
    // Maximum: clear it with Ctrl-U, type 8; then a reason; then Apply (past the Enabled box).
    press(&mut model, KeyCode::Tab);
    update_ctrl_u(&mut model);
    keys(&mut model, "8");
    for _ in 0..2 {
        press(&mut model, KeyCode::Tab);
    }
    keys(&mut model, "sale");
    let text = autoscale_text(&model);
    assert!(
        text.contains("After        enabled, 2..8 (default 3)") && text.contains("Verdict      ALLOWED"),
        "{text}"
    );
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    let [Effect::Scale(ScaleJob::Autoscale { request, .. })] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!(request.change.maximum, Some(8));
    assert_eq!((request.change.minimum, request.change.default, request.change.enabled), (None, None, None));
    assert_eq!(request.reason, "sale");
    assert!(matches!(model.overlay, Overlay::None));
}

fn update_ctrl_u(model: &mut ConsoleState) {
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
    crate::tui::update::update(
        model,
        crate::tui::update::Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
}

#[test]
fn a_change_that_makes_autoscale_scale_in_needs_the_sets_name_typed() {
    let mut model = model();
    keys(&mut model, "Sa");
    // Maximum 2 with capacity 3: Autoscale would remove a VM.
    press(&mut model, KeyCode::Tab);
    update_ctrl_u(&mut model);
    keys(&mut model, "2");
    press(&mut model, KeyCode::Tab);
    update_ctrl_u(&mut model);
    keys(&mut model, "2");
    press(&mut model, KeyCode::Tab);
    keys(&mut model, "quiet night");
    assert!(
        autoscale_text(&model).contains("Autoscale will move the capacity from 3 to 2"),
        "{}",
        autoscale_text(&model)
    );
    // Tab lands on the name field before Apply; pressing Apply without it is refused.
    press(&mut model, KeyCode::Tab);
    let Overlay::Autoscale(dialog) = &model.overlay else { panic!() };
    assert_eq!(dialog.form.focus, Slot::Field(4));
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert!(effects.is_empty(), "{effects:?}");
    let Overlay::Autoscale(dialog) = &model.overlay else { panic!() };
    assert_eq!(dialog.form.error.as_deref(), Some("type `vmss-web` to confirm"));
    assert_eq!(dialog.form.focus, Slot::Field(4), "the focus goes back to the name");
    keys(&mut model, "vmss-web");
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert!(matches!(&effects[..], [Effect::Scale(ScaleJob::Autoscale { .. })]), "{effects:?}");
}

#[test]
fn a_capacity_change_the_console_saw_holds_the_cooldown() {
    let mut model = model();
    let mut snapshot = fixtures::snapshot();
    snapshot.taken_at = fixtures::now() + time::Duration::seconds(30);
    snapshot.scale_sets = crate::reconcile::testkit::SnapshotBuilder::new(snapshot.taken_at)
        .set("vmss-web", 5, (0..5).map(|i| crate::reconcile::testkit::vm("vmss-web", i)).collect())
        .build()
        .scale_sets;
    snapshot.scale_sets[0].others.setting = Ok(Some(setting(false)));
    let later = snapshot.taken_at;
    model.now = later;
    apply_refresh(&mut model, Refresh { snapshot, plan: fixtures::plan(), finished_at: later });
    keys(&mut model, "S4");
    let Overlay::Scale(dialog) = &model.overlay else { panic!("{:?}", model.overlay) };
    let text: Vec<String> = dialog.lines().into_iter().map(|(l, _)| l).collect();
    assert!(
        text.iter().any(|l| l.contains("by someone (seen by the console); the cooldown ends in 10m 0s")),
        "{text:#?}"
    );
    assert!(text.iter().any(|l| l == "Autoscale    off (setting web-autoscale is disabled)"), "{text:#?}");
}

/// `setting(false)` with a recurring profile "weekday" whose time zone scaleguard cannot resolve.
fn disabled_setting_with_an_unknown_zone() -> crate::autoscale::Setting {
    let mut resource = setting(false).resource;
    resource["properties"]["profiles"].as_array_mut().unwrap().push(json!({
        "name": "weekday", "capacity": {"minimum": "1", "maximum": "2", "default": "2"}, "rules": [],
        "recurrence": {"frequency": "Week", "schedule": {
            "timeZone": "Mars Standard Time", "days": ["Monday"], "hours": [8], "minutes": [0]}}
    }));
    parse_setting(&resource).unwrap()
}

#[test]
fn turning_autoscale_on_with_an_unknown_active_profile_is_refused_and_forcing_it_needs_the_name() {
    let mut model = model_with(disabled_setting_with_an_unknown_zone());
    keys(&mut model, "Sa");
    for _ in 0..3 {
        press(&mut model, KeyCode::Tab);
    }
    keys(&mut model, "back on");
    press(&mut model, KeyCode::Tab);
    let dialog = |model: &ConsoleState| match &model.overlay {
        Overlay::Autoscale(dialog) => dialog.clone(),
        other => panic!("the autoscale dialog is open: {other:?}"),
    };
    assert_eq!(dialog(&model).form.focus, Slot::Toggle(0), "the Enabled box");
    assert_eq!(dialog(&model).form.toggles.len(), 1, "no force box while nothing needs it");
    keys(&mut model, " ");
    let text = autoscale_text(&model);
    assert!(
        text.contains("active profile unknown: profile \"weekday\" names time zone \"Mars Standard Time\""),
        "{text}"
    );
    assert!(
        text.contains(
            "turning autoscale setting web-autoscale on lets it act with a profile that cannot be worked out (profile \
             \"weekday\" names time zone \"Mars Standard Time\""
        ),
        "{text}"
    );
    assert_eq!(dialog(&model).form.toggles.len(), 2, "the force box is offered");
    // Apply unforced: refused, nothing sent.
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    assert_eq!(dialog(&model).form.focus, Slot::Button(1));
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert_eq!(dialog(&model).form.focus, Slot::Button(0), "back on Cancel, nothing sent");
    // Tick force: allowed, and the set's name must be typed.
    press(&mut model, KeyCode::BackTab);
    press(&mut model, KeyCode::BackTab);
    assert_eq!(dialog(&model).form.focus, Slot::Toggle(1));
    keys(&mut model, " ");
    let text = autoscale_text(&model);
    assert!(
        text.contains("Verdict      ALLOWED") && text.contains("forced past an unknown active profile"),
        "{text}"
    );
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(dialog(&model).form.error.as_deref(), Some("type `vmss-web` to confirm"));
    assert_eq!(dialog(&model).form.focus, Slot::Field(4));
    keys(&mut model, "vmss-web");
    for _ in 0..3 {
        press(&mut model, KeyCode::Tab);
    }
    let effects = press(&mut model, KeyCode::Enter);
    let [Effect::Scale(ScaleJob::Autoscale { request, .. })] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!((request.change.enabled, request.change.force), (Some(true), true));
    assert_eq!(request.change.maximum, None, "no profile edit");
}

/// The last refresh could not read the Activity Log: the cooldown is unknown, so a maximum that
/// makes Autoscale scale in 3 -> 2 is refused, the force box is offered, and a forced change needs
/// the set's name typed. A higher maximum (nothing moves) needs no cooldown.
#[test]
fn a_move_by_autoscale_with_an_unreadable_activity_log_is_refused_unless_forced() {
    let failure = crate::snapshot::ReadFailure::new(
        "who else scales rg-web/vmss-web",
        "GET Activity Log of scale set rg-web/vmss-web: 500 Internal Server Error",
    );
    let mut model = model_with_activity_log(setting(true), Err(failure));
    let dialog = |model: &ConsoleState| match &model.overlay {
        Overlay::Autoscale(dialog) => dialog.clone(),
        other => panic!("the autoscale dialog is open: {other:?}"),
    };
    keys(&mut model, "Sa");
    // Maximum 8 first: Autoscale moves nothing, allowed without force.
    press(&mut model, KeyCode::Tab);
    update_ctrl_u(&mut model);
    keys(&mut model, "8");
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    keys(&mut model, "quiet night");
    assert!(autoscale_text(&model).contains("Verdict      ALLOWED"), "{}", autoscale_text(&model));
    assert_eq!(dialog(&model).form.toggles.len(), 1, "no force box while nothing needs it");
    // Maximum and default 2 with capacity 3: Autoscale would remove a VM, cooldown unknown.
    for _ in 0..2 {
        press(&mut model, KeyCode::BackTab);
    }
    update_ctrl_u(&mut model);
    keys(&mut model, "2");
    press(&mut model, KeyCode::Tab);
    update_ctrl_u(&mut model);
    keys(&mut model, "2");
    let text = autoscale_text(&model);
    assert!(
        text.contains(
            "Autoscale would then move the capacity from 3 to 2 within about a minute, and the cooldown is unknown: \
             the Activity Log could not be read (who else scales rg-web/vmss-web: GET Activity Log of scale set \
             rg-web/vmss-web: 500 Internal Server Error)"
        ) && text.contains("Verdict      REFUSED (1 reason(s))"),
        "{text}"
    );
    assert_eq!(dialog(&model).form.toggles.len(), 2, "the force box is offered");
    // Reason, Enabled, force, Cancel, Apply: Apply unforced sends nothing.
    for _ in 0..4 {
        press(&mut model, KeyCode::Tab);
    }
    assert_eq!(dialog(&model).form.focus, Slot::Button(1));
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    // Tick force: allowed, saying what was forced, and the set's name must be typed.
    press(&mut model, KeyCode::BackTab);
    press(&mut model, KeyCode::BackTab);
    assert_eq!(dialog(&model).form.focus, Slot::Toggle(1));
    keys(&mut model, " ");
    let text = autoscale_text(&model);
    assert!(
        text.contains("Verdict      ALLOWED")
            && text.contains("  ! forced past an unknown cooldown: the Activity Log could not be read ("),
        "{text}"
    );
    assert!(dialog(&model).needs_name());
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "not without the name");
    assert_eq!(dialog(&model).form.error.as_deref(), Some("type `vmss-web` to confirm"));
    keys(&mut model, "vmss-web");
    for _ in 0..3 {
        press(&mut model, KeyCode::Tab);
    }
    let effects = press(&mut model, KeyCode::Enter);
    let [Effect::Scale(ScaleJob::Autoscale { request, .. })] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!(
        (request.change.maximum, request.change.default, request.change.force),
        (Some(2), Some(2), true)
    );
    assert!(
        matches!(request.confirmed, crate::autoscale::ChangeVerdict::Allowed { forced: true, .. }),
        "{:?}",
        request.confirmed
    );
}
