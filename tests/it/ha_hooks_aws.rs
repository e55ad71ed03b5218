//! `scaleguard node hooks` on `ha-scale-aws` (issue 20, AWS): at 30 s Auto Scaling terminates the
//! instance hosting IP-10-0-0-4, which runs a 600 s task; a terminating hook (300 s heartbeat
//! timeout, ABANDON) holds it. The real binary, one pass at a time while the test moves the
//! simulator's clock: the hook is extended while the node drains and completed with CONTINUE
//! only once its task finished — or, with a shorter `nodes.hook_deadline_secs`, at that deadline,
//! the task then cancelled once the node is offline. The journal tells the story in order.

use crate::support::bench::Bench;
use crate::support::rewriting_proxy::behind_proxy;
use scaleguard::ha::hook::HookCall;
use scaleguard::journal::{JournalAction, Outcome, Record, RecordKind};
use scaleguard::sim::SimOptions;
use std::time::Duration;

const BUSY: &str = "IP-10-0-0-4";
const NODE_ID: &str = "OctopusServerNodes-IP-10-0-0-4";

/// One pass's view: the simulator's time before it ran, its exit code and output.
struct Pass {
    at: f64,
    code: i32,
    json: serde_json::Value,
    stderr: String,
}

async fn bench(edit: impl FnOnce(String) -> String) -> Bench {
    Bench::start(SimOptions::new("ha-scale-aws").manual_clock(), edit).await.with_sim_clock()
}

fn now(bench: &Bench) -> f64 {
    bench.sim.with_world(|w| w.now)
}

/// The busy node's instance: (id, lifecycle state), None once it is gone from the group.
fn busy_instance(bench: &Bench) -> Option<(String, String)> {
    bench.sim.with_world(|w| {
        let region = w.aws.region.clone();
        w.aws
            .groups
            .iter()
            .flat_map(|g| &g.instances)
            .find(|i| i.computer_name(&region) == BUSY)
            .map(|i| (i.instance_id.clone(), i.lifecycle.as_str().to_string()))
    })
}

/// The busy node's 600 s task (the scenario's, started at 1 s; older ones finished before the
/// scenario began): (state, completed at).
fn busy_task(bench: &Bench) -> (String, Option<f64>) {
    bench.sim.with_world(|w| {
        let task = w
            .tasks
            .iter()
            .filter(|t| t.node_id.as_deref() == Some(NODE_ID) && t.start_time.is_some_and(|at| at >= 0.0))
            .max_by(|a, b| a.start_time.partial_cmp(&b.start_time).unwrap())
            .expect("the node's task");
        (task.state.as_str().to_string(), task.completed_time)
    })
}

fn node_exists(bench: &Bench) -> bool {
    bench.sim.with_world(|w| w.nodes.iter().any(|n| n.id == NODE_ID))
}

async fn pass(bench: &Bench) -> Pass {
    let at = now(bench);
    let run = bench.run(&["node", "hooks", "--format", "json"]).await;
    run.assert_no_panic("node hooks");
    Pass {
        at,
        code: run.code,
        json: serde_json::from_str(&run.stdout).unwrap_or_default(),
        stderr: run.stderr,
    }
}

/// The calls journaled for the busy node's instance: (call, outcome, why).
fn hook_calls(records: &[Record], instance: &str) -> Vec<(HookCall, Option<Outcome>, String)> {
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent)
        .filter_map(|r| match &r.action {
            JournalAction::LifecycleHook { instance_id, call, why, .. } if instance_id == instance => {
                let outcome = records
                    .iter()
                    .find(|x| x.kind == RecordKind::Result && x.intent_id == r.intent_id)
                    .and_then(|x| x.outcome.clone());
                Some((*call, outcome, why.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Run passes every `step` seconds of simulated time until the job ends (exit 0) or `limit`;
/// `check` sees the world after each pass.
async fn run_until_done(bench: &Bench, step: u64, limit: f64, mut check: impl FnMut(&Pass)) -> Vec<Pass> {
    let mut passes = Vec::new();
    loop {
        let pass = pass(bench).await;
        assert!(pass.code == 0 || pass.code == 2, "exit {}: {}\n{}", pass.code, pass.stderr, pass.json);
        check(&pass);
        let done = pass.code == 0;
        passes.push(pass);
        if done {
            return passes;
        }
        assert!(now(bench) < limit, "still not done at {} s: {}", now(bench), passes.last().unwrap().json);
        bench.sim.advance(Duration::from_secs(step)).unwrap();
    }
}

const COMPLETE: &str = "autoscaling.CompleteLifecycleAction";

/// The next CompleteLifecycleAction meets the simulator's fault `kind` (once).
fn on_next_complete(bench: &Bench, kind: &str, delay_ms: Option<u64>) {
    use scaleguard::sim::{EventAction, FaultSpec, RequestHook};
    bench.sim.before_next_request(RequestHook {
        method: Some("POST".into()),
        path_prefix: COMPLETE.into(),
        action: EventAction::Fault(FaultSpec {
            target: COMPLETE.into(),
            kind: kind.into(),
            count: 1,
            retry_after_secs: None,
            delay_ms,
        }),
    });
}

/// The first pass that sent CONTINUE.
fn continued(passes: &[Pass]) -> &Pass {
    passes
        .iter()
        .find(|p| p.json["hooks"].as_array().is_some_and(|h| h.iter().any(|l| l["action"] == "continue")))
        .expect("a pass sent CONTINUE")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_nodes_hook_is_extended_while_it_drains_and_completed_once_its_task_finished() {
    let bench = bench(|toml| toml).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");

    let passes = run_until_done(&bench, 20, 1_500.0, |pass| {
        // Never let go while the node runs its task: the instance stays in the wait.
        let (task, _) = busy_task(&bench);
        if task == "Executing" {
            let state = busy_instance(&bench).map(|(_, s)| s);
            assert_eq!(state.as_deref(), Some("Terminating:Wait"), "at {} s: {}", pass.at, pass.json);
        }
    })
    .await;

    let (task, finished) = busy_task(&bench);
    assert_eq!(task, "Success", "the task ran to its end, nothing cancelled it");
    let finished = finished.unwrap();
    let first = continued(&passes);
    assert!(first.at >= finished, "CONTINUE at {} s, before the task finished at {finished} s", first.at);
    assert!(
        first.at < finished + 60.0,
        "CONTINUE at {} s, long after the drain finished at {finished} s",
        first.at
    );
    assert_eq!(busy_instance(&bench), None, "Auto Scaling terminated it once the hook was completed");
    assert!(!node_exists(&bench), "the node record is deleted once its instance is gone");

    let (records, warnings) = bench.journal();
    assert!(warnings.is_empty(), "{warnings:?}");
    let calls = hook_calls(&records, &instance);
    let heartbeats =
        calls.iter().filter(|(c, o, _)| *c == HookCall::Heartbeat && *o == Some(Outcome::Done)).count();
    // 600 s of task against a 300 s timeout: extended at first sight and before each timeout.
    assert!(heartbeats >= 2, "{calls:#?}");
    let continues: Vec<_> = calls.iter().filter(|(c, ..)| *c == HookCall::Continue).collect();
    assert_eq!(continues.len(), 1, "completed once: {calls:#?}");
    assert_eq!(continues[0].1, Some(Outcome::Done));
    assert!(continues[0].2.contains("drained"), "{}", continues[0].2);
    assert_eq!(
        calls.last().map(|(c, ..)| *c),
        Some(HookCall::Continue),
        "nothing sent after CONTINUE: {calls:#?}"
    );

    // The story, in order: the job opened with the hook, drain on, heartbeats, CONTINUE, the node
    // record deleted, the job closed; no task cancelled, and no other node touched.
    let story: Vec<String> =
        records.iter().filter(|r| r.kind == RecordKind::Intent).map(|r| r.action.summary()).collect();
    let position = |needle: &str| {
        story.iter().position(|s| s.contains(needle)).unwrap_or_else(|| panic!("no `{needle}` in {story:#?}"))
    };
    let opened = position("drain before Auto Scaling terminates (drain-octopus-node");
    let drain_on = position(&format!("drain on: {BUSY}"));
    let heartbeat = position(": heartbeat");
    let complete = position("complete with CONTINUE");
    let deleted = position(&format!("delete node {BUSY}"));
    assert!(
        opened < drain_on && drain_on < complete && heartbeat < complete && complete < deleted,
        "{story:#?}"
    );
    assert!(!story.iter().any(|s| s.starts_with("cancel ")), "{story:#?}");
    assert!(story.iter().all(|s| !s.contains("drain on:") || s.contains(BUSY)), "{story:#?}");
    let job = records
        .iter()
        .find(|r| {
            r.kind == RecordKind::Intent
                && matches!(r.action, JournalAction::ScaleInJob { hook: Some(_), .. })
        })
        .unwrap();
    let closed = records.iter().find(|r| r.kind == RecordKind::Result && r.intent_id == job.intent_id);
    assert_eq!(closed.and_then(|r| r.outcome.clone()), Some(Outcome::Done), "the job is closed");
    bench.assert_journal_paired("node hooks");

    // Nothing waits any more: a further pass says so and sends nothing.
    let idle = pass(&bench).await;
    assert_eq!(idle.code, 0, "{}", idle.json);
    assert_eq!(hook_calls(&bench.journal().0, &instance).len(), calls.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_configured_deadline_the_hook_is_completed_and_the_node_cleaned_up_after() {
    // 240 s of hold: the 600 s task is still running when the deadline comes.
    let bench = bench(|toml| {
        toml.replace("[profiles.sim.nodes]\n", "[profiles.sim.nodes]\nhook_deadline_secs = 240\n")
    })
    .await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, _) = busy_instance(&bench).expect("the busy node's instance");
    let first_seen = now(&bench);

    let passes = run_until_done(&bench, 20, 1_500.0, |_| {}).await;
    let first = continued(&passes);
    // The deadline counts from the first sighting; CONTINUE comes within the margin before it.
    assert!(first.at >= first_seen + 240.0 - 30.0, "CONTINUE at {} s, seen at {first_seen} s", first.at);
    assert!(first.at <= first_seen + 240.0, "CONTINUE at {} s, after the deadline", first.at);
    let calls = hook_calls(&bench.journal().0, &instance);
    let continue_why = &calls.iter().find(|(c, ..)| *c == HookCall::Continue).unwrap().2;
    assert!(continue_why.contains("nodes.hook_deadline_secs"), "{continue_why}");

    // The task was still running when the instance went: cancelled once the node was offline,
    // then the record deleted.
    let (task, _) = busy_task(&bench);
    assert_eq!(task, "Canceled", "the vanished node's task is cancelled");
    assert!(!node_exists(&bench));
    let (records, _) = bench.journal();
    let story: Vec<String> =
        records.iter().filter(|r| r.kind == RecordKind::Intent).map(|r| r.action.summary()).collect();
    let complete = story.iter().position(|s| s.contains("complete with CONTINUE")).unwrap();
    let cancel = story.iter().position(|s| s.starts_with("cancel ")).expect("a cancel");
    let deleted = story.iter().position(|s| s.contains(&format!("delete node {BUSY}"))).unwrap();
    assert!(complete < cancel && cancel < deleted, "{story:#?}");
    bench.assert_journal_paired("node hooks at the deadline");
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_nodes_cannot_be_read_the_hook_is_only_extended_never_completed() {
    let bench = bench(|toml| toml).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, _) = busy_instance(&bench).expect("the busy node's instance");
    let opened = pass(&bench).await;
    assert_eq!(opened.code, 2, "{}\n{}", opened.json, opened.stderr);

    // Octopus refuses the node list from now on: the job cannot step and no host can be told.
    bench
        .sim
        .inject_fault(scaleguard::sim::FaultSpec {
            target: "/api/octopusservernodes".into(),
            kind: "403".into(),
            count: 100_000,
            retry_after_secs: None,
            delay_ms: None,
        })
        .unwrap();
    for _ in 0..30 {
        bench.sim.advance(Duration::from_secs(20)).unwrap();
        let held = pass(&bench).await;
        assert_eq!(held.code, 1, "a job that cannot advance is a failure: {}", held.json);
        assert!(held.json["job_errors"][0].as_str().is_some_and(|e| e.contains(BUSY)), "{}", held.json);
        let state = busy_instance(&bench).map(|(_, s)| s);
        assert_eq!(state.as_deref(), Some("Terminating:Wait"), "at {} s: {}", held.at, held.json);
    }
    // 600 s without the nodes: the hook was extended past its 300 s timeout, never completed.
    let calls = hook_calls(&bench.journal().0, &instance);
    assert!(calls.iter().all(|(c, ..)| *c == HookCall::Heartbeat), "{calls:#?}");
    assert!(calls.len() >= 3, "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_an_azure_nodes_set_the_runner_says_where_to_go_and_changes_nothing() {
    let bench = Bench::start(SimOptions::new("ha-scale").manual_clock(), |toml| toml).await.with_sim_clock();
    let run = bench.run(&["node", "hooks"]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("not an Auto Scaling group") && run.stderr.contains("node scale-in vmss-octo"),
        "{}",
        run.stderr
    );
    assert!(bench.journal().0.is_empty(), "nothing journaled");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_after_continue_landed_is_settled_and_sends_nothing_twice() {
    use std::process::Stdio;
    let bench = bench(|toml| toml).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, _) = busy_instance(&bench).expect("the busy node's instance");
    // The CONTINUE lands, and its answer is held: the kill comes between the two.
    on_next_complete(&bench, "slow_reply", Some(5_000));
    let mut killed = false;
    for _ in 0..60 {
        let mut child = bench
            .command(&["node", "hooks", "--format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scaleguard");
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if !killed && bench.sim.stats().get(COMPLETE) == 1 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                child.kill().unwrap();
                child.wait().unwrap();
                killed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if killed && busy_instance(&bench).is_none() && !node_exists(&bench) {
            break;
        }
        bench.sim.advance(Duration::from_secs(20)).unwrap();
    }
    assert!(killed, "the run sending CONTINUE was killed");
    let done = pass(&bench).await;
    assert_eq!(done.code, 0, "{}\n{}", done.json, done.stderr);
    assert_eq!(bench.sim.stats().get(COMPLETE), 1, "CONTINUE sent once");
    let (records, _) = bench.journal();
    let continues: Vec<&Record> = records
        .iter()
        .filter(|r| {
            r.kind == RecordKind::Intent
                && matches!(&r.action, JournalAction::LifecycleHook { call: HookCall::Continue, instance_id, .. } if *instance_id == instance)
        })
        .collect();
    assert_eq!(continues.len(), 1, "journaled once");
    let result =
        records.iter().find(|r| r.kind == RecordKind::Result && r.intent_id == continues[0].intent_id);
    let result = result.expect("the interrupted CONTINUE is settled");
    assert_eq!(result.outcome, Some(Outcome::Done));
    assert!(result.note.as_deref().is_some_and(|n| n.contains("no longer waits")), "{result:?}");
    let deletes = records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent && r.action.summary() == format!("delete node {BUSY}"))
        .count();
    assert_eq!(deletes, 1, "the node record deleted once");
    bench.assert_journal_paired("killed node hooks");
}

/// The instance ids of the operator's journaled VM removal, once it has a result.
fn operator_removal(bench: &Bench) -> Option<Vec<String>> {
    let (records, _) = bench.journal();
    records.iter().find_map(|r| match &r.action {
        JournalAction::DeleteInstances { instance_ids, .. }
            if r.kind == RecordKind::Intent
                && records.iter().any(|x| x.kind == RecordKind::Result && x.intent_id == r.intent_id) =>
        {
            Some(instance_ids.clone())
        }
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operators_scale_in_of_the_group_is_answered_from_its_job_once_its_node_is_drained() {
    use std::process::Stdio;
    let bench = bench(|toml| toml).await;
    bench.sim.advance(Duration::from_secs(5)).unwrap();
    // The operator scales the nodes' group in by one: drain, then TerminateInstanceInAutoScalingGroup,
    // which puts the instance into Terminating:Wait on the group's hook. The run is stopped there
    // (it would wait for the instance to be gone).
    let args =
        ["node", "scale-in", "octo-asg", "--count", "1", "--yes", "--reason", "test", "--format", "json"];
    let mut child = bench.command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    let removed = loop {
        if let Some(ids) = operator_removal(&bench) {
            break ids;
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!("the scale-in ended first: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the scale-in never removed its VM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill().ok();
    child.wait().unwrap();
    let instance = removed[0].clone();
    bench.sim.advance(Duration::from_secs(2)).unwrap();
    let state = bench.sim.with_world(|w| {
        w.aws
            .groups
            .iter()
            .flat_map(|g| &g.instances)
            .find(|i| i.instance_id == instance)
            .map(|i| i.lifecycle.as_str().to_string())
    });
    assert_eq!(state.as_deref(), Some("Terminating:Wait"));

    // The runner answers from the operator's job: its node was drained before the removal was
    // sent, so the hook is completed at once, not held to nodes.hook_deadline_secs.
    let mut passes = Vec::new();
    for _ in 0..3 {
        passes.push(pass(&bench).await);
        bench.sim.advance(Duration::from_secs(20)).unwrap();
    }
    let (records, _) = bench.journal();
    let calls = hook_calls(&records, &instance);
    let jsons: Vec<&serde_json::Value> = passes.iter().map(|p| &p.json).collect();
    assert!(
        calls.iter().any(|(c, o, _)| *c == HookCall::Continue && *o == Some(Outcome::Done)),
        "{calls:#?}\n{jsons:#?}"
    );
    assert!(
        !records.iter().any(|r| matches!(r.action, JournalAction::ScaleInJob { hook: Some(_), .. })),
        "no second job opened for the operator's node"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_continue_that_landed_behind_a_503_is_not_journaled_as_failed() {
    // 240 s of hold: CONTINUE comes at the deadline, with the node still busy.
    let bench = bench(|toml| {
        toml.replace("[profiles.sim.nodes]\n", "[profiles.sim.nodes]\nhook_deadline_secs = 240\n")
    })
    .await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, _) = busy_instance(&bench).expect("the busy node's instance");
    // The CONTINUE lands, then its answer is a 503: the client's repeat finds no active action.
    on_next_complete(&bench, "act_then_503", None);
    let mut passes = Vec::new();
    for _ in 0..40 {
        let pass = pass(&bench).await;
        let done = pass.code == 0;
        passes.push(pass);
        if done {
            break;
        }
        bench.sim.advance(Duration::from_secs(20)).unwrap();
    }
    let calls = hook_calls(&bench.journal().0, &instance);
    let continues: Vec<_> = calls.iter().filter(|(c, ..)| *c == HookCall::Continue).collect();
    assert_eq!(continues.len(), 1, "{calls:#?}");
    assert!(
        !matches!(continues[0].1, Some(Outcome::Failed(_))),
        "the CONTINUE landed (the instance left the wait), yet: {:?}",
        continues[0].1
    );
    assert!(passes.iter().all(|p| p.code != 1), "no pass reports a failure for a CONTINUE that landed");
}

/// On AWS the terminate call returns before the instance is gone (a hook may hold it, its node
/// still up): an operator's scale-in deletes the node record only once a listing shows the
/// instance gone, in the run that sent it and in a rerun that resumes it.
#[tokio::test(flavor = "multi_thread")]
async fn an_operators_scale_in_keeps_the_node_record_until_the_instance_is_gone() {
    use std::process::Stdio;
    let bench = bench(|toml| toml).await;
    bench.sim.advance(Duration::from_secs(5)).unwrap();
    let args =
        ["node", "scale-in", "octo-asg", "--count", "1", "--yes", "--reason", "test", "--format", "json"];
    let run_for = |wait: Duration| {
        let mut child = bench.command(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        async move {
            let started = std::time::Instant::now();
            while started.elapsed() < wait && child.try_wait().unwrap().is_none() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            child.kill().ok();
            child.wait().unwrap()
        }
    };
    let node_deletes = || bench.sim.stats().get("octopus.octopusservernodes.delete");
    // The first run: past the terminate call and two of its polls (refresh_secs = 5 s).
    let started = std::time::Instant::now();
    let mut first = bench.command(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    while operator_removal(&bench).is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "the scale-in never removed its VM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    first.kill().ok();
    first.wait().unwrap();
    let instance = operator_removal(&bench).unwrap()[0].clone();
    let waiting = |bench: &Bench| {
        bench
            .sim
            .with_world(|w| w.aws.groups.iter().flat_map(|g| &g.instances).any(|i| i.instance_id == instance))
    };
    assert!(waiting(&bench), "the instance is still there (terminating, then held by the hook)");
    assert_eq!(node_deletes(), 0, "no node record deleted while its instance still runs");
    // A rerun resumes the job from the journal: still nothing deleted while the instance waits.
    bench.sim.advance(Duration::from_secs(5)).unwrap();
    run_for(Duration::from_secs(3)).await;
    assert!(waiting(&bench));
    assert_eq!(node_deletes(), 0, "the resumed job waits for the instance too");

    // The hook is completed (the runner answers from the operator's job), the instance goes, and
    // the rerun deletes the node record once.
    for _ in 0..3 {
        pass(&bench).await;
        bench.sim.advance(Duration::from_secs(20)).unwrap();
    }
    assert!(!waiting(&bench));
    let done = bench.run(&args).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(node_deletes(), 1, "the node record deleted once, after its instance was gone");
}

/// An operator's scale-in aborted while its "drain off" was in flight (its job still open) is no
/// answer for a hook: the busy node's instance is held as any other until drained or the deadline.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_job_left_mid_abort_does_not_let_a_busy_nodes_instance_go() {
    use scaleguard::drain::DrainEffect;
    use scaleguard::ha::Victim;
    use scaleguard::journal::Journal;
    let bench = bench(|toml| toml).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait");
    let journal = Journal::open(&bench.journal_path()).unwrap();
    let config = scaleguard::config::ConfigFile::load(&bench.config).unwrap();
    let (_, profile) = config.profile(None).unwrap();
    let set = profile.nodes_scale_set().unwrap().unwrap();
    let victim = Victim {
        node_id: NODE_ID.into(),
        node_name: BUSY.into(),
        instance_id: instance.clone(),
        vm_id: None,
        computer_name: Some(BUSY.to_lowercase()),
        why: "chosen".into(),
    };
    let now = time::OffsetDateTime::now_utc();
    let job =
        JournalAction::ScaleInJob { scale_set: set, victims: vec![victim], wait_secs: 1800, hook: None };
    journal.append_intent("sim", "operator scale-in", job, now).unwrap();
    let drain_on = JournalAction::Drain {
        node_id: NODE_ID.into(),
        node_name: BUSY.into(),
        effect: DrainEffect::EnableDrain,
    };
    let on = journal.append_intent("sim", "step", drain_on, now).unwrap();
    journal.append_result(&on, Outcome::Done, now).unwrap();
    // The abort's "drain off" was sent and the process killed before its answer.
    let drain_off = JournalAction::Drain {
        node_id: NODE_ID.into(),
        node_name: BUSY.into(),
        effect: DrainEffect::DisableDrain,
    };
    journal.append_intent("sim", "abort", drain_off, now).unwrap();

    for _ in 0..10 {
        let held = pass(&bench).await;
        let (task, _) = busy_task(&bench);
        if task == "Executing" {
            let state = busy_instance(&bench).map(|(_, s)| s);
            assert_eq!(state.as_deref(), Some("Terminating:Wait"), "at {} s: {}", held.at, held.json);
        }
        bench.sim.advance(Duration::from_secs(20)).unwrap();
    }
    let calls = hook_calls(&bench.journal().0, &instance);
    assert!(calls.iter().all(|(c, ..)| *c == HookCall::Heartbeat), "{calls:#?}");
}

/// The node on a held instance re-registers under a new id while its drain job runs (its old
/// record gone): the old job has nothing left to drain, but the node still runs its task, so the
/// hook waits for the new record's drain, not the old one's end.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_re_registers_under_a_new_id_is_drained_again_before_its_instance_goes() {
    const NEW_ID: &str = "OctopusServerNodes-IP-10-0-0-4-again";
    let bench = bench(|toml| toml).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, _) = busy_instance(&bench).expect("the busy node's instance");
    let opened = pass(&bench).await;
    assert_eq!(opened.code, 2, "{}", opened.json);
    bench.sim.with_world_mut(|w| {
        for node in w.nodes.iter_mut().filter(|n| n.id == NODE_ID) {
            node.id = NEW_ID.into();
            node.is_in_maintenance_mode = false;
        }
        for task in w.tasks.iter_mut().filter(|t| t.node_id.as_deref() == Some(NODE_ID)) {
            task.node_id = Some(NEW_ID.into());
        }
    });
    for _ in 0..12 {
        bench.sim.advance(Duration::from_secs(20)).unwrap();
        let held = pass(&bench).await;
        let running = bench.sim.with_world(|w| {
            w.tasks.iter().any(|t| t.node_id.as_deref() == Some(NEW_ID) && t.state.as_str() == "Executing")
        });
        if running {
            let state = busy_instance(&bench).map(|(_, s)| s);
            assert_eq!(state.as_deref(), Some("Terminating:Wait"), "at {} s: {}", held.at, held.json);
        }
    }
    let calls = hook_calls(&bench.journal().0, &instance);
    assert!(!calls.iter().any(|(c, ..)| *c == HookCall::Continue), "{calls:#?}");
}

fn node_runs_its_task(bench: &Bench) -> bool {
    busy_task(bench).0 == "Executing"
}

/// `node hooks`, then `apply --yes`; then the busy node must still run its task and its instance
/// still wait on the hook (`what`: how the answers lied, for the failure message).
async fn the_busy_nodes_instance_keeps_waiting(bench: &Bench, what: &str) {
    let hooks = bench.run(&["node", "hooks"]).await;
    hooks.assert_no_panic("node hooks");
    let apply = bench.run(&["apply", "--yes"]).await;
    apply.assert_no_panic("apply");
    assert!(node_runs_its_task(bench), "the node still runs its task after the passes");
    assert_eq!(
        busy_instance(bench).map(|(_, state)| state).as_deref(),
        Some("Terminating:Wait"),
        "{what}: the hook of the busy node's instance was completed while the node runs its task.\nnode hooks \
         (exit {}):\n{}{}\napply (exit {}):\n{}{}",
        hooks.code,
        hooks.stdout,
        hooks.stderr,
        apply.code,
        apply.stdout,
        apply.stderr
    );
}

/// `node hooks` and the plan on an AWS nodes' group: an instance in Terminating:Wait that *may*
/// host an HA node is only extended, never let go at once. A node registered under a name that is
/// not its instance's private DNS host part (Windows on EC2 names itself `EC2AMAZ-…` unless told
/// otherwise; a node name can also be set at install) pairs with no instance: while such a node
/// runs, an instance that hosts no paired node may be its host. Here the busy node
/// IP-10-0-0-4 (a 600 s task) is registered as `EC2AMAZ-7QK2M1B`; Auto Scaling terminates its
/// instance at 30 s. While its task runs the instance must stay in Terminating:Wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_node_registered_under_another_name_keeps_its_instance_waiting_on_the_hook() {
    let bench = bench(|toml| toml).await;
    // The scenario starts the node's task at 1 s (by its name): let it start, then give the node
    // the name it would have on a default Windows AMI.
    bench.sim.advance(Duration::from_secs(2)).unwrap();
    bench.sim.with_world_mut(|w| {
        w.nodes.iter_mut().find(|n| n.id == NODE_ID).expect("the busy node").name = "EC2AMAZ-7QK2M1B".into()
    });
    bench.sim.advance(Duration::from_secs(38)).unwrap();
    let (_, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    assert!(node_runs_its_task(&bench), "the node runs its task");
    the_busy_nodes_instance_keeps_waiting(&bench, "the busy node registered as EC2AMAZ-7QK2M1B (unpaired)")
        .await;
}

/// The same promise when EC2 contradicts itself: DescribeInstances lists the busy node's instance
/// twice, the second record with a private DNS name no node has. Two records of one instance that
/// disagree are a read error, never "the last one wins" (which once renamed the instance of the
/// busy node IP-10-0-0-4 so that it read as hosting none, and its hook was completed while the node
/// ran its task).
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_ec2_lists_twice_under_two_names_keeps_its_hook_while_its_node_is_busy() {
    let bench = bench(|toml| toml).await;
    let proxy = behind_proxy(&bench).await;
    bench.sim.advance(Duration::from_secs(40)).unwrap();
    let (instance, state) = busy_instance(&bench).expect("the busy node's instance");
    assert_eq!(state, "Terminating:Wait", "the scripted scale-in picked the busy node's instance");
    assert!(node_runs_its_task(&bench), "the node runs its task");
    let second = format!(
        "<item><instanceId>{instance}</instanceId><instanceState><code>16</code><name>running</name>\
         </instanceState><privateDnsName>ip-10-0-9-99.eu-west-1.compute.internal</privateDnsName></item>"
    );
    proxy.lie("DescribeInstances", "</instancesSet>", &format!("{second}</instancesSet>"));
    the_busy_nodes_instance_keeps_waiting(
        &bench,
        &format!("EC2 listed {instance} twice (ip-10-0-0-4 and ip-10-0-9-99)"),
    )
    .await;
}
