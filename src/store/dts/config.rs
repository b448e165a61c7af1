//! The package store's configuration: its top-level folders ("roots"), read from a file
//! in the `MsDtsSrvr.ini.xml` format or built in (see the module above).

use crate::store::{Location, StoreConfig, StoreError, StoreResult};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::path::{Path, PathBuf};

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
    /// What this root needs beyond its entry in a configuration file (the IR's
    /// stores: a credential of its own, or why it cannot be had).
    pub access: RootAccess,
}

/// A root's own credentials, or why it cannot be opened; empty for a root from a
/// configuration file.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RootAccess {
    /// Store settings for this root alone, over the process-wide ones: a SQL login or
    /// an account key read from Key Vault for this store and no other.
    pub vars: Vec<(String, zeroize::Zeroizing<String>)>,
    /// Why the root cannot be opened (a credential that could not be read): said by
    /// the commands that use the root, and by no other.
    pub unavailable: Option<String>,
}

/// Names only: the values are credentials.
impl std::fmt::Debug for RootAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootAccess")
            .field(
                "vars",
                &self
                    .vars
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

/// The package store's configuration: its roots and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtsConfig {
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
    platform_dir(dirs::data_local_dir())
        .join("dtutil")
        .join("packages")
}

/// The largest package store configuration read (`/dev/zero` would never end).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The store configuration read when `DTUTIL_STORE_CONFIG` is not set (if it exists):
/// `$XDG_CONFIG_HOME/dtutil/MsDtsSrvr.ini.xml` (or `~/.config/dtutil/...`) on Linux and
/// other Unix systems, `~/Library/Application Support/dtutil/MsDtsSrvr.ini.xml` on
/// macOS, `%APPDATA%\dtutil\MsDtsSrvr.ini.xml` on Windows.
pub fn default_config_file() -> PathBuf {
    platform_dir(dirs::config_dir())
        .join("dtutil")
        .join("MsDtsSrvr.ini.xml")
}

/// Without a home directory, the current one.
fn platform_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| PathBuf::from("."))
}

impl DtsConfig {
    /// `MSDB` → `.`, `File System` → [`default_packages_dir`].
    pub fn builtin() -> Self {
        Self::builtin_in(&default_packages_dir())
    }

    /// `MSDB` → `.`, `File System` → `packages_dir`.
    pub fn builtin_in(packages_dir: &Path) -> Self {
        Self {
            roots: vec![
                Root {
                    name: "MSDB".into(),
                    kind: RootKind::Sql {
                        server: ".".into(),
                    },
                    access: RootAccess::default(),
                },
                Root {
                    name: "File System".into(),
                    kind: RootKind::FileSystem {
                        store_path: packages_dir.display().to_string(),
                    },
                    access: RootAccess::default(),
                },
            ],
            origin: "the built-in default (MSDB on the local server, File System in the default packages directory)".into(),
            builtin: true,
        }
    }

    /// Roots given whole (`--ir`), else the given file (`--store-config`,
    /// `DTUTIL_STORE_CONFIG`), else the per-user file
    /// if it exists, else the built-in.
    pub fn load(config: &StoreConfig) -> StoreResult<Self> {
        if let Some(roots) = &config.package_store_roots {
            return Ok(roots.clone());
        }
        if let Some(path) = &config.package_store_file {
            return Self::read(path);
        }
        let default = &config.default_package_store_file;
        if default.is_file() {
            return Self::read(default);
        }
        Ok(Self::builtin_in(&config.default_packages_dir))
    }

    /// Reads a configuration file; relative local StorePaths are taken from its folder.
    pub fn read(path: &Path) -> StoreResult<Self> {
        // A configuration holds a few roots: a few KB.
        let bytes = crate::store::file::read_small_file(path, MAX_CONFIG_BYTES).map_err(|e| {
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

    pub(super) fn names(&self) -> String {
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
    if !crate::store::path::is_one_name(&name) {
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
            let store_path = if let Location::AzureFiles(_) = Location::file_path(&store_path) {
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
    Ok(Root {
        name,
        kind,
        access: RootAccess::default(),
    })
}
