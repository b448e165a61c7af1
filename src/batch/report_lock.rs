//! One run per report: `batch --report R` holds an exclusive advisory lock (flock) on
//! R from before its first package to its last report write, so that a second run
//! given the same report is refused at once (exit 1), nothing written, instead of both
//! finishing "ok" with the report holding only the last one's rows (and the other's
//! `--resume` record gone).
//!
//! The report is replaced by a rename at every save, so the lock goes with the file at
//! its path: each new report file is locked before it takes the name, and the old one
//! is let go after. A run that opened the old file just before a save, and so gets its
//! lock, finds it no longer at the path and is refused too (as `project` does for an
//! .ispac).

use crate::error::{Error, Result};
use crate::store::file::same_file;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Held for the whole run; dropped, the lock goes.
pub struct ReportLock {
    target: PathBuf,
    held: Mutex<Held>,
}

struct Held {
    file: File,
    /// The run made the (empty) file to lock it and has saved no report in it yet: it
    /// is removed if the run ends so, as a run that stops before writing anything
    /// leaves nothing behind.
    made_empty: bool,
}

impl ReportLock {
    /// Locks the report at `path` (a regular file or none yet; checked before by
    /// `Report::check_writable`), making it empty and owner-only when it is not there.
    pub fn take(path: &Path) -> Result<Self> {
        let cannot = |e: std::io::Error| {
            Error::failure(format!(
                "cannot lock the report `{}` ({e}); nothing was copied",
                path.display()
            ))
        };
        let (target, existing) = crate::store::destination::regular_target(path).map_err(cannot)?;
        let (file, made_empty) = match existing {
            Some(_) => (open_existing(&target).map_err(cannot)?, false),
            None => match make_empty(&target) {
                Ok(file) => (file, true),
                // Another run made it a moment ago: its lock decides.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    (open_existing(&target).map_err(cannot)?, false)
                }
                Err(e) => return Err(cannot(e)),
            },
        };
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => return Err(busy(path)),
            Err(fs4::TryLockError::Error(e)) => return Err(cannot(e)),
        }
        if !same_file(&file, &target) {
            return Err(busy(path));
        }
        Ok(Self {
            target,
            held: Mutex::new(Held { file, made_empty }),
        })
    }

    /// Writes `bytes` as the report: a new owner-only file, locked, renamed over the
    /// old one, whose lock is then let go.
    pub fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        let staged =
            crate::store::file::stage(&self.target, bytes, crate::store::NewFileMode::Private)?;
        // A file no other process has opened yet: never busy.
        fs4::FileExt::try_lock(staged.file()).map_err(std::io::Error::other)?;
        let file = staged.commit_open()?;
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        *held = Held {
            file,
            made_empty: false,
        };
        Ok(())
    }
}

impl Drop for ReportLock {
    fn drop(&mut self) {
        let held = self.held.get_mut().unwrap_or_else(|e| e.into_inner());
        let still_empty = held.file.metadata().is_ok_and(|m| m.len() == 0);
        if held.made_empty && still_empty && same_file(&held.file, &self.target) {
            let _ = std::fs::remove_file(&self.target);
        }
    }
}

/// Read-only is enough for the lock; never blocks (a FIFO swapped in is refused).
fn open_existing(target: &Path) -> std::io::Result<File> {
    let file = open_options(false).open(target)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    Ok(file)
}

fn make_empty(target: &Path) -> std::io::Result<File> {
    open_options(true).open(target)
}

fn open_options(create: bool) -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    if create {
        options.write(true).create_new(true);
    } else {
        options.read(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NONBLOCK);
    }
    options
}

fn busy(path: &Path) -> Error {
    Error::failure(format!(
        "the report `{}` is in use by another dtutil batch run now; nothing was copied. Give this run its own --report, or run it when the other has finished (two runs would leave the report holding only one run's rows)",
        crate::redact::one_line(&path.display().to_string())
    ))
}
