//! Writing a re-protected project: all its files or none. SSDT checks one project
//! password against every file, so a project left half re-protected opens with no
//! password at all; every new file is therefore written and flushed beside its target
//! first, and only when all are ready are they renamed over the old ones. What each
//! target holds is staged beside it too, so that when a rename fails part-way (EPERM,
//! EBUSY, EIO), the files already replaced are put back by renames as well.

use crate::error::{Error, Result};
use crate::store::file::{stage, StagedFile};
use crate::store::NewFileMode;
use std::path::{Path, PathBuf};

/// A file to write, and the mode it gets should it be new (an existing one keeps its own).
pub(super) type ProjectFile<'a> = (PathBuf, &'a [u8], NewFileMode);

/// Writes every file, or (when any cannot be written) none: the temporary files are
/// removed and each target is as it was.
pub(super) fn write_all(files: &[ProjectFile<'_>]) -> Result<()> {
    write_all_with(files, StagedFile::commit)
}

/// [`write_all`] with the rename of each new file given (a test makes one fail).
fn write_all_with(
    files: &[ProjectFile<'_>],
    mut commit: impl FnMut(StagedFile) -> std::io::Result<()>,
) -> Result<()> {
    let nothing_written = |path: &Path, e: std::io::Error| {
        Error::failure(format!(
            "cannot write `{}`: {e}; nothing written: every project file is as it was",
            path.display()
        ))
    };
    let mut staged: Vec<StagedFile> = Vec::with_capacity(files.len());
    for (path, bytes, new_mode) in files {
        // Dropping `staged` on an error removes every temporary file.
        staged.push(stage(path, bytes, *new_mode).map_err(|e| nothing_written(path, e))?);
    }
    // What each target holds now (none: it is new), staged beside it with its mode.
    let mut backups: Vec<Option<StagedFile>> = Vec::with_capacity(files.len());
    for (path, _, _) in files {
        let old = match std::fs::read(path) {
            Ok(old) => Some(old),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(nothing_written(path, e)),
        };
        let backup = old
            .map(|old| stage(path, &old, NewFileMode::Umask))
            .transpose();
        backups.push(backup.map_err(|e| nothing_written(path, e))?);
    }
    // Renames within one folder: only a file system fault stops one now.
    let total = staged.len();
    let mut replaced: Vec<(PathBuf, Option<StagedFile>)> = Vec::new();
    for (file, backup) in staged.into_iter().zip(backups) {
        let target = file.target().to_path_buf();
        if let Err(e) = commit(file) {
            // The files not reached and their backups are dropped: their temporary
            // files go.
            return Err(roll_back(&target, e, replaced, total));
        }
        replaced.push((target, backup));
    }
    Ok(())
}

/// Puts back the files already replaced (last first) and says how that went.
fn roll_back(
    failed: &Path,
    error: std::io::Error,
    replaced: Vec<(PathBuf, Option<StagedFile>)>,
    total: usize,
) -> Error {
    let count = replaced.len();
    let mut stuck: Vec<String> = Vec::new();
    for (target, backup) in replaced.into_iter().rev() {
        let undone = match backup {
            Some(old) => old.commit_or_keep().map_err(|(e, kept)| match kept {
                Some(kept) => format!(
                    "{} ({e}; its old content is kept in `{}`: rename that file over it)",
                    shown(&target),
                    kept.display()
                ),
                None => format!("{} ({e})", shown(&target)),
            }),
            None => std::fs::remove_file(&target)
                .map_err(|e| format!("{} ({e}; it is new: delete it)", shown(&target))),
        };
        if let Err(why) = undone {
            stuck.push(why);
        }
    }
    if stuck.is_empty() {
        return Error::failure(format!(
            "cannot replace `{}`: {error}. The {count} of {total} files already replaced were put back: every project file is as it was (the old protection and password); fix the cause and run the command again",
            failed.display()
        ));
    }
    Error::failure(format!(
        "cannot replace `{}`: {error}, and putting back the files already replaced failed for {} of them: {}. The other project files are as they were; restore these as said, then run the command again",
        failed.display(),
        stuck.len(),
        stuck.join("; ")
    ))
}

fn shown(path: &Path) -> String {
    format!("`{}`", path.display())
}

/// Whether `--out` names the project's own folder (or .ispac): written in place then.
pub(super) fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// `--out` names a new destination: what is there already is replaced only with
/// `--overwrite`, as `/Q` and `batch --overwrite` allow elsewhere.
pub(super) fn refuse_existing<'a>(
    targets: impl IntoIterator<Item = &'a Path>,
    overwrite: bool,
) -> Result<()> {
    if overwrite {
        return Ok(());
    }
    let existing: Vec<String> = targets
        .into_iter()
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .map(shown)
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    let more = if existing.len() > 5 {
        format!(" and {} more", existing.len() - 5)
    } else {
        String::new()
    };
    Err(Error::failure(format!(
        "--out: {}{more} already exist{}; nothing written. Add --overwrite to replace {}",
        existing[..existing.len().min(5)].join(", "),
        if existing.len() == 1 { "s" } else { "" },
        if existing.len() == 1 { "it" } else { "them" }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adversary2 F2: a rename that fails after two files were replaced puts those two
    /// back (content and mode), leaves no temporary file, and says so.
    #[cfg(unix)]
    #[test]
    fn a_rename_that_fails_part_way_puts_back_what_was_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let names = ["a.dtproj", "b.params", "c.conmgr", "d.dtsx"];
        for (i, n) in names.iter().enumerate() {
            let p = dir.path().join(n);
            std::fs::write(&p, format!("old {i}")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        let new: Vec<Vec<u8>> = (0..names.len())
            .map(|i| format!("new {i}").into_bytes())
            .collect();
        let files: Vec<ProjectFile<'_>> = names
            .iter()
            .zip(&new)
            .map(|(n, b)| (dir.path().join(n), b.as_slice(), NewFileMode::Umask))
            .collect();
        let mut renames = 0;
        let e = write_all_with(&files, |f| {
            renames += 1;
            if renames == 3 {
                return Err(std::io::Error::from_raw_os_error(1));
            }
            f.commit()
        })
        .unwrap_err();
        assert!(
            e.message.contains(
                "The 2 of 4 files already replaced were put back: every project file is as it was"
            ),
            "{}",
            e.message
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, names, "no temporary file is left");
        for (i, n) in names.iter().enumerate() {
            let p = dir.path().join(n);
            assert_eq!(
                std::fs::read_to_string(&p).unwrap(),
                format!("old {i}"),
                "{n}"
            );
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640, "{n}");
        }
        // The same files written whole: the new content, no temporary file.
        write_all(&files).unwrap();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                std::fs::read_to_string(dir.path().join(n)).unwrap(),
                format!("new {i}")
            );
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), names.len());
    }

    /// A file new to the folder (`--out`) is removed again.
    #[test]
    fn a_new_file_is_removed_when_a_later_rename_fails() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<ProjectFile<'_>> = vec![
            (dir.path().join("new.params"), b"new", NewFileMode::Umask),
            (dir.path().join("x.conmgr"), b"new", NewFileMode::Umask),
        ];
        let mut renames = 0;
        let e = write_all_with(&files, |f| {
            renames += 1;
            if renames == 2 {
                return Err(std::io::Error::other("injected"));
            }
            f.commit()
        })
        .unwrap_err();
        assert!(e.message.contains("put back"), "{}", e.message);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
