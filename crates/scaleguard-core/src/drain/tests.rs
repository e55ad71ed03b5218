use super::*;
use crate::config::NodesConfig;
use crate::model::{Node, Task, TaskState};
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub(super) const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

pub(super) fn config() -> NodesConfig {
    NodesConfig { offline_after_secs: 300, drain_deadline_secs: 1800, ..NodesConfig::default() }
}

pub(super) fn node(id: &str, drain: bool, running: u32) -> Node {
    Node {
        id: id.into(),
        name: format!("node {id}"),
        last_seen: Some(NOW - Duration::seconds(10)),
        is_offline: false,
        drain,
        max_concurrent_tasks: 5,
        running_tasks: running,
        version: Some("2024.1".into()),
    }
}

pub(super) fn offline(mut node: Node) -> Node {
    node.last_seen = Some(NOW - Duration::seconds(301));
    node
}

pub(super) fn task(id: &str, state: TaskState) -> Task {
    Task {
        id: id.into(),
        name: "Deploy".into(),
        description: String::new(),
        state,
        server_node: Some("N1".into()),
        deployment_id: None,
        queue_time: None,
        start_time: None,
        completed_time: None,
    }
}

pub(super) fn seen(node: Node, task_ids: &[&str]) -> NodeObservation {
    NodeObservation {
        node: Some(node),
        tasks: task_ids.iter().map(|id| task(id, TaskState::Executing)).collect(),
    }
}

pub(super) fn gone(task_ids: &[&str]) -> NodeObservation {
    NodeObservation { node: None, tasks: task_ids.iter().map(|id| task(id, TaskState::Executing)).collect() }
}

pub(super) fn job(state: DrainState) -> DrainJob {
    DrainJob {
        node_id: "N1".into(),
        node_name: "node N1".into(),
        force: false,
        wait_secs: 1800,
        state,
        cancelled: vec![],
    }
}

pub(super) fn waiting() -> DrainJob {
    job(DrainState::WaitingForTasks { deadline: NOW + Duration::seconds(1800) })
}

pub(super) fn cancel(id: &str) -> DrainEffect {
    DrainEffect::CancelTask(id.into())
}

#[test]
fn requested_enables_drain() {
    let t = step(&job(DrainState::Requested), &seen(node("N1", false, 2), &["T1", "T2"]), NOW, &config());
    assert_eq!(t.next, DrainState::DrainEnabling { sent_at: NOW });
    assert_eq!(t.effects, vec![DrainEffect::EnableDrain]);
    assert!(!t.reason.is_empty());
}

#[test]
fn requested_with_drain_already_on_skips_enabling() {
    let t = step(&job(DrainState::Requested), &seen(node("N1", true, 2), &["T1", "T2"]), NOW, &config());
    assert_eq!(t.next, DrainState::WaitingForTasks { deadline: NOW + Duration::seconds(1800) });
    assert!(t.effects.is_empty());
}

#[test]
fn drain_enabling_advances_once_drain_shows_on() {
    let t = step(
        &job(DrainState::DrainEnabling { sent_at: NOW }),
        &seen(node("N1", true, 1), &["T1"]),
        NOW,
        &config(),
    );
    assert!(matches!(t.next, DrainState::WaitingForTasks { .. }));
    assert!(t.effects.is_empty());
}

#[test]
fn drain_enabling_waits_then_asks_again() {
    let job = job(DrainState::DrainEnabling { sent_at: NOW });
    let quiet = step(&job, &seen(node("N1", false, 1), &["T1"]), NOW + Duration::seconds(5), &config());
    assert!(quiet.effects.is_empty());
    assert_eq!(quiet.next, job.state);
    let later = NOW + Duration::seconds(60);
    let retry = step(&job, &seen(node("N1", false, 1), &["T1"]), later, &config());
    assert_eq!(retry.effects, vec![DrainEffect::EnableDrain]);
    assert_eq!(retry.next, DrainState::DrainEnabling { sent_at: later });
}

#[test]
fn waiting_stays_while_tasks_run() {
    let t = step(&waiting(), &seen(node("N1", true, 1), &["T1"]), NOW, &config());
    assert_eq!(t.next, waiting().state);
    assert!(t.effects.is_empty());
    assert!(t.reason.contains("1 running task"));
}

#[test]
fn waiting_deletes_once_no_tasks_run() {
    let t = step(&waiting(), &seen(node("N1", true, 0), &[]), NOW, &config());
    assert_eq!(t.next, DrainState::Deleting { sent_at: NOW });
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
}

#[test]
fn waiting_trusts_the_running_count_even_without_task_details() {
    let t = step(&waiting(), &seen(node("N1", true, 2), &[]), NOW, &config());
    assert!(matches!(t.next, DrainState::WaitingForTasks { .. }));
    assert!(t.effects.is_empty());
}

#[test]
fn waiting_cancels_tasks_once_the_node_is_offline() {
    let t = step(&waiting(), &seen(offline(node("N1", true, 2)), &["T1", "T2"]), NOW, &config());
    assert_eq!(
        t.next,
        DrainState::CancellingTasks { operator_chose: false, requested: vec!["T1".into(), "T2".into()] }
    );
    assert_eq!(t.effects, vec![cancel("T1"), cancel("T2")]);
}

#[test]
fn a_node_flagged_offline_by_the_server_or_never_seen_is_offline() {
    let mut flagged = node("N1", true, 1);
    flagged.is_offline = true;
    let t = step(&waiting(), &seen(flagged, &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T1")]);
    let mut never = node("N1", true, 1);
    never.last_seen = None;
    let t = step(&waiting(), &seen(never, &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T1")]);
}

#[test]
fn offline_node_without_tasks_is_deleted() {
    let t = step(&waiting(), &seen(offline(node("N1", true, 0)), &[]), NOW, &config());
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
}

#[test]
fn waiting_re_enables_drain_turned_off_by_someone_else() {
    let t = step(&waiting(), &seen(node("N1", false, 1), &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![DrainEffect::EnableDrain]);
    assert!(matches!(t.next, DrainState::DrainEnabling { .. }));
}

#[test]
fn deadline_turns_the_wait_into_a_question() {
    let at = NOW + Duration::seconds(1800);
    let mut heartbeating = node("N1", true, 1);
    heartbeating.last_seen = Some(at - Duration::seconds(10));
    let t = step(&waiting(), &seen(heartbeating, &["T1"]), at, &config());
    assert_eq!(t.next, DrainState::Question { asked_at: at, running_tasks: 1 });
    assert!(t.effects.is_empty());
    assert!(t.reason.contains("deadline"));
}

#[test]
fn question_stays_until_answered_but_resolves_itself_when_tasks_finish() {
    let asked = job(DrainState::Question { asked_at: NOW, running_tasks: 1 });
    let t = step(&asked, &seen(node("N1", true, 1), &["T1"]), NOW, &config());
    assert_eq!(t.next, asked.state);
    assert!(t.effects.is_empty());
    let t = step(&asked, &seen(node("N1", true, 0), &[]), NOW, &config());
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
}

#[test]
fn answer_keep_waiting_extends_the_deadline() {
    let asked = job(DrainState::Question { asked_at: NOW, running_tasks: 1 });
    let later = NOW + Duration::seconds(100);
    let t = answer(&asked, DrainChoice::KeepWaiting, later).unwrap();
    assert_eq!(t.next, DrainState::WaitingForTasks { deadline: later + Duration::seconds(1800) });
    assert!(t.effects.is_empty());
}

#[test]
fn answer_cancel_now_cancels_tasks_of_an_online_node() {
    let asked = job(DrainState::Question { asked_at: NOW, running_tasks: 1 });
    let t = answer(&asked, DrainChoice::CancelTasksNow, NOW).unwrap();
    assert_eq!(t.next, DrainState::CancellingTasks { operator_chose: true, requested: vec![] });
    let cancelling = DrainJob { state: t.next, ..asked };
    let t = step(&cancelling, &seen(node("N1", true, 1), &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T1")]);
    // Not sent twice while the task finishes cancelling.
    let cancelling = DrainJob { state: t.next, ..cancelling };
    let t = step(&cancelling, &seen(node("N1", true, 1), &["T1"]), NOW, &config());
    assert!(t.effects.is_empty());
    let cancelling = DrainJob { state: t.next, ..cancelling };
    let t = step(&cancelling, &seen(node("N1", true, 0), &[]), NOW, &config());
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
}

#[test]
fn answer_abort_leaving_drain_on() {
    let asked = job(DrainState::Question { asked_at: NOW, running_tasks: 1 });
    let t = answer(&asked, DrainChoice::AbortLeaveDrainOn, NOW).unwrap();
    assert_eq!(t.next, DrainState::Aborted { drain_left_on: true });
    assert!(t.effects.is_empty());
}

#[test]
fn answer_abort_turning_drain_off() {
    let asked = job(DrainState::Question { asked_at: NOW, running_tasks: 1 });
    let t = answer(&asked, DrainChoice::AbortTurnDrainOff, NOW).unwrap();
    assert_eq!(t.next, DrainState::Aborted { drain_left_on: false });
    assert_eq!(t.effects, vec![DrainEffect::DisableDrain]);
}

#[test]
fn answers_out_of_place_are_errors() {
    assert!(answer(&waiting(), DrainChoice::KeepWaiting, NOW).is_err());
    assert!(answer(&job(DrainState::Deleting { sent_at: NOW }), DrainChoice::AbortLeaveDrainOn, NOW).is_err());
    assert!(answer(&job(DrainState::Done), DrainChoice::CancelTasksNow, NOW).is_err());
    let err =
        answer(&job(DrainState::Deleting { sent_at: NOW }), DrainChoice::AbortTurnDrainOff, NOW).unwrap_err();
    assert_eq!(err.to_string(), "cannot abort turning drain off while the drain is deleting");
}

#[test]
fn offline_cancelling_deletes_once_every_task_was_asked() {
    let cancelling = job(DrainState::CancellingTasks { operator_chose: false, requested: vec!["T1".into()] });
    let t = step(&cancelling, &seen(offline(node("N1", true, 1)), &["T1"]), NOW, &config());
    assert_eq!(t.next, DrainState::Deleting { sent_at: NOW });
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
}

#[test]
fn cancelling_goes_back_to_waiting_when_the_node_returns() {
    let cancelling = job(DrainState::CancellingTasks { operator_chose: false, requested: vec!["T1".into()] });
    let t = step(&cancelling, &seen(node("N1", true, 2), &["T1", "T2"]), NOW, &config());
    assert!(matches!(t.next, DrainState::WaitingForTasks { .. }));
    assert!(t.effects.is_empty());
}

#[test]
fn deleting_resends_the_delete_only_after_a_while() {
    let deleting = job(DrainState::Deleting { sent_at: NOW });
    let t = step(&deleting, &seen(node("N1", true, 0), &[]), NOW + Duration::seconds(5), &config());
    assert!(t.effects.is_empty());
    assert_eq!(t.next, deleting.state);
    let later = NOW + Duration::seconds(60);
    let mut still_there = node("N1", true, 0);
    still_there.last_seen = Some(later);
    let t = step(&deleting, &seen(still_there, &[]), later, &config());
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
    assert_eq!(t.next, DrainState::Deleting { sent_at: later });
    let t = step(&job(DrainState::Deleting { sent_at: NOW }), &gone(&[]), NOW, &config());
    assert_eq!(t.next, DrainState::Done);
    assert!(t.effects.is_empty());
}

#[test]
fn deleting_backs_off_when_the_node_runs_tasks_again() {
    let t = step(
        &job(DrainState::Deleting { sent_at: NOW }),
        &seen(node("N1", true, 1), &["T1"]),
        NOW,
        &config(),
    );
    assert!(matches!(t.next, DrainState::WaitingForTasks { .. }));
    assert!(t.effects.is_empty());
}

#[test]
fn a_node_already_deleted_finishes_without_effects_from_any_state() {
    for state in [DrainState::Requested, DrainState::DrainEnabling { sent_at: NOW }, waiting().state] {
        let t = step(&job(state), &gone(&[]), NOW, &config());
        assert_eq!(t.next, DrainState::Done);
        assert!(t.effects.is_empty());
    }
}

#[test]
fn a_vanished_node_has_its_orphaned_tasks_cancelled() {
    let t = step(&waiting(), &gone(&["T9"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T9")]);
    let next = DrainJob { state: t.next, ..waiting() };
    let t = step(&next, &gone(&["T9"]), NOW, &config());
    assert_eq!(t.next, DrainState::Done);
    assert!(t.effects.is_empty());
}

#[test]
fn forced_job_deletes_without_drain() {
    let forced = DrainJob { force: true, ..job(DrainState::Requested) };
    let t = step(&forced, &seen(node("N1", false, 2), &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
    // Still heartbeating with tasks a minute later: a forced delete is resent, not backed off.
    let later = NOW + Duration::seconds(60);
    let mut still_there = node("N1", false, 2);
    still_there.last_seen = Some(later);
    let t = step(&DrainJob { state: t.next, ..forced }, &seen(still_there, &["T1"]), later, &config());
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
}

#[test]
fn an_observation_of_another_node_changes_nothing() {
    let t = step(&waiting(), &seen(node("N2", true, 0), &[]), NOW, &config());
    assert_eq!(t.next, waiting().state);
    assert!(t.effects.is_empty());
}

#[test]
fn terminal_states_stay_put() {
    for state in [DrainState::Done, DrainState::Aborted { drain_left_on: true }] {
        let t = step(&job(state.clone()), &seen(node("N1", false, 1), &["T1"]), NOW, &config());
        assert_eq!(t.next, state);
        assert!(t.effects.is_empty());
    }
}

#[test]
fn start_refuses_draining_the_only_active_node() {
    let nodes = [node("N1", false, 0), offline(node("N2", false, 0))];
    let refusals = DrainJob::start(&nodes, "N1", false, NOW, &config()).unwrap_err();
    assert!(refusals.contains(&NodeRefusal::OnlyActiveNode { node: "node N1".into() }));
    assert!(refusals.contains(&NodeRefusal::NoTaskNodeLeft { node: "node N1".into() }));
}

#[test]
fn drain_refused_when_the_other_active_nodes_are_ui_only() {
    let mut ui_only = node("N2", false, 0);
    ui_only.max_concurrent_tasks = 0;
    let nodes = [node("N1", false, 0), ui_only];
    assert_eq!(
        check_drain(&nodes, "N1", NOW, &config()).unwrap_err(),
        vec![NodeRefusal::NoTaskNodeLeft { node: "node N1".into() }]
    );
    assert!(check_drain(&nodes, "N2", NOW, &config()).is_ok());
}

#[test]
fn drain_allowed_with_another_task_node() {
    let nodes = [node("N1", false, 3), node("N2", false, 0)];
    let job = DrainJob::start(&nodes, "N1", false, NOW, &config()).unwrap();
    assert_eq!(job.state, DrainState::Requested);
    assert_eq!(job.wait_secs, 1800);
}

#[test]
fn delete_refused_while_heartbeating_with_tasks_unless_forced() {
    let nodes = [node("N1", false, 3), node("N2", false, 0)];
    let refusals = check_delete(&nodes, "N1", NOW, &config(), false).unwrap_err();
    assert_eq!(
        refusals,
        vec![NodeRefusal::StillRunningTasks { node: "node N1".into(), running: 3, drain: false }]
    );
    assert!(refusals[0].to_string().contains("without drain"));
    assert!(check_delete(&nodes, "N1", NOW, &config(), true).is_ok());
    assert!(check_delete(
        &[offline(node("N1", false, 3)), node("N2", false, 0)],
        "N1",
        NOW,
        &config(),
        false
    )
    .is_ok());
}

#[test]
fn force_never_overrides_the_last_task_node_rule() {
    let nodes = [node("N1", false, 3)];
    let refusals = check_delete(&nodes, "N1", NOW, &config(), true).unwrap_err();
    assert_eq!(refusals, vec![NodeRefusal::NoTaskNodeLeft { node: "node N1".into() }]);
}

#[test]
fn unknown_node_is_refused() {
    assert_eq!(
        check_drain(&[], "N7", NOW, &config()).unwrap_err(),
        vec![NodeRefusal::UnknownNode { node_id: "N7".into() }]
    );
}

#[test]
fn task_cap_refused_when_no_node_could_run_tasks() {
    let mut draining = node("N2", true, 0);
    draining.max_concurrent_tasks = 5;
    let nodes = [node("N1", false, 0), draining];
    assert_eq!(
        validate_task_cap(&nodes, "N1", 0),
        Err(NodeRefusal::NoTaskNodeLeft { node: "node N1".into() })
    );
    assert!(validate_task_cap(&nodes, "N1", 2).is_ok());
    assert!(validate_task_cap(&[node("N1", false, 0), node("N2", false, 0)], "N1", 0).is_ok());
    assert!(validate_task_cap(&nodes, "N9", 0).is_err());
}

#[derive(Debug, Clone)]
enum Event {
    Observe { exists: bool, online: bool, drain: bool, tasks: Vec<(u8, bool)>, advance_secs: i64 },
    Answer(DrainChoice),
}

fn arb_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        8 => (
            prop::bool::weighted(0.9),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec((0u8..4, any::<bool>()), 0..4),
            0i64..1200,
        )
            .prop_map(|(exists, online, drain, tasks, advance_secs)| Event::Observe {
                exists,
                online,
                drain,
                tasks,
                advance_secs
            }),
        1 => prop::sample::select(vec![
            DrainChoice::KeepWaiting,
            DrainChoice::CancelTasksNow,
            DrainChoice::AbortLeaveDrainOn,
            DrainChoice::AbortTurnDrainOff,
        ])
        .prop_map(Event::Answer),
    ]
}

proptest! {
    #[test]
    fn effects_respect_the_safety_rules(force in prop::bool::weighted(0.2), events in prop::collection::vec(arb_event(), 1..40)) {
        let config = config();
        let mut job = DrainJob { force, ..job(DrainState::Requested) };
        let mut now = NOW;
        let mut operator_said_cancel = false;
        for event in events {
            match event {
                Event::Answer(choice) => {
                    if let Ok(t) = answer(&job, choice, now) {
                        prop_assert!(!t.reason.is_empty());
                        operator_said_cancel |= choice == DrainChoice::CancelTasksNow;
                        job.state = t.next;
                    }
                }
                Event::Observe { exists, online, drain, tasks, advance_secs } => {
                    now += Duration::seconds(advance_secs);
                    let mut n = node("N1", drain, 0);
                    n.last_seen = Some(if online { now - Duration::seconds(5) } else { now - Duration::seconds(400) });
                    let mut ids: Vec<String> = Vec::new();
                    let tasks: Vec<Task> = tasks
                        .into_iter()
                        .filter_map(|(id, cancelling)| {
                            let id = format!("T{id}");
                            if ids.contains(&id) { return None; }
                            ids.push(id.clone());
                            Some(task(&id, if cancelling { TaskState::Cancelling } else { TaskState::Executing }))
                        })
                        .collect();
                    n.running_tasks = tasks.len() as u32;
                    let observation = NodeObservation { node: exists.then_some(n), tasks };
                    let already_requested = job.cancelled.clone();
                    let t = step(&job, &observation, now, &config);
                    prop_assert!(!t.reason.is_empty());
                    let node_online = exists && online;
                    for effect in &t.effects {
                        match effect {
                            DrainEffect::DeleteNode => {
                                prop_assert!(exists, "delete sent for a node already gone");
                                prop_assert!(force || !node_online || ids.is_empty(), "deleted an online node running tasks");
                            }
                            DrainEffect::CancelTask(id) => {
                                prop_assert!(!node_online || operator_said_cancel, "cancelled a task of an online node");
                                prop_assert!(ids.contains(id), "cancelled a task not running");
                                prop_assert!(!already_requested.contains(id), "cancel repeated");
                            }
                            DrainEffect::EnableDrain => prop_assert!(exists && !drain, "drain enabled again"),
                            DrainEffect::DisableDrain => prop_assert!(false, "step never turns drain off"),
                        }
                    }
                    job.apply(&t);
                }
            }
        }
    }
}
