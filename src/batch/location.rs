//! Where a batch reads from and writes to: listing a source tree, naming each
//! package's destination, and creating destination folders. (The `--from` / `--to`
//! grammar is the command line's, in `cli/batch.rs`.)

use crate::error::{Error, Result};
/// The type is plain data in the plan (the command line builds it, see
/// `cli::batch`); what a batch does with it is here.
pub use crate::plan::BatchLocation as Location;
use crate::store::{self, azfiles, SqlCredentials, Store, StoreConfig, StoreError};
use std::path::Path;

const EXT: &str = ".dtsx";

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

impl Location {
    /// True when packages there are filed with msdb's columns (id, versions).
    pub fn wants_meta(&self) -> bool {
        matches!(self, Self::Sql { .. } | Self::Dts { .. })
    }

    /// Opens a store for this location (each worker opens its own).
    pub fn open(&self, sql: &SqlCredentials, stores: &StoreConfig) -> Result<Box<dyn Store>> {
        let location = match self {
            Self::Dir(_) | Self::Glob { .. } => store::Location::File,
            Self::Sql { server, .. } => {
                let mut sql = sql.clone();
                if server.is_some() {
                    sql.server = server.clone();
                }
                store::Location::Sql(sql)
            }
            Self::Dts { .. } => store::Location::PackageStore(sql.clone()),
            Self::Azure { raw, .. } => store::Location::AzureFiles(raw.clone()),
        };
        store::open(&location, stores).map_err(|e| Error::failure(e.to_string()))
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
