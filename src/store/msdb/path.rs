//! msdb paths: `Folder\Sub\Name`, `\` or `/` as separators, a leading `\` for the root.
//! Split by `store::path` like every store's paths (msdb has no rule of its own: a
//! folder named `.` or `..` could exist in msdb, but no dtutil path may name one, so
//! a path never means anything but the folders it spells).

use crate::store::path as store_path;
use crate::store::{StoreError, StoreResult};

const WHAT: &str = "an msdb path (paths never leave msdb's root folder)";

pub use store_path::{msdb_name_too_long as name_too_long, MSDB_NAME_LIMIT as NAME_LIMIT};

/// [`name_too_long`] as a store error: refused before anything is written.
pub fn check_name_length(name: &str) -> StoreResult<()> {
    match name_too_long(name) {
        Some(why) => Err(StoreError::Failed(why)),
        None => Ok(()),
    }
}

/// The folder segments of a folder path (`""`, `\` and `/` are the root); `.` and
/// `..` are refused, and so are names msdb would cut ([`NAME_LIMIT`]).
pub fn folder_segments(path: &str) -> StoreResult<Vec<String>> {
    let names = store_path::segments(path, WHAT)?;
    for name in &names {
        check_name_length(name)?;
    }
    Ok(names)
}

/// A package path split into its folder segments and its name (`None`: the root).
pub fn package_parts(path: &str) -> StoreResult<Option<(Vec<String>, String)>> {
    let mut segments = folder_segments(path)?;
    Ok(segments.pop().map(|name| (segments, name)))
}

/// The canonical form for messages and comparisons: `\A\B\Name` (the root is `\`); a
/// path that cannot be split is shown as given.
pub fn display(path: &str) -> String {
    match store_path::split(path) {
        Ok(names) => store_path::display(&names),
        Err(_) => path.to_string(),
    }
}

/// The row a path reaches in msdb, as a comparable key: each name as the server keeps
/// it (cut to [`NAME_LIMIT`] UTF-16 units) and compares it under its default collation
/// (case-insensitive; trailing blanks ignored, which splitting already trims). `None`:
/// a path that cannot be split.
pub fn row_key(path: &str) -> Option<Vec<String>> {
    let names = store_path::split(path).ok()?;
    Some(
        names
            .iter()
            .map(|name| {
                let units: Vec<u16> = name.encode_utf16().take(NAME_LIMIT).collect();
                String::from_utf16_lossy(&units).trim_end().to_lowercase()
            })
            .collect(),
    )
}

/// Two paths that reach one msdb row ([`row_key`]). A path that cannot be split is no
/// path.
pub fn same(a: &str, b: &str) -> bool {
    match (row_key(a), row_key(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths() {
        assert_eq!(folder_segments("\\").unwrap(), Vec::<String>::new());
        assert_eq!(folder_segments("").unwrap(), Vec::<String>::new());
        assert_eq!(folder_segments("\\A\\B").unwrap(), vec!["A", "B"]);
        assert_eq!(folder_segments("A/B/").unwrap(), vec!["A", "B"]);
        assert_eq!(
            package_parts("\\Maintenance Plans\\p").unwrap(),
            Some((vec!["Maintenance Plans".to_string()], "p".to_string()))
        );
        assert_eq!(package_parts("p").unwrap(), Some((vec![], "p".to_string())));
        assert_eq!(package_parts("\\").unwrap(), None);
        assert_eq!(display("a/b"), "\\a\\b");
        assert_eq!(display(""), "\\");
    }

    /// Issue 10: msdb splits with `store::path`, so `.` and `..` are refused here as in
    /// every other store (before, msdb asked the server for a folder named `..`).
    #[test]
    fn dots_are_refused_as_in_every_store() {
        for bad in [r"A\..\B", r"\..", "A/./p", r"A\ .. \p"] {
            let e = folder_segments(bad).unwrap_err().to_string();
            assert!(e.contains("is not allowed in an msdb path"), "{bad}: {e}");
            assert!(package_parts(bad).is_err(), "{bad}");
        }
        assert!(!same(r"A\..\B", "B"));
    }

    #[test]
    fn compares_case_insensitively() {
        assert!(same("\\Folder\\Pkg", "folder/PKG"));
        assert!(same("Ä\\x", "ä\\X"));
        assert!(!same("A\\B", "A\\C"));
        assert!(!same("A", "A\\B"));
    }

    /// Review user4 F4: names alike in their first 128 characters are one msdb row.
    #[test]
    fn names_past_the_limit_are_refused_and_compare_as_cut() {
        let long = |c: &str, n: usize| c.repeat(n);
        let (a, b) = (long("K", 130) + "_a", long("K", 130) + "_b");
        assert!(same(&format!("F\\{a}"), &format!("f\\{b}")));
        assert!(same("F\\Pkg ", "F\\pkg"));
        assert!(!same(&long("K", 128), &long("K", 127)));
        assert!(name_too_long(&long("K", 128)).is_none());
        let why = name_too_long(&long("K", 129)).unwrap();
        assert!(
            why.contains("129 characters") && why.contains("at most 128"),
            "{why}"
        );
        // UTF-16 code units, as sysname counts: a character past U+FFFF is two.
        assert!(name_too_long(&long("\u{1F600}", 64)).is_none());
        assert!(name_too_long(&(long("\u{1F600}", 64) + "x")).is_some());
        let e = folder_segments(&format!("A\\{}\\B", long("F", 140))).unwrap_err();
        assert!(e.to_string().contains("140 characters"), "{e}");
        assert!(package_parts(&format!("A\\{}", long("Q", 140))).is_err());
    }
}
