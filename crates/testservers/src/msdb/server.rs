//! The server loop: accept, PRELOGIN (and TLS), LOGIN7, then requests until the client
//! goes away. One tokio task per connection; the msdb model sits behind one mutex (calls
//! are short, and a single lock keeps procedure semantics atomic like msdb's).

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufStream};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::model::{self, Arg, Caller, Msdb, ProcOutcome, Roles};
use super::query::exec_args;
use super::sql::{self, ObjName, Stmt};
use super::sspi::{self, WindowsLogin};
use super::tds::{self, done, enc, pkt, Tokens};
use super::tls;
use super::value::{names_equal, SqlError, Value};

/// A SQL login the server accepts.
#[derive(Clone, Debug)]
pub struct Login {
    pub user: String,
    pub password: String,
    pub roles: Roles,
}

impl Login {
    /// `USER:PASSWORD[:ROLE,ROLE...]`. Without the role part the login is `sysadmin` (the
    /// common "sa" case); an empty role part (`u:p:`) means no role at all.
    pub fn parse(s: &str) -> Result<Login, String> {
        let (user, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("--login '{s}': expected USER:PASSWORD[:ROLE,...]"))?;
        let (password, roles) = match rest.rsplit_once(':') {
            Some((p, r)) if r.is_empty() || r.split(',').all(|x| Roles::parse(x).is_ok()) => {
                (p, Roles::parse(r)?)
            }
            _ => (
                rest,
                Roles {
                    sysadmin: true,
                    ..Roles::default()
                },
            ),
        };
        if user.is_empty() {
            return Err(format!("--login '{s}': empty user name"));
        }
        Ok(Login {
            user: user.to_string(),
            password: password.to_string(),
            roles,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub listen: String,
    pub tls: bool,
    pub ca_out: Option<PathBuf>,
    pub data: Option<PathBuf>,
    pub logins: Vec<Login>,
    /// Added before answering each request (for benchmarks of latency-bound clients).
    pub latency_ms: u64,
    /// Fault injection: after this many requests (server-wide), every further request
    /// makes the server drop that connection without answering.
    pub fail_after: Option<u64>,
    /// With `tls`: refuse TDS 7.x PRELOGIN encryption, accept only TDS 8.0 (TLS first),
    /// as SQL Server 2022 does with "Force Strict Encryption".
    pub tls_strict_only: bool,
    /// Print one stderr line per request (its kind and procedure; never parameter values).
    pub log_requests: bool,
    /// Accept integrated (Kerberos) logins through the system GSSAPI and `KRB5_KTNAME`.
    pub gssapi: bool,
    /// With `gssapi`: the principals that are logins.
    pub windows_logins: Vec<WindowsLogin>,
}

pub(super) struct Shared {
    pub(super) db: Mutex<Msdb>,
    pub(super) data: Option<PathBuf>,
    logins: Vec<Login>,
    gssapi: bool,
    pub(super) windows_logins: Vec<WindowsLogin>,
    tls: Option<TlsAcceptor>,
    strict_tls: Option<TlsAcceptor>,
    strict_only: bool,
    pub(super) log_requests: bool,
    latency: Duration,
    fail_after: Option<u64>,
    requests: AtomicU64,
    next_spid: AtomicU16,
    pub(super) applocks: super::applock::AppLocks,
}

/// Requests larger than this are refused (a 5 MiB package is well within it).
const MAX_MESSAGE: usize = 512 << 20;

/// Binds, prints `listening ADDR` as the first stdout line, and serves forever.
pub async fn run(config: Config) -> io::Result<()> {
    let db = match &config.data {
        Some(p) => Msdb::load(p)?,
        None => Msdb::default(),
    };
    let (tls, strict_tls) = if config.tls {
        let t = tls::generate().map_err(io::Error::other)?;
        if let Some(p) = &config.ca_out {
            std::fs::write(p, &t.ca_pem)?;
        }
        (
            Some(TlsAcceptor::from(t.config)),
            Some(TlsAcceptor::from(t.strict_config)),
        )
    } else {
        (None, None)
    };
    if config.gssapi {
        sspi::check_acceptor().map_err(io::Error::other)?;
    }
    let listener = TcpListener::bind(&config.listen).await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {}", listener.local_addr()?)?;
        out.flush()?;
    }
    let shared = Arc::new(Shared {
        db: Mutex::new(db),
        data: config.data.clone(),
        logins: config.logins.clone(),
        gssapi: config.gssapi,
        windows_logins: config.windows_logins.clone(),
        tls,
        strict_tls,
        strict_only: config.tls_strict_only,
        log_requests: config.log_requests,
        latency: Duration::from_millis(config.latency_ms),
        fail_after: config.fail_after,
        requests: AtomicU64::new(0),
        next_spid: AtomicU16::new(51),
        applocks: Default::default(),
    });
    loop {
        let (stream, peer) = listener.accept().await?;
        let shared = shared.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, shared).await {
                // Clients hanging up mid-stream are normal; anything else is worth a line.
                if e.kind() != io::ErrorKind::UnexpectedEof
                    && e.kind() != io::ErrorKind::ConnectionReset
                    && e.kind() != io::ErrorKind::BrokenPipe
                {
                    eprintln!("msdb-testserver: {peer}: {e}");
                }
            }
        });
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // MS-TDS 3.3.5.1: a first byte of 0x16 is a TLS ClientHello (TDS 8.0, "strict"),
    // anything else has to be a TDS 7.x PRELOGIN packet.
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Ok(());
    }
    if first[0] == TLS_HANDSHAKE_RECORD {
        return strict(stream, shared).await;
    }
    let Some(msg) = tds::read_message(&mut stream, 1 << 16).await? else {
        return Ok(());
    };
    if msg.ty != pkt::PRELOGIN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "first packet has type {:#04x}, expected PRELOGIN (0x12) or a TLS ClientHello: only TDS 7.2+ and TDS 8.0 clients are supported",
                msg.ty
            ),
        ));
    }
    let pre = tds::parse_prelogin(&msg.data)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if shared.strict_only {
        eprintln!(
            "msdb-testserver: refused a TDS 7.x PRELOGIN: this server runs with --tls-strict-only and accepts only TDS 8.0 (TLS before PRELOGIN; Encrypt=strict)"
        );
        return Ok(());
    }
    let client = pre.encryption.unwrap_or(enc::OFF);
    // Without --tls: ENCRYPT_NOT_SUP (a client that requires encryption then gives up).
    // With --tls: the whole connection is encrypted; a client that cannot encrypt is told
    // encryption is required, and gives up.
    let (answer, encrypt) = match (&shared.tls, client) {
        (None, _) => (enc::NOT_SUP, false),
        (Some(_), enc::NOT_SUP) => (enc::REQ, false),
        (Some(_), enc::OFF) => (enc::REQ, true),
        (Some(_), _) => (enc::ON, true),
    };
    tds::write_message(&mut stream, pkt::REPLY, &tds::build_prelogin(answer), 4096).await?;
    if shared.tls.is_none() && (client == enc::ON || client == enc::REQ) {
        eprintln!(
            "msdb-testserver: a client asked for encryption; this server runs without --tls and answered ENCRYPT_NOT_SUP"
        );
    }
    if shared.tls.is_some() && !encrypt {
        eprintln!(
            "msdb-testserver: a client cannot encrypt (ENCRYPT_NOT_SUP); this server runs with --tls and requires encryption"
        );
    }
    match (&shared.tls, encrypt) {
        (Some(acceptor), true) => {
            let mut tls = acceptor.accept(tls::PreloginFramed::new(stream)).await?;
            tls.get_mut().0.passthrough = true;
            Session::new(shared.clone()).run(BufStream::new(tls)).await
        }
        _ => {
            Session::new(shared.clone())
                .run(BufStream::new(stream))
                .await
        }
    }
}

/// TLS record type of a handshake message (RFC 8446 5.1): how a ClientHello starts.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// TDS 8.0: TLS straight over TCP (ALPN `tds/8.0`), then PRELOGIN and LOGIN7 inside it.
async fn strict(stream: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let Some(acceptor) = &shared.strict_tls else {
        eprintln!(
            "msdb-testserver: a client started TLS before PRELOGIN (TDS 8.0, Encrypt=strict); this server runs without --tls"
        );
        return Ok(());
    };
    let mut s = BufStream::new(acceptor.accept(stream).await?);
    let Some(msg) = tds::read_message(&mut s, 1 << 16).await? else {
        return Ok(());
    };
    if msg.ty != pkt::PRELOGIN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "TDS 8.0: expected PRELOGIN (0x12) after the TLS handshake, got packet type {:#04x}",
                msg.ty
            ),
        ));
    }
    tds::parse_prelogin(&msg.data).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    // MS-TDS 2.2.6.5: in TDS 8.0 the encryption option is ignored (TLS is already up);
    // ENCRYPT_ON is what the 7.x table answers a client that requires encryption.
    tds::write_message(&mut s, pkt::REPLY, &tds::build_prelogin(enc::ON), 4096).await?;
    Session::new(shared.clone()).run(s).await
}

pub(super) struct Session {
    pub(super) shared: Arc<Shared>,
    pub(super) spid: u16,
    pub(super) caller: Caller,
    pub(super) db: String,
    pub(super) textsize: Option<usize>,
    pub(super) packet_size: usize,
    pub(super) tx_depth: u32,
    pub(super) tx_seq: u64,
    pub(super) prepared: super::rpc::Prepared,
}

/// Where a statement runs: top level of a batch, or inside a procedure (sp_executesql),
/// which decides between DONE and DONEINPROC.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Level {
    Batch,
    InProc,
}

pub(super) fn login_failed(user: &str) -> SqlError {
    SqlError::new(18456, 14, 1, format!("Login failed for user '{user}'."))
}

/// A session's application locks end with it, as in SQL Server.
impl Drop for Session {
    fn drop(&mut self) {
        self.shared.applocks.release_all(self.spid);
    }
}

impl Session {
    fn new(shared: Arc<Shared>) -> Session {
        let spid = shared.next_spid.fetch_add(1, Ordering::Relaxed);
        Session {
            shared,
            spid,
            caller: Caller::new("", Roles::default()),
            db: "msdb".into(),
            textsize: None,
            packet_size: 4096,
            tx_depth: 0,
            tx_seq: 0,
            prepared: Default::default(),
        }
    }

    pub(super) async fn send<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        s: &mut BufStream<S>,
        t: Tokens,
    ) -> io::Result<()> {
        tds::write_message(s, pkt::REPLY, &t.buf, self.packet_size).await
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        mut self,
        mut s: BufStream<S>,
    ) -> io::Result<()> {
        let Some(msg) = tds::read_message(&mut s, 1 << 16).await? else {
            return Ok(());
        };
        if msg.ty != pkt::LOGIN7 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected LOGIN7 (0x10), got packet type {:#04x}", msg.ty),
            ));
        }
        let mut t = Tokens::default();
        let accepted = match tds::parse_login7(&msg.data) {
            Ok(l) if l.integrated && self.shared.gssapi => {
                self.integrated_login(&mut s, &l, &mut t).await?
            }
            _ => self.login(&msg.data, &mut t),
        };
        if !accepted {
            t.done(done::TOKEN_DONE, done::ERROR, 0, 0);
            self.send(&mut s, t).await?;
            s.shutdown().await.ok();
            return Ok(());
        }
        self.send(&mut s, t).await?;
        loop {
            let Some(msg) = tds::read_message(&mut s, MAX_MESSAGE).await? else {
                return Ok(());
            };
            let n = self.shared.requests.fetch_add(1, Ordering::SeqCst);
            if self.shared.fail_after.is_some_and(|limit| n >= limit) {
                eprintln!(
                    "msdb-testserver: --fail-after reached: dropping connection (spid {})",
                    self.spid
                );
                return Ok(());
            }
            if !self.shared.latency.is_zero() {
                tokio::time::sleep(self.shared.latency).await;
            }
            if msg.ty == pkt::SSPI || msg.ty == pkt::LOGIN7 {
                // tiberius sends one more (empty) SSPI message after a complete Kerberos
                // context; SQL Server takes it without an answer.
                continue;
            }
            let t = match msg.ty {
                pkt::SQL_BATCH => self.batch(&msg.data),
                pkt::RPC => self.rpc(&msg.data),
                pkt::TRANSACTION_MANAGER => self.transaction(&msg.data),
                pkt::ATTENTION => {
                    // Everything was already answered; acknowledge the cancel.
                    let mut t = Tokens::default();
                    t.done(done::TOKEN_DONE, done::ATTN, 0, 0);
                    t
                }
                other => {
                    let mut t = Tokens::default();
                    t.error(&SqlError::unsupported(format!(
                        "TDS packet type {other:#04x}"
                    )));
                    t.done(done::TOKEN_DONE, done::ERROR, 0, 0);
                    t
                }
            };
            self.send(&mut s, t).await?;
        }
    }

    /// Checks LOGIN7 and writes the login response; false when the login is refused.
    fn login(&mut self, data: &[u8], t: &mut Tokens) -> bool {
        let l = match tds::parse_login7(data) {
            Ok(l) => l,
            Err(e) => {
                t.error(&SqlError::new(
                    4002,
                    16,
                    1,
                    format!(
                        "The incoming tabular data stream (TDS) protocol stream is incorrect: {e}"
                    ),
                ));
                return false;
            }
        };
        if l.tds_version < tds::TDS_7_2 {
            t.error(&SqlError::new(
                50000,
                16,
                1,
                format!(
                    "msdb-testserver speaks TDS 7.2 to 7.4; the client asked for {:#010x}",
                    l.tds_version
                ),
            ));
            return false;
        }
        if l.integrated {
            t.error(&SqlError::new(
                18452,
                14,
                1,
                "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.",
            ));
            return false;
        }
        if l.fedauth {
            t.error(&login_failed("<token-identified principal>"));
            return false;
        }
        let Some(login) = self
            .shared
            .logins
            .iter()
            .find(|x| names_equal(&x.user, &l.user) && x.password == l.password)
        else {
            t.error(&login_failed(&l.user));
            return false;
        };
        let login = login.clone();
        self.accept_login(&login.user, login.roles, &l, t)
    }

    /// The login response for an authenticated `user` (SQL or integrated), or false with
    /// the error when its database cannot be opened.
    pub(super) fn accept_login(
        &mut self,
        user: &str,
        roles: Roles,
        l: &tds::Login7,
        t: &mut Tokens,
    ) -> bool {
        let db = if l.database.is_empty() {
            "msdb".to_string()
        } else if l.database.eq_ignore_ascii_case("msdb")
            || l.database.eq_ignore_ascii_case("master")
        {
            l.database.to_lowercase()
        } else {
            t.error(&SqlError::new(
                4060,
                11,
                1,
                format!(
                    "Cannot open database \"{}\" requested by the login. The login failed.",
                    l.database
                ),
            ));
            t.error(&login_failed(user));
            return false;
        };
        self.caller = Caller::new(user, roles);
        self.db = db.clone();
        self.packet_size = match l.packet_size {
            0 => 4096,
            n => n.clamp(512, 32767) as usize,
        };
        let version = l.tds_version.min(tds::TDS_7_4);
        t.envchange(1, &db, "master");
        t.info(5701, &format!("Changed database context to '{db}'."));
        t.envchange_bytes(7, &tds::COLLATION, &[]);
        t.envchange(2, "us_english", "");
        t.info(5703, "Changed language setting to us_english.");
        t.loginack(version);
        if l.feature_ext {
            t.feature_ext_ack();
        }
        let ps = self.packet_size.to_string();
        t.envchange(4, &ps, &ps);
        t.done(done::TOKEN_DONE, done::FINAL, 0, 0);
        true
    }

    fn transaction(&mut self, data: &[u8]) -> Tokens {
        let mut t = Tokens::default();
        // Changes apply at once; transactions are acknowledged so that clients running
        // with autocommit off (pytds' default) work, but nothing is rolled back.
        let req = match tds::parse_tm(data) {
            Ok(r) => r,
            Err(e) => {
                t.error(&SqlError::new(4002, 16, 1, e));
                t.done(done::TOKEN_DONE, done::ERROR, 0, 0);
                return t;
            }
        };
        let begin = |s: &mut Session, t: &mut Tokens| {
            s.tx_seq += 1;
            s.tx_depth = 1;
            t.envchange_bytes(8, &tds::tx_descriptor(s.tx_seq), &[]);
        };
        match req {
            tds::TmRequest::Begin => begin(self, &mut t),
            tds::TmRequest::Commit { begin_new } | tds::TmRequest::Rollback { begin_new } => {
                let ty = if matches!(req, tds::TmRequest::Commit { .. }) {
                    9
                } else {
                    10
                };
                t.envchange_bytes(ty, &[], &tds::tx_descriptor(self.tx_seq));
                self.tx_depth = 0;
                if begin_new {
                    begin(self, &mut t);
                }
            }
            tds::TmRequest::Other(n) => {
                t.error(&SqlError::unsupported(format!(
                    "transaction manager request type {n} (distributed transactions)"
                )));
                t.done(done::TOKEN_DONE, done::ERROR, 0, 0);
                return t;
            }
        }
        t.done(done::TOKEN_DONE, done::FINAL, 0, 0);
        t
    }

    fn batch(&mut self, data: &[u8]) -> Tokens {
        let mut t = Tokens::default();
        let text = match tds::parse_batch_text(data) {
            Ok(s) => s,
            Err(e) => {
                t.error(&SqlError::new(4002, 16, 1, e));
                t.done(done::TOKEN_DONE, done::ERROR, 0, 0);
                return t;
            }
        };
        if self.shared.log_requests {
            let head: String = text.chars().take(120).collect();
            eprintln!("msdb-testserver: spid {}: batch {head:?}", self.spid);
        }
        let stmts = match sql::parse_batch(&text) {
            Ok(s) => s,
            Err(e) => {
                t.error(&e);
                t.done(done::TOKEN_DONE, done::ERROR, 0, 0);
                return t;
            }
        };
        let vars = HashMap::new();
        let mut last_done = None;
        for st in &stmts {
            last_done = self.statement(&mut t, st, &vars, Level::Batch);
        }
        match last_done {
            // The batch's last DONE is final: clear its MORE bit.
            Some(pos) if t.buf[pos] == done::TOKEN_DONE => t.buf[pos + 1] &= !(done::MORE as u8),
            _ => t.done(done::TOKEN_DONE, done::FINAL, 0, 0),
        }
        t
    }

    /// Runs one statement; returns the position of the DONE/DONEPROC token it ended with.
    pub(super) fn statement(
        &mut self,
        t: &mut Tokens,
        st: &Stmt,
        vars: &HashMap<String, Value>,
        level: Level,
    ) -> Option<usize> {
        let done_tok = if level == Level::Batch {
            done::TOKEN_DONE
        } else {
            done::TOKEN_DONEINPROC
        };
        let result: Result<(u16, u16, u64), SqlError> = match st {
            Stmt::Exec(e) => match exec_args(&e.args, vars) {
                Ok(args) => return self.exec(t, &e.proc, args, level, true),
                Err(err) => Err(err),
            },
            Stmt::Select(s) => self
                .select(t, s, vars)
                .map(|n| (done::MORE | done::COUNT, done::CMD_SELECT, n)),
            Stmt::Set { option, value } => {
                if option == "textsize" {
                    match value.trim().parse::<i64>() {
                        Ok(n) if n > 0 => self.textsize = Some(n as usize),
                        Ok(_) => self.textsize = None,
                        Err(_) => {}
                    }
                }
                Ok((done::MORE, 0, 0))
            }
            Stmt::Use(db) => {
                if db.eq_ignore_ascii_case("msdb") || db.eq_ignore_ascii_case("master") {
                    let old = std::mem::replace(&mut self.db, db.to_lowercase());
                    t.envchange(1, &self.db.clone(), &old);
                    t.info(5701, &format!("Changed database context to '{}'.", self.db));
                    Ok((done::MORE, 0, 0))
                } else {
                    Err(SqlError::new(
                        911,
                        16,
                        1,
                        format!("Database '{db}' does not exist. Make sure that the name is entered correctly."),
                    ))
                }
            }
        };
        let pos = t.buf.len();
        match result {
            Ok((status, cmd, n)) => t.done(done_tok, status, cmd, n),
            Err(e) => {
                t.error(&e);
                let pos = t.buf.len();
                t.done(done_tok, done::MORE | done::ERROR, 0, 0);
                return Some(pos);
            }
        }
        Some(pos)
    }

    /// Resolves `[db.][schema.]name` to an msdb procedure name, as SQL Server would find
    /// it from the current database.
    pub(super) fn resolve_proc(&self, n: &ObjName) -> Result<String, SqlError> {
        let db = if n.db.is_empty() { &self.db } else { &n.db };
        let schema_ok = n.schema.is_empty() || n.schema.eq_ignore_ascii_case("dbo");
        let shown = [n.db.as_str(), n.schema.as_str(), n.name.as_str()]
            .iter()
            .filter(|x| !x.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(".");
        if n.name.eq_ignore_ascii_case("sp_executesql") && schema_ok {
            return Ok("sp_executesql".into());
        }
        if db.eq_ignore_ascii_case("msdb") && schema_ok && model::is_procedure(&n.name) {
            return Ok(n.name.to_lowercase());
        }
        // System procedures in master, found from any database (`msdb.dbo.` included).
        let system_schema = schema_ok || n.schema.eq_ignore_ascii_case("sys");
        if system_schema && super::applock::is_applock_proc(&n.name) {
            return Ok(n.name.to_lowercase());
        }
        Err(SqlError::new(
            2812,
            16,
            62,
            format!("Could not find stored procedure '{shown}'."),
        ))
    }

    /// Runs a procedure; at `Level::Batch` (and for RPC) it ends with RETURNSTATUS and
    /// DONEPROC, inside sp_executesql its results simply join the outer procedure's.
    pub(super) fn exec(
        &mut self,
        t: &mut Tokens,
        name: &ObjName,
        args: Vec<Arg>,
        level: Level,
        more: bool,
    ) -> Option<usize> {
        let proc = match self.resolve_proc(name) {
            Ok(p) => p,
            Err(e) => {
                t.error(&e);
                let pos = t.buf.len();
                let tok = if level == Level::Batch {
                    done::TOKEN_DONE
                } else {
                    done::TOKEN_DONEINPROC
                };
                t.done(tok, done::MORE | done::ERROR, 0, 0);
                return Some(pos);
            }
        };
        if proc == "sp_executesql" {
            return self.executesql(t, args, level, more);
        }
        let out = self.call_model(&proc, args);
        self.emit_outcome(t, out, level, more)
    }

    pub(super) fn call_model(&mut self, proc: &str, args: Vec<Arg>) -> ProcOutcome {
        if super::applock::is_applock_proc(proc) {
            return self.shared.applocks.call(self.spid, proc, &args);
        }
        let mut db = self.shared.db.lock().unwrap_or_else(|p| p.into_inner());
        let (mut out, changed) = db.call(&self.caller, proc, args);
        if changed {
            if let Some(path) = &self.shared.data {
                if let Err(e) = db.save(path) {
                    out.error = Some(SqlError::new(
                        50000,
                        16,
                        1,
                        format!(
                            "msdb-testserver could not persist to {}: {e}",
                            path.display()
                        ),
                    ));
                }
            }
        }
        out
    }

    pub(super) fn emit_outcome(
        &self,
        t: &mut Tokens,
        out: ProcOutcome,
        level: Level,
        more: bool,
    ) -> Option<usize> {
        for rs in &out.result_sets {
            t.colmetadata(&rs.columns, "sysssispackages");
            for row in &rs.rows {
                t.row(&rs.columns, row, self.textsize);
            }
            t.done(
                done::TOKEN_DONEINPROC,
                done::MORE | done::COUNT,
                done::CMD_SELECT,
                rs.rows.len() as u64,
            );
        }
        if out.result_sets.is_empty() {
            if let Some(n) = out.rows_affected {
                t.done(
                    done::TOKEN_DONEINPROC,
                    done::MORE | done::COUNT,
                    done::CMD_INSERT,
                    n,
                );
            }
        }
        if let Some(e) = &out.error {
            t.error(e);
        }
        if level == Level::InProc {
            return None;
        }
        if out.ran {
            t.return_status(out.return_status);
        }
        let mut status = if more { done::MORE } else { done::FINAL };
        if out.error.is_some() {
            status |= done::ERROR;
        }
        let pos = t.buf.len();
        t.done(done::TOKEN_DONEPROC, status, done::CMD_EXECUTE, 0);
        Some(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_flag_forms() {
        let l = Login::parse("sa:p:w").unwrap();
        assert_eq!((l.user.as_str(), l.password.as_str()), ("sa", "p:w"));
        assert!(l.roles.sysadmin);
        let l = Login::parse("u:pw:db_ssisoperator,db_ssisltduser").unwrap();
        assert_eq!(l.password, "pw");
        assert!(l.roles.ssis_operator && l.roles.ssis_ltduser && !l.roles.sysadmin);
        let l = Login::parse("u:pw:").unwrap();
        assert_eq!(l.roles, Roles::default());
        assert!(Login::parse("nopassword").is_err());
    }
}
