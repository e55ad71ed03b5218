//! Keeping the history in a file between headless runs (the only IO in this module).

use super::History;
use crate::scrubbed::LineScrubbing;
use serde::Serialize;
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

/// A missing file is an empty history: the first run starts collecting evidence. Read as it is
/// parsed: the file of 10,000 targets is megabytes, never held whole beside what it parses into.
pub fn load_history(path: &Path) -> Result<History, HistoryFileError> {
    let read_err = |source| HistoryFileError::Read { path: path.to_path_buf(), source };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
        Err(source) => return Err(read_err(source)),
    };
    serde_json::from_reader(std::io::BufReader::new(file)).map_err(|source| match source.io_error_kind() {
        Some(_) => read_err(source.into()),
        None => HistoryFileError::Parse { path: path.to_path_buf(), source },
    })
}

/// Written to a temporary file and renamed, so a crash never leaves half a history behind.
pub fn save_history(path: &Path, history: &History) -> Result<(), HistoryFileError> {
    let write_err = |source| HistoryFileError::Write { path: path.to_path_buf(), source };
    crate::private_fs::create_parent(path).map_err(write_err)?;
    // One temporary file per writer: two processes saving at once (two consoles, a console and a
    // runbook) must not write into, or rename away, each other's temporary file.
    let temporary = temporary_beside(path);
    let written = write_synced(&temporary, history).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(write_err)
}

/// JSON with a line break before each key of the history and of its maps, and none elsewhere:
/// one record a line. Written as it is serialized, a line scrubbed at a time, so the text of
/// 10,000 targets (tens of megabytes pretty-printed) is never in memory, and each line holds a
/// whole record, with every secret a string of it might quote.
#[derive(Default)]
struct RecordPerLine {
    depth: usize,
}

impl serde_json::ser::Formatter for RecordPerLine {
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        // The history's own keys (depth 1) and the keys of its maps (depth 2): target ids, VM
        // keys, set ids.
        if self.depth <= 2 {
            writer.write_all(b"\n")?;
        }
        Ok(())
    }
}

fn temporary_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = format!("{}.{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{unique}.tmp"));
    path.with_file_name(name)
}

/// Written and flushed to disk before the rename, so a power cut leaves the old file or the new one.
fn write_synced(path: &Path, history: &History) -> std::io::Result<()> {
    // A fresh name: create_new fails on anything already there, a planted link included.
    let mut file = crate::private_fs::options().write(true).create_new(true).open(path)?;
    crate::private_fs::tighten_file(&file)?;
    let mut out = LineScrubbing::new(std::io::BufWriter::new(&mut file));
    let mut json = serde_json::Serializer::with_formatter(&mut out, RecordPerLine::default());
    history.serialize(&mut json)?;
    out.write_all(b"\n")?;
    out.flush()?;
    drop(out);
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

    /// At 10,000 targets the history is megabytes of JSON: it is written as it is serialized, a
    /// line at a time (each line scrubbed whole), so each record must sit on a line of its own,
    /// and no line may hold more than one.
    #[test]
    fn the_history_file_holds_one_record_a_line_scrubbed_and_reads_back() {
        use crate::reconcile::testkit::*;
        use crate::reconcile::MatchedSnapshot;
        let _key = crate::secret::Secret::new("HISTORY-LINE-SECRET-0123456789");
        let profile = profile();
        let targets: Vec<_> = (0..50).map(|i| target_on(&format!("Machines-{i}"), "web", i)).collect();
        let mut renamed = targets.clone();
        renamed[7].name = "web-7-history-line-secret-0123456789".into();
        let mut history = History::default();
        for (secs, targets) in [(0, targets), (100, renamed)] {
            let snapshot = SnapshotBuilder::new(at(secs))
                .set("web", 50, (0..50).map(|i| vm("web", i)).collect())
                .targets(targets)
                .build();
            history.observe(&MatchedSnapshot::new(&snapshot, &profile));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.json");
        save_history(&path, &history).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for id in (0..50).map(|i| format!("\"Machines-{i}\":")) {
            let lines: Vec<&str> = text.lines().filter(|line| line.contains(&id)).collect();
            assert_eq!(lines.len(), 1, "{id} on one line: {lines:?}");
            assert!(lines[0].contains("\"last_vm\":") && lines[0].contains("\"absence\":"), "{}", lines[0]);
        }
        let longest = text.lines().map(str::len).max().unwrap_or(0);
        assert!(longest < 1_000, "one record a line, not the whole file on one: {longest} bytes");
        assert!(!text.to_lowercase().contains("line-secret"), "{text}");
        let mut scrubbed = history.clone();
        scrubbed.targets.get_mut("Machines-7").unwrap().name = "web-7-<redacted>".into();
        assert_eq!(load_history(&path).unwrap(), scrubbed);
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
