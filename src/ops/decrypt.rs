//! `/Decrypt` on a `/COPY` or `/MOVE` that changes nothing in the package.
//!
//! dtutil does not open a package it copies from FILE to FILE (LOLBAS lists
//! `dtutil /FILE calc.exe /COPY FILE;...` as a file copy), so a password given there is
//! never used; into msdb or the package store it loads the package, with the password
//! (`/Decrypt banana /COPY DTS;MSDB\...`, shirashiki/ssis), so a wrong one fails.
//! Either way the copy carries the package as it is, still protected: say so rather
//! than ignore the switch silently, and check the password where dtutil would use it.

use crate::package::{self, PackageError};

/// What became of the password: `Ok(Some(note))` when it is not used (the note says
/// why), `Ok(None)` when it opened the package, `Err` when it does not open it.
pub(super) fn on_a_copy(
    bytes: &[u8],
    password: &str,
    file_to_file: bool,
) -> Result<Option<String>, PackageError> {
    const USE_ENCRYPT: &str = "to remove or change the protection use /ENCRYPT";
    if file_to_file {
        return Ok(Some(format!(
            "/Decrypt is not used: a FILE to FILE copy carries the package's bytes as they are, protection included; {USE_ENCRYPT}"
        )));
    }
    let Ok(info) = package::inspect(bytes, None) else {
        // Not readable as a package: what reads it next says why.
        return Ok(None);
    };
    let level = info.protection_level.unwrap_or(0);
    let has_password_values = level == 3 || (level == 2 && info.encrypted.unwrap_or(0) > 0);
    if !has_password_values {
        return Ok(Some(format!(
            "/Decrypt is not used: the package has no password-protected values (protection level {level}); it is copied as it is"
        )));
    }
    open_every_value(bytes, password)?;
    Ok(None)
}

/// Opens every password-protected value of the package, which is what tells a wrong
/// password (a level 2 package's may be few); re-protecting to level 5, which keeps
/// no values, writes nothing and drops what it opened.
pub(crate) fn open_every_value(bytes: &[u8], password: &str) -> Result<(), PackageError> {
    package::rewrite(
        bytes,
        &package::Options {
            decrypt_password: Some(password),
            target: package::Target::Level {
                level: package::ProtectionLevel::ServerStorage,
                password: None,
            },
            algorithm: None,
            regenerate_id: false,
            allow_lost_values: true,
        },
    )
    .map(|_| ())
}
