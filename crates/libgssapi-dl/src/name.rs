//! Principal names.

use std::fmt;

use crate::error::Error;
use crate::ffi::{self, BufferDesc, GssName};
use crate::oid::{Oid, GSS_NT_KRB5_PRINCIPAL};

pub struct Name {
    pub(crate) name: GssName,
}

// SAFETY: a GSSAPI name is an immutable library object owned by this value.
unsafe impl Send for Name {}

impl Name {
    /// Imports `s` as a name of type `kind`. An `MSSQLSvc/...` Kerberos principal is
    /// replaced by the thread's [`crate::set_initiator_target`], when one is set.
    pub fn new(s: &[u8], kind: Option<&Oid>) -> Result<Self, Error> {
        let api = ffi::api().map_err(Error::library_missing)?;
        let override_target = (kind == Some(GSS_NT_KRB5_PRINCIPAL) && s.starts_with(b"MSSQLSvc/"))
            .then(crate::initiator_target)
            .flatten();
        let bytes = override_target.as_deref().map(str::as_bytes).unwrap_or(s);
        let buffer = BufferDesc::borrow(bytes);
        let kind_desc = kind.map(Oid::desc);
        let kind_ptr = kind_desc
            .as_ref()
            .map(|d| d as *const _)
            .unwrap_or(std::ptr::null());
        let mut minor = 0;
        let mut name = std::ptr::null_mut();
        // SAFETY: the buffer and OID outlive the call; the library copies both.
        let major = unsafe { (api.import_name)(&mut minor, &buffer, kind_ptr, &mut name) };
        if ffi::is_error(major) {
            return Err(Error::from_status(major, minor));
        }
        Ok(Self { name })
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(api) = ffi::api() else {
            return f.write_str("(unknown)");
        };
        let mut minor = 0;
        let mut buffer = BufferDesc::empty();
        // SAFETY: a valid name; the buffer is released by take_buffer.
        let major =
            unsafe { (api.display_name)(&mut minor, self.name, &mut buffer, std::ptr::null_mut()) };
        if ffi::is_error(major) {
            return f.write_str("(unknown)");
        }
        let text = ffi::take_buffer(api, &mut buffer);
        f.write_str(&String::from_utf8_lossy(&text))
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        if let Ok(api) = ffi::api() {
            let mut minor = 0;
            // SAFETY: released once, by its owner.
            unsafe { (api.release_name)(&mut minor, &mut self.name) };
        }
    }
}
