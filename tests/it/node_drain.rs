//! HA-node drain over the simulator's `ha-drain` scenario, on real HTTP: the executor waits for
//! tasks, cancels only once a node is offline, deletes once, and resumes after a restart
//! without repeating a step. The binary tests kill `scaleguard node drain` mid-run.

use scaleguard::config::{ConfigFile, NodesConfig, OctopusConfig};
use scaleguard::drain::{DrainChoice, DrainEffect, DrainState};
use scaleguard::journal::{read_all, Journal, JournalAction, Outcome, RecordKind};
use scaleguard::node_job::{DrainOptions, DrainSession, JobProgress, NodeJobError, NodeJobRunner};
use scaleguard::octopus::OctopusClient;
use scaleguard::secret::Secret;
use scaleguard::sim::world::TaskState;
use scaleguard::sim::{self, EventAction, RunningSim, SimOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const NODE_1: &str = "OctopusServerNodes-OCTO-NODE-1";

struct Setup {
    sim: RunningSim,
    _dir: tempfile::TempDir,
    journal: PathBuf,
    octopus: OctopusConfig,
    nodes: NodesConfig,
}

async fn setup() -> Setup {
    let sim = sim::start(SimOptions::new("ha-drain").manual_clock()).await.expect("simulator starts");
    let file = ConfigFile::parse(&sim.profile_toml(), Path::new("sim.toml")).unwrap();
    let (_, profile) = file.profile(Some("sim")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    Setup {
        journal: dir.path().join("journal.jsonl"),
        octopus: profile.octopus.clone(),
        nodes: profile.nodes.clone(),
        sim,
        _dir: dir,
    }
}

impl Setup {
    /// A fresh runner, as a new process would build it: same journal file, nothing in memory.
    fn runner(&self) -> NodeJobRunner {
        let client = OctopusClient::new(&self.octopus, Secret::new(self.sim.api_key())).unwrap();
        let journal = Arc::new(Journal::open(&self.journal).unwrap());
        NodeJobRunner::new(client, journal, "sim", self.nodes.clone()).with_clock(self.sim.clock())
    }

    fn advance(&self, secs: u64) {
        self.sim.advance(Duration::from_secs(secs)).unwrap();
    }

    fn run_task(&self, node: &str, secs: f64) {
        self.sim.apply(EventAction::RunTask { node: node.into(), secs }).unwrap();
    }

    fn stat(&self, endpoint: &str) -> u64 {
        self.sim.stats().get(endpoint)
    }

    /// Drain intents journaled for node 1, by effect.
    fn journaled(&self) -> Vec<DrainEffect> {
        let (records, warnings) = read_all(&self.journal).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        records
            .iter()
            .filter(|r| r.kind == RecordKind::Intent)
            .filter_map(|r| match &r.action {
                JournalAction::Drain { node_id, effect, .. } if node_id == NODE_1 => Some(effect.clone()),
                _ => None,
            })
            .collect()
    }

    fn task_states_on_node_1(&self) -> Vec<(String, TaskState)> {
        self.sim.with_world(|w| {
            w.tasks
                .iter()
                .filter(|t| t.node_id.as_deref() == Some(NODE_1))
                .map(|t| (t.id.clone(), t.state))
                .collect()
        })
    }
}

/// Tick until the job ends, moving the clock `secs` between ticks.
async fn drive(setup: &Setup, session: &mut DrainSession, secs: u64, max_ticks: usize) -> Vec<JobProgress> {
    let mut seen = Vec::new();
    for _ in 0..max_ticks {
        let progress = session.tick().await.expect("tick");
        let done = progress.state.is_terminal();
        seen.push(progress);
        if done {
            return seen;
        }
        setup.advance(secs);
    }
    panic!("the job did not end in {max_ticks} ticks: {:?}", seen.last());
}

fn cancels(effects: &[DrainEffect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| if let DrainEffect::CancelTask(id) = e { Some(id.clone()) } else { None })
        .collect()
}

#[tokio::test]
async fn a_busy_node_is_deleted_only_after_its_tasks_finish() {
    let s = setup().await;
    s.advance(30);
    s.run_task("OCTO-NODE-1", 120.0);
    let runner = s.runner();
    let mut session = runner.open_drain("octo-node-1", &DrainOptions::default()).await.unwrap();
    let first = session.tick().await.unwrap();
    assert_eq!(first.sent, vec![DrainEffect::EnableDrain]);
    assert!(first.running_tasks >= 1, "{first:?}");
    let started = s.sim.sim_time();

    let seen = drive(&s, &mut session, 10, 40).await;
    assert_eq!(seen.last().unwrap().state, DrainState::Done);
    let delete_tick = seen.iter().position(|p| p.sent.contains(&DrainEffect::DeleteNode)).unwrap();
    assert!(seen[..delete_tick].iter().all(|p| p.running_tasks > 0), "waited while tasks ran");
    assert!(s.sim.sim_time() - started >= 110.0, "the 120 s task was waited for");
    // A node deleted while busy would leave its tasks reaped as Canceled.
    let states = s.task_states_on_node_1();
    assert!(!states.is_empty());
    assert!(states.iter().all(|(_, state)| *state == TaskState::Success), "{states:?}");
    assert_eq!(s.stat("octopus.octopusservernodes.put"), 1, "drain enabled once");
    assert_eq!(s.stat("octopus.octopusservernodes.delete"), 1, "deleted once");
    assert_eq!(s.stat("octopus.tasks.cancel"), 0, "no task of an online node cancelled");
    assert_eq!(s.journaled(), vec![DrainEffect::EnableDrain, DrainEffect::DeleteNode]);
    assert!(s.sim.with_world(|w| w.nodes.iter().all(|n| n.id != NODE_1)));
    s.sim.shutdown().await;
}

#[tokio::test]
async fn a_node_killed_mid_drain_has_its_tasks_cancelled_once_it_is_offline_then_is_deleted() {
    let s = setup().await;
    s.advance(10);
    s.run_task("OCTO-NODE-1", 3600.0);
    let runner = s.runner();
    let mut session = runner.open_drain("OCTO-NODE-1", &DrainOptions::default()).await.unwrap();
    session.tick().await.unwrap();
    s.advance(5);
    let waiting = session.tick().await.unwrap();
    assert!(matches!(waiting.state, DrainState::WaitingForTasks { .. }), "{waiting:?}");

    s.sim.apply(EventAction::KillNode { node: "OCTO-NODE-1".into() }).unwrap();
    s.advance(200);
    let still = session.tick().await.unwrap();
    assert!(still.sent.is_empty(), "not offline yet: nothing cancelled: {still:?}");
    s.advance(150);
    let offline = session.tick().await.unwrap();
    let cancelled = cancels(&offline.sent);
    assert!(!cancelled.is_empty(), "{offline:?}");
    let seen = drive(&s, &mut session, 5, 10).await;
    assert_eq!(seen.last().unwrap().state, DrainState::Done);

    assert_eq!(s.stat("octopus.tasks.cancel"), cancelled.len() as u64, "each task cancelled once");
    assert_eq!(s.stat("octopus.octopusservernodes.delete"), 1);
    assert_eq!(s.stat("octopus.octopusservernodes.put"), 1);
    assert_eq!(cancels(&s.journaled()), cancelled);
    let states = s.task_states_on_node_1();
    for id in &cancelled {
        assert!(states.contains(&(id.clone(), TaskState::Canceled)), "{id}: {states:?}");
    }
    s.sim.shutdown().await;
}

#[tokio::test]
async fn a_runner_restarted_after_drain_was_enabled_resumes_without_repeating_it() {
    let s = setup().await;
    s.run_task("OCTO-NODE-1", 60.0);
    {
        let runner = s.runner();
        let mut session = runner.open_drain("OCTO-NODE-1", &DrainOptions::default()).await.unwrap();
        assert_eq!(session.tick().await.unwrap().sent, vec![DrainEffect::EnableDrain]);
        // The process dies here: the session and runner are dropped mid-job.
    }
    s.advance(5);
    let runner = s.runner();
    let mut session = runner.open_drain("octo-node-1", &DrainOptions::default()).await.unwrap();
    assert!(session.resumed());
    assert!(matches!(session.job().state, DrainState::WaitingForTasks { .. }), "{:?}", session.job().state);
    let seen = drive(&s, &mut session, 10, 20).await;
    assert_eq!(seen.last().unwrap().state, DrainState::Done);
    assert!(seen.iter().all(|p| p.resumed));

    assert_eq!(s.stat("octopus.octopusservernodes.put"), 1, "drain enabled once across both runs");
    assert_eq!(s.stat("octopus.octopusservernodes.delete"), 1);
    assert_eq!(s.journaled(), vec![DrainEffect::EnableDrain, DrainEffect::DeleteNode]);
    let (records, _) = read_all(&s.journal).unwrap();
    let jobs: Vec<_> =
        records.iter().filter(|r| matches!(r.action, JournalAction::DrainJob { .. })).collect();
    assert_eq!(jobs.len(), 2, "one job: its intent and its result");
    assert_eq!(jobs[1].outcome, Some(Outcome::Done));
    s.sim.shutdown().await;
}

#[tokio::test]
async fn a_runner_restarted_after_cancelling_never_cancels_a_task_twice() {
    let s = setup().await;
    s.advance(20);
    s.run_task("OCTO-NODE-1", 3600.0);
    let cancelled = {
        let runner = s.runner();
        let mut session = runner.open_drain("OCTO-NODE-1", &DrainOptions::default()).await.unwrap();
        session.tick().await.unwrap();
        s.sim.apply(EventAction::KillNode { node: "OCTO-NODE-1".into() }).unwrap();
        s.advance(400);
        let offline = session.tick().await.unwrap();
        cancels(&offline.sent)
    };
    assert!(!cancelled.is_empty());
    // A cancel journaled but never sent (the process died between the two): the task still runs.
    s.run_task("OCTO-NODE-1", 3600.0);
    let orphan = s.task_states_on_node_1().into_iter().find(|(_, st)| *st == TaskState::Executing).unwrap().0;
    let journal = Journal::open(&s.journal).unwrap();
    let action = JournalAction::Drain {
        node_id: NODE_1.into(),
        node_name: "OCTO-NODE-1".into(),
        effect: DrainEffect::CancelTask(orphan.clone()),
    };
    journal.append_intent("sim", "cancelling", action, s.sim.now()).unwrap();

    let runner = s.runner();
    let mut session = runner.open_drain("OCTO-NODE-1", &DrainOptions::default()).await.unwrap();
    assert!(session.resumed());
    let seen = drive(&s, &mut session, 5, 10).await;
    assert_eq!(seen.last().unwrap().state, DrainState::Done);
    let resent: Vec<String> = seen.iter().flat_map(|p| cancels(&p.sent)).collect();
    assert_eq!(resent, vec![orphan.clone()], "only the cancel that never reached the server is sent");
    assert_eq!(s.stat("octopus.tasks.cancel"), cancelled.len() as u64 + 1);
    assert_eq!(s.stat("octopus.octopusservernodes.delete"), 1);
    s.sim.shutdown().await;
}

#[tokio::test]
async fn cancel_now_and_the_deadline_question_are_answered_through_run() {
    let s = setup().await;
    s.run_task("OCTO-NODE-2", 3600.0);
    let runner = s.runner();
    let options = DrainOptions {
        deadline_secs: Some(0),
        poll_interval: Duration::from_millis(1),
        ..Default::default()
    };
    let mut questions = 0;
    let mut lines = Vec::new();
    // The manual clock moves one second per progress report, so cancelling tasks can finish.
    let sim = &s.sim;
    let mut on_progress = |p: &JobProgress| {
        lines.push(p.line());
        sim.advance(Duration::from_secs(1)).unwrap();
    };
    let outcome = runner
        .run("OCTO-NODE-2", &options, &mut on_progress, &mut |p: &JobProgress| {
            questions += 1;
            assert!(p.running_tasks >= 1);
            Some(DrainChoice::CancelTasksNow)
        })
        .await
        .unwrap();
    assert_eq!(questions, 1, "asked once, at the (zero) deadline");
    assert_eq!(outcome.status, scaleguard::node_job::JobStatus::Done, "{lines:#?}");
    assert!(!cancels(&outcome.effects).is_empty());
    assert_eq!(s.stat("octopus.tasks.cancel"), cancels(&outcome.effects).len() as u64);
    assert!(lines.iter().any(|l| l.contains("waiting for an answer") || l.contains("cancel")), "{lines:#?}");
    s.sim.shutdown().await;
}

#[tokio::test]
async fn refusals_keep_a_task_node_and_spare_busy_nodes() {
    let s = setup().await;
    s.advance(10);
    let runner = s.runner();
    // Delete a heartbeating busy node without force: refused, nothing sent.
    s.run_task("OCTO-NODE-3", 3600.0);
    let err = runner.delete("OCTO-NODE-3", false, &DrainOptions::default(), &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("still heartbeating and running"), "{err}");
    assert_eq!(s.stat("octopus.octopusservernodes.delete"), 0);
    // Task caps: two nodes may go UI-only, not the third.
    runner.set_task_cap("OCTO-NODE-1", 0, "ui only").await.unwrap();
    runner.set_task_cap("OCTO-NODE-2", 0, "ui only").await.unwrap();
    let err = runner.set_task_cap("OCTO-NODE-3", 0, "ui only").await.unwrap_err();
    assert!(matches!(err, NodeJobError::Refused(_)), "{err}");
    assert_eq!(
        s.sim.with_world(|w| w.nodes.iter().map(|n| n.max_concurrent_tasks).collect::<Vec<_>>()),
        vec![0, 0, 5]
    );
    let same = runner.set_task_cap("OCTO-NODE-3", 5, "").await.unwrap();
    assert!(!same.changed);
    // Node 3 is the last task node: neither drain nor even a forced delete may remove it.
    let err = runner.open_drain("OCTO-NODE-3", &DrainOptions::default()).await.err().unwrap();
    assert!(err.to_string().contains("last online, non-draining node"), "{err}");
    let err = runner.delete("OCTO-NODE-3", true, &DrainOptions::default(), &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("last online"), "{err}");
    // With the other nodes dead, node 3 is the only active one.
    runner.set_task_cap("OCTO-NODE-1", 5, "").await.unwrap();
    s.sim.apply(EventAction::KillNode { node: "OCTO-NODE-1".into() }).unwrap();
    s.sim.apply(EventAction::KillNode { node: "OCTO-NODE-2".into() }).unwrap();
    s.advance(400);
    let err = runner.open_drain("OCTO-NODE-3", &DrainOptions::default()).await.err().unwrap();
    assert!(err.to_string().contains("only active node"), "{err}");
    assert_eq!(s.stat("octopus.octopusservernodes.delete"), 0);
    let (records, _) = read_all(&s.journal).unwrap();
    let caps = records.iter().filter(|r| matches!(r.action, JournalAction::TaskCap { .. })).count();
    assert_eq!(caps, 6, "three cap changes, each an intent and a result");
    s.sim.shutdown().await;
}

#[tokio::test]
async fn a_forced_delete_of_a_busy_node_deletes_it_and_undrain_closes_a_drain_job() {
    let s = setup().await;
    s.run_task("OCTO-NODE-2", 3600.0);
    let runner = s.runner();
    // Start a drain without waiting, then turn it off: the job is closed, not resumed later.
    let options = DrainOptions { wait: false, poll_interval: Duration::from_millis(1), ..Default::default() };
    let outcome = runner.run("OCTO-NODE-2", &options, &mut |_| {}, &mut |_| None).await.unwrap();
    assert_eq!(outcome.status, scaleguard::node_job::JobStatus::InProgress);
    assert!(runner.list().await.unwrap().iter().any(|r| r.name == "OCTO-NODE-2" && r.pending_job));
    let undrained = runner.undrain("OCTO-NODE-2", "changed my mind").await.unwrap();
    assert!(undrained.changed && undrained.closed_job);
    assert!(runner.list().await.unwrap().iter().all(|r| !r.pending_job && !r.drain));

    let outcome = runner.delete("OCTO-NODE-2", true, &options, &mut |_| {}).await.unwrap();
    assert_eq!(outcome.status, scaleguard::node_job::JobStatus::Done);
    assert_eq!(outcome.effects.first(), Some(&DrainEffect::DeleteNode));
    assert_eq!(s.stat("octopus.octopusservernodes.delete"), 1);
    assert!(s.sim.with_world(|w| w.nodes.len()) == 2);
    s.sim.shutdown().await;
}
