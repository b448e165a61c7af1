//! Where a write to a local path lands. Every file dtutil writes (packages, batch
//! reports, project files and `.ispac` outputs) goes through [`write_target`], so each
//! follows one set of rules:
//!
//! - a symlink is written through to its target (the link stays; a temporary file
//!   beside the target is renamed over it), never replaced by a regular file;
//! - a link that another user planted in a shared sticky folder (`/tmp`) is not
//!   followed: the kernel's `fs.protected_symlinks` rule, which our own resolution
//!   would otherwise bypass (root writing through it could replace any file); nor is
//!   another user's file there replaced (`fs.protected_regular`);
//! - a path through `/proc` (`/dev/stdout`, `/dev/fd/N` name a process's open file,
//!   not a file to rename over) is refused, and so is a folder, FIFO, device or socket.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Links followed at most (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// The file a write to `path` lands in; `Err` says why it must not be written.
pub fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    resolve(path).map(|(target, _)| target)
}

/// [`write_target`], with the look at it that ended the walk through links (what is
/// there now; `NotFound`: nothing), which the writer then need not take again.
pub(super) fn resolve(
    path: &Path,
) -> std::io::Result<(PathBuf, std::io::Result<std::fs::Metadata>)> {
    let mut target = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        refuse_proc(path, &target)?;
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => {
                refuse_planted_link(&target, &m)?;
                let link = std::fs::read_link(&target)?;
                target = parent_dir(&target).join(link);
            }
            seen => return Ok((target, seen)),
        }
    }
    Err(std::io::Error::other(format!(
        "`{}`: too many levels of symbolic links",
        path.display()
    )))
}

/// [`write_target`], which must be a regular file or nothing yet, with its metadata.
pub fn regular_target(path: &Path) -> std::io::Result<(PathBuf, Option<std::fs::Metadata>)> {
    let (target, seen) = resolve(path)?;
    match seen {
        Ok(m) if m.is_file() => {
            refuse_planted_file(&target, &m)?;
            Ok((target, Some(m)))
        }
        Ok(m) => Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "it is {}, not a regular file; it is never replaced",
                kind_name(&m.file_type())
            ),
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok((target, None)),
        Err(e) => Err(e),
    }
}

fn refuse_proc(asked: &Path, target: &Path) -> std::io::Result<()> {
    if absolute(target).starts_with("/proc") || folder_in_proc(&parent_dir(target)) {
        return Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "`{}` leads into /proc (as /dev/stdout and /dev/fd/N do): it names a process's open file, not a file to write; nothing written. Give a file path (and read it from there)",
                asked.display()
            ),
        ));
    }
    Ok(())
}

/// The folder is procfs (through any links: `/dev/fd` is `/proc/self/fd`). One
/// `statfs` asks the file system itself, where resolving the path would take a look
/// at each of its names (a batch asks this for every package).
#[cfg(target_os = "linux")]
fn folder_in_proc(folder: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(name) = std::ffi::CString::new(folder.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs fills the zeroed struct it is given and reads the NUL-terminated
    // name; both outlive the call.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(name.as_ptr(), &mut fs) } != 0 {
        return false;
    }
    // `f_type` and the constant are c_long on most targets, not on all (s390x).
    #[allow(clippy::unnecessary_cast)]
    let same = fs.f_type as i64 == libc::PROC_SUPER_MAGIC as i64;
    same
}

#[cfg(not(target_os = "linux"))]
fn folder_in_proc(folder: &Path) -> bool {
    std::fs::canonicalize(folder).is_ok_and(|f| f.starts_with("/proc"))
}

/// `path` made absolute against the current directory, as the kernel resolves it.
/// The directory is asked once: nothing in dtutil changes it, and a batch would
/// otherwise ask it for every package.
pub fn absolute(path: &Path) -> PathBuf {
    static CURRENT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match CURRENT.get_or_init(|| std::env::current_dir().ok()) {
        Some(dir) => dir.join(path),
        None => std::path::absolute(path).unwrap_or_default(),
    }
}

/// The kernel follows a symlink in a sticky world-writable folder only for the link's
/// owner or when the folder's owner owns the link (`fs.protected_symlinks`).
#[cfg(unix)]
fn refuse_planted_link(link: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some(folder) = planted(link, meta) else {
        return Ok(());
    };
    // Not PermissionDenied: callers turn that into a generic "check the permissions".
    Err(std::io::Error::other(format!(
        "`{}` is a symbolic link owned by another user (uid {}) in the shared sticky folder `{}`: writing through it could replace whatever file that user points it at, so it is not followed (the kernel's fs.protected_symlinks rule); nothing written. Remove the link or name the file it points to",
        link.display(),
        meta.uid(),
        folder.display()
    )))
}

#[cfg(not(unix))]
fn refuse_planted_link(_link: &Path, _meta: &std::fs::Metadata) -> std::io::Result<()> {
    Ok(())
}

/// Whether `meta` (a link or a file) is another user's in a sticky world-writable
/// folder that this user does not own either: the folder, when it is such a case.
#[cfg(unix)]
fn planted(path: &Path, meta: &std::fs::Metadata) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let folder = parent_dir(path);
    let dir = std::fs::metadata(&folder).ok()?;
    let shared = dir.mode() & 0o1000 != 0 && dir.mode() & 0o002 != 0;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    (shared && meta.uid() != dir.uid() && meta.uid() != me).then_some(folder)
}

/// The kernel does not let a writer open another user's existing file in a sticky
/// world-writable folder for writing (`fs.protected_regular`); replacing it by rename
/// while keeping its owner would bypass that and leave the new content to that user
/// (who may have made it writable by anyone).
#[cfg(unix)]
pub(super) fn refuse_planted_file(file: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some(folder) = planted(file, meta) else {
        return Ok(());
    };
    Err(std::io::Error::other(format!(
        "`{}` belongs to another user (uid {}) in the shared sticky folder `{}`: replacing it would leave the new content to that user, who may change it (the kernel's fs.protected_regular rule); nothing written. Remove the file or write elsewhere",
        file.display(),
        meta.uid(),
        folder.display()
    )))
}

#[cfg(not(unix))]
pub(super) fn refuse_planted_file(_file: &Path, _meta: &std::fs::Metadata) -> std::io::Result<()> {
    Ok(())
}

/// What a file that is not a regular file is, for messages (every refusal of a folder,
/// FIFO, device or socket names it in the same words).
pub fn kind_name(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

pub(super) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

// Symbolic links are made with std::os::unix.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_followed_to_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        assert_eq!(write_target(&link).unwrap(), dir.path().join("real.json"));
        let (target, meta) = regular_target(&link).unwrap();
        assert_eq!(target, real);
        assert!(meta.is_none());
    }
}
