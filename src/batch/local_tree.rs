//! A local source tree: walking a directory (or what a glob matches) into the
//! packages a batch reads, with links, FIFOs, devices and names that could not be
//! written at the destination listed as skipped rather than opened. Store locations
//! (msdb, the package store, Azure Files) are listed by `location.rs`.

use super::location::{package_stem, Item, EXT};
use crate::store::{path, Listed};
use globset::{GlobBuilder, GlobMatcher};
use std::path::Path;
use walkdir::WalkDir;

/// Why a directory entry that is not a folder cannot be read as a package, if so.
fn not_regular(file_type: std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_symlink() {
        return Some("a symbolic link: links are not followed (--follow-links follows them)");
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

/// Every package below `root` (with a glob, what it matches). Without `follow_links` a
/// link is never entered or opened (a link named like a package is listed as skipped);
/// with it, walkdir follows links and names a loop instead of entering it again. A
/// FIFO or device named like a package is listed as skipped, never opened. A folder
/// that cannot be read (or a loop) is one failed row; the rest of the tree goes on.
pub(super) fn walk_local(
    root: &Path,
    glob: Option<&GlobMatcher>,
    follow_links: bool,
    items: &mut Vec<Item>,
) {
    let walk = WalkDir::new(root)
        .min_depth(1)
        .follow_links(follow_links)
        .sort_by_file_name();
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                items.push(walk_failure(root, &e));
                continue;
            }
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let components: Vec<&std::ffi::OsStr> =
            relative.components().map(|c| c.as_os_str()).collect();
        // A name that is not UTF-8 cannot be carried over faithfully (msdb, Azure
        // Files and the report hold Unicode): shown lossily here, never written.
        let not_unicode = components.iter().find(|c| c.to_str().is_none());
        let mut names: Vec<String> = components
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
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
        let skip = match not_unicode {
            Some(bad) => Some(format!(
                "the name `{}` is not valid UTF-8 (shown with \u{FFFD} for the bytes that are not); it would be written under another name: rename it",
                bad.to_string_lossy().escape_debug()
            )),
            None => folders
                .iter()
                .chain([&name])
                .find_map(|n| name_problem(n))
                .or_else(|| not_regular(file_type).map(str::to_string)),
        };
        // A name the glob picked that is not `*.dtsx` becomes one at the destination.
        let ext = match package_stem(&name) {
            Some(stem) => &name[stem.len()..],
            None => EXT,
        };
        // One look at the file now (walkdir's own listing has no sizes), so that a
        // large package is held back before it is read (`--in-flight-bytes`).
        let size = skip
            .is_none()
            .then(|| entry.metadata().ok())
            .flatten()
            .map(|m| m.len());
        let listed = skip.is_none().then(|| Listed {
            follow_links,
            id: file_id(&entry),
        });
        items.push(Item {
            folders: folders.clone(),
            name: stem.to_string(),
            ext: ext.to_string(),
            source: entry.path().display().to_string(),
            skip,
            fail: None,
            size,
            listed,
        });
    }
}

/// The device and inode of a listed file (through links only with --follow-links), for
/// the read to refuse another file swapped in at its name or on its path.
fn file_id(entry: &walkdir::DirEntry) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        entry.metadata().ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = entry;
        None
    }
}

/// Why a local name cannot become a name at the destination, if so.
fn name_problem(name: &str) -> Option<String> {
    // A `\` is an ordinary character in a Unix file name, but a folder separator in
    // every other location's paths.
    if !path::is_one_name(name) {
        return Some(format!(
            "the name `{}` holds a \\, which is a folder separator at the destination; rename it",
            name.escape_debug()
        ));
    }
    // Store paths trim the blanks around a name; leading blanks are significant in
    // NTFS, SMB and msdb alike, so the package would land under another name.
    if name.starts_with(char::is_whitespace) {
        return Some(format!(
            "the name `{}` begins with a blank, which store paths trim: it would be written under another name; rename it",
            name.escape_debug()
        ));
    }
    None
}

/// A folder walkdir could not read, or a link loop: one failed row naming it.
fn walk_failure(root: &Path, e: &walkdir::Error) -> Item {
    let at = e.path().unwrap_or(root);
    let relative = at.strip_prefix(root).unwrap_or(at);
    let mut folders: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let name = folders.pop().unwrap_or_default();
    let reason = if let Some(ancestor) = e.loop_ancestor() {
        format!(
            "a link loop: `{}` leads back to `{}`; not entered again (the rest of the tree was read)",
            at.display(),
            ancestor.display()
        )
    } else {
        let why = match e.io_error() {
            Some(io) => io.to_string(),
            None => e.to_string(),
        };
        format!(
            "cannot read `{}`: {why}; nothing in it was copied (the rest of the tree was read)",
            at.display()
        )
    };
    Item {
        folders,
        name,
        ext: String::new(),
        source: at.display().to_string(),
        skip: None,
        fail: Some(reason),
        size: None,
        listed: None,
    }
}

/// A glob over path components (`**` matches any number of folders; `*`, `?`, `[a-z]`
/// and `[!x]` stay within one name; everything else, `{` and `\` too, is literal).
pub(super) fn glob_matcher(pattern: &[String]) -> GlobMatcher {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    /// Matches `folders/name` against pattern components (`**` matches any number of folders).
    fn glob_match(pattern: &[String], folders: &[String], name: &str) -> bool {
        glob_matches(&glob_matcher(pattern), folders, name)
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

    /// Issue 17: a directory entry's name is one name at the destination too.
    #[cfg(unix)]
    #[test]
    fn backslashes_in_local_names_are_not_carried_over() {
        use super::super::location::Location;
        use crate::store;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.dtsx"), "x").unwrap();
        std::fs::write(dir.path().join(r"..\..\up.dtsx"), "x").unwrap();
        let items = Location::Dir(dir.path().to_path_buf())
            .list(&store::file::FileStore, false, Some("--from"))
            .unwrap();
        assert_eq!(items.len(), 2);
        let bad = items.iter().find(|i| i.name.contains('\\')).unwrap();
        assert!(bad.skip.as_deref().unwrap().contains("folder separator"));
        assert!(items.iter().any(|i| i.name == "ok" && i.skip.is_none()));
    }

    /// Review adversary4 F4: a package file, or a folder above it, swapped for a link
    /// between the walk and the read is not read through the link.
    #[cfg(unix)]
    #[test]
    fn a_link_swapped_in_after_the_listing_is_not_followed() {
        use super::super::location::Location;
        use super::super::work::read_source;
        use crate::store;
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let (from, outside) = (dir.path().join("from"), dir.path().join("outside"));
        std::fs::create_dir_all(from.join("z")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        for (path, text) in [
            (from.join("a.dtsx"), "listed a"),
            (from.join("b.dtsx"), "listed b"),
            (from.join("z").join("q.dtsx"), "listed q"),
            (outside.join("secret.dtsx"), "OUTSIDE"),
            (outside.join("q.dtsx"), "OUTSIDE"),
        ] {
            std::fs::write(path, text).unwrap();
        }
        let fs = store::file::FileStore;
        let items = Location::Dir(from.clone())
            .list(&fs, false, Some("--from"))
            .unwrap();
        assert_eq!(items.len(), 3);
        std::fs::remove_file(from.join("a.dtsx")).unwrap();
        symlink(outside.join("secret.dtsx"), from.join("a.dtsx")).unwrap();
        std::fs::rename(from.join("z"), from.join("z.old")).unwrap();
        symlink(&outside, from.join("z")).unwrap();
        for item in &items {
            let read = read_source(&fs, item);
            if item.name == "b" {
                assert_eq!(read.unwrap(), b"listed b");
                continue;
            }
            let why = read.expect_err(&item.source).to_string();
            assert!(why.contains("changed since the listing"), "{why}");
            assert!(!why.contains("OUTSIDE"), "{why}");
        }

        // --follow-links reads through the links it listed, and still refuses a swap.
        let items = Location::Dir(from.clone())
            .list(&fs, true, Some("--from"))
            .unwrap();
        let a = items.iter().find(|i| i.name == "a").unwrap();
        assert_eq!(read_source(&fs, a).unwrap(), b"OUTSIDE");
        std::fs::remove_file(from.join("a.dtsx")).unwrap();
        symlink(from.join("b.dtsx"), from.join("a.dtsx")).unwrap();
        let why = read_source(&fs, a).unwrap_err().to_string();
        assert!(why.contains("changed since the listing"), "{why}");
    }
}
