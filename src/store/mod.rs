//! Where packages live: one small interface, one module per backend, and one factory
//! ([`open`]) that turns a [`Location`] into a store, given a [`StoreConfig`] read once
//! at start-up.
//!
//! Backends move bytes and folders. They know nothing of protection levels or XML;
//! what msdb needs from the package (its id, versions, format) arrives as
//! [`PackageMeta`], read by `ops` through the package module. Paths are split and
//! checked by [`path`] alone.

pub mod azfiles;
mod config;
pub mod destination;
pub mod dts;
pub mod file;
mod file_read;
mod filepath;
mod move_aside;
pub mod msdb;
mod open;
pub mod path;

pub use config::StoreConfig;
pub use filepath::{drive_variable, resolve_file_path};
pub use open::{open, Location};

use std::fmt;
use zeroize::Zeroizing;

/// The largest package a store loads (1 GiB): the package reader's bound
/// (`package::xml::MAX_PACKAGE_BYTES`, which a test in `ops` holds equal to this).
pub const MAX_PACKAGE_BYTES: usize = 1 << 30;

/// A resolved SQL Server connection for one side (source or destination): no user
/// means integrated authentication; no server means the local default instance.
#[derive(Debug, Clone, Default)]
pub struct SqlCredentials {
    pub server: Option<String>,
    pub user: Option<String>,
    pub password: Option<Zeroizing<String>>,
    /// The options (or variables) that give a SQL login in the command that opens the
    /// store, for advice when signing in without one fails: each command spells them
    /// its own way (`/SourceUser`, `--source-user`...). None: dtutil's switches.
    pub login_options: Option<String>,
}

/// dtutil's own switches for a SQL login, when the side is not known.
pub const DTUTIL_LOGIN_OPTIONS: &str =
    "/SourceUser and /SourcePassword (/DestUser and /DestPassword for a destination)";

impl SqlCredentials {
    /// What gives a SQL login where these credentials came from (see `login_options`).
    pub fn login_options(&self) -> &str {
        self.login_options
            .as_deref()
            .unwrap_or(DTUTIL_LOGIN_OPTIONS)
    }
}

/// The permission bits a new file is created with (stores without modes ignore it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NewFileMode {
    /// 0666 less the umask, as any new file (a package from msdb or Azure Files).
    #[default]
    Umask,
    /// A copy of a local file: the source's permission bits less the umask, as `cp`
    /// makes its copy, so a package only its owner could read stays so; but always
    /// writable by its owner (a read-only source, as source control checks files out,
    /// must not make dtutil's own output one that its next run refuses to replace).
    LikeSource(u32),
    /// Exactly these bits: `/MOVE` keeps its source's mode, as a rename would.
    Exactly(u32),
    /// Owner-only (0600) from creation, whatever the file it replaces had: a batch
    /// report, which holds password digests.
    Private,
}

/// What a store may need to file a package besides its bytes (msdb's columns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageMeta {
    pub id: Option<String>,
    pub description: Option<String>,
    pub version_major: i32,
    pub version_minor: i32,
    pub version_build: i32,
    pub version_comments: Option<String>,
    pub version_guid: Option<String>,
    /// msdb `packageformat`: 2 for SSIS 2005 packages, 3 for later ones.
    pub package_format: i32,
    pub package_type: i32,
    /// Encrypted as a whole (levels 3 and 4).
    pub is_encrypted: bool,
    /// The permission bits a new file gets; an overwritten file always keeps its own.
    pub file_mode: NewFileMode,
    /// An existing read-only destination may be replaced (`/Q`); otherwise it is refused.
    pub replace_read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound(String),
    /// The operation exists in dtutil but this backend cannot do it (yet).
    Unsupported(String),
    PermissionDenied(String),
    /// Larger than a package may be ([`MAX_PACKAGE_BYTES`]): cannot be loaded.
    TooLarge(String),
    /// [`Store::write_new`]: the name exists (perhaps made by a racing writer meanwhile).
    Exists(String),
    /// Anything else: I/O, network, server errors. The message says what and where.
    Failed(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(m)
            | Self::Unsupported(m)
            | Self::PermissionDenied(m)
            | Self::TooLarge(m)
            | Self::Exists(m)
            | Self::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// An entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub name: String,
    pub is_folder: bool,
}

/// How a walk of a local tree saw a package file: a link swapped in for it (or for
/// one of its folders) between the listing and the read must not be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// `--follow-links`: the walk went through links, so the read may too.
    pub follow_links: bool,
    /// The file's device and inode as listed (Unix; `None` where unknown).
    pub id: Option<(u64, u64)>,
}

/// A package location: the file system, msdb, the package store, Azure Files.
/// Paths are in the backend's own terms (`Folder\Name` for msdb).
pub trait Store: Send + Sync {
    /// How to name a package of this store in messages.
    fn describe(&self, path: &str) -> String;
    fn read(&self, path: &str) -> StoreResult<Vec<u8>>;
    /// [`Store::read`] and [`Store::file_mode`] together (a copy is made with its
    /// source's bits): a store that opens a file gets both from the one open.
    fn read_with_mode(&self, path: &str) -> StoreResult<(Vec<u8>, Option<u32>)> {
        let bytes = self.read(path)?;
        Ok((bytes, self.file_mode(path)))
    }
    /// Reads a package a walk of the local file system listed, only if `path` still
    /// names the file the walk saw (a store without local files just reads it).
    fn read_listed(&self, path: &str, listed: &Listed) -> StoreResult<Vec<u8>> {
        let _ = listed;
        self.read(path)
    }
    /// Replaces or creates the package atomically: readers see the old bytes or the
    /// new ones, never a part.
    fn write(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()>;
    /// Creates the package only when nothing has its name, so that of two racing
    /// writers exactly one succeeds and the other gets [`StoreError::Exists`]. A store
    /// without an atomic create-if-absent checks, then writes.
    fn write_new(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        if self.exists(path)? {
            return Err(StoreError::Exists(format!(
                "{} exists",
                self.describe(path)
            )));
        }
        self.write(path, bytes, meta)
    }
    fn exists(&self, path: &str) -> StoreResult<bool>;
    /// A fingerprint of the stored object behind `path` as it is now (`None`: nothing
    /// there, or the store cannot tell). Two names of one object (a server alias, a
    /// package store root and its own folder, a bind mount) give the same value, and
    /// any write to the object gives it a new one. `/MOVE` compares them: a source and
    /// a destination with one stamp are one package, and a source whose stamp moved
    /// since it was read was changed meanwhile. Distinct objects may share a stamp
    /// only by rare accident (which then refuses a move, never loses a package).
    fn stamp(&self, path: &str) -> StoreResult<Option<String>> {
        let _ = path;
        Ok(None)
    }
    /// A file's permission bits, where the store has them (`/MOVE` keeps them).
    fn file_mode(&self, path: &str) -> Option<u32> {
        let _ = path;
        None
    }
    /// The package is there and read-only (a write replaces it only when allowed).
    fn read_only(&self, path: &str) -> bool {
        let _ = path;
        false
    }
    /// Why deleting the package would go against a write protection on it (the
    /// file's read-only mark, or a folder that takes no changes), where the store has
    /// such marks; `None` when it has none. `/DELETE` and `/MOVE` keep such a package
    /// unless `/Q`, as a read-only destination is kept.
    fn write_protected(&self, path: &str) -> Option<String> {
        let _ = path;
        None
    }
    /// Why the package cannot be deleted whatever the options (a read-only file
    /// system, an immutable file or folder): `/MOVE` and `/DELETE` refuse it before
    /// anything is written, even with `/Q`. `None` when nothing is known against it.
    fn undeletable(&self, path: &str) -> Option<String> {
        let _ = path;
        None
    }
    fn delete(&self, path: &str) -> StoreResult<()>;
    /// Why the server the command named is not used for `path`, if it is not (the
    /// package store's folder roots are on this machine: only its msdb roots take
    /// another server). Said as a clause after the server switch, for a warning.
    fn server_not_used(&self, path: &str) -> Option<String> {
        let _ = path;
        None
    }
    /// Deletes the package only if `approve`, looking at it as it is now, says so
    /// (`Ok(false)`: refused, nothing deleted). `/MOVE` approves a source that is still
    /// what it copied. Where the store can, no writer of `path` gets between that look
    /// and the delete (msdb: the package's application lock, which every dtutil writer
    /// takes), so what is deleted is what was approved; elsewhere the look comes just
    /// before the delete.
    fn delete_if(&self, path: &str, approve: &mut dyn FnMut() -> bool) -> StoreResult<bool> {
        if !approve() {
            return Ok(false);
        }
        self.delete(path).map(|()| true)
    }
    /// True when both paths name the same package (a move onto itself must not delete).
    fn same_package(&self, a: &str, b: &str) -> bool {
        a == b || (self.case_insensitive() && a.to_lowercase() == b.to_lowercase())
    }

    /// Package and folder names compare case-insensitively here, as in msdb (its
    /// default collation), Azure Files and Windows file systems: `load` finds `Load`,
    /// and an existing name keeps its own case when it is written over.
    fn case_insensitive(&self) -> bool {
        false
    }

    /// True when `other` serves this store's packages under the same paths, so that
    /// [`Store::same_package`] may compare a path of one with a path of the other
    /// (`/MOVE` refuses a move onto itself): the two stores are in the same
    /// [`Store::place`].
    fn same_store(&self, other: &dyn Store) -> bool {
        self.place() == other.place()
    }

    /// Where this store's packages are, for [`Store::same_store`]: by default the
    /// backend's name (one file system, and an Azure Files path names its account
    /// itself). A network store adds the server it reaches. When two spellings may name
    /// one place, they must give the same value: a move onto itself would delete the
    /// package.
    fn place(&self) -> String {
        std::any::type_name::<Self>().to_string()
    }

    /// Packages are filed with msdb's columns, so writers pass a filled [`PackageMeta`].
    fn has_msdb_metadata(&self) -> bool {
        false
    }

    /// A plain local file, which dtutil copies to another local file byte for byte and
    /// no SSIS service loads: a ServerStorage package already in such a file may be
    /// copied to another (its values were in the clear already).
    fn plain_local_file(&self) -> bool {
        false
    }

    /// SQL Server's roles guard what is saved at `path`, so a ServerStorage (level 5)
    /// package, whose sensitive values are kept in the clear, may be saved there.
    fn secure_storage(&self, path: &str) -> bool {
        let _ = path;
        false
    }

    fn folder_create(&self, parent: &str, name: &str) -> StoreResult<()> {
        let _ = (parent, name);
        Err(StoreError::Unsupported(
            "folders are not supported by this location".into(),
        ))
    }
    fn folder_delete(&self, parent: &str, name: &str) -> StoreResult<()> {
        let _ = (parent, name);
        Err(StoreError::Unsupported(
            "folders are not supported by this location".into(),
        ))
    }
    fn folder_exists(&self, path: &str) -> StoreResult<bool> {
        let _ = path;
        Err(StoreError::Unsupported(
            "folders are not supported by this location".into(),
        ))
    }
    fn folder_rename(&self, parent: &str, old: &str, new: &str) -> StoreResult<()> {
        let _ = (parent, old, new);
        Err(StoreError::Unsupported(
            "folders are not supported by this location".into(),
        ))
    }
    fn folder_list(&self, path: &str) -> StoreResult<Vec<Entry>> {
        let _ = path;
        Err(StoreError::Unsupported(
            "folders are not supported by this location".into(),
        ))
    }
    /// Creates a folder and the missing folders above it (`A\B\C`: `A`, then `A\B`...).
    fn folder_create_all(&self, path: &str) -> StoreResult<()> {
        let names = path::segments(path, "a folder path")?;
        create_levels(self, &names, 0, |names| path::relative(names))
    }
}

/// Creates the folders `names[..=i]` for each `i` from `first` on that do not exist
/// yet; `full` renders a folder's path as the store takes it. A folder that another
/// process made meanwhile counts as made.
pub(crate) fn create_levels<S: Store + ?Sized>(
    store: &S,
    names: &[String],
    first: usize,
    full: impl Fn(&[String]) -> String,
) -> StoreResult<()> {
    let cannot =
        |path: &str, e: StoreError| StoreError::Failed(format!("cannot create {path}: {e}"));
    for i in first..names.len() {
        let here = full(&names[..=i]);
        if store.folder_exists(&here).map_err(|e| cannot(&here, e))? {
            continue;
        }
        let parent = if i == 0 { full(&[]) } else { full(&names[..i]) };
        let parent = if parent.is_empty() {
            "\\".to_string()
        } else {
            parent
        };
        match store.folder_create(&parent, &names[i]) {
            Ok(()) => {}
            Err(_) if store.folder_exists(&here).unwrap_or(false) => {}
            Err(e) => return Err(cannot(&here, e)),
        }
    }
    Ok(())
}
