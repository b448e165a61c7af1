//! A project re-protected as one: what its manifest lists against what is there, and
//! which files it may replace. SSDT checks one protection level and one password
//! across the project, so what a write would leave behind is refused or named.

use crate::error::{Error, Result};
use crate::package::ProtectionLevel;
use std::path::{Path, PathBuf};

/// How many of a list are named in a message before "and N more".
const NAMED: usize = 20;

/// The packages and connection managers the manifest (a `.dtproj` or
/// `@Project.manifest`) lists, and which of them are not among `present` (names as in
/// the folder or the .ispac, percent-decoded). Nothing when it cannot be read: reading
/// it is the re-protection's to report.
pub(super) fn listed_and_missing(manifest: &[u8], present: &[String]) -> (usize, Vec<String>) {
    let Ok(s) = super::scan::scan(manifest) else {
        return (0, Vec::new());
    };
    let mut listed = 0;
    let mut missing = Vec::new();
    for (i, e) in s.elems.iter().enumerate() {
        if !matches!(e.local(), "Package" | "ConnectionManager") || !s.elem_is_ssis(i) {
            continue;
        }
        let parent_ok = e
            .parent
            .is_some_and(|p| matches!(s.elems[p].local(), "Packages" | "ConnectionManagers"));
        if let (true, Some(a)) = (parent_ok, s.ssis_attr(i, "Name")) {
            listed += 1;
            if !present.iter().any(|p| p == &a.value) {
                missing.push(a.value.clone());
            }
        }
    }
    (listed, missing)
}

/// A re-protection that finds none of the files the manifest lists, and no other
/// package or connection manager either (almost surely the wrong folder), would rewrite
/// the manifest alone, making it say `level` for files that keep their own: refused,
/// exit 1. Otherwise each missing file is a warning ([`missing_warning`]).
pub(super) fn refuse_manifest_alone(
    project: &str,
    level: ProtectionLevel,
    (listed, missing): (usize, &[String]),
    other_files: bool,
) -> Result<()> {
    if listed == 0 || missing.len() < listed || other_files {
        return Ok(());
    }
    Err(Error::failure(format!(
        "`{project}`: none of the {listed} packages and connection managers the project lists is there ({}): re-protecting the manifest alone would make it say level {level} for files that keep their own, and SSDT does not build a project whose files differ from it; run this on the folder that holds them (the project's folder in the solution), or put them beside the .dtproj; nothing written",
        named(missing.iter().map(String::as_str)),
    )))
}

/// What is said of one listed file that is not there; `new_level` when the write gives
/// the project another level than it had, which that file does not get.
pub(super) fn missing_warning(name: &str, new_level: Option<ProtectionLevel>) -> String {
    match new_level {
        Some(level) => format!(
            "`{name}` is listed in the project but not found: the project now says level {level} for it while the file, wherever it is, keeps its own; re-protect it the same way before the project is built"
        ),
        None => format!(
            "`{name}` is listed in the project but not found; its entry in the manifest says the project's level"
        ),
    }
}

/// A project file is replaced only when writable: as `batch` leaves a read-only file
/// alone (and `/ENCRYPT` in place without /Q), the mark is taken as meant (a
/// source-control checkout, a deployed project), and removing it is the user's step.
pub(super) fn refuse_read_only(targets: &[PathBuf]) -> Result<()> {
    let read_only: Vec<&Path> = targets
        .iter()
        .map(PathBuf::as_path)
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().readonly()))
        .collect();
    if read_only.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = read_only.iter().map(|p| p.display().to_string()).collect();
    Err(Error::failure(format!(
        "{} of the project files to replace {} read-only ({}); nothing written. `dtutil project` does not replace a read-only file: make them writable first (chmod u+w, or check them out of source control: tf checkout, p4 edit), or write elsewhere with --out, then run this again",
        read_only.len(),
        if read_only.len() == 1 { "is" } else { "are" },
        named(shown.iter().map(String::as_str))
    )))
}

fn named<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let mut shown: Vec<String> = names.take(NAMED).map(|n| format!("`{n}`")).collect();
    if total > NAMED {
        shown.push(format!("and {} more", total - NAMED));
    }
    shown.join(", ")
}
