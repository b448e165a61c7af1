//! DTS: the package store, as the SSIS service presents it (SPEC 2).
//!
//! Its top-level folders ("roots") come from a file in the `MsDtsSrvr.ini.xml` format:
//! `TopLevelFolders` holding `Folder xsi:type="SqlServerFolder"` {Name, ServerName} and
//! `Folder xsi:type="FileSystemFolder"` {Name, StorePath}. The file is named by
//! `DTUTIL_STORE_CONFIG` (the `--store-config` flag sets it); without it,
//! [`default_config_file`] is read when it exists, else [`StoreConfig::builtin`]:
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
//! msdb roots sign in as the plan says (integrated authentication, or an Azure AD token
//! from `DTUTIL_SQL_ACCESS_TOKEN`); where dtutil used the SSIS service's Windows
//! identity, `DTUTIL_STORE_SQL_USER` and `DTUTIL_STORE_SQL_PASSWORD` give a SQL login.

use super::azfiles;
use super::file::FileStore;
use super::{Entry, PackageMeta, SqlCredentials, Store, StoreError, StoreResult};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What a top-level folder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKind {
    /// msdb on a SQL Server (`.` is the local default instance).
    Sql { server: String },
    /// A directory: local, or an Azure Files share (UNC or https path).
    FileSystem { store_path: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub name: String,
    pub kind: RootKind,
}

/// The package store's configuration: its roots and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub roots: Vec<Root>,
    /// For messages: the file read, or "the built-in default".
    pub origin: String,
    /// The built-in default creates its packages directory when first written to.
    pub builtin: bool,
}

/// The default `File System` directory: `$XDG_DATA_HOME/dtutil/packages` (or
/// `~/.local/share/dtutil/packages`) on Linux and other Unix systems,
/// `~/Library/Application Support/dtutil/packages` on macOS,
/// `%LOCALAPPDATA%\dtutil\packages` on Windows.
pub fn default_packages_dir() -> PathBuf {
    data_dir().join("dtutil").join("packages")
}

/// The store configuration read when `DTUTIL_STORE_CONFIG` is not set (if it exists):
/// `$XDG_CONFIG_HOME/dtutil/MsDtsSrvr.ini.xml` (or `~/.config/dtutil/...`) on Linux and
/// other Unix systems, `~/Library/Application Support/dtutil/MsDtsSrvr.ini.xml` on
/// macOS, `%APPDATA%\dtutil\MsDtsSrvr.ini.xml` on Windows.
pub fn default_config_file() -> PathBuf {
    config_dir().join("dtutil").join("MsDtsSrvr.ini.xml")
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn home() -> PathBuf {
    env_dir("HOME")
        .or_else(|| env_dir("USERPROFILE"))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn data_dir() -> PathBuf {
    if cfg!(windows) {
        env_dir("LOCALAPPDATA").unwrap_or_else(|| home().join("AppData").join("Local"))
    } else if cfg!(target_os = "macos") {
        home().join("Library").join("Application Support")
    } else {
        env_dir("XDG_DATA_HOME").unwrap_or_else(|| home().join(".local").join("share"))
    }
}

fn config_dir() -> PathBuf {
    if cfg!(windows) {
        env_dir("APPDATA").unwrap_or_else(|| home().join("AppData").join("Roaming"))
    } else if cfg!(target_os = "macos") {
        home().join("Library").join("Application Support")
    } else {
        env_dir("XDG_CONFIG_HOME").unwrap_or_else(|| home().join(".config"))
    }
}

impl StoreConfig {
    /// `MSDB` → `.`, `File System` → [`default_packages_dir`].
    pub fn builtin() -> Self {
        Self {
            roots: vec![
                Root {
                    name: "MSDB".into(),
                    kind: RootKind::Sql {
                        server: ".".into(),
                    },
                },
                Root {
                    name: "File System".into(),
                    kind: RootKind::FileSystem {
                        store_path: default_packages_dir().display().to_string(),
                    },
                },
            ],
            origin: "the built-in default (MSDB on the local server, File System in the default packages directory)".into(),
            builtin: true,
        }
    }

    /// `DTUTIL_STORE_CONFIG`, else the default file if it exists, else the built-in.
    pub fn load() -> StoreResult<Self> {
        if let Some(path) = std::env::var_os("DTUTIL_STORE_CONFIG").filter(|v| !v.is_empty()) {
            return Self::read(Path::new(&path));
        }
        let default = default_config_file();
        if default.is_file() {
            return Self::read(&default);
        }
        Ok(Self::builtin())
    }

    /// Reads a configuration file; relative local StorePaths are taken from its folder.
    pub fn read(path: &Path) -> StoreResult<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            StoreError::Failed(format!(
                "cannot read the package store configuration `{}`: {e} (DTUTIL_STORE_CONFIG or --store-config names it)",
                path.display()
            ))
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&bytes, &base, &path.display().to_string()).map_err(|e| {
            StoreError::Failed(format!(
                "package store configuration `{}`: {e}",
                path.display()
            ))
        })
    }

    /// Parses the `MsDtsSrvr.ini.xml` format. DTDs are refused; unknown elements
    /// (`StopExecutingPackagesOnShutdown`...) are ignored.
    pub fn parse(xml: &[u8], base: &Path, origin: &str) -> Result<Self, String> {
        let mut reader = Reader::from_reader(xml);
        reader.config_mut().trim_text(true);
        let mut stack: Vec<String> = Vec::new();
        let mut roots = Vec::new();
        // The folder being read: its type and fields.
        let mut current: Option<Draft> = None;
        let mut text = String::new();
        let mut saw_top = false;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("not valid XML: {e}"))?;
            match event {
                Event::DocType(_) => return Err("a DTD is not allowed".into()),
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    text.clear();
                    let parent = stack.last().map(String::as_str);
                    if name == "TopLevelFolders" {
                        saw_top = true;
                    }
                    if parent == Some("TopLevelFolders") {
                        let kind = if name == "Folder" {
                            e.attributes()
                                .flatten()
                                .find(|a| a.key.local_name().as_ref() == b"type")
                                .map(|a| {
                                    let v = String::from_utf8_lossy(&a.value).into_owned();
                                    v.rsplit(':').next().unwrap_or("").to_string()
                                })
                                .unwrap_or_default()
                        } else {
                            name.clone()
                        };
                        current = Some((kind, None, None, None));
                    }
                    stack.push(name);
                }
                Event::Text(t) => {
                    text.push_str(&t.unescape().map_err(|e| format!("not valid XML: {e}"))?)
                }
                Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
                Event::End(_) => {
                    let name = stack.pop().unwrap_or_default();
                    let parent = stack.last().map(String::as_str);
                    if let Some(cur) = current.as_mut() {
                        if stack.len() >= 2 && stack[stack.len() - 2] == "TopLevelFolders" {
                            let value = Some(text.trim().to_string());
                            match name.as_str() {
                                "Name" => cur.1 = value,
                                "ServerName" => cur.2 = value,
                                "StorePath" => cur.3 = value,
                                _ => {}
                            }
                        }
                    }
                    if parent == Some("TopLevelFolders") {
                        if let Some((kind, name, server, store)) = current.take() {
                            roots.push(make_root(&kind, name, server, store, base)?);
                        }
                    }
                    text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !saw_top {
            return Err("no TopLevelFolders element".into());
        }
        if roots.is_empty() {
            return Err("TopLevelFolders holds no folder".into());
        }
        for (i, r) in roots.iter().enumerate() {
            if roots[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&r.name))
            {
                return Err(format!("two top-level folders are named `{}`", r.name));
            }
        }
        Ok(Self {
            roots,
            origin: origin.to_string(),
            builtin: false,
        })
    }

    fn names(&self) -> String {
        self.roots
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A top-level folder being read: its type, Name, ServerName and StorePath.
type Draft = (String, Option<String>, Option<String>, Option<String>);

fn make_root(
    kind: &str,
    name: Option<String>,
    server: Option<String>,
    store_path: Option<String>,
    base: &Path,
) -> Result<Root, String> {
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("a {kind} has no Name"))?;
    if name.contains(['\\', '/']) || name == "." || name == ".." {
        return Err(format!(
            "the top-level folder name `{name}` is not one name"
        ));
    }
    let kind = match kind {
        "SqlServerFolder" => RootKind::Sql {
            server: server.filter(|s| !s.is_empty()).unwrap_or_else(|| ".".into()),
        },
        "FileSystemFolder" => {
            let store_path = store_path
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("the FileSystemFolder `{name}` has no StorePath"))?;
            let store_path = if azfiles::is_azure_files_path(&store_path) {
                store_path
            } else {
                let native = if cfg!(windows) {
                    store_path.clone()
                } else {
                    store_path.replace('\\', "/")
                };
                let p = Path::new(&native);
                if p.is_absolute() {
                    native
                } else {
                    base.join(p).display().to_string()
                }
            };
            RootKind::FileSystem { store_path }
        }
        other => {
            return Err(format!(
                "the top-level folder `{name}` has type `{other}`; SqlServerFolder or FileSystemFolder expected"
            ))
        }
    };
    Ok(Root { name, kind })
}

/// Splits a store path into names; `.` and `..` are refused.
pub fn segments(path: &str) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    for s in path.split(['\\', '/']).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        if s == "." || s == ".." {
            return Err(StoreError::Failed(format!(
                "`{path}`: `{s}` is not allowed in a package store path (paths never leave their top-level folder)"
            )));
        }
        if s.contains('\0') {
            return Err(StoreError::Failed(format!(
                "`{path}`: a name holds a NUL character"
            )));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

/// `\A\B` for messages.
fn display(segs: &[String]) -> String {
    format!("\\{}", segs.join("\\"))
}

/// A root's backend, opened on first use.
enum Backend {
    Msdb(Box<dyn Store>),
    Local(PathBuf),
    Azure(Box<dyn Store>, String),
}

pub struct DtsStore {
    config: StoreConfig,
    sql: SqlCredentials,
    backends: Mutex<Vec<Option<Arc<Backend>>>>,
}

/// Opens the package store with the configuration from the environment. `sql` is the
/// plan's connection: its server, when given, overrides the msdb roots' servers.
pub fn open(sql: &SqlCredentials) -> StoreResult<Box<dyn Store>> {
    Ok(Box::new(DtsStore::new(StoreConfig::load()?, sql.clone())))
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
    pub fn new(config: StoreConfig, sql: SqlCredentials) -> Self {
        let n = config.roots.len();
        Self {
            config,
            sql,
            backends: Mutex::new(vec![None; n]),
        }
    }

    pub fn config(&self) -> &StoreConfig {
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

    fn backend(&self, index: usize) -> StoreResult<Arc<Backend>> {
        if let Some(b) = &self.backends.lock().unwrap()[index] {
            return Ok(b.clone());
        }
        let root = &self.config.roots[index];
        let backend = match &root.kind {
            RootKind::Sql { server } => {
                let mut creds = self.sql.clone();
                if creds.server.as_deref().unwrap_or("").trim().is_empty() {
                    creds.server = Some(server.clone());
                }
                if creds.user.is_none() {
                    // dtutil reaches these roots through the SSIS service's Windows
                    // identity; a SQL login for them comes from the environment.
                    if let Some(user) = std::env::var("DTUTIL_STORE_SQL_USER")
                        .ok()
                        .filter(|u| !u.trim().is_empty())
                    {
                        creds.user = Some(user);
                        creds.password = std::env::var("DTUTIL_STORE_SQL_PASSWORD")
                            .ok()
                            .map(zeroize::Zeroizing::new);
                    }
                }
                Backend::Msdb(super::msdb::open(&creds)?)
            }
            RootKind::FileSystem { store_path } if azfiles::is_azure_files_path(store_path) => {
                Backend::Azure(Box::new(azfiles::open(store_path)?), store_path.clone())
            }
            RootKind::FileSystem { store_path } => {
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
                Backend::Local(dir)
            }
        };
        let backend = Arc::new(backend);
        self.backends.lock().unwrap()[index] = Some(backend.clone());
        Ok(backend)
    }

    /// The backend path of a package.
    fn package_target(&self, path: &str) -> StoreResult<(Arc<Backend>, String)> {
        let (i, rest) = self.resolve_package(path)?;
        let backend = self.backend(i)?;
        let target = match &*backend {
            Backend::Msdb(_) => display(&rest),
            Backend::Local(dir) => {
                let (name, folders) = rest.split_last().expect("resolve_package");
                let mut p = dir.clone();
                p.extend(folders);
                p.push(package_file(name));
                p.display().to_string()
            }
            Backend::Azure(_, base) => {
                let (name, folders) = rest.split_last().expect("resolve_package");
                let mut p = base.trim_end_matches(['\\', '/']).to_string();
                for f in folders {
                    p.push('\\');
                    p.push_str(f);
                }
                p.push('\\');
                p.push_str(&package_file(name));
                p
            }
        };
        Ok((backend, target))
    }

    /// The backend path of a folder below a root (`rest` may be empty: the root).
    fn folder_target(backend: &Backend, rest: &[String]) -> String {
        match backend {
            Backend::Msdb(_) => display(rest),
            Backend::Local(dir) => {
                let mut p = dir.clone();
                p.extend(rest);
                p.display().to_string()
            }
            Backend::Azure(_, base) => {
                let mut p = base.trim_end_matches(['\\', '/']).to_string();
                for f in rest {
                    p.push('\\');
                    p.push_str(f);
                }
                p
            }
        }
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

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    let msg = format!("{what} `{}`: {e}", path.display());
    match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound(msg),
        std::io::ErrorKind::PermissionDenied => StoreError::PermissionDenied(msg),
        _ => StoreError::Failed(msg),
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
    fn describe(&self, path: &str) -> String {
        let shown = segments(path)
            .map(|s| display(&s))
            .unwrap_or_else(|_| path.to_string());
        let place = match self.resolve(path) {
            Ok(Some((i, rest))) => match &self.config.roots[i].kind {
                RootKind::Sql { server } => {
                    let server = self.sql.server.clone().unwrap_or_else(|| server.clone());
                    format!(" (msdb `{}` on {server})", display(&rest))
                }
                RootKind::FileSystem { store_path } => {
                    let name = rest.last().map(|n| package_file(n)).unwrap_or_default();
                    let mut folders = rest.clone();
                    folders.pop();
                    let sep = if azfiles::is_azure_files_path(store_path) || cfg!(windows) {
                        "\\"
                    } else {
                        "/"
                    };
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
        let (backend, target) = self.package_target(path)?;
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.read(&target),
            Backend::Local(_) => FileStore.read(&target),
        }
    }

    fn write(&self, path: &str, bytes: &[u8], meta: &PackageMeta) -> StoreResult<()> {
        let (backend, target) = self.package_target(path)?;
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.write(&target, bytes, meta),
            Backend::Local(_) => FileStore.write(&target, bytes, meta).map_err(|e| match e {
                StoreError::NotFound(m) => StoreError::Failed(format!(
                    "{m}; create the folder first (/FC DTS;ParentFolder;Name)"
                )),
                other => other,
            }),
        }
    }

    fn exists(&self, path: &str) -> StoreResult<bool> {
        let (backend, target) = self.package_target(path)?;
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.exists(&target),
            Backend::Local(_) => FileStore.exists(&target),
        }
    }

    fn delete(&self, path: &str) -> StoreResult<()> {
        let (backend, target) = self.package_target(path)?;
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.delete(&target),
            Backend::Local(_) => FileStore.delete(&target),
        }
    }

    fn same_package(&self, a: &str, b: &str) -> bool {
        match (self.resolve(a), self.resolve(b)) {
            (Ok(Some((i, x))), Ok(Some((j, y)))) if i == j => {
                let (Ok((backend, ta)), Ok((_, tb))) =
                    (self.package_target(a), self.package_target(b))
                else {
                    return x == y;
                };
                match &*backend {
                    Backend::Msdb(s) | Backend::Azure(s, _) => s.same_package(&ta, &tb),
                    Backend::Local(_) => FileStore.same_package(&ta, &tb),
                }
            }
            _ => false,
        }
    }

    fn folder_create(&self, parent: &str, name: &str) -> StoreResult<()> {
        let (i, rest, name) = self.child(parent, name, "create")?;
        let backend = self.backend(i)?;
        let parent_target = Self::folder_target(&backend, &rest);
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.folder_create(&parent_target, &name),
            Backend::Local(_) => {
                let parent = PathBuf::from(&parent_target);
                if !parent.is_dir() {
                    return Err(StoreError::NotFound(format!(
                        "the package store folder `{}` does not exist",
                        display(&[vec![self.config.roots[i].name.clone()], rest].concat())
                    )));
                }
                let dir = parent.join(&name);
                std::fs::create_dir(&dir).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        StoreError::Failed(format!(
                            "cannot create folder `{}`: it already exists",
                            dir.display()
                        ))
                    } else {
                        io_error("cannot create folder", &dir, e)
                    }
                })
            }
        }
    }

    fn folder_delete(&self, parent: &str, name: &str) -> StoreResult<()> {
        let (i, rest, name) = self.child(parent, name, "delete")?;
        let backend = self.backend(i)?;
        let parent_target = Self::folder_target(&backend, &rest);
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.folder_delete(&parent_target, &name),
            Backend::Local(_) => {
                let dir = PathBuf::from(&parent_target).join(&name);
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
                        io_error("cannot delete folder", &dir, e)
                    }
                })
            }
        }
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
        let backend = self.backend(i)?;
        let target = Self::folder_target(&backend, &rest);
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.folder_exists(&target),
            Backend::Local(_) => Ok(Path::new(&target).is_dir()),
        }
    }

    fn folder_rename(&self, parent: &str, old: &str, new: &str) -> StoreResult<()> {
        let (i, rest, old) = self.child(parent, old, "rename")?;
        let new_segs = segments(new)?;
        if new_segs.len() != 1 {
            return Err(StoreError::Failed(format!(
                "`{new}` is not a folder name (one name, without \\ or /)"
            )));
        }
        let new = &new_segs[0];
        let backend = self.backend(i)?;
        let parent_target = Self::folder_target(&backend, &rest);
        match &*backend {
            Backend::Msdb(s) | Backend::Azure(s, _) => s.folder_rename(&parent_target, &old, new),
            Backend::Local(_) => {
                let from = PathBuf::from(&parent_target).join(&old);
                let to = PathBuf::from(&parent_target).join(new);
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
                std::fs::rename(&from, &to).map_err(|e| io_error("cannot rename folder", &from, e))
            }
        }
    }

    fn folder_list(&self, path: &str) -> StoreResult<Vec<Entry>> {
        let Some((i, rest)) = self.resolve(path)? else {
            return Ok(self.roots_listing());
        };
        let backend = self.backend(i)?;
        let target = Self::folder_target(&backend, &rest);
        match &*backend {
            Backend::Msdb(s) => s.folder_list(&target),
            Backend::Azure(s, _) => Ok(file_system_entries(s.folder_list(&target)?)),
            Backend::Local(_) => {
                let dir = Path::new(&target);
                let read =
                    std::fs::read_dir(dir).map_err(|e| io_error("cannot list folder", dir, e))?;
                let mut entries = Vec::new();
                for entry in read {
                    let entry = entry.map_err(|e| io_error("cannot list folder", dir, e))?;
                    let is_folder = entry.path().is_dir();
                    entries.push(Entry {
                        name: entry.file_name().to_string_lossy().into_owned(),
                        is_folder,
                    });
                }
                Ok(file_system_entries(entries))
            }
        }
    }
}

/// A rename that only changes the case of a name on a case-insensitive file system.
fn same_dir_entry(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <StopExecutingPackagesOnShutdown>true</StopExecutingPackagesOnShutdown>
  <TopLevelFolders>
    <Folder xsi:type="SqlServerFolder">
      <Name>MSDB</Name>
      <ServerName>.\SQL2019</ServerName>
    </Folder>
    <Folder xsi:type="FileSystemFolder">
      <Name>File System</Name>
      <StorePath>..\Packages</StorePath>
    </Folder>
    <Folder xsi:type="FileSystemFolder">
      <Name>Azure</Name>
      <StorePath>\\acct.file.core.windows.net\ssis\pkgs</StorePath>
    </Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#;

    #[test]
    fn parses_the_service_format() {
        let c = StoreConfig::parse(SAMPLE.as_bytes(), Path::new("/etc/dtutil"), "x").unwrap();
        assert_eq!(c.roots.len(), 3);
        assert_eq!(
            c.roots[0],
            Root {
                name: "MSDB".into(),
                kind: RootKind::Sql {
                    server: ".\\SQL2019".into()
                }
            }
        );
        let RootKind::FileSystem { store_path } = &c.roots[1].kind else {
            panic!()
        };
        if !cfg!(windows) {
            assert_eq!(store_path, "/etc/dtutil/../Packages");
        }
        assert_eq!(
            c.roots[2].kind,
            RootKind::FileSystem {
                store_path: r"\\acct.file.core.windows.net\ssis\pkgs".into()
            }
        );
    }

    #[test]
    fn accepts_element_names_and_refuses_bad_files() {
        let plain = "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>M</Name><ServerName>srv,1433</ServerName></SqlServerFolder><FileSystemFolder><Name>F</Name><StorePath>/p</StorePath></FileSystemFolder></TopLevelFolders></DtsServiceConfiguration>";
        let c = StoreConfig::parse(plain.as_bytes(), Path::new("/"), "x").unwrap();
        assert_eq!(c.roots.len(), 2);
        for bad in [
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>&e;</Name></SqlServerFolder></TopLevelFolders></DtsServiceConfiguration>",
            "<DtsServiceConfiguration/>",
            "<DtsServiceConfiguration><TopLevelFolders/></DtsServiceConfiguration>",
            "<DtsServiceConfiguration><TopLevelFolders><FileSystemFolder><Name>F</Name></FileSystemFolder></TopLevelFolders></DtsServiceConfiguration>",
            "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>a\\b</Name></SqlServerFolder></TopLevelFolders></DtsServiceConfiguration>",
            "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>M</Name></SqlServerFolder><SqlServerFolder><Name>m</Name></SqlServerFolder></TopLevelFolders></DtsServiceConfiguration>",
            "<DtsServiceConfiguration><TopLevelFolders><Folder><Name>M</Name></Folder></TopLevelFolders></DtsServiceConfiguration>",
            "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>M</Name>",
        ] {
            assert!(StoreConfig::parse(bad.as_bytes(), Path::new("/"), "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_stay_inside_their_root() {
        assert_eq!(
            segments(r"\File System\F\\p").unwrap(),
            vec!["File System", "F", "p"]
        );
        assert!(segments(r"File System\..\..\etc\passwd").is_err());
        assert!(segments("MSDB/./p").is_err());
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            roots: vec![Root {
                name: "File System".into(),
                kind: RootKind::FileSystem {
                    store_path: dir.path().display().to_string(),
                },
            }],
            origin: "test".into(),
            builtin: false,
        };
        let store = DtsStore::new(config, SqlCredentials::default());
        assert!(store.read(r"File System\..\x").is_err());
        assert!(matches!(
            store.read(r"Nope\x"),
            Err(StoreError::NotFound(_))
        ));
        assert!(store.read(r"\p").is_err());
        assert!(store.read(r"File System").is_err());
        assert_eq!(
            store.folder_list("\\").unwrap(),
            vec![Entry {
                name: "File System".into(),
                is_folder: true
            }]
        );
    }

    #[test]
    fn default_dirs_are_absolute_or_relative_to_home() {
        assert!(default_packages_dir().ends_with("dtutil/packages") || cfg!(windows));
        assert!(default_config_file().ends_with("MsDtsSrvr.ini.xml"));
    }
}
