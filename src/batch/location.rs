//! Where a batch reads from and writes to: the grammar of `--from` / `--to`, listing a
//! source tree, naming each package's destination, and creating destination folders.
//!
//! Grammar (checked in this order):
//! - `sql://SERVER/Folder/Sub`: an msdb folder on SERVER (any dtutil server form up to
//!   the first `/`, e.g. `sql://db1,1433/ETL` or `sql://host\INST/ETL`);
//!   `sql://SERVER` or `sql://SERVER/` is msdb's root folder.
//! - `SQL:Folder\Sub` (also `SQL;...`): an msdb folder on the server given with
//!   `--source-server` / `--dest-server` (the local default instance without one).
//! - `dts:Root\Folder`: a package store folder (SPEC 2, DTS), e.g. `dts:MSDB\ETL` or
//!   `"dts:File System\ETL"`.
//! - `\\ACCOUNT.file.core.windows.net\share\dir` or `https://ACCOUNT.file.core.windows.net/share/dir`:
//!   an Azure Files directory (credentials from the environment).
//! - anything with `*`, `?` or `[` in it: a glob over local files (`**` crosses
//!   directories); the folder tree kept is the one below the glob's fixed prefix.
//! - anything else: a local directory, read recursively (`*.dtsx`), created as needed
//!   as a destination.

use crate::error::{Error, Result};
use crate::store::{azfiles, file::FileStore, SqlCredentials, Store, StoreError};
use std::path::{Path, PathBuf};

const EXT: &str = ".dtsx";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    Glob {
        base: PathBuf,
        /// The pattern's components below `base`.
        pattern: Vec<String>,
        raw: String,
    },
    Sql {
        /// From the URL; `None` uses `--source-server` / `--dest-server`.
        server: Option<String>,
        /// `A\B`, empty for the root.
        folder: String,
    },
    Dts {
        folder: String,
    },
    Azure {
        /// As given (an https URL may carry a SAS the store needs).
        raw: String,
        /// `\\host\share\dir` form, used to build child paths.
        unc: String,
    },
}

/// One package of the source tree.
#[derive(Debug, Clone)]
pub struct Item {
    /// Folders below the source root.
    pub folders: Vec<String>,
    /// The package name, without `.dtsx`.
    pub name: String,
    /// The store path the source store reads.
    pub source: String,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

fn folder_path(raw: &str) -> String {
    raw.split(['\\', '/'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\\")
}

impl Location {
    /// Parses `--from` / `--to`; `option` names it in messages.
    pub fn parse(raw: &str, option: &str) -> Result<Self> {
        let raw_t = raw.trim();
        if raw_t.is_empty() {
            return Err(Error::command_line(format!("{option} is empty")));
        }
        let dots = |path: &str| -> Result<()> {
            if path.split(['\\', '/']).any(|s| s == "..") {
                return Err(Error::command_line(format!(
                    "{option} `{raw}`: `..` is not allowed in store paths"
                )));
            }
            Ok(())
        };
        if let Some(rest) = strip_ci(raw_t, "sql://") {
            let (server, folder) = match rest.split_once('/') {
                Some((s, f)) => (s, f),
                None => (rest, ""),
            };
            if server.trim().is_empty() {
                return Err(Error::command_line(format!(
                    "{option} `{raw}`: no server: use sql://SERVER/Folder (or SQL:Folder with --source-server/--dest-server)"
                )));
            }
            dots(folder)?;
            return Ok(Self::Sql {
                server: Some(server.trim().to_string()),
                folder: folder_path(folder),
            });
        }
        if let Some(rest) = strip_ci(raw_t, "sql:").or_else(|| strip_ci(raw_t, "sql;")) {
            dots(rest)?;
            return Ok(Self::Sql {
                server: None,
                folder: folder_path(rest),
            });
        }
        if let Some(rest) = strip_ci(raw_t, "dts:").or_else(|| strip_ci(raw_t, "dts;")) {
            dots(rest)?;
            return Ok(Self::Dts {
                folder: folder_path(rest),
            });
        }
        if azfiles::is_azure_files_path(raw_t) {
            let p = azfiles::AzPath::parse(raw_t)
                .map_err(|e| Error::command_line(format!("{option}: {}", e.to_string().trim())))?;
            if has_glob(&p.segments.join("/")) {
                return Err(Error::command_line(format!(
                    "{option} `{raw}`: globs are for local files; give an Azure Files directory"
                )));
            }
            return Ok(Self::Azure {
                raw: raw_t.to_string(),
                unc: p.display(&p.segments),
            });
        }
        if has_glob(raw_t) {
            let mut base = PathBuf::new();
            let mut pattern = Vec::new();
            for comp in Path::new(raw_t).components() {
                let s = comp.as_os_str().to_string_lossy().to_string();
                if pattern.is_empty() && !has_glob(&s) {
                    base.push(comp);
                } else {
                    pattern.push(s);
                }
            }
            if base.as_os_str().is_empty() {
                base = PathBuf::from(".");
            }
            return Ok(Self::Glob {
                base,
                pattern,
                raw: raw_t.to_string(),
            });
        }
        Ok(Self::Dir(PathBuf::from(raw_t)))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dir(_) => "directory",
            Self::Glob { .. } => "glob",
            Self::Sql { .. } => "msdb",
            Self::Dts { .. } => "package store",
            Self::Azure { .. } => "Azure Files",
        }
    }

    /// True when packages there are filed with msdb's columns (id, versions).
    pub fn wants_meta(&self) -> bool {
        matches!(self, Self::Sql { .. } | Self::Dts { .. })
    }

    /// The location as shown in plans and reports (`server` fills in `SQL:`).
    pub fn display(&self, server: Option<&str>) -> String {
        match self {
            Self::Dir(p) => p.display().to_string(),
            Self::Glob { raw, .. } => raw.clone(),
            Self::Sql { server: s, folder } => format!(
                "sql://{}/{}",
                s.as_deref().or(server).unwrap_or("(local)"),
                folder.replace('\\', "/")
            ),
            Self::Dts { folder } => format!("dts:{folder}"),
            Self::Azure { unc, .. } => unc.clone(),
        }
    }

    /// Opens a store for this location (each worker opens its own).
    pub fn open(&self, sql: &SqlCredentials) -> Result<Box<dyn Store>> {
        let failed = |e: StoreError| Error::failure(e.to_string());
        match self {
            Self::Dir(_) | Self::Glob { .. } => Ok(Box::new(FileStore)),
            Self::Sql { server, .. } => {
                let mut sql = sql.clone();
                if server.is_some() {
                    sql.server = server.clone();
                }
                crate::store::msdb::open(&sql).map_err(failed)
            }
            Self::Dts { .. } => crate::store::dts::open(sql).map_err(failed),
            Self::Azure { raw, .. } => azfiles::open(raw)
                .map(|s| Box::new(s) as Box<dyn Store>)
                .map_err(failed),
        }
    }

    /// The store path of a package below this location.
    pub fn package_path(&self, folders: &[String], name: &str) -> String {
        match self {
            Self::Dir(root) | Self::Glob { base: root, .. } => {
                let mut p = root.clone();
                for f in folders {
                    p.push(f);
                }
                p.push(format!("{name}{EXT}"));
                p.display().to_string()
            }
            Self::Sql { folder, .. } | Self::Dts { folder } => {
                let mut parts: Vec<&str> = Vec::new();
                if !folder.is_empty() {
                    parts.push(folder);
                }
                parts.extend(folders.iter().map(String::as_str));
                parts.push(name);
                parts.join("\\")
            }
            Self::Azure { unc, .. } => {
                let mut p = unc.trim_end_matches('\\').to_string();
                for f in folders {
                    p.push('\\');
                    p.push_str(f);
                }
                p.push('\\');
                p.push_str(name);
                p.push_str(EXT);
                p
            }
        }
    }

    /// A package path as shown in reports: the store path, or `sql://` form for msdb.
    pub fn package_display(&self, server: Option<&str>, store_path: &str) -> String {
        match self {
            Self::Sql { server: s, .. } => format!(
                "sql://{}/{}",
                s.as_deref().or(server).unwrap_or("(local)"),
                store_path.replace('\\', "/")
            ),
            Self::Dts { .. } => format!("dts:{store_path}"),
            _ => store_path.to_string(),
        }
    }

    /// Every package below this location, sorted by folder and name.
    pub fn list(&self, store: &dyn Store) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        match self {
            Self::Dir(root) => {
                if !root.is_dir() {
                    return Err(Error::failure(format!(
                        "--from `{}`: no such directory (give a directory, a glob, sql://SERVER/Folder, dts:Root\\Folder or an Azure Files directory)",
                        root.display()
                    )));
                }
                walk_dir(root, &mut Vec::new(), &None, &mut items)?;
            }
            Self::Glob { base, pattern, raw } => {
                if !base.is_dir() {
                    return Err(Error::failure(format!(
                        "--from `{raw}`: the folder `{}` does not exist",
                        base.display()
                    )));
                }
                walk_dir(base, &mut Vec::new(), &Some(pattern.clone()), &mut items)?;
            }
            Self::Sql { folder, .. } | Self::Dts { folder } => {
                self.walk_store(store, folder, &mut Vec::new(), &mut items)?
            }
            Self::Azure { unc, .. } => self.walk_store(
                store,
                unc.trim_end_matches('\\'),
                &mut Vec::new(),
                &mut items,
            )?,
        }
        items.sort_by(|a, b| (&a.folders, &a.name).cmp(&(&b.folders, &b.name)));
        Ok(items)
    }

    fn walk_store(
        &self,
        store: &dyn Store,
        path: &str,
        folders: &mut Vec<String>,
        items: &mut Vec<Item>,
    ) -> Result<()> {
        let entries = store
            .folder_list(path)
            .map_err(|e| Error::failure(format!("cannot list the source: {e}")))?;
        let azure = matches!(self, Self::Azure { .. });
        for entry in entries {
            let child = if path.is_empty() {
                entry.name.clone()
            } else {
                format!("{path}\\{}", entry.name)
            };
            if entry.is_folder {
                folders.push(entry.name.clone());
                self.walk_store(store, &child, folders, items)?;
                folders.pop();
            } else if azure {
                if let Some(name) = package_stem(&entry.name) {
                    items.push(Item {
                        folders: folders.clone(),
                        name: name.to_string(),
                        source: child,
                    });
                }
            } else {
                items.push(Item {
                    folders: folders.clone(),
                    name: entry.name.clone(),
                    source: child,
                });
            }
        }
        Ok(())
    }

    /// Creates the destination folders that packages will go to (and the root itself).
    pub fn create_folders(&self, store: &dyn Store, trees: &[Vec<String>]) -> Result<()> {
        let mut wanted: Vec<Vec<String>> = Vec::new();
        let root: Vec<String> = match self {
            Self::Sql { folder, .. } | Self::Dts { folder } => folder
                .split('\\')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        for tree in trees {
            let full: Vec<String> = root.iter().chain(tree.iter()).cloned().collect();
            for i in 1..=full.len() {
                let prefix = full[..i].to_vec();
                if !wanted.contains(&prefix) {
                    wanted.push(prefix);
                }
            }
        }
        wanted.sort_by_key(|w| w.len());
        let err = |what: &str, e: StoreError| Error::failure(format!("cannot create {what}: {e}"));
        match self {
            Self::Dir(root) | Self::Glob { base: root, .. } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    Error::failure(format!("cannot create `{}`: {e}", root.display()))
                })?;
                for w in &wanted {
                    let mut p = root.clone();
                    p.extend(w);
                    std::fs::create_dir_all(&p).map_err(|e| {
                        Error::failure(format!("cannot create `{}`: {e}", p.display()))
                    })?;
                }
            }
            Self::Sql { .. } | Self::Dts { .. } => {
                let is_dts = matches!(self, Self::Dts { .. });
                for w in &wanted {
                    // A package store's top-level folders are its roots: not created here.
                    if is_dts && w.len() == 1 {
                        continue;
                    }
                    let path = w.join("\\");
                    if store.folder_exists(&path).map_err(|e| err(&path, e))? {
                        continue;
                    }
                    let parent = w[..w.len() - 1].join("\\");
                    let parent = if parent.is_empty() {
                        "\\".to_string()
                    } else {
                        parent
                    };
                    store
                        .folder_create(&parent, &w[w.len() - 1])
                        .map_err(|e| err(&path, e))?;
                }
            }
            Self::Azure { unc, .. } => {
                let base = unc.trim_end_matches('\\');
                let p = azfiles::AzPath::parse(base).map_err(|e| Error::failure(e.to_string()))?;
                let mut all: Vec<Vec<String>> = (1..=p.segments.len())
                    .map(|i| p.segments[..i].to_vec())
                    .collect();
                for w in &wanted {
                    all.push(p.segments.iter().chain(w.iter()).cloned().collect());
                }
                let share = p.display(&[]);
                for segs in all {
                    let path = p.display(&segs);
                    if store.folder_exists(&path).map_err(|e| err(&path, e))? {
                        continue;
                    }
                    let parent = p.display(&segs[..segs.len() - 1]);
                    let parent = if segs.len() == 1 {
                        share.clone()
                    } else {
                        parent
                    };
                    match store.folder_create(&parent, &segs[segs.len() - 1]) {
                        Ok(()) => {}
                        // Another process may have made it meanwhile.
                        Err(_) if store.folder_exists(&path).unwrap_or(false) => {}
                        Err(e) => return Err(err(&path, e)),
                    }
                }
            }
        }
        Ok(())
    }
}

fn package_stem(name: &str) -> Option<&str> {
    if name.starts_with(".dtutil-") {
        return None;
    }
    let n = name.len();
    (n > EXT.len() && name[n - EXT.len()..].eq_ignore_ascii_case(EXT))
        .then(|| &name[..n - EXT.len()])
}

fn walk_dir(
    dir: &Path,
    folders: &mut Vec<String>,
    pattern: &Option<Vec<String>>,
    items: &mut Vec<Item>,
) -> Result<()> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| Error::failure(format!("cannot list `{}`: {e}", dir.display())))?;
    let mut entries: Vec<_> = read.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if path.is_dir() {
            folders.push(name);
            walk_dir(&path, folders, pattern, items)?;
            folders.pop();
            continue;
        }
        let Some(stem) = package_stem(&name) else {
            // With a glob, the pattern decides what a package is.
            if let Some(p) = pattern {
                if !name.starts_with(".dtutil-") && glob_match(p, folders, &name) {
                    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&name);
                    items.push(Item {
                        folders: folders.clone(),
                        name: stem.to_string(),
                        source: path.display().to_string(),
                    });
                }
            }
            continue;
        };
        if pattern
            .as_ref()
            .is_some_and(|p| !glob_match(p, folders, &name))
        {
            continue;
        }
        items.push(Item {
            folders: folders.clone(),
            name: stem.to_string(),
            source: path.display().to_string(),
        });
    }
    Ok(())
}

/// Matches `folders/name` against pattern components (`**` matches any number of folders).
pub fn glob_match(pattern: &[String], folders: &[String], name: &str) -> bool {
    let path: Vec<&str> = folders
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(name))
        .collect();
    let pat: Vec<&str> = pattern.iter().map(String::as_str).collect();
    match_components(&pat, &path)
}

fn match_components(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| match_components(rest, &path[i..])),
        Some((p, rest)) => {
            !path.is_empty()
                && match_name(p.as_bytes(), path[0].as_bytes())
                && match_components(rest, &path[1..])
        }
    }
}

/// `*`, `?` and `[abc]` / `[a-z]` / `[!x]` within one name.
fn match_name(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| match_name(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && match_name(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(close) = p.iter().skip(1).position(|&c| c == b']').map(|i| i + 1) else {
                return !s.is_empty() && s[0] == b'[' && match_name(&p[1..], &s[1..]);
            };
            if s.is_empty() {
                return false;
            }
            let mut class = &p[1..close];
            let negate = matches!(class.first(), Some(b'!') | Some(b'^'));
            if negate {
                class = &class[1..];
            }
            let c = s[0];
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && match_name(&p[close + 1..], &s[1..])
        }
        Some(&c) => !s.is_empty() && s[0] == c && match_name(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("sql://db1,1433/ETL/Daily", "--from").unwrap(),
            Location::Sql {
                server: Some("db1,1433".into()),
                folder: "ETL\\Daily".into()
            }
        );
        assert_eq!(
            Location::parse("sql://host\\INST", "--from").unwrap(),
            Location::Sql {
                server: Some("host\\INST".into()),
                folder: "".into()
            }
        );
        assert_eq!(
            Location::parse("SQL:\\ETL\\Daily", "--from").unwrap(),
            Location::Sql {
                server: None,
                folder: "ETL\\Daily".into()
            }
        );
        assert_eq!(
            Location::parse("dts:File System\\ETL", "--to").unwrap(),
            Location::Dts {
                folder: "File System\\ETL".into()
            }
        );
        assert!(matches!(
            Location::parse(r"\\acct.file.core.windows.net\pkgs\etl", "--to").unwrap(),
            Location::Azure { unc, .. } if unc == r"\\acct.file.core.windows.net\pkgs\etl"
        ));
        assert!(matches!(
            Location::parse("https://acct.file.core.windows.net/pkgs/etl?sv=1&sig=x", "--to").unwrap(),
            Location::Azure { unc, .. } if unc == r"\\acct.file.core.windows.net\pkgs\etl"
        ));
        assert_eq!(
            Location::parse("/src/**/*.dtsx", "--from").unwrap(),
            Location::Glob {
                base: "/src".into(),
                pattern: v(&["**", "*.dtsx"]),
                raw: "/src/**/*.dtsx".into()
            }
        );
        assert_eq!(
            Location::parse("/src/pkgs", "--from").unwrap(),
            Location::Dir("/src/pkgs".into())
        );
        assert!(Location::parse("sql://h/A/../B", "--from").is_err());
        assert!(Location::parse("sql:///A", "--from").is_err());
    }

    #[test]
    fn globs() {
        let p = v(&["**", "L[12]_*.dtsx"]);
        assert!(glob_match(&p, &v(&["a", "b"]), "L1_x.dtsx"));
        assert!(glob_match(&p, &[], "L2_.dtsx"));
        assert!(!glob_match(&p, &[], "L3_x.dtsx"));
        let p = v(&["*", "p?.dtsx"]);
        assert!(glob_match(&p, &v(&["a"]), "p1.dtsx"));
        assert!(!glob_match(&p, &[], "p1.dtsx"));
        assert!(!glob_match(&p, &v(&["a", "b"]), "p1.dtsx"));
        assert!(glob_match(&v(&["[!a]*"]), &[], "b"));
        assert!(!glob_match(&v(&["[!a]*"]), &[], "ab"));
    }

    #[test]
    fn destination_paths() {
        let f = v(&["A", "B"]);
        assert_eq!(
            Location::parse("sql://s/Mig", "--to")
                .unwrap()
                .package_path(&f, "p"),
            "Mig\\A\\B\\p"
        );
        assert_eq!(
            Location::parse("sql://s", "--to")
                .unwrap()
                .package_path(&f, "p"),
            "A\\B\\p"
        );
        assert_eq!(
            Location::parse(r"\\acct.file.core.windows.net\s\d", "--to")
                .unwrap()
                .package_path(&f, "p"),
            r"\\acct.file.core.windows.net\s\d\A\B\p.dtsx"
        );
        assert_eq!(
            Location::parse("/out", "--to")
                .unwrap()
                .package_path(&f, "p"),
            "/out/A/B/p.dtsx"
        );
    }
}
