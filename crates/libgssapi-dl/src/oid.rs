//! Object identifiers (DER bodies) and OID sets.

use std::ffi::c_void;

use crate::error::Error;
use crate::ffi::{self, OidDesc, OidSetDesc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oid(&'static [u8]);

impl Oid {
    pub const fn from_slice(der: &'static [u8]) -> Self {
        Self(der)
    }

    /// A descriptor for one call: GSSAPI copies OIDs it keeps.
    pub(crate) fn desc(&self) -> OidDesc {
        OidDesc {
            length: self.0.len() as u32,
            elements: self.0.as_ptr() as *mut c_void,
        }
    }
}

/// 1.2.840.113554.1.2.2, Kerberos 5.
pub static GSS_MECH_KRB5: &Oid = &Oid(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02");
/// 1.2.840.113554.1.2.2.1, a Kerberos principal name (`service/host:port@REALM`).
pub static GSS_NT_KRB5_PRINCIPAL: &Oid = &Oid(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01");
/// 1.2.840.113554.1.2.1.4, a host-based service name (`service@host`).
pub static GSS_NT_HOSTBASED_SERVICE: &Oid = &Oid(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04");

/// A set of mechanisms. Kept on the Rust side (libgssapi's `OidSet::new` cannot fail);
/// [`OidSet::with_c_set`] builds the library's form for one call.
#[derive(Debug, Clone, Default)]
pub struct OidSet {
    members: Vec<Oid>,
}

impl OidSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, id: &Oid) -> Result<(), Error> {
        if !self.members.contains(id) {
            self.members.push(*id);
        }
        Ok(())
    }

    pub(crate) fn with_c_set<T>(
        &self,
        api: &ffi::Api,
        f: impl FnOnce(*mut OidSetDesc) -> T,
    ) -> Result<T, Error> {
        let mut minor = 0;
        let mut set = std::ptr::null_mut();
        // SAFETY: valid out-pointers.
        let major = unsafe { (api.create_empty_oid_set)(&mut minor, &mut set) };
        if ffi::is_error(major) {
            return Err(Error::from_status(major, minor));
        }
        for member in &self.members {
            let desc = member.desc();
            // SAFETY: `set` came from create_empty_oid_set; the member is copied.
            let major = unsafe { (api.add_oid_set_member)(&mut minor, &desc, &mut set) };
            if ffi::is_error(major) {
                // SAFETY: released once.
                unsafe { (api.release_oid_set)(&mut minor, &mut set) };
                return Err(Error::from_status(major, minor));
            }
        }
        let result = f(set);
        // SAFETY: released once, after its only use.
        unsafe { (api.release_oid_set)(&mut minor, &mut set) };
        Ok(result)
    }
}
