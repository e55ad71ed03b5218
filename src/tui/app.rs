//! The console's state: the Model of the Elm architecture, named `ConsoleState` so it is not
//! confused with the domain types in `crate::model`. Only `update` changes it; the view and the
//! panes only read it.

use super::panes::PaneRow;
use super::theme::Theme;
use crate::model::{Instance, Node, PlannedAction, Target};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaneId {
    Instances,
    Targets,
    Nodes,
    Diffs,
}

impl PaneId {
    pub const ALL: [PaneId; 4] = [PaneId::Instances, PaneId::Targets, PaneId::Nodes, PaneId::Diffs];

    pub fn index(self) -> usize {
        match self {
            PaneId::Instances => 0,
            PaneId::Targets => 1,
            PaneId::Nodes => 2,
            PaneId::Diffs => 3,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Instances => "Instances",
            PaneId::Targets => "Targets",
            PaneId::Nodes => "Nodes",
            PaneId::Diffs => "Diffs",
        }
    }

    pub fn next(self) -> PaneId {
        PaneId::ALL[(self.index() + 1) % 4]
    }

    pub fn prev(self) -> PaneId {
        PaneId::ALL[(self.index() + 3) % 4]
    }
}

/// Rows of one pane and how fresh they are. A failed read keeps the last good rows and records
/// the error, so the operator sees stale data marked as stale, never an empty list.
#[derive(Debug, Clone)]
pub struct PaneData<T> {
    pub rows: Vec<T>,
    /// When these rows were read; None before the first successful read.
    pub good_at: Option<OffsetDateTime>,
    /// The latest read's failure, if it failed.
    pub error: Option<String>,
}

impl<T> Default for PaneData<T> {
    fn default() -> Self {
        Self { rows: Vec::new(), good_at: None, error: None }
    }
}

impl<T> PaneData<T> {
    pub fn accept(&mut self, read: Result<Vec<T>, String>, at: OffsetDateTime) {
        match read {
            Ok(rows) => {
                self.rows = rows;
                self.good_at = Some(at);
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
    }
}

/// Cursor, scroll, filter and sort of one pane. `view` holds indices into the pane's rows
/// (filtered and sorted), rebuilt when the rows, filter or sort change, never per frame.
#[derive(Debug, Clone, Default)]
pub struct TableView {
    pub view: Vec<usize>,
    pub cursor: usize,
    pub offset: usize,
    pub filter: String,
    /// Column index sorted on (ascending); None keeps the server's order.
    pub sort: Option<usize>,
}

impl TableView {
    /// Rebuild `view` for `rows`, keeping the cursor on the row with the same key when it survives.
    pub fn rebuild<T: PaneRow>(&mut self, rows: &[T], keep_key: Option<String>) {
        let needle = self.filter.to_lowercase();
        let mut view: Vec<usize> = (0..rows.len())
            .filter(|&i| needle.is_empty() || rows[i].filter_text().to_lowercase().contains(&needle))
            .collect();
        if let Some(column) = self.sort {
            view.sort_by_cached_key(|&i| rows[i].sort_key(column));
        }
        self.view = view;
        if let Some(key) = keep_key {
            if let Some(pos) = self.view.iter().position(|&i| rows[i].key() == key) {
                self.cursor = pos;
            }
        }
        self.clamp();
    }

    pub fn clamp(&mut self) {
        self.cursor = self.cursor.min(self.view.len().saturating_sub(1));
        self.offset = self.offset.min(self.cursor);
    }

    /// Move by `delta` rows (negative up).
    pub fn step(&mut self, delta: isize) {
        let last = self.view.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
    }

    /// Scroll so the cursor is inside a window of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
    }

    pub fn selected_index(&self) -> Option<usize> {
        self.view.get(self.cursor).copied()
    }
}

/// The background refresh, as the header shows it.
#[derive(Debug, Clone, Default)]
pub struct RefreshStatus {
    pub in_flight_since: Option<OffsetDateTime>,
    pub last_finished: Option<OffsetDateTime>,
    /// Every read of the last refresh that failed, one sentence.
    pub last_error: Option<String>,
}

/// An action the executor is running or has finished, as the diffs pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Approved, waiting for the executor.
    Queued,
    Running,
    Done,
    Skipped(String),
    Failed(String),
}

impl Progress {
    pub fn label(&self) -> String {
        match self {
            Progress::Queued => "queued".into(),
            Progress::Running => "running".into(),
            Progress::Done => "done".into(),
            Progress::Skipped(why) => format!("skipped: {why}"),
            Progress::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// What is drawn over the panes.
#[derive(Debug, Clone)]
pub enum Overlay {
    None,
    Help,
    Details {
        title: String,
        lines: Vec<String>,
        scroll: u16,
    },
    Approve(super::dialogs::approve::ApproveDialog),
    /// The `:` command line.
    Command(super::text_field::TextField),
    /// Typing a filter for the current pane (applied as it is typed).
    Filter(super::text_field::TextField),
    /// An HA-node dialog: confirm, task cap, the drain's question, a refusal.
    Node(super::dialogs::node::NodeDialog),
    /// Guarded manual scaling (`:scale`), with the guard's verdict live.
    Scale(Box<super::dialogs::scale::ScaleDialog>),
    /// Toggle scale-in protection on one instance.
    Protect(super::dialogs::protect::ProtectDialog),
    /// Change the Azure Autoscale setting (opened from the scale dialog).
    Autoscale(Box<super::dialogs::autoscale::AutoscaleDialog>),
    /// The doctor's findings (`!`), each with why and fix.
    Findings {
        scroll: u16,
    },
}

/// One sample for the capacity sparkline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacitySample {
    pub capacity: u64,
    pub running: u64,
}

/// A scale set's header figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSummary {
    pub name: String,
    pub capacity: u32,
    pub instances: u32,
    pub succeeded: u32,
}

pub const SPARK_SAMPLES: usize = 120;

#[derive(Debug, Clone)]
pub struct ConsoleState {
    pub profile_name: String,
    pub profiles: Vec<String>,
    pub read_only: bool,
    pub demo: bool,
    pub theme: Theme,
    /// Approvals of more changes than this need the typed name.
    pub confirm_over: u32,
    /// The word a destructive approval must type: the scale set's name (the profile's name when
    /// it covers several).
    pub confirm_word: String,
    pub now: OffsetDateTime,
    pub size: (u16, u16),
    pub server_version: Option<String>,
    pub sets: Vec<SetSummary>,
    pub instances: PaneData<Instance>,
    pub targets: PaneData<Target>,
    pub nodes: PaneData<Node>,
    pub diffs: PaneData<PlannedAction>,
    pub tables: [TableView; 4],
    pub pane: PaneId,
    pub refresh: RefreshStatus,
    /// Diff ids chosen with space / `a`.
    pub selected: BTreeSet<String>,
    pub progress: BTreeMap<String, Progress>,
    /// Approved diffs (queued, running or finished): kept in the pane with their status after
    /// they leave the plan, so results stay visible.
    pub approved: Vec<PlannedAction>,
    pub overlay: Overlay,
    pub notice: Option<Notice>,
    pub samples: VecDeque<CapacitySample>,
    pub quit: bool,
    /// HA-node jobs (drain, delete) and unfinished drains found in the journal.
    pub jobs: super::node_state::NodeJobs,
    /// Online/offline and deadline rules for the node checks.
    pub nodes_config: crate::config::NodesConfig,
    /// Scaling: the guard's limits, the latest listings and the journal's capacity changes, so
    /// the scale dialog's verdict is computed live without IO.
    pub scale: super::scale_state::ScaleState,
    /// The doctor's latest findings (None until the first gather finished).
    pub findings: super::scale_state::FindingsState,
}

impl ConsoleState {
    pub fn new(profile_name: &str, profile: &crate::config::Profile, now: OffsetDateTime) -> Self {
        let confirm_word = match profile.scale_sets.as_slice() {
            [only] => only.name.clone(),
            _ => profile_name.to_string(),
        };
        Self {
            profile_name: profile_name.to_string(),
            profiles: vec![profile_name.to_string()],
            read_only: profile.read_only,
            demo: false,
            theme: Theme::COLOR,
            confirm_over: profile.reconcile.confirm_over,
            confirm_word,
            now,
            size: (80, 24),
            server_version: None,
            sets: Vec::new(),
            instances: PaneData::default(),
            targets: PaneData::default(),
            nodes: PaneData::default(),
            diffs: PaneData::default(),
            tables: Default::default(),
            pane: PaneId::Instances,
            refresh: RefreshStatus::default(),
            selected: BTreeSet::new(),
            progress: BTreeMap::new(),
            approved: Vec::new(),
            overlay: Overlay::None,
            notice: None,
            samples: VecDeque::new(),
            quit: false,
            jobs: Default::default(),
            nodes_config: profile.nodes.clone(),
            scale: super::scale_state::ScaleState::new(profile),
            findings: super::scale_state::FindingsState::starting(),
        }
    }

    pub fn key_context(&self) -> super::keymap::KeyContext {
        super::keymap::KeyContext { pane: self.pane, read_only: self.read_only, demo: self.demo }
    }

    pub fn table(&self, pane: PaneId) -> &TableView {
        &self.tables[pane.index()]
    }

    pub fn table_mut(&mut self, pane: PaneId) -> &mut TableView {
        &mut self.tables[pane.index()]
    }

    pub fn row_count(&self, pane: PaneId) -> usize {
        match pane {
            PaneId::Instances => self.instances.rows.len(),
            PaneId::Targets => self.targets.rows.len(),
            PaneId::Nodes => self.nodes.rows.len(),
            PaneId::Diffs => self.diffs.rows.len(),
        }
    }

    /// Rebuild a pane's view (after new rows, a filter or a sort), keeping the cursor's row.
    pub fn rebuild_view(&mut self, pane: PaneId) {
        let keep = self.cursor_key(pane);
        self.rebuild_view_keeping(pane, keep);
    }

    /// Rebuild a pane's view with the cursor on the row keyed `keep` (taken before new rows came).
    pub fn rebuild_view_keeping(&mut self, pane: PaneId, keep: Option<String>) {
        let table = &mut self.tables[pane.index()];
        match pane {
            PaneId::Instances => table.rebuild(&self.instances.rows, keep),
            PaneId::Targets => table.rebuild(&self.targets.rows, keep),
            PaneId::Nodes => table.rebuild(&self.nodes.rows, keep),
            PaneId::Diffs => table.rebuild(&self.diffs.rows, keep),
        }
    }

    pub fn cursor_key(&self, pane: PaneId) -> Option<String> {
        let index = self.table(pane).selected_index()?;
        Some(match pane {
            PaneId::Instances => self.instances.rows.get(index)?.key(),
            PaneId::Targets => self.targets.rows.get(index)?.key(),
            PaneId::Nodes => self.nodes.rows.get(index)?.key(),
            PaneId::Diffs => self.diffs.rows.get(index)?.key(),
        })
    }

    /// The diff under the cursor.
    pub fn cursor_diff(&self) -> Option<&PlannedAction> {
        self.diffs.rows.get(self.table(PaneId::Diffs).selected_index()?)
    }

    pub fn cursor_node(&self) -> Option<&Node> {
        self.nodes.rows.get(self.table(PaneId::Nodes).selected_index()?)
    }

    /// Error and freshness of a pane's data.
    pub fn pane_status(&self, pane: PaneId) -> (Option<OffsetDateTime>, Option<&str>) {
        match pane {
            PaneId::Instances => (self.instances.good_at, self.instances.error.as_deref()),
            PaneId::Targets => (self.targets.good_at, self.targets.error.as_deref()),
            PaneId::Nodes => (self.nodes.good_at, self.nodes.error.as_deref()),
            PaneId::Diffs => (self.diffs.good_at, self.diffs.error.as_deref()),
        }
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), error: false });
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), error: true });
    }
}

/// "12s ago", "3m ago", "2h ago".
pub fn age(since: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - since).whole_seconds().max(0);
    match secs {
        0..=119 => format!("{secs}s ago"),
        120..=7199 => format!("{}m ago", secs / 60),
        _ => format!("{}h ago", secs / 3600),
    }
}
