//! Integrated authentication on Windows: tiberius's `winauth` signs in through SSPI as the
//! logged-on user (docs/windows-auth.md). Here: who that user is, for messages, and what
//! each SSPI failure means.
//!
//! winauth hands an SSPI failure to tiberius as `std::io::Error::from_raw_os_error(status)`,
//! and tiberius keeps only its text, which ends in `(os error N)`: N is the SECURITY_STATUS
//! as a signed number, from which the message is chosen. This file is compiled off Windows
//! too, for its unit tests.

use super::super::StoreError;
use super::kerberos::{alternatives, ENV_SPN};

// SECURITY_STATUS values (winerror.h) that have a message of their own.
const SEC_E_TARGET_UNKNOWN: u32 = 0x8009_0303;
const SEC_E_INVALID_TOKEN: u32 = 0x8009_0308;
const SEC_E_LOGON_DENIED: u32 = 0x8009_030C;
const SEC_E_UNKNOWN_CREDENTIALS: u32 = 0x8009_030D;
const SEC_E_NO_CREDENTIALS: u32 = 0x8009_030E;
const SEC_E_NO_AUTHENTICATING_AUTHORITY: u32 = 0x8009_0311;
const SEC_E_CONTEXT_EXPIRED: u32 = 0x8009_0317;
const SEC_E_WRONG_PRINCIPAL: u32 = 0x8009_0322;
const SEC_E_TIME_SKEW: u32 = 0x8009_0324;

/// The identity in a refusal when the user is not known.
pub const UNNAMED: &str = "the current Windows user";

fn failed(server: &str, login: &str, what: String) -> StoreError {
    StoreError::Failed(format!(
        "SQL Server `{server}`: no user given, so dtutil signs in with integrated authentication (SSPI as the current Windows user); {what}. {}.",
        alternatives(login)
    ))
}

/// The logged-on user as Windows sets it for every session (`USERDOMAIN\USERNAME`), for
/// messages; SSPI itself needs no name. Nothing to check before the network: SSPI has no
/// ticket cache that could be empty or expired.
pub fn signed_in_principal(_server: &str, _login: &str) -> Result<String, StoreError> {
    Ok(current_user(
        std::env::var("USERDOMAIN").ok(),
        std::env::var("USERNAME").ok(),
    ))
}

fn current_user(domain: Option<String>, user: Option<String>) -> String {
    let domain = domain.filter(|d| !d.is_empty());
    match (domain, user.filter(|u| !u.is_empty())) {
        (Some(domain), Some(user)) => format!("{domain}\\{user}"),
        (None, Some(user)) => user,
        _ => UNNAMED.into(),
    }
}

/// tiberius names the service principal itself (`MSSQLSvc/HOST:PORT`) and SSPI's NTLM
/// package does not use it to find a key, so an override cannot be honoured: say so
/// rather than ignore it.
pub fn check_spn_override(
    server: &str,
    login: &str,
    configured: Option<&str>,
) -> Result<(), StoreError> {
    match configured.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(()),
        Some(spn) => Err(failed(
            server,
            login,
            format!(
                "{ENV_SPN}={spn} is set, but on Windows the service principal cannot be chosen: SSPI signs in as the current user with the SPN MSSQLSvc/HOST:PORT taken from the server name. Unset {ENV_SPN} (it is for Kerberos on Linux and macOS)"
            ),
        )),
    }
}

/// On Windows the SPN is not passed through a thread-local: there is nothing to set.
pub fn target(_spn: &str) {}

/// The SECURITY_STATUS in a driver message (`... (os error -2146893042)`), if it is one.
pub fn status_in(message: &str) -> Option<u32> {
    let start = message.rfind("(os error ")? + "(os error ".len();
    let code: i32 = message[start..].strip_suffix(')')?.trim().parse().ok()?;
    let status = code as u32;
    // Facility SECURITY (9), severity error: 0x8009xxxx. Socket errors are small positives.
    (status & 0xFFFF_0000 == 0x8009_0000).then_some(status)
}

/// An SSPI failure during the login, by its SECURITY_STATUS.
pub fn explain(server: &str, login: &str, spn: &str, principal: &str, message: &str) -> StoreError {
    let status = status_in(message).unwrap_or(0);
    let what = match status {
        SEC_E_NO_CREDENTIALS | SEC_E_UNKNOWN_CREDENTIALS => format!(
            "Windows has no network credentials for '{principal}' that SSPI can use (0x{status:08X}): run dtutil as a domain user; a local account, or a service running as LocalService, has no identity the SQL Server's domain knows"
        ),
        SEC_E_LOGON_DENIED => format!(
            "Windows refused the sign-in of '{principal}' (0x{status:08X}, logon denied): the account may be locked out or disabled, or its password has expired; sign in to Windows again and retry"
        ),
        SEC_E_NO_AUTHENTICATING_AUTHORITY => format!(
            "no domain controller could be reached to vouch for '{principal}' (0x{status:08X}): check the network (VPN) and that this machine can reach its domain"
        ),
        SEC_E_TIME_SKEW => format!(
            "this machine's clock and the domain controller's differ too much (0x{status:08X}, clock skew): synchronise the clock (`w32tm /resync`) and try again"
        ),
        SEC_E_TARGET_UNKNOWN | SEC_E_WRONG_PRINCIPAL => format!(
            "the domain does not know the service principal '{spn}' as this SQL Server's (0x{status:08X}): name the server by its fully qualified name, or have a domain administrator register the SPN for the server's service account (setspn -S {spn} DOMAIN\\account)"
        ),
        SEC_E_CONTEXT_EXPIRED => format!(
            "the sign-in of '{principal}' expired before the server answered (0x{status:08X}): try again"
        ),
        SEC_E_INVALID_TOKEN => format!(
            "SQL Server's answer to the sign-in of '{principal}' was not a valid SSPI token (0x{status:08X}): is `{server}` a SQL Server, reached directly?"
        ),
        _ => format!("the Windows sign-in (SSPI) as '{principal}' for '{spn}' failed: {message}"),
    };
    failed(server, login, what)
}

/// The server refused the identity Windows vouched for (18456), or a Windows sign-in from
/// where it trusts none (18452).
pub fn refused(server: &str, login: &str, principal: &str, code: u32, message: &str) -> StoreError {
    match code {
        18456 => StoreError::PermissionDenied(format!(
            "login failed for '{principal}' (integrated authentication, Windows SSPI) on SQL Server `{server}` (error 18456). Windows vouched for the user, but the server has no enabled login for it: a SQL Server administrator can add one (CREATE LOGIN [DOMAIN\\user] FROM WINDOWS) with a user and an SSIS role in msdb; or run dtutil as another Windows user (runas /user:DOMAIN\\user). {}.",
            alternatives(login)
        )),
        _ => StoreError::PermissionDenied(format!(
            "SQL Server `{server}` refused the Windows sign-in of '{principal}' (error {code}: {message}). The account is one the server's domain does not trust (a local or workgroup account, or an untrusted domain), or the server accepts no Windows logins. {}.",
            alternatives(login)
        )),
    }
}

/// `/SourceUser DOMAIN\user` would be NTLM with a password, which this build does not do
/// (docs/windows-auth.md); SSPI as the current user covers a domain account without one.
pub fn ntlm_user(server: &str, user: &str) -> Option<StoreError> {
    user.contains('\\').then(|| {
        let user = crate::redact::login_name(user);
        StoreError::Failed(format!(
            "SQL Server `{server}`: '{user}' is a Windows account (DOMAIN\\user), which would mean NTLM with a password; that is not supported yet. Leave out the user to sign in as the current Windows user (SSPI), run dtutil as that account (runas /user:{user}), or give a SQL login"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = "/SourceUser and /SourcePassword";

    /// What Rust's `io::Error` prints for a raw SECURITY_STATUS on Windows.
    fn io_text(status: u32) -> String {
        format!("The message of the system (os error {})", status as i32)
    }

    #[test]
    fn the_status_is_read_from_the_driver_text() {
        assert_eq!(
            status_in(
                "No credentials are available in the security package (os error -2146893042)"
            ),
            Some(SEC_E_NO_CREDENTIALS)
        );
        assert_eq!(status_in(&io_text(SEC_E_TIME_SKEW)), Some(SEC_E_TIME_SKEW));
        // A socket error (WSAECONNRESET) is the network's, not SSPI's.
        assert_eq!(status_in("connection reset (os error 10054)"), None);
        assert_eq!(status_in("no number here"), None);
    }

    #[test]
    fn each_sspi_failure_says_what_to_do() {
        let spn = "MSSQLSvc/db1.corp.example.com:1433";
        let say = |status| explain("db1", LOGIN, spn, "CORP\\alice", &io_text(status)).to_string();
        assert!(say(SEC_E_NO_CREDENTIALS).contains("run dtutil as a domain user"));
        assert!(say(SEC_E_LOGON_DENIED).contains("locked out"));
        assert!(say(SEC_E_NO_AUTHENTICATING_AUTHORITY).contains("domain controller"));
        assert!(say(SEC_E_TIME_SKEW).contains("w32tm /resync"));
        assert!(say(SEC_E_TARGET_UNKNOWN).contains("setspn -S MSSQLSvc/db1.corp.example.com:1433"));
        assert!(say(0x8009_0304).contains("failed: The message of the system"));
        for status in [SEC_E_NO_CREDENTIALS, SEC_E_TIME_SKEW, 0x8009_0304] {
            let m = say(status);
            assert!(
                m.contains("SSPI as the current Windows user") && m.contains(LOGIN),
                "{m}"
            );
            assert!(!m.contains("kinit"), "{m}");
        }
    }

    #[test]
    fn the_user_is_named_as_windows_names_it() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(current_user(s("CORP"), s("alice")), "CORP\\alice");
        assert_eq!(current_user(s(""), s("alice")), "alice");
        assert_eq!(current_user(None, None), "the current Windows user");
    }

    #[test]
    fn refusals_name_the_windows_user_and_the_fix() {
        let m = refused("db1", LOGIN, "CORP\\alice", 18456, "Login failed").to_string();
        assert!(
            m.contains("'CORP\\alice' (integrated authentication, Windows SSPI)")
                && m.contains("FROM WINDOWS"),
            "{m}"
        );
        let m = refused("db1", LOGIN, UNNAMED, 18452, "untrusted domain").to_string();
        assert!(
            m.contains("error 18452: untrusted domain") && m.contains("does not trust"),
            "{m}"
        );
        assert!(!m.contains("Kerberos") && !m.contains("kinit"), "{m}");
    }

    #[test]
    fn a_windows_account_is_not_taken_for_a_sql_login() {
        let m = ntlm_user("db1", "CORP\\alice").unwrap().to_string();
        assert!(
            m.contains("not supported yet") && m.contains("runas /user:CORP\\alice"),
            "{m}"
        );
        assert!(!m.contains("kinit"), "{m}");
        assert!(ntlm_user("db1", "alice").is_none());
    }

    #[test]
    fn an_spn_override_is_refused_not_ignored() {
        assert!(check_spn_override("db1", LOGIN, None).is_ok());
        assert!(check_spn_override("db1", LOGIN, Some("  ")).is_ok());
        let m = check_spn_override("db1", LOGIN, Some("MSSQLSvc/x:1433"))
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("DTUTIL_SQL_SPN=MSSQLSvc/x:1433") && m.contains("Unset"),
            "{m}"
        );
    }
}
