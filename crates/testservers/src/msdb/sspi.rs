//! Integrated (Windows) logins over Kerberos: the LOGIN7 SSPI exchange (MS-TDS 3.2.5.1),
//! checked by the system GSSAPI acceptor with the keytab `KRB5_KTNAME` names, and the
//! principals that map to logins (`--windows-login`).
//!
//! SQL Server answers the client's first token with SSPI tokens until the security context
//! is complete, then with the login response; the context's client principal is the login.
//! Any principal without a mapping gets 18456 naming it, as SQL Server does for a Windows
//! account without a login.

use std::io;

use libgssapi::context::ServerCtx;
use libgssapi::credential::{Cred, CredUsage};
use tokio::io::{AsyncRead, AsyncWrite, BufStream};

use super::model::Roles;
use super::server::Session;
use super::tds::{self, pkt, Login7, Tokens};
use super::value::SqlError;

/// A Kerberos principal the server accepts as a login.
#[derive(Clone, Debug)]
pub struct WindowsLogin {
    /// `user@REALM`, compared case-sensitively as Kerberos does.
    pub principal: String,
    pub roles: Roles,
}

impl WindowsLogin {
    /// `PRINCIPAL@REALM[:ROLE,...]`: without roles, sysadmin (like `--login`); `P@R:` none.
    pub fn parse(s: &str) -> Result<WindowsLogin, String> {
        let (principal, roles) = match s.split_once(':') {
            Some((p, r)) => (p, Roles::parse(r)?),
            None => (
                s,
                Roles {
                    sysadmin: true,
                    ..Roles::default()
                },
            ),
        };
        if !principal.contains('@') || principal.starts_with('@') {
            return Err(format!(
                "--windows-login '{s}': expected PRINCIPAL@REALM[:ROLE,...]"
            ));
        }
        Ok(WindowsLogin {
            principal: principal.to_string(),
            roles,
        })
    }
}

/// Checks at start-up that the GSSAPI library loads and the keytab has keys, so a broken
/// fixture fails loudly instead of refusing every login.
pub fn check_acceptor() -> Result<(), String> {
    libgssapi::library_available()?;
    Cred::acquire(None, None, CredUsage::Accept, None)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "--gssapi: no acceptor keys (KRB5_KTNAME={}): {e}",
                std::env::var("KRB5_KTNAME").unwrap_or_else(|_| "(unset)".into())
            )
        })
}

fn untrusted(detail: &str) -> SqlError {
    // What SQL Server sends when the SSPI handshake fails; the reason stays in its log.
    eprintln!("msdb-testserver: integrated login refused: {detail}");
    SqlError::new(
        18452,
        14,
        1,
        "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.",
    )
}

impl Session {
    /// Runs the SSPI exchange that LOGIN7 started and, when the principal maps to a login,
    /// writes the login response into `t` after the server's last token. False when the
    /// login is refused (the error is in `t`).
    pub(super) async fn integrated_login<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        s: &mut BufStream<S>,
        login: &Login7,
        t: &mut Tokens,
    ) -> io::Result<bool> {
        let mut ctx = ServerCtx::new(None);
        let mut token = login.sspi.clone();
        // Kerberos completes in one round; SPNEGO may take two. More is a broken client.
        for _ in 0..4 {
            let reply = match ctx.step(&token) {
                Ok(reply) => reply,
                Err(e) => {
                    t.error(&untrusted(&e.to_string()));
                    return Ok(false);
                }
            };
            if ctx.is_complete() {
                if let Some(reply) = reply {
                    t.sspi(&reply);
                }
                break;
            }
            let mut challenge = Tokens::default();
            challenge.sspi(reply.as_deref().unwrap_or_default());
            self.send(s, challenge).await?;
            let Some(next) = tds::read_message(s, 1 << 16).await? else {
                return Ok(false);
            };
            if next.ty != pkt::SSPI && next.ty != pkt::LOGIN7 {
                t.error(&untrusted(&format!(
                    "expected an SSPI message (0x11), got packet type {:#04x}",
                    next.ty
                )));
                return Ok(false);
            }
            token = next.data;
        }
        let Some(principal) = ctx.source_name() else {
            t.error(&untrusted("the security context did not complete"));
            return Ok(false);
        };
        let Some(mapped) = self
            .shared
            .windows_logins
            .iter()
            .find(|w| w.principal == principal)
            .cloned()
        else {
            t.error(&super::server::login_failed(&principal));
            return Ok(false);
        };
        Ok(self.accept_login(&principal, mapped.roles, login, t))
    }
}

#[cfg(test)]
mod tests {
    use super::WindowsLogin;

    #[test]
    fn windows_login_forms() {
        let w = WindowsLogin::parse("alice@DTUTIL.TEST").unwrap();
        assert!(w.roles.sysadmin);
        let w = WindowsLogin::parse("bob@DTUTIL.TEST:db_ssisoperator").unwrap();
        assert_eq!(w.principal, "bob@DTUTIL.TEST");
        assert!(!w.roles.sysadmin && w.roles.ssis_operator);
        assert!(WindowsLogin::parse("carol").is_err());
        assert!(WindowsLogin::parse("bob@R:nonsense").is_err());
    }
}
