//! Every message between the console's two sides: the UI (`update`, dialogs, panes: pure, no IO)
//! and the background worker (`worker/`: all IO). Both sides import these types and nothing of each
//! other; the event loop in `tui/mod.rs` carries them across.

use crate::autoscale::{AutoscaleChange, ChangeVerdict, ScheduleError};
use crate::doctor::{Counts, Finding};
use crate::drain::DrainChoice;
use crate::journal::Outcome;
use crate::model::{Plan, PlannedAction, ScaleChange, ScaleSetKey};
use crate::node_job::JobProgress;
use crate::scaling::{Proposal, ProtectOutcome, ScaleOutcome};
use crate::snapshot::Snapshot;
use time::OffsetDateTime;

// ---- UI → worker --------------------------------------------------------------------------------

/// An Autoscale change for the worker: confirmed over the values the operator saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoscaleRequest {
    pub scale_set: ScaleSetKey,
    pub setting: String,
    /// The setting's resource as the operator saw it: the worker writes only over that.
    pub seen: serde_json::Value,
    pub change: AutoscaleChange,
    pub reason: String,
    /// The active profile and the verdict the operator confirmed: the worker writes only if
    /// asking again gives the same.
    pub active: Result<Option<usize>, ScheduleError>,
    pub confirmed: ChangeVerdict,
}

/// What the UI asks of the worker.
#[derive(Debug)]
pub enum Request {
    /// Refresh now (coalesced with one already running).
    Refresh,
    Execute {
        actions: Vec<PlannedAction>,
        reason: String,
    },
    Demo(DemoEvent),
    /// HA-node operations (drain, delete, undrain, task cap, answers).
    Node(NodeRequest),
    /// Scale, protect or run the doctor.
    Scale(ScaleJob),
    Shutdown,
}

/// A world event the demo can trigger through the running simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoEvent {
    ScaleOut,
    ScaleIn,
    KillNode,
    Fault,
}

/// What the UI asks of the node side. Nodes are named by id (names are resolved in the UI).
#[derive(Debug, Clone, PartialEq)]
pub enum NodeRequest {
    /// Start a drain, or resume the unfinished one the journal holds for the node.
    Drain {
        node: String,
    },
    /// The operator's answer to a drain's question (also accepted while it waits).
    Answer {
        node: String,
        choice: DrainChoice,
    },
    /// Delete now; `force` only after the typed name and the explicit force choice.
    Delete {
        node: String,
        force: bool,
    },
    Undrain {
        node: String,
    },
    TaskCap {
        node: String,
        cap: u32,
    },
    /// The drain-first scale-in of the nodes' scale set the operator approved (the worker reads
    /// everything again and starts it only if the same nodes would be chosen).
    ScaleIn {
        plan: Box<crate::node_job::ScaleInPlan>,
        reason: String,
    },
    /// Resume the unfinished drain-first scale-in the journal holds (the operator typed its set).
    ResumeScaleIn,
    /// Read what can be checked of a node from here, for the admit dialog.
    Admission {
        node: String,
    },
    /// Record the operator's verification and raise the cap (None: what it had before the hold,
    /// else 5), as `node admit`.
    Admit {
        node: String,
        cap: Option<u32>,
    },
}

/// What the UI asks of the worker for scaling and the doctor.
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleJob {
    /// Re-read and re-check `shown`'s request, then apply it. Asks again (never retries) when the
    /// scale set changed since the operator looked.
    Scale {
        profile_name: String,
        shown: Box<Proposal>,
    },
    Protect {
        profile_name: String,
        request: ProtectRequest,
    },
    /// Re-read the autoscale setting, re-check the change, then write it (if the setting is
    /// still as the operator saw it).
    Autoscale {
        profile_name: String,
        request: Box<AutoscaleRequest>,
    },
    /// Run the doctor's reads and checks (read-only).
    Doctor,
}

/// A confirmed scale-in protection change: the worker re-reads the instance before it changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectRequest {
    pub scale_set: ScaleSetKey,
    pub instance_id: String,
    /// true = protect from scale-in, false = remove the protection.
    pub protect: bool,
    pub reason: String,
}

// ---- worker → UI --------------------------------------------------------------------------------

/// What the worker tells the UI.
#[derive(Debug)]
pub enum WorkerEvent {
    RefreshStarted {
        at: OffsetDateTime,
    },
    Refreshed(Box<Refresh>),
    ExecStarted {
        action_id: String,
        summary: String,
    },
    ExecFinished {
        action_id: String,
        summary: String,
        outcome: Outcome,
        /// What the server answered when it worked (deployment and task ids).
        detail: Option<String>,
    },
    ExecDone {
        ran: usize,
        failed: usize,
    },
    Demo(Result<String, String>),
    Node(NodeEvent),
    /// A scaling or doctor job's report.
    Scale(ScaleReport),
    /// Something the worker could not do (history file, journal); one sentence.
    Failed(String),
    /// The journal's records (read at start and whenever the file changed), or why it could not
    /// be read.
    Journal(Result<Vec<crate::journal::Record>, String>),
    /// Interrupted intents settled against the real state at start, one line each.
    Settled(Vec<String>),
    /// The server's clock minus this one (the demo's simulated world runs faster).
    ServerClock(time::Duration),
}

/// One finished refresh: the snapshot and the plan made from it.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub snapshot: Snapshot,
    pub plan: Plan,
    pub finished_at: OffsetDateTime,
}

/// Which job a progress line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Drain,
    Delete {
        force: bool,
    },
    /// One victim of a drain-first scale-in of the nodes' scale set.
    ScaleIn,
}

impl JobKind {
    pub fn label(self) -> &'static str {
        match self {
            JobKind::ScaleIn => "scale-in",
            JobKind::Drain => "drain",
            JobKind::Delete { force: false } => "delete",
            JobKind::Delete { force: true } => "force delete",
        }
    }
}

/// What the node side tells the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// Nodes with an unfinished drain in the journal (id, name), read at startup.
    Pending(Vec<(String, String)>),
    /// What can be checked of a node from here: opens the admit dialog.
    Admission(Box<crate::ha::admission::Admission>),
    /// The unfinished drain-first scale-in in the journal, read at startup (None: none).
    PendingScaleIn(Option<crate::tui::ha_state::PendingScaleInView>),
    Progress {
        kind: JobKind,
        progress: JobProgress,
    },
    /// A job ended: done or aborted (Ok, one sentence) or failed (Err, one sentence).
    Finished {
        kind: JobKind,
        node: String,
        result: Result<String, String>,
    },
    /// A pure check refused the operation: one sentence for a dialog.
    Refused {
        node: String,
        sentence: String,
    },
    /// A single call (undrain, task cap) or a hiccup of a running job, for the status line.
    Said(Result<String, String>),
}

/// What a scaling or doctor job reports back.
#[derive(Debug)]
pub enum ScaleReport {
    /// The journal's capacity changes, for the live verdict's cooldown.
    History(Vec<ScaleChange>),
    Scaled {
        scale_set: String,
        outcome: Result<ScaleOutcome, String>,
    },
    Protected {
        what: String,
        outcome: Result<ProtectOutcome, String>,
    },
    Autoscaled {
        request: Box<AutoscaleRequest>,
        outcome: Result<Box<crate::scaling::AutoscaleOutcome>, String>,
    },
    Findings(FindingsReport),
}

/// One finished doctor run.
#[derive(Debug, Clone)]
pub struct FindingsReport {
    pub findings: Vec<Finding>,
    /// Reads that failed, so some checks could not run; one sentence each.
    pub failures: Vec<String>,
    pub taken_at: OffsetDateTime,
}

impl FindingsReport {
    pub fn counts(&self) -> Counts {
        Counts::of(&self.findings)
    }
}
