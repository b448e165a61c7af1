//! What a single command does instead when a ServerStorage (level 5) package may not go
//! where /COPY or /MOVE was asked to take it (DTS_E_SERVERSTORAGEDISALLOWED).

use crate::plan::{LocationKind, PackageLocation};

/// The re-protecting command line for `destination`, in dtutil's own switches: /ENCRYPT
/// writes at another level where /COPY cannot, but not into the package store (DTS),
/// which then takes a file already re-protected.
pub(super) fn fix(destination: &PackageLocation, is_move: bool) -> String {
    let (verb, then_delete) = if is_move {
        ("/MOVE", ", then /DELETE the source once the copy is there")
    } else {
        ("/COPY", "")
    };
    let path = &destination.path;
    match destination.kind {
        LocationKind::Dts => format!(
            "/ENCRYPT it to a file first, at level 2 or 3 with a password to keep them encrypted (/ENCRYPT \"FILE;pkg.dtsx;2;env:NAME\") or at level 0 to leave them out (/ENCRYPT \"FILE;pkg.dtsx;0\"), then /COPY that file to \"DTS;{path}\"{then_delete}"
        ),
        kind => {
            let keyword = kind.keyword();
            format!(
                "/ENCRYPT instead of {verb}, at level 2 or 3 with a password to keep them encrypted (/ENCRYPT \"{keyword};{path};2;env:NAME\") or at level 0 to leave them out (/ENCRYPT \"{keyword};{path};0\"){then_delete}"
            )
        }
    }
}
