//! The profile's apply lock: one executor at a time changes a profile's world from this machine.
//!
//! An OS file lock (released by the OS when the process dies, so a killed `apply` never leaves a
//! stale lock behind) on `apply-<profile>.lock` beside the journal.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Held while one action is re-checked, executed and journaled; dropped to release.
#[derive(Debug)]
pub struct ApplyLock {
    _file: File,
}

impl ApplyLock {
    /// Wait for the lock (a blocking OS call, so off the async threads).
    pub async fn acquire(path: &Path) -> io::Result<ApplyLock> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::acquire_blocking(&path))
            .await
            .map_err(|join| io::Error::other(join.to_string()))?
    }

    fn acquire_blocking(path: &Path) -> io::Result<ApplyLock> {
        let file = crate::private_fs::open(path, |o| o.create(true).truncate(false).write(true))
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", path.display())))?;
        file.lock()?;
        Ok(ApplyLock { _file: file })
    }
}

/// The profile's lock beside `journal`, held by a change from its intent to its result, so that
/// settling interrupted intents (which takes it too) never settles a change still running here.
pub async fn hold_for_change(
    journal: &crate::journal::Journal,
    profile: &str,
) -> Result<ApplyLock, crate::journal::JournalError> {
    let path = path_beside(journal.path(), profile);
    ApplyLock::acquire(&path).await.map_err(|cause| crate::journal::JournalError::Io { path, cause })
}

/// The lock held by the one `scaleguard node hooks` of `profile` on this machine (two runners
/// would both open drain jobs for the same terminating instance): None when another holds it.
pub fn try_hold_hooks_runner(
    journal: &crate::journal::Journal,
    profile: &str,
) -> Result<Option<ApplyLock>, crate::journal::JournalError> {
    let apply = path_beside(journal.path(), profile);
    let name =
        apply.file_name().map(|n| n.to_string_lossy().replacen("apply-", "hooks-", 1)).unwrap_or_default();
    let path = apply.with_file_name(name);
    let io = |cause: io::Error| crate::journal::JournalError::Io { path: path.clone(), cause };
    let file = crate::private_fs::open(&path, |o| o.create(true).truncate(false).write(true)).map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(ApplyLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(cause)) => Err(io(cause)),
    }
}

/// `apply-<profile>.lock` in the journal's directory.
pub fn path_beside(journal: &Path, profile: &str) -> PathBuf {
    let dir = journal.parent().map(PathBuf::from).unwrap_or_default();
    let safe: String = profile
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    dir.join(format!("apply-{safe}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("journal.jsonl"), "prod");
        let first = ApplyLock::acquire(&path).await.unwrap();
        let waiter = tokio::spawn({
            let path = path.clone();
            async move {
                let started = Instant::now();
                let _second = ApplyLock::acquire(&path).await.unwrap();
                started.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "the second holder must wait while the first holds the lock");
        drop(first);
        let waited = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert!(waited >= Duration::from_millis(250), "waited only {waited:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the lock file is private");
        }
    }

    #[test]
    fn the_lock_file_name_is_safe_for_any_profile_name() {
        let path = path_beside(Path::new("/data/journal.jsonl"), "prod/../x y");
        assert_eq!(path, Path::new("/data/apply-prod____x_y.lock"));
    }
}
