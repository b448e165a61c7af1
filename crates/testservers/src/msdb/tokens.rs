//! Response tokens (MS-TDS 2.2.7): the server side of the token stream.

use super::model::{ColType, Column};
use super::tds::{push_utf16, COLLATION};
use super::value::{guid_to_wire, SqlError, Value};

pub mod done {
    pub const FINAL: u16 = 0x0000;
    pub const MORE: u16 = 0x0001;
    pub const ERROR: u16 = 0x0002;
    pub const COUNT: u16 = 0x0010;
    pub const ATTN: u16 = 0x0020;
    pub const TOKEN_DONE: u8 = 0xFD;
    pub const TOKEN_DONEPROC: u8 = 0xFE;
    pub const TOKEN_DONEINPROC: u8 = 0xFF;
    /// CurCmd values SQL Server reports.
    pub const CMD_SELECT: u16 = 0xC1;
    pub const CMD_INSERT: u16 = 0xC3;
    pub const CMD_EXECUTE: u16 = 0xE0;
}

pub const SERVER_NAME: &str = "msdb-testserver";

/// Builds a response's token stream.
#[derive(Default)]
pub struct Tokens {
    pub buf: Vec<u8>,
}

impl Tokens {
    fn b_varchar(&mut self, s: &str) {
        let n = s.encode_utf16().count().min(255);
        self.buf.push(n as u8);
        let t: String = s.chars().take(n).collect();
        push_utf16(&mut self.buf, &t);
    }
    fn us_varchar(&mut self, s: &str) {
        let n = s.encode_utf16().count();
        self.buf.extend_from_slice(&(n as u16).to_le_bytes());
        push_utf16(&mut self.buf, s);
    }
    /// Writes a token with a u16 length prefix filled in after `f` ran.
    fn with_len(&mut self, token: u8, f: impl FnOnce(&mut Tokens)) {
        self.buf.push(token);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        f(self);
        let len = (self.buf.len() - at - 2) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_le_bytes());
    }

    pub fn loginack(&mut self, tds_version: u32) {
        self.with_len(0xAD, |t| {
            t.buf.push(1); // SQL_TSQL
            t.buf.extend_from_slice(&tds_version.to_be_bytes());
            t.b_varchar("Microsoft SQL Server");
            t.buf.extend_from_slice(&[16, 0, 0x03, 0xE8]);
        });
    }

    pub fn envchange(&mut self, ty: u8, new: &str, old: &str) {
        self.with_len(0xE3, |t| {
            t.buf.push(ty);
            t.b_varchar(new);
            t.b_varchar(old);
        });
    }

    pub fn envchange_bytes(&mut self, ty: u8, new: &[u8], old: &[u8]) {
        self.with_len(0xE3, |t| {
            t.buf.push(ty);
            t.buf.push(new.len() as u8);
            t.buf.extend_from_slice(new);
            t.buf.push(old.len() as u8);
            t.buf.extend_from_slice(old);
        });
    }

    fn message(&mut self, token: u8, e: &SqlError) {
        self.with_len(token, |t| {
            t.buf.extend_from_slice(&e.number.to_le_bytes());
            t.buf.push(e.state);
            t.buf.push(e.class);
            t.us_varchar(&e.message);
            t.b_varchar(SERVER_NAME);
            t.b_varchar(&e.procedure);
            t.buf.extend_from_slice(&e.line.to_le_bytes());
        });
    }

    pub fn error(&mut self, e: &SqlError) {
        self.message(0xAA, e);
    }

    pub fn info(&mut self, number: i32, message: &str) {
        let mut e = SqlError::new(number, 0, 1, message);
        e.line = 0;
        self.message(0xAB, &e);
    }

    /// SSPI (0xED): the server's next GSSAPI token of an integrated login.
    pub fn sspi(&mut self, token: &[u8]) {
        self.buf.push(0xED);
        self.buf
            .extend_from_slice(&(token.len().min(u16::MAX as usize) as u16).to_le_bytes());
        self.buf.extend_from_slice(token);
    }

    pub fn feature_ext_ack(&mut self) {
        self.buf.extend_from_slice(&[0xAE, 0xFF]);
    }

    pub fn done(&mut self, token: u8, status: u16, curcmd: u16, count: u64) {
        self.buf.push(token);
        self.buf.extend_from_slice(&status.to_le_bytes());
        self.buf.extend_from_slice(&curcmd.to_le_bytes());
        self.buf.extend_from_slice(&count.to_le_bytes());
    }

    /// RETURNVALUE (0xAC) for an OUTPUT parameter: its ordinal in the RPC call, its
    /// name (with `@`, empty when it was positional), then TYPE_INFO and value as on the
    /// wire (MS-TDS 2.2.7.19).
    pub fn return_value(&mut self, ordinal: u16, name: &str, wire_type: &[u8], wire_value: &[u8]) {
        self.buf.push(0xAC);
        self.buf.extend_from_slice(&ordinal.to_le_bytes());
        self.b_varchar(name);
        self.buf.push(0x01); // fOutputParam
        self.buf.extend_from_slice(&0u32.to_le_bytes()); // UserType
        self.buf.extend_from_slice(&0x0001u16.to_le_bytes()); // fNullable
        self.buf.extend_from_slice(wire_type);
        self.buf.extend_from_slice(wire_value);
    }

    pub fn return_status(&mut self, v: i32) {
        self.buf.push(0x79);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn colmetadata(&mut self, cols: &[Column], table: &str) {
        self.buf.push(0x81);
        self.buf
            .extend_from_slice(&(cols.len() as u16).to_le_bytes());
        for col in cols {
            self.buf.extend_from_slice(&0u32.to_le_bytes()); // UserType
            let flags: u16 = if col.nullable { 0x0001 } else { 0 };
            self.buf.extend_from_slice(&flags.to_le_bytes());
            match col.ty {
                ColType::NVarChar(n) => {
                    self.buf.push(0xE7);
                    self.buf.extend_from_slice(&(n * 2).to_le_bytes());
                    self.buf.extend_from_slice(&COLLATION);
                }
                ColType::Guid => self.buf.extend_from_slice(&[0x24, 16]),
                ColType::Int => self.buf.extend_from_slice(&[0x26, 4]),
                ColType::Bit => self.buf.extend_from_slice(&[0x68, 1]),
                ColType::DateTime => self.buf.extend_from_slice(&[0x6F, 8]),
                ColType::VarBinary(n) => {
                    self.buf.push(0xA5);
                    self.buf.extend_from_slice(&n.to_le_bytes());
                }
                ColType::Image => {
                    // image: LONGLEN max 2^31-1, then the table name in parts (7.2+).
                    self.buf.push(0x22);
                    self.buf.extend_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
                    self.buf.push(2);
                    self.us_varchar("dbo");
                    self.us_varchar(table);
                }
            }
            self.b_varchar(&col.name);
        }
    }

    /// One ROW. `textsize` truncates image values as `SET TEXTSIZE` does.
    pub fn row(&mut self, cols: &[Column], vals: &[Value], textsize: Option<usize>) {
        self.buf.push(0xD1);
        for (col, v) in cols.iter().zip(vals) {
            let b = &mut self.buf;
            match (col.ty, v) {
                (ColType::NVarChar(_), Value::Null) | (ColType::VarBinary(_), Value::Null) => {
                    b.extend_from_slice(&[0xFF, 0xFF])
                }
                (ColType::Image, Value::Null) => b.push(0),
                (ColType::Guid | ColType::Int | ColType::Bit | ColType::DateTime, Value::Null) => {
                    b.push(0)
                }
                (ColType::NVarChar(n), v) => {
                    let s = match v {
                        Value::Str(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    let mut units: Vec<u16> = s.encode_utf16().collect();
                    units.truncate(n as usize);
                    b.extend_from_slice(&((units.len() * 2) as u16).to_le_bytes());
                    for u in units {
                        b.extend_from_slice(&u.to_le_bytes());
                    }
                }
                (ColType::Guid, Value::Guid(g)) => {
                    b.push(16);
                    b.extend_from_slice(&guid_to_wire(g));
                }
                (ColType::Int, Value::Int(i)) => {
                    b.push(4);
                    b.extend_from_slice(&(*i as i32).to_le_bytes());
                }
                (ColType::Bit, Value::Bit(x)) => b.extend_from_slice(&[1, *x as u8]),
                (ColType::DateTime, Value::DateTime(d)) => {
                    b.push(8);
                    b.extend_from_slice(&d.days.to_le_bytes());
                    b.extend_from_slice(&d.ticks.to_le_bytes());
                }
                (ColType::VarBinary(n), Value::Bin(x)) => {
                    let x = &x[..x.len().min(n as usize)];
                    b.extend_from_slice(&(x.len() as u16).to_le_bytes());
                    b.extend_from_slice(x);
                }
                (ColType::Image, Value::Bin(x)) => {
                    // TEXTPTR (16 bytes) and TIMESTAMP (8 bytes) precede the data, as for
                    // every text/ntext/image value SQL Server sends.
                    let x = &x[..x.len().min(textsize.unwrap_or(usize::MAX))];
                    b.push(16);
                    b.extend_from_slice(&[0x74; 16]);
                    b.extend_from_slice(&[0; 8]);
                    b.extend_from_slice(&(x.len() as u32).to_le_bytes());
                    b.extend_from_slice(x);
                }
                (ty, v) => unreachable!("model produced {v:?} for a {ty:?} column"),
            }
        }
    }
}
