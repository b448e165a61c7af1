//! msdb paths: `Folder\Sub\Name`, `\` or `/` as separators, a leading `\` for the root.
//! Split by `store::path` like every store's paths (msdb has no rule of its own: a
//! folder named `.` or `..` could exist in msdb, but no dtutil path may name one, so
//! a path never means anything but the folders it spells).

use crate::store::path as store_path;
use crate::store::StoreResult;

const WHAT: &str = "an msdb path (paths never leave msdb's root folder)";

/// The folder segments of a folder path (`""`, `\` and `/` are the root); `.` and
/// `..` are refused.
pub fn folder_segments(path: &str) -> StoreResult<Vec<String>> {
    store_path::segments(path, WHAT)
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

/// Names compare as under msdb's default collation (case-insensitive; trailing blanks
/// ignored, which splitting already trims). A path that cannot be split is no path.
pub fn same(a: &str, b: &str) -> bool {
    match (store_path::split(a), store_path::split(b)) {
        (Ok(a), Ok(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(x, y)| x.to_lowercase() == y.to_lowercase())
        }
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
}
