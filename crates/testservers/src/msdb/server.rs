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

use super::model::{self, Arg, Caller, ColType, Column, Msdb, ProcOutcome, Roles, Table};
use super::sql::{self, Cond, Expr, ObjName, SelectItem, SelectStmt, Stmt};
use super::tds::{self, done, enc, pkt, ProcRef, Tokens};
use super::tls;
use super::value::{self, names_equal, SqlError, Value};

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
}

struct Shared {
    db: Mutex<Msdb>,
    data: Option<PathBuf>,
    logins: Vec<Login>,
    tls: Option<TlsAcceptor>,
    latency: Duration,
    fail_after: Option<u64>,
    requests: AtomicU64,
    next_spid: AtomicU16,
}

/// Requests larger than this are refused (a 5 MiB package is well within it).
const MAX_MESSAGE: usize = 512 << 20;

/// Binds, prints `listening ADDR` as the first stdout line, and serves forever.
pub async fn run(config: Config) -> io::Result<()> {
    let db = match &config.data {
        Some(p) => Msdb::load(p)?,
        None => Msdb::default(),
    };
    let tls = if config.tls {
        let t = tls::generate().map_err(io::Error::other)?;
        if let Some(p) = &config.ca_out {
            std::fs::write(p, &t.ca_pem)?;
        }
        Some(TlsAcceptor::from(t.config))
    } else {
        None
    };
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
        tls,
        latency: Duration::from_millis(config.latency_ms),
        fail_after: config.fail_after,
        requests: AtomicU64::new(0),
        next_spid: AtomicU16::new(51),
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
    let Some(msg) = tds::read_message(&mut stream, 1 << 16).await? else {
        return Ok(());
    };
    if msg.ty != pkt::PRELOGIN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "first packet has type {:#04x}, expected PRELOGIN (0x12): only TDS 7.2+ clients are supported",
                msg.ty
            ),
        ));
    }
    let pre = tds::parse_prelogin(&msg.data)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
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

struct Session {
    shared: Arc<Shared>,
    spid: u16,
    caller: Caller,
    db: String,
    textsize: Option<usize>,
    packet_size: usize,
    tx_depth: u32,
    tx_seq: u64,
}

/// Where a statement runs: top level of a batch, or inside a procedure (sp_executesql),
/// which decides between DONE and DONEINPROC.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Batch,
    InProc,
}

fn login_failed(user: &str) -> SqlError {
    SqlError::new(18456, 14, 1, format!("Login failed for user '{user}'."))
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
        }
    }

    async fn send<S: AsyncRead + AsyncWrite + Unpin>(
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
        if !self.login(&msg.data, &mut t) {
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
            t.error(&login_failed(&l.user));
            return false;
        };
        self.caller = Caller::new(&login.user, login.roles.clone());
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
    fn statement(
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
    fn resolve_proc(&self, n: &ObjName) -> Result<String, SqlError> {
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
        Err(SqlError::new(
            2812,
            16,
            62,
            format!("Could not find stored procedure '{shown}'."),
        ))
    }

    /// Runs a procedure; at `Level::Batch` (and for RPC) it ends with RETURNSTATUS and
    /// DONEPROC, inside sp_executesql its results simply join the outer procedure's.
    fn exec(
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

    fn call_model(&mut self, proc: &str, args: Vec<Arg>) -> ProcOutcome {
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

    fn emit_outcome(
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

    /// sp_executesql: @stmt, @params (declarations), then the declared parameters.
    fn executesql(
        &mut self,
        t: &mut Tokens,
        args: Vec<Arg>,
        level: Level,
        more: bool,
    ) -> Option<usize> {
        let mut stmt = None;
        let mut decl = None;
        let mut vars = HashMap::new();
        let mut positional = Vec::new();
        for (i, a) in args.into_iter().enumerate() {
            match (a.name.as_deref().map(str::to_ascii_lowercase).as_deref(), i) {
                (Some("stmt"), _) | (None, 0) => stmt = Some(a.value),
                (Some("params"), _) | (None, 1) => decl = Some(a.value),
                (Some(n), _) => {
                    vars.insert(n.to_string(), a.value);
                }
                (None, _) => positional.push(a.value),
            }
        }
        let fail = |t: &mut Tokens, e: SqlError| {
            t.error(&e.in_proc("sp_executesql", 1));
            let pos = t.buf.len();
            let tok = if level == Level::Batch {
                done::TOKEN_DONEPROC
            } else {
                done::TOKEN_DONEINPROC
            };
            t.done(
                tok,
                if more {
                    done::MORE | done::ERROR
                } else {
                    done::ERROR
                },
                done::CMD_EXECUTE,
                0,
            );
            Some(pos)
        };
        let Some(Value::Str(stmt)) = stmt else {
            return fail(
                t,
                SqlError::new(
                    214,
                    16,
                    2,
                    "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.",
                ),
            );
        };
        if !positional.is_empty() {
            // Positional values follow the order of the @params declarations.
            let names = match &decl {
                Some(Value::Str(d)) => declared_names(d),
                _ => Vec::new(),
            };
            for (v, n) in positional.into_iter().zip(names) {
                vars.entry(n).or_insert(v);
            }
        }
        let stmts = match sql::parse_batch(&stmt) {
            Ok(s) => s,
            Err(e) => return fail(t, e),
        };
        let mut status = 0;
        let mut had_error = false;
        for st in &stmts {
            let before = t.buf.len();
            if let Stmt::Exec(e) = st {
                // An EXEC inside sp_executesql: its results join ours.
                let proc = exec_args(&e.args, &vars)
                    .and_then(|a| self.resolve_proc(&e.proc).map(|p| (p, a)));
                match proc {
                    Ok((p, _)) if p == "sp_executesql" => {
                        t.error(&SqlError::unsupported("nested sp_executesql"));
                        had_error = true;
                    }
                    Ok((p, a)) => {
                        let out = self.call_model(&p, a);
                        if out.error.is_some() {
                            had_error = true;
                            status = out.return_status;
                        }
                        self.emit_outcome(t, out, Level::InProc, true);
                    }
                    Err(err) => {
                        t.error(&err);
                        t.done(done::TOKEN_DONEINPROC, done::MORE | done::ERROR, 0, 0);
                        had_error = true;
                    }
                }
            } else {
                self.statement(t, st, &vars, Level::InProc);
                if t.buf[before..].first() == Some(&0xAA) {
                    had_error = true;
                }
            }
        }
        if level == Level::InProc {
            return None;
        }
        t.return_status(status);
        let mut st = if more { done::MORE } else { done::FINAL };
        if had_error {
            st |= done::ERROR;
        }
        let pos = t.buf.len();
        t.done(done::TOKEN_DONEPROC, st, done::CMD_EXECUTE, 0);
        Some(pos)
    }

    fn rpc(&mut self, data: &[u8]) -> Tokens {
        let mut t = Tokens::default();
        let calls = match tds::parse_rpc(data) {
            Ok(c) => c,
            Err(e) => {
                t.error(&SqlError::new(8016, 16, 1, format!("The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect: {e}")));
                t.done(done::TOKEN_DONE, done::ERROR, 0, 0);
                return t;
            }
        };
        let n = calls.len();
        for (i, call) in calls.into_iter().enumerate() {
            let more = i + 1 < n;
            if call.params.iter().any(|p| p.output) {
                t.error(&SqlError::unsupported("OUTPUT parameters"));
                t.done(
                    done::TOKEN_DONEPROC,
                    if more {
                        done::MORE | done::ERROR
                    } else {
                        done::ERROR
                    },
                    done::CMD_EXECUTE,
                    0,
                );
                continue;
            }
            let args: Vec<Arg> = call
                .params
                .into_iter()
                .map(|p| Arg {
                    name: (!p.name.is_empty()).then_some(p.name),
                    value: p.value,
                })
                .collect();
            let name = match call.proc {
                ProcRef::Id(10) => Ok(ObjName {
                    db: String::new(),
                    schema: String::new(),
                    name: "sp_executesql".into(),
                }),
                ProcRef::Id(id) => Err(SqlError::unsupported(format!(
                    "RPC procedure id {id} (only sp_executesql, id 10, and procedures by name)"
                ))),
                ProcRef::Name(n) => sql::parse_object_name(&n),
            };
            match name {
                Ok(name) => {
                    self.exec(&mut t, &name, args, Level::Batch, more);
                }
                Err(e) => {
                    t.error(&e);
                    t.done(
                        done::TOKEN_DONEPROC,
                        if more {
                            done::MORE | done::ERROR
                        } else {
                            done::ERROR
                        },
                        done::CMD_EXECUTE,
                        0,
                    );
                }
            }
        }
        t
    }

    fn select(
        &mut self,
        t: &mut Tokens,
        s: &SelectStmt,
        vars: &HashMap<String, Value>,
    ) -> Result<u64, SqlError> {
        let Some(from) = &s.from else {
            let mut cols = Vec::new();
            let mut row = Vec::new();
            for item in &s.items {
                let (name, v) = match item {
                    SelectItem::Expr { expr, alias } => {
                        (alias.clone().unwrap_or_default(), eval(expr, vars)?)
                    }
                    SelectItem::Global { name, alias } => {
                        (alias.clone().unwrap_or_default(), self.global(name)?)
                    }
                    SelectItem::Column { name, .. }
                    | SelectItem::DataLength { column: name, .. } => {
                        return Err(SqlError::new(
                            207,
                            16,
                            1,
                            format!("Invalid column name '{name}'."),
                        ))
                    }
                    SelectItem::Star => {
                        return Err(SqlError::new(
                            263,
                            16,
                            1,
                            "Must specify table to select from.",
                        ))
                    }
                };
                cols.push(Column {
                    name,
                    ty: literal_type(&v),
                    nullable: true,
                });
                row.push(v);
            }
            t.colmetadata(&cols, "");
            t.row(&cols, &row, self.textsize);
            return Ok(1);
        };
        let table = self.resolve_table(from)?;
        let tcols = model::table_columns(table);
        let col_index = |name: &str| {
            tcols
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| SqlError::new(207, 16, 1, format!("Invalid column name '{name}'.")))
        };
        // Validate every referenced column before touching rows, as the compiler would.
        let mut filters = Vec::new();
        for c in &s.conds {
            match c {
                Cond::Eq(col, ex) => {
                    let i = col_index(col)?;
                    let v = coerce_for_compare(tcols[i].ty, eval(ex, vars)?)?;
                    filters.push((i, Some(v), false));
                }
                Cond::IsNull(col, not) => filters.push((col_index(col)?, None, *not)),
            }
        }
        let mut order = Vec::new();
        for (col, desc) in &s.order {
            order.push((col_index(col)?, *desc));
        }
        enum Out {
            Col(usize),
            Len(usize),
            Lit(Value),
        }
        let mut out_cols = Vec::new();
        let mut outs = Vec::new();
        for item in &s.items {
            match item {
                SelectItem::Star => {
                    for (i, c) in tcols.iter().enumerate() {
                        out_cols.push(c.clone());
                        outs.push(Out::Col(i));
                    }
                }
                SelectItem::Column { name, alias } => {
                    let i = col_index(name)?;
                    let mut c = tcols[i].clone();
                    if let Some(a) = alias {
                        c.name = a.clone();
                    }
                    out_cols.push(c);
                    outs.push(Out::Col(i));
                }
                SelectItem::DataLength { column, alias } => {
                    let i = col_index(column)?;
                    out_cols.push(Column {
                        name: alias.clone().unwrap_or_default(),
                        ty: ColType::Int,
                        nullable: true,
                    });
                    outs.push(Out::Len(i));
                }
                SelectItem::Expr { expr, alias } => {
                    let v = eval(expr, vars)?;
                    out_cols.push(Column {
                        name: alias.clone().unwrap_or_default(),
                        ty: literal_type(&v),
                        nullable: true,
                    });
                    outs.push(Out::Lit(v));
                }
                SelectItem::Global { name, alias } => {
                    let v = self.global(name)?;
                    out_cols.push(Column {
                        name: alias.clone().unwrap_or_default(),
                        ty: literal_type(&v),
                        nullable: true,
                    });
                    outs.push(Out::Lit(v));
                }
            }
        }
        let mut rows: Vec<Vec<Value>> = {
            let db = self.shared.db.lock().unwrap_or_else(|p| p.into_inner());
            db.table_rows(table)
        };
        rows.retain(|r| {
            filters.iter().all(|(i, v, not)| match v {
                Some(v) => values_equal(&r[*i], v),
                None => r[*i].is_null() != *not,
            })
        });
        rows.sort_by(|a, b| {
            for (i, desc) in &order {
                let o = compare(&a[*i], &b[*i]);
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        if let Some(n) = s.top {
            rows.truncate(n as usize);
        }
        let table_name = match table {
            Table::Packages => "sysssispackages",
            Table::Folders => "sysssispackagefolders",
        };
        t.colmetadata(&out_cols, table_name);
        for r in &rows {
            let vals: Vec<Value> = outs
                .iter()
                .map(|o| match o {
                    Out::Col(i) => r[*i].clone(),
                    Out::Len(i) => match &r[*i] {
                        Value::Null => Value::Null,
                        Value::Bin(b) => Value::Int(b.len() as i64),
                        Value::Str(s) => Value::Int(s.encode_utf16().count() as i64 * 2),
                        Value::Guid(_) => Value::Int(16),
                        Value::DateTime(_) => Value::Int(8),
                        Value::Int(_) => Value::Int(4),
                        Value::Bit(_) => Value::Int(1),
                    },
                    Out::Lit(v) => v.clone(),
                })
                .collect();
            t.row(&out_cols, &vals, self.textsize);
        }
        Ok(rows.len() as u64)
    }

    fn resolve_table(&self, n: &ObjName) -> Result<Table, SqlError> {
        let db = if n.db.is_empty() { &self.db } else { &n.db };
        let schema_ok = n.schema.is_empty() || n.schema.eq_ignore_ascii_case("dbo");
        if db.eq_ignore_ascii_case("msdb") && schema_ok {
            if n.name.eq_ignore_ascii_case("sysssispackages") {
                return Ok(Table::Packages);
            }
            if n.name.eq_ignore_ascii_case("sysssispackagefolders") {
                return Ok(Table::Folders);
            }
        }
        let shown = [n.db.as_str(), n.schema.as_str(), n.name.as_str()]
            .iter()
            .filter(|x| !x.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(".");
        Err(SqlError::new(
            208,
            16,
            1,
            format!("Invalid object name '{shown}'."),
        ))
    }

    fn global(&self, name: &str) -> Result<Value, SqlError> {
        Ok(match name {
            "@@version" => Value::Str(
                "Microsoft SQL Server 2022 (msdb-testserver, a test fixture for dtutil; not SQL Server)".into(),
            ),
            "@@spid" => Value::Int(self.spid.into()),
            "@@servername" => Value::Str(tds::SERVER_NAME.into()),
            "@@trancount" => Value::Int(self.tx_depth.into()),
            "@@textsize" => Value::Int(self.textsize.map(|n| n as i64).unwrap_or(2_147_483_647)),
            "@@language" => Value::Str("us_english".into()),
            other => return Err(SqlError::unsupported(format!("the global {other}"))),
        })
    }
}

/// Names declared in sp_executesql's @params (`@a int, @b nvarchar(10)`), lower-cased.
fn declared_names(decl: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for ch in decl.chars().chain(std::iter::once(',')) {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                if let Some(w) = cur.split_whitespace().next() {
                    names.push(w.trim_start_matches('@').to_ascii_lowercase());
                }
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    names
}

/// Evaluates EXEC arguments. A named `@p = DEFAULT` means "not supplied"; a positional
/// DEFAULT is passed as NULL (this fixture's procedures default only to NULL).
fn exec_args(
    args: &[(Option<String>, Expr)],
    vars: &HashMap<String, Value>,
) -> Result<Vec<Arg>, SqlError> {
    args.iter()
        .filter(|(name, ex)| !(name.is_some() && *ex == Expr::Default))
        .map(|(name, ex)| {
            Ok(Arg {
                name: name.clone(),
                value: eval(ex, vars)?,
            })
        })
        .collect()
}

fn eval(e: &Expr, vars: &HashMap<String, Value>) -> Result<Value, SqlError> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Default => Ok(Value::Null),
        Expr::Var(n) => vars.get(&n.to_ascii_lowercase()).cloned().ok_or_else(|| {
            SqlError::new(
                137,
                15,
                2,
                format!("Must declare the scalar variable \"@{n}\"."),
            )
        }),
    }
}

fn literal_type(v: &Value) -> ColType {
    match v {
        Value::Null | Value::Int(_) => ColType::Int,
        Value::Bit(_) => ColType::Bit,
        Value::Str(s) => ColType::NVarChar(s.encode_utf16().count().clamp(1, 4000) as u16),
        Value::Bin(b) => ColType::VarBinary(b.len().clamp(1, 8000) as u16),
        Value::Guid(_) => ColType::Guid,
        Value::DateTime(_) => ColType::DateTime,
    }
}

fn coerce_for_compare(ty: ColType, v: Value) -> Result<Value, SqlError> {
    match ty {
        ColType::NVarChar(_) => value::to_string(v, usize::MAX),
        ColType::Guid => value::to_guid(v),
        ColType::Int => value::to_int(v),
        ColType::Bit => value::to_bit(v),
        ColType::DateTime => value::to_datetime(v),
        ColType::VarBinary(_) => match v {
            Value::Null | Value::Bin(_) => Ok(v),
            other => Err(SqlError::new(
                402,
                16,
                1,
                format!(
                    "The data types varbinary and {} are incompatible in the equal to operator.",
                    other.type_name()
                ),
            )),
        },
        ColType::Image => Err(SqlError::new(
            402,
            16,
            1,
            "The data types image and varbinary are incompatible in the equal to operator.",
        )),
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Str(x), Value::Str(y)) => names_equal(x, y),
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Value::Null, Value::Null) => Equal,
        (Value::Null, _) => Less,
        (_, Value::Null) => Greater,
        (Value::Str(x), Value::Str(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Guid(x), Value::Guid(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        (Value::Bit(x), Value::Bit(y)) => x.cmp(y),
        (Value::Bin(x), Value::Bin(y)) => x.cmp(y),
        _ => Equal,
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

    #[test]
    fn declared_parameter_names() {
        assert_eq!(
            declared_names("@name nvarchar(128), @d decimal(10,2),@F uniqueidentifier"),
            vec!["name", "d", "f"]
        );
    }
}
