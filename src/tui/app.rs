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
    /// The audit trail: every intent and its result, newest first.
    Journal,
}

impl PaneId {
    pub const ALL: [PaneId; 5] =
        [PaneId::Instances, PaneId::Targets, PaneId::Nodes, PaneId::Diffs, PaneId::Journal];

    pub fn index(self) -> usize {
        match self {
            PaneId::Instances => 0,
            PaneId::Targets => 1,
            PaneId::Nodes => 2,
            PaneId::Diffs => 3,
            PaneId::Journal => 4,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Instances => "Instances",
            PaneId::Targets => "Targets",
            PaneId::Nodes => "Nodes",
            PaneId::Diffs => "Diffs",
            PaneId::Journal => "Journal",
        }
    }

    /// The `:` alias that shows the pane (`:nodes`).
    pub fn alias(self) -> &'static str {
        match self {
            PaneId::Instances => "instances",
            PaneId::Targets => "targets",
            PaneId::Nodes => "nodes",
            PaneId::Diffs => "diffs",
            PaneId::Journal => "journal",
        }
    }

    pub fn next(self) -> PaneId {
        PaneId::ALL[(self.index() + 1) % PaneId::ALL.len()]
    }

    pub fn prev(self) -> PaneId {
        PaneId::ALL[(self.index() + PaneId::ALL.len() - 1) % PaneId::ALL.len()]
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

pub use super::table_view::{Filter, TableView};

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

/// A line for the status bar. It goes by itself after a while (`NOTICE_SECS`, longer for errors),
/// so a message about a trouble that has passed does not stay on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub at: OffsetDateTime,
}

/// How long a notice stays: information, then errors.
pub const NOTICE_SECS: i64 = 20;
pub const ERROR_NOTICE_SECS: i64 = 60;

/// What is drawn over the panes.
#[derive(Debug, Clone)]
pub enum Overlay {
    None,
    /// The key table; scrolls when it does not fit.
    Help {
        scroll: u16,
    },
    Details {
        title: String,
        lines: Vec<String>,
        scroll: u16,
    },
    Approve(super::dialogs::approve::ApproveDialog),
    /// The `:` command line (Tab completes, Up/Down walk the history).
    Command(super::dialogs::command::CommandLine),
    /// Quitting while a change or job runs: wait for it, or quit and leave it to be settled.
    Quit(super::dialogs::quit::QuitDialog),
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

/// What connects the panes: which VM each target runs on and which targets each VM carries, as
/// matched by the product's rule (exact name, DNS suffix ignored). Kept by row, beside the rows
/// it was made from, so only the text shown is held (at 10,000 VMs and targets, maps keyed by
/// ids were megabytes).
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// By target row: "vmss-web/3".
    vm_of_target: Vec<Option<Box<str>>>,
    /// By instance row: the names of the targets on the VM, "web01, web02".
    targets_of_instance: Vec<Option<Box<str>>>,
}

impl Links {
    /// The links between the panes' rows as they are: `instances` (each scale set's VMs
    /// together, as listed) paired by their set's `match_by` (a set without one is not
    /// matched) with `targets`.
    pub fn new(
        instances: &[Instance],
        match_by: &[(crate::model::ScaleSetKey, crate::config::MatchBy)],
        targets: &[Target],
    ) -> Links {
        let sets = instances.chunk_by(|a, b| a.scale_set == b.scale_set).filter_map(|listing| {
            let key = &listing.first()?.scale_set;
            let match_by = match_by.iter().find(|(set, _)| set == &**key).map(|(_, m)| *m)?;
            Some((match_by, listing))
        });
        let pairing = crate::matching::pair_targets(sets, targets);
        let vm_of_target = targets
            .iter()
            .map(|target| {
                let vm = pairing.instance_of(&target.id)?;
                Some(format!("{}/{}", vm.scale_set.name, vm.instance_id).into_boxed_str())
            })
            .collect();
        // The pairing's VMs are rows of `instances`: each pair is filed under its VM's row.
        let mut names_on: Vec<Vec<&str>> = vec![Vec::new(); instances.len()];
        let name_of: std::collections::HashMap<&str, &str> =
            targets.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
        for (target, vm) in pairing.pairs() {
            if let Some(row) = crate::rows::position_in(instances, vm) {
                names_on[row].push(name_of.get(target).copied().unwrap_or(target));
            }
        }
        let targets_of_instance = names_on
            .into_iter()
            .map(|names| (!names.is_empty()).then(|| names.join(", ").into_boxed_str()))
            .collect();
        Links { vm_of_target, targets_of_instance }
    }

    /// The VM of the target in row `row` of the targets pane.
    pub fn vm_of(&self, row: usize) -> Option<&str> {
        self.vm_of_target.get(row)?.as_deref()
    }

    /// The targets on the VM in row `row` of the instances pane.
    pub fn targets_on(&self, row: usize) -> Option<&str> {
        self.targets_of_instance.get(row)?.as_deref()
    }
}

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
    /// The journal's records, one row per intent with its result (newest first).
    pub journal: PaneData<super::panes::journal::JournalEntry>,
    pub tables: [TableView; 5],
    /// `console.refresh_secs`: data older than a few of these is marked STALE.
    pub refresh_every_secs: u64,
    /// `:` commands run, oldest first (Up/Down on the command line walks them).
    pub command_history: Vec<String>,
    /// Quit as soon as no change or job is in flight (the quit dialog's "quit when it ends").
    pub quit_when_idle: bool,
    /// The server's clock minus this one, for times the server reports (the demo's simulated
    /// world runs faster than the wall clock).
    pub server_clock_offset: time::Duration,
    /// Interrupted intents settled against the real state when the console started.
    pub settled: Vec<String>,
    /// Targets ↔ VMs, for the columns that connect the panes.
    pub links: Links,
    /// How each configured scale set's VMs are matched to targets.
    pub match_by: Vec<(crate::model::ScaleSetKey, crate::config::MatchBy)>,
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
    /// The HA nodes' scale set and which VM hosts which node.
    pub ha: super::ha_state::HaState,
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
            journal: PaneData::default(),
            tables: Default::default(),
            refresh_every_secs: profile.console.refresh_secs.max(1),
            command_history: Vec::new(),
            quit_when_idle: false,
            server_clock_offset: time::Duration::ZERO,
            settled: Vec::new(),
            links: Links::default(),
            match_by: profile.scale_sets.iter().map(|s| (s.key(), s.match_by)).collect(),
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
            ha: super::ha_state::HaState::new(profile),
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
            PaneId::Journal => self.journal.rows.len(),
        }
    }

    /// The count a pane's tab shows: its rows, but for the diffs only what is not done yet (done
    /// changes are in the journal).
    pub fn tab_count(&self, pane: PaneId) -> usize {
        match pane {
            PaneId::Diffs => {
                self.diffs.rows.iter().filter(|p| self.progress.get(&p.id) != Some(&Progress::Done)).count()
            }
            other => self.row_count(other),
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
            PaneId::Journal => table.rebuild(&self.journal.rows, keep),
        }
    }

    pub fn cursor_key(&self, pane: PaneId) -> Option<String> {
        let index = self.table(pane).selected_index()?;
        Some(match pane {
            PaneId::Instances => self.instances.rows.get(index)?.key(),
            PaneId::Targets => self.targets.rows.get(index)?.key(),
            PaneId::Nodes => self.nodes.rows.get(index)?.key(),
            PaneId::Diffs => self.diffs.rows.get(index)?.key(),
            PaneId::Journal => self.journal.rows.get(index)?.key(),
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
            PaneId::Journal => (self.journal.good_at, self.journal.error.as_deref()),
        }
    }

    /// How old data may get before it is marked STALE: a few refresh intervals, whatever the
    /// request in flight is doing (a hung server never answers, so its timeout is no guide).
    pub fn stale_after_secs(&self) -> i64 {
        (3 * self.refresh_every_secs as i64).max(10)
    }

    /// The pane's data is stale: its last read failed, or its last good read is too old.
    pub fn is_stale(&self, pane: PaneId) -> bool {
        match self.pane_status(pane) {
            (_, Some(_)) => true,
            (Some(good_at), None) => (self.now - good_at).whole_seconds() > self.stale_after_secs(),
            (None, None) => false,
        }
    }

    /// What runs in the background and would be cut short by quitting: approved changes, a
    /// scale or protection change, HA-node jobs. One phrase each.
    pub fn in_flight(&self) -> Vec<String> {
        let mut running = Vec::new();
        let approved =
            self.progress.values().filter(|p| matches!(p, Progress::Queued | Progress::Running)).count();
        if approved > 0 {
            running.push(format!("{approved} approved change(s)"));
        }
        if let Some(what) = &self.scale.running {
            running.push(what.clone());
        }
        for job in self.jobs.jobs.values().filter(|job| job.is_running()) {
            running.push(format!("the {} of {}", job.kind.label(), job.node_name));
        }
        running
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.notify(text.into(), false);
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.notify(text.into(), true);
    }

    /// Set the status line. Times in it read relative ("2m ago"); the same text again only
    /// renews it, it is never said twice.
    fn notify(&mut self, text: String, error: bool) {
        let text = super::relative_time::relative(&text, self.now);
        self.notice = Some(Notice { text, error, at: self.now });
    }

    /// Drop the notice once it has been up long enough.
    pub fn expire_notice(&mut self) {
        if let Some(notice) = &self.notice {
            let limit = if notice.error { ERROR_NOTICE_SECS } else { NOTICE_SECS };
            if (self.now - notice.at).whole_seconds() > limit {
                self.notice = None;
            }
        }
    }
}

pub use super::relative_time::age;

#[cfg(test)]
mod links_tests {
    use super::*;
    use crate::config::MatchBy;
    use crate::reconcile::testkit::{set_key, target, target_on, vm};

    #[test]
    fn links_go_by_row_and_only_through_sets_that_are_matched() {
        let instances = [vm("web", 0), vm("web", 1), vm("api", 0)];
        let targets = [
            target_on("Machines-1", "web", 1),
            target("Machines-2", "web-1"),
            target_on("Machines-3", "api", 0),
            target("Machines-4", "nowhere"),
        ];
        let match_by = [(set_key("web"), MatchBy::ComputerName)];
        let links = Links::new(&instances, &match_by, &targets);
        assert_eq!(links.vm_of(0), Some("web/1"));
        assert_eq!(links.vm_of(1), Some("web/1"), "two targets on one VM");
        assert_eq!(links.vm_of(2), None, "the api set is not matched");
        assert_eq!((links.vm_of(3), links.vm_of(4)), (None, None));
        assert_eq!(links.targets_on(1), Some("web-1, web-1"));
        assert_eq!((links.targets_on(0), links.targets_on(2), links.targets_on(3)), (None, None, None));
    }
}
