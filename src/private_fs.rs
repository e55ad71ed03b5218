//! The data dir (journal, history, log, lock and temporary files) is the operator's alone: the dir
//! is created 0700 and every file in it 0600, whatever the umask, and files an older version left
//! readable by others are tightened on start. The journal and history name every target and VM,
//! and the log records what the HTTP stacks say: nobody else on the machine needs to read them.
//! (On platforms without Unix modes these are plain creates.)

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Create `dir` and any missing parents, each 0700; an existing `dir` is tightened.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    tighten_dir(dir)
}

/// Create `path`'s parent dir (0700) when it has one.
pub fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => create_dir(dir),
        None => Ok(()),
    }
}

/// Options that create a file 0600. Combine with `append`, `write`, ...; then call
/// [`tighten_file`] on the result, since an existing file keeps its old mode.
pub fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Open `path` with `configure`d [`options`], creating its parent dir, and tighten an old file.
/// A symbolic link there is refused: scaleguard never writes through (or tightens the mode of)
/// a file outside its data dir.
pub fn open(path: &Path, configure: impl FnOnce(&mut OpenOptions) -> &mut OpenOptions) -> io::Result<File> {
    create_parent(path)?;
    refuse_symlink(path)?;
    let file = configure(&mut options()).open(path)?;
    tighten_file(&file)?;
    Ok(file)
}

/// An error when `path` is a symbolic link (lstat: the link itself, never its target).
pub fn refuse_symlink(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        // The path itself is named by the caller's message ("journal <path>: ...").
        Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::other(
            "it is a symbolic link, and scaleguard neither follows nor writes through links in its data dir \
             (replace it with a plain file)",
        )),
        _ => Ok(()),
    }
}

/// Drop the group and other permission bits of an open file.
pub fn tighten_file(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// 0700 for a dir of ours. A shared dir (sticky bit, like /tmp) is left alone: our files in it are
/// still 0600.
fn tighten_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        let sticky = mode & 0o1000 != 0;
        if mode & 0o077 != 0 && !sticky {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The files scaleguard keeps in its data dir (other files there are not ours to change).
fn is_ours(name: &str) -> bool {
    name == crate::journal::FILE_NAME
        || name.starts_with("scaleguard.log")
        || (name.starts_with("history-") && (name.ends_with(".json") || name.ends_with(".tmp")))
        || (name.starts_with("apply-") && name.ends_with(".lock"))
}

/// On start: the data dir 0700 and each of our files in it 0600. A missing dir is fine (it is
/// created private when first written). Returns what could not be tightened, one line each.
pub fn tighten_data_dir(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut links = Vec::new();
    let mut note = |path: &Path, err: io::Error| {
        problems.push(format!("cannot make {} private to its owner: {err}", path.display()))
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        _ => return problems,
    }
    if let Err(err) = tighten_dir(dir) {
        note(dir, err);
    }
    let entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|entry| entry.path()).collect(),
        Err(err) => {
            note(dir, err);
            return problems;
        }
    };
    for path in entries {
        let ours = path.file_name().and_then(|n| n.to_str()).is_some_and(is_ours);
        // lstat: a link is judged as itself, and its target is never touched.
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if !ours {
            continue;
        }
        if meta.file_type().is_symlink() {
            links.push(format!(
                "{} is a symbolic link: its target's mode is left alone, and scaleguard will not write through it \
                 (replace it with a plain file)",
                path.display()
            ));
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        if let Err(err) = File::open(&path).and_then(|file| tighten_file(&file)) {
            note(&path, err);
        }
    }
    problems.extend(links);
    problems
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_dirs_and_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("a").join("b").join("journal.jsonl");
        let file = open(&path, |o| o.create(true).append(true)).unwrap();
        drop(file);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.path().join("a").join("b")), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
    }

    #[test]
    fn an_old_data_dir_is_tightened_and_other_files_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        let ours = ["journal.jsonl", "history-prod.json", "history-prod.json.12.0.tmp", "apply-prod.lock"];
        for name in ours.iter().chain(&["scaleguard.log", "notes.txt"]) {
            std::fs::write(dir.join(name), "x").unwrap();
            std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(tighten_data_dir(&dir), Vec::<String>::new());
        assert_eq!(mode(&dir), 0o700);
        for name in ours.iter().chain(&["scaleguard.log"]) {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        }
        assert_eq!(mode(&dir.join("notes.txt")), 0o644, "not ours");
    }

    #[test]
    fn a_shared_sticky_dir_keeps_its_mode() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        create_dir(&shared).unwrap();
        assert_eq!(mode(&shared), 0o1777);
    }

    #[test]
    fn symlinks_in_the_data_dir_are_never_followed_to_tighten_or_write() {
        // Issue 13 review, minor: start-up chmod-ed the *targets* of symlinked journal, history
        // and log files, outside the data dir.
        let root = tempfile::tempdir().unwrap();
        let (dir, outside) = (root.path().join("data"), root.path().join("elsewhere"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        for name in ["journal.jsonl", "history-prod.json", "scaleguard.log"] {
            let target = outside.join(name);
            std::fs::write(&target, "theirs").unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::os::unix::fs::symlink(&target, dir.join(name)).unwrap();
        }
        let problems = tighten_data_dir(&dir);
        for name in ["journal.jsonl", "history-prod.json", "scaleguard.log"] {
            assert_eq!(mode(&outside.join(name)), 0o644, "{name}'s target untouched");
            assert!(
                problems.iter().any(|p| p.contains(name) && p.contains("symbolic link")),
                "{name}: {problems:?}"
            );
        }
        // Nor is one written through.
        let err = open(&dir.join("journal.jsonl"), |o| o.create(true).append(true)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(outside.join("journal.jsonl")).unwrap(), "theirs");
    }

    #[test]
    fn a_missing_data_dir_is_not_an_error() {
        let root = tempfile::tempdir().unwrap();
        assert!(tighten_data_dir(&root.path().join("never")).is_empty());
    }
}
