//! Pure: what the journal says about the terminating hooks `scaleguard node hooks` acts on — when
//! an instance was first seen waiting, the last heartbeat that landed, and the calls a killed
//! process left without a result.

use crate::ha::hook::{HookCall, HookWait};
use crate::journal::{JournalAction, Outcome, Record, RecordKind};
use crate::model::ScaleSetKey;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The hook calls of one profile on one set, each with its result record (None: none journaled),
/// gathered once per pass.
pub struct HookCalls<'a> {
    calls: Vec<(&'a Record, Option<&'a Record>)>,
}

impl<'a> HookCalls<'a> {
    pub fn of(records: &'a [Record], profile: &str, key: &ScaleSetKey) -> Self {
        let results: HashMap<Uuid, &Record> =
            records.iter().filter(|r| r.kind == RecordKind::Result).map(|r| (r.intent_id, r)).collect();
        let calls = records
            .iter()
            .filter(|r| {
                r.kind == RecordKind::Intent
                    && r.profile == profile
                    && matches!(&r.action, JournalAction::LifecycleHook { scale_set, .. } if scale_set == key)
            })
            .map(|r| (r, results.get(&r.intent_id).copied()))
            .collect();
        Self { calls }
    }

    /// `wait` with what the journal adds: the earliest call on this instance's hook since
    /// `since` (an earlier sighting: the wait began no later), and the last heartbeat that
    /// landed. A heartbeat's time is its intent's, sent before Auto Scaling reset the timer: the
    /// timeout computed from it is never later than the real one.
    pub fn with_journal(&self, mut wait: HookWait, since: Option<OffsetDateTime>) -> HookWait {
        for (record, result) in &self.calls {
            if !same_wait(&record.action, &wait.instance_id, &wait.hook_name)
                || since.is_some_and(|at| record.time < at)
            {
                continue;
            }
            wait.entered_at = wait.entered_at.min(record.time);
            let heartbeat =
                matches!(&record.action, JournalAction::LifecycleHook { call: HookCall::Heartbeat, .. });
            if heartbeat && result.and_then(|r| r.outcome.as_ref()) == Some(&Outcome::Done) {
                wait.last_heartbeat_at =
                    Some(wait.last_heartbeat_at.map_or(record.time, |at| at.max(record.time)));
            }
        }
        wait
    }

    /// Hook calls journaled without a result (the process was killed during the call).
    pub fn open(&self) -> Vec<Record> {
        self.calls
            .iter()
            .filter(|(_, result)| result.is_none())
            .map(|(record, _)| (*record).clone())
            .collect()
    }
}

fn same_wait(action: &JournalAction, instance: &str, hook_name: &str) -> bool {
    matches!(action, JournalAction::LifecycleHook { instance_id, hook, .. } if instance_id == instance && hook == hook_name)
}

/// How an interrupted call is closed: a CONTINUE landed if the instance left the wait; a
/// heartbeat cannot be told, so it is not counted (the next one is sent as if it did not land).
pub fn settle_open_call(call: HookCall, still_waiting: Option<bool>) -> Option<(Outcome, String)> {
    match (call, still_waiting) {
        (HookCall::Continue, Some(false)) => {
            Some((Outcome::Done, "the instance no longer waits on its hook".to_string()))
        }
        (HookCall::Continue, Some(true)) => {
            let why = "the instance still waits on its hook: the CONTINUE did not take effect".to_string();
            Some((Outcome::Failed(why.clone()), why))
        }
        (HookCall::Heartbeat, _) => {
            let why = "interrupted; whether it landed cannot be told, so it is not counted".to_string();
            Some((Outcome::Skipped(why.clone()), why))
        }
        (HookCall::Continue, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::hook::HookResult;
    use crate::journal::Journal;
    use time::macros::datetime;
    use time::Duration;

    const T0: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);

    fn key() -> ScaleSetKey {
        ScaleSetKey {
            provider: "aws".into(),
            subscription_id: String::new(),
            resource_group: "eu-west-1".into(),
            name: "octo-asg".into(),
        }
    }

    fn wait(at: OffsetDateTime) -> HookWait {
        HookWait {
            instance_id: "i-1".into(),
            hook_name: "drain".into(),
            heartbeat_timeout_secs: 300,
            global_timeout_secs: 30_000,
            default_result: HookResult::Abandon,
            entered_at: at,
            last_heartbeat_at: None,
        }
    }

    fn call(journal: &Journal, instance: &str, call: HookCall, at: OffsetDateTime, outcome: Option<Outcome>) {
        let action = JournalAction::LifecycleHook {
            scale_set: key(),
            instance_id: instance.into(),
            hook: "drain".into(),
            node_name: Some("IP-10-0-1-5".into()),
            call,
            why: "test".into(),
        };
        let intent = journal.append_intent("prod", "hook", action, at).unwrap();
        if let Some(outcome) = outcome {
            journal.append_result(&intent, outcome, at).unwrap();
        }
    }

    #[test]
    fn the_last_heartbeat_that_landed_and_the_first_sighting_come_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let journal = Journal::open(&path).unwrap();
        let s = Duration::seconds;
        call(&journal, "i-1", HookCall::Heartbeat, T0, Some(Outcome::Done));
        call(&journal, "i-1", HookCall::Heartbeat, T0 + s(250), Some(Outcome::Done));
        call(&journal, "i-1", HookCall::Heartbeat, T0 + s(500), Some(Outcome::Failed("x".into())));
        call(&journal, "i-1", HookCall::Heartbeat, T0 + s(520), None);
        call(&journal, "i-2", HookCall::Heartbeat, T0 + s(600), Some(Outcome::Done));
        let (records, _) = crate::journal::read_all(&path).unwrap();
        let calls = HookCalls::of(&records, "prod", &key());
        let rebuilt = calls.with_journal(wait(T0 + s(700)), None);
        assert_eq!(rebuilt.entered_at, T0, "first sighting");
        assert_eq!(
            rebuilt.last_heartbeat_at,
            Some(T0 + s(250)),
            "only those that landed, this instance only"
        );
        let later = calls.with_journal(wait(T0 + s(700)), Some(T0 + s(300)));
        assert_eq!(
            (later.entered_at, later.last_heartbeat_at),
            (T0 + s(500), None),
            "an older wait is not this one"
        );
        let open = calls.open();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].time, T0 + s(520));
    }

    #[test]
    fn an_interrupted_continue_is_settled_by_whether_the_instance_still_waits() {
        assert_eq!(settle_open_call(HookCall::Continue, Some(false)).unwrap().0, Outcome::Done);
        assert!(matches!(settle_open_call(HookCall::Continue, Some(true)).unwrap().0, Outcome::Failed(_)));
        assert_eq!(settle_open_call(HookCall::Continue, None), None, "unknown until listed");
        assert!(matches!(settle_open_call(HookCall::Heartbeat, None).unwrap().0, Outcome::Skipped(_)));
    }
}
