//! GSSAPI status codes as an error, with the library's own wording, and a classification
//! of the Kerberos failures a user can act on.

use std::cell::RefCell;
use std::fmt;

use crate::ffi::{self, OmUint32};

/// The major status (RFC 2744 calling, routine and supplementary bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MajorFlags(u32);

impl MajorFlags {
    pub fn empty() -> Self {
        Self(0)
    }
    pub fn bits(&self) -> u32 {
        self.0
    }
    pub fn from_bits_retain(bits: u32) -> Self {
        Self(bits)
    }
    /// The routine error number (bits 16-23): GSS_S_NO_CRED is 7, and so on.
    pub fn routine(&self) -> u32 {
        (self.0 >> 16) & 0xff
    }
}

/// What went wrong, in the terms a user fixes it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The GSSAPI library is not installed (or not loadable).
    LibraryMissing,
    /// No Kerberos ticket: no credential cache, or no TGT in it.
    NoTicket,
    /// The ticket (TGT) has expired.
    TicketExpired,
    /// The clocks of this machine and the KDC (or the server) differ too much.
    ClockSkew,
    /// The KDC does not know the service principal.
    UnknownServer,
    /// The KDC cannot be reached, or the realm is not configured.
    KdcUnreachable,
    Other,
}

// MIT and Heimdal share the krb5 com_err table (base -1765328384).
const KRB5_BASE: i32 = -1_765_328_384;
const KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = KRB5_BASE + 7;
const KDC_ERR_NEVER_VALID: i32 = KRB5_BASE + 11;
const AP_ERR_TKT_EXPIRED: i32 = KRB5_BASE + 32;
const AP_ERR_SKEW: i32 = KRB5_BASE + 37;
const CC_NOTFOUND: i32 = KRB5_BASE + 141;
const CC_END: i32 = KRB5_BASE + 142;
const KDC_UNREACH: i32 = KRB5_BASE + 156;
const REALM_UNKNOWN: i32 = KRB5_BASE + 154;
const FCC_NOFILE: i32 = KRB5_BASE + 195;
// Routine errors.
const NO_CRED: u32 = 7;
const CREDENTIALS_EXPIRED: u32 = 11;
const UNAVAILABLE: u32 = 16;

#[derive(Debug, Clone)]
pub struct Error {
    pub major: MajorFlags,
    pub minor: u32,
    text: String,
}

impl Error {
    pub(crate) fn from_status(major: OmUint32, minor: OmUint32) -> Self {
        let text = match ffi::api() {
            Ok(api) => describe(api, major, minor),
            Err(e) => e,
        };
        let error = Self {
            major: MajorFlags(major),
            minor,
            text,
        };
        LAST_ERROR.with(|l| *l.borrow_mut() = Some(error.clone()));
        error
    }

    pub(crate) fn library_missing(text: String) -> Self {
        let error = Self {
            major: MajorFlags(UNAVAILABLE << 16),
            minor: 0,
            text,
        };
        LAST_ERROR.with(|l| *l.borrow_mut() = Some(error.clone()));
        error
    }

    pub fn kind(&self) -> ErrorKind {
        if self.minor == 0 && self.major.routine() == UNAVAILABLE {
            return ErrorKind::LibraryMissing;
        }
        match self.minor as i32 {
            AP_ERR_SKEW => return ErrorKind::ClockSkew,
            AP_ERR_TKT_EXPIRED | KDC_ERR_NEVER_VALID => return ErrorKind::TicketExpired,
            KDC_ERR_S_PRINCIPAL_UNKNOWN => return ErrorKind::UnknownServer,
            FCC_NOFILE | CC_NOTFOUND | CC_END => return ErrorKind::NoTicket,
            KDC_UNREACH | REALM_UNKNOWN => return ErrorKind::KdcUnreachable,
            _ => {}
        }
        match self.major.routine() {
            CREDENTIALS_EXPIRED => ErrorKind::TicketExpired,
            NO_CRED => ErrorKind::NoTicket,
            _ => ErrorKind::Other,
        }
    }

    /// The library's own words for both statuses.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Error {}

thread_local! {
    static LAST_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// The last GSSAPI error on this thread, taken (tiberius keeps only the text).
pub fn take_last_error() -> Option<Error> {
    LAST_ERROR.with(|l| l.borrow_mut().take())
}

fn describe(api: &ffi::Api, major: OmUint32, minor: OmUint32) -> String {
    let mut parts = status_lines(api, major, ffi::GSS_C_GSS_CODE);
    if minor != 0 {
        parts.extend(status_lines(api, minor, ffi::GSS_C_MECH_CODE));
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        format!("GSSAPI major status {major:#x}, minor status {minor}")
    } else {
        parts.join(": ")
    }
}

fn status_lines(api: &ffi::Api, status: OmUint32, kind: i32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut context: OmUint32 = 0;
    // display_status hands out one message per call; a bound keeps a library that never
    // resets `context` from looping forever.
    for _ in 0..8 {
        let mut minor = 0;
        let mut buffer = ffi::BufferDesc::empty();
        // SAFETY: valid out-pointers; the buffer is released by take_buffer.
        let major = unsafe {
            (api.display_status)(
                &mut minor,
                status,
                kind,
                std::ptr::null(),
                &mut context,
                &mut buffer,
            )
        };
        if ffi::is_error(major) {
            break;
        }
        let text = ffi::take_buffer(api, &mut buffer);
        lines.push(String::from_utf8_lossy(&text).trim().to_string());
        if context == 0 {
            break;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(major: u32, minor: i32) -> Error {
        Error {
            major: MajorFlags(major),
            minor: minor as u32,
            text: String::new(),
        }
    }

    #[test]
    fn kerberos_failures_are_told_apart() {
        assert_eq!(error(7 << 16, FCC_NOFILE).kind(), ErrorKind::NoTicket);
        assert_eq!(error(13 << 16, FCC_NOFILE).kind(), ErrorKind::NoTicket);
        assert_eq!(
            error(13 << 16, AP_ERR_TKT_EXPIRED).kind(),
            ErrorKind::TicketExpired
        );
        assert_eq!(error(11 << 16, 0).kind(), ErrorKind::TicketExpired);
        assert_eq!(error(13 << 16, AP_ERR_SKEW).kind(), ErrorKind::ClockSkew);
        assert_eq!(
            error(13 << 16, KDC_ERR_S_PRINCIPAL_UNKNOWN).kind(),
            ErrorKind::UnknownServer
        );
        assert_eq!(error(16 << 16, 0).kind(), ErrorKind::LibraryMissing);
        assert_eq!(error(13 << 16, 5).kind(), ErrorKind::Other);
    }
}
