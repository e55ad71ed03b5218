//! HA-node operations in the console: the read-only gate, the dialogs (open on Cancel, typed
//! name, explicit force, live task-cap check, the four-choice question) and job progress.

use super::{draw, keys, press, screen};
use crate::drain::{DrainChoice, DrainEffect, DrainState};
use crate::model::Node;
use crate::node_job::JobProgress;
use crate::tui::app::{ConsoleState, Overlay, PaneId};
use crate::tui::dialogs::form::Slot;
use crate::tui::dialogs::node::{Kind, CHOICES};
use crate::tui::fixtures;
use crate::tui::messages::{JobKind, NodeEvent, NodeRequest, WorkerEvent};
use crate::tui::update::{update, Effect, Msg};
use ratatui::crossterm::event::KeyCode;

/// The fixture world plus a third node, online and idle, so draining OCTO-NODE-1 is allowed.
pub(super) fn three_nodes() -> ConsoleState {
    let mut model = fixtures::model();
    model.pane = PaneId::Nodes;
    model.nodes.rows.push(Node {
        id: "OctopusServerNodes-3".into(),
        name: "OCTO-NODE-3".into(),
        last_seen: Some(fixtures::now() - time::Duration::seconds(5)),
        is_offline: false,
        drain: false,
        max_concurrent_tasks: 5,
        running_tasks: 0,
        version: Some("2024.3.12741".into()),
    });
    model.rebuild_view(PaneId::Nodes);
    model
}

fn dialog(model: &ConsoleState) -> &crate::tui::dialogs::node::NodeDialog {
    match &model.overlay {
        Overlay::Node(dialog) => dialog,
        other => panic!("a node dialog is open, not {other:?}"),
    }
}

fn node_event(model: &mut ConsoleState, event: NodeEvent) -> Vec<Effect> {
    update(model, Msg::Worker(WorkerEvent::Node(event)))
}

fn progress(state: DrainState, running: usize, sent: Vec<DrainEffect>, resumed: bool) -> JobProgress {
    JobProgress {
        node_id: "OctopusServerNodes-1".into(),
        node_name: "OCTO-NODE-1".into(),
        state_name: state.name(),
        state,
        running_tasks: running,
        elapsed_secs: 42,
        reason: format!("waiting for {running} running task(s) to finish"),
        sent,
        resumed,
    }
}

fn waiting() -> DrainState {
    DrainState::WaitingForTasks { deadline: fixtures::now() + time::Duration::seconds(600) }
}

fn question() -> DrainState {
    DrainState::Question { asked_at: fixtures::now(), running_tasks: 2 }
}

#[test]
fn read_only_hides_and_refuses_every_node_key() {
    let mut model = three_nodes();
    model.read_only = true;
    let footer = screen(&draw(&model, 120, 20));
    for word in ["drain", "undrain", "task cap", "delete"] {
        assert!(!footer.lines().last().unwrap().contains(word), "footer shows `{word}` in read-only");
    }
    for key in ["d", "u", "c", "D"] {
        model.notice = None;
        assert!(keys(&mut model, key).is_empty());
        assert!(matches!(model.overlay, Overlay::None), "`{key}` opened a dialog in read-only");
        assert!(model.notice.as_ref().unwrap().text.contains("read-only"), "`{key}` is refused, and says so");
    }
    keys(&mut model, ":drain OCTO-NODE-3");
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(model.notice.as_ref().unwrap().text.contains("read-only"));
    assert!(matches!(model.overlay, Overlay::None));
}

#[test]
fn node_keys_are_in_the_footer_when_writable() {
    let model = three_nodes();
    let text = screen(&draw(&model, 140, 20));
    let footer = text.lines().last().unwrap();
    for word in ["d drain", "u undrain", "c task cap", "D delete"] {
        assert!(footer.contains(word), "footer lacks `{word}`: {footer}");
    }
}

/// A drain ends in the node's delete: the one confirmation rule wants the node's name typed.
#[test]
fn drain_needs_the_node_name_typed_and_only_the_drain_button_sends() {
    let mut model = three_nodes();
    keys(&mut model, "d");
    assert_eq!(dialog(&model).kind, Kind::Drain { resume: false });
    assert_eq!(dialog(&model).form.focus, Slot::Field(0), "opens on the name");
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "Enter in the field moves on");
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "an empty name sends nothing");
    assert_eq!(dialog(&model).form.focus, Slot::Field(0));
    assert!(press(&mut model, KeyCode::Esc).is_empty());
    assert!(matches!(model.overlay, Overlay::None));
    assert!(model.jobs.jobs.is_empty());

    keys(&mut model, "d");
    keys(&mut model, "OCTO-NODE-1");
    press(&mut model, KeyCode::Enter);
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::Node(NodeRequest::Drain { node: "OctopusServerNodes-1".into() })]);
    assert_eq!(model.jobs.jobs["OctopusServerNodes-1"].short_line(), "drain: starting");
}

#[test]
fn drain_command_names_the_node_and_refusals_explain_themselves() {
    let mut model = three_nodes();
    keys(&mut model, ":drain octo-node-3");
    press(&mut model, KeyCode::Enter);
    assert_eq!(dialog(&model).node_id, "OctopusServerNodes-3");
    press(&mut model, KeyCode::Esc);

    // Without the third node, OCTO-NODE-1 is the only active node: the key shows why not.
    let mut model = fixtures::model();
    model.pane = PaneId::Nodes;
    keys(&mut model, "d");
    let Kind::Refused { sentence } = &dialog(&model).kind else {
        panic!("refused: {:?}", dialog(&model).kind)
    };
    assert!(sentence.contains("only active node"), "{sentence}");
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(matches!(model.overlay, Overlay::None));
}

#[test]
fn delete_needs_the_node_name_typed() {
    let mut model = three_nodes();
    keys(&mut model, "G");
    keys(&mut model, "D");
    assert_eq!(dialog(&model).kind, Kind::Delete { force_needed: false, refusal: None });
    assert_eq!(dialog(&model).form.focus, Slot::Field(0));
    keys(&mut model, "OCTO-NODE-1");
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "another node's name does not confirm");
    assert!(dialog(&model).form.error.as_deref().unwrap().contains("OCTO-NODE-3"));
    assert_eq!(dialog(&model).form.focus, Slot::Field(0));
    for _ in 0.."OCTO-NODE-1".len() {
        press(&mut model, KeyCode::Backspace);
    }
    keys(&mut model, "OCTO-NODE-3");
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "Enter in the box only moves on");
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Node(NodeRequest::Delete { node: "OctopusServerNodes-3".into(), force: false })]
    );
}

#[test]
fn a_busy_heartbeating_node_needs_the_name_and_the_explicit_force_choice() {
    let mut model = three_nodes();
    keys(&mut model, "D");
    let Kind::Delete { force_needed: true, refusal: Some(refusal) } = &dialog(&model).kind else {
        panic!("force dialog: {:?}", dialog(&model).kind)
    };
    assert!(refusal.contains("running 2 task(s)"), "{refusal}");
    keys(&mut model, "OCTO-NODE-1");
    press(&mut model, KeyCode::Tab);
    assert_eq!(dialog(&model).form.focus, Slot::Toggle(0));
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "the name alone does not force");
    assert_eq!(dialog(&model).form.focus, Slot::Toggle(0));
    assert!(dialog(&model).form.error.as_deref().unwrap().contains("force"));
    keys(&mut model, " ");
    assert!(dialog(&model).form.toggled(0));
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Node(NodeRequest::Delete { node: "OctopusServerNodes-1".into(), force: true })]
    );
}

#[test]
fn the_last_task_node_cannot_be_deleted_even_by_force() {
    let mut model = fixtures::model();
    model.pane = PaneId::Nodes;
    keys(&mut model, "D");
    let Kind::Refused { sentence } = &dialog(&model).kind else {
        panic!("refused: {:?}", dialog(&model).kind)
    };
    assert!(sentence.contains("last online"), "{sentence}");
}

#[test]
fn task_cap_is_checked_live_as_it_is_typed() {
    // Two nodes, only OCTO-NODE-1 can run tasks: cap 0 on it would leave none.
    let mut model = fixtures::model();
    model.pane = PaneId::Nodes;
    keys(&mut model, "c");
    assert_eq!(dialog(&model).kind, Kind::TaskCap { current: 5 });
    press(&mut model, KeyCode::Tab);
    keys(&mut model, "x0");
    assert_eq!(dialog(&model).typed(), "0", "only digits are typed");
    let error = dialog(&model).cap_error().expect("cap 0 is refused");
    assert!(error.contains("last online"), "{error}");
    assert!(screen(&draw(&model, 120, 30)).contains("nothing would be left"), "the refusal shows as typed");
    press(&mut model, KeyCode::Tab);
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    press(&mut model, KeyCode::Backspace);
    keys(&mut model, "3");
    assert_eq!(dialog(&model).cap_error(), None);
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Node(NodeRequest::TaskCap { node: "OctopusServerNodes-1".into(), cap: 3 })]
    );
}

#[test]
fn the_deadline_question_maps_each_button_to_its_choice() {
    let expected = [
        DrainChoice::KeepWaiting,
        DrainChoice::CancelTasksNow,
        DrainChoice::AbortLeaveDrainOn,
        DrainChoice::AbortTurnDrainOff,
    ];
    assert_eq!(CHOICES, expected);
    for (position, choice) in expected.into_iter().enumerate() {
        let mut model = three_nodes();
        node_event(
            &mut model,
            NodeEvent::Progress { kind: JobKind::Drain, progress: progress(question(), 2, vec![], false) },
        );
        assert_eq!(dialog(&model).kind, Kind::Question { running_tasks: 2 });
        assert_eq!(dialog(&model).form.focus, Slot::Button(0));
        for _ in 0..=position {
            press(&mut model, KeyCode::Down);
        }
        let effects = press(&mut model, KeyCode::Enter);
        assert_eq!(
            effects,
            vec![Effect::Node(NodeRequest::Answer { node: "OctopusServerNodes-1".into(), choice })],
            "button {position}"
        );
    }
}

#[test]
fn a_dismissed_question_stays_closed_until_asked_for() {
    let mut model = three_nodes();
    let asked =
        || NodeEvent::Progress { kind: JobKind::Drain, progress: progress(question(), 2, vec![], false) };
    node_event(&mut model, asked());
    assert!(press(&mut model, KeyCode::Enter).is_empty(), "Enter on Cancel decides later");
    node_event(&mut model, asked());
    assert!(matches!(model.overlay, Overlay::None), "the next tick does not reopen it");
    keys(&mut model, "d");
    assert_eq!(dialog(&model).kind, Kind::Question { running_tasks: 2 }, "d on the node asks again");
}

#[test]
fn job_progress_shows_in_the_nodes_pane_and_the_diffs_pane() {
    let mut model = three_nodes();
    let sent = vec![DrainEffect::EnableDrain];
    node_event(
        &mut model,
        NodeEvent::Progress { kind: JobKind::Drain, progress: progress(waiting(), 2, sent, true) },
    );
    assert_eq!(model.notice.as_ref().unwrap().text, "drain enabled on OCTO-NODE-1");
    let nodes = screen(&draw(&model, 140, 20));
    assert!(nodes.contains("drain: waiting for tasks, 2 running, 42s [resumed]"), "{nodes}");
    insta::assert_snapshot!("nodes_pane_with_a_drain_job", nodes);
    model.pane = PaneId::Diffs;
    let diffs = screen(&draw(&model, 140, 24));
    assert!(diffs.contains("Jobs (1)"), "{diffs}");
    assert!(diffs.contains("OCTO-NODE-1: waiting for tasks, 2 running, 42s"), "{diffs}");
    insta::assert_snapshot!("diffs_pane_with_a_jobs_section", diffs);
}

#[test]
fn a_finished_job_refreshes_and_says_so() {
    let mut model = three_nodes();
    node_event(
        &mut model,
        NodeEvent::Progress {
            kind: JobKind::Drain,
            progress: progress(DrainState::Done, 0, vec![DrainEffect::DeleteNode], false),
        },
    );
    assert_eq!(model.notice.as_ref().unwrap().text, "OCTO-NODE-1 deleted");
    let effects = node_event(
        &mut model,
        NodeEvent::Finished {
            kind: JobKind::Drain,
            node: "OctopusServerNodes-1".into(),
            result: Ok("OCTO-NODE-1: done".into()),
        },
    );
    assert_eq!(effects, vec![Effect::Refresh]);
    assert_eq!(model.jobs.jobs["OctopusServerNodes-1"].short_line(), "drain done, 42s");
}

#[test]
fn an_unfinished_drain_from_the_journal_is_shown_and_resumable() {
    let mut model = three_nodes();
    let pending = vec![("OctopusServerNodes-2".to_string(), "OCTO-NODE-2".to_string())];
    node_event(&mut model, NodeEvent::Pending(pending));
    assert!(model.notice.as_ref().unwrap().text.contains("unfinished drain in the journal: OCTO-NODE-2"));
    assert!(screen(&draw(&model, 140, 20)).contains("unfinished drain: d resumes"));
    keys(&mut model, "j");
    keys(&mut model, "d");
    assert_eq!(dialog(&model).kind, Kind::Drain { resume: true });
    keys(&mut model, "OCTO-NODE-2");
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::Node(NodeRequest::Drain { node: "OctopusServerNodes-2".into() })]);
}

#[test]
fn a_refusal_from_the_worker_opens_a_one_sentence_dialog() {
    let mut model = three_nodes();
    let sentence = "refused: OCTO-NODE-1 is the only active node".to_string();
    node_event(
        &mut model,
        NodeEvent::Refused { node: "OctopusServerNodes-1".into(), sentence: sentence.clone() },
    );
    assert_eq!(dialog(&model).kind, Kind::Refused { sentence });
}

#[test]
fn the_question_and_force_delete_dialogs_render() {
    let mut model = three_nodes();
    node_event(
        &mut model,
        NodeEvent::Progress { kind: JobKind::Drain, progress: progress(question(), 2, vec![], false) },
    );
    let asked = screen(&draw(&model, 120, 30));
    for choice in CHOICES {
        assert!(asked.contains(choice.label()), "the question offers `{}`", choice.label());
    }
    insta::assert_snapshot!("question_dialog", asked);
    press(&mut model, KeyCode::Esc);
    keys(&mut model, "D");
    insta::assert_snapshot!("force_delete_dialog", screen(&draw(&model, 120, 30)));
}

/// The nodes hosted on `vmss-web` VMs 12 and 13 (ids past 9: a label of 12 characters).
fn hosted_nodes() -> ConsoleState {
    use crate::ha::Pairing;
    let mut model = three_nodes();
    let key = crate::reconcile::testkit::set_key("vmss-web");
    let mut pairing = Pairing::default();
    pairing.hosts.insert("OctopusServerNodes-1".into(), crate::reconcile::testkit::vm("vmss-web", 12));
    pairing.hosts.insert("OctopusServerNodes-3".into(), crate::reconcile::testkit::vm("vmss-web", 13));
    pairing
        .unpaired_nodes
        .insert("OctopusServerNodes-2".into(), "no VM of the scale set has the computer name".into());
    model.ha.key = Some(key);
    model.ha.pairing = Some(pairing);
    model
}

#[test]
fn the_vm_column_shows_each_nodes_vm_whole_at_120_and_80_columns() {
    let model = hosted_nodes();
    for (width, height) in [(120, 30), (80, 24)] {
        let text = screen(&draw(&model, width, height));
        for label in ["vmss-web/12", "vmss-web/13", "unpaired"] {
            assert!(text.contains(label), "{width}x{height}: `{label}` cut or missing:\n{text}");
        }
    }
}

#[test]
fn the_instances_pane_names_each_node_host_whole_at_120_and_80_columns() {
    use crate::ha::Pairing;
    let mut model = three_nodes();
    model.pane = PaneId::Instances;
    let mut pairing = Pairing::default();
    pairing.hosts.insert("OctopusServerNodes-1".into(), crate::reconcile::testkit::vm("vmss-web", 0));
    pairing.hosts.insert("OctopusServerNodes-3".into(), crate::reconcile::testkit::vm("vmss-web", 1));
    model.ha.key = Some(crate::reconcile::testkit::set_key("vmss-web"));
    model.ha.pairing = Some(pairing);
    for (width, height) in [(120, 30), (80, 24)] {
        let text = screen(&draw(&model, width, height));
        for label in ["node OCTO-NODE-1", "node OCTO-NODE-3"] {
            assert!(text.contains(label), "{width}x{height}: `{label}` cut or missing:\n{text}");
        }
    }
}

#[test]
fn an_unfinished_scale_in_is_resumed_from_s_on_the_nodes_pane_with_the_set_typed() {
    use crate::tui::ha_state::PendingScaleInView;
    let mut model = hosted_nodes();
    model.pane = PaneId::Nodes;
    let view = PendingScaleInView {
        set: "vmss-web".into(),
        victims: vec![
            ("OctopusServerNodes-1".into(), "OCTO-NODE-1 (VM 12)".into()),
            ("OctopusServerNodes-3".into(), "OCTO-NODE-3 (VM 13)".into()),
        ],
        phase: "draining".into(),
    };
    node_event(&mut model, NodeEvent::PendingScaleIn(Some(view)));
    keys(&mut model, "S");
    assert!(matches!(dialog(&model).kind, Kind::ResumeScaleIn { .. }), "{:?}", dialog(&model).kind);
    for (width, height) in [(120, 30), (80, 24)] {
        let text = screen(&draw(&model, width, height));
        for needle in ["Resume the scale-in of vmss-web", "OCTO-NODE-3 (VM 13)", "type `vmss-web`"] {
            assert!(text.contains(needle), "{width}x{height}: `{needle}` missing:\n{text}");
        }
    }
    // Enter alone sends nothing: the set's name must be typed.
    assert_eq!(press(&mut model, KeyCode::Enter), vec![]);
    keys(&mut model, "vmss-web");
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(effects, vec![Effect::Node(NodeRequest::ResumeScaleIn)]);
    assert!(
        model.jobs.jobs.contains_key("OctopusServerNodes-1")
            && model.jobs.jobs.contains_key("OctopusServerNodes-3")
    );
    assert_eq!(model.ha.pending_scale_in, None, "resumed: S plans anew once it ends");
}

#[test]
fn v_reads_the_checks_then_admits_with_the_cap_typed_or_the_default() {
    use crate::ha::admission;
    let mut model = three_nodes();
    let effects = keys(&mut model, "v");
    assert_eq!(effects, vec![Effect::Node(NodeRequest::Admission { node: "OctopusServerNodes-1".into() })]);
    let node = model.nodes.rows[0].clone();
    let checks = admission::checks(&node, Some("2024.1.1"), false, model.now, &model.nodes_config);
    node_event(&mut model, NodeEvent::Admission(Box::new(checks)));
    assert!(matches!(dialog(&model).kind, Kind::Admit { .. }), "{:?}", dialog(&model).kind);
    for (width, height) in [(120, 30), (80, 24)] {
        let text = screen(&draw(&model, width, height));
        for needle in
            ["Admit OCTO-NODE-1", "same version as GET /api", "to check on the node itself", "Cap (empty"]
        {
            assert!(text.contains(needle), "{width}x{height}: `{needle}` missing:\n{text}");
        }
    }
    keys(&mut model, "0");
    press(&mut model, KeyCode::Tab);
    assert_eq!(press(&mut model, KeyCode::Enter), vec![], "a cap of 0 is not an admission");
    assert!(dialog(&model).form.error.as_deref().is_some_and(|e| e.contains("above 0")));
    press(&mut model, KeyCode::BackTab);
    press(&mut model, KeyCode::Backspace);
    keys(&mut model, "3");
    press(&mut model, KeyCode::Tab);
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Node(NodeRequest::Admit { node: "OctopusServerNodes-1".into(), cap: Some(3) })]
    );
}

#[test]
fn admitting_is_refused_in_read_only_mode() {
    let mut model = three_nodes();
    model.read_only = true;
    assert_eq!(keys(&mut model, "v"), vec![]);
}
