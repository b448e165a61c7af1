//! Reading local files: a package under the package bound, a small file named by a
//! variable or an option, a package a walk listed (still the one listed).

use super::file::{io_error, kind_name, open_regular};
use super::{Listed, StoreError, StoreResult, MAX_PACKAGE_BYTES};
use std::io::Read;
use std::path::Path;

/// A small file named by a variable or an option (a CA bundle, a federated token, a
/// package store configuration): a regular file (a device or FIFO could never end or
/// never answer) of at most `limit` bytes. The error says why, for the caller to name
/// the variable.
pub fn read_small_file(
    path: impl AsRef<Path>,
    limit: u64,
) -> std::result::Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Not blocking on a FIFO's open; the handle is checked below, so nothing can
        // swap the file between the check and the read.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(format!(
            "not a regular file (it is {}; a device, pipe or directory is refused)",
            kind_name(&meta.file_type())
        ));
    }
    let too_big = || format!("larger than {limit} bytes; is it the right file?");
    if meta.len() > limit {
        return Err(too_big());
    }
    let mut raw = zeroize::Zeroizing::new(Vec::new());
    file.take(limit + 1)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    if raw.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(raw)
}

/// Reads a file of at most [`MAX_PACKAGE_BYTES`], without allocating more: a larger (or
/// sparse) file is refused by its length, and one that grows while read by the bound.
pub fn read_bounded(path: &Path) -> std::io::Result<StoreResult<Vec<u8>>> {
    read_bounded_file(path, open_regular(path)?)
}

/// Opens a file a walk listed, only if it is still the one listed: without
/// `--follow-links` a link at its name is not followed, and its device and inode must
/// be the listed ones (which a folder on its path swapped for a link changes too).
pub(super) fn open_listed(path: &Path, listed: &Listed) -> StoreResult<std::fs::File> {
    let shown = path.display().to_string();
    let changed = || {
        StoreError::Failed(format!(
            "`{shown}` changed since the listing (replaced by a link?); not read, nothing written for it"
        ))
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if listed.follow_links {
            0
        } else {
            libc::O_NOFOLLOW
        };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) && !listed.follow_links => {
            return Err(changed())
        }
        Err(e) => return Err(io_error("cannot read", &shown, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| io_error("cannot read", &shown, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if listed.id.is_some_and(|id| id != (meta.dev(), meta.ino())) {
            return Err(changed());
        }
    }
    // Windows: no inode to compare (std keeps the file index unstable).
    #[cfg(not(unix))]
    let _ = (changed, listed);
    if !meta.is_file() {
        return Err(StoreError::Failed(format!(
            "`{shown}` is {}, not a package file; nothing read or written",
            kind_name(&meta.file_type())
        )));
    }
    Ok(file)
}

/// Reads an opened regular file under the package bound (see [`read_bounded`]).
pub(super) fn read_bounded_file(
    path: &Path,
    file: std::fs::File,
) -> std::io::Result<StoreResult<Vec<u8>>> {
    let limit = MAX_PACKAGE_BYTES as u64;
    let len = file.metadata()?.len();
    let too_large = |n: u64| {
        Ok(Err(StoreError::TooLarge(format!(
            "`{}` is {n} bytes, over the {limit} byte package limit; not loaded",
            path.display()
        ))))
    };
    if len > limit {
        return too_large(len);
    }
    let mut bytes = Vec::with_capacity(len as usize);
    large_pages(&mut bytes);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return too_large(bytes.len() as u64);
    }
    Ok(Ok(bytes))
}

/// Asks Linux to back a large package's buffer with 2 MB pages: read into fresh 4 KB
/// pages, 50 MB costs 12,000 page faults, a third of the read's time (issue 12).
#[cfg(target_os = "linux")]
fn large_pages(buffer: &mut Vec<u8>) {
    const LARGE: usize = 4 << 20;
    if buffer.capacity() < LARGE {
        return;
    }
    // SAFETY: sysconf reads a constant of the system.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let start = buffer.as_mut_ptr() as usize;
    let end = start + buffer.capacity();
    // The whole mapping the allocator made for the buffer: advice on part of a
    // mapping splits it, and a split mapping cannot grow in place (`mremap`), so the
    // edits that lengthen a package would copy it whole, twice the memory. The
    // allocator's header shares the first page; its rounding (glibc: the size and 16
    // bytes, to 16) takes one more page when the buffer ends just short of a page.
    let from = start / page * page;
    let mut to = end.next_multiple_of(page);
    if to - end < 32 {
        to += page;
    }
    // SAFETY: the advice changes how pages are backed, never what they hold or
    // whether they are mapped; a page of the range that is not mapped, or not ours,
    // is left as it is. Only a hint: if it fails, the pages are small ones.
    unsafe {
        libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn large_pages(_buffer: &mut Vec<u8>) {}

/// Whether `path` still names the file `file` has open (not replaced by a rename).
pub fn same_file(file: &std::fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}
