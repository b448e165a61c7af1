//! RPC requests: procedures by name, `sp_executesql`, and the prepared-statement
//! procedures Microsoft's ODBC driver uses (`sp_prepare`, `sp_execute`, `sp_prepexec`,
//! `sp_unprepare`), with OUTPUT parameters answered by RETURNVALUE tokens.
//!
//! Response shape of an RPC, as SQL Server sends it (MS-TDS 2.2.7.18/19): the body's
//! result sets and messages, RETURNSTATUS, one RETURNVALUE per OUTPUT parameter (the
//! prepared handle first), then DONEPROC.

use std::collections::HashMap;

use super::model::{self, Arg};
use super::query::exec_args;
use super::server::{Level, Session};
use super::sql::{self, ObjName, Stmt};
use super::tds::{self, done, ProcRef, RpcParam, Tokens};
use super::value::{SqlError, Value};

/// The system procedures that RPC can name by id (MS-TDS 2.2.6.6, ProcID).
#[derive(Clone, Copy, Debug, PartialEq)]
enum SystemProc {
    ExecuteSql,
    Prepare,
    Execute,
    PrepExec,
    PrepExecRpc,
    Unprepare,
}

impl SystemProc {
    fn from_id(id: u16) -> Result<SystemProc, SqlError> {
        Ok(match id {
            10 => SystemProc::ExecuteSql,
            11 => SystemProc::Prepare,
            12 => SystemProc::Execute,
            13 => SystemProc::PrepExec,
            14 => SystemProc::PrepExecRpc,
            15 => SystemProc::Unprepare,
            other => {
                return Err(SqlError::unsupported(format!(
                    "RPC procedure id {other} (cursors; supported: sp_executesql 10, sp_prepare 11, sp_execute 12, sp_prepexec 13, sp_prepexecrpc 14, sp_unprepare 15, and procedures by name)"
                )))
            }
        })
    }

    /// `sp_executesql` and friends live in `sys` but resolve from any database.
    fn from_name(n: &ObjName) -> Option<SystemProc> {
        let schema_ok = n.schema.is_empty()
            || n.schema.eq_ignore_ascii_case("sys")
            || n.schema.eq_ignore_ascii_case("dbo");
        if !schema_ok {
            return None;
        }
        Some(match n.name.to_ascii_lowercase().as_str() {
            "sp_executesql" => SystemProc::ExecuteSql,
            "sp_prepare" => SystemProc::Prepare,
            "sp_execute" => SystemProc::Execute,
            "sp_prepexec" => SystemProc::PrepExec,
            "sp_prepexecrpc" => SystemProc::PrepExecRpc,
            "sp_unprepare" => SystemProc::Unprepare,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            SystemProc::ExecuteSql => "sp_executesql",
            SystemProc::Prepare => "sp_prepare",
            SystemProc::Execute => "sp_execute",
            SystemProc::PrepExec => "sp_prepexec",
            SystemProc::PrepExecRpc => "sp_prepexecrpc",
            SystemProc::Unprepare => "sp_unprepare",
        }
    }
}

/// A connection's prepared statements: handles count from 1, as SQL Server's do.
#[derive(Default)]
pub(super) struct Prepared {
    statements: HashMap<i32, Statement>,
    last: i32,
}

#[derive(Clone)]
enum Statement {
    /// sp_prepare / sp_prepexec: T-SQL and its parameter declarations.
    Sql { stmt: String, decl: Option<String> },
    /// sp_prepexecrpc: a procedure called by name (ODBC's `{CALL proc(?, ...)}`).
    Proc(String),
}

impl Prepared {
    fn add(&mut self, s: Statement) -> i32 {
        self.last += 1;
        self.statements.insert(self.last, s);
        self.last
    }
}

/// What a procedure body did, before RETURNSTATUS, RETURNVALUEs and DONEPROC close it.
struct Body {
    ran: bool,
    status: i32,
    error: bool,
}

impl Body {
    fn failed() -> Body {
        Body {
            ran: false,
            status: 0,
            error: true,
        }
    }
}

/// An OUTPUT parameter's answer: ordinal, name as sent, TYPE_INFO and value.
type ReturnValue = (u16, String, Vec<u8>, Vec<u8>);

fn wire_name(p: &RpcParam) -> String {
    if p.name.is_empty() {
        String::new()
    } else {
        format!("@{}", p.name)
    }
}

/// The OUTPUT parameters among `params` (ordinals offset by `first`), echoed back: the
/// statements this fixture runs never assign variables, so their values are unchanged.
fn echo_outputs(params: &[RpcParam], first: usize) -> Vec<ReturnValue> {
    params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.output)
        .map(|(i, p)| {
            (
                (first + i) as u16,
                wire_name(p),
                p.wire_type.clone(),
                p.wire_value.clone(),
            )
        })
        .collect()
}

fn not_found_handle(handle: i32) -> SqlError {
    SqlError::new(
        8179,
        16,
        4,
        format!("Could not find prepared statement with handle {handle}."),
    )
}

fn bad_param(proc: SystemProc, what: &str) -> SqlError {
    SqlError::new(
        214,
        16,
        2,
        format!("Procedure expects parameter '{what}' of type 'ntext/nchar/nvarchar'."),
    )
    .in_proc(proc.name(), 1)
}

impl Session {
    /// sp_executesql called from T-SQL (`EXEC sp_executesql N'...', ...`).
    pub(super) fn executesql(
        &mut self,
        t: &mut Tokens,
        args: Vec<Arg>,
        level: Level,
        more: bool,
    ) -> Option<usize> {
        let mut stmt = None;
        let mut decl = None;
        let mut named = Vec::new();
        let mut positional = Vec::new();
        for (i, a) in args.into_iter().enumerate() {
            match (a.name.as_deref().map(str::to_ascii_lowercase).as_deref(), i) {
                (Some("stmt"), _) | (None, 0) => stmt = Some(a.value),
                (Some("params"), _) | (None, 1) => decl = Some(a.value),
                (Some(n), _) => named.push((n.to_string(), a.value)),
                (None, _) => positional.push(a.value),
            }
        }
        let body = match (stmt, decl) {
            (Some(Value::Str(stmt)), Some(Value::Str(d))) => {
                self.run_parameterized(t, &stmt, Some(&d), named, positional)
            }
            (Some(Value::Str(stmt)), _) => {
                self.run_parameterized(t, &stmt, None, named, positional)
            }
            _ => {
                t.error(&bad_param(SystemProc::ExecuteSql, "@statement"));
                Body::failed()
            }
        };
        if level == Level::InProc {
            return None;
        }
        Some(close_rpc(t, &body, &[], more))
    }

    /// Runs `stmt` with its declared parameters bound: named values by name, positional
    /// ones in the order of the declarations. Writes the body's tokens only.
    fn run_parameterized(
        &mut self,
        t: &mut Tokens,
        stmt: &str,
        decl: Option<&str>,
        named: Vec<(String, Value)>,
        positional: Vec<Value>,
    ) -> Body {
        let mut vars: HashMap<String, Value> = named
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect();
        let names = decl.map(declared_names).unwrap_or_default();
        for (v, n) in positional.into_iter().zip(names) {
            vars.entry(n).or_insert(v);
        }
        let stmts = match sql::parse_batch(stmt) {
            Ok(s) => s,
            Err(e) => {
                t.error(&e.in_proc("sp_executesql", 1));
                return Body::failed();
            }
        };
        let mut body = Body {
            ran: true,
            status: 0,
            error: false,
        };
        for st in &stmts {
            let before = t.buf.len();
            if let Stmt::Exec(e) = st {
                // An EXEC inside the statement: its results join ours.
                let proc = exec_args(&e.args, &vars)
                    .and_then(|a| self.resolve_proc(&e.proc).map(|p| (p, a)));
                match proc {
                    Ok((p, _)) if p == "sp_executesql" => {
                        t.error(&SqlError::unsupported("nested sp_executesql"));
                        body.error = true;
                    }
                    Ok((p, a)) => {
                        let out = self.call_model(&p, a);
                        if out.error.is_some() {
                            body.error = true;
                            body.status = out.return_status;
                        }
                        self.emit_outcome(t, out, Level::InProc, true);
                    }
                    Err(err) => {
                        t.error(&err);
                        t.done(done::TOKEN_DONEINPROC, done::MORE | done::ERROR, 0, 0);
                        body.error = true;
                    }
                }
            } else {
                self.statement(t, st, &vars, Level::InProc);
                if t.buf[before..].first() == Some(&0xAA) {
                    body.error = true;
                }
            }
        }
        body
    }

    pub(super) fn rpc(&mut self, data: &[u8]) -> Tokens {
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
            let target = match call.proc {
                ProcRef::Id(id) => SystemProc::from_id(id).map(Ok),
                ProcRef::Name(n) => {
                    sql::parse_object_name(&n).map(|o| SystemProc::from_name(&o).ok_or(o))
                }
            };
            if self.shared.log_requests {
                let what = match &target {
                    Ok(Ok(sp)) => sp.name().to_string(),
                    Ok(Err(o)) => o.name.clone(),
                    Err(_) => "?".into(),
                };
                eprintln!(
                    "msdb-testserver: spid {}: RPC {what} ({} parameters)",
                    self.spid,
                    call.params.len()
                );
            }
            match target {
                Ok(Ok(sp)) => self.system_rpc(&mut t, sp, call.params, more),
                Ok(Err(name)) => self.named_rpc(&mut t, &name, call.params, more),
                Err(e) => {
                    t.error(&e);
                    close_rpc(&mut t, &Body::failed(), &[], more);
                }
            }
        }
        t
    }

    fn named_rpc(&mut self, t: &mut Tokens, name: &ObjName, params: Vec<RpcParam>, more: bool) {
        let body = self.procedure_body(t, name, params);
        close_rpc(t, &body, &[], more);
    }

    /// A procedure by name: msdb's `sp_ssis_*` declare no OUTPUT parameters, so asking
    /// for one is SQL Server's error 8162 and the procedure does not run.
    fn procedure_body(&mut self, t: &mut Tokens, name: &ObjName, params: Vec<RpcParam>) -> Body {
        if let Some((i, p)) = params.iter().enumerate().find(|(_, p)| p.output) {
            let formal = if p.name.is_empty() {
                model::param_name(&name.name, i)
                    .map(|n| format!("@{n}"))
                    .unwrap_or_else(|| format!("#{}", i + 1))
            } else {
                wire_name(p)
            };
            t.error(&SqlError::new(
                8162,
                16,
                2,
                format!("The formal parameter \"{formal}\" was not declared as an OUTPUT parameter, but the actual parameter passed in requested output."),
            ).in_proc(&name.name, 0));
            return Body::failed();
        }
        let proc = match self.resolve_proc(name) {
            Ok(p) if p == "sp_executesql" => {
                t.error(&SqlError::unsupported("sp_executesql by a qualified name"));
                return Body::failed();
            }
            Ok(p) => p,
            Err(e) => {
                t.error(&e);
                return Body::failed();
            }
        };
        let args = params
            .into_iter()
            .map(|p| Arg {
                name: (!p.name.is_empty()).then_some(p.name),
                value: p.value,
            })
            .collect();
        let out = self.call_model(&proc, args);
        let body = Body {
            ran: out.ran,
            status: out.return_status,
            error: out.error.is_some(),
        };
        self.emit_outcome(t, out, Level::InProc, true);
        body
    }

    fn system_rpc(&mut self, t: &mut Tokens, sp: SystemProc, params: Vec<RpcParam>, more: bool) {
        let (body, returns) = match sp {
            SystemProc::ExecuteSql => self.rpc_executesql(t, params),
            SystemProc::Prepare | SystemProc::PrepExec => self.rpc_prepare(t, sp, params),
            SystemProc::PrepExecRpc => self.rpc_prepexecrpc(t, params),
            SystemProc::Execute => self.rpc_execute(t, params),
            SystemProc::Unprepare => {
                let body = match params.first().map(|p| &p.value) {
                    Some(Value::Int(h)) => {
                        let h = *h as i32;
                        if self.prepared.statements.remove(&h).is_some() {
                            Body {
                                ran: true,
                                status: 0,
                                error: false,
                            }
                        } else {
                            t.error(&not_found_handle(h).in_proc("sp_unprepare", 1));
                            Body::failed()
                        }
                    }
                    _ => {
                        t.error(
                            &SqlError::new(
                                8179,
                                16,
                                2,
                                "sp_unprepare expects the int handle of a prepared statement.",
                            )
                            .in_proc("sp_unprepare", 1),
                        );
                        Body::failed()
                    }
                };
                (body, Vec::new())
            }
        };
        close_rpc(t, &body, &returns, more);
    }

    fn rpc_executesql(
        &mut self,
        t: &mut Tokens,
        params: Vec<RpcParam>,
    ) -> (Body, Vec<ReturnValue>) {
        let returns = echo_outputs(&params, 0);
        let mut it = params.into_iter();
        let stmt = it.next().map(|p| p.value);
        let decl = it.next().map(|p| p.value);
        let (named, positional) = split_values(it);
        let body = match (stmt, decl) {
            (Some(Value::Str(stmt)), Some(Value::Str(d))) => {
                self.run_parameterized(t, &stmt, Some(&d), named, positional)
            }
            (Some(Value::Str(stmt)), _) => {
                self.run_parameterized(t, &stmt, None, named, positional)
            }
            _ => {
                t.error(&bad_param(SystemProc::ExecuteSql, "@statement"));
                return (Body::failed(), Vec::new());
            }
        };
        (body, returns)
    }

    /// sp_prepare(@handle OUTPUT, @params, @stmt [, @options]) and
    /// sp_prepexec(@handle OUTPUT, @params, @stmt, values...): the statement is kept
    /// under a new handle, which goes back first among the RETURNVALUEs.
    fn rpc_prepare(
        &mut self,
        t: &mut Tokens,
        sp: SystemProc,
        params: Vec<RpcParam>,
    ) -> (Body, Vec<ReturnValue>) {
        if params.len() < 3 || !params[0].output {
            t.error(
                &SqlError::new(
                    8144,
                    16,
                    2,
                    format!(
                        "{} expects @handle int OUTPUT, @params and @stmt.",
                        sp.name()
                    ),
                )
                .in_proc(sp.name(), 1),
            );
            return (Body::failed(), Vec::new());
        }
        let decl = match &params[1].value {
            Value::Str(d) => Some(d.clone()),
            Value::Null => None,
            _ => {
                t.error(&bad_param(sp, "@params"));
                return (Body::failed(), Vec::new());
            }
        };
        let Value::Str(stmt) = params[2].value.clone() else {
            t.error(&bad_param(sp, "@stmt"));
            return (Body::failed(), Vec::new());
        };
        let handle = self.prepared.add(Statement::Sql {
            stmt: stmt.clone(),
            decl: decl.clone(),
        });
        let handle_out = handle_value(&params[0], handle);
        if sp == SystemProc::Prepare {
            let body = Body {
                ran: true,
                status: 0,
                error: false,
            };
            return (body, vec![handle_out]);
        }
        let mut returns = vec![handle_out];
        returns.extend(echo_outputs(&params[3..], 3));
        let (named, positional) = split_values(params.into_iter().skip(3));
        let body = self.run_parameterized(t, &stmt, decl.as_deref(), named, positional);
        (body, returns)
    }

    /// sp_execute(@handle, values...): runs a statement sp_prepare/sp_prepexec kept.
    fn rpc_execute(&mut self, t: &mut Tokens, params: Vec<RpcParam>) -> (Body, Vec<ReturnValue>) {
        let handle = match params.first().map(|p| &p.value) {
            Some(Value::Int(h)) => *h as i32,
            _ => {
                t.error(
                    &SqlError::new(
                        8179,
                        16,
                        2,
                        "sp_execute expects the int handle of a prepared statement first.",
                    )
                    .in_proc("sp_execute", 1),
                );
                return (Body::failed(), Vec::new());
            }
        };
        let Some(statement) = self.prepared.statements.get(&handle).cloned() else {
            t.error(&not_found_handle(handle).in_proc("sp_execute", 1));
            return (Body::failed(), Vec::new());
        };
        match statement {
            Statement::Sql { stmt, decl } => {
                let returns = echo_outputs(&params[1..], 1);
                let (named, positional) = split_values(params.into_iter().skip(1));
                let body = self.run_parameterized(t, &stmt, decl.as_deref(), named, positional);
                (body, returns)
            }
            Statement::Proc(name) => {
                let body = self.prepared_procedure(t, &name, params.into_iter().skip(1).collect());
                (body, Vec::new())
            }
        }
    }

    /// sp_prepexecrpc(@handle OUTPUT, @rpccall, values...): `@rpccall` names a procedure;
    /// it runs with the values, and sp_execute on the handle runs it again.
    fn rpc_prepexecrpc(
        &mut self,
        t: &mut Tokens,
        params: Vec<RpcParam>,
    ) -> (Body, Vec<ReturnValue>) {
        let name = match params.get(1).map(|p| &p.value) {
            Some(Value::Str(n)) if params[0].output => n.clone(),
            _ => {
                t.error(&bad_param(SystemProc::PrepExecRpc, "@rpccall"));
                return (Body::failed(), Vec::new());
            }
        };
        let handle = self.prepared.add(Statement::Proc(name.clone()));
        let handle_out = handle_value(&params[0], handle);
        let body = self.prepared_procedure(t, &name, params.into_iter().skip(2).collect());
        (body, vec![handle_out])
    }

    fn prepared_procedure(&mut self, t: &mut Tokens, name: &str, params: Vec<RpcParam>) -> Body {
        match sql::parse_object_name(name) {
            Ok(o) => self.procedure_body(t, &o, params),
            Err(e) => {
                t.error(&e);
                Body::failed()
            }
        }
    }
}

/// The handle of a new prepared statement, as the RETURNVALUE of `@handle`: an `int`
/// (INTN, length 4) whatever type the client declared.
fn handle_value(param: &RpcParam, handle: i32) -> ReturnValue {
    let mut value = vec![4];
    value.extend_from_slice(&handle.to_le_bytes());
    (0, wire_name(param), vec![0x26, 4], value)
}

/// Named parameters by name, the rest in order.
fn split_values(params: impl Iterator<Item = RpcParam>) -> (Vec<(String, Value)>, Vec<Value>) {
    let mut named = Vec::new();
    let mut positional = Vec::new();
    for p in params {
        if p.name.is_empty() {
            positional.push(p.value);
        } else {
            named.push((p.name, p.value));
        }
    }
    (named, positional)
}

/// RETURNSTATUS (when the body ran), the RETURNVALUEs, then DONEPROC; returns where
/// DONEPROC starts.
fn close_rpc(t: &mut Tokens, body: &Body, returns: &[ReturnValue], more: bool) -> usize {
    if body.ran {
        t.return_status(body.status);
    }
    for (ordinal, name, ty, value) in returns {
        t.return_value(*ordinal, name, ty, value);
    }
    let mut status = if more { done::MORE } else { done::FINAL };
    if body.error {
        status |= done::ERROR;
    }
    let pos = t.buf.len();
    t.done(done::TOKEN_DONEPROC, status, done::CMD_EXECUTE, 0);
    pos
}

/// Names declared in a parameter list (`@a int, @b nvarchar(10) OUTPUT`), lower-cased.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, output: bool) -> RpcParam {
        RpcParam {
            name: name.into(),
            value: Value::Null,
            output,
            wire_type: vec![0x26, 4],
            wire_value: vec![0],
        }
    }

    #[test]
    fn rpc_closes_with_status_then_return_values_then_doneproc() {
        let mut t = Tokens::default();
        let body = Body {
            ran: true,
            status: 0,
            error: false,
        };
        let mut returns = vec![handle_value(&param("", true), 7)];
        returns.extend(echo_outputs(&[param("in", false), param("out", true)], 3));
        close_rpc(&mut t, &body, &returns, false);
        let mut want = vec![0x79, 0, 0, 0, 0];
        // RETURNVALUE: ordinal 0, no name, fOutputParam, UserType 0, fNullable, INTN(4) = 7.
        want.extend_from_slice(&[0xAC, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0x26, 4, 4, 7, 0, 0, 0]);
        // The echoed OUTPUT parameter keeps its ordinal (4) and name.
        want.extend_from_slice(&[0xAC, 4, 0, 4]);
        want.extend_from_slice(&[b'@', 0, b'o', 0, b'u', 0, b't', 0]);
        want.extend_from_slice(&[1, 0, 0, 0, 0, 1, 0, 0x26, 4, 0]);
        want.extend_from_slice(&[0xFE, 0, 0, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(t.buf, want);
    }

    #[test]
    fn system_procedures_by_id_and_name() {
        assert_eq!(SystemProc::from_id(13).unwrap(), SystemProc::PrepExec);
        assert!(SystemProc::from_id(2).is_err()); // sp_cursoropen
        let n = sql::parse_object_name("sys.sp_prepexec").unwrap();
        assert_eq!(SystemProc::from_name(&n), Some(SystemProc::PrepExec));
        let n = sql::parse_object_name("dbo.sp_ssis_getfolder").unwrap();
        assert_eq!(SystemProc::from_name(&n), None);
    }

    #[test]
    fn declared_parameter_names() {
        assert_eq!(
            declared_names("@name nvarchar(128), @d decimal(10,2),@F uniqueidentifier"),
            vec!["name", "d", "f"]
        );
    }
}
