//! Credentials: the caller's Kerberos ticket (initiate) or a keytab's keys (accept).

use std::time::Duration;

use crate::error::Error;
use crate::ffi::{self, GssCred};
use crate::name::Name;
use crate::oid::OidSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredUsage {
    Both = 0,
    Initiate = 1,
    Accept = 2,
}

pub struct Cred {
    pub(crate) cred: GssCred,
}

// SAFETY: a credential handle is owned by this value; MIT and Heimdal allow using it from
// any one thread at a time.
unsafe impl Send for Cred {}

impl Cred {
    /// Acquires credentials for `name` (the default principal when `None`): the ticket
    /// cache (`KRB5CCNAME`) to initiate, the keytab (`KRB5_KTNAME`) to accept.
    pub fn acquire(
        name: Option<&Name>,
        time_req: Option<Duration>,
        usage: CredUsage,
        desired_mechs: Option<&OidSet>,
    ) -> Result<Self, Error> {
        let api = ffi::api().map_err(Error::library_missing)?;
        let mut minor = 0;
        let mut cred = std::ptr::null_mut();
        let time = time_req
            .map(|t| t.as_secs().min(u32::MAX as u64 - 1) as u32)
            .unwrap_or(ffi::GSS_C_INDEFINITE);
        let name = name.map(|n| n.name).unwrap_or(std::ptr::null_mut());
        let mut acquire = |mechs| {
            // SAFETY: valid handles or null; out-pointers valid.
            unsafe {
                (api.acquire_cred)(
                    &mut minor,
                    name,
                    time,
                    mechs,
                    usage as i32,
                    &mut cred,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            }
        };
        let major = match desired_mechs {
            Some(set) => set.with_c_set(api, &mut acquire)?,
            None => acquire(std::ptr::null_mut()),
        };
        if ffi::is_error(major) {
            return Err(Error::from_status(major, minor));
        }
        Ok(Self { cred })
    }

    /// The principal and the seconds of validity left (0 once the ticket has expired).
    pub fn inquire(&self) -> Result<(Name, u32), Error> {
        let api = ffi::api().map_err(Error::library_missing)?;
        let mut minor = 0;
        let mut name = std::ptr::null_mut();
        let mut lifetime = 0;
        // SAFETY: a valid handle; out-pointers valid; the name is owned by the result.
        let major = unsafe {
            (api.inquire_cred)(
                &mut minor,
                self.cred,
                &mut name,
                &mut lifetime,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if ffi::is_error(major) {
            return Err(Error::from_status(major, minor));
        }
        Ok((Name { name }, lifetime))
    }
}

impl Drop for Cred {
    fn drop(&mut self) {
        if let Ok(api) = ffi::api() {
            let mut minor = 0;
            // SAFETY: released once, by its owner.
            unsafe { (api.release_cred)(&mut minor, &mut self.cred) };
        }
    }
}
