//! Writing a re-protected project: all its files or none. SSDT checks one project
//! password against every file, so a project left half re-protected opens with no
//! password at all; every new file is therefore written and flushed beside its target
//! first, and only when all are ready are they renamed over the old ones.

use crate::error::{Error, Result};
use crate::store::file::{stage, StagedFile};
use std::path::{Path, PathBuf};

/// Writes every file, or (when any cannot be written) none: the temporary files are
/// removed and each target is as it was.
pub(super) fn write_all(files: &[(PathBuf, &[u8])]) -> Result<()> {
    let mut staged: Vec<StagedFile> = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        if let Err(e) = stage(path, bytes).map(|s| staged.push(s)) {
            // Dropping `staged` removes every temporary file.
            return Err(Error::failure(format!(
                "cannot write `{}`: {e}; nothing written: every project file is as it was",
                path.display()
            )));
        }
    }
    // Renames within one folder: only a file system fault stops one now.
    let total = staged.len();
    let mut replaced: Vec<String> = Vec::new();
    let mut pending = staged.into_iter();
    while let Some(file) = pending.next() {
        let target = file.target().to_path_buf();
        if let Err(e) = file.commit() {
            let kept: Vec<String> = std::iter::once(shown(&target))
                .chain(pending.map(|f| shown(f.target())))
                .collect();
            return Err(Error::failure(format!(
                "cannot replace `{}`: {e}. {} of {total} files already carry the new protection ({}); these still carry the old one: {}. Run the command again on the files left (their --decrypt is still the old password)",
                target.display(),
                replaced.len(),
                replaced.join(", "),
                kept.join(", ")
            )));
        }
        replaced.push(shown(&target));
    }
    Ok(())
}

fn shown(path: &Path) -> String {
    format!("`{}`", path.display())
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
