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
