//! Where a batch reads from and writes to: listing a source tree, naming each
//! package's destination, and creating destination folders. (The `--from` / `--to`
//! grammar is the command line's, in `cli/batch.rs`; walking a local tree is
//! `local_tree.rs`'s.)

use super::local_tree::{glob_matcher, walk_local};
use crate::error::{Error, Result};
/// The type is plain data in the plan (the command line builds it, see
/// `cli::batch`); what a batch does with it is here.
pub use crate::plan::BatchLocation as Location;
use crate::store::{self, azfiles, path, SqlCredentials, Store, StoreConfig};
use std::path::Path;

pub(super) const EXT: &str = ".dtsx";

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
    /// Why this part of the tree could not be listed (an unreadable folder, a link
    /// loop): reported as a failure of its own; the rest of the tree goes on.
    pub fail: Option<String>,
    /// The size the listing gave (a local file's), for `--in-flight-bytes` to hold a
    /// package back before it is read; `None`: known once read.
    pub size: Option<u64>,
    /// How a walk of a local tree saw the file, for the read to check it is the same.
    pub listed: Option<crate::store::Listed>,
}

/// Deepest folder nesting a store listing is followed to: a listing that names a
/// folder inside itself (a loop on a hostile server) ends with a clear error.
pub const MAX_FOLDER_DEPTH: usize = 64;

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

    /// The store path of a folder below this location (for rows about a folder).
    pub fn folder_path(&self, folders: &[String]) -> String {
        match self {
            Self::Dir(root) | Self::Glob { base: root, .. } => {
                let mut p = root.clone();
                p.extend(folders);
                p.display().to_string()
            }
            Self::Sql { folder, .. } | Self::Dts { folder } => {
                let mut parts: Vec<&str> = Vec::new();
                if !folder.is_empty() {
                    parts.push(folder);
                }
                parts.extend(folders.iter().map(String::as_str));
                parts.join("\\")
            }
            Self::Azure { unc, .. } => path::join_all(unc, folders.iter().map(String::as_str)),
        }
    }

    /// Why msdb could not keep an item under its own name, for an msdb destination
    /// (review user4 F4): a name past 128 characters is cut by the server, and a
    /// trailing blank is ignored when it compares names, so either could land on
    /// another package's row. (A package store root may be msdb too: its store
    /// refuses a long name when it is written.)
    pub fn destination_name_problem(&self, item: &Item) -> Option<String> {
        if !matches!(self, Self::Sql { .. }) {
            return None;
        }
        item.folders.iter().chain([&item.name]).find_map(|name| {
            if name.ends_with(char::is_whitespace) {
                return Some(format!(
                    "the name `{}` ends with a blank, which msdb ignores when it compares names: it would be written as `{}`, maybe over another package; rename it",
                    name.escape_debug(),
                    name.trim_end().escape_debug()
                ));
            }
            store::msdb::path::name_too_long(name)
        })
    }

    /// What two destination paths share when they reach one package: names compare
    /// case-insensitively everywhere (see `plan`), and in msdb as the server keeps and
    /// compares them (cut to 128 characters, trailing blanks ignored).
    pub fn destination_key(&self, path: &str) -> String {
        match (self, store::msdb::path::row_key(path)) {
            (Self::Sql { .. }, Some(names)) => names.join("\\"),
            _ => path.to_lowercase(),
        }
    }

    /// True when this destination lies strictly inside `source` (each run, and each
    /// `--resume`, would read its own output again and nest it one level deeper).
    /// The same location is allowed: that is re-protecting in place (`--overwrite`).
    /// `servers`: the `--source-server` / `--dest-server` of SQL: locations.
    pub fn inside(&self, source: &Location, servers: (Option<&str>, Option<&str>)) -> bool {
        let strictly_below = |outer: &[String], inner: &[String]| {
            inner.len() > outer.len()
                && outer
                    .iter()
                    .zip(inner)
                    .all(|(a, b)| a.to_lowercase() == b.to_lowercase())
        };
        let names = |folder: &str| -> Vec<String> {
            folder
                .split(['\\', '/'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        match (source, self) {
            (Self::Dir(src) | Self::Glob { base: src, .. }, Self::Dir(dst)) => {
                match (std::fs::canonicalize(src), resolved(dst)) {
                    (Ok(src), Some(dst)) => dst != src && dst.starts_with(&src),
                    _ => false,
                }
            }
            (
                Self::Sql {
                    server: s1,
                    folder: f1,
                },
                Self::Sql {
                    server: s2,
                    folder: f2,
                },
            ) => {
                let (a, b) = (s1.as_deref().or(servers.0), s2.as_deref().or(servers.1));
                a.map(str::to_lowercase) == b.map(str::to_lowercase)
                    && strictly_below(&names(f1), &names(f2))
            }
            (Self::Dts { folder: f1 }, Self::Dts { folder: f2 }) => {
                strictly_below(&names(f1), &names(f2))
            }
            (Self::Azure { unc: u1, .. }, Self::Azure { unc: u2, .. }) => {
                match (azfiles::AzPath::parse(u1), azfiles::AzPath::parse(u2)) {
                    (Ok(a), Ok(b)) => {
                        a.host == b.host
                            && a.share.eq_ignore_ascii_case(&b.share)
                            && strictly_below(&a.segments, &b.segments)
                    }
                    _ => false,
                }
            }
            _ => false,
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

    /// Every package below this location, sorted by folder and name; `follow_links`
    /// for a local source (`--follow-links`). `option` is the option that named the
    /// source (`--from`), for messages; `None` for a source given as an argument.
    pub fn list(
        &self,
        store: &dyn Store,
        follow_links: bool,
        option: Option<&str>,
    ) -> Result<Vec<Item>> {
        let label = option.unwrap_or("source");
        let mut items = Vec::new();
        match self {
            Self::Dir(root) => {
                if root.is_file() {
                    return Err(Error::command_line(a_file_not_a_folder(label, root)));
                }
                if !root.is_dir() {
                    return Err(Error::failure(format!(
                        "{label} `{}`: no such directory (give a directory, a glob, sql://SERVER/Folder, dts:Root\\Folder or an Azure Files directory)",
                        root.display()
                    )));
                }
                walk_local(root, None, follow_links, &mut items);
            }
            Self::Glob { base, pattern, raw } => {
                if !base.is_dir() {
                    return Err(Error::failure(format!(
                        "{label} `{raw}`: the folder `{}` does not exist",
                        base.display()
                    )));
                }
                walk_local(base, Some(&glob_matcher(pattern)), follow_links, &mut items);
            }
            Self::Sql { folder, .. } | Self::Dts { folder } => {
                self.source_folder_exists(store, folder, label)?;
                self.walk_store(store, folder, option, &mut Vec::new(), &mut items)?
            }
            Self::Azure { unc, .. } => self.walk_store(
                store,
                unc.trim_end_matches('\\'),
                option,
                &mut Vec::new(),
                &mut items,
            )?,
        }
        items.sort_by(|a, b| (&a.folders, &a.name).cmp(&(&b.folders, &b.name)));
        Ok(items)
    }

    /// A missing source folder is a mistake in `--from` (the store's own advice, to
    /// create it with /FC, fits a destination, not a source).
    fn source_folder_exists(&self, store: &dyn Store, folder: &str, label: &str) -> Result<()> {
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
            "{label} `{}`: the {} folder `{folder}` does not exist; check the name (names ignore case), or list what is there with {listing}",
            self.display(None),
            self.kind()
        )))
    }

    fn walk_store(
        &self,
        store: &dyn Store,
        path: &str,
        option: Option<&str>,
        folders: &mut Vec<String>,
        items: &mut Vec<Item>,
    ) -> Result<()> {
        if folders.len() > MAX_FOLDER_DEPTH {
            let with = option.map(|o| format!(" with {o}")).unwrap_or_default();
            return Err(Error::failure(format!(
                "cannot list the source: `{path}` is more than {MAX_FOLDER_DEPTH} folders deep (a listing that names a folder inside itself?); give a folder further down{with}"
            )));
        }
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
            // A name msdb or SMB allows but no path reaches is one skipped row (a
            // folder's contents with it): the rest of the listing is copied.
            let skip = path::unaddressable(&entry.name);
            let (name, ext, skip) = if entry.is_folder {
                let Some(why) = skip else {
                    folders.push(entry.name.clone());
                    self.walk_store(store, &child, option, folders, items)?;
                    folders.pop();
                    continue;
                };
                let skip = format!("{why}; nothing in this folder was read");
                (entry.name.as_str(), "", Some(skip))
            } else if azure {
                match package_stem(&entry.name) {
                    Some(stem) => (stem, &entry.name[stem.len()..], skip),
                    None => continue,
                }
            } else {
                (entry.name.as_str(), EXT, skip)
            };
            items.push(Item {
                folders: folders.clone(),
                name: name.to_string(),
                ext: ext.to_string(),
                source: child,
                skip,
                fail: None,
                size: None,
                listed: None,
            });
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

/// `path` made absolute with links resolved, for the part that exists (a destination
/// is created later).
fn resolved(path: &Path) -> Option<std::path::PathBuf> {
    use std::path::Component;
    // `..` folded by name first: a missing folder followed by `..` must not hide
    // where the path ends up.
    let mut existing = std::path::PathBuf::new();
    for c in std::path::absolute(path).ok()?.components() {
        match c {
            Component::ParentDir => {
                existing.pop();
            }
            Component::CurDir => {}
            c => existing.push(c),
        }
    }
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(&existing).is_err() {
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?.to_path_buf();
    }
    let mut out = std::fs::canonicalize(&existing).ok()?;
    out.extend(rest.iter().rev());
    Some(out)
}

pub(super) fn package_stem(name: &str) -> Option<&str> {
    if name.starts_with(".dtutil-") {
        return None;
    }
    let n = name.len();
    (n > EXT.len() && name[n - EXT.len()..].eq_ignore_ascii_case(EXT))
        .then(|| &name[..n - EXT.len()])
}

/// `--from` naming one package (or an .ispac) where batch takes a folder tree: what
/// does that instead.
fn a_file_not_a_folder(label: &str, file: &Path) -> String {
    let shown = file.display();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.to_ascii_lowercase().ends_with(".ispac") {
        return format!(
            "{label} `{shown}` is a file, not a directory: an .ispac is a built project, which `dtutil project '{shown}' --decrypt OLD --encrypt \"2;env:NEW\"` re-protects whole; batch copies the packages below a folder"
        );
    }
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .display();
    format!(
        "{label} `{shown}` is a file, not a directory: batch copies the packages below a folder; give its folder (`{folder}`) or a glob in single quotes ('{folder}/*.dtsx'), or copy this one package with dtutil /FILE '{shown}' /COPY 'FILE;DESTINATION/{name}' (/ENCRYPT instead of /COPY re-protects it)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
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
            Location::parse(r"\\acct.file.core.windows.net\pkgs\d", "--to")
                .unwrap()
                .package_path(&f, "p", ".dtsx"),
            r"\\acct.file.core.windows.net\pkgs\d\A\B\p.dtsx"
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

    fn entry(name: &str, is_folder: bool) -> store::Entry {
        store::Entry {
            name: name.into(),
            is_folder,
        }
    }

    fn azure_source() -> Location {
        Location::Azure {
            raw: r"\\acct.file.core.windows.net\pkgs\d".into(),
            unc: r"\\acct.file.core.windows.net\pkgs\d".into(),
        }
    }

    fn msdb_root() -> Location {
        Location::Sql {
            server: None,
            folder: String::new(),
        }
    }

    /// Issue 17: a listing entry is one name, or the listing is refused before any
    /// name is joined into a source or destination path.
    #[test]
    fn listing_names_never_become_paths() {
        let from = azure_source();
        for bad in ["/abs/x.dtsx", r"..\..\x.dtsx", "..", "a/b.dtsx"] {
            let e = from
                .list(
                    &Listing(vec![entry("ok.dtsx", false), entry(bad, false)]),
                    false,
                    Some("--from"),
                )
                .unwrap_err();
            assert!(e.to_string().contains("not one name"), "{bad}: {e}");
        }
        let msdb = msdb_root();
        assert!(msdb
            .list(&Listing(vec![entry("..", true)]), false, Some("--from"))
            .is_err());
        let items = from
            .list(
                &Listing(vec![entry("p.dtsx", false)]),
                false,
                Some("--from"),
            )
            .unwrap();
        assert_eq!(
            items[0].source,
            r"\\acct.file.core.windows.net\pkgs\d\p.dtsx"
        );
    }

    /// Review adversary F7: a name msdb or SMB allows but no path reaches (a leading
    /// blank, a NUL) is one skipped row, a folder so named is not entered, and the rest
    /// of the listing is kept; on Azure Files only `*.dtsx` files are packages.
    #[test]
    fn unaddressable_names_are_skipped_rows_not_a_failed_listing() {
        let from = azure_source();
        let listing = Listing(vec![
            entry("ok.dtsx", false),
            entry(" lead.dtsx", false),
            entry(" notes.txt", false),
            entry(" odd", true),
        ]);
        let items = from.list(&listing, false, Some("--from")).unwrap();
        let mut rows: Vec<(&str, &str, Option<&str>)> = items
            .iter()
            .map(|i| (i.name.as_str(), i.ext.as_str(), i.skip.as_deref()))
            .collect();
        rows.sort();
        let [lead, odd, ok] = rows[..] else {
            panic!("three rows: {rows:?}")
        };
        assert_eq!(ok, ("ok", ".dtsx", None));
        assert!(lead.0 == " lead" && lead.1 == ".dtsx", "{lead:?}");
        assert!(lead.2.unwrap().contains("begins with a blank"), "{lead:?}");
        assert!(odd.0 == " odd" && odd.1.is_empty(), "{odd:?}");
        assert!(odd.2.unwrap().contains("nothing in this folder"), "{odd:?}");
        let msdb = msdb_root();
        let items = msdb
            .list(
                &Listing(vec![entry("nul\0x", false)]),
                false,
                Some("--from"),
            )
            .unwrap();
        assert!(items[0].skip.as_ref().unwrap().contains("NUL"), "{items:?}");
    }

    /// A listing that names a folder inside itself forever ends with a clear error.
    #[test]
    fn a_store_listing_is_followed_to_a_bounded_depth() {
        let msdb = msdb_root();
        let looping = Listing(vec![entry("again", true)]);
        let e = msdb.list(&looping, false, Some("--from")).unwrap_err();
        assert!(e.to_string().contains("more than 64 folders deep"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_destination_strictly_inside_the_source_is_found() {
        let parse = |s: &str| Location::parse(s, "--to").unwrap();
        let inside = |from: &str, to: &str| parse(to).inside(&parse(from), (None, None));
        assert!(inside("sql://s/A", "sql://S/a/B"));
        assert!(!inside("sql://s/A", "sql://s/A"));
        assert!(!inside("sql://s/A", "sql://t/A/B"));
        assert!(!inside("sql://s/A", "sql://s/AB"));
        assert!(inside(r"dts:MSDB\A", r"dts:msdb\A\B"));
        assert!(inside(
            r"\\acct.file.core.windows.net\pkgs\A",
            "https://acct.file.core.windows.net/pkgs/a/b"
        ));
        assert!(!inside(
            r"\\acct.file.core.windows.net\pkgs\A",
            r"\\acct.file.core.windows.net\other\A\B"
        ));
        assert!(!inside("sql://s/A", r"dts:A\B"));
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let d = |p: std::path::PathBuf| Location::Dir(p);
        assert!(d(src.join("x/y")).inside(&d(src.clone()), (None, None)));
        assert!(d(src.join("x/../../src/z")).inside(&d(src.clone()), (None, None)));
        assert!(!d(src.clone()).inside(&d(src.clone()), (None, None)));
        assert!(!d(dir.path().join("src2")).inside(&d(src.clone()), (None, None)));
        std::os::unix::fs::symlink(&src, dir.path().join("link")).unwrap();
        assert!(d(dir.path().join("link/out")).inside(&d(src), (None, None)));
    }
}
