//! A deliberately small T-SQL subset: what clients and tests send to msdb.
//!
//! Supported: `EXEC[UTE] [msdb.][dbo.]proc [@p =] value, ...` (literals, `@variables`
//! bound by `sp_executesql`, `DEFAULT`), a bare procedure call as the first statement,
//! `SELECT [TOP n] cols|* [FROM table] [WHERE col = value [AND ...]] [ORDER BY col [DESC]]`
//! where the select list may also hold literals, `@@VERSION`-style globals and
//! `DATALENGTH(col)`, `SET option ...` (accepted; `SET TEXTSIZE n` is honoured), and
//! `USE db`. Everything else is refused with an error that says so.

use super::value::{hex_decode, SqlError, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Lit(Value),
    Var(String),
    Default,
}

/// A possibly qualified name: `[db, schema, object]`, missing parts empty.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjName {
    pub db: String,
    pub schema: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExecStmt {
    pub proc: ObjName,
    pub args: Vec<(Option<String>, Expr)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SelectItem {
    Star,
    Column {
        name: String,
        alias: Option<String>,
    },
    Expr {
        expr: Expr,
        alias: Option<String>,
    },
    Global {
        name: String,
        alias: Option<String>,
    },
    DataLength {
        column: String,
        alias: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Eq(String, Expr),
    IsNull(String, bool),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SelectStmt {
    pub top: Option<u64>,
    pub items: Vec<SelectItem>,
    pub from: Option<ObjName>,
    pub conds: Vec<Cond>,
    pub order: Vec<(String, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Exec(ExecStmt),
    Select(SelectStmt),
    /// `SET option value`: the lower-cased option words and the value's text.
    Set {
        option: String,
        value: String,
    },
    Use(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// Unquoted word, including `@var`, `@@global`, `#temp`.
    Word(String),
    /// `[quoted]` or `"quoted"` identifier.
    Quoted(String),
    Str(String),
    Num(String),
    Hex(Vec<u8>),
    Sym(char),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Word(s) | Tok::Num(s) => s.clone(),
            Tok::Quoted(s) => format!("[{s}]"),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Hex(_) => "0x".into(),
            Tok::Sym(c) => c.to_string(),
        }
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

fn tokenize(sql: &str) -> Result<Vec<Tok>, SqlError> {
    let c: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '-' && c.get(i + 1) == Some(&'-') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            // T-SQL block comments nest.
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            if depth != 0 {
                return Err(SqlError::new(113, 15, 1, "Missing end comment mark '*/'."));
            }
        } else if ch == '\'' || ((ch == 'N' || ch == 'n') && c.get(i + 1) == Some(&'\'')) {
            i += if ch == '\'' { 1 } else { 2 };
            let mut s = String::new();
            loop {
                match c.get(i) {
                    None => {
                        return Err(SqlError::new(
                            105,
                            15,
                            1,
                            format!("Unclosed quotation mark after the character string '{s}'."),
                        ))
                    }
                    Some('\'') if c.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if ch == '[' || ch == '"' {
            let close = if ch == '[' { ']' } else { '"' };
            i += 1;
            let mut s = String::new();
            loop {
                match c.get(i) {
                    None => return Err(SqlError::syntax(&s)),
                    Some(&x) if x == close && c.get(i + 1) == Some(&close) => {
                        s.push(close);
                        i += 2;
                    }
                    Some(&x) if x == close => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Quoted(s));
        } else if ch == '0' && matches!(c.get(i + 1), Some('x') | Some('X')) {
            i += 2;
            let start = i;
            while i < c.len() && c[i].is_ascii_hexdigit() {
                i += 1;
            }
            let hex: String = c[start..i].iter().collect();
            out.push(Tok::Hex(hex_decode(&hex).expect("hex digits checked")));
        } else if ch.is_ascii_digit() {
            let start = i;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(c[start..i].iter().collect()));
        } else if ch.is_alphabetic() || ch == '_' || ch == '@' || ch == '#' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || matches!(c[i], '_' | '@' | '#' | '$')) {
                i += 1;
            }
            out.push(Tok::Word(c[start..i].iter().collect()));
        } else {
            out.push(Tok::Sym(ch));
            i += 1;
        }
    }
    Ok(out)
}

const STMT_KEYWORDS: &[&str] = &["select", "exec", "execute", "set", "use"];
/// Statements a client might send that this fixture refuses by name.
const OTHER_KEYWORDS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "merge",
    "create",
    "alter",
    "drop",
    "declare",
    "begin",
    "commit",
    "rollback",
    "save",
    "if",
    "while",
    "print",
    "raiserror",
    "throw",
    "truncate",
    "grant",
    "revoke",
    "deny",
    "with",
    "waitfor",
    "return",
    "bulk",
    "dbcc",
    "go",
];

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_sym(&mut self, s: char) -> bool {
        if self.peek() == Some(&Tok::Sym(s)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn err_here(&self) -> SqlError {
        SqlError::syntax(&self.peek().map(Tok::text).unwrap_or_default())
    }
    /// The current statement ends at `;`, end of text, or the next statement keyword.
    fn at_stmt_end(&self) -> bool {
        match self.peek() {
            None | Some(Tok::Sym(';')) => true,
            Some(t) => STMT_KEYWORDS
                .iter()
                .chain(OTHER_KEYWORDS)
                .any(|k| t.is_kw(k)),
        }
    }

    fn ident(&mut self) -> Result<String, SqlError> {
        match self.next() {
            Some(Tok::Word(w)) if !w.starts_with('@') => Ok(w),
            Some(Tok::Quoted(q)) => Ok(q),
            Some(t) => Err(SqlError::syntax(&t.text())),
            None => Err(SqlError::syntax("")),
        }
    }

    fn obj_name(&mut self) -> Result<ObjName, SqlError> {
        let mut parts = vec![self.ident()?];
        while self.eat_sym('.') {
            // `msdb..name` leaves the schema empty (dbo).
            if self.peek() == Some(&Tok::Sym('.')) {
                parts.push(String::new());
                continue;
            }
            parts.push(self.ident()?);
        }
        if parts.len() > 3 {
            return Err(SqlError::unsupported("four-part (linked server) names"));
        }
        let name = parts.pop().unwrap_or_default();
        let schema = parts.pop().unwrap_or_default();
        let db = parts.pop().unwrap_or_default();
        Ok(ObjName { db, schema, name })
    }

    fn expr(&mut self) -> Result<Expr, SqlError> {
        let neg = if self.eat_sym('-') {
            true
        } else {
            self.eat_sym('+');
            false
        };
        let t = self.next().ok_or_else(|| SqlError::syntax(""))?;
        let e = match t {
            Tok::Str(s) => Expr::Lit(Value::Str(s)),
            Tok::Hex(b) => Expr::Lit(Value::Bin(b)),
            Tok::Num(n) => match n.parse::<i64>() {
                Ok(v) => Expr::Lit(Value::Int(if neg { -v } else { v })),
                Err(_) => return Err(SqlError::unsupported(format!("the numeric literal {n}"))),
            },
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Expr::Lit(Value::Null),
            Tok::Word(w) if w.eq_ignore_ascii_case("default") => Expr::Default,
            Tok::Word(w) if w.starts_with("@@") => {
                return Err(SqlError::unsupported(format!("{w} as an argument")))
            }
            Tok::Word(w) if w.starts_with('@') => Expr::Var(w[1..].to_string()),
            Tok::Word(w) if self.peek() == Some(&Tok::Sym('(')) => {
                return Err(SqlError::unsupported(format!(
                    "the function {}()",
                    w.to_uppercase()
                )))
            }
            other => return Err(SqlError::syntax(&other.text())),
        };
        if neg && !matches!(e, Expr::Lit(Value::Int(_))) {
            return Err(SqlError::syntax("-"));
        }
        Ok(e)
    }

    fn alias(&mut self) -> Result<Option<String>, SqlError> {
        if self.eat_kw("as") {
            return Ok(Some(match self.next() {
                Some(Tok::Word(w)) => w,
                Some(Tok::Quoted(q)) | Some(Tok::Str(q)) => q,
                Some(t) => return Err(SqlError::syntax(&t.text())),
                None => return Err(SqlError::syntax("")),
            }));
        }
        match self.peek() {
            Some(Tok::Quoted(q)) => {
                let q = q.clone();
                self.pos += 1;
                Ok(Some(q))
            }
            Some(Tok::Word(w))
                if !w.starts_with('@')
                    && !["from", "where", "order", "union"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k))
                    && !self.at_stmt_end() =>
            {
                let w = w.clone();
                self.pos += 1;
                Ok(Some(w))
            }
            _ => Ok(None),
        }
    }

    fn exec(&mut self) -> Result<Stmt, SqlError> {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.starts_with('@')) {
            return Err(SqlError::unsupported(
                "EXEC @variable (return values and dynamic names)",
            ));
        }
        if self.peek() == Some(&Tok::Sym('(')) {
            return Err(SqlError::unsupported("EXEC (dynamic SQL)"));
        }
        let proc = self.obj_name()?;
        let mut args = Vec::new();
        if !self.at_stmt_end() {
            loop {
                let mut name = None;
                if let Some(Tok::Word(w)) = self.peek() {
                    if w.starts_with('@') && self.toks.get(self.pos + 1) == Some(&Tok::Sym('=')) {
                        name = Some(w[1..].to_string());
                        self.pos += 2;
                    }
                }
                let e = self.expr()?;
                if self.eat_kw("output") || self.eat_kw("out") {
                    return Err(SqlError::unsupported("OUTPUT parameters"));
                }
                args.push((name, e));
                if !self.eat_sym(',') {
                    break;
                }
            }
        }
        Ok(Stmt::Exec(ExecStmt { proc, args }))
    }

    fn select(&mut self) -> Result<Stmt, SqlError> {
        let mut top = None;
        if self.eat_kw("top") {
            let paren = self.eat_sym('(');
            match self.next() {
                Some(Tok::Num(n)) => {
                    top = Some(n.parse().map_err(|_| SqlError::syntax(&n))?);
                }
                Some(t) => return Err(SqlError::syntax(&t.text())),
                None => return Err(SqlError::syntax("")),
            }
            if paren && !self.eat_sym(')') {
                return Err(self.err_here());
            }
        }
        if self.eat_kw("distinct") {
            return Err(SqlError::unsupported("SELECT DISTINCT"));
        }
        let mut items = Vec::new();
        loop {
            if self.eat_sym('*') {
                items.push(SelectItem::Star);
            } else {
                match self.peek().cloned() {
                    Some(Tok::Word(w)) if w.starts_with("@@") => {
                        self.pos += 1;
                        let alias = self.alias()?;
                        items.push(SelectItem::Global {
                            name: w.to_ascii_lowercase(),
                            alias,
                        });
                    }
                    Some(Tok::Word(w))
                        if w.eq_ignore_ascii_case("datalength")
                            && self.toks.get(self.pos + 1) == Some(&Tok::Sym('(')) =>
                    {
                        self.pos += 2;
                        let column = self.ident()?;
                        if !self.eat_sym(')') {
                            return Err(self.err_here());
                        }
                        let alias = self.alias()?;
                        items.push(SelectItem::DataLength { column, alias });
                    }
                    Some(Tok::Word(w))
                        if !w.starts_with('@')
                            && !w.eq_ignore_ascii_case("null")
                            && self.toks.get(self.pos + 1) == Some(&Tok::Sym('(')) =>
                    {
                        return Err(SqlError::unsupported(format!(
                            "the function {}() in a select list",
                            w.to_uppercase()
                        )))
                    }
                    Some(Tok::Word(w))
                        if !w.starts_with('@') && !w.eq_ignore_ascii_case("null") =>
                    {
                        self.pos += 1;
                        // `t.col`: a table prefix is accepted and dropped.
                        let mut name = w;
                        while self.eat_sym('.') {
                            name = self.ident()?;
                        }
                        let alias = self.alias()?;
                        items.push(SelectItem::Column { name, alias });
                    }
                    Some(Tok::Quoted(q)) => {
                        self.pos += 1;
                        let mut name = q;
                        while self.eat_sym('.') {
                            name = self.ident()?;
                        }
                        let alias = self.alias()?;
                        items.push(SelectItem::Column { name, alias });
                    }
                    _ => {
                        let expr = self.expr()?;
                        let alias = self.alias()?;
                        items.push(SelectItem::Expr { expr, alias });
                    }
                }
            }
            if !self.eat_sym(',') {
                break;
            }
        }
        let mut from = None;
        let mut conds = Vec::new();
        let mut order = Vec::new();
        if self.eat_kw("from") {
            from = Some(self.obj_name()?);
            if self.eat_kw("with") || self.peek() == Some(&Tok::Sym('(')) {
                return Err(SqlError::unsupported("table hints"));
            }
            if self
                .peek()
                .is_some_and(|t| t.is_kw("join") || t.is_kw("inner") || t.is_kw("left"))
                || self.peek() == Some(&Tok::Sym(','))
            {
                return Err(SqlError::unsupported("joins"));
            }
            if self.eat_kw("where") {
                loop {
                    let col = self.ident()?;
                    if self.eat_kw("is") {
                        let not = self.eat_kw("not");
                        if !self.eat_kw("null") {
                            return Err(self.err_here());
                        }
                        conds.push(Cond::IsNull(col, not));
                    } else if self.eat_sym('=') {
                        conds.push(Cond::Eq(col, self.expr()?));
                    } else {
                        return Err(SqlError::unsupported(format!(
                            "the WHERE operator '{}' (only = and IS [NOT] NULL, joined by AND)",
                            self.peek().map(Tok::text).unwrap_or_default()
                        )));
                    }
                    if !self.eat_kw("and") {
                        break;
                    }
                }
                if self.peek().is_some_and(|t| t.is_kw("or")) {
                    return Err(SqlError::unsupported("OR in WHERE"));
                }
            }
        }
        if self.eat_kw("order") {
            if !self.eat_kw("by") {
                return Err(self.err_here());
            }
            loop {
                let col = self.ident()?;
                let desc = if self.eat_kw("desc") {
                    true
                } else {
                    self.eat_kw("asc");
                    false
                };
                order.push((col, desc));
                if !self.eat_sym(',') {
                    break;
                }
            }
        }
        Ok(Stmt::Select(SelectStmt {
            top,
            items,
            from,
            conds,
            order,
        }))
    }

    fn set(&mut self) -> Result<Stmt, SqlError> {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.starts_with('@')) {
            return Err(SqlError::unsupported("variables (SET @var)"));
        }
        let mut option = Vec::new();
        let mut value = String::new();
        while !self.at_stmt_end() {
            let t = self.next().expect("not at end");
            match &t {
                Tok::Word(w)
                    if value.is_empty()
                        && !w.eq_ignore_ascii_case("on")
                        && !w.eq_ignore_ascii_case("off") =>
                {
                    option.push(w.to_ascii_lowercase())
                }
                _ => {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(&match t {
                        Tok::Str(s) => s,
                        other => other.text(),
                    });
                }
            }
        }
        if option.is_empty() {
            return Err(self.err_here());
        }
        Ok(Stmt::Set {
            option: option.join(" "),
            value,
        })
    }

    fn statement(&mut self, first: bool) -> Result<Stmt, SqlError> {
        let t = self.peek().cloned().ok_or_else(|| SqlError::syntax(""))?;
        if self.eat_kw("exec") || self.eat_kw("execute") {
            return self.exec();
        }
        if self.eat_kw("select") {
            return self.select();
        }
        if self.eat_kw("set") {
            return self.set();
        }
        if self.eat_kw("use") {
            return Ok(Stmt::Use(self.ident()?));
        }
        if let Some(k) = OTHER_KEYWORDS.iter().find(|k| t.is_kw(k)) {
            return Err(SqlError::unsupported(format!(
                "the {} statement",
                k.to_uppercase()
            )));
        }
        // T-SQL runs a bare procedure name as the first statement of a batch.
        if first && matches!(t, Tok::Word(_) | Tok::Quoted(_)) {
            return self.exec();
        }
        Err(SqlError::syntax(&t.text()))
    }
}

/// Parses a procedure name as an RPC request carries it (`msdb.dbo.x`, `[dbo].[x]`, `x`).
pub fn parse_object_name(s: &str) -> Result<ObjName, SqlError> {
    let mut p = Parser {
        toks: tokenize(s)?,
        pos: 0,
    };
    let n = p.obj_name()?;
    if p.peek().is_some() {
        return Err(p.err_here());
    }
    Ok(n)
}

/// Parses a whole batch first, as SQL Server compiles a batch before running it: a syntax
/// error means no statement runs.
pub fn parse_batch(sql: &str) -> Result<Vec<Stmt>, SqlError> {
    let mut p = Parser {
        toks: tokenize(sql)?,
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        while p.eat_sym(';') {}
        if p.peek().is_none() {
            break;
        }
        let s = p.statement(out.is_empty())?;
        if !p.at_stmt_end() {
            return Err(p.err_here());
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_forms() {
        let b = parse_batch(
            "EXEC msdb.dbo.sp_ssis_listfolders @parentfolderid='00000000-0000-0000-0000-000000000000'",
        )
        .unwrap();
        assert_eq!(
            b,
            vec![Stmt::Exec(ExecStmt {
                proc: ObjName {
                    db: "msdb".into(),
                    schema: "dbo".into(),
                    name: "sp_ssis_listfolders".into()
                },
                args: vec![(
                    Some("parentfolderid".into()),
                    Expr::Lit(Value::Str("00000000-0000-0000-0000-000000000000".into()))
                )]
            })]
        );
        let b = parse_batch(
            "sp_ssis_addfolder N'x''y', @name = 0x0aBC, -5, NULL; exec [dbo].[p] @a=@b",
        )
        .unwrap();
        match &b[0] {
            Stmt::Exec(e) => {
                assert_eq!(e.proc.name, "sp_ssis_addfolder");
                assert_eq!(e.args[0], (None, Expr::Lit(Value::Str("x'y".into()))));
                assert_eq!(
                    e.args[1],
                    (Some("name".into()), Expr::Lit(Value::Bin(vec![0x0a, 0xbc])))
                );
                assert_eq!(e.args[2].1, Expr::Lit(Value::Int(-5)));
                assert_eq!(e.args[3].1, Expr::Lit(Value::Null));
            }
            other => panic!("{other:?}"),
        }
        match &b[1] {
            Stmt::Exec(e) => assert_eq!(e.args[0], (Some("a".into()), Expr::Var("b".into()))),
            other => panic!("{other:?}"),
        }
        let b = parse_batch("EXEC msdb..sp_ssis_listfolders\nGO").unwrap_err();
        assert_eq!(b.number, 50000);
    }

    #[test]
    fn select_set_use() {
        let b = parse_batch(
            "SET TEXTSIZE 2147483647 SET ANSI_NULLS ON; select top 1 name, datalength(packagedata) AS n, [id] \
             from msdb.dbo.sysssispackages where name = N'p' and folderid = @f order by name desc; select @@version; USE msdb",
        )
        .unwrap();
        assert_eq!(
            b[0],
            Stmt::Set {
                option: "textsize".into(),
                value: "2147483647".into()
            }
        );
        assert_eq!(
            b[1],
            Stmt::Set {
                option: "ansi_nulls".into(),
                value: "ON".into()
            }
        );
        match &b[2] {
            Stmt::Select(s) => {
                assert_eq!(s.top, Some(1));
                assert_eq!(s.items.len(), 3);
                assert_eq!(s.from.as_ref().unwrap().name, "sysssispackages");
                assert_eq!(
                    s.conds[1],
                    Cond::Eq("folderid".into(), Expr::Var("f".into()))
                );
                assert_eq!(s.order, vec![("name".into(), true)]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(b[4], Stmt::Use("msdb".into()));
    }

    #[test]
    fn refusals_say_what() {
        let e = parse_batch("DELETE FROM sysssispackages").unwrap_err();
        assert!(e.message.contains("DELETE"), "{}", e.message);
        let e = parse_batch("select * from a join b").unwrap_err();
        assert!(e.message.contains("joins"));
        let e = parse_batch("select name from t where a > 1").unwrap_err();
        assert!(e.message.contains("operator"));
        let e = parse_batch("select 'x").unwrap_err();
        assert_eq!(e.number, 105);
    }
}
