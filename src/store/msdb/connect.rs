//! Connecting to SQL Server: server name forms, authentication, TLS options from the
//! environment, timeouts, and turning driver errors into messages that say what to check.

use super::super::{SqlCredentials, StoreError};
use super::driver_text::without_driver_advice;
use super::kerberos::{self, ENV_SPN};
use super::prelogin;
use std::time::Duration;
use tiberius::{AuthMethod, Client, Config, EncryptionLevel, SqlBrowser};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

pub type SqlClient = Client<Compat<TcpStream>>;

/// Environment variables read when connecting (documented in docs/msdb.md).
pub const ENV_CA: &str = "DTUTIL_SQL_CA";
pub const ENV_TRUST: &str = "DTUTIL_SQL_TRUST_SERVER_CERTIFICATE";
pub const ENV_ENCRYPT: &str = "DTUTIL_SQL_ENCRYPT";
pub const ENV_TOKEN: &str = "DTUTIL_SQL_ACCESS_TOKEN";
pub const ENV_CONNECT_TIMEOUT: &str = "DTUTIL_SQL_CONNECT_TIMEOUT";
pub const ENV_COMMAND_TIMEOUT: &str = "DTUTIL_SQL_COMMAND_TIMEOUT";

const DEFAULT_CONNECT_TIMEOUT: u64 = 15;
const DEFAULT_COMMAND_TIMEOUT: u64 = 30;

/// Where to connect, from a dtutil server name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub port: Option<u16>,
    pub instance: Option<String>,
}

impl ServerAddr {
    /// `host`, `host\instance`, `host,port`, `tcp:host,port`, `host\instance,port`,
    /// `.`/`(local)`/`localhost` (or none) for the local default instance, `[::1],port`.
    pub fn parse(server: Option<&str>) -> Result<Self, String> {
        let raw = server.unwrap_or("").trim();
        let mut s = raw;
        if let Some(rest) = strip_prefix_ci(s, "tcp:") {
            s = rest.trim();
        } else if let Some((proto, _)) = s.split_once(':') {
            if ["np", "lpc", "admin"].contains(&proto.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "server `{raw}`: only TCP connections are supported (named pipes and shared memory are Windows-only); give `host`, `host,port` or `host\\instance`"
                ));
            }
        }
        let (s, port) = match s.rsplit_once(',') {
            Some((h, p)) => {
                let port: u16 = p.trim().parse().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!(
                        "server `{raw}`: `{}` is not a TCP port number (host,port)",
                        p.trim()
                    )
                })?;
                (h.trim(), Some(port))
            }
            None => (s, None),
        };
        let (host, instance) = match s.split_once('\\') {
            Some((h, i)) if !i.trim().is_empty() => (h.trim(), Some(i.trim().to_string())),
            Some((h, _)) => (h.trim(), None),
            None => (s, None),
        };
        if let Some(hint) = super::driver_text::colon_port(raw, host, port.is_some()) {
            return Err(hint);
        }
        if host.eq_ignore_ascii_case("(localdb)") {
            return Err(format!(
                "server `{raw}`: LocalDB is reached through Windows named pipes and is not supported; use a SQL Server instance listening on TCP"
            ));
        }
        let host = match host.to_ascii_lowercase().as_str() {
            "" | "." | "(local)" | "localhost" => "localhost".to_string(),
            _ => host.to_string(),
        };
        // A port wins over an instance name, as in SQL Server's own clients.
        let instance = if port.is_some() { None } else { instance };
        Ok(Self {
            host,
            port,
            instance,
        })
    }

    /// `host:port` or `host\instance` for messages.
    pub fn describe(&self) -> String {
        match (&self.instance, self.port) {
            (Some(i), _) => format!("{}\\{i} (port from SQL Browser, UDP 1434)", self.host),
            (None, port) => format!("{}:{}", self.host, port.unwrap_or(1433)),
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// Everything needed to (re)connect: the tiberius config and what to say about it.
#[derive(Clone)]
pub struct Target {
    pub config: Config,
    /// The server as the user named it (`(local)` when none).
    pub server: String,
    pub addr: ServerAddr,
    pub user: Option<String>,
    /// The options that give a SQL login in the command that opened the store.
    pub login_options: String,
    /// Integrated authentication: the service principal to ask a ticket for.
    pub integrated_spn: Option<String>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub encrypt: String,
}

/// A setting as given; blank counts as unset.
type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

fn env(vars: Vars, name: &str) -> Option<String> {
    vars(name).filter(|v| !v.trim().is_empty())
}

fn env_seconds(vars: Vars, name: &str, default: u64) -> Result<Duration, String> {
    match env(vars, name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{name}=`{v}`: expected a number of seconds (> 0)")),
    }
}

fn env_bool(vars: Vars, name: &str) -> Result<bool, String> {
    match env(vars, name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(format!("{name}=`{v}`: expected true or false")),
    }
}

/// Connection settings that come from the environment (docs/msdb.md), separate so
/// tests and embedders can give them directly.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `DTUTIL_SQL_CA`: a PEM file with the CA to trust (besides the system's).
    pub ca: Option<String>,
    /// `DTUTIL_SQL_TRUST_SERVER_CERTIFICATE`: accept any server certificate.
    pub trust_server_certificate: bool,
    /// `DTUTIL_SQL_ENCRYPT`: `on` (default), `strict` or `off`.
    pub encrypt: Option<String>,
    /// `DTUTIL_SQL_ACCESS_TOKEN`: an Azure AD access token, used when no user is given.
    pub access_token: Option<String>,
    /// `DTUTIL_SQL_SPN`: the service principal for integrated authentication.
    pub spn: Option<String>,
    /// `DTUTIL_SQL_CONNECT_TIMEOUT` (seconds, default 15).
    pub connect_timeout: Option<Duration>,
    /// `DTUTIL_SQL_COMMAND_TIMEOUT` (seconds, default 30).
    pub command_timeout: Option<Duration>,
}

impl ConnectOptions {
    /// From the settings `vars` gives (the store configuration's variables).
    pub fn from_vars(vars: Vars) -> Result<Self, StoreError> {
        let fail = StoreError::Failed;
        Ok(Self {
            ca: env(vars, ENV_CA),
            trust_server_certificate: env_bool(vars, ENV_TRUST).map_err(fail)?,
            encrypt: env(vars, ENV_ENCRYPT),
            access_token: env(vars, ENV_TOKEN),
            spn: env(vars, ENV_SPN),
            connect_timeout: Some(
                env_seconds(vars, ENV_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT).map_err(fail)?,
            ),
            command_timeout: Some(
                env_seconds(vars, ENV_COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT).map_err(fail)?,
            ),
        })
    }
}

impl Target {
    pub fn new(credentials: &SqlCredentials, options: &ConnectOptions) -> Result<Self, StoreError> {
        let fail = StoreError::Failed;
        let server = credentials
            .server
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "(local)".into());
        let addr = ServerAddr::parse(credentials.server.as_deref())
            .map_err(|e| fail(super::driver_text::without_server_secrets(&e)))?;
        let mut config = Config::new();
        config.host(&addr.host);
        if let Some(port) = addr.port {
            config.port(port);
        }
        if let Some(instance) = &addr.instance {
            config.instance_name(instance);
        }
        if let Some(bare) = addr
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
        {
            config.hostname_in_certificate(bare);
        }
        config.database("msdb");
        config.application_name("dtutil");

        // Authentication: a SQL login when a user is given, else an Azure AD token,
        // else integrated authentication (Kerberos; SSPI on Windows).
        let mut integrated_spn = None;
        match (&credentials.user, options.access_token.clone()) {
            (Some(user), _) => {
                if let Some(e) = kerberos::ntlm_user(&server, user) {
                    return Err(e);
                }
                let password = credentials
                    .password
                    .as_ref()
                    .map(|p| p.as_str())
                    .unwrap_or("");
                config.authentication(AuthMethod::sql_server(user, password));
            }
            (None, Some(token)) => config.authentication(AuthMethod::aad_token(token.trim())),
            (None, None) => {
                let spn = options.spn.as_deref();
                let login = credentials.login_options();
                integrated_spn = Some(kerberos::target_spn(&server, login, &addr, spn)?);
                config.authentication(AuthMethod::Integrated);
            }
        }

        // TLS.
        let encrypt = options
            .encrypt
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "on".into());
        let ca = options.ca.clone();
        let trust = options.trust_server_certificate;
        if ca.is_some() && trust {
            return Err(fail(format!(
                "set either {ENV_CA} (trust this CA) or {ENV_TRUST}=true (trust any certificate), not both"
            )));
        }
        let level = match encrypt.as_str() {
            // Only the documented words: a typo must not quietly choose a TLS mode.
            "on" => EncryptionLevel::Required,
            "strict" => EncryptionLevel::Strict,
            "off" => EncryptionLevel::Off,
            other => {
                return Err(fail(format!(
                    "{ENV_ENCRYPT}=`{other}`: expected on (the default: TLS required, certificate verified), strict (TDS 8.0, SQL Server 2022+) or off"
                )))
            }
        };
        config.encryption(level);
        if level == EncryptionLevel::Off {
            // tiberius does not say whether the server offered TLS for the login packet,
            // so the warning covers the worst case.
            crate::warnings::insecure_once(&format!(
                "{ENV_ENCRYPT}=off: packages go over the network in clear, and to a server without TLS the login (user and password) too"
            ));
        }
        if let Some(path) = &ca {
            // Checked here because tiberius reads the file whole, whatever it is
            // (`/dev/zero`, a FIFO); a CA bundle is well under 1 MiB.
            crate::store::file::read_small_file(path, 1024 * 1024).map_err(|e| {
                fail(format!(
                    "{ENV_CA}=`{path}`: cannot read the CA certificate ({e}); give the path of a PEM file"
                ))
            })?;
            config.trust_cert_ca(path);
        } else if trust || level == EncryptionLevel::Off {
            if trust {
                crate::warnings::insecure_once(&format!(
                    "{ENV_TRUST} is set: the SQL Server's certificate is not verified, so anyone on the network path can pose as the server and read the login and the packages (set {ENV_CA} to trust a private CA instead)"
                ));
            }
            // `off` encrypts at most the login packet, as ODBC's Encrypt=no does, and
            // like it does not verify the certificate used for that.
            config.trust_cert();
        }

        let connect_timeout = options
            .connect_timeout
            .unwrap_or(Duration::from_secs(DEFAULT_CONNECT_TIMEOUT));
        let command_timeout = options
            .command_timeout
            .unwrap_or(Duration::from_secs(DEFAULT_COMMAND_TIMEOUT));
        config.handshake_timeout(Some(connect_timeout));
        config.command_timeout(Some(command_timeout));
        Ok(Self {
            config,
            // Only messages show it: never a password pasted into it.
            server: crate::redact::sql_server(&server),
            addr,
            user: credentials.user.clone(),
            login_options: credentials.login_options().to_string(),
            integrated_spn,
            connect_timeout,
            command_timeout,
            encrypt,
        })
    }

    /// Opens a connection, following one Azure SQL redirection.
    pub async fn connect(&self) -> Result<SqlClient, StoreError> {
        // Integrated: the caller's ticket is checked before the network, so a missing or
        // expired one is named as such (and the principal is known for 18456).
        let principal = match &self.integrated_spn {
            Some(_) => Some(kerberos::signed_in_principal(
                &self.server,
                &self.login_options,
            )?),
            None => None,
        };
        let principal = principal.as_deref();
        if self.encrypt != "off" {
            return self.connect_with(self.config.clone(), principal).await;
        }
        // `off` asks for no encryption beyond the login packet, but tiberius 0.13 starts
        // TLS with a server that cannot encrypt (prelogin.rs): that server is told so.
        let without_tls = prelogin::without_tls(&self.config);
        if prelogin::server_cannot_encrypt(&self.server, &self.config, self.connect_timeout).await {
            return self.connect_with(without_tls, principal).await;
        }
        match self.connect_with(self.config.clone(), principal).await {
            // Not answered when asked: once more without any TLS, as the user allowed.
            Err(first) if Self::handshake_failure(&first) => {
                match self.connect_with(without_tls, principal).await {
                    Err(again) if Self::handshake_failure(&again) => Err(first),
                    other => other,
                }
            }
            other => other,
        }
    }

    fn handshake_failure(error: &StoreError) -> bool {
        error.to_string().contains("during the handshake")
            || error.to_string().contains("TLS handshake failed")
    }

    async fn connect_with(
        &self,
        mut config: Config,
        principal: Option<&str>,
    ) -> Result<SqlClient, StoreError> {
        for _ in 0..2 {
            let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect_named(&config))
                .await
                .map_err(|_| {
                    StoreError::Failed(format!(
                        "cannot reach SQL Server `{}` at {}: no answer within {:?} ({ENV_CONNECT_TIMEOUT}). {}",
                        self.server,
                        self.addr.describe(),
                        self.connect_timeout,
                        self.reach_hint()
                    ))
                })?
                .map_err(|e| self.error(e, "connecting"))?;
            let _ = tcp.set_nodelay(true);
            // tiberius derives MSSQLSvc/host:port itself; the login runs on this thread
            // (current-thread runtime), where the guard names the SPN to use instead.
            kerberos::fetch_ticket(self, principal)?;
            let _spn = self.integrated_spn.as_deref().map(kerberos::target);
            match Client::connect(config.clone(), tcp.compat_write()).await {
                Ok(client) if principal.is_some() => return self.resync(client).await,
                Ok(client) => return Ok(client),
                Err(tiberius::error::Error::Routing { host, port }) => {
                    config.host(&host);
                    config.port(port);
                }
                Err(e) => return Err(self.login_error(e, principal)),
            }
        }
        Err(StoreError::Failed(format!(
            "SQL Server `{}` redirected the connection more than once; giving up",
            self.server
        )))
    }

    /// After a Kerberos login tiberius 0.13 believes the server's login response is not
    /// over (it sends its empty last SSPI token through the path that expects an answer),
    /// so its next request would wait for bytes that never come. An attention, TDS's own
    /// way to resynchronise, is acknowledged by the server and leaves the stream clean.
    async fn resync(&self, mut client: SqlClient) -> Result<SqlClient, StoreError> {
        if cfg!(unix) {
            client
                .cancel_query()
                .await
                .map_err(|e| self.error(e, "finishing the Kerberos login"))?;
        }
        Ok(client)
    }

    /// A failed login: Kerberos failures and refused integrated identities get their own
    /// messages, the rest the general ones.
    fn login_error(&self, error: tiberius::error::Error, principal: Option<&str>) -> StoreError {
        use tiberius::error::Error as E;
        match (&error, principal, &self.integrated_spn) {
            #[cfg(unix)]
            (E::Gssapi(text), Some(principal), Some(spn)) => {
                kerberos::explain(&self.server, &self.login_options, spn, principal, text)
            }
            #[cfg(windows)] // winauth's SSPI failures are I/O errors (sspi.rs)
            (E::Io { message, .. }, Some(principal), Some(spn))
                if kerberos::status_in(message).is_some() =>
            {
                kerberos::explain(&self.server, &self.login_options, spn, principal, message)
            }
            (E::Server(token), Some(principal), Some(_))
                if token.code() == 18456 || token.code() == 18452 =>
            {
                kerberos::refused(
                    &self.server,
                    &self.login_options,
                    principal,
                    token.code(),
                    token.message(),
                )
            }
            _ => self.error(error, "connecting"),
        }
    }

    fn reach_hint(&self) -> String {
        let mut hint = String::from(
            "Check the server name and port (host or host,port; the default port is 1433), that SQL Server accepts TCP connections there, and that no firewall blocks the port",
        );
        if self.server == "(local)" {
            hint.push_str("; `(local)` is the local default instance (localhost:1433), what dtutil uses when no /SourceServer or /DestServer is given: name the server there");
        }
        if self.addr.instance.is_some() {
            hint.push_str("; for a named instance, that the SQL Server Browser service runs and UDP port 1434 is open (or give host,port instead)");
        }
        hint.push('.');
        hint
    }

    fn tls_hint(&self) -> String {
        format!(
            "Encryption: {ENV_ENCRYPT}={} (the default is on: TLS required, certificate verified). If the server's certificate comes from a private CA, set {ENV_CA}=PATH to that CA's PEM file; to trust the server's certificate without verifying it, set {ENV_TRUST}=true; a server that forces strict encryption (TDS 8.0, SQL Server 2022 and later) needs {ENV_ENCRYPT}=strict; for a server without TLS, {ENV_ENCRYPT}=off (the data then travels in clear).",
            self.encrypt
        )
    }

    /// A driver error as a message naming the server, what was being done, and what to check.
    pub fn error(&self, error: impl Into<tiberius::error::Error>, doing: &str) -> StoreError {
        use tiberius::error::Error as E;
        let server = &self.server;
        let error = error.into();
        match &error {
            E::Server(token) => self.server_error(token.code(), token.message(), doing),
            E::Io { kind, message } => {
                use std::io::ErrorKind as K;
                match kind {
                    K::TimedOut => StoreError::Failed(format!(
                        "SQL Server `{server}` did not answer in time while {doing} ({}); the connection timeout is {:?} ({ENV_CONNECT_TIMEOUT}, seconds), the command timeout {:?} ({ENV_COMMAND_TIMEOUT}, seconds)",
                        without_driver_advice(message),
                        self.connect_timeout,
                        self.command_timeout
                    )),
                    K::ConnectionRefused
                    | K::NotFound
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::AddrNotAvailable => StoreError::Failed(format!(
                        "cannot reach SQL Server `{server}` at {} ({message}). {}",
                        self.addr.describe(),
                        self.reach_hint()
                    )),
                    K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
                        if doing == "connecting" =>
                    {
                        StoreError::Failed(format!(
                            "SQL Server `{server}` closed the connection during the handshake ({message}). {}",
                            self.tls_hint()
                        ))
                    }
                    _ => StoreError::Failed(format!(
                        "SQL Server `{server}`: the connection failed while {doing} ({})",
                        without_driver_advice(message)
                    )),
                }
            }
            E::Tls(message) => StoreError::Failed(format!(
                "SQL Server `{server}`: the TLS handshake failed ({}). {}",
                // The driver's own advice names its API; ours names the settings.
                message
                    .split(". To connect anyway")
                    .next()
                    .unwrap_or(message)
                    .trim_end_matches('.'),
                self.tls_hint()
            )),
            E::Conversion(message)
                if message.contains("browser") || message.contains("SQL browser") =>
            {
                StoreError::Failed(format!(
                    "cannot reach SQL Server `{server}`: {}. {}",
                    message.trim_end_matches('.'),
                    self.reach_hint()
                ))
            }
            E::Protocol(message)
                if doing == "connecting" && message.to_ascii_lowercase().contains("encrypt") =>
            {
                StoreError::Failed(format!(
                    "SQL Server `{server}`: {message}. {}",
                    self.tls_hint()
                ))
            }
            other => StoreError::Failed(format!(
                "SQL Server `{server}`: {} (while {doing})",
                without_driver_advice(&other.to_string())
            )),
        }
    }

    /// Server errors by number (SPEC 2), with what to do about them.
    pub fn server_error(&self, code: u32, message: &str, doing: &str) -> StoreError {
        let server = &self.server;
        // A password pasted into the login is not shown.
        let user = match (&self.user, &self.integrated_spn) {
            (Some(user), _) => crate::redact::login_name(user),
            (None, Some(_)) => "(integrated)".into(),
            (None, None) => "(token)".into(),
        };
        match code {
            18456 | 18452 if self.integrated_spn.is_some() => {
                kerberos::refused(server, &self.login_options, kerberos::UNNAMED, code, message)
            }
            18456 if self.user.is_none() => StoreError::PermissionDenied(format!(
                "login failed with the Azure AD access token ({ENV_TOKEN}) on SQL Server `{server}` (error 18456). Check that the token has not expired (they last about an hour), that it was issued for https://database.windows.net/, and that its identity has a login (or a contained user) on the server with a user in msdb"
            )),
            18456 => StoreError::PermissionDenied(format!(
                "login failed for user '{user}' on SQL Server `{server}` (error 18456). Check the user name and the password (passwords are case-sensitive), that the login exists and is enabled, and that the server accepts SQL Server authentication (mixed mode)"
            )),
            18452 => StoreError::PermissionDenied(format!(
                "login failed on SQL Server `{server}` (error 18452: {message}); the server does not accept this kind of login; give a SQL login ({})",
                self.login_options
            )),
            4060 => StoreError::Failed(format!(
                "SQL Server `{server}`: cannot open database msdb as '{user}' (error 4060: {message}); the login needs a user in msdb"
            )),
            229 => StoreError::PermissionDenied(format!(
                "access denied on SQL Server `{server}` while {doing} (error 229: {message}). '{user}' needs a role in msdb: db_ssisoperator to read and list packages, db_ssisltduser to write its own packages and manage folders, db_ssisadmin for everything"
            )),
            14307 => StoreError::PermissionDenied(format!(
                "access denied on SQL Server `{server}` while {doing} (error 14307: {message}). Writing or deleting a package that another login owns needs db_ssisadmin (or sysadmin) in msdb; db_ssisltduser may change only its own packages and db_ssisoperator may only read"
            )),
            14586 => StoreError::PermissionDenied(format!(
                "access denied on SQL Server `{server}` while {doing} (error 14586: {message}). Reading this package needs db_ssisoperator or db_ssisadmin in msdb, or db_ssisltduser as its owner"
            )),
            14591 => StoreError::Failed(format!(
                "SQL Server `{server}`: cannot {doing}: a folder with that name already exists there, or '{user}' lacks db_ssisltduser/db_ssisadmin in msdb (error 14591: {message})"
            )),
            14593 => StoreError::Failed(format!(
                "SQL Server `{server}`: cannot {doing}: the folder is not empty (error 14593: {message}). Delete or move its packages and subfolders first"
            )),
            2812 => StoreError::Failed(format!(
                "SQL Server `{server}`: {message} (error 2812) while {doing}; is this SQL Server 2008 or later, with the SSIS procedures in msdb?"
            )),
            _ => StoreError::Failed(format!(
                "SQL Server `{server}`: error {code} while {doing}: {message}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{without_driver_advice, ConnectOptions, ServerAddr, SqlCredentials, Target};

    fn addr(s: &str) -> ServerAddr {
        ServerAddr::parse(Some(s)).unwrap()
    }

    #[test]
    fn a_failed_token_login_does_not_talk_about_passwords() {
        let options = ConnectOptions {
            access_token: Some("eyJ0".into()),
            ..ConnectOptions::default()
        };
        let creds = SqlCredentials {
            server: Some("mi.example.net,1433".into()),
            ..SqlCredentials::default()
        };
        let target = Target::new(&creds, &options).unwrap();
        let m = target
            .server_error(18456, "Login failed", "connecting")
            .to_string();
        assert!(
            m.contains("Azure AD access token (DTUTIL_SQL_ACCESS_TOKEN)"),
            "{m}"
        );
        assert!(m.contains("expired"), "{m}");
        assert!(!m.contains("case") && !m.contains("mixed mode"), "{m}");
    }

    #[test]
    fn settings_are_the_documented_words_only() {
        for word in ["yes", "true", "mandatory", "no", "optional"] {
            let options = ConnectOptions {
                encrypt: Some(word.into()),
                ..ConnectOptions::default()
            };
            let creds = SqlCredentials {
                server: Some("db01".into()),
                user: Some("u".into()),
                password: None,
                login_options: None,
            };
            let m = Target::new(&creds, &options).err().unwrap().to_string();
            assert!(m.contains("expected on"), "{word}: {m}");
        }
    }

    #[test]
    fn the_drivers_advice_about_its_own_api_is_left_out() {
        let m = without_driver_advice(
            "handshake timed out. Enable `tracing` for details. Set Config::handshake_timeout to wait longer",
        );
        assert_eq!(m, "handshake timed out");
    }

    #[test]
    fn server_forms() {
        let local = ServerAddr {
            host: "localhost".into(),
            port: None,
            instance: None,
        };
        assert_eq!(ServerAddr::parse(None).unwrap(), local);
        assert_eq!(addr("."), local);
        assert_eq!(addr("(local)"), local);
        assert_eq!(addr("LOCALHOST"), local);
        assert_eq!(
            addr("tcp:db1,14330"),
            ServerAddr {
                host: "db1".into(),
                port: Some(14330),
                instance: None
            }
        );
        assert_eq!(
            addr("TCP:127.0.0.1, 5000"),
            ServerAddr {
                host: "127.0.0.1".into(),
                port: Some(5000),
                instance: None
            }
        );
        assert_eq!(
            addr("db1\\SQLEXPRESS"),
            ServerAddr {
                host: "db1".into(),
                port: None,
                instance: Some("SQLEXPRESS".into())
            }
        );
        assert_eq!(
            addr(".\\SQLEXPRESS"),
            ServerAddr {
                host: "localhost".into(),
                port: None,
                instance: Some("SQLEXPRESS".into())
            }
        );
        assert_eq!(
            addr("db1\\INST,1500"),
            ServerAddr {
                host: "db1".into(),
                port: Some(1500),
                instance: None
            }
        );
        assert_eq!(
            addr("mi1.public.abc123.database.windows.net,3342"),
            ServerAddr {
                host: "mi1.public.abc123.database.windows.net".into(),
                port: Some(3342),
                instance: None
            }
        );
        assert!(ServerAddr::parse(Some("db1,port")).is_err());
        assert!(ServerAddr::parse(Some("db1,0")).is_err());
        assert!(ServerAddr::parse(Some("np:\\\\.\\pipe\\sql\\query")).is_err());
        assert!(ServerAddr::parse(Some("(localdb)\\MSSQLLocalDB")).is_err());
    }
}
