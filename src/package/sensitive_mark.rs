//! The Sensitive marks the scan keys on: only the spellings SSIS writes are read; any
//! other makes the package unreadable rather than guessed (review adversary4 F5).

use super::xml;
use super::PackageError;

/// A Sensitive mark as SSIS writes it: `1` or `0`, and on a package parameter
/// (`words`) `True` or `False` in any case. `None` for any other value (blanks around
/// it, `-1`, `True` on an inner property), which SSIS's reader may take either way.
pub(super) fn sensitive_mark(v: &[u8], words: bool) -> Option<bool> {
    match v {
        b"1" => Some(true),
        b"0" => Some(false),
        _ if v.eq_ignore_ascii_case(b"false") => Some(false),
        _ if words && v.eq_ignore_ascii_case(b"true") => Some(true),
        _ => None,
    }
}

/// A Sensitive mark dtutil cannot classify: its value would be neither left in the
/// clear nor encrypted on a guess, so the package is refused (review adversary4 F5).
pub(super) fn unclear_mark(doc: &[u8], offset: usize, attr: &str, value: &[u8]) -> PackageError {
    let (line, column) = xml::line_col(doc, offset);
    let shown: String = String::from_utf8_lossy(value).chars().take(24).collect();
    let true_spelling = if attr == "Sensitive" { "1" } else { "True" };
    PackageError::Unsupported(format!(
        "line {line}, column {column}: the mark {attr}=\"{}\" is not one SSIS writes, so whether SSIS reads the value as sensitive cannot be told; nothing is written rather than leaving it in the clear or encrypting it on a guess. Write {attr}=\"{true_spelling}\" (sensitive) or remove the mark",
        shown.escape_debug()
    ))
}
