//! SELECT on the two msdb tables and the expression helpers statements share.

use std::collections::HashMap;

use super::model::Arg;
use super::model::{self, ColType, Column, Table};
use super::server::Session;
use super::sql::{Cond, Expr, ObjName, SelectItem, SelectStmt};
use super::tds::{self, Tokens};
use super::value::{self, names_equal, SqlError, Value};

impl Session {
    pub(super) fn select(
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

/// Evaluates EXEC arguments. A named `@p = DEFAULT` means "not supplied"; a positional
/// DEFAULT is passed as NULL (this fixture's procedures default only to NULL).
pub(super) fn exec_args(
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
