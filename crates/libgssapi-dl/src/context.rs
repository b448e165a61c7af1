//! Security contexts: the client's side (tiberius's SSPI login) and the server's (the msdb
//! test server).

use std::ops::{BitOr, Deref};

use crate::credential::Cred;
use crate::error::Error;
use crate::ffi::{self, BufferDesc, GssCtx};
use crate::name::Name;
use crate::oid::Oid;

/// Context request flags (RFC 2744 `GSS_C_*_FLAG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtxFlags(u32);

impl CtxFlags {
    pub const GSS_C_DELEG_FLAG: Self = Self(1);
    pub const GSS_C_MUTUAL_FLAG: Self = Self(2);
    pub const GSS_C_REPLAY_FLAG: Self = Self(4);
    pub const GSS_C_SEQUENCE_FLAG: Self = Self(8);
    pub const GSS_C_CONF_FLAG: Self = Self(16);
    pub const GSS_C_INTEG_FLAG: Self = Self(32);

    pub fn empty() -> Self {
        Self(0)
    }
    pub fn bits(&self) -> u32 {
        self.0
    }
}

impl BitOr for CtxFlags {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// A token the library produced, copied out of its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buf(Vec<u8>);

impl Deref for Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

struct Ctx(GssCtx);

// SAFETY: a context handle is owned by one value and used by one thread at a time.
unsafe impl Send for Ctx {}

impl Drop for Ctx {
    fn drop(&mut self) {
        if self.0.is_null() {
            return;
        }
        if let Ok(api) = ffi::api() {
            let mut minor = 0;
            // SAFETY: deleted once, by its owner.
            unsafe { (api.delete_sec_context)(&mut minor, &mut self.0, std::ptr::null_mut()) };
        }
    }
}

/// The initiator: a Kerberos AP-REQ for `target`, then the server's AP-REP (mutual).
pub struct ClientCtx {
    ctx: Ctx,
    cred: Option<Cred>,
    target: Name,
    flags: CtxFlags,
    mech: Option<&'static Oid>,
    complete: bool,
}

impl ClientCtx {
    pub fn new(
        cred: Option<Cred>,
        target: Name,
        flags: CtxFlags,
        mech: Option<&'static Oid>,
    ) -> Self {
        Self {
            ctx: Ctx(std::ptr::null_mut()),
            cred,
            target,
            flags,
            mech,
            complete: false,
        }
    }

    /// One leg: `tok` is the server's last token (`None` to start). Returns the token to
    /// send, if any.
    pub fn step(
        &mut self,
        tok: Option<&[u8]>,
        _channel_bindings: Option<&[u8]>,
    ) -> Result<Option<Buf>, Error> {
        let api = ffi::api().map_err(Error::library_missing)?;
        let input = tok.map(BufferDesc::borrow);
        let mech = self.mech.map(Oid::desc);
        let mut minor = 0;
        let mut output = BufferDesc::empty();
        // SAFETY: handles valid or null; input buffers outlive the call; the output buffer
        // is released by take_buffer.
        let major = unsafe {
            (api.init_sec_context)(
                &mut minor,
                self.cred
                    .as_ref()
                    .map(|c| c.cred)
                    .unwrap_or(std::ptr::null_mut()),
                &mut self.ctx.0,
                self.target.name,
                mech.as_ref()
                    .map(|m| m as *const _)
                    .unwrap_or(std::ptr::null()),
                self.flags.bits(),
                0,
                std::ptr::null(),
                input
                    .as_ref()
                    .map(|b| b as *const _)
                    .unwrap_or(std::ptr::null()),
                std::ptr::null_mut(),
                &mut output,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let token = ffi::take_buffer(api, &mut output);
        if ffi::is_error(major) {
            return Err(Error::from_status(major, minor));
        }
        self.complete = major & ffi::GSS_S_CONTINUE_NEEDED == 0;
        Ok((!token.is_empty()).then_some(Buf(token)))
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

/// The acceptor: checks the client's token with the keytab's keys.
pub struct ServerCtx {
    ctx: Ctx,
    cred: Option<Cred>,
    source: Option<Name>,
    complete: bool,
}

impl ServerCtx {
    /// `cred`: acceptor credentials, or `None` for any key in the default keytab.
    pub fn new(cred: Option<Cred>) -> Self {
        Self {
            ctx: Ctx(std::ptr::null_mut()),
            cred,
            source: None,
            complete: false,
        }
    }

    /// One leg: the client's token in, the token to answer with (if any) out.
    pub fn step(&mut self, tok: &[u8]) -> Result<Option<Buf>, Error> {
        let api = ffi::api().map_err(Error::library_missing)?;
        let input = BufferDesc::borrow(tok);
        let mut minor = 0;
        let mut output = BufferDesc::empty();
        let mut source = std::ptr::null_mut();
        // SAFETY: as for init_sec_context; `source` becomes owned by a Name.
        let major = unsafe {
            (api.accept_sec_context)(
                &mut minor,
                &mut self.ctx.0,
                self.cred
                    .as_ref()
                    .map(|c| c.cred)
                    .unwrap_or(std::ptr::null_mut()),
                &input,
                std::ptr::null(),
                &mut source,
                std::ptr::null_mut(),
                &mut output,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let token = ffi::take_buffer(api, &mut output);
        if !source.is_null() {
            self.source = Some(Name { name: source });
        }
        if ffi::is_error(major) {
            return Err(Error::from_status(major, minor));
        }
        self.complete = major & ffi::GSS_S_CONTINUE_NEEDED == 0;
        Ok((!token.is_empty()).then_some(Buf(token)))
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The authenticated client principal (`user@REALM`), once complete.
    pub fn source_name(&self) -> Option<String> {
        self.complete
            .then(|| self.source.as_ref().map(|n| n.to_string()))
            .flatten()
    }
}
