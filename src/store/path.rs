//! Store paths, checked in one place: `\A\B\Name` split into names (either slash
//! separates), `.` and `..` refused so a path never leaves the folder it starts in, and
//! one joiner that puts a name below a folder.
//!
//! Names that come back from a listing (Azure Files, msdb, a directory) are checked
//! with [`check_name`] before anything joins them: a hostile server must not be able to
//! name `..\..\x` or `/abs/x` and have it taken as a path.

use super::{StoreError, StoreResult};

/// Why a path cannot be split into names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadPath {
    /// A `.` or `..` segment (the segment).
    Dot(String),
    /// A name holds a NUL character.
    Nul,
    /// A decoded name holds a `\` or `/`.
    Separator,
}

impl std::fmt::Display for BadPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadPath::Dot(s) => write!(f, "`{s}` is not allowed"),
            BadPath::Nul => f.write_str("a name holds a NUL character"),
            BadPath::Separator => f.write_str("a name holds a \\ or /"),
        }
    }
}

/// The one check of a single name: not `.` or `..`, no NUL, no separator. Blanks
/// around a name do not make it another name (every path parser trims them, and some
/// servers drop them), so ` .. ` is `..`.
pub fn check_segment(s: &str) -> Result<(), BadPath> {
    let name = s.trim();
    if name == "." || name == ".." {
        return Err(BadPath::Dot(name.to_string()));
    }
    if s.contains('\0') {
        return Err(BadPath::Nul);
    }
    if s.contains(['\\', '/']) {
        return Err(BadPath::Separator);
    }
    Ok(())
}

/// The names of a path: separators are `\` and `/`, blanks around names are trimmed,
/// empty names (doubled or leading separators) are skipped.
pub fn split(path: &str) -> Result<Vec<String>, BadPath> {
    let mut out = Vec::new();
    for s in path.split(['\\', '/']).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        check_segment(s)?;
        out.push(s.to_string());
    }
    Ok(out)
}

/// [`split`], with the message every store gives: `what` names the kind of path
/// ("a package store path (paths never leave their top-level folder)").
pub fn segments(path: &str, what: &str) -> StoreResult<Vec<String>> {
    split(path).map_err(|e| match e {
        BadPath::Dot(_) => StoreError::Failed(format!("`{path}`: {e} in {what}")),
        BadPath::Nul | BadPath::Separator => StoreError::Failed(format!("`{path}`: {e}")),
    })
}

/// True when `name` is exactly one name: not empty (or blank), and [`check_segment`]
/// passes it.
pub fn is_one_name(name: &str) -> bool {
    !name.trim().is_empty() && check_segment(name).is_ok()
}

/// Checks a name a listing returned before anything uses it; `doing` says whose listing
/// it was, for the message. Refused: what could make a joined path leave its folder or
/// name another one (empty, `.`, `..`, a `\\` or `/`), a hostile server's doing.
///
/// A name with a leading blank or a NUL passes: msdb and SMB keep such names, so a
/// listing shows them; [`unaddressable`] says why no path reaches them, and each
/// consumer reports that per entry instead of failing the whole listing.
pub fn check_name(name: &str, doing: &str) -> StoreResult<()> {
    let trimmed = name.trim();
    let traversal =
        trimmed.is_empty() || trimmed == "." || trimmed == ".." || name.contains(['\\', '/']);
    if traversal {
        Err(StoreError::Failed(format!(
            "{doing}: the listing holds the entry `{}`, which is not one name (a name holds no \\ or /, and is not . or ..); refused",
            name.escape_debug()
        )))
    } else {
        Ok(())
    }
}

/// Why a name a listing returned (already through [`check_name`]) cannot be read or
/// written by any path, if so.
///
/// A leading blank: NTFS, SMB and msdb keep it as part of the name, but every path here
/// trims the blanks around a name, so the entry would be read or written as another
/// one. (A trailing blank is harmless: Windows drops it and msdb compares names without
/// it, the same as trimming.) A NUL: no path may hold one.
pub fn unaddressable(name: &str) -> Option<String> {
    let shown = name.escape_debug();
    if name.contains('\0') {
        Some(format!(
            "the name `{shown}` holds a NUL character, which no path can name; rename it on the server"
        ))
    } else if name.starts_with(char::is_whitespace) {
        Some(format!(
            "the name `{shown}` begins with a blank, which paths trim: it would be read or written as another entry; rename it on the server"
        ))
    } else {
        None
    }
}

/// The longest package or folder name msdb holds: `sp_ssis_putpackage @name` and
/// `sp_ssis_addfolder @name` are `sysname` (nvarchar(128), counted in UTF-16 code
/// units), and SQL Server cuts a longer procedure argument without an error, so two
/// names alike in their first 128 characters would be one row.
pub const MSDB_NAME_LIMIT: usize = 128;

/// Why msdb cannot hold `name` under that name (it is longer than [`MSDB_NAME_LIMIT`]).
pub fn msdb_name_too_long(name: &str) -> Option<String> {
    let name = name.trim();
    let units = name.encode_utf16().count();
    (units > MSDB_NAME_LIMIT).then(|| {
        format!(
            "the name `{}` is {units} characters long; msdb holds names of at most {MSDB_NAME_LIMIT} characters (sysname) and would silently cut it, so it could land on another package's row; use a shorter name",
            name.escape_debug()
        )
    })
}

/// `parent\name`; the root (`""`, `\`) gives `\name`.
pub fn join(parent: &str, name: &str) -> String {
    let parent = parent.trim_end_matches(['\\', '/']);
    if parent.is_empty() {
        format!("\\{name}")
    } else {
        format!("{parent}\\{name}")
    }
}

/// `base\a\b`: names appended below a base kept as given (`base` may be a UNC path).
pub fn join_all<'a>(base: &str, names: impl IntoIterator<Item = &'a str>) -> String {
    let mut p = base.trim_end_matches(['\\', '/']).to_string();
    for n in names {
        p.push('\\');
        p.push_str(n);
    }
    p
}

/// `A\B\C`: names below a store's root, without the leading `\` (the form msdb and
/// package store folder paths are handed on in); empty names are skipped, so the root
/// (no names) is `""`.
pub fn relative<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    let mut p = String::new();
    for n in names.into_iter().filter(|n| !n.as_ref().is_empty()) {
        if !p.is_empty() {
            p.push('\\');
        }
        p.push_str(n.as_ref());
    }
    p
}

/// `\A\B` for messages (the root is `\`).
pub fn display(names: &[String]) -> String {
    format!("\\{}", relative(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_refuses_dots() {
        assert_eq!(split(r"\A/B\\ C ").unwrap(), vec!["A", "B", "C"]);
        assert_eq!(split(r"A\..\B"), Err(BadPath::Dot("..".into())));
        assert_eq!(split("A/./B"), Err(BadPath::Dot(".".into())));
        assert_eq!(split("A\0"), Err(BadPath::Nul));
    }

    #[test]
    fn dots_are_refused_with_blanks_around_them() {
        for (path, dot) in [
            (r"A\ .. \B", ".."),
            ("../x", ".."),
            ("..", ".."),
            (r"A\.. ", ".."),
            (r"A\ ..", ".."),
            ("A/./B", "."),
            (r"A\ . ", "."),
        ] {
            assert_eq!(split(path), Err(BadPath::Dot(dot.into())), "{path:?}");
        }
        for s in [".. ", " ..", " . ", "."] {
            assert!(check_segment(s).is_err(), "{s:?}");
        }
        assert_eq!(split("..x/x../.a").unwrap(), vec!["..x", "x..", ".a"]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert_eq!(BadPath::Dot("..".into()).to_string(), "`..` is not allowed");
    }

    #[test]
    fn empty_names_are_skipped() {
        assert_eq!(split(r"\\A\\B//C\ \").unwrap(), vec!["A", "B", "C"]);
        assert_eq!(split(r"\").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn listing_names_are_one_segment() {
        for bad in [
            "",
            " ",
            ".",
            " .. ",
            "/abs/x.dtsx",
            r"..\x",
            "a/b",
            "a\\b",
            "a\0/b",
        ] {
            assert!(check_name(bad, "x").is_err(), "{bad:?}");
        }
        for good in ["p.dtsx", "Maintenance Plans", "ä", "..x", "x..", "p.dtsx "] {
            assert!(check_name(good, "x").is_ok(), "{good:?}");
            assert_eq!(unaddressable(good), None, "{good:?}");
        }
    }

    /// Legal in msdb and SMB, so listed (not refused), but no path reaches them.
    #[test]
    fn leading_blanks_and_nul_are_listed_but_unaddressable() {
        for odd in [" p.dtsx", "\u{3000}p", "a\0"] {
            assert!(check_name(odd, "x").is_ok(), "{odd:?}");
            assert!(unaddressable(odd).is_some(), "{odd:?}");
        }
        let lead = unaddressable(" p.dtsx").unwrap();
        assert!(lead.contains("begins with a blank"), "{lead}");
        let nul = unaddressable("a\0").unwrap();
        assert!(nul.contains("NUL") && nul.contains("a\\0"), "{nul}");
    }

    #[test]
    fn joins_with_backslashes() {
        assert_eq!(join("", "A"), r"\A");
        assert_eq!(join(r"\", "A"), r"\A");
        assert_eq!(join(r"\A\", "B"), r"\A\B");
        assert_eq!(join_all(r"\\h\s\", ["a", "b"]), r"\\h\s\a\b");
        assert_eq!(relative(["", "A", "", "B"]), r"A\B");
        assert_eq!(relative::<&str>([]), "");
        assert_eq!(display(&["A".into(), "B".into()]), r"\A\B");
        assert_eq!(display(&[]), r"\");
    }
}
