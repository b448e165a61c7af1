//! A package that cannot be loaded, said as the exit code and message dtutil gives,
//! and a project's files (which are not packages) pointed to `dtutil project`.

use crate::error::{Error, ExitCode};
use crate::package::PackageError;

/// What a file that is part of a project (not a package) is, from its bytes (an
/// `.ispac` is a zip archive) or the root element the package reader found.
pub(super) fn project_file_kind(bytes: &[u8], error: &PackageError) -> Option<&'static str> {
    if is_zip(bytes) {
        return Some("a zip archive (an .ispac project deployment)");
    }
    let PackageError::NotAPackage(root) = error else {
        return None;
    };
    Some(match root.rsplit(':').next().unwrap_or(root) {
        "Project" => "a project file (a .dtproj or @Project.manifest)",
        "ConnectionManager" => "a project connection manager (.conmgr)",
        "Parameters" | "PackageParameters" => "a project parameters file (.params or .dtsxp)",
        _ => return None,
    })
}

fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// A project's files are re-protected together (SSDT checks one password against all
/// of them), by `dtutil project`, not one by one with dtutil's switches.
pub(super) fn not_a_package_but_a_project_file(kind: &str, what: &str) -> Error {
    Error::new(
        ExitCode::PackageCannotLoad,
        format!(
            "{what} is {kind}, not an SSIS package: dtutil's switches work on single packages (.dtsx). Re-protect the whole project with dtutil project PATH --decrypt OLD --encrypt \"LEVEL;NEW\" (PATH: the project folder with its .dtproj, or the .ispac)"
        ),
    )
}

pub(super) fn package_error(error: PackageError, what: &str) -> Error {
    let exit = match error {
        PackageError::LostValues(_) => ExitCode::Failure,
        _ => ExitCode::PackageCannotLoad,
    };
    Error::new(exit, format!("{what}: {error}"))
}

/// A path that is a Windows cmd variable the shell did not expand (a batch file's
/// `%%f`, a `for` loop's `%f`, `%NAME%`), pasted into bash or PowerShell: said with
/// the form that shell expands, since "does not exist" alone sends the user looking
/// for a file named `%f`.
pub(super) fn cmd_variable_hint(path: &str) -> Option<String> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let loop_variable = path
        .strip_prefix("%%")
        .or_else(|| path.strip_prefix('%'))
        .is_some_and(|v| v.len() == 1 && v.chars().all(|c| c.is_ascii_alphabetic()));
    let named = path
        .split('%')
        .skip(1)
        .step_by(2)
        .any(|v| !v.is_empty() && v.chars().all(name_char) && path.matches('%').count() >= 2);
    if !loop_variable && !named {
        return None;
    }
    Some(format!(
        "; `{path}` is a cmd variable that was not expanded: this shell writes a loop variable as \"$f\" (for f in *.dtsx; do dtutil /FILE \"$f\" ...; done) and %NAME% as \"$NAME\" (PowerShell: $f, $env:NAME)"
    ))
}

#[cfg(test)]
mod tests {
    use super::cmd_variable_hint;

    #[test]
    fn cmd_variables_are_told_apart_from_paths() {
        for path in [
            "%f",
            "%%f",
            "%dtsxFile%",
            "%SSIS_DIR%\\Load.dtsx",
            "C:\\%Folder%\\x.dtsx",
        ] {
            assert!(cmd_variable_hint(path).is_some(), "{path}");
        }
        for path in [
            "Load.dtsx",
            "100%.dtsx",
            "a%b.dtsx",
            "%",
            "%%",
            "50% off 20%.dtsx",
        ] {
            assert!(cmd_variable_hint(path).is_none(), "{path}");
        }
    }
}
