//! One writer per project: `dtutil project` holds an exclusive advisory lock (flock)
//! from reading the project to its last rename, so two runs at once cannot interleave
//! their all-or-nothing writes (each would leave the files it renamed last, and the
//! project with two passwords). A second run is refused at once (exit 1), nothing read
//! or written.
//!
//! What is locked is something the write never replaces: a project folder itself (its
//! files are renamed over, the folder stays). An .ispac is replaced by a rename, so its
//! file is locked and then checked to still be the one at its path: a run that opened
//! the old file as the previous writer finished finds it replaced and is refused too.

use crate::error::{Error, Result};
use crate::store::file::same_file;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Held while a project is re-protected; the lock goes with the handle.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

/// Takes the lock for writing the project at `path` (a folder, a .dtproj or an
/// .ispac). `None` for a path that is none of those: the run refuses it itself.
pub fn take(path: &str) -> Result<Option<ProjectLock>> {
    let p = Path::new(path);
    let lower = path.to_ascii_lowercase();
    let (target, replaced_by_rename) = if p.is_dir() {
        (p.to_path_buf(), false)
    } else if lower.ends_with(".dtproj") {
        (folder_of(p), false)
    } else if lower.ends_with(".ispac") && p.is_file() {
        (p.to_path_buf(), true)
    } else {
        return Ok(None);
    };
    let file = match File::open(&target) {
        Ok(f) => f,
        // Windows opens no folder as a file; the run's own errors name a missing path.
        Err(_) => return Ok(None),
    };
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => return Err(busy(path)),
        Err(fs4::TryLockError::Error(e)) => {
            return Err(Error::failure(format!(
                "`{path}`: cannot lock the project for writing ({e}); nothing written"
            )))
        }
    }
    if replaced_by_rename && !same_file(&file, &target) {
        return Err(busy(path));
    }
    Ok(Some(ProjectLock { _file: file }))
}

fn folder_of(dtproj: &Path) -> PathBuf {
    match dtproj.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn busy(path: &str) -> Error {
    Error::failure(format!(
        "`{}`: another dtutil project run is re-protecting this project now; nothing written. Run again when it has finished (two runs at once would leave files with different passwords)",
        crate::redact::one_line(path)
    ))
}
