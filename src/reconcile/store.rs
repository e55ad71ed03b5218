//! Keeping the history in a file between headless runs (the only IO in this module).

use super::History;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HistoryFileError {
    #[error("cannot read history file {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("history file {path} is not valid")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("cannot write history file {path}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// A missing file is an empty history: the first run starts collecting evidence.
pub fn load_history(path: &Path) -> Result<History, HistoryFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|source| HistoryFileError::Parse { path: path.to_path_buf(), source }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
        Err(source) => Err(HistoryFileError::Read { path: path.to_path_buf(), source }),
    }
}

/// Written to a temporary file and renamed, so a crash never leaves half a history behind.
pub fn save_history(path: &Path, history: &History) -> Result<(), HistoryFileError> {
    let write_err = |source| HistoryFileError::Write { path: path.to_path_buf(), source };
    let text = serde_json::to_string_pretty(history)
        .map_err(|source| HistoryFileError::Parse { path: path.to_path_buf(), source })?;
    let text = crate::secret::scrub(&text);
    crate::private_fs::create_parent(path).map_err(write_err)?;
    // One temporary file per writer: two processes saving at once (two consoles, a console and a
    // runbook) must not write into, or rename away, each other's temporary file.
    let temporary = temporary_beside(path);
    let written = write_synced(&temporary, text.as_bytes()).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(write_err)
}

fn temporary_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = format!("{}.{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{unique}.tmp"));
    path.with_file_name(name)
}

/// Written and flushed to disk before the rename, so a power cut leaves the old file or the new one.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A fresh name: create_new fails on anything already there, a planted link included.
    let mut file = crate::private_fs::options().write(true).create_new(true).open(path)?;
    crate::private_fs::tighten_file(&file)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI prints the whole cause chain on one line: each part must say something new.
    fn chain(err: &dyn std::error::Error) -> Vec<String> {
        let mut parts = vec![err.to_string()];
        let mut source = err.source();
        while let Some(cause) = source {
            parts.push(cause.to_string());
            source = cause.source();
        }
        parts
    }

    #[test]
    fn history_survives_a_file_round_trip() {
        use crate::reconcile::testkit::*;
        use crate::reconcile::MatchedSnapshot;
        let profile = profile();
        let mut history = History::default();
        let both = SnapshotBuilder::new(at(0))
            .set("web", 2, vec![vm("web", 1), vm("web", 2)])
            .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
            .build();
        let scaled_in = SnapshotBuilder::new(at(100))
            .set("web", 1, vec![vm("web", 1)])
            .targets(vec![target_on("Machines-1", "web", 1), target_on("Machines-2", "web", 2)])
            .build();
        history.observe(&MatchedSnapshot::new(&both, &profile));
        history.observe(&MatchedSnapshot::new(&scaled_in, &profile));
        assert!(
            history.target("Machines-2").and_then(|t| t.absence.as_ref()).is_some(),
            "an absence to keep"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.json");
        assert_eq!(load_history(&path).expect("missing file is empty"), History::default());
        save_history(&path, &history).expect("save");
        assert_eq!(load_history(&path).expect("load"), history);
    }

    #[test]
    fn a_corrupt_history_file_names_the_file_once_and_the_json_problem_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history-prod.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = load_history(&path).unwrap_err();
        let line = chain(&err).join(": ");
        assert_eq!(line.matches("history-prod.json").count(), 1, "{line}");
        assert_eq!(line.matches("key must be a string").count(), 1, "{line}");
    }
}
