//! Kerberos through the system GSSAPI, loaded at run time (see docs/windows-auth.md).
//!
//! This crate stands in for crates.io's `libgssapi` 0.11 under tiberius's
//! `integrated-auth-gssapi` feature (the workspace patches it in): it offers the names and
//! signatures tiberius calls, so tiberius keeps doing the TDS side of the SSPI login, and
//! the system's MIT Kerberos, Heimdal or macOS GSS framework does the Kerberos side. The
//! library is opened the first time a credential is acquired, so a build needs no Kerberos
//! headers and a binary starts on machines without Kerberos.
//!
//! Two additions dtutil needs and libgssapi does not have: [`set_initiator_target`], a
//! per-thread service principal that replaces the `MSSQLSvc/host:port` tiberius derives
//! (named instances, `DTUTIL_SQL_SPN`), and [`take_last_error`], the structured status of
//! the last failure, because tiberius passes GSSAPI errors on as text only.
//! An acceptor ([`context::ServerCtx`]) serves the msdb test server.

mod ffi;

pub mod error;
pub mod oid;

pub mod name;

pub mod credential;

pub mod context;

pub use error::{take_last_error, ErrorKind};
pub use ffi::ENV_LIBRARY;

use std::cell::RefCell;

thread_local! {
    static INITIATOR_TARGET: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Until the returned guard is dropped, an initiator's `MSSQLSvc/...` target name imported
/// on this thread is `spn` instead. tiberius computes `MSSQLSvc/{host}:{port}` itself and
/// offers no setting; its login runs on the thread that polls it (dtutil's current-thread
/// runtime), so a thread-local reaches exactly that login.
pub fn set_initiator_target(spn: Option<String>) -> TargetGuard {
    let previous = INITIATOR_TARGET.with(|t| t.replace(spn));
    TargetGuard { previous }
}

/// Restores the previous target override when dropped.
pub struct TargetGuard {
    previous: Option<String>,
}

impl Drop for TargetGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        INITIATOR_TARGET.with(|t| *t.borrow_mut() = previous);
    }
}

pub(crate) fn initiator_target() -> Option<String> {
    INITIATOR_TARGET.with(|t| t.borrow().clone())
}

/// Whether the system GSSAPI library can be loaded, and if not, a sentence saying what to
/// install.
pub fn library_available() -> Result<(), String> {
    ffi::api().map(|_| ())
}
