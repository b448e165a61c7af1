//! Where a batch reads from and writes to: listing a source tree, naming each
//! package's destination, and creating destination folders. (The `--from` / `--to`
//! grammar is the command line's, in `cli/batch.rs`.)

use crate::error::{Error, Result};
/// The type is plain data in the plan (the command line builds it, see
/// `cli::batch`); what a batch does with it is here.
pub use crate::plan::BatchLocation as Location;
use crate::store::{self, azfiles, path, SqlCredentials, Store, StoreConfig};
use globset::{GlobBuilder, GlobMatcher};
use std::path::Path;
use walkdir::WalkDir;

const EXT: &str = ".dtsx";

/// One package of the source tree.
#[derive(Debug, Clone)]
pub struct Item {
    /// Folders below the source root.
    pub folders: Vec<String>,
    /// The package name, without `.dtsx`.
    pub name: String,
    /// The extension as the source file spells it (`.DTSX` stays `.DTSX` where the
    /// destination holds files); `.dtsx` for a source that has none (msdb).
    pub ext: String,
    /// The store path the source store reads.
    pub source: String,
    /// Why this entry is not read (a symbolic link, a FIFO...): it is reported as
    /// skipped, never opened.
    pub skip: Option<String>,
}

impl Location {
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

    /// Local paths as Windows scripts write them, as `/FILE` takes them: `\`
    /// separates parts and a drive letter maps through `DTUTIL_DRIVE_<LETTER>` (to a
    /// local folder or an Azure Files share). An unmapped drive letter or a UNC path
    /// that is not Azure Files is a command-line error naming the variable.
    pub fn with_windows_paths(&self, option: &str, stores: &StoreConfig) -> Result<Self> {
        let raw = match self {
            Self::Dir(p) => p.display().to_string(),
            Self::Glob { raw, .. } => raw.clone(),
            _ => return Ok(self.clone()),
        };
        let b = raw.as_bytes();
        let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
        if !drive && !raw.contains('\\') {
            return Ok(self.clone());
        }
        let resolved = store::resolve_file_path(&raw, stores)
            .map_err(|e| Error::command_line(format!("{option}: {e}")))?;
        if !azfiles::is_azure_files_path(&resolved) {
            return Ok(Self::local(&resolved));
        }
        let p = azfiles::AzPath::parse(&resolved)
            .map_err(|e| Error::command_line(format!("{option} `{raw}`: {e}")))?;
        if Self::has_glob(&p.segments.join("/")) {
            return Err(Error::command_line(format!(
                "{option} `{raw}`: globs are for local files; give an Azure Files directory"
            )));
        }
        Ok(Self::Azure {
            unc: p.display(&p.segments),
            raw: resolved,
        })
    }

    /// The store path of a package below this location.
    pub fn package_path(&self, folders: &[String], name: &str, ext: &str) -> String {
        let file = format!("{name}{ext}");
        match self {
            Self::Dir(root) | Self::Glob { base: root, .. } => {
                let mut p = root.clone();
                p.extend(folders);
                p.push(file);
                p.display().to_string()
            }
            Self::Sql { folder, .. } | Self::Dts { folder } => path::relative(
                [folder.as_str()]
                    .into_iter()
                    .chain(folders.iter().map(String::as_str))
                    .chain([name]),
            ),
            Self::Azure { unc, .. } => path::join_all(
                unc,
                folders.iter().map(String::as_str).chain([file.as_str()]),
            ),
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
                walk_local(root, None, &mut items)?;
            }
            Self::Glob { base, pattern, raw } => {
                if !base.is_dir() {
                    return Err(Error::failure(format!(
                        "--from `{raw}`: the folder `{}` does not exist",
                        base.display()
                    )));
                }
                walk_local(base, Some(&glob_matcher(pattern)), &mut items)?;
            }
            Self::Sql { folder, .. } | Self::Dts { folder } => {
                self.source_folder_exists(store, folder)?;
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

    /// A missing source folder is a mistake in `--from` (the store's own advice, to
    /// create it with /FC, fits a destination, not a source).
    fn source_folder_exists(&self, store: &dyn Store, folder: &str) -> Result<()> {
        if folder.is_empty()
            || store
                .folder_exists(folder)
                .map_err(|e| Error::failure(format!("cannot list the source: {e}")))?
        {
            return Ok(());
        }
        let listing = match self {
            Self::Sql {
                server: Some(server),
                ..
            } => format!("dtutil /FDi 'SQL;\\' /SourceServer '{server}'"),
            Self::Sql { .. } => "dtutil /FDi 'SQL;\\' /SourceServer SERVER".to_string(),
            _ => "dtutil /FDi 'DTS;\\;S'".to_string(),
        };
        Err(Error::failure(format!(
            "--from `{}`: the {} folder `{folder}` does not exist; check the name (names ignore case), or list what is there with {listing}",
            self.display(None),
            self.kind()
        )))
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
            // A listing comes from a server: its names are checked like user input
            // before they become part of a path (here and at the destination).
            path::check_name(&entry.name, &format!("listing `{path}`"))
                .map_err(|e| Error::failure(format!("cannot list the source: {e}")))?;
            let child = if path.is_empty() {
                entry.name.clone()
            } else {
                path::join(path, &entry.name)
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
                        ext: entry.name[name.len()..].to_string(),
                        source: child,
                        skip: None,
                    });
                }
            } else {
                items.push(Item {
                    folders: folders.clone(),
                    name: entry.name.clone(),
                    ext: EXT.to_string(),
                    source: child,
                    skip: None,
                });
            }
        }
        Ok(())
    }

    /// Creates the destination folders that packages will go to (and the root itself).
    pub fn create_folders(&self, store: &dyn Store, trees: &[Vec<String>]) -> Result<()> {
        let failed = |e: store::StoreError| Error::failure(e.to_string());
        // Only the deepest folders: creating one creates the folders above it.
        let leaves: Vec<&Vec<String>> = trees
            .iter()
            .filter(|t| !trees.iter().any(|o| o.len() > t.len() && o.starts_with(t)))
            .collect();
        match self {
            Self::Dir(root) | Self::Glob { base: root, .. } => {
                store
                    .folder_create_all(&root.display().to_string())
                    .map_err(failed)?;
                for tree in leaves {
                    let mut p = root.clone();
                    p.extend(tree);
                    store
                        .folder_create_all(&p.display().to_string())
                        .map_err(failed)?;
                }
            }
            Self::Sql { folder, .. } | Self::Dts { folder } => {
                for tree in leaves {
                    let full =
                        path::relative(folder.split('\\').chain(tree.iter().map(String::as_str)));
                    if !full.is_empty() {
                        store.folder_create_all(&full).map_err(failed)?;
                    }
                }
            }
            Self::Azure { unc, .. } => {
                let base = unc.trim_end_matches('\\');
                azfiles::AzPath::parse(base).map_err(failed)?;
                for tree in leaves {
                    let full = path::join_all(base, tree.iter().map(String::as_str));
                    store.folder_create_all(&full).map_err(failed)?;
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

/// Why a directory entry that is not a folder cannot be read as a package, if so.
fn not_regular(file_type: std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_symlink() {
        return Some("a symbolic link: links are not followed");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO, not a regular file");
        }
        if file_type.is_socket() {
            return Some("a socket, not a regular file");
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return Some("a device, not a regular file");
        }
    }
    Some("not a regular file")
}

/// Every package below `root` (with a glob, what it matches), links not followed: a
/// link to a folder is not entered (no loops, nothing outside the tree), and a link,
/// FIFO or device named like a package is listed as skipped, never opened.
fn walk_local(root: &Path, glob: Option<&GlobMatcher>, items: &mut Vec<Item>) -> Result<()> {
    let walk = WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|e| {
            let dir = e.path().unwrap_or(root).display().to_string();
            match e.io_error() {
                Some(io) => Error::failure(format!("cannot list `{dir}`: {io}")),
                None => Error::failure(format!("cannot list `{dir}`: {e}")),
            }
        })?;
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let mut names: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let Some(name) = names.pop() else { continue };
        let folders = names;
        let matches = |glob: &GlobMatcher| glob_matches(glob, &folders, &name);
        let stem = match package_stem(&name) {
            Some(stem) if glob.is_none_or(matches) => stem,
            Some(_) => continue,
            // With a glob, the pattern decides what a package is.
            None => match glob {
                Some(g) if !name.starts_with(".dtutil-") && matches(g) => {
                    name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&name)
                }
                _ => continue,
            },
        };
        // A `\` is an ordinary character in a Unix file name, but a folder separator
        // in every other location's paths: such a name is not carried over.
        let skip = match folders.iter().chain([&name]).find(|n| !path::is_one_name(n)) {
            Some(bad) => Some(format!(
                "the name `{}` holds a \\, which is a folder separator at the destination; rename it",
                bad.escape_debug()
            )),
            None => not_regular(file_type).map(str::to_string),
        };
        // A name the glob picked that is not `*.dtsx` becomes one at the destination.
        let ext = match package_stem(&name) {
            Some(stem) => &name[stem.len()..],
            None => EXT,
        };
        items.push(Item {
            folders: folders.clone(),
            name: stem.to_string(),
            ext: ext.to_string(),
            source: entry.path().display().to_string(),
            skip,
        });
    }
    Ok(())
}

/// A glob over path components (`**` matches any number of folders; `*`, `?`, `[a-z]`
/// and `[!x]` stay within one name; everything else, `{` and `\` too, is literal).
fn glob_matcher(pattern: &[String]) -> GlobMatcher {
    let raw = pattern.join("/");
    let build = |p: &str| {
        GlobBuilder::new(&p.replace('{', "[{]").replace('}', "[}]"))
            .literal_separator(true)
            .backslash_escape(false)
            .build()
    };
    match build(&raw) {
        Ok(g) => g.compile_matcher(),
        // An unclosed `[` is a literal `[`.
        Err(_) => build(&raw.replace('[', "[[]"))
            .expect("a glob whose brackets are all literal compiles")
            .compile_matcher(),
    }
}

fn glob_matches(glob: &GlobMatcher, folders: &[String], name: &str) -> bool {
    let mut path = folders.join("/");
    if !path.is_empty() {
        path.push('/');
    }
    path.push_str(name);
    glob.is_match(path)
}

/// Matches `folders/name` against pattern components (`**` matches any number of folders).
pub fn glob_match(pattern: &[String], folders: &[String], name: &str) -> bool {
    glob_matches(&glob_matcher(pattern), folders, name)
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
                .package_path(&f, "p", ".dtsx"),
            "Mig\\A\\B\\p"
        );
        assert_eq!(
            Location::parse("sql://s", "--to")
                .unwrap()
                .package_path(&f, "p", ".dtsx"),
            "A\\B\\p"
        );
        assert_eq!(
            Location::parse(r"\\acct.file.core.windows.net\s\d", "--to")
                .unwrap()
                .package_path(&f, "p", ".dtsx"),
            r"\\acct.file.core.windows.net\s\d\A\B\p.dtsx"
        );
        assert_eq!(
            Location::parse("/out", "--to")
                .unwrap()
                .package_path(&f, "p", ".dtsx"),
            "/out/A/B/p.dtsx"
        );
    }

    /// A store whose listing is whatever a (hostile) server says.
    struct Listing(Vec<store::Entry>);

    impl Store for Listing {
        fn describe(&self, path: &str) -> String {
            path.to_string()
        }
        fn read(&self, _: &str) -> store::StoreResult<Vec<u8>> {
            unreachable!()
        }
        fn write(&self, _: &str, _: &[u8], _: &store::PackageMeta) -> store::StoreResult<()> {
            unreachable!()
        }
        fn exists(&self, _: &str) -> store::StoreResult<bool> {
            unreachable!()
        }
        fn delete(&self, _: &str) -> store::StoreResult<()> {
            unreachable!()
        }
        fn folder_list(&self, _: &str) -> store::StoreResult<Vec<store::Entry>> {
            Ok(self.0.clone())
        }
    }

    /// Issue 17: a listing entry is one name, or the listing is refused before any
    /// name is joined into a source or destination path.
    #[test]
    fn listing_names_never_become_paths() {
        let from = Location::Azure {
            raw: r"\\acct.file.core.windows.net\s\d".into(),
            unc: r"\\acct.file.core.windows.net\s\d".into(),
        };
        let entry = |name: &str, is_folder| store::Entry {
            name: name.into(),
            is_folder,
        };
        for bad in ["/abs/x.dtsx", r"..\..\x.dtsx", "..", "a/b.dtsx"] {
            let e = from
                .list(&Listing(vec![entry("ok.dtsx", false), entry(bad, false)]))
                .unwrap_err();
            assert!(e.to_string().contains("not one name"), "{bad}: {e}");
        }
        let msdb = Location::Sql {
            server: None,
            folder: String::new(),
        };
        assert!(msdb.list(&Listing(vec![entry("..", true)])).is_err());
        let items = from.list(&Listing(vec![entry("p.dtsx", false)])).unwrap();
        assert_eq!(items[0].source, r"\\acct.file.core.windows.net\s\d\p.dtsx");
    }

    /// Issue 17: a directory entry's name is one name at the destination too.
    #[cfg(unix)]
    #[test]
    fn backslashes_in_local_names_are_not_carried_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.dtsx"), "x").unwrap();
        std::fs::write(dir.path().join(r"..\..\up.dtsx"), "x").unwrap();
        let items = Location::Dir(dir.path().to_path_buf())
            .list(&store::file::FileStore)
            .unwrap();
        assert_eq!(items.len(), 2);
        let bad = items.iter().find(|i| i.name.contains('\\')).unwrap();
        assert!(bad.skip.as_deref().unwrap().contains("folder separator"));
        assert!(items.iter().any(|i| i.name == "ok" && i.skip.is_none()));
    }
}
