//! DTS: the package store, as the SSIS service presents it (SPEC 2).
//!
//! Its top-level folders ("roots") come from a file in the `MsDtsSrvr.ini.xml` format:
//! `TopLevelFolders` holding `Folder xsi:type="SqlServerFolder"` {Name, ServerName} and
//! `Folder xsi:type="FileSystemFolder"` {Name, StorePath}. The file is named by
//! `DTUTIL_STORE_CONFIG` (the `--store-config` flag sets it); without it,
//! [`default_config_file`] is read when it exists, else [`DtsConfig::builtin`]:
//! `MSDB` → server `.` (the local default instance) and `File System` →
//! [`default_packages_dir`].
//!
//! `/DTS "File System\F\Pkg"` is `<StorePath>/F/Pkg.dtsx`; `/DTS "MSDB\F\Pkg"` is msdb
//! folder `F`, package `Pkg`, on the root's server, or on `/SourceServer`/`/DestServer`
//! when given. A `FileSystemFolder` whose StorePath is an Azure Files share
//! (`\\ACCOUNT.file.core.windows.net\SHARE[\dir]` or its https form) keeps its packages
//! there: that is what an Azure-SSIS IR package store is (our extension). Paths never
//! leave their root: `.` and `..` segments are refused.
//!
//! Each root is an ordinary store opened through the factory ([`crate::store::open`]):
//! msdb, the file system or Azure Files; this module only maps package store paths onto
//! theirs.
//!
//! msdb roots sign in as the plan says (integrated authentication, or an Azure AD token
//! from `DTUTIL_SQL_ACCESS_TOKEN`); where dtutil used the SSIS service's Windows
//! identity, `DTUTIL_STORE_SQL_USER` and `DTUTIL_STORE_SQL_PASSWORD` give a SQL login.

mod config;

pub use config::{
    default_config_file, default_packages_dir, DtsConfig, Root, RootAccess, RootKind,
};

use super::path::{self as store_path, display};
use super::StoreResult;
use super::{Entry, Location, PackageMeta, SqlCredentials, Store, StoreConfig, StoreError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Splits a store path into names; `.` and `..` are refused.
pub fn segments(path: &str) -> StoreResult<Vec<String>> {
    store_path::segments(
        path,
        "a package store path (paths never leave their top-level folder)",
    )
}

/// How a root lays out its packages in its store.
enum Layout {
    /// msdb: `\Folder\Name`.
    Msdb,
    /// A local directory: `<dir>/Folder/Name.dtsx`.
    Local(PathBuf),
    /// An Azure Files directory: `<dir>\Folder\Name.dtsx`.
    Azure(String),
}

/// A root, opened on first use: the store that holds it and where in that store.
struct RootStore {
    store: Box<dyn Store>,
    layout: Layout,
}

impl RootStore {
    /// The store path of a folder below the root (`rest` may be empty: the root).
    fn folder(&self, rest: &[String]) -> String {
        match &self.layout {
            Layout::Msdb => display(rest),
            Layout::Local(dir) => local_path(dir, rest).display().to_string(),
            Layout::Azure(base) => store_path::join_all(base, rest.iter().map(String::as_str)),
        }
    }

    /// The store path of a package (`rest` holds at least its name).
    fn package(&self, rest: &[String]) -> String {
        let (name, folders) = rest.split_last().expect("resolve_package");
        let file = package_file(name);
        match &self.layout {
            Layout::Msdb => display(rest),
            Layout::Local(dir) => {
                let folder = local_path(dir, folders);
                folder
                    .join(local_name(&folder, &file))
                    .display()
                    .to_string()
            }
            Layout::Azure(base) => store_path::join_all(
                base,
                folders.iter().map(String::as_str).chain([file.as_str()]),
            ),
        }
    }

    /// The name of the existing entry in `parent` that `name` means (local roots
    /// ignore case, see [`local_name`]; msdb and Azure Files do it themselves).
    fn existing_name(&self, parent: &str, name: &str) -> String {
        match self.layout {
            Layout::Local(_) => local_name(Path::new(parent), name),
            _ => name.to_string(),
        }
    }

    /// Folders hold packages as `*.dtsx` files (not msdb).
    fn holds_files(&self) -> bool {
        !matches!(self.layout, Layout::Msdb)
    }
}

/// A local root stands for the Windows folder the SSIS service kept packages in, where
/// names compare case-insensitively: `File System\upper` is `UPPER.DTSX`. Each name is
/// the existing entry that matches it exactly, else the one that matches it ignoring
/// case, else (a new name) the name as given.
fn local_path(dir: &Path, names: &[String]) -> PathBuf {
    let mut p = dir.to_path_buf();
    for name in names {
        let found = local_name(&p, name);
        p.push(found);
    }
    p
}

fn local_name(dir: &Path, name: &str) -> String {
    if std::fs::symlink_metadata(dir.join(name)).is_ok() {
        return name.to_string();
    }
    let lower = name.to_lowercase();
    let mut matches = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.to_lowercase() == lower);
    match (matches.next(), matches.next()) {
        // Two names that differ only in case cannot be told apart: neither is chosen.
        (Some(only), None) => only,
        _ => name.to_string(),
    }
}

pub struct DtsStore {
    config: DtsConfig,
    sql: SqlCredentials,
    stores: StoreConfig,
    roots: Mutex<Vec<Option<Arc<RootStore>>>>,
}

/// Opens the package store with the configuration the store configuration names. `sql`
/// is the plan's connection: its server, when given, overrides the msdb roots' servers.
pub fn open(sql: &SqlCredentials, stores: &StoreConfig) -> StoreResult<Box<dyn Store>> {
    Ok(Box::new(DtsStore::with_stores(
        DtsConfig::load(stores)?,
        sql.clone(),
        stores.clone(),
    )))
}

/// `localhost`, `.`, `(local)` and the loopback addresses, without a port or instance.
fn names_this_machine(server: &str) -> bool {
    ["localhost", ".", "(local)", "127.0.0.1", "::1", "[::1]"]
        .iter()
        .any(|local| server.trim().eq_ignore_ascii_case(local))
}

const PACKAGE_EXT: &str = ".dtsx";

fn is_package_file(name: &str) -> bool {
    name.len() > PACKAGE_EXT.len()
        && name[name.len() - PACKAGE_EXT.len()..].eq_ignore_ascii_case(PACKAGE_EXT)
}

fn package_file(name: &str) -> String {
    if is_package_file(name) {
        name.to_string()
    } else {
        format!("{name}{PACKAGE_EXT}")
    }
}

impl DtsStore {
    /// A package store whose roots' stores have no settings of their own (tests).
    pub fn new(config: DtsConfig, sql: SqlCredentials) -> Self {
        Self::with_stores(config, sql, StoreConfig::default())
    }

    /// `stores` configures the stores the roots open.
    pub fn with_stores(config: DtsConfig, mut sql: SqlCredentials, stores: StoreConfig) -> Self {
        // For DTS, Windows dtutil's /SourceServer or /DestServer names the machine whose
        // SSIS service (and so whose MsDtsSrvr.ini.xml) is used: this machine's name means
        // its configured roots, not a SQL Server at localhost:1433 (review user F4).
        if sql.server.as_deref().is_some_and(names_this_machine) {
            sql.server = None;
        }
        let n = config.roots.len();
        Self {
            config,
            sql,
            stores,
            roots: Mutex::new((0..n).map(|_| None).collect()),
        }
    }

    pub fn config(&self) -> &DtsConfig {
        &self.config
    }

    /// The root and the names below it; `None` for the store's own root (`\`).
    fn resolve(&self, path: &str) -> StoreResult<Option<(usize, Vec<String>)>> {
        let mut segs = segments(path)?;
        if segs.is_empty() {
            return Ok(None);
        }
        let first = segs.remove(0);
        let index = self
            .config
            .roots
            .iter()
            .position(|r| r.name.eq_ignore_ascii_case(&first))
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "the package store has no top-level folder `{first}` (it has: {}; from {})",
                    self.config.names(),
                    self.config.origin
                ))
            })?;
        Ok(Some((index, segs)))
    }

    /// A package path: a root and at least a name.
    fn resolve_package(&self, path: &str) -> StoreResult<(usize, Vec<String>)> {
        match self.resolve(path)? {
            Some((i, rest)) if !rest.is_empty() => Ok((i, rest)),
            Some((i, _)) => Err(StoreError::Failed(format!(
                "`{path}` is the top-level folder `{}`, not a package in it (e.g. `{}\\Folder\\Package`)",
                self.config.roots[i].name, self.config.roots[i].name
            ))),
            None => Err(StoreError::Failed(format!(
                "`{path}` names no package: package store paths start with a top-level folder ({})",
                self.config.names()
            ))),
        }
    }

    fn root(&self, index: usize) -> StoreResult<Arc<RootStore>> {
        if let Some(r) = &self.roots.lock().unwrap()[index] {
            return Ok(r.clone());
        }
        let root = &self.config.roots[index];
        if let Some(why) = &root.access.unavailable {
            return Err(StoreError::Failed(why.clone()));
        }
        // The root's own credentials, over the process-wide ones.
        let stores = root
            .access
            .vars
            .iter()
            .fold(self.stores.clone(), |stores, (name, value)| {
                stores.with_var(name, value.clone())
            });
        let opened = match &root.kind {
            config::RootKind::Sql { server } => {
                let mut creds = self.sql.clone();
                if creds.server.as_deref().unwrap_or("").trim().is_empty() {
                    creds.server = Some(server.clone());
                }
                if creds.user.is_none() {
                    // dtutil reaches these roots through the SSIS service's Windows
                    // identity; a SQL login for them comes from the configuration.
                    if let Some(user) = stores
                        .var("DTUTIL_STORE_SQL_USER")
                        .filter(|u| !u.trim().is_empty())
                    {
                        creds.user = Some(user);
                        creds.password = stores
                            .var("DTUTIL_STORE_SQL_PASSWORD")
                            .map(zeroize::Zeroizing::new);
                    }
                }
                let no_login = creds.user.is_none();
                let store = super::open(&Location::Sql(creds), &stores).map_err(|e| match e {
                    StoreError::Failed(m) if no_login && m.contains("integrated authentication") => {
                        // The SSIS service would use its Windows identity; dtutil uses the
                        // caller's Kerberos ticket. The command's login options do not
                        // apply to a root: name what does.
                        let reason = m.split(" Or give ").next().unwrap_or(&m);
                        StoreError::Failed(format!(
                            "package store root `{}` is in msdb on `{}`: {reason} For this root, DTUTIL_STORE_SQL_USER and DTUTIL_STORE_SQL_PASSWORD give a SQL login instead, or DTUTIL_SQL_ACCESS_TOKEN an Azure AD access token",
                            root.name,
                            crate::redact::sql_server(server)
                        ))
                    }
                    other => other,
                })?;
                RootStore {
                    store,
                    layout: Layout::Msdb,
                }
            }
            config::RootKind::FileSystem { store_path } => {
                let location = Location::file_path(store_path);
                let layout = match &location {
                    Location::AzureFiles(_) => Layout::Azure(store_path.clone()),
                    _ => Layout::Local(self.local_dir(root, store_path)?),
                };
                RootStore {
                    store: super::open(&location, &stores)?,
                    layout,
                }
            }
        };
        let opened = Arc::new(opened);
        self.roots.lock().unwrap()[index] = Some(opened.clone());
        Ok(opened)
    }

    /// A local root's directory; the built-in default's is created when first used.
    fn local_dir(&self, root: &Root, store_path: &str) -> StoreResult<PathBuf> {
        let dir = PathBuf::from(store_path);
        if !dir.is_dir() {
            if self.config.builtin {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    StoreError::Failed(format!(
                        "cannot create the package store directory `{}`: {e}",
                        dir.display()
                    ))
                })?;
            } else {
                return Err(StoreError::Failed(format!(
                    "the StorePath `{}` of top-level folder `{}` is not a directory (from {})",
                    dir.display(),
                    root.name,
                    self.config.origin
                )));
            }
        }
        Ok(dir)
    }

    /// A local root's missing folder is a folder to create first, not a missing package.
    fn folder_hint(layout: &Layout, written: StoreResult<()>) -> StoreResult<()> {
        match (layout, written) {
            (Layout::Local(_), Err(StoreError::NotFound(m))) => Err(StoreError::Failed(format!(
                "{m}; create the folder first (/FC DTS;ParentFolder;Name)"
            ))),
            (_, other) => other,
        }
    }

    /// The root store of a package and the package's path in it.
    fn package_target(&self, path: &str) -> StoreResult<(Arc<RootStore>, String)> {
        let (i, rest) = self.resolve_package(path)?;
        let root = self.root(i)?;
        let target = root.package(&rest);
        Ok((root, target))
    }

    /// A folder action's parent and the name under it; refuses the store's own root.
    fn child(
        &self,
        parent: &str,
        name: &str,
        doing: &str,
    ) -> StoreResult<(usize, Vec<String>, String)> {
        let name_segs = segments(name)?;
        if name_segs.len() != 1 {
            return Err(StoreError::Failed(format!(
                "`{name}` is not a folder name (one name, without \\ or /)"
            )));
        }
        match self.resolve(parent)? {
            Some((i, rest)) => Ok((i, rest, name_segs[0].clone())),
            None => Err(StoreError::Unsupported(format!(
                "cannot {doing} a top-level folder of the package store: they come from its configuration ({}); work inside one of them ({})",
                self.config.origin,
                self.config.names()
            ))),
        }
    }

    fn roots_listing(&self) -> Vec<Entry> {
        self.config
            .roots
            .iter()
            .map(|r| Entry {
                name: r.name.clone(),
                is_folder: true,
            })
            .collect()
    }
}

/// Folders, then `*.dtsx` packages (shown without the extension), each sorted by name;
/// other files are not packages and are left out.
fn file_system_entries(entries: Vec<Entry>) -> Vec<Entry> {
    let mut folders: Vec<Entry> = Vec::new();
    let mut packages: Vec<Entry> = Vec::new();
    for e in entries {
        if e.is_folder {
            folders.push(e);
        } else if is_package_file(&e.name) && !e.name.starts_with(".dtutil-") {
            packages.push(Entry {
                name: e.name[..e.name.len() - PACKAGE_EXT.len()].to_string(),
                is_folder: false,
            });
        }
    }
    folders.sort_by_key(|e| e.name.to_lowercase());
    packages.sort_by_key(|e| e.name.to_lowercase());
    folders.extend(packages);
    folders
}

impl Store for DtsStore {
    fn server_not_used(&self, path: &str) -> Option<String> {
        let server = self
            .sql
            .server
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(crate::redact::sql_server)?;
        let (i, _) = self.resolve(path).ok().flatten()?;
        let root = &self.config.roots[i];
        let config::RootKind::FileSystem { store_path } = &root.kind else {
            return None;
        };
        let place = if matches!(Location::file_path(store_path), Location::AzureFiles(_)) {
            "the Azure Files folder"
        } else {
            "the folder on this machine"
        };
        Some(format!(
            "`{server}` is not used: package store root `{}` is {place} `{store_path}` (from {}), and a server stands in only for an msdb root's; for {server}'s package store, name its folders in a store configuration (DTUTIL_STORE_CONFIG), or give its share as a FILE path",
            root.name, self.config.origin
        ))
    }

    fn describe(&self, path: &str) -> String {
        let shown = segments(path)
            .map(|s| display(&s))
            .unwrap_or_else(|_| path.to_string());
        let place = match self.resolve(path) {
            Ok(Some((i, rest))) => match &self.config.roots[i].kind {
                RootKind::Sql { server } => {
                    let server = self.sql.server.clone().unwrap_or_else(|| server.clone());
                    format!(
                        " (msdb `{}` on {})",
                        display(&rest),
                        crate::redact::sql_server(&server)
                    )
                }
                RootKind::FileSystem { store_path } => {
                    let name = rest.last().map(|n| package_file(n)).unwrap_or_default();
                    let mut folders = rest.clone();
                    folders.pop();
                    let azure = matches!(Location::file_path(store_path), Location::AzureFiles(_));
                    let sep = if azure || cfg!(windows) { "\\" } else { "/" };
                    let mut p = store_path.trim_end_matches(['\\', '/']).to_string();
                    for f in folders.iter().chain(std::iter::once(&name)) {
                        p.push_str(sep);
                        p.push_str(f);
                    }
                    format!(" (`{p}`)")
                }
            },
            _ => String::new(),
        };
        format!("package store package `{shown}`{place}")
    }

    fn read(&self, path: &str) -> StoreResult<Vec<u8>> {
        let (root, target) = self.package_target(path)?;
        root.store.read(&target)
    }

    fn read_with_mode(&self, path: &str) -> StoreResult<(Vec<u8>, Option<u32>)> {
        let (root, target) = self.package_target(path)?;
        root.store.read_with_mode(&target)
    }

    fn write(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        let (root, target) = self.package_target(path)?;
        let written = root.store.write(&target, bytes, meta);
        Self::folder_hint(&root.layout, written)
    }

    fn write_new(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        let (root, target) = self.package_target(path)?;
        let written = root.store.write_new(&target, bytes, meta);
        Self::folder_hint(&root.layout, written)
    }

    fn file_mode(&self, path: &str) -> Option<u32> {
        let (root, target) = self.package_target(path).ok()?;
        root.store.file_mode(&target)
    }

    fn exists(&self, path: &str) -> StoreResult<bool> {
        let (root, target) = self.package_target(path)?;
        root.store.exists(&target)
    }

    fn stamp(&self, path: &str) -> StoreResult<Option<String>> {
        let (root, target) = self.package_target(path)?;
        root.store.stamp(&target)
    }

    fn read_only(&self, path: &str) -> bool {
        self.package_target(path)
            .is_ok_and(|(root, target)| root.store.read_only(&target))
    }

    fn write_protected(&self, path: &str) -> Option<String> {
        let (root, target) = self.package_target(path).ok()?;
        root.store.write_protected(&target)
    }

    fn undeletable(&self, path: &str) -> Option<String> {
        let (root, target) = self.package_target(path).ok()?;
        root.store.undeletable(&target)
    }

    fn delete(&self, path: &str) -> StoreResult<()> {
        let (root, target) = self.package_target(path)?;
        root.store.delete(&target)
    }

    fn delete_if(&self, path: &str, approve: &mut dyn FnMut() -> bool) -> StoreResult<bool> {
        let (root, target) = self.package_target(path)?;
        root.store.delete_if(&target, approve)
    }

    fn same_package(&self, a: &str, b: &str) -> bool {
        match (self.resolve(a), self.resolve(b)) {
            (Ok(Some((i, x))), Ok(Some((j, y)))) if i == j => {
                let (Ok((root, ta)), Ok((_, tb))) =
                    (self.package_target(a), self.package_target(b))
                else {
                    return x == y;
                };
                root.store.same_package(&ta, &tb)
            }
            _ => false,
        }
    }

    /// The server that overrides the msdb roots', case and blanks aside (none: the
    /// configured ones): two package stores with different servers are two places.
    fn place(&self) -> String {
        let server = self.sql.server.as_deref().unwrap_or("");
        format!("package store on {}", server.trim().to_lowercase())
    }

    /// A root may be msdb, whose columns the writer fills.
    fn has_msdb_metadata(&self) -> bool {
        true
    }

    /// Only a root in msdb: file system roots (local or Azure Files) are plain files.
    fn secure_storage(&self, path: &str) -> bool {
        self.package_target(path)
            .is_ok_and(|(root, target)| root.store.secure_storage(&target))
    }

    /// Every kind of root is: msdb, Azure Files, and local roots match names as the
    /// Windows folder they stand for did ([`local_name`]).
    fn case_insensitive(&self) -> bool {
        true
    }

    fn folder_create(&self, parent: &str, name: &str) -> StoreResult<()> {
        let (i, rest, name) = self.child(parent, name, "create")?;
        let root = self.root(i)?;
        let parent_target = root.folder(&rest);
        if let Layout::Local(_) = root.layout {
            if !Path::new(&parent_target).is_dir() {
                return Err(StoreError::NotFound(format!(
                    "the package store folder `{}` does not exist",
                    display(&[vec![self.config.roots[i].name.clone()], rest].concat())
                )));
            }
            let existing = local_name(Path::new(&parent_target), &name);
            if existing != name {
                return Err(StoreError::Failed(format!(
                    "cannot create folder `{name}`: `{existing}` exists, and names in the package store ignore case"
                )));
            }
        }
        root.store.folder_create(&parent_target, &name)
    }

    /// The top-level folders come from the configuration: only what is below them is
    /// created.
    fn folder_create_all(&self, path: &str) -> StoreResult<()> {
        let names = segments(path)?;
        super::create_levels(self, &names, 1, |names| store_path::relative(names))
    }

    fn folder_delete(&self, parent: &str, name: &str) -> StoreResult<()> {
        let (i, rest, name) = self.child(parent, name, "delete")?;
        let root = self.root(i)?;
        let parent = root.folder(&rest);
        let name = root.existing_name(&parent, &name);
        root.store.folder_delete(&parent, &name)
    }

    fn folder_exists(&self, path: &str) -> StoreResult<bool> {
        let (i, rest) = match self.resolve(path) {
            Ok(None) => return Ok(true),
            Ok(Some(r)) => r,
            Err(StoreError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if rest.is_empty() {
            return Ok(true);
        }
        let root = self.root(i)?;
        root.store.folder_exists(&root.folder(&rest))
    }

    fn folder_rename(&self, parent: &str, old: &str, new: &str) -> StoreResult<()> {
        let (i, rest, old) = self.child(parent, old, "rename")?;
        let new_segs = segments(new)?;
        if new_segs.len() != 1 {
            return Err(StoreError::Failed(format!(
                "`{new}` is not a folder name (one name, without \\ or /)"
            )));
        }
        let root = self.root(i)?;
        let parent = root.folder(&rest);
        let old = root.existing_name(&parent, &old);
        root.store.folder_rename(&parent, &old, &new_segs[0])
    }

    fn folder_list(&self, path: &str) -> StoreResult<Vec<Entry>> {
        let Some((i, rest)) = self.resolve(path)? else {
            return Ok(self.roots_listing());
        };
        let root = self.root(i)?;
        let entries = root.store.folder_list(&root.folder(&rest))?;
        Ok(if root.holds_files() {
            file_system_entries(entries)
        } else {
            entries
        })
    }
}

#[cfg(test)]
mod tests;
