//! FILE: packages on a local (or mounted) file system. Folder paths are native paths;
//! the package store's `File System` roots are folders of this store.

pub use super::destination::kind_name;
use super::destination::{parent_dir, refuse_planted_file, regular_target, resolve};
use super::file_read::{open_listed, read_bounded_file};
pub use super::file_read::{read_bounded, read_small_file, same_file};
use super::{Entry, Listed, NewFileMode, PackageMeta, Store, StoreError, StoreResult};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone)]
pub struct FileStore;

pub(super) fn io_error(what: &str, path: &str, e: std::io::Error) -> StoreError {
    match e.kind() {
        ErrorKind::NotFound => StoreError::NotFound(format!("{what} `{path}`: no such file")),
        ErrorKind::PermissionDenied => StoreError::PermissionDenied(format!(
            "{what} `{path}`: permission denied (check the file's and folder's permissions)"
        )),
        _ => StoreError::Failed(format!("{what} `{path}`: {e}")),
    }
}

impl Store for FileStore {
    fn plain_local_file(&self) -> bool {
        true
    }

    fn describe(&self, path: &str) -> String {
        format!("file `{path}`")
    }

    fn read(&self, path: &str) -> StoreResult<Vec<u8>> {
        self.read_with_mode(path).map(|(bytes, _)| bytes)
    }

    /// The mode comes from the file as opened and read, not from a second look.
    fn read_with_mode(&self, path: &str) -> StoreResult<(Vec<u8>, Option<u32>)> {
        let p = Path::new(path);
        not_a_package_file(p)?;
        let (file, meta) =
            open_regular_with_meta(p).map_err(|e| io_error("cannot read", path, e))?;
        let bytes = read_bounded_file(p, file).map_err(|e| io_error("cannot read", path, e))??;
        Ok((bytes, mode_bits(&meta)))
    }

    fn read_listed(&self, path: &str, listed: &Listed) -> StoreResult<Vec<u8>> {
        let p = Path::new(path);
        let file = open_listed(p, listed)?;
        read_bounded_file(p, file).map_err(|e| io_error("cannot read", path, e))?
    }

    fn write(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        write_package(Path::new(path), bytes, meta, Replace::Yes)
    }

    fn write_new(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        write_package(Path::new(path), bytes, meta, Replace::No)
    }

    /// Anything with the name counts (a FIFO or a device too, which [`write`] then
    /// refuses by kind); a folder is not a package, the same answer every action gives.
    fn exists(&self, path: &str) -> StoreResult<bool> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => {
                not_a_package_file(Path::new(path))?;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("cannot check", path, e)),
        }
    }

    /// The inode behind every name (bind mounts, links, `..`), with its size and
    /// modification time: a write here renames a new inode in, an edit changes them.
    fn stamp(&self, path: &str) -> StoreResult<Option<String>> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("cannot check", path, e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(Some(format!(
                "file {}:{} {} bytes {}.{:09}",
                meta.dev(),
                meta.ino(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec()
            )))
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Ok(None)
        }
    }

    fn file_mode(&self, path: &str) -> Option<u32> {
        mode_bits(&std::fs::metadata(path).ok()?)
    }

    /// Through a symbolic link, as the write goes through it.
    fn read_only(&self, path: &str) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly())
    }

    /// The file's own mark (as Windows, whose delete refuses a read-only file), or a
    /// folder with no write permission for anyone, which an administrator's (root's)
    /// delete would otherwise pass over.
    fn write_protected(&self, path: &str) -> Option<String> {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.permissions().readonly()) {
            return Some("the file is read-only".into());
        }
        let folder = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::metadata(folder)
            .is_ok_and(|m| m.permissions().readonly())
            .then(|| format!("its folder `{}` is read-only", folder.display()))
    }

    fn undeletable(&self, path: &str) -> Option<String> {
        super::move_aside::undeletable(Path::new(path))
    }

    fn delete(&self, path: &str) -> StoreResult<()> {
        not_a_package_file(Path::new(path))?;
        std::fs::remove_file(path).map_err(|e| io_error("cannot delete", path, e))
    }

    /// Renamed aside, then deleted only if unchanged ([`super::move_aside`]).
    fn delete_if(&self, path: &str, approve: &mut dyn FnMut() -> bool) -> StoreResult<bool> {
        not_a_package_file(Path::new(path))?;
        super::move_aside::delete_if_unchanged(self, path, approve)
    }

    /// As the platform's file systems usually are: case-sensitive on Linux.
    fn case_insensitive(&self) -> bool {
        cfg!(any(windows, target_os = "macos"))
    }

    fn same_package(&self, a: &str, b: &str) -> bool {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        }
    }

    fn folder_create(&self, parent: &str, name: &str) -> StoreResult<()> {
        let dir = Path::new(parent).join(name);
        std::fs::create_dir(&dir).map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                StoreError::Failed(format!(
                    "cannot create folder `{}`: it already exists",
                    dir.display()
                ))
            } else {
                folder_error("cannot create folder", &dir, e)
            }
        })
    }

    fn folder_create_all(&self, path: &str) -> StoreResult<()> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Failed(format!("cannot create `{path}`: {e}")))
    }

    fn folder_delete(&self, parent: &str, name: &str) -> StoreResult<()> {
        let dir = Path::new(parent).join(name);
        if !dir.is_dir() {
            return Err(StoreError::NotFound(format!(
                "cannot delete folder `{}`: it does not exist",
                dir.display()
            )));
        }
        std::fs::remove_dir(&dir).map_err(|e| {
            if dir.read_dir().is_ok_and(|mut d| d.next().is_some()) {
                StoreError::Failed(format!(
                    "cannot delete folder `{}`: it is not empty (delete or move its packages and folders first)",
                    dir.display()
                ))
            } else {
                folder_error("cannot delete folder", &dir, e)
            }
        })
    }

    fn folder_exists(&self, path: &str) -> StoreResult<bool> {
        Ok(Path::new(path).is_dir())
    }

    fn folder_rename(&self, parent: &str, old: &str, new: &str) -> StoreResult<()> {
        let from = Path::new(parent).join(old);
        let to = Path::new(parent).join(new);
        if !from.is_dir() {
            return Err(StoreError::NotFound(format!(
                "cannot rename folder `{}`: it does not exist",
                from.display()
            )));
        }
        if to.exists() && !same_dir_entry(&from, &to) {
            return Err(StoreError::Failed(format!(
                "cannot rename folder `{}` to `{new}`: `{}` already exists",
                from.display(),
                to.display()
            )));
        }
        std::fs::rename(&from, &to).map_err(|e| folder_error("cannot rename folder", &from, e))
    }

    /// Every entry of a directory; a link counts as what it points to.
    fn folder_list(&self, path: &str) -> StoreResult<Vec<Entry>> {
        let dir = Path::new(path);
        let read =
            std::fs::read_dir(dir).map_err(|e| folder_error("cannot list folder", dir, e))?;
        let mut entries = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| folder_error("cannot list folder", dir, e))?;
            entries.push(Entry {
                name: entry.file_name().to_string_lossy().into_owned(),
                is_folder: entry.path().is_dir(),
            });
        }
        Ok(entries)
    }
}

/// A file's permission bits (`None` where files have none).
fn mode_bits(meta: &std::fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

fn folder_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    let msg = format!("{what} `{}`: {e}", path.display());
    match e.kind() {
        ErrorKind::NotFound => {
            StoreError::NotFound(format!("{what} `{}`: no such folder", path.display()))
        }
        ErrorKind::PermissionDenied => StoreError::PermissionDenied(msg),
        _ => StoreError::Failed(msg),
    }
}

/// A rename that only changes the case of a name on a case-insensitive file system.
fn same_dir_entry(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Opens `path` for reading only if it is a regular file (a symlink to one is fine): a
/// FIFO would block the open or the read forever, `/dev/zero` would read to the bound.
/// Opened without blocking, then checked on the open handle, so nothing can swap it.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    open_regular_with_meta(path).map(|(file, _)| file)
}

/// [`open_regular`], with the metadata of the open file (one look serves the check and
/// the caller).
fn open_regular_with_meta(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "not a regular file (it is {}); only package files are read",
                kind_name(&meta.file_type())
            ),
        ));
    }
    Ok((file, meta))
}

/// Whether a write may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replace {
    Yes,
    No,
}

/// A folder, FIFO, device or socket under a package's name: every action refuses it
/// the same way, naming what it is (exit 1), and nothing ever replaces it.
fn not_a_package_file(path: &Path) -> StoreResult<()> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.is_file() {
        return Ok(());
    }
    Err(StoreError::Failed(format!(
        "`{}` is {}, not a package file; nothing read or written",
        path.display(),
        // A package's name is in a store's terms, where directories are folders.
        if meta.is_dir() {
            "a folder"
        } else {
            kind_name(&meta.file_type())
        }
    )))
}

fn write_package(
    path: &Path,
    bytes: &[u8],
    meta: &PackageMeta,
    replace: Replace,
) -> StoreResult<()> {
    let shown = path.display().to_string();
    let (target, seen) = resolve(path).map_err(|e| io_error("cannot write", &shown, e))?;
    let dir = parent_dir(&target);
    if !dir.is_dir() {
        return Err(StoreError::Failed(format!(
            "cannot write `{shown}`: folder `{}` does not exist (create it first)",
            dir.display()
        )));
    }
    let existing = match seen {
        Ok(m) => Some(m),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(io_error("cannot write", &shown, e)),
    };
    if let Some(m) = &existing {
        not_a_package_file(&target)?;
        refuse_planted_file(&target, m).map_err(|e| io_error("cannot write", &shown, e))?;
        if replace == Replace::No {
            return Err(StoreError::Exists(format!("file `{shown}` exists")));
        }
        if m.permissions().readonly() && !meta.replace_read_only {
            return Err(StoreError::PermissionDenied(format!(
                "file `{shown}` is read-only; nothing written"
            )));
        }
    }
    write_atomically_in(&target, bytes, existing.as_ref(), meta.file_mode, replace).map_err(|e| {
        match e.kind() {
            ErrorKind::AlreadyExists => StoreError::Exists(format!("file `{shown}` exists")),
            _ => io_error("cannot write", &shown, e),
        }
    })
}

/// Writes a temporary file beside the target, flushes it to disk, then renames it
/// over the target, so a crash leaves either the old file or the whole new one.
/// A replaced file keeps its mode and (where the process may set it) its owner.
/// `path` is resolved as every destination is ([`super::destination`]): through a
/// symlink to its target, never over a device, FIFO or `/proc` file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_as(path, bytes, NewFileMode::Umask)
}

/// [`write_atomically`] of a new file made from the local file `source` (a project's
/// `--out`): created with that file's permission bits, as [`NewFileMode::LikeSource`].
pub fn write_atomically_like(path: &Path, bytes: &[u8], source: &Path) -> std::io::Result<()> {
    write_atomically_as(path, bytes, mode_of(source))
}

fn write_atomically_as(path: &Path, bytes: &[u8], new_mode: NewFileMode) -> std::io::Result<()> {
    let (target, existing) = target_in_existing_folder(path)?;
    write_atomically_in(&target, bytes, existing.as_ref(), new_mode, Replace::Yes)
}

/// How a new file made from the local file `source` is created: with its permission
/// bits ([`NewFileMode::LikeSource`]), or as any new file where it has none.
pub fn mode_of(source: &Path) -> NewFileMode {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(source) {
            return NewFileMode::LikeSource(meta.permissions().mode());
        }
    }
    let _ = source;
    NewFileMode::Umask
}

/// [`regular_target`], refused when its folder does not exist (nothing creates it).
fn target_in_existing_folder(path: &Path) -> std::io::Result<(PathBuf, Option<std::fs::Metadata>)> {
    let (target, existing) = regular_target(path)?;
    let dir = parent_dir(&target);
    if !dir.is_dir() {
        return Err(std::io::Error::new(
            ErrorKind::NotFound,
            format!("folder `{}` does not exist", dir.display()),
        ));
    }
    Ok((target, existing))
}

/// A new file gets mode 0666 (0644-style modes then come from the umask and a
/// directory's default ACL, as for any new file), or its source's bits as `new_mode`
/// says; an existing file's own mode and owner always win, set once the content is
/// written into a temporary file only its owner can open. Without
/// [`Replace::Yes`] the final rename never replaces anything (`renameat2`
/// `RENAME_NOREPLACE`, or link + unlink where that is missing): of two racing writers
/// exactly one gets the name.
fn write_atomically_in(
    target: &Path,
    bytes: &[u8],
    existing: Option<&std::fs::Metadata>,
    new_mode: NewFileMode,
    replace: Replace,
) -> std::io::Result<()> {
    stage_in(target, bytes, existing, new_mode)?
        .commit_with(replace)
        .map(drop)
}

/// A file written beside its target and flushed to disk, not yet renamed over it: the
/// first half of [`write_atomically`], for a writer that must have every file ready
/// before it replaces any (a project's files). Dropped without [`StagedFile::commit`],
/// the temporary file is removed and the target is as it was.
pub struct StagedFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

/// Writes `bytes` to a temporary file beside `target` (which keeps its mode and owner
/// when it is replaced), flushed, ready for [`StagedFile::commit`].
/// `path` is resolved as [`write_atomically`] resolves it.
pub fn stage(path: &Path, bytes: &[u8], new_mode: NewFileMode) -> std::io::Result<StagedFile> {
    let (target, existing) = target_in_existing_folder(path)?;
    stage_in(&target, bytes, existing.as_ref(), new_mode)
}

impl StagedFile {
    /// Renames the staged file over its target.
    pub fn commit(self) -> std::io::Result<()> {
        self.commit_with(Replace::Yes).map(drop)
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The staged file, open (to lock it before it takes the target's name).
    pub fn file(&self) -> &std::fs::File {
        self.tmp.as_file()
    }

    /// [`Self::commit`], keeping the file open: a lock taken on it stays held.
    pub fn commit_open(self) -> std::io::Result<std::fs::File> {
        self.commit_with(Replace::Yes)
    }

    /// [`Self::commit`], except that when the rename fails the staged file is kept,
    /// not removed, and its path is given with the error: what it holds (a file's old
    /// content, for a roll-back) is not lost.
    pub fn commit_or_keep(self) -> Result<(), (std::io::Error, Option<PathBuf>)> {
        let target = self.target.clone();
        match self.tmp.persist(&target) {
            Ok(_) => {
                #[cfg(unix)]
                if let Ok(d) = std::fs::File::open(parent_dir(&target)) {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            Err(e) => {
                let kept = e.file.keep().ok().map(|(_, path)| path);
                Err((e.error, kept))
            }
        }
    }

    fn commit_with(self, replace: Replace) -> std::io::Result<std::fs::File> {
        let file = match replace {
            Replace::Yes => self.tmp.persist(&self.target).map_err(|e| e.error)?,
            Replace::No => self
                .tmp
                .persist_noclobber(&self.target)
                .map_err(|e| e.error)?,
        };
        // The rename is durable once its folder is synced; std cannot open a folder on
        // Windows (that needs FILE_FLAG_BACKUP_SEMANTICS), so there it is not synced.
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(parent_dir(&self.target)) {
            let _ = d.sync_all();
        }
        Ok(file)
    }
}

/// Writes `bytes` in pieces, asking the kernel to start writing each to disk as soon
/// as it is in the page cache (Linux `sync_file_range`): the disk works while the rest
/// is copied in, and the `fsync` after waits for less. Whole, a large package's
/// write-back all began at the `fsync` (14 MB: ~90 ms here, after ~15 ms of copying).
fn write_flushing(file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    const PIECE: usize = 1 << 20;
    let mut written = 0;
    for piece in bytes.chunks(PIECE) {
        file.write_all(piece)?;
        start_write_back(file, written, piece.len());
        written += piece.len();
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn start_write_back(file: &std::fs::File, offset: usize, len: usize) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain system call on an open descriptor we own; it reads no
    // memory of ours. Only a hint: its failure leaves the `fsync` to do it all.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// Elsewhere the `fsync` after the write does all the work.
#[cfg(not(target_os = "linux"))]
fn start_write_back(_file: &std::fs::File, _offset: usize, _len: usize) {}

fn stage_in(
    target: &Path,
    bytes: &[u8],
    existing: Option<&std::fs::Metadata>,
    new_mode: NewFileMode,
) -> std::io::Result<StagedFile> {
    // Absolute, or tempfile asks the current directory for every file.
    let dir = super::destination::absolute(&parent_dir(target));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".dtutil-").suffix(".tmp");
    #[cfg(unix)]
    {
        // A mode set after the content is written comes too late: a reader that
        // opened the file meanwhile keeps reading (permissions are checked at open),
        // and a crash leaves the file as it was. So a file that will carry a mode of
        // its own (a replaced file's, a moved file's) is written owner-only and given
        // that mode afterwards; only a new file whose mode comes from the umask is
        // created with it, that being what it ends with anyway (a folder's default ACL
        // included), as `cp` creates its copy with the source's bits: a 0600 source's
        // copy is 0600 from the start.
        use std::os::unix::fs::PermissionsExt;
        let mode = match (existing, new_mode) {
            (_, NewFileMode::Private) | (Some(_), _) | (None, NewFileMode::Exactly(_)) => 0o600,
            (None, NewFileMode::Umask) => 0o666,
            (None, NewFileMode::LikeSource(bits)) => (bits & 0o777) | 0o200,
        };
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    let mut tmp = builder.tempfile_in(&dir)?;
    write_flushing(tmp.as_file_mut(), bytes)?;
    if let Some(meta) = existing {
        #[cfg(unix)]
        {
            // Only root may give a file away: anyone else keeps the group where they
            // belong to it, and the new file is theirs (docs/reliability.md).
            use std::os::unix::fs::{fchown, MetadataExt};
            if fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid())).is_err() {
                let _ = fchown(tmp.as_file(), None, Some(meta.gid()));
            }
        }
        // After the owner: a chown clears the set-id bits the mode may carry.
        if new_mode != NewFileMode::Private {
            let _ = tmp.as_file().set_permissions(meta.permissions());
        }
    } else if let NewFileMode::Exactly(mode) = new_mode {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
    }
    tmp.as_file().sync_all()?;
    Ok(StagedFile {
        tmp,
        target: target.to_path_buf(),
    })
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
