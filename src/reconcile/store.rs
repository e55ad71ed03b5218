//! Keeping the history in a file between headless runs (the only IO in this module).

use super::history::History;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HistoryFileError {
    #[error("cannot read history file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("history file {path} is not valid: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("cannot write history file {path}: {source}")]
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
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text).map_err(write_err)?;
    std::fs::rename(&temporary, path).map_err(write_err)
}
