//! The C GSSAPI (RFC 2744) as far as this crate calls it, resolved from the system library
//! the first time it is needed, never at start-up: a dtutil that never signs in with
//! Kerberos never touches it.

use std::ffi::c_void;
use std::sync::OnceLock;

pub type OmUint32 = u32;
pub type GssName = *mut c_void;
pub type GssCred = *mut c_void;
pub type GssCtx = *mut c_void;

// Apple's and MIT's headers pack these two structs to 2 bytes on Intel Macs.
#[cfg_attr(all(target_os = "macos", target_arch = "x86_64"), repr(C, packed(2)))]
#[cfg_attr(not(all(target_os = "macos", target_arch = "x86_64")), repr(C))]
#[derive(Clone, Copy)]
pub struct OidDesc {
    pub length: OmUint32,
    pub elements: *mut c_void,
}

#[cfg_attr(all(target_os = "macos", target_arch = "x86_64"), repr(C, packed(2)))]
#[cfg_attr(not(all(target_os = "macos", target_arch = "x86_64")), repr(C))]
#[derive(Clone, Copy)]
pub struct BufferDesc {
    pub length: usize,
    pub value: *mut c_void,
}

impl BufferDesc {
    pub fn empty() -> Self {
        Self {
            length: 0,
            value: std::ptr::null_mut(),
        }
    }

    /// Borrows `bytes` for one call; GSSAPI does not keep input buffers.
    pub fn borrow(bytes: &[u8]) -> Self {
        Self {
            length: bytes.len(),
            value: bytes.as_ptr() as *mut c_void,
        }
    }
}

#[repr(C)]
pub struct OidSetDesc {
    pub count: usize,
    pub elements: *mut OidDesc,
}

pub const GSS_S_CONTINUE_NEEDED: OmUint32 = 1;
pub const GSS_C_GSS_CODE: i32 = 1;
pub const GSS_C_MECH_CODE: i32 = 2;
pub const GSS_C_INDEFINITE: OmUint32 = 0xffff_ffff;

pub fn is_error(major: OmUint32) -> bool {
    major & 0xffff_0000 != 0
}

type M = *mut OmUint32;

pub struct Api {
    pub acquire_cred: unsafe extern "C" fn(
        M,
        GssName,
        OmUint32,
        *mut OidSetDesc,
        i32,
        *mut GssCred,
        *mut *mut OidSetDesc,
        *mut OmUint32,
    ) -> OmUint32,
    pub release_cred: unsafe extern "C" fn(M, *mut GssCred) -> OmUint32,
    pub inquire_cred: unsafe extern "C" fn(
        M,
        GssCred,
        *mut GssName,
        *mut OmUint32,
        *mut i32,
        *mut *mut OidSetDesc,
    ) -> OmUint32,
    pub import_name:
        unsafe extern "C" fn(M, *const BufferDesc, *const OidDesc, *mut GssName) -> OmUint32,
    pub display_name:
        unsafe extern "C" fn(M, GssName, *mut BufferDesc, *mut *mut OidDesc) -> OmUint32,
    pub release_name: unsafe extern "C" fn(M, *mut GssName) -> OmUint32,
    pub init_sec_context: unsafe extern "C" fn(
        M,
        GssCred,
        *mut GssCtx,
        GssName,
        *const OidDesc,
        OmUint32,
        OmUint32,
        *const c_void,
        *const BufferDesc,
        *mut *mut OidDesc,
        *mut BufferDesc,
        *mut OmUint32,
        *mut OmUint32,
    ) -> OmUint32,
    pub accept_sec_context: unsafe extern "C" fn(
        M,
        *mut GssCtx,
        GssCred,
        *const BufferDesc,
        *const c_void,
        *mut GssName,
        *mut *mut OidDesc,
        *mut BufferDesc,
        *mut OmUint32,
        *mut OmUint32,
        *mut GssCred,
    ) -> OmUint32,
    pub delete_sec_context: unsafe extern "C" fn(M, *mut GssCtx, *mut BufferDesc) -> OmUint32,
    pub release_buffer: unsafe extern "C" fn(M, *mut BufferDesc) -> OmUint32,
    pub display_status: unsafe extern "C" fn(
        M,
        OmUint32,
        i32,
        *const OidDesc,
        *mut OmUint32,
        *mut BufferDesc,
    ) -> OmUint32,
    pub create_empty_oid_set: unsafe extern "C" fn(M, *mut *mut OidSetDesc) -> OmUint32,
    pub add_oid_set_member:
        unsafe extern "C" fn(M, *const OidDesc, *mut *mut OidSetDesc) -> OmUint32,
    pub release_oid_set: unsafe extern "C" fn(M, *mut *mut OidSetDesc) -> OmUint32,
    /// Kept loaded for the life of the process: the pointers above point into it.
    _library: libloading::Library,
}

/// The environment variable naming a GSSAPI library to load instead of the usual ones.
pub const ENV_LIBRARY: &str = "DTUTIL_GSSAPI_LIBRARY";

/// Where the system GSSAPI usually is: MIT Kerberos (Debian's libgssapi-krb5-2, RHEL's
/// krb5-libs), Heimdal, and macOS's GSS framework.
fn candidates() -> Vec<String> {
    if let Some(path) = std::env::var_os(ENV_LIBRARY).filter(|p| !p.is_empty()) {
        return vec![path.to_string_lossy().into_owned()];
    }
    let names: &[&str] = if cfg!(target_os = "macos") {
        &[
            "/System/Library/Frameworks/GSS.framework/GSS",
            "libgssapi_krb5.2.2.dylib",
        ]
    } else {
        &[
            "libgssapi_krb5.so.2",
            "libgssapi.so.3",
            "libgssapi.so.10",
            "libgssapi_krb5.so",
            "libgssapi.so",
        ]
    };
    names.iter().map(|s| s.to_string()).collect()
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// The loaded library, or why it could not be loaded (a sentence naming what to install).
pub fn api() -> Result<&'static Api, String> {
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Api, String> {
    let tried = candidates();
    let mut last = String::new();
    for name in &tried {
        // SAFETY: loading a system GSSAPI library runs its initialisers, which is what
        // every GSSAPI client does; nothing else is loaded here.
        match unsafe { libloading::Library::new(name) } {
            Ok(library) => return resolve(library).map_err(|e| format!("{name}: {e}")),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "the system's Kerberos GSSAPI library could not be loaded (tried {}; last error: {last}). Install it (Debian/Ubuntu: libgssapi-krb5-2; RHEL/Fedora: krb5-libs; Alpine: krb5-libs) or set {ENV_LIBRARY} to its path",
        tried.join(", ")
    ))
}

fn resolve(library: libloading::Library) -> Result<Api, String> {
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the symbol is the RFC 2744 function of that name, whose C signature
            // is the field type it is stored in.
            unsafe {
                *library
                    .get(concat!($name, "\0").as_bytes())
                    .map_err(|e| format!("{} is missing ({e})", $name))?
            }
        };
    }
    Ok(Api {
        acquire_cred: sym!("gss_acquire_cred"),
        release_cred: sym!("gss_release_cred"),
        inquire_cred: sym!("gss_inquire_cred"),
        import_name: sym!("gss_import_name"),
        display_name: sym!("gss_display_name"),
        release_name: sym!("gss_release_name"),
        init_sec_context: sym!("gss_init_sec_context"),
        accept_sec_context: sym!("gss_accept_sec_context"),
        delete_sec_context: sym!("gss_delete_sec_context"),
        release_buffer: sym!("gss_release_buffer"),
        display_status: sym!("gss_display_status"),
        create_empty_oid_set: sym!("gss_create_empty_oid_set"),
        add_oid_set_member: sym!("gss_add_oid_set_member"),
        release_oid_set: sym!("gss_release_oid_set"),
        _library: library,
    })
}

/// Copies a buffer the library allocated, then gives it back.
pub fn take_buffer(api: &Api, buffer: &mut BufferDesc) -> Vec<u8> {
    let bytes = if buffer.value.is_null() || buffer.length == 0 {
        Vec::new()
    } else {
        // SAFETY: the library filled `buffer` with `length` bytes at `value`.
        unsafe { std::slice::from_raw_parts(buffer.value as *const u8, buffer.length).to_vec() }
    };
    let mut minor = 0;
    // SAFETY: releasing a buffer the library allocated, once.
    unsafe { (api.release_buffer)(&mut minor, buffer) };
    bytes
}
