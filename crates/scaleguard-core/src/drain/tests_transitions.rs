//! Transitions and deadlines the first test file leaves out, and properties over restarts.

use super::tests::{cancel, config, gone, job, node, offline, seen, waiting, NOW};
use super::*;
use proptest::prelude::*;
use time::Duration;

fn asked() -> DrainJob {
    job(DrainState::Question { asked_at: NOW, running_tasks: 1 })
}

fn heartbeating_at(at: time::OffsetDateTime, drain: bool, running: u32) -> crate::model::Node {
    let mut n = node("N1", drain, running);
    n.last_seen = Some(at - Duration::seconds(5));
    n
}

#[test]
fn drain_enabling_on_an_offline_node_cancels_its_tasks() {
    let enabling = job(DrainState::DrainEnabling { sent_at: NOW });
    let t = step(&enabling, &seen(offline(node("N1", false, 1)), &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T1")]);
    assert!(matches!(t.next, DrainState::CancellingTasks { operator_chose: false, .. }));
}

#[test]
fn drain_enabling_on_an_idle_offline_node_deletes_it() {
    let enabling = job(DrainState::DrainEnabling { sent_at: NOW });
    let t = step(&enabling, &seen(offline(node("N1", false, 0)), &[]), NOW, &config());
    assert_eq!(t.effects, vec![DrainEffect::DeleteNode]);
    assert_eq!(t.next, DrainState::Deleting { sent_at: NOW });
}

#[test]
fn drain_enabling_resends_at_exactly_the_resend_interval_not_before() {
    let enabling = job(DrainState::DrainEnabling { sent_at: NOW });
    let just_before = NOW + Duration::seconds(59);
    let t = step(&enabling, &seen(heartbeating_at(just_before, false, 1), &["T1"]), just_before, &config());
    assert!(t.effects.is_empty());
    let at = NOW + Duration::seconds(60);
    let t = step(&enabling, &seen(heartbeating_at(at, false, 1), &["T1"]), at, &config());
    assert_eq!(t.effects, vec![DrainEffect::EnableDrain]);
}

#[test]
fn the_wait_becomes_a_question_at_the_deadline_and_not_a_second_before() {
    let before = NOW + Duration::seconds(1799);
    let t = step(&waiting(), &seen(heartbeating_at(before, true, 1), &["T1"]), before, &config());
    assert_eq!(t.next, waiting().state);
    let at = NOW + Duration::seconds(1800);
    let t = step(&waiting(), &seen(heartbeating_at(at, true, 1), &["T1"]), at, &config());
    assert_eq!(t.next, DrainState::Question { asked_at: at, running_tasks: 1 });
}

#[test]
fn the_question_counts_running_tasks_the_node_reports_without_details() {
    let at = NOW + Duration::seconds(1800);
    let t = step(&waiting(), &seen(heartbeating_at(at, true, 3), &[]), at, &config());
    assert_eq!(t.next, DrainState::Question { asked_at: at, running_tasks: 3 });
    assert!(t.reason.contains("3 task(s)"), "{}", t.reason);
}

#[test]
fn keep_waiting_asks_again_at_the_new_deadline() {
    let answered_at = NOW + Duration::seconds(10);
    let t = answer(&asked(), DrainChoice::KeepWaiting, answered_at).unwrap();
    let again = DrainJob { state: t.next, ..asked() };
    let before = answered_at + Duration::seconds(1799);
    let t = step(&again, &seen(heartbeating_at(before, true, 1), &["T1"]), before, &config());
    assert!(matches!(t.next, DrainState::WaitingForTasks { .. }));
    let at = answered_at + Duration::seconds(1800);
    let t = step(&again, &seen(heartbeating_at(at, true, 1), &["T1"]), at, &config());
    assert_eq!(t.next, DrainState::Question { asked_at: at, running_tasks: 1 });
}

#[test]
fn a_question_on_a_node_that_went_offline_cancels_without_an_answer() {
    let t = step(&asked(), &seen(offline(node("N1", true, 2)), &["T1", "T2"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T1"), cancel("T2")]);
}

#[test]
fn a_question_re_enables_drain_turned_off_by_someone_else() {
    let t = step(&asked(), &seen(node("N1", false, 1), &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![DrainEffect::EnableDrain]);
}

#[test]
fn cancel_now_is_accepted_while_waiting_before_the_deadline() {
    let t = answer(&waiting(), DrainChoice::CancelTasksNow, NOW).unwrap();
    assert_eq!(t.next, DrainState::CancellingTasks { operator_chose: true, requested: vec![] });
    assert!(t.effects.is_empty(), "cancels are sent by the next step, on a fresh observation");
}

#[test]
fn aborts_are_accepted_before_drain_shows_and_while_cancelling() {
    for state in [
        DrainState::Requested,
        DrainState::DrainEnabling { sent_at: NOW },
        DrainState::CancellingTasks { operator_chose: true, requested: vec!["T1".into()] },
    ] {
        let t = answer(&job(state.clone()), DrainChoice::AbortTurnDrainOff, NOW).unwrap();
        assert_eq!(t.next, DrainState::Aborted { drain_left_on: false }, "from {state:?}");
        assert_eq!(t.effects, vec![DrainEffect::DisableDrain]);
        let t = answer(&job(state), DrainChoice::AbortLeaveDrainOn, NOW).unwrap();
        assert_eq!(t.next, DrainState::Aborted { drain_left_on: true });
    }
}

#[test]
fn cancel_now_and_keep_waiting_are_refused_outside_a_wait() {
    for state in [DrainState::Requested, DrainState::DrainEnabling { sent_at: NOW }] {
        assert!(answer(&job(state.clone()), DrainChoice::CancelTasksNow, NOW).is_err());
        assert!(answer(&job(state), DrainChoice::KeepWaiting, NOW).is_err());
    }
    assert!(answer(&job(DrainState::Aborted { drain_left_on: true }), DrainChoice::AbortTurnDrainOff, NOW)
        .is_err());
}

#[test]
fn operator_cancelling_sends_cancels_for_tasks_that_appear_later_once_each() {
    let cancelling = job(DrainState::CancellingTasks { operator_chose: true, requested: vec!["T1".into()] });
    let t = step(&cancelling, &seen(node("N1", true, 2), &["T1", "T2"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T2")]);
    assert_eq!(
        t.next,
        DrainState::CancellingTasks { operator_chose: true, requested: vec!["T1".into(), "T2".into()] }
    );
}

#[test]
fn a_node_gone_while_deleting_with_orphans_cancels_them_then_finishes() {
    let t = step(&job(DrainState::Deleting { sent_at: NOW }), &gone(&["T4"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T4")]);
    let next = job(t.next);
    let t = step(&next, &gone(&[]), NOW, &config());
    assert_eq!(t.next, DrainState::Done);
}

#[test]
fn a_task_cancelled_before_the_node_came_back_is_not_cancelled_again_when_it_goes() {
    let mut current = waiting();
    let t = step(&current, &seen(offline(node("N1", true, 1)), &["T1"]), NOW, &config());
    assert_eq!(t.effects, vec![cancel("T1")]);
    current.apply(&t);
    assert_eq!(current.cancelled, vec!["T1".to_string()]);
    let t = step(&current, &seen(node("N1", true, 1), &["T1"]), NOW, &config());
    assert!(matches!(t.next, DrainState::WaitingForTasks { .. }), "back online: wait again");
    current.apply(&t);
    let t = step(&current, &seen(offline(node("N1", true, 1)), &["T1"]), NOW, &config());
    assert!(t.effects.iter().all(|e| *e != cancel("T1")), "{:?}", t.effects);
    let t = step(&current, &gone(&["T1"]), NOW, &config());
    assert_eq!(t.next, DrainState::Done);
}

#[test]
fn state_and_choice_names_read_as_words() {
    assert_eq!(waiting().state.name(), "waiting for tasks");
    assert_eq!(DrainChoice::CancelTasksNow.label(), "cancel tasks now");
}

/// One observation for the restart property.
fn observe(
    exists: bool,
    online: bool,
    drain: bool,
    tasks: &[u8],
    now: time::OffsetDateTime,
) -> NodeObservation {
    let mut n = node("N1", drain, tasks.len() as u32);
    n.last_seen = Some(if online { now - Duration::seconds(5) } else { now - Duration::seconds(400) });
    let ids: Vec<String> = tasks.iter().map(|i| format!("T{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut o = seen(n, &refs);
    if !exists {
        o.node = None;
    }
    o
}

proptest! {
    /// The executor restores `requested` from the journal on restart; with it, a restarted job
    /// never cancels a task twice and never deletes an online busy node.
    #[test]
    fn a_restart_with_requested_restored_never_repeats_a_cancel(
        steps in prop::collection::vec(
            (prop::bool::weighted(0.9), any::<bool>(), any::<bool>(), prop::collection::btree_set(0u8..5, 0..4), 0i64..400, prop::bool::weighted(0.2)),
            1..40,
        )
    ) {
        let config = config();
        let mut current = job(DrainState::Requested);
        let mut now = NOW;
        let mut ever_cancelled: Vec<String> = Vec::new();
        for (exists, online, drain, tasks, advance, restart) in steps {
            now += Duration::seconds(advance);
            if restart && !current.state.is_terminal() {
                // What the journal gives back: every cancel ever sent; the state is re-derived.
                current = DrainJob { state: DrainState::Requested, cancelled: ever_cancelled.clone(), ..current };
            }
            let tasks: Vec<u8> = tasks.into_iter().collect();
            let o = observe(exists, online, drain, &tasks, now);
            let t = step(&current, &o, now, &config);
            for effect in &t.effects {
                if let DrainEffect::CancelTask(id) = effect {
                    prop_assert!(!ever_cancelled.contains(id), "cancel of {id} repeated");
                    prop_assert!(!(exists && online), "cancelled a task of an online node");
                    ever_cancelled.push(id.clone());
                }
                if *effect == DrainEffect::DeleteNode {
                    prop_assert!(!(exists && online && !tasks.is_empty()), "deleted an online busy node");
                }
            }
            current.apply(&t);
        }
    }

    /// The same observation at the same instant never sends the same effect twice in a row.
    #[test]
    fn stepping_twice_on_one_observation_sends_nothing_new(
        online in any::<bool>(), drain in any::<bool>(), tasks in prop::collection::btree_set(0u8..5, 0..4), exists in any::<bool>(),
    ) {
        let config = config();
        let tasks: Vec<u8> = tasks.into_iter().collect();
        let o = observe(exists, online, drain, &tasks, NOW);
        let mut current = job(DrainState::Requested);
        let first = step(&current, &o, NOW, &config);
        current.state = first.next;
        let second = step(&current, &o, NOW, &config);
        for effect in &second.effects {
            prop_assert!(!first.effects.contains(effect), "{effect:?} sent twice: {:?} then {:?}", first.effects, second.effects);
        }
    }
}
