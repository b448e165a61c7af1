//! What keeps `/MOVE` from losing a package: the source and the destination must be
//! two packages, and the source must still be what was copied when it is deleted.
//!
//! Names cannot settle the first: a server has many names (`127.0.0.1`, `localhost`,
//! its host name), a package store root is another name for a folder or an msdb, a
//! bind mount another name for a directory. So the stores are asked for the object
//! behind each name ([`Store::stamp`]): one stamp is one package. Before anything is
//! written an existing destination with the source's stamp is refused; after the
//! write, a source that now carries the destination's stamp was written over itself
//! (nothing is deleted); a source whose stamp or bytes moved since it was read was
//! changed during the move (both are kept).

use super::{hex_sha256, store_error};
use crate::error::{Error, ExitCode, Result};
use crate::plan::PackageLocation;
use crate::store::{Store, StoreError};

/// An existing destination that is the source itself under another name: refused
/// before anything is written (`/COPY /Q` would write it over itself, `/MOVE` would
/// then delete it).
pub(super) fn refuse_same_package(
    source_stamp: Option<&str>,
    dest_store: &dyn Store,
    destination: &PackageLocation,
    source_name: &str,
    is_move: bool,
) -> Result<()> {
    let Some(source_stamp) = source_stamp else {
        return Ok(());
    };
    let dest_stamp = dest_store
        .stamp(&destination.path)
        .map_err(|e| store_error(e, ExitCode::Failure))?;
    if dest_stamp.as_deref() != Some(source_stamp) {
        return Ok(());
    }
    let action = if is_move { "/MOVE" } else { "/COPY" };
    let consequence = if is_move {
        "moving it onto itself would delete it"
    } else {
        "copying it onto itself changes nothing"
    };
    Err(Error::failure(format!(
        "{source_name} and {} are the same package reached by two names (another name for the server, a package store root over the same folder or msdb, a mount or a link); {consequence}. {action} onto itself: nothing written, nothing deleted",
        dest_store.describe(&destination.path)
    )))
}

/// Just before a move deletes its source: the source is still there, is not the
/// destination just written, and holds the bytes that were copied.
pub(super) fn check_source_before_delete(
    source_store: &dyn Store,
    source_path: &str,
    source_name: &str,
    stamp_when_read: Option<&str>,
    sha256_when_read: &str,
    dest_store: &dyn Store,
    dest_path: &str,
) -> Result<()> {
    let dest_name = dest_store.describe(dest_path);
    let cannot_check = |e: StoreError| {
        Error::failure(format!(
            "{dest_name} is written and verified, but {source_name} could not be checked before deleting it ({e}); the source is kept"
        ))
    };
    let stamp_now = source_store.stamp(source_path).map_err(cannot_check)?;
    let dest_stamp = dest_store.stamp(dest_path).map_err(cannot_check)?;
    if stamp_now.is_some() && stamp_now == dest_stamp {
        return Err(Error::failure(format!(
            "{source_name} and {dest_name} turned out to be the same package reached by two names: the copy was written over the source itself (the package is there, whole); nothing deleted"
        )));
    }
    let changed = || {
        Error::failure(format!(
            "{source_name} changed while it was being moved (it is no longer what was copied to {dest_name}); both are kept: compare them and delete the one you do not want"
        ))
    };
    if stamp_now.as_deref() != stamp_when_read {
        return Err(changed());
    }
    let bytes_now = match source_store.read(source_path) {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => {
            return Err(Error::failure(format!(
                "{source_name} disappeared while it was being moved (something else deleted or renamed it); {dest_name} holds the copy"
            )))
        }
        Err(e) => return Err(cannot_check(e)),
    };
    if hex_sha256(&bytes_now) != sha256_when_read {
        return Err(changed());
    }
    Ok(())
}

/// A package write-protected where it is (a read-only file, a read-only folder) is not
/// deleted by `/DELETE` or `/MOVE` unless `/Q`, as a read-only destination is not
/// replaced: on Windows, dtutil's delete of a read-only file fails (.NET's File.Delete
/// refuses it). Checked before anything is written. `Ok(Some(why))`: deleted all the
/// same under `/Q` (said in a note).
pub(super) fn check_write_protected_source(
    source_store: &dyn Store,
    source_path: &str,
    source_name: &str,
    quiet: bool,
    action: &str,
) -> Result<Option<String>> {
    // /Q cannot help here: the delete would fail after the copy, leaving two packages.
    if let Some(why) = source_store.undeletable(source_path) {
        let instead = match action {
            "/MOVE" => " (/COPY copies it and deletes nothing)",
            _ => "",
        };
        return Err(Error::failure(format!(
            "{source_name}: {why}, so {action} could not delete it; nothing done{instead}"
        )));
    }
    let Some(why) = source_store.write_protected(source_path) else {
        return Ok(None);
    };
    if quiet {
        return Ok(Some(why));
    }
    Err(Error::failure(format!(
        "{source_name}: {why}, and {action} would delete it; nothing done. Add /Q to delete it anyway"
    )))
}
