//! msdb paths: `Folder\Sub\Name`, `\` or `/` as separators, a leading `\` for the root.

/// The folder segments of a folder path (`""`, `\` and `/` are the root).
pub fn folder_segments(path: &str) -> Vec<String> {
    path.split(['\\', '/'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A package path split into its folder segments and its name.
pub fn package_parts(path: &str) -> Option<(Vec<String>, String)> {
    let mut segments = folder_segments(path);
    let name = segments.pop()?;
    Some((segments, name))
}

/// The canonical form for messages and comparisons: `\A\B\Name` (the root is `\`).
pub fn display(path: &str) -> String {
    crate::store::path::display(&folder_segments(path))
}

/// Names compare as under msdb's default collation (case-insensitive; trailing blanks
/// ignored, which `folder_segments` already trims).
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (folder_segments(a), folder_segments(b));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x.to_lowercase() == y.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths() {
        assert_eq!(folder_segments("\\"), Vec::<String>::new());
        assert_eq!(folder_segments(""), Vec::<String>::new());
        assert_eq!(folder_segments("\\A\\B"), vec!["A", "B"]);
        assert_eq!(folder_segments("A/B/"), vec!["A", "B"]);
        assert_eq!(
            package_parts("\\Maintenance Plans\\p"),
            Some((vec!["Maintenance Plans".to_string()], "p".to_string()))
        );
        assert_eq!(package_parts("p"), Some((vec![], "p".to_string())));
        assert_eq!(package_parts("\\"), None);
        assert_eq!(display("a/b"), "\\a\\b");
        assert_eq!(display(""), "\\");
    }

    #[test]
    fn compares_case_insensitively() {
        assert!(same("\\Folder\\Pkg", "folder/PKG"));
        assert!(same("Ä\\x", "ä\\X"));
        assert!(!same("A\\B", "A\\C"));
        assert!(!same("A", "A\\B"));
    }
}
