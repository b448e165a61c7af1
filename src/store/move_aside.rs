//! `/MOVE`'s delete of a local file with no window for a writer between the last look
//! and the delete: the file is renamed aside first (atomic: a writer of the name from
//! then on makes a new file, which stays), and deleted only if what was renamed is
//! still the file that was looked at; otherwise it is put back.

use super::{Store, StoreError, StoreResult};
use std::path::{Path, PathBuf};

pub(super) fn delete_if_unchanged(
    store: &dyn Store,
    path: &str,
    approve: &mut dyn FnMut() -> bool,
) -> StoreResult<bool> {
    let failed = |what: &str, e: std::io::Error| {
        StoreError::Failed(format!("cannot delete `{path}`: {what}: {e}"))
    };
    let looked_at = store.stamp(path)?;
    if !approve() {
        return Ok(false);
    }
    if looked_at.is_none() {
        // No stamp to compare (not on this platform): the look just before the delete.
        return store.delete(path).map(|()| true);
    }
    let source = Path::new(path);
    let aside = aside_name(source);
    std::fs::rename(source, &aside).map_err(|e| failed("renaming it aside", e))?;
    let renamed = store.stamp(&aside.to_string_lossy())?;
    if renamed == looked_at {
        std::fs::remove_file(&aside).map_err(|e| failed("removing it", e))?;
        return Ok(true);
    }
    // Written between the look and the rename: back under its name, unless a writer
    // took the name again meanwhile (a link never replaces anything).
    match std::fs::hard_link(&aside, source) {
        Ok(()) => {
            let _ = std::fs::remove_file(&aside);
            Ok(false)
        }
        Err(e) => Err(StoreError::Failed(format!(
            "`{path}` changed while it was being moved and its name was taken again meanwhile ({e}); the changed file is kept as `{}`",
            aside.display()
        ))),
    }
}

fn aside_name(source: &Path) -> PathBuf {
    let name = format!(".dtutil-{}.moving", uuid::Uuid::new_v4().simple());
    match source.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

/// Why `path` cannot be removed whatever its mode bits say (those are
/// [`Store::write_protected`]'s, which /Q overrides): its file system is mounted
/// read-only, or its folder or the file is immutable (`chattr +i`). The kernel's
/// access(2) knows both; a removal tried instead would be a change, which /MOVE must
/// not make before its copy is written.
#[cfg(unix)]
pub(super) fn undeletable(path: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let folder = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let write_denied = |at: &Path| -> Option<i32> {
        let at = std::ffi::CString::new(at.as_os_str().as_bytes()).ok()?;
        // SAFETY: a NUL-terminated path that access(2) only reads.
        let denied = unsafe { libc::access(at.as_ptr(), libc::W_OK) } != 0;
        denied.then(|| std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    };
    match write_denied(folder) {
        Some(libc::EROFS) => return Some("it is on a read-only file system".into()),
        Some(libc::EPERM) => {
            return Some(format!(
                "its folder `{}` is immutable (it takes no changes, not even from root)",
                folder.display()
            ))
        }
        _ => {}
    }
    (write_denied(path) == Some(libc::EPERM))
        .then(|| "the file is immutable (it takes no changes, not even from root)".into())
}

#[cfg(not(unix))]
pub(super) fn undeletable(_path: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::file::FileStore;

    /// Adversary2 F5, FILE side: a file replaced between the move's last look and its
    /// delete is kept, not deleted; an unchanged one is deleted.
    #[test]
    fn a_file_replaced_after_the_look_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.dtsx");
        let p = path.to_str().unwrap();
        std::fs::write(&path, "old").unwrap();
        let deleted = delete_if_unchanged(&FileStore, p, &mut || {
            // Another writer replaces the file, as dtutil writes: a new file renamed in.
            let new = dir.path().join("new.tmp");
            std::fs::write(&new, "NEW PACKAGE").unwrap();
            std::fs::rename(&new, &path).unwrap();
            true
        })
        .unwrap();
        assert!(!deleted);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "NEW PACKAGE");

        assert!(!delete_if_unchanged(&FileStore, p, &mut || false).unwrap());
        assert!(path.exists());
        assert!(delete_if_unchanged(&FileStore, p, &mut || true).unwrap());
        assert!(!path.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
