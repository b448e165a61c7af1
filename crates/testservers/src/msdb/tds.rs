//! TDS 7.4 wire format (MS-TDS), the part a server needs: packets, PRELOGIN, LOGIN7, SQL
//! batch and RPC requests with typed parameters, transaction-manager requests, and the
//! response tokens (LOGINACK, ENVCHANGE, COLMETADATA, ROW, DONE*, RETURNSTATUS, ERROR).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use super::value::{guid_from_wire, guid_to_wire, SqlDateTime, Value};

pub use super::tokens::{done, Tokens, SERVER_NAME};

/// Packet types (MS-TDS 2.2.3.1.1).
pub mod pkt {
    pub const SQL_BATCH: u8 = 0x01;
    pub const RPC: u8 = 0x03;
    pub const REPLY: u8 = 0x04;
    pub const ATTENTION: u8 = 0x06;
    pub const TRANSACTION_MANAGER: u8 = 0x0E;
    pub const LOGIN7: u8 = 0x10;
    /// A client's next SSPI (GSSAPI) token during an integrated login.
    pub const SSPI: u8 = 0x11;
    pub const PRELOGIN: u8 = 0x12;
}

/// PRELOGIN ENCRYPTION option values.
pub mod enc {
    pub const OFF: u8 = 0;
    pub const ON: u8 = 1;
    pub const NOT_SUP: u8 = 2;
    pub const REQ: u8 = 3;
}

/// TDS versions as LOGIN7 carries them (read little-endian).
pub const TDS_7_2: u32 = 0x7209_0002;
pub const TDS_7_4: u32 = 0x7400_0004;

/// Collation SQL_Latin1_General_CP1_CI_AS (LCID 0x0409, CI/AS flags, sort id 52): msdb's.
pub const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

pub struct Message {
    pub ty: u8,
    pub data: Vec<u8>,
}

fn bad(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

/// Reads one message: packets up to the one with END_OF_MESSAGE. `Ok(None)` when the
/// peer closed the connection between messages.
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max_len: usize,
) -> std::io::Result<Option<Message>> {
    let mut data = Vec::new();
    let mut ty = None;
    loop {
        let mut h = [0u8; 8];
        match r.read_exact(&mut h).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && ty.is_none() => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        }
        let len = u16::from_be_bytes([h[2], h[3]]) as usize;
        if len < 8 {
            return Err(bad(format!(
                "TDS packet length {len} is shorter than its header"
            )));
        }
        match ty {
            None => ty = Some(h[0]),
            Some(t) if t != h[0] => {
                return Err(bad(format!(
                    "TDS packet type changed inside a message ({t:#04x} then {:#04x})",
                    h[0]
                )))
            }
            _ => {}
        }
        let start = data.len();
        if start + len - 8 > max_len {
            return Err(bad(format!("TDS message larger than {max_len} bytes")));
        }
        data.resize(start + len - 8, 0);
        r.read_exact(&mut data[start..]).await?;
        if h[1] & 0x01 != 0 {
            return Ok(Some(Message { ty: h[0], data }));
        }
    }
}

/// Writes `payload` as one message split into packets of at most `packet_size` bytes.
pub async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    ty: u8,
    payload: &[u8],
    packet_size: usize,
) -> std::io::Result<()> {
    let body = packet_size.max(512) - 8;
    let mut chunks: Vec<&[u8]> = payload.chunks(body).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let n = chunks.len();
    for (i, c) in chunks.into_iter().enumerate() {
        let len = (c.len() + 8) as u16;
        let status = if i + 1 == n { 0x01 } else { 0x00 };
        let h = [
            ty,
            status,
            (len >> 8) as u8,
            len as u8,
            0,
            0,
            ((i + 1) % 256) as u8,
            0,
        ];
        w.write_all(&h).await?;
        w.write_all(c).await?;
    }
    w.flush().await
}

/// Reads little-endian fields from a request payload, with bounds checks that turn a
/// malformed request into an error instead of a panic.
pub struct Cursor<'a> {
    pub d: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(d: &'a [u8]) -> Cursor<'a> {
        Cursor { d, pos: 0 }
    }
    pub fn remaining(&self) -> usize {
        self.d.len().saturating_sub(self.pos)
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.remaining() < n {
            return Err(format!(
                "request truncated: wanted {n} bytes at offset {}, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let s = &self.d[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }
    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    /// UTF-16LE text of `chars` characters.
    pub fn utf16(&mut self, chars: usize) -> Result<String, String> {
        utf16(self.take(chars * 2)?)
    }
    pub fn b_varchar(&mut self) -> Result<String, String> {
        let n = self.u8()? as usize;
        self.utf16(n)
    }
    /// Skips ALL_HEADERS (mandatory from TDS 7.2 on in batch, RPC and TM requests).
    pub fn skip_all_headers(&mut self) -> Result<(), String> {
        let total = self.u32()? as usize;
        if total < 4 {
            return Err("ALL_HEADERS length below 4".into());
        }
        self.take(total - 4)?;
        Ok(())
    }
}

pub fn utf16(b: &[u8]) -> Result<String, String> {
    if b.len() & 1 != 0 {
        return Err("odd-length UTF-16 text".into());
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| "invalid UTF-16 text".to_string())
}

pub(super) fn push_utf16(out: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

// ---------------------------------------------------------------------------- PRELOGIN

#[derive(Debug, Default, PartialEq)]
pub struct Prelogin {
    pub encryption: Option<u8>,
    pub mars: Option<u8>,
    pub fedauth_required: bool,
}

pub fn parse_prelogin(d: &[u8]) -> Result<Prelogin, String> {
    let mut p = Prelogin::default();
    let mut i = 0;
    loop {
        let token = *d.get(i).ok_or("PRELOGIN option list not terminated")?;
        if token == 0xFF {
            break;
        }
        let h = d.get(i..i + 5).ok_or("PRELOGIN option header truncated")?;
        let off = u16::from_be_bytes([h[1], h[2]]) as usize;
        let len = u16::from_be_bytes([h[3], h[4]]) as usize;
        let v = d
            .get(off..off + len)
            .ok_or("PRELOGIN option data out of range")?;
        match token {
            0x01 if len >= 1 => p.encryption = Some(v[0]),
            0x04 if len >= 1 => p.mars = Some(v[0]),
            0x06 if len >= 1 => p.fedauth_required = v[0] != 0,
            _ => {}
        }
        i += 5;
    }
    Ok(p)
}

/// The server's PRELOGIN answer: version 16.0.1000 (SQL Server 2022), the chosen
/// encryption, no instance, no thread id, MARS off.
pub fn build_prelogin(encryption: u8) -> Vec<u8> {
    let options: [(u8, Vec<u8>); 5] = [
        (0x00, vec![16, 0, 0x03, 0xE8, 0, 0]),
        (0x01, vec![encryption]),
        (0x02, vec![0]),
        (0x03, vec![]),
        (0x04, vec![0]),
    ];
    let mut head = Vec::new();
    let mut body = Vec::new();
    let base = options.len() * 5 + 1;
    for (tok, v) in &options {
        head.push(*tok);
        head.extend_from_slice(&((base + body.len()) as u16).to_be_bytes());
        head.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
    }
    head.push(0xFF);
    head.extend_from_slice(&body);
    head
}

// ---------------------------------------------------------------------------- LOGIN7

#[derive(Debug, Default)]
pub struct Login7 {
    pub tds_version: u32,
    pub packet_size: u32,
    pub user: String,
    pub password: String,
    pub app: String,
    pub host: String,
    pub database: String,
    pub integrated: bool,
    /// The first SSPI (here: GSSAPI/Kerberos) token of an integrated login.
    pub sspi: Vec<u8>,
    pub fedauth: bool,
    pub feature_ext: bool,
}

/// LOGIN7 passwords are obfuscated, not encrypted: each byte had its nibbles swapped and
/// was XORed with 0xA5. Undo it.
pub fn decode_password(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&x| {
            let y = x ^ 0xA5;
            y.rotate_left(4)
        })
        .collect()
}

pub fn parse_login7(d: &[u8]) -> Result<Login7, String> {
    if d.len() < 94 {
        return Err(format!("LOGIN7 too short ({} bytes)", d.len()));
    }
    let u16at = |o: usize| u16::from_le_bytes([d[o], d[o + 1]]) as usize;
    let u32at = |o: usize| u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]);
    let field = |o: usize| -> Result<&[u8], String> {
        let (off, cch) = (u16at(o), u16at(o + 2));
        d.get(off..off + cch * 2)
            .ok_or_else(|| format!("LOGIN7 field at {o} out of range"))
    };
    let text = |o: usize| field(o).and_then(utf16);
    let flags2 = d[25];
    let flags3 = d[27];
    let mut l = Login7 {
        tds_version: u32at(4),
        packet_size: u32at(8),
        host: text(36)?,
        user: text(40)?,
        password: utf16(&decode_password(field(44)?))?,
        app: text(48)?,
        database: text(68)?,
        integrated: flags2 & 0x80 != 0 || u16at(80) > 0,
        feature_ext: flags3 & 0x10 != 0,
        ..Default::default()
    };
    // ibSSPI/cbSSPI, or cbSSPILong when the token does not fit 16 bits.
    let (ib_sspi, mut cb_sspi) = (u16at(78), u16at(80));
    if cb_sspi == 0xFFFF {
        cb_sspi = u32at(90) as usize;
    }
    if cb_sspi > 0 {
        l.sspi = d
            .get(ib_sspi..ib_sspi + cb_sspi)
            .ok_or("LOGIN7 SSPI data out of range")?
            .to_vec();
    }
    if l.feature_ext {
        // ibExtension points at a DWORD offset to the FeatureExt list.
        let ib = u16at(56);
        if let Some(o) = d.get(ib..ib + 4) {
            let mut i = u32::from_le_bytes([o[0], o[1], o[2], o[3]]) as usize;
            while let Some(&id) = d.get(i) {
                if id == 0xFF {
                    break;
                }
                let Some(len) = d.get(i + 1..i + 5) else {
                    break;
                };
                let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
                if id == 0x02 {
                    l.fedauth = true;
                }
                i += 5 + len;
            }
        }
    }
    Ok(l)
}

// ---------------------------------------------------------------------------- RPC

#[derive(Debug, PartialEq)]
pub enum ProcRef {
    Name(String),
    Id(u16),
}

#[derive(Debug, PartialEq)]
pub struct RpcParam {
    /// Without the leading `@`; empty for positional parameters.
    pub name: String,
    pub value: Value,
    pub output: bool,
    /// TYPE_INFO and value exactly as the client sent them: an OUTPUT parameter that the
    /// statement does not assign comes back in its RETURNVALUE unchanged, in its own type.
    pub wire_type: Vec<u8>,
    pub wire_value: Vec<u8>,
}

#[derive(Debug, PartialEq)]
pub struct RpcCall {
    pub proc: ProcRef,
    pub params: Vec<RpcParam>,
}

/// Parses an RPC request message: one or more calls separated by batch flags.
pub fn parse_rpc(d: &[u8]) -> Result<Vec<RpcCall>, String> {
    let mut c = Cursor::new(d);
    c.skip_all_headers()?;
    let mut calls = Vec::new();
    loop {
        let n = c.u16()?;
        let proc = if n == 0xFFFF {
            ProcRef::Id(c.u16()?)
        } else {
            ProcRef::Name(c.utf16(n as usize)?)
        };
        let _options = c.u16()?;
        let mut params = Vec::new();
        while c.remaining() > 0 {
            let b = c.d[c.pos];
            // 0x80 (BatchFlag) or 0xFF (NoExecFlag, 7.2+) separate calls.
            if b == 0x80 || b == 0xFF {
                break;
            }
            let name = c.b_varchar()?;
            let status = c.u8()?;
            let type_at = c.pos;
            let ti = read_type_info(&mut c)?;
            let value_at = c.pos;
            let value = read_value(&mut c, &ti)?;
            params.push(RpcParam {
                name: name.trim_start_matches('@').to_string(),
                value,
                output: status & 0x01 != 0,
                wire_type: c.d[type_at..value_at].to_vec(),
                wire_value: c.d[value_at..c.pos].to_vec(),
            });
        }
        calls.push(RpcCall { proc, params });
        if c.remaining() == 0 {
            break;
        }
        c.u8()?; // the separator
        if c.remaining() == 0 {
            break;
        }
    }
    Ok(calls)
}

/// TYPE_INFO of a parameter (MS-TDS 2.2.5.6).
#[derive(Debug, Clone, PartialEq)]
pub enum TypeInfo {
    /// Fixed-length types: the type byte and its size.
    Fixed(u8, usize),
    /// BYTELEN types (INTN, BITN, GUID, DATETIMN, FLTN, MONEYN, DECIMALN ...): u8 length.
    ByteLen { ty: u8, scale: u8 },
    /// DATE, TIME, DATETIME2, DATETIMEOFFSET: value length u8, scale in TYPE_INFO.
    Temporal { ty: u8, scale: u8 },
    /// USHORTLEN types; `max == 0xFFFF` means a PLP (MAX) type.
    UShort { ty: u8, max: u16 },
    /// TEXT, NTEXT, IMAGE: LONGLEN.
    Long { ty: u8 },
}

pub fn read_type_info(c: &mut Cursor) -> Result<TypeInfo, String> {
    let ty = c.u8()?;
    Ok(match ty {
        0x1F => TypeInfo::Fixed(ty, 0),
        0x30 | 0x32 => TypeInfo::Fixed(ty, 1),
        0x34 => TypeInfo::Fixed(ty, 2),
        0x38 | 0x3A | 0x3B | 0x7A => TypeInfo::Fixed(ty, 4),
        0x3C | 0x3D | 0x3E | 0x7F => TypeInfo::Fixed(ty, 8),
        0x24 | 0x26 | 0x68 | 0x6D | 0x6E | 0x6F => {
            c.u8()?;
            TypeInfo::ByteLen { ty, scale: 0 }
        }
        0x6A | 0x6C | 0x37 | 0x3F => {
            c.u8()?;
            let _precision = c.u8()?;
            let scale = c.u8()?;
            TypeInfo::ByteLen { ty, scale }
        }
        0x28 => TypeInfo::Temporal { ty, scale: 0 },
        0x29..=0x2B => TypeInfo::Temporal { ty, scale: c.u8()? },
        0xA5 | 0xAD | 0xA7 | 0xAF | 0xE7 | 0xEF => {
            let max = c.u16()?;
            if matches!(ty, 0xA7 | 0xAF | 0xE7 | 0xEF) {
                c.take(5)?; // collation
            }
            TypeInfo::UShort { ty, max }
        }
        0x22 | 0x23 | 0x63 => {
            c.u32()?;
            if ty != 0x22 {
                c.take(5)?;
            }
            TypeInfo::Long { ty }
        }
        other => {
            return Err(format!(
                "parameter type {other:#04x} is not supported by msdb-testserver (supported: int, bit, uniqueidentifier, datetime/datetime2/date, nvarchar/nchar/varchar/char incl. max, varbinary/binary incl. max, image, text, ntext)"
            ))
        }
    })
}

fn decode_text(ty: u8, b: &[u8]) -> Result<Value, String> {
    Ok(match ty {
        0xE7 | 0xEF | 0x63 => Value::Str(utf16(b)?),
        // Single-byte text under the Latin1 collation: each byte is one character.
        0xA7 | 0xAF | 0x23 => Value::Str(b.iter().map(|&x| x as char).collect()),
        _ => Value::Bin(b.to_vec()),
    })
}

fn le_int(b: &[u8]) -> i64 {
    match b.len() {
        1 => b[0] as i64,
        2 => i16::from_le_bytes([b[0], b[1]]) as i64,
        4 => i32::from_le_bytes(b.try_into().expect("4")) as i64,
        _ => i64::from_le_bytes(b.try_into().expect("8")),
    }
}

fn datetime_bytes(b: &[u8]) -> Value {
    if b.len() == 4 {
        // smalldatetime: u16 days since 1900, u16 minutes.
        let days = u16::from_le_bytes([b[0], b[1]]) as i32;
        let mins = u16::from_le_bytes([b[2], b[3]]) as u32;
        return Value::DateTime(SqlDateTime {
            days,
            ticks: mins * 60 * 300,
        });
    }
    Value::DateTime(SqlDateTime {
        days: i32::from_le_bytes(b[0..4].try_into().expect("4")),
        ticks: u32::from_le_bytes(b[4..8].try_into().expect("4")),
    })
}

fn uint_le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64)
}

pub fn read_value(c: &mut Cursor, ti: &TypeInfo) -> Result<Value, String> {
    match *ti {
        TypeInfo::Fixed(ty, n) => {
            let b = c.take(n)?;
            Ok(match ty {
                0x1F => Value::Null,
                0x32 => Value::Bit(b[0] != 0),
                0x30 | 0x34 | 0x38 | 0x7F => {
                    if ty == 0x30 {
                        Value::Int(b[0] as i64)
                    } else {
                        Value::Int(le_int(b))
                    }
                }
                0x3D | 0x3A => datetime_bytes(b),
                _ => return Err("float and money parameters are not supported".into()),
            })
        }
        TypeInfo::ByteLen { ty, scale } => {
            let n = c.u8()? as usize;
            let b = c.take(n)?;
            if n == 0 {
                return Ok(Value::Null);
            }
            Ok(match ty {
                0x26 => Value::Int(le_int(b)),
                0x68 => Value::Bit(b[0] != 0),
                0x24 if n == 16 => Value::Guid(guid_from_wire(b.try_into().expect("16"))),
                0x6F => datetime_bytes(b),
                0x6A | 0x6C | 0x37 | 0x3F if scale == 0 && n <= 9 => {
                    let mag = uint_le(&b[1..]) as i64;
                    Value::Int(if b[0] == 0 { -mag } else { mag })
                }
                _ => {
                    return Err(format!(
                    "parameter type {ty:#04x} (float/money/decimal with a scale) is not supported"
                ))
                }
            })
        }
        TypeInfo::Temporal { ty, scale } => {
            let n = c.u8()? as usize;
            let b = c.take(n)?;
            if n == 0 {
                return Ok(Value::Null);
            }
            let tlen = match scale {
                0..=2 => 3,
                3 | 4 => 4,
                _ => 5,
            };
            match ty {
                0x28 => Ok(Value::DateTime(SqlDateTime::from_datetime2(
                    uint_le(b) as u32,
                    0,
                    0,
                ))),
                0x2A | 0x2B if n >= tlen + 3 => {
                    let time = uint_le(&b[..tlen]);
                    let days = uint_le(&b[tlen..tlen + 3]) as u32;
                    let mut d = SqlDateTime::from_datetime2(days, time, scale);
                    if ty == 0x2B {
                        // datetimeoffset is stored in UTC; datetime takes the local time.
                        let off = i16::from_le_bytes([b[tlen + 3], b[tlen + 4]]) as i64;
                        let t = d.days as i64 * 86_400 * 300 + d.ticks as i64 + off * 60 * 300;
                        d = SqlDateTime {
                            days: t.div_euclid(86_400 * 300) as i32,
                            ticks: t.rem_euclid(86_400 * 300) as u32,
                        };
                    }
                    Ok(Value::DateTime(d))
                }
                _ => Err("time parameters are not supported".into()),
            }
        }
        TypeInfo::UShort { ty, max } => {
            if max == 0xFFFF {
                // PLP: u64 total length (all ones = NULL), then u32-length chunks to a 0.
                let total = c.u64()?;
                if total == u64::MAX {
                    return Ok(Value::Null);
                }
                let mut buf = Vec::with_capacity(if total == u64::MAX - 1 {
                    0
                } else {
                    total.min(1 << 30) as usize
                });
                loop {
                    let n = c.u32()? as usize;
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(c.take(n)?);
                }
                decode_text(ty, &buf)
            } else {
                let n = c.u16()?;
                if n == 0xFFFF {
                    return Ok(Value::Null);
                }
                decode_text(ty, c.take(n as usize)?)
            }
        }
        TypeInfo::Long { ty } => {
            let n = c.u32()?;
            if n == u32::MAX {
                return Ok(Value::Null);
            }
            decode_text(ty, c.take(n as usize)?)
        }
    }
}

/// A transaction-manager request (MS-TDS 2.2.6.9), reduced to what the answer needs.
#[derive(Debug, PartialEq)]
pub enum TmRequest {
    Begin,
    Commit { begin_new: bool },
    Rollback { begin_new: bool },
    Other(u16),
}

pub fn parse_tm(d: &[u8]) -> Result<TmRequest, String> {
    let mut c = Cursor::new(d);
    c.skip_all_headers()?;
    let ty = c.u16()?;
    Ok(match ty {
        5 => TmRequest::Begin,
        7 | 8 => {
            let _name = c.b_varchar()?;
            let flags = if c.remaining() > 0 { c.u8()? } else { 0 };
            let begin_new = flags & 0x01 != 0;
            if ty == 7 {
                TmRequest::Commit { begin_new }
            } else {
                TmRequest::Rollback { begin_new }
            }
        }
        other => TmRequest::Other(other),
    })
}

/// The text of a SQL batch request.
pub fn parse_batch_text(d: &[u8]) -> Result<String, String> {
    let mut c = Cursor::new(d);
    c.skip_all_headers()?;
    utf16(&d[c.pos..])
}

/// The 8-byte transaction descriptor a BEGIN TRANSACTION answer carries.
pub fn tx_descriptor(n: u64) -> [u8; 8] {
    n.to_le_bytes()
}

/// Parses a uniqueidentifier from its wire form (used by tests).
pub fn guid_wire(g: &str) -> [u8; 16] {
    guid_to_wire(&Uuid::parse_str(g).expect("valid guid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_obfuscation_round_trips() {
        // "a" in UTF-16LE = 61 00; obfuscated: swap nibbles then XOR A5.
        let enc: Vec<u8> = [0x61u8, 0x00]
            .iter()
            .map(|b| b.rotate_left(4) ^ 0xA5)
            .collect();
        assert_eq!(enc, vec![0xB3, 0xA5]);
        assert_eq!(decode_password(&enc), vec![0x61, 0x00]);
    }

    #[test]
    fn prelogin_round_trip() {
        let p = build_prelogin(enc::NOT_SUP);
        let parsed = parse_prelogin(&p).unwrap();
        assert_eq!(parsed.encryption, Some(enc::NOT_SUP));
        assert_eq!(parsed.mars, Some(0));
    }

    fn all_headers() -> Vec<u8> {
        // Transaction descriptor header, as clients send it.
        let mut h = vec![22, 0, 0, 0, 18, 0, 0, 0, 2, 0];
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&1u32.to_le_bytes());
        h
    }

    #[test]
    fn rpc_with_typed_params() {
        let mut d = all_headers();
        let name: Vec<u8> = "sp_x"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        d.extend_from_slice(&4u16.to_le_bytes());
        d.extend_from_slice(&name);
        d.extend_from_slice(&[0, 0]);
        // @a nvarchar(4000) = N'hi'
        d.push(2);
        d.extend_from_slice(&[b'@', 0, b'a', 0]);
        d.push(0);
        d.extend_from_slice(&[0xE7, 0x40, 0x1F]);
        d.extend_from_slice(&COLLATION);
        d.extend_from_slice(&[4, 0, b'h', 0, b'i', 0]);
        // positional int NULL
        d.extend_from_slice(&[0, 0, 0x26, 4, 0]);
        // varbinary(max) in two PLP chunks
        d.extend_from_slice(&[0, 0, 0xA5, 0xFF, 0xFF]);
        d.extend_from_slice(&3u64.to_le_bytes());
        d.extend_from_slice(&2u32.to_le_bytes());
        d.extend_from_slice(&[1, 2]);
        d.extend_from_slice(&1u32.to_le_bytes());
        d.extend_from_slice(&[3]);
        d.extend_from_slice(&0u32.to_le_bytes());
        // uniqueidentifier
        d.extend_from_slice(&[0, 0, 0x24, 16, 16]);
        d.extend_from_slice(&guid_wire("08aa12d5-8f98-4dab-a4fc-980b150a5dc8"));
        // bit, datetime
        d.extend_from_slice(&[0, 0, 0x68, 1, 1, 1]);
        d.extend_from_slice(&[0, 0, 0x6F, 8, 8, 1, 0, 0, 0, 0x2C, 0x01, 0, 0]);
        let calls = parse_rpc(&d).unwrap();
        assert_eq!(calls.len(), 1);
        let p = &calls[0].params;
        assert_eq!(calls[0].proc, ProcRef::Name("sp_x".into()));
        assert_eq!(p[0].name, "a");
        assert_eq!(p[0].value, Value::Str("hi".into()));
        assert_eq!(p[1].value, Value::Null);
        assert_eq!(p[2].value, Value::Bin(vec![1, 2, 3]));
        assert_eq!(
            p[3].value,
            Value::Guid(Uuid::parse_str("08aa12d5-8f98-4dab-a4fc-980b150a5dc8").unwrap())
        );
        assert_eq!(p[4].value, Value::Bit(true));
        assert_eq!(
            p[5].value,
            Value::DateTime(SqlDateTime {
                days: 1,
                ticks: 300
            })
        );
    }

    #[tokio::test]
    async fn messages_split_and_reassemble() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut wire = Vec::new();
        write_message(&mut wire, pkt::REPLY, &payload, 4096)
            .await
            .unwrap();
        assert_eq!(wire.len(), payload.len() + 3 * 8);
        let mut r = &wire[..];
        let m = read_message(&mut r, 1 << 20).await.unwrap().unwrap();
        assert_eq!(m.ty, pkt::REPLY);
        assert_eq!(m.data, payload);
        assert!(read_message(&mut r, 1 << 20).await.unwrap().is_none());
    }
}
