//! SQL values, the `datetime` type, server errors and the implicit conversions that
//! procedure parameters go through (as SQL Server converts an argument to the declared
//! parameter type).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A value as it travels between the protocol and the msdb model.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Bit(bool),
    Str(String),
    Bin(Vec<u8>),
    Guid(Uuid),
    DateTime(SqlDateTime),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The T-SQL type name used in conversion error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "int",
            Value::Bit(_) => "bit",
            Value::Str(_) => "nvarchar",
            Value::Bin(_) => "varbinary",
            Value::Guid(_) => "uniqueidentifier",
            Value::DateTime(_) => "datetime",
        }
    }
}

/// SQL Server `datetime`: days since 1900-01-01 and 1/300 s ticks since midnight, exactly
/// as it is stored and sent on the wire (so values round-trip without drift).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SqlDateTime {
    pub days: i32,
    pub ticks: u32,
}

const TICKS_PER_DAY: u64 = 300 * 86_400;

/// Days from 1970-01-01 to the civil date (proleptic Gregorian), after H. Hinnant.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const EPOCH_1900: i64 = -25_567; // days_from_civil(1900, 1, 1)
const EPOCH_0001: i64 = -719_162; // days_from_civil(1, 1, 1)

impl SqlDateTime {
    /// From a civil date and a time of day in nanoseconds, rounded to 1/300 s as SQL
    /// Server rounds when it converts to `datetime`.
    pub fn from_parts(y: i64, m: u32, d: u32, nanos_of_day: u64) -> SqlDateTime {
        let mut days = days_from_civil(y, m, d) - EPOCH_1900;
        // nanos * 300 / 1e9, rounded half up.
        let mut ticks = (nanos_of_day * 3 + 5_000_000) / 10_000_000;
        if ticks >= TICKS_PER_DAY {
            ticks -= TICKS_PER_DAY;
            days += 1;
        }
        SqlDateTime {
            days: days as i32,
            ticks: ticks as u32,
        }
    }

    /// From the DATETIME2 wire form: days since 0001-01-01 and time in 10^-scale s units.
    pub fn from_datetime2(days_since_0001: u32, time_units: u64, scale: u8) -> SqlDateTime {
        let nanos = time_units * 10u64.pow(9 - u32::from(scale.min(7)));
        let (y, m, d) = civil_from_days(days_since_0001 as i64 + EPOCH_0001);
        SqlDateTime::from_parts(y, m, d, nanos)
    }

    /// Parses the literal forms scripts use: `YYYY-MM-DD`, `YYYYMMDD`, each optionally
    /// followed by ` HH:MM[:SS[.fff]]` or `THH:MM:SS[.fff]`.
    pub fn parse(s: &str) -> Option<SqlDateTime> {
        let s = s.trim();
        let (date, time) = match s.find(['T', ' ']) {
            Some(i) => (&s[..i], s[i + 1..].trim()),
            None => (s, ""),
        };
        let (y, m, d) = if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
            (
                date[0..4].parse().ok()?,
                date[4..6].parse().ok()?,
                date[6..8].parse().ok()?,
            )
        } else {
            let mut it = date.split('-');
            let y = it.next()?.parse().ok()?;
            let m = it.next()?.parse().ok()?;
            let d = it.next()?.parse().ok()?;
            if it.next().is_some() {
                return None;
            }
            (y, m, d)
        };
        if !(1753..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m)
        {
            return None;
        }
        let mut nanos = 0u64;
        if !time.is_empty() {
            let (hms, frac) = match time.split_once('.') {
                Some((a, b)) => (a, b),
                None => (time, ""),
            };
            let mut parts = hms.split(':');
            let h: u64 = parts.next()?.parse().ok()?;
            let mi: u64 = parts.next()?.parse().ok()?;
            let se: u64 = match parts.next() {
                Some(x) => x.parse().ok()?,
                None => 0,
            };
            if parts.next().is_some() || h > 23 || mi > 59 || se > 59 {
                return None;
            }
            let mut frac_nanos = 0u64;
            if !frac.is_empty() {
                if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                frac_nanos = frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32);
            }
            nanos = ((h * 60 + mi) * 60 + se) * 1_000_000_000 + frac_nanos;
        }
        Some(SqlDateTime::from_parts(y, m, d, nanos))
    }

    /// `YYYY-MM-DD HH:MM:SS.mmm`, the form SQL Server uses for CONVERT style 121.
    pub fn format(&self) -> String {
        let (y, m, d) = civil_from_days(self.days as i64 + EPOCH_1900);
        let ms_total = (self.ticks as u64 * 10 + 1) / 3; // 1/300 s -> ms, SQL Server rounding
        let (h, rem) = (ms_total / 3_600_000, ms_total % 3_600_000);
        let (mi, rem) = (rem / 60_000, rem % 60_000);
        let (s, ms) = (rem / 1000, rem % 1000);
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{ms:03}")
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A server error as the ERROR token carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlError {
    pub number: i32,
    pub state: u8,
    pub class: u8,
    pub message: String,
    pub procedure: String,
    pub line: i32,
}

impl SqlError {
    pub fn new(number: i32, class: u8, state: u8, message: impl Into<String>) -> SqlError {
        SqlError {
            number,
            state,
            class,
            message: message.into(),
            procedure: String::new(),
            line: 1,
        }
    }

    pub fn in_proc(mut self, procedure: &str, line: i32) -> SqlError {
        self.procedure = procedure.to_string();
        self.line = line;
        self
    }

    /// What this fixture answers for SQL it does not implement (honestly, not as a
    /// syntax error): number 50000, as RAISERROR with a message text would.
    pub fn unsupported(what: impl AsRef<str>) -> SqlError {
        SqlError::new(
            50000,
            16,
            1,
            format!(
                "msdb-testserver does not support {} (it implements only the msdb sp_ssis_* procedures and simple SELECTs on the two msdb tables)",
                what.as_ref()
            ),
        )
    }

    pub fn syntax(near: &str) -> SqlError {
        SqlError::new(102, 15, 1, format!("Incorrect syntax near '{near}'."))
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Msg {}, Level {}, State {}: {}",
            self.number, self.class, self.state, self.message
        )
    }
}

fn clash(from: &Value, to: &str) -> SqlError {
    SqlError::new(
        206,
        16,
        2,
        format!(
            "Operand type clash: {} is incompatible with {}",
            from.type_name(),
            to
        ),
    )
}

/// SQL Server's uniqueidentifier <-> binary(16) byte order: the first three groups are
/// little-endian on the wire and in binary conversions.
pub fn guid_from_wire(b: &[u8; 16]) -> Uuid {
    let mut o = *b;
    o[0..4].reverse();
    o[4..6].reverse();
    o[6..8].reverse();
    Uuid::from_bytes(o)
}

pub fn guid_to_wire(g: &Uuid) -> [u8; 16] {
    let mut o = *g.as_bytes();
    o[0..4].reverse();
    o[4..6].reverse();
    o[6..8].reverse();
    o
}

/// Implicit conversions to a parameter's declared type.
pub fn to_string(v: Value, max_chars: usize) -> Result<Value, SqlError> {
    let s = match v {
        Value::Null => return Ok(Value::Null),
        Value::Str(s) => s,
        Value::Int(i) => i.to_string(),
        Value::Bit(b) => (b as u8).to_string(),
        Value::Guid(g) => g.hyphenated().to_string().to_uppercase(),
        Value::DateTime(d) => d.format(),
        Value::Bin(_) => return Err(clash(&v, "nvarchar")),
    };
    // Parameters are silently truncated to their declared length, as in SQL Server.
    Ok(Value::Str(s.chars().take(max_chars).collect()))
}

pub fn to_guid(v: Value) -> Result<Value, SqlError> {
    match v {
        Value::Null | Value::Guid(_) => Ok(v),
        Value::Str(ref s) => {
            let t = s.trim();
            let t = t
                .strip_prefix('{')
                .and_then(|x| x.strip_suffix('}'))
                .unwrap_or(t);
            // SQL Server accepts only the 36-character hyphenated form (braces optional).
            if t.len() == 36 {
                if let Ok(g) = Uuid::parse_str(t) {
                    return Ok(Value::Guid(g));
                }
            }
            Err(SqlError::new(
                8169,
                16,
                2,
                "Conversion failed when converting from a character string to uniqueidentifier.",
            ))
        }
        Value::Bin(ref b) if b.len() == 16 => {
            let arr: [u8; 16] = b[..].try_into().expect("16 bytes");
            Ok(Value::Guid(guid_from_wire(&arr)))
        }
        _ => Err(clash(&v, "uniqueidentifier")),
    }
}

pub fn to_int(v: Value) -> Result<Value, SqlError> {
    let overflow = || {
        SqlError::new(
            8115,
            16,
            2,
            "Arithmetic overflow error converting expression to data type int.",
        )
    };
    match v {
        Value::Null => Ok(Value::Null),
        Value::Int(i) => i32::try_from(i)
            .map(|i| Value::Int(i.into()))
            .map_err(|_| overflow()),
        Value::Bit(b) => Ok(Value::Int(b as i64)),
        Value::Str(ref s) => match s.trim().parse::<i64>() {
            Ok(i) => i32::try_from(i)
                .map(|i| Value::Int(i.into()))
                .map_err(|_| overflow()),
            Err(_) => Err(SqlError::new(
                245,
                16,
                1,
                format!(
                    "Conversion failed when converting the nvarchar value '{s}' to data type int."
                ),
            )),
        },
        _ => Err(clash(&v, "int")),
    }
}

pub fn to_bit(v: Value) -> Result<Value, SqlError> {
    match v {
        Value::Null | Value::Bit(_) => Ok(v),
        Value::Int(i) => Ok(Value::Bit(i != 0)),
        Value::Str(ref s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(Value::Bit(true)),
            "0" | "false" => Ok(Value::Bit(false)),
            _ => Err(SqlError::new(
                245,
                16,
                1,
                format!(
                    "Conversion failed when converting the nvarchar value '{s}' to data type bit."
                ),
            )),
        },
        _ => Err(clash(&v, "bit")),
    }
}

pub fn to_image(v: Value) -> Result<Value, SqlError> {
    match v {
        Value::Null | Value::Bin(_) => Ok(v),
        // nvarchar -> image is not an implicit conversion in SQL Server either.
        _ => Err(clash(&v, "image")),
    }
}

pub fn to_datetime(v: Value) -> Result<Value, SqlError> {
    match v {
        Value::Null | Value::DateTime(_) => Ok(v),
        Value::Str(ref s) => SqlDateTime::parse(s).map(Value::DateTime).ok_or_else(|| {
            SqlError::new(
                241,
                16,
                1,
                "Conversion failed when converting date and/or time from character string.",
            )
        }),
        _ => Err(clash(&v, "datetime")),
    }
}

/// Names compare as under SQL_Latin1_General_CP1_CI_AS: case-insensitively, and trailing
/// spaces do not count (ANSI padding).
pub fn names_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches(' '), b.trim_end_matches(' '));
    a == b || a.to_lowercase() == b.to_lowercase()
}

pub fn hex_encode(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    // SQL Server pads an odd-length binary literal with a leading zero nibble.
    let mut out = Vec::with_capacity(s.len() / 2 + 1);
    let nib = |c: u8| -> Option<u8> { (c as char).to_digit(16).map(|d| d as u8) };
    let mut i = 0;
    if s.len() % 2 == 1 {
        out.push(nib(s[0])?);
        i = 1;
    }
    while i < s.len() {
        out.push(nib(s[i])? << 4 | nib(s[i + 1])?);
        i += 2;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_round_trips_and_rounds_like_sql_server() {
        let d = SqlDateTime::parse("2024-02-29 13:45:30.123").unwrap();
        assert_eq!(d.format(), "2024-02-29 13:45:30.123");
        // .001 rounds to .000 and .002 to .003 in datetime (1/300 s resolution).
        assert_eq!(
            SqlDateTime::parse("2000-01-01T00:00:00.001")
                .unwrap()
                .format(),
            "2000-01-01 00:00:00.000"
        );
        assert_eq!(
            SqlDateTime::parse("2000-01-01T00:00:00.002")
                .unwrap()
                .format(),
            "2000-01-01 00:00:00.003"
        );
        assert_eq!(
            SqlDateTime::parse("19000101").unwrap(),
            SqlDateTime { days: 0, ticks: 0 }
        );
        assert!(SqlDateTime::parse("2023-02-29").is_none());
        let d2 = SqlDateTime::from_datetime2(
            (days_from_civil(2024, 2, 29) - EPOCH_0001) as u32,
            495_301_230_000,
            7,
        );
        assert_eq!(d2.format(), "2024-02-29 13:45:30.123");
    }

    #[test]
    fn guid_wire_order_is_mixed_endian() {
        let g = Uuid::parse_str("00112233-4455-6677-8899-aabbccddeeff").unwrap();
        let w = guid_to_wire(&g);
        assert_eq!(&w[..8], &[0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66]);
        assert_eq!(guid_from_wire(&w), g);
    }

    #[test]
    fn conversions() {
        assert_eq!(
            to_guid(Value::Str("{08AA12D5-8F98-4DAB-A4FC-980B150A5DC8}".into())).unwrap(),
            Value::Guid(Uuid::parse_str("08aa12d5-8f98-4dab-a4fc-980b150a5dc8").unwrap())
        );
        assert_eq!(to_guid(Value::Str("nope".into())).unwrap_err().number, 8169);
        assert_eq!(to_int(Value::Str(" 42 ".into())).unwrap(), Value::Int(42));
        assert_eq!(to_int(Value::Int(1 << 40)).unwrap_err().number, 8115);
        assert_eq!(to_image(Value::Str("x".into())).unwrap_err().number, 206);
        assert!(names_equal("Folder ", "fOLDER"));
        assert!(!names_equal(" Folder", "Folder"));
        assert_eq!(hex_decode("abc").unwrap(), vec![0x0a, 0xbc]);
        assert_eq!(hex_encode(&[0, 255]), "00ff");
    }
}
