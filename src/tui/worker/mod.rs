//! The background worker: owns all IO. It refreshes on a timer and on request (never two
//! refreshes at once), observes each snapshot into the reconcile history it owns, plans, and runs
//! approved actions through the executor. It talks to the UI only by the messages in
//! `tui::messages` and imports nothing else of the console.

pub mod autoscale;
pub mod nodes;
pub mod scale;

use crate::config::Profile;
use crate::executor::Executor;
pub use crate::executor::{ActionReport, ExecEvent};
use crate::inventory::Collector;
use crate::journal::Outcome;
use crate::model::PlannedAction;
use crate::reconcile::{self, History, MatchedSnapshot};
use crate::sim::{EventAction, FaultSpec, RunningSim};
use crate::snapshot::Snapshot;
use crate::tui::messages::{DemoEvent, Refresh, Request, ScaleJob, WorkerEvent};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

/// Runs approved actions. The product's executor implements it; it re-validates every action
/// against fresh state, journals before and after, and reports progress as it goes.
#[async_trait::async_trait]
pub trait Approvals: Send + Sync {
    async fn run(
        &self,
        approved: &[PlannedAction],
        reason: &str,
        history: &mut History,
        progress: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Vec<ActionReport>;

    /// Settle the intents an earlier run left without a result (a kill, or a console quit while
    /// a change ran) against the real state; one line each. Nothing to settle by default.
    async fn settle(&self) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
}

#[async_trait::async_trait]
impl Approvals for Executor {
    async fn run(
        &self,
        approved: &[PlannedAction],
        reason: &str,
        history: &mut History,
        progress: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Vec<ActionReport> {
        Executor::run(self, approved, reason, history, progress).await
    }

    async fn settle(&self) -> Result<Vec<String>, String> {
        let mut warn = |line: String| tracing::warn!(%line, "journal");
        let settled =
            crate::executor::settle_pending(self.profile_name(), self.journal(), self.collector(), &mut warn)
                .await?;
        Ok(settled.iter().map(|item| item.line()).collect())
    }
}

/// Used when the executor cannot be built: every approval is reported as not done, with why.
pub struct NoExecutor(pub String);

#[async_trait::async_trait]
impl Approvals for NoExecutor {
    async fn run(
        &self,
        approved: &[PlannedAction],
        _reason: &str,
        _history: &mut History,
        progress: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Vec<ActionReport> {
        approved
            .iter()
            .map(|planned| {
                let report = ActionReport {
                    action_id: planned.id.clone(),
                    summary: planned.action.summary(),
                    outcome: Outcome::Failed(self.0.clone()),
                    detail: None,
                };
                progress(ExecEvent::Finished(report.clone()));
                report
            })
            .collect()
    }
}

pub struct WorkerSetup {
    pub profile: Profile,
    pub collector: Arc<Collector>,
    pub approvals: Arc<dyn Approvals>,
    pub refresh_every: Duration,
    /// Where the observation history persists (shared with `scaleguard plan`); None keeps it in memory.
    pub history_file: Option<PathBuf>,
    pub demo: Option<Arc<RunningSim>>,
    /// Runs HA-node operations; Err says why they are unavailable.
    pub node_jobs: Result<crate::node_job::NodeJobRunner, String>,
}

pub struct WorkerHandle {
    pub requests: UnboundedSender<Request>,
    pub events: UnboundedReceiver<WorkerEvent>,
    pub task: tokio::task::JoinHandle<()>,
}

pub fn spawn(setup: WorkerSetup) -> WorkerHandle {
    let (request_tx, request_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(setup, request_rx, event_tx));
    WorkerHandle { requests: request_tx, events: event_rx, task }
}

struct Worker {
    setup: WorkerSetup,
    history: History,
    events: UnboundedSender<WorkerEvent>,
    done_tx: UnboundedSender<Snapshot>,
    refreshing: bool,
}

async fn run(
    setup: WorkerSetup,
    mut requests: UnboundedReceiver<Request>,
    events: UnboundedSender<WorkerEvent>,
) {
    let history = match &setup.history_file {
        Some(path) => reconcile::load_history(path).unwrap_or_else(|err| {
            let _ = events.send(WorkerEvent::Failed(format!(
                "cannot read observation history {}: {err}; starting afresh",
                path.display()
            )));
            History::default()
        }),
        None => History::default(),
    };
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut ticker = tokio::time::interval(setup.refresh_every.max(Duration::from_millis(200)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (node_tx, mut node_rx) = mpsc::unbounded_channel();
    let mut nodes = nodes::NodeWorker::new(setup.node_jobs.clone(), node_tx, setup.refresh_every)
        .with_profile(setup.profile.clone());
    nodes.announce_pending();
    let mut worker = Worker { setup, history, events, done_tx, refreshing: false };
    // The doctor reads extra resources: once at startup and on `:doctor`, never per refresh.
    let clock = worker.setup.collector.clock().clone();
    scale::spawn(&worker.setup.profile, &clock, ScaleJob::Doctor, &worker.events);
    // What an earlier run left unfinished is settled before anything else runs here.
    let (approvals, events) = (worker.setup.approvals.clone(), worker.events.clone());
    tokio::spawn(async move {
        match approvals.settle().await {
            Ok(settled) => {
                let _ = events.send(WorkerEvent::Settled(settled));
            }
            Err(why) => {
                let _ =
                    events.send(WorkerEvent::Failed(format!("cannot settle interrupted changes yet: {why}")));
            }
        }
    });
    let mut journal = JournalWatch::default();
    journal.send_if_changed(&worker.events);
    loop {
        tokio::select! {
            request = requests.recv() => match request {
                None | Some(Request::Shutdown) => break,
                Some(Request::Refresh) => worker.start_refresh(),
                Some(Request::Node(request)) => nodes.handle(request),
                Some(Request::Scale(job)) => scale::spawn(&worker.setup.profile, &clock, job, &worker.events),
                Some(Request::Demo(event)) => {
                    worker.demo(event);
                    worker.start_refresh();
                }
                Some(Request::Execute { actions, reason }) => {
                    // The executor re-validates against fresh state with the history it is given:
                    // let a refresh in flight land in that history first.
                    if worker.refreshing {
                        if let Some(snapshot) = done_rx.recv().await {
                            worker.finish_refresh(snapshot);
                        }
                    }
                    worker.execute(actions, reason).await;
                    worker.start_refresh();
                }
            },
            Some(snapshot) = done_rx.recv() => {
                if let Ok(current) = &snapshot.nodes {
                    nodes.watch_nodes(current);
                }
                worker.finish_refresh(snapshot);
                journal.send_if_changed(&worker.events);
            }
            Some(event) = node_rx.recv() => {
                let _ = worker.events.send(WorkerEvent::Node(event));
            }
            _ = ticker.tick() => worker.start_refresh(),
        }
    }
}

impl Worker {
    /// Start a refresh unless one is running (coalescing: never two at once).
    fn start_refresh(&mut self) {
        if self.refreshing {
            return;
        }
        self.refreshing = true;
        let _ = self.events.send(WorkerEvent::RefreshStarted { at: self.setup.collector.clock().now() });
        let collector = self.setup.collector.clone();
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let _ = done.send(collector.collect().await);
        });
    }

    fn finish_refresh(&mut self, snapshot: Snapshot) {
        self.refreshing = false;
        let now = self.setup.collector.clock().now();
        let profile = &self.setup.profile;
        let plan = {
            let matched = MatchedSnapshot::new(&snapshot, profile);
            self.history.observe(&matched);
            reconcile::plan_matched(&matched, &self.history, now, profile)
        };
        if let Some(path) = &self.setup.history_file {
            if let Err(err) = reconcile::save_history(path, &self.history) {
                tracing::warn!(path = %path.display(), error = %err, "cannot save observation history");
            }
        }
        tracing::debug!(failures = snapshot.failures().len(), actions = plan.actions.len(), "refreshed");
        if let Some(sim) = &self.setup.demo {
            // The simulated world's clock runs `--speed` times faster: times it reports (a node's
            // last heartbeat) are read on its clock.
            let _ = self.events.send(WorkerEvent::ServerClock(sim.now() - now));
        }
        let _ =
            self.events.send(WorkerEvent::Refreshed(Box::new(Refresh { snapshot, plan, finished_at: now })));
    }

    async fn execute(&mut self, actions: Vec<PlannedAction>, reason: String) {
        tracing::info!(count = actions.len(), "running approved actions");
        let events = self.events.clone();
        let mut progress = move |event: ExecEvent| {
            let _ = events.send(match event {
                ExecEvent::Started { action_id, summary } => WorkerEvent::ExecStarted { action_id, summary },
                ExecEvent::Finished(report) => WorkerEvent::ExecFinished {
                    action_id: report.action_id,
                    summary: report.summary,
                    outcome: report.outcome,
                    detail: report.detail,
                },
            });
        };
        let approvals = self.setup.approvals.clone();
        let reports = approvals.run(&actions, &reason, &mut self.history, &mut progress).await;
        let failed = reports.iter().filter(|r| r.outcome != Outcome::Done).count();
        for report in &reports {
            tracing::info!(action = %report.summary, outcome = ?report.outcome, "approved action finished");
        }
        let _ = self.events.send(WorkerEvent::ExecDone { ran: reports.len(), failed });
    }

    fn demo(&mut self, event: DemoEvent) {
        let Some(sim) = &self.setup.demo else {
            let _ = self.events.send(WorkerEvent::Demo(Err("world events need `scaleguard demo`".into())));
            return;
        };
        let result = demo_event(sim, event);
        tracing::info!(?event, ?result, "demo world event");
        let _ = self.events.send(WorkerEvent::Demo(result));
    }
}

/// The journal file as last sent to the UI: it is read again only when its length changed (an
/// append-only file that grew), at start and after each refresh.
#[derive(Default)]
struct JournalWatch {
    len: Option<u64>,
}

impl JournalWatch {
    fn send_if_changed(&mut self, events: &UnboundedSender<WorkerEvent>) {
        let Some(path) = crate::journal::default_path() else { return };
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if self.len == Some(len) {
            return;
        }
        self.len = Some(len);
        let read = crate::journal::read_all(&path).map(|(records, _)| records).map_err(|err| err.to_string());
        let _ = events.send(WorkerEvent::Journal(read));
    }
}

/// Apply a world event to the running simulator; the answer is one sentence for the status line.
pub fn demo_event(sim: &RunningSim, event: DemoEvent) -> Result<String, String> {
    let first_set = sim.with_world(|w| w.scale_sets.first().map(|s| (s.name.clone(), s.capacity)));
    let (set, capacity) = first_set.ok_or("the scenario has no scale set")?;
    let outcome = match event {
        DemoEvent::ScaleOut => {
            let to = capacity + 2;
            sim.apply(EventAction::SetCapacity { set: set.clone(), capacity: to })
                .map(|_| format!("world: {set} capacity {capacity} → {to} (watch VMs provision)"))
        }
        DemoEvent::ScaleIn => {
            let to = capacity.saturating_sub(2).max(1);
            sim.apply(EventAction::SetCapacity { set: set.clone(), capacity: to })
                .map(|_| format!("world: {set} capacity {capacity} → {to} (targets stay behind)"))
        }
        DemoEvent::KillNode => {
            let node = sim.with_world(|w| w.nodes.iter().rev().find(|n| n.alive).map(|n| n.name.clone()));
            let node = node.ok_or("no live HA node left to kill")?;
            sim.apply(EventAction::KillNode { node: node.clone() })
                .map(|_| format!("world: HA node {node} died (it goes offline after a while)"))
        }
        DemoEvent::Fault => {
            let spec = FaultSpec {
                target: "arm".into(),
                kind: "503".into(),
                count: 30,
                retry_after_secs: None,
                delay_ms: None,
            };
            sim.inject_fault(spec).map(|_| "world: ARM answers 503 to the next 30 requests".to_string())
        }
    };
    outcome.map_err(|err| format!("world event failed: {err}"))
}
