//! Append-only audit log: one JSON line per intent (before an action runs) and per result (after).
//!
//! Each record is written with one `write` on a file opened with `O_APPEND` and synced
//! (`sync_data`) before the call returns, so two consoles can share a journal without interleaving
//! lines, and a crash loses at most a torn last line, which [`read_all`] skips with a warning.
//!
//! Records never contain secrets: they hold only what callers pass (reasons, operator names, ids,
//! actions), and callers must never pass an API key, token or client secret.

use crate::drain::DrainEffect;
use crate::model::{Action, ScaleChange, ScaleSetKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

/// Environment variable overriding the data directory (tests and CI use it).
pub const DATA_DIR_ENV: &str = "SCALEGUARD_DATA_DIR";
pub const FILE_NAME: &str = "journal.jsonl";

#[derive(Debug, Error)]
pub enum JournalError {
    /// The cause is in the message, not `source()`: a chain printer would say it twice.
    #[error("journal {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("journal record could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What was (to be) done. Typed so readers can query it; `Other` keeps room for new executors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum JournalAction {
    /// A planner action (delete-target, deploy) as approved.
    Planned {
        action: Action,
    },
    Scale {
        scale_set: ScaleSetKey,
        from: Option<u32>,
        to: u32,
    },
    Protect {
        scale_set: ScaleSetKey,
        instance_id: String,
        protect: bool,
    },
    DeleteInstances {
        scale_set: ScaleSetKey,
        instance_ids: Vec<String>,
    },
    /// One step of an HA-node drain.
    Drain {
        node_id: String,
        node_name: String,
        effect: DrainEffect,
    },
    /// A whole HA-node drain (or forced delete) job: an intent when it starts, a result when it
    /// ends. An intent with no result is a job a restarted process resumes.
    DrainJob {
        node_id: String,
        node_name: String,
        force: bool,
        wait_secs: u64,
    },
    TaskCap {
        node_id: String,
        from: Option<u32>,
        to: u32,
    },
    /// A drain-first scale-in of the HA nodes' scale set: an intent when it starts (the victims,
    /// each with its VM), a result when it ends. Its steps are `Drain` records for the victims'
    /// nodes and one `DeleteInstances` for their VMs; an intent with no result is resumed.
    /// With `hook`, the job is provider-driven (`scaleguard node hooks`): Auto Scaling is
    /// terminating the victim's instance and a lifecycle hook holds it; the job never removes the
    /// VM itself, and its hook calls are `LifecycleHook` records.
    ScaleInJob {
        scale_set: ScaleSetKey,
        victims: Vec<crate::ha::Victim>,
        wait_secs: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hook: Option<crate::ha::hook::HookWait>,
    },
    /// A call on the lifecycle hook holding a terminating instance of the HA nodes' scale set:
    /// a heartbeat extending the wait, or CONTINUE letting it go. `node_name`: the node it hosts
    /// (None when that cannot be told: the hook is then only ever extended).
    LifecycleHook {
        scale_set: ScaleSetKey,
        instance_id: String,
        hook: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_name: Option<String>,
        call: crate::ha::hook::HookCall,
        /// Why, in a sentence (the decision's reason).
        why: String,
    },
    /// An operator verified a new HA node (`node admit`) and raised its task cap to `task_cap`.
    Admit {
        node_id: String,
        node_name: String,
        task_cap: u32,
    },
    /// A change to the Azure Autoscale setting of a scale set: its enabled flag and the active
    /// profile's capacities. `concurrency` says how the write was kept from overwriting another's.
    Autoscale {
        scale_set: ScaleSetKey,
        setting: String,
        profile: Option<String>,
        before: crate::autoscale::ProfileValues,
        after: crate::autoscale::ProfileValues,
        concurrency: String,
    },
    Other {
        detail: serde_json::Value,
    },
}

impl JournalAction {
    /// One line naming what was (to be) done, for tables and the console's journal pane.
    pub fn summary(&self) -> String {
        match self {
            JournalAction::Planned { action } => action.summary(),
            JournalAction::Scale { scale_set, from, to } => match from {
                Some(from) => format!("scale {scale_set} {from}→{to}"),
                None => format!("scale {scale_set} to {to}"),
            },
            JournalAction::Protect { scale_set, instance_id, protect: true } => {
                format!("protect instance {instance_id} of {scale_set}")
            }
            JournalAction::Protect { scale_set, instance_id, protect: false } => {
                format!("unprotect instance {instance_id} of {scale_set}")
            }
            JournalAction::DeleteInstances { scale_set, instance_ids } => {
                format!("delete instance(s) {} of {scale_set}", instance_ids.join(", "))
            }
            JournalAction::Drain { node_name, effect, .. } => match effect {
                DrainEffect::EnableDrain => format!("drain on: {node_name}"),
                DrainEffect::DisableDrain => format!("drain off: {node_name}"),
                DrainEffect::CancelTask(task) => format!("cancel {task} on {node_name}"),
                DrainEffect::DeleteNode => format!("delete node {node_name}"),
            },
            JournalAction::DrainJob { node_name, force: false, .. } => format!("drain job: {node_name}"),
            JournalAction::DrainJob { node_name, force: true, .. } => {
                format!("force-delete job: {node_name}")
            }
            JournalAction::ScaleInJob { scale_set, victims, hook: None, .. } => {
                let names: Vec<String> = victims.iter().map(crate::ha::Victim::label).collect();
                format!("drain-first scale-in of {scale_set}: {}", names.join(", "))
            }
            JournalAction::ScaleInJob { scale_set, victims, hook: Some(hook), .. } => {
                let names: Vec<String> = victims.iter().map(crate::ha::Victim::label).collect();
                format!(
                    "drain before Auto Scaling terminates ({} on {scale_set}): {}",
                    hook.hook_name,
                    names.join(", ")
                )
            }
            JournalAction::LifecycleHook { instance_id, hook, node_name, call, .. } => {
                let host = node_name.as_deref().map(|n| format!(" (node {n})")).unwrap_or_default();
                format!("hook {hook} of {instance_id}{host}: {}", call.as_str())
            }
            JournalAction::Admit { node_name, task_cap, .. } => {
                format!("admit node {node_name} (verified), task cap {task_cap}")
            }
            JournalAction::TaskCap { node_id, from, to } => match from {
                Some(from) => format!("task cap {node_id} {from}→{to}"),
                None => format!("task cap {node_id} to {to}"),
            },
            JournalAction::Autoscale { scale_set, setting, before, after, .. } => {
                format!("autoscale {setting} of {scale_set}: {before} → {after}")
            }
            JournalAction::Other { detail } => format!("other: {detail}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Intent,
    Result,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "why", rename_all = "lowercase")]
pub enum Outcome {
    Done,
    Skipped(String),
    Failed(String),
}

/// One line of the journal. A result repeats its intent's action and reason so each line reads alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub kind: RecordKind,
    /// Shared by an intent and its result.
    pub intent_id: Uuid,
    pub profile: String,
    pub operator: String,
    pub reason: String,
    pub action: JournalAction,
    /// Results only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Results only: how the result was found, when not by the run that made the intent
    /// ("settled after an interruption: …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A line that could not be read; never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal line {}: {}", self.line, self.message)
    }
}

/// The operator as the OS knows them: `$USER`, else `$USERNAME`, else the account the process
/// runs as (a service or `env -i` has neither variable), else "unknown".
pub fn current_operator() -> String {
    operator_from(std::env::var("USER").ok(), std::env::var("USERNAME").ok(), account_name)
}

fn operator_from(
    user: Option<String>,
    username: Option<String>,
    account: impl FnOnce() -> Option<String>,
) -> String {
    [user, username]
        .into_iter()
        .flatten()
        .map(|name| name.trim().to_string())
        .find(|name| !name.is_empty())
        .or_else(|| account().filter(|name| !name.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// The name of the account this process runs as, from the password database (getpwuid_r).
#[cfg(unix)]
fn account_name() -> Option<String> {
    let mut entry = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buffer = vec![0 as libc::c_char; 4096];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to memory owned here and sized as passed; getpwuid_r writes the
    // entry and the strings it points to into `entry` and `buffer`, and sets `found` to `entry`
    // only on success, so pw_name is read only from a filled entry while `buffer` is alive.
    unsafe {
        let uid = libc::geteuid();
        let status = libc::getpwuid_r(uid, entry.as_mut_ptr(), buffer.as_mut_ptr(), buffer.len(), &mut found);
        if status != 0 || found.is_null() || (*found).pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr((*found).pw_name);
        Some(name.to_string_lossy().into_owned())
    }
}

#[cfg(not(unix))]
fn account_name() -> Option<String> {
    None
}

/// `$SCALEGUARD_DATA_DIR/journal.jsonl`, else the platform data dir's `journal.jsonl`.
pub fn default_path() -> Option<PathBuf> {
    default_path_from(std::env::var_os(DATA_DIR_ENV))
}

fn default_path_from(data_dir: Option<OsString>) -> Option<PathBuf> {
    match data_dir.filter(|dir| !dir.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join(FILE_NAME)),
        None => {
            directories::ProjectDirs::from("", "", "scaleguard").map(|dirs| dirs.data_dir().join(FILE_NAME))
        }
    }
}

/// An open journal. Methods take `&self`: appends are atomic per line, so sharing is safe.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    operator: String,
}

impl Journal {
    /// Open (creating the file and its directories) for appending, as [`current_operator`].
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |cause| JournalError::Io { path: path.to_path_buf(), cause };
        let file = crate::private_fs::open(path, |o| o.create(true).append(true).read(true)).map_err(io)?;
        let journal = Journal { path: path.to_path_buf(), file, operator: current_operator() };
        journal.end_torn_line()?;
        Ok(journal)
    }

    /// Record under another operator name (e.g. from a CLI flag).
    pub fn with_operator(mut self, operator: impl Into<String>) -> Self {
        self.operator = operator.into();
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A crash may leave a last line without its newline; end it so the next record stands alone.
    fn end_torn_line(&self) -> Result<(), JournalError> {
        let io = |cause| JournalError::Io { path: self.path.clone(), cause };
        let mut file = &self.file;
        let len = file.metadata().map_err(io)?.len();
        if len == 0 {
            return Ok(());
        }
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).map_err(io)?;
        file.read_exact(&mut last).map_err(io)?;
        if last[0] != b'\n' {
            file.write_all(b"\n").map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(())
    }

    /// Journal what is about to be done. Returns the record; pass it to [`Journal::append_result`].
    pub fn append_intent(
        &self,
        profile: &str,
        reason: &str,
        action: JournalAction,
        now: OffsetDateTime,
    ) -> Result<Record, JournalError> {
        let record = Record {
            time: now,
            kind: RecordKind::Intent,
            intent_id: Uuid::new_v4(),
            profile: profile.to_string(),
            operator: self.operator.clone(),
            reason: reason.to_string(),
            action,
            outcome: None,
            note: None,
        };
        self.write(&record)?;
        Ok(record)
    }

    /// Journal how `intent` ended.
    pub fn append_result(
        &self,
        intent: &Record,
        outcome: Outcome,
        now: OffsetDateTime,
    ) -> Result<Record, JournalError> {
        self.append_result_noted(intent, outcome, None, now)
    }

    /// Journal how `intent` ended, with a note on how that was found out.
    pub fn append_result_noted(
        &self,
        intent: &Record,
        outcome: Outcome,
        note: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Record, JournalError> {
        let record = Record {
            time: now,
            kind: RecordKind::Result,
            operator: self.operator.clone(),
            outcome: Some(outcome),
            note,
            ..intent.clone()
        };
        self.write(&record)?;
        Ok(record)
    }

    /// One line, one `write` (O_APPEND keeps concurrent writers' lines whole), then `sync_data`.
    fn write(&self, record: &Record) -> Result<(), JournalError> {
        let io = |cause| JournalError::Io { path: self.path.clone(), cause };
        // Reasons and outcomes may hold a server's words: no secret they quote is stored.
        let mut line = crate::secret::scrub_bytes(&serde_json::to_vec(record)?).into_owned();
        line.push(b'\n');
        let mut file = &self.file;
        let written = file.write(&line).map_err(io)?;
        if written < line.len() {
            // Regular files do not write short in practice; finish rather than leave a torn line.
            file.write_all(&line[written..]).map_err(io)?;
        }
        file.sync_data().map_err(io)
    }
}

/// Every readable record, in file order, and a warning per line skipped. A missing file is empty.
pub fn read_all(path: &Path) -> Result<(Vec<Record>, Vec<Warning>), JournalError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
        Err(cause) => return Err(JournalError::Io { path: path.to_path_buf(), cause }),
    };
    Ok(parse(&bytes))
}

fn parse(bytes: &[u8]) -> (Vec<Record>, Vec<Warning>) {
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let last_index = lines.len().saturating_sub(1);
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => records.push(record),
            Err(err) => {
                let torn = index == last_index && !ends_with_newline;
                let message = if torn {
                    "incomplete last line (a write cut short by a crash?); skipped".to_string()
                } else {
                    format!("not a valid record ({err}); skipped")
                };
                warnings.push(Warning { line: index + 1, message });
            }
        }
    }
    (records, warnings)
}

/// Intents with no result: what a crash or a kill interrupted. The executor re-checks the real
/// state for each before deciding whether it happened.
pub fn pending_intents(records: &[Record]) -> Vec<&Record> {
    let finished: HashSet<Uuid> =
        records.iter().filter(|r| r.kind == RecordKind::Result).map(|r| r.intent_id).collect();
    records.iter().filter(|r| r.kind == RecordKind::Intent && !finished.contains(&r.intent_id)).collect()
}

/// Capacity changes for the guard's cooldown: scale intents that completed (timed at their
/// result), and those with no result yet (a crash may have interrupted a change that did reach
/// Azure: assume it did, at the intent's time). Skipped and failed ones are not changes.
pub fn scale_history(records: &[Record]) -> Vec<ScaleChange> {
    let results: BTreeMap<Uuid, &Record> =
        records.iter().filter(|r| r.kind == RecordKind::Result).map(|r| (r.intent_id, r)).collect();
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Intent)
        .filter_map(|intent| {
            let JournalAction::Scale { scale_set, from, to } = &intent.action else { return None };
            let at = match results.get(&intent.intent_id) {
                None => intent.time,
                Some(result) if result.outcome == Some(Outcome::Done) => result.time,
                Some(_) => return None,
            };
            let by = Some(format!("{} via scaleguard", intent.operator));
            Some(ScaleChange { scale_set: scale_set.clone(), at, from: *from, to: Some(*to), by })
        })
        .collect()
}

/// The latest capacity change per scale set.
pub fn last_scale_changes(records: &[Record]) -> BTreeMap<ScaleSetKey, ScaleChange> {
    let mut latest: BTreeMap<ScaleSetKey, ScaleChange> = BTreeMap::new();
    for change in scale_history(records) {
        match latest.get(&change.scale_set) {
            Some(seen) if seen.at >= change.at => {}
            _ => {
                latest.insert(change.scale_set.clone(), change);
            }
        }
    }
    latest
}

#[cfg(test)]
mod tests;
