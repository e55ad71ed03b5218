//! Scaling, scale-in protection and the doctor's findings in the console: the live verdict, the
//! read-only gate, the dialogs opening on Cancel, a 412 asking again, and the findings overlay.

use super::{draw, keys, press, screen};
use crate::doctor::Finding;
use crate::guard::ScaleRequest;
use crate::model::{ScaleChange, Severity};
use crate::scaling::{propose, Conflict, ProtectOutcome, ScaleOutcome};
use crate::tui::app::{ConsoleState, Overlay, PaneId};
use crate::tui::dialogs::form::Slot;
use crate::tui::dialogs::scale::{ScaleDialog, CAPACITY, REASON};
use crate::tui::fixtures;
use crate::tui::messages::{FindingsReport, ScaleJob, ScaleReport, WorkerEvent};
use crate::tui::update::{update, Effect, Msg};
use ratatui::crossterm::event::KeyCode;

/// Three running, unprotected VMs (capacity 3); the default guard: 1..=10, step 3, reason required.
fn model() -> ConsoleState {
    let mut model = fixtures::model_with_instances(3);
    model.pane = PaneId::Instances;
    model
}

fn dialog(model: &ConsoleState) -> &ScaleDialog {
    match &model.overlay {
        Overlay::Scale(dialog) => dialog,
        other => panic!("the scale dialog is open: {other:?}"),
    }
}

fn dialog_text(model: &ConsoleState) -> String {
    dialog(model).lines().into_iter().map(|(line, _)| line).collect::<Vec<_>>().join("\n")
}

fn report(model: &mut ConsoleState, report: ScaleReport) -> Vec<Effect> {
    update(model, Msg::Worker(WorkerEvent::Scale(report)))
}

#[test]
fn the_verdict_updates_live_as_digits_are_typed() {
    let mut model = model();
    keys(&mut model, "S");
    assert_eq!(dialog(&model).current(), 3);
    assert!(dialog(&model).proposal.is_none(), "nothing typed yet");

    keys(&mut model, "9");
    let text = dialog_text(&model);
    assert!(text.contains("Verdict      REFUSED (2 reason(s))"), "{text}");
    assert!(text.contains("a step of 6, more than the allowed 3"), "{text}");
    assert!(text.contains("reason"), "the missing reason is listed: {text}");

    keys(&mut model, "++");
    assert!(
        dialog_text(&model).contains("capacity 11 is above the maximum of 10"),
        "+ steps: {}",
        dialog_text(&model)
    );

    press(&mut model, KeyCode::Backspace);
    press(&mut model, KeyCode::Backspace);
    keys(&mut model, "1");
    let text = dialog_text(&model);
    assert!(text.contains("Capacity     3 → 1 (-2)"), "{text}");
    assert!(text.contains("expected to remove instance(s) 2, 1"), "the victims: {text}");

    press(&mut model, KeyCode::Backspace);
    keys(&mut model, "5");
    press(&mut model, KeyCode::Tab);
    assert_eq!(dialog(&model).form.focus, Slot::Field(REASON));
    keys(&mut model, "sale at 9");
    let text = dialog_text(&model);
    assert!(text.contains("Verdict      ALLOWED"), "within the limits and with a reason: {text}");
    assert!(text.contains("Capacity     3 → 5 (+2)"), "digits in the reason field stay there: {text}");

    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    let [Effect::Scale(ScaleJob::Scale { shown, .. })] = effects.as_slice() else {
        panic!("one scale job: {effects:?}")
    };
    assert_eq!((shown.current(), shown.target()), (3, 5));
    assert_eq!(shown.request.reason, "sale at 9");
    assert!(matches!(model.overlay, Overlay::None));
}

#[test]
fn the_cooldown_from_the_journal_refuses_live() {
    let mut model = model();
    let change = ScaleChange {
        scale_set: crate::reconcile::testkit::set_key("vmss-web"),
        at: fixtures::now() - time::Duration::seconds(60),
        from: Some(2),
        to: Some(3),
        by: Some("alice via scaleguard".into()),
    };
    report(&mut model, ScaleReport::History(vec![change]));
    keys(&mut model, ":scale 4");
    press(&mut model, KeyCode::Enter);
    let text = dialog_text(&model);
    assert!(text.contains("cooldown"), "a change a minute ago: {text}");
}

#[test]
fn a_refused_scale_is_never_sent() {
    let mut model = model();
    keys(&mut model, "S9");
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(dialog(&model).form.error.as_deref().unwrap_or("").contains("refuses"));
}

#[test]
fn read_only_hides_and_refuses_scale_and_protect() {
    let mut model = model();
    model.read_only = true;
    for key in ["S", "p"] {
        assert!(keys(&mut model, key).is_empty());
        assert!(matches!(model.overlay, Overlay::None), "{key} opens nothing");
        let notice = model.notice.clone().unwrap();
        assert!(notice.error && notice.text.contains("read-only"), "{key}: {notice:?}");
    }
    keys(&mut model, ":scale 5");
    press(&mut model, KeyCode::Enter);
    assert!(matches!(model.overlay, Overlay::None), ":scale is refused too");
    keys(&mut model, "?");
    let help = screen(&draw(&model, 120, 40));
    assert!(!help.contains("scale the scale set") && !help.contains("p protect"), "{help}");
    assert!(!help.contains("toggle scale-in protection"), "{help}");

    model.read_only = false;
    let help = screen(&draw(&model, 120, 40));
    assert!(help.contains("scale the scale set") && help.contains("toggle scale-in protection"), "{help}");
    press(&mut model, KeyCode::Esc);
    assert!(screen(&draw(&model, 120, 20)).contains("p protect"), "the instances pane's footer");
}

#[test]
fn the_scale_and_protect_dialogs_open_on_their_first_field_and_enter_alone_sends_nothing() {
    let mut model = model();
    keys(&mut model, ":scale 4");
    press(&mut model, KeyCode::Enter);
    assert_eq!(dialog(&model).form.focus, Slot::Field(CAPACITY));
    assert_eq!(dialog(&model).form.field(CAPACITY).value(), "4");
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "Enter in a field moves on");
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "and again");
    assert!(matches!(model.overlay, Overlay::Scale(_)));
    press(&mut model, KeyCode::Esc);
    assert!(matches!(model.overlay, Overlay::None));

    keys(&mut model, "p");
    let Overlay::Protect(protect) = &model.overlay else { panic!("protect dialog") };
    assert_eq!(protect.form.focus, Slot::Field(0));
    assert!(protect.protect, "an unprotected instance is offered protection");
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "a reason is required");
    assert!(matches!(model.overlay, Overlay::Protect(_)));
    press(&mut model, KeyCode::Esc);
    assert!(matches!(model.overlay, Overlay::None));
}

/// `p` on a Flexible set's VM opens the protect dialog as a refusal: the why (and the ARM lock to
/// use instead) on screen, only Close, nothing ever sent.
#[test]
fn protect_on_a_flexible_vm_explains_why_not_and_sends_nothing() {
    let mut model = fixtures::model_with_flexible();
    model.pane = PaneId::Instances;
    keys(&mut model, "/0a1b2c3d");
    press(&mut model, KeyCode::Enter);
    // The row the cursor was on is filtered out: the first move selects the one left.
    press(&mut model, KeyCode::Down);
    keys(&mut model, "p");
    let Overlay::Protect(protect) = &model.overlay else { panic!("the protect dialog: {:?}", model.notice) };
    assert_eq!(protect.instance_id, "vmss-flex_0a1b2c3d");
    assert!(protect.refused.is_some());
    let text = screen(&draw(&model, 80, 24));
    assert!(text.contains("scale-in protection cannot be set") && text.contains("lock"), "{text}");
    assert!(text.contains("[ Close ]") && !text.contains("Protect ]"), "nothing to confirm: {text}");
    for key in [KeyCode::Tab, KeyCode::Char('x'), KeyCode::Right] {
        assert!(press(&mut model, key).is_empty(), "{key:?} sends nothing");
    }
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "Enter closes, sends nothing");
    assert!(matches!(model.overlay, Overlay::None));
    insta::assert_snapshot!(text);
}

#[test]
fn protecting_needs_a_reason_and_sends_the_captured_instance() {
    let mut model = model();
    press(&mut model, KeyCode::Down);
    keys(&mut model, "p");
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "no reason yet");
    let Overlay::Protect(protect) = &model.overlay else { panic!("still open") };
    assert_eq!(protect.form.focus, Slot::Field(0), "back to the reason");
    keys(&mut model, "keep for debugging");
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    let [Effect::Scale(ScaleJob::Protect { request, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!((request.instance_id.as_str(), request.protect), ("1", true));
    assert_eq!(request.reason, "keep for debugging");
    let effects = report(
        &mut model,
        ScaleReport::Protected {
            what: "protect instance 1 of vmss-web".into(),
            outcome: Ok(ProtectOutcome::Done),
        },
    );
    assert_eq!(effects, vec![Effect::Refresh], "a refresh shows the new protection");
}

fn confirm_scale_to(model: &mut ConsoleState, capacity: &str) -> Box<crate::scaling::Proposal> {
    keys(model, &format!("S{capacity}"));
    press(model, KeyCode::Tab);
    keys(model, "sale");
    press(model, KeyCode::Tab);
    let effects = press(model, KeyCode::Enter);
    let [Effect::Scale(ScaleJob::Scale { shown, .. })] = effects.as_slice() else { panic!("{effects:?}") };
    shown.clone()
}

#[test]
fn a_412_reopens_the_dialog_with_the_fresh_proposal_and_never_retries() {
    let mut model = model();
    let shown = confirm_scale_to(&mut model, "5");
    assert!(
        keys(&mut model, "S").is_empty() && matches!(model.overlay, Overlay::None),
        "one change at a time"
    );

    // Someone else scaled to 4 meanwhile: the worker re-read and re-checked.
    let mut listing = model.scale.listing(shown.key(), &model.instances.rows).unwrap();
    listing.state.capacity = 4;
    listing.state.etag = Some("\"2\"".into());
    listing.instances.push(crate::reconcile::testkit::vm("vmss-web", 3));
    let request = ScaleRequest { new_capacity: 5, ..shown.request.clone() };
    let fresh = propose(
        "prod",
        &model.scale.limits,
        request,
        listing,
        &[],
        crate::guard::OtherScalers::none(),
        fixtures::now(),
    );
    let conflict = Conflict { expected_capacity: 3, fresh: Ok(fresh) };
    let outcome = Ok(ScaleOutcome::Changed(Box::new(conflict)));
    let effects = report(&mut model, ScaleReport::Scaled { scale_set: "vmss-web".into(), outcome });

    assert!(!effects.iter().any(|e| matches!(e, Effect::Scale(_))), "never retried: {effects:?}");
    let reopened = dialog(&model);
    assert_eq!(reopened.form.focus, Slot::Field(CAPACITY));
    assert_eq!(
        (reopened.current(), reopened.form.field(CAPACITY).value(), reopened.reason()),
        (4, "5", "sale")
    );
    let text = dialog_text(&model);
    assert!(text.contains("capacity 3→4 by someone else"), "{text}");
    assert!(text.contains("Capacity     4 → 5 (+1)"), "{text}");
    assert!(model.notice.as_ref().unwrap().error);
}

#[test]
fn a_done_scale_follows_the_event_in_the_diffs_pane() {
    let mut model = model();
    confirm_scale_to(&mut model, "5");
    let outcome = Ok(ScaleOutcome::Done { from: 3, to: 5, forced: false });
    let effects = report(&mut model, ScaleReport::Scaled { scale_set: "vmss-web".into(), outcome });
    assert_eq!(effects, vec![Effect::Refresh]);
    assert_eq!(model.pane, PaneId::Diffs);
    let notice = model.notice.clone().unwrap();
    assert!(notice.text.contains("following the scale event in the diffs pane"), "{notice:?}");
    assert!(model.scale.running.is_none(), "a new change may start");
}

fn findings() -> FindingsReport {
    let finding = |id, severity, subject: &str, fix: &str| Finding {
        id,
        severity,
        subject: subject.into(),
        observed: "ShouldFail".into(),
        recommended: "Skip".into(),
        why: "a deployment to an empty role fails the scale-out".into(),
        fix: fix.into(),
        source: crate::doctor::finding::source::PROJECT_SETTINGS,
    };
    FindingsReport {
        findings: vec![
            finding(
                "project.no-targets-refused",
                Severity::Error,
                "project `Todo Web`",
                "set Deployment Targets Required to Skip in the project's settings",
            ),
            finding(
                "policy.slow-health-check",
                Severity::Warning,
                "machine policy `Default`",
                "check every 5m",
            ),
        ],
        failures: vec![],
        taken_at: fixtures::now(),
    }
}

#[test]
fn the_findings_overlay_lists_each_why_and_fix() {
    let mut model = model();
    report(&mut model, ScaleReport::Findings(findings()));
    assert!(screen(&draw(&model, 120, 20)).contains("findings 1E 1W (!)"));
    keys(&mut model, "!");
    let lines: Vec<String> =
        crate::tui::dialogs::findings::lines(&model.findings).into_iter().map(|(l, _)| l).collect();
    let text = lines.join("\n");
    assert!(text.contains("fix          set Deployment Targets Required to Skip"), "{text}");
    assert!(text.contains("fix          check every 5m"), "{text}");
    assert!(text.contains("why          a deployment to an empty role"), "{text}");
    assert!(screen(&draw(&model, 120, 30)).contains("Doctor findings"));
    keys(&mut model, "!");
    assert!(matches!(model.overlay, Overlay::None));
}

#[test]
fn doctor_runs_again_on_request_and_announces_the_counts() {
    let mut model = model();
    report(&mut model, ScaleReport::Findings(findings()));
    assert!(model.notice.is_none(), "the startup run is silent: the header shows it");
    keys(&mut model, ":doctor");
    assert_eq!(press(&mut model, KeyCode::Enter), vec![Effect::Scale(ScaleJob::Doctor)]);
    report(&mut model, ScaleReport::Findings(findings()));
    assert!(model.notice.clone().unwrap().text.contains("1 error(s), 1 warning(s)"));
}

#[test]
fn scale_dialog_snapshot() {
    let mut model = model();
    keys(&mut model, "S2");
    insta::assert_snapshot!(screen(&draw(&model, 120, 30)));
}

#[test]
fn findings_overlay_snapshot() {
    let mut model = model();
    report(&mut model, ScaleReport::Findings(findings()));
    keys(&mut model, "!");
    insta::assert_snapshot!(screen(&draw(&model, 120, 30)));
}

#[test]
fn an_open_dialog_rechecks_over_each_refresh() {
    let mut model = model();
    keys(&mut model, "S5");
    press(&mut model, KeyCode::Tab);
    keys(&mut model, "sale");
    assert!(dialog_text(&model).contains("Verdict      ALLOWED"), "{}", dialog_text(&model));

    // A refresh lands: the set is now at 4 with an instance still creating.
    let refresh = crate::tui::messages::Refresh {
        snapshot: fixtures::snapshot(),
        plan: fixtures::plan(),
        finished_at: fixtures::now(),
    };
    crate::tui::update::apply_refresh(&mut model, refresh);
    let text = dialog_text(&model);
    assert!(text.contains("Capacity     4 → 5 (+1)"), "{text}");
    assert!(text.contains("still provisioning"), "{text}");
    assert_eq!(dialog(&model).reason(), "sale", "what was typed stays");
}

/// The dialogs scale over each set's latest good listing: after a refresh in which one set's read
/// failed (the instances pane keeps its older rows), a set read fine offers its new VMs, and the
/// set whose read failed its last good ones, and both pass through the next full refresh.
#[test]
fn each_set_is_scaled_over_its_own_latest_good_listing() {
    use crate::reconcile::testkit::{set_key, vm};
    use crate::snapshot::ReadFailure;
    use crate::tui::messages::Refresh;
    use crate::tui::update::apply_refresh;
    let ids = |model: &ConsoleState, set: &str| -> Vec<String> {
        let listing = model.scale.listing(&set_key(set), &model.instances.rows).expect("read once");
        listing.instances.iter().map(|vm| vm.instance_id.clone()).collect()
    };
    let mut model = fixtures::model_with_flexible();
    let web = ids(&model, "vmss-web");
    let flex = ids(&model, "vmss-flex");
    assert_eq!((web.len(), flex.len()), (4, 3));

    let refresh = |model: &mut ConsoleState, web_fails: bool, extra: u32| {
        let mut snapshot = fixtures::snapshot();
        let mut more = crate::reconcile::testkit::SnapshotBuilder::new(fixtures::now())
            .set("vmss-flex", 3 + extra, (0..3 + extra).map(|i| vm("vmss-flex", 10 + i)).collect())
            .build()
            .scale_sets;
        snapshot.scale_sets.append(&mut more);
        if web_fails {
            snapshot.scale_sets[0].listing = Err(ReadFailure::new("scale set rg/vmss-web", "HTTP 503"));
        }
        apply_refresh(model, Refresh { snapshot, plan: fixtures::plan(), finished_at: fixtures::now() });
    };
    refresh(&mut model, true, 1);
    assert_eq!(ids(&model, "vmss-web"), web, "the failed set keeps its last good listing");
    assert_eq!(ids(&model, "vmss-flex"), ["10", "11", "12", "13"], "the set read fine, its new VMs");
    refresh(&mut model, false, 2);
    assert_eq!(ids(&model, "vmss-web"), web);
    assert_eq!(ids(&model, "vmss-flex"), ["10", "11", "12", "13", "14"]);
    refresh(&mut model, true, 0);
    assert_eq!(ids(&model, "vmss-web"), web);
    assert_eq!(ids(&model, "vmss-flex"), ["10", "11", "12"]);
}

/// An open scale dialog re-checks over each new listing of its set, and keeps the last good one
/// through a refresh in which the set's read failed.
#[test]
fn an_open_scale_dialog_follows_its_sets_listings() {
    use crate::snapshot::ReadFailure;
    use crate::tui::messages::Refresh;
    use crate::tui::update::apply_refresh;
    let mut model = model();
    keys(&mut model, "S");
    let listed = |model: &ConsoleState| dialog(model).listing.instances.len();
    assert_eq!(listed(&model), 3);
    let refresh = |model: &mut ConsoleState, count: Option<u32>| {
        let mut snapshot = fixtures::snapshot();
        snapshot.scale_sets = match count {
            Some(count) => {
                crate::reconcile::testkit::SnapshotBuilder::new(fixtures::now())
                    .set(
                        "vmss-web",
                        count,
                        (0..count).map(|i| crate::reconcile::testkit::vm("vmss-web", i)).collect(),
                    )
                    .build()
                    .scale_sets
            }
            None => {
                crate::reconcile::testkit::SnapshotBuilder::new(fixtures::now())
                    .failed_set("vmss-web")
                    .build()
                    .scale_sets
            }
        };
        if count.is_none() {
            snapshot.scale_sets[0].listing = Err(ReadFailure::new("scale set rg/vmss-web", "HTTP 503"));
        }
        apply_refresh(model, Refresh { snapshot, plan: fixtures::plan(), finished_at: fixtures::now() });
    };
    refresh(&mut model, Some(4));
    assert_eq!(listed(&model), 4);
    refresh(&mut model, None);
    assert_eq!(listed(&model), 4, "a failed read leaves the last good listing");
    refresh(&mut model, Some(2));
    assert_eq!(listed(&model), 2);
}
