//! Integrated (Windows) authentication: which service principal to ask a ticket for, the
//! caller's Kerberos identity, and what each Kerberos failure means for the user
//! (docs/windows-auth.md).
//!
//! tiberius runs the TDS side (LOGIN7 with the SSPI token, the server's answer); the token
//! comes from the system GSSAPI, loaded at run time by crates/libgssapi-dl on Linux and
//! macOS, and from SSPI on Windows (tiberius's `winauth`, `super::sspi`, whose items this
//! module re-exports there under the same names).

#[cfg(unix)]
use super::super::StoreError;
use super::connect::ServerAddr;

/// Overrides the service principal name (default `MSSQLSvc/HOST:PORT`).
pub const ENV_SPN: &str = "DTUTIL_SQL_SPN";

/// What to do instead, at the end of every integrated-authentication failure: `login`
/// names the options of the command that opened the store (each command spells them
/// its own way: `SqlCredentials::login_options`).
pub(super) fn alternatives(login: &str) -> String {
    format!("Or give {login} for a SQL login, or set DTUTIL_SQL_ACCESS_TOKEN to an Azure AD access token")
}

/// The SPN SQL Server registers: `MSSQLSvc/HOST:PORT`, or `MSSQLSvc/HOST:INSTANCE` for a
/// named instance reached through SQL Browser; `DTUTIL_SQL_SPN` wins.
pub fn service_principal(addr: &ServerAddr, configured: Option<&str>) -> String {
    if let Some(spn) = configured.map(str::trim).filter(|s| !s.is_empty()) {
        return spn.to_string();
    }
    let host = addr.host.trim_start_matches('[').trim_end_matches(']');
    match (&addr.instance, addr.port) {
        (Some(instance), _) => format!("MSSQLSvc/{host}:{instance}"),
        (None, port) => format!("MSSQLSvc/{host}:{}", port.unwrap_or(1433)),
    }
}

/// The SPN for an integrated sign-in; on Windows an override is refused (`sspi.rs`).
pub fn target_spn(
    server: &str,
    login: &str,
    addr: &ServerAddr,
    configured: Option<&str>,
) -> Result<String, super::super::StoreError> {
    #[cfg(windows)]
    check_spn_override(server, login, configured)?;
    #[cfg(not(windows))] // only Windows refuses an override
    let _ = (server, login);
    Ok(service_principal(addr, configured))
}

/// With integrated authentication, the ticket to the target's SPN, fetched before the
/// login: on Unix on a thread of its own, so a KDC that never answers is given up after
/// the connect timeout (`DTUTIL_SQL_CONNECT_TIMEOUT`, which bounds the whole login)
/// instead of holding the login in the driver's GSSAPI call, which blocks and cannot be
/// timed out (review kerberos F1). The driver then finds the ticket in the cache.
pub fn fetch_ticket(
    target: &super::connect::Target,
    principal: Option<&str>,
) -> Result<(), super::super::StoreError> {
    #[cfg(unix)]
    if let (Some(spn), Some(principal)) = (&target.integrated_spn, principal) {
        let login = &target.login_options;
        gss::fetch_service_ticket(
            &target.server,
            login,
            spn,
            principal,
            target.connect_timeout,
        )?;
    }
    #[cfg(not(unix))] // SSPI asks the domain controller itself
    let _ = (target, principal);
    Ok(())
}

/// For a server named as this machine (`.`, `(local)`, `localhost`, loopback), the
/// SPN asked for holds that name, which SQL Server never registers (it registers the
/// machine's DNS name): what to do instead (review kerberos F14).
#[cfg(unix)]
fn local_spn_hint(spn: &str) -> String {
    let host_port = spn.split_once('/').map_or(spn, |(_, rest)| rest);
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "1433"));
    let local = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .any(|l| host.eq_ignore_ascii_case(l));
    if !local {
        return String::new();
    }
    format!(
        " `{host}` is this machine, and SQL Server registers its SPN under the machine's DNS name, never `{host}`: name the server by this host's fully qualified name (/SourceServer or /DestServer $(hostname -f)), or set {ENV_SPN}=MSSQLSvc/FQDN:{port} with that name"
    )
}

#[cfg(windows)]
pub use super::sspi::{
    check_spn_override, explain, ntlm_user, refused, signed_in_principal, status_in, target,
    UNNAMED,
};

#[cfg(unix)]
pub use gss::{explain, signed_in_principal, target};

/// The identity in a refusal when the principal is not known.
#[cfg(unix)]
pub const UNNAMED: &str = "the Kerberos principal";

#[cfg(unix)]
fn failed(server: &str, login: &str, what: String) -> StoreError {
    // A side left without a server is `(local)`: the user who gave the other side a server
    // and a login must see that this one has neither (review user F25).
    let local = if server == "(local)" {
        " `(local)` is the local default instance (localhost:1433), what dtutil uses when no /SourceServer or /DestServer is given: name the server there."
    } else {
        ""
    };
    StoreError::Failed(format!(
        "SQL Server `{server}`: no user given, so dtutil signs in with integrated authentication (Kerberos); {what}. {}.{local}",
        alternatives(login)
    ))
}

#[cfg(unix)]
mod gss {
    use super::*;
    use libgssapi::credential::{Cred, CredUsage};
    use libgssapi::oid::{OidSet, GSS_MECH_KRB5};
    use libgssapi::ErrorKind;

    /// Where the caller's tickets are, for messages.
    fn ticket_cache() -> String {
        std::env::var("KRB5CCNAME")
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| format!("the ticket cache {v} (KRB5CCNAME)"))
            .unwrap_or_else(|| "the default ticket cache (KRB5CCNAME is not set)".into())
    }

    /// A ticket cache, keytab or configuration that is a FIFO would hold the Kerberos
    /// library's read forever (it has no timeout), and a device like `/dev/zero` would
    /// never end: such a file is refused at once, whether a variable names it or the
    /// configuration does (`krb5_files`; docs/reliability.md). `/dev/null` as the
    /// configuration (no configuration at all) is a known idiom and reads as empty. A
    /// file that is not there is the library's to report (no ticket, say).
    fn refuse_unreadable_files(server: &str, login: &str) -> Result<(), StoreError> {
        for file in super::super::krb5_files::files() {
            let Ok(meta) = std::fs::metadata(&file.path) else {
                continue;
            };
            let kind = meta.file_type();
            let empty_device =
                file.named_by == "KRB5_CONFIG" && file.path == std::path::Path::new("/dev/null");
            if kind.is_file() || empty_device || (kind.is_dir() && !file.folder_refused) {
                continue;
            }
            return Err(failed(
                server,
                login,
                format!(
                    "{} names `{}`, which is not a regular file (it is {}; a device, pipe or directory is refused: the Kerberos library could wait on one forever): {}",
                    file.named_by,
                    file.path.display(),
                    crate::store::file::kind_name(&kind),
                    file.fix
                ),
            ));
        }
        Ok(())
    }

    /// The principal of the caller's Kerberos ticket, or why there is no usable one.
    pub fn signed_in_principal(server: &str, login: &str) -> Result<String, StoreError> {
        refuse_unreadable_files(server, login)?;
        if let Err(e) = libgssapi::library_available() {
            return Err(failed(server, login, e));
        }
        let mut mechs = OidSet::new();
        let cred = mechs
            .add(GSS_MECH_KRB5)
            .and_then(|()| Cred::acquire(None, None, CredUsage::Initiate, Some(&mechs)))
            .and_then(|cred| cred.inquire());
        match cred {
            Ok((_, 0)) => Err(expired(server, login, None)),
            Ok((name, _)) => Ok(name.to_string()),
            Err(e) => Err(match e.kind() {
                ErrorKind::TicketExpired => expired(server, login, None),
                ErrorKind::NoTicket => no_ticket(server, login),
                _ => failed(
                    server,
                    login,
                    format!(
                        "the Kerberos ticket in {} cannot be used ({e})",
                        ticket_cache()
                    ),
                ),
            }),
        }
    }

    fn no_ticket(server: &str, login: &str) -> StoreError {
        failed(
            server,
            login,
            format!(
                "there is no Kerberos ticket in {}: run `kinit user@REALM` first (or point KRB5CCNAME at the cache that holds your ticket)",
                ticket_cache()
            ),
        )
    }

    fn expired(server: &str, login: &str, principal: Option<&str>) -> StoreError {
        let whose = principal.map(|p| format!(" of '{p}'")).unwrap_or_default();
        failed(
            server,
            login,
            format!(
                "the Kerberos ticket{whose} in {} has expired: run `kinit` again (`kinit -R` renews a renewable ticket)",
                ticket_cache()
            ),
        )
    }

    /// A GSSAPI failure during the login (tiberius passes only its text on).
    pub fn explain(
        server: &str,
        login: &str,
        spn: &str,
        principal: &str,
        text: &str,
    ) -> StoreError {
        explain_status(
            server,
            login,
            spn,
            principal,
            text,
            libgssapi::take_last_error(),
        )
    }

    /// A GSSAPI failure whose status is known, for the message that says what to do.
    fn explain_status(
        server: &str,
        login: &str,
        spn: &str,
        principal: &str,
        text: &str,
        status: Option<libgssapi::error::Error>,
    ) -> StoreError {
        let kind = status
            .as_ref()
            .map(|s| s.kind())
            .unwrap_or(ErrorKind::Other);
        match kind {
            ErrorKind::TicketExpired => expired(server, login, Some(principal)),
            ErrorKind::NoTicket => no_ticket(server, login),
            ErrorKind::ClockSkew => failed(
                server,
                login,
                format!(
                    "Kerberos refused the ticket request for '{spn}' as '{principal}' because this machine's clock and the KDC's differ by more than the allowed skew (usually 5 minutes): synchronise the clock (NTP, or `chronyc makestep`) and try again"
                ),
            ),
            ErrorKind::UnknownServer => failed(
                server,
                login,
                format!(
                    "the KDC does not know the service principal '{spn}'. SQL Server registers MSSQLSvc/FQDN:PORT (and MSSQLSvc/FQDN:INSTANCE for a named instance) for its service account: name the server by its fully qualified name, have a domain administrator register the SPN (setspn -S {spn} DOMAIN\\account), or set {ENV_SPN} to the SPN the server has.{}",
                    local_spn_hint(spn)
                ),
            ),
            ErrorKind::KdcUnreachable => failed(
                server,
                login,
                format!(
                    "no Kerberos KDC could be reached for the realm of '{principal}' ({}): check the [realms] section of krb5.conf (KRB5_CONFIG) or DNS SRV records, and that the KDC's port 88 is reachable",
                    status.map(|s| s.to_string()).unwrap_or_default()
                ),
            ),
            ErrorKind::LibraryMissing => failed(server, login, text.to_string()),
            ErrorKind::Other => failed(
                server,
                login,
                format!("the Kerberos sign-in as '{principal}' for '{spn}' failed: {text}"),
            ),
        }
    }

    /// Asks the KDC for the ticket to `spn` as the driver's login will (the same
    /// credential, name type and flags), on a thread of its own, waiting at most `limit`.
    /// A KDC that never answers leaves that thread blocked until the library gives up;
    /// dtutil does not wait for it.
    pub fn fetch_service_ticket(
        server: &str,
        login: &str,
        spn: &str,
        principal: &str,
        limit: std::time::Duration,
    ) -> Result<(), StoreError> {
        use libgssapi::context::{ClientCtx, CtxFlags};
        use libgssapi::name::Name;
        use libgssapi::oid::GSS_NT_KRB5_PRINCIPAL;
        use std::sync::mpsc::RecvTimeoutError;
        let (tx, rx) = std::sync::mpsc::channel();
        let target = spn.to_string();
        let asked = std::thread::Builder::new()
            .name("kerberos-ticket".into())
            .spawn(move || {
                let mut mechs = OidSet::new();
                let first_leg = mechs
                    .add(GSS_MECH_KRB5)
                    .and_then(|()| Cred::acquire(None, None, CredUsage::Initiate, Some(&mechs)))
                    .and_then(|cred| {
                        let name = Name::new(target.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL))?;
                        let flags = CtxFlags::GSS_C_MUTUAL_FLAG | CtxFlags::GSS_C_SEQUENCE_FLAG;
                        ClientCtx::new(Some(cred), name, flags, None).step(None, None)
                    });
                let _ = tx.send(first_leg.err());
            });
        if asked.is_err() {
            // No thread to wait on: the driver's own request is made unbounded.
            return Ok(());
        }
        match rx.recv_timeout(limit) {
            Ok(None) | Err(RecvTimeoutError::Disconnected) => Ok(()),
            Ok(Some(e)) => {
                let text = e.text().to_string();
                Err(explain_status(server, login, spn, principal, &text, Some(e)))
            }
            Err(RecvTimeoutError::Timeout) => Err(failed(
                server,
                login,
                format!(
                    "no Kerberos KDC answered the request for a ticket to '{spn}' as '{principal}' within {} s ({}, seconds, which bounds the whole login): check that the KDC in the [realms] section of krb5.conf (KRB5_CONFIG) or in DNS SRV records answers on port 88, or raise the limit",
                    limit.as_secs_f64(),
                    super::super::connect::ENV_CONNECT_TIMEOUT
                ),
            )),
        }
    }

    /// Until dropped, the login on this thread asks for a ticket to `spn`.
    pub fn target(spn: &str) -> libgssapi::TargetGuard {
        libgssapi::set_initiator_target(Some(spn.to_string()))
    }
}

/// The server refused an identity that Kerberos proved (18456), or could not verify the
/// ticket (18452).
#[cfg(unix)]
pub fn refused(server: &str, login: &str, principal: &str, code: u32, message: &str) -> StoreError {
    match code {
        18456 => StoreError::PermissionDenied(format!(
            "login failed for '{principal}' (integrated authentication, Kerberos) on SQL Server `{server}` (error 18456). Kerberos proved the identity, but the server has no enabled login for it: a SQL Server administrator can add one (CREATE LOGIN [DOMAIN\\user] FROM WINDOWS) with a user and an SSIS role in msdb; or sign in as another principal (kinit). {}.",
            alternatives(login)
        )),
        _ => StoreError::PermissionDenied(format!(
            "SQL Server `{server}` could not verify the Kerberos ticket of '{principal}' (error {code}: {message}). The service principal dtutil asked for may belong to another account than the one SQL Server runs as (setspn -L), or the server's keytab is out of date; {ENV_SPN} names another SPN. {}.",
            alternatives(login)
        )),
    }
}

/// `/SourceUser DOMAIN\user` would be NTLM, which this build does not do (docs/windows-auth.md).
#[cfg(unix)]
pub fn ntlm_user(server: &str, user: &str) -> Option<StoreError> {
    user.contains('\\').then(|| {
        let user = crate::redact::login_name(user);
        StoreError::Failed(format!(
            "SQL Server `{server}`: '{user}' is a Windows account (DOMAIN\\user), which would mean NTLM with a password; NTLM is not supported yet. Sign in with Kerberos instead: `kinit user@REALM`, then leave out the user (integrated authentication); or give a SQL login"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> ServerAddr {
        ServerAddr::parse(Some(s)).unwrap()
    }

    #[test]
    fn spn_forms() {
        assert_eq!(
            service_principal(&addr("db1.corp.example.com"), None),
            "MSSQLSvc/db1.corp.example.com:1433"
        );
        assert_eq!(
            service_principal(&addr("db1,14330"), None),
            "MSSQLSvc/db1:14330"
        );
        assert_eq!(
            service_principal(&addr("db1\\SALES"), None),
            "MSSQLSvc/db1:SALES"
        );
        assert_eq!(
            service_principal(&addr("[::1],1500"), None),
            "MSSQLSvc/::1:1500"
        );
        assert_eq!(
            service_principal(&addr("db1"), Some(" MSSQLSvc/db1.corp:1433@CORP ")),
            "MSSQLSvc/db1.corp:1433@CORP"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_windows_account_is_not_taken_for_a_sql_login() {
        let m = ntlm_user("db1", "CORP\\alice").unwrap().to_string();
        assert!(
            m.contains("NTLM is not supported yet") && m.contains("kinit"),
            "{m}"
        );
        assert!(ntlm_user("db1", "alice").is_none());
    }
}
