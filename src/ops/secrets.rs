//! Reads passwords given as `env:NAME`, `file:PATH` or literally, only when needed.

use crate::error::{Error, Result};
use crate::package::ProtectionLevel;
use crate::plan::SecretSpec;
use std::io::Read;
use zeroize::{Zeroize, Zeroizing};

/// Largest password file read (a password, not a document).
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// `what` names the option for messages (`/Decrypt`); the value is never shown.
pub fn resolve(spec: &SecretSpec, what: &str) -> Result<Zeroizing<String>> {
    match spec {
        SecretSpec::Literal(s) => Ok(Zeroizing::new(s.clone())),
        SecretSpec::Env(name) => {
            let mut value = std::env::var(name).map(Zeroizing::new).map_err(|_| {
                Error::command_line(format!(
                    "{what}: environment variable `{name}` is not set (or not valid UTF-8)"
                ))
            })?;
            // `export PW=$(cat pw.txt)` of a file Windows wrote keeps its byte order mark.
            if value.starts_with(BOM) {
                value.drain(..BOM.len_utf8());
            }
            Ok(value)
        }
        SecretSpec::File(path) => {
            // Bounded: `file:/dev/zero` or a wrong, huge file must not fill memory.
            let mut raw = Zeroizing::new(Vec::new());
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_PASSWORD_FILE + 1).read_to_end(&mut raw))
                .map_err(|e| {
                    Error::command_line(format!("{what}: cannot read password file `{path}`: {e}"))
                })?;
            if raw.len() as u64 > MAX_PASSWORD_FILE {
                return Err(Error::command_line(format!(
                    "{what}: password file `{path}` is larger than {MAX_PASSWORD_FILE} bytes; is it the right file?"
                )));
            }
            let mut text = decode(raw).map_err(|why| {
                Error::command_line(format!("{what}: password file `{path}` {why}"))
            })?;
            // One trailing newline is the file's, not the password's.
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            Ok(text)
        }
    }
}

/// The byte order mark Windows tools put first (PowerShell 5.1's `Out-File -Encoding
/// utf8`, `Set-Content -Encoding UTF8`, Notepad's "UTF-8 with BOM"): never a password's.
const BOM: char = '\u{feff}';

/// A password file's text: UTF-8 (a leading BOM dropped), or UTF-16 with its BOM
/// (PowerShell 5.1's `>` and `Out-File` write UTF-16LE). `Err` says why it is refused.
fn decode(mut raw: Zeroizing<Vec<u8>>) -> std::result::Result<Zeroizing<String>, String> {
    let little = raw.starts_with(&[0xFF, 0xFE]);
    if little || raw.starts_with(&[0xFE, 0xFF]) {
        let body = &raw[2..];
        if !body.len().is_multiple_of(2) {
            return Err("starts as UTF-16 (a byte order mark) but has an odd number of bytes; save it as UTF-8".into());
        }
        let mut units: Zeroizing<Vec<u16>> = Zeroizing::new(
            body.chunks_exact(2)
                .map(|p| {
                    let pair = [p[0], p[1]];
                    if little {
                        u16::from_le_bytes(pair)
                    } else {
                        u16::from_be_bytes(pair)
                    }
                })
                .collect(),
        );
        let text = String::from_utf16(&units).map_err(|_| {
            "is UTF-16 (it starts with a byte order mark) but not valid UTF-16; save it as UTF-8"
                .to_string()
        });
        units.zeroize();
        return text.map(Zeroizing::new);
    }
    let mut text = Zeroizing::new(String::from_utf8(std::mem::take(&mut *raw)).map_err(|e| {
        let mut bytes = e.into_bytes();
        bytes.zeroize();
        "is neither UTF-8 nor UTF-16 with a byte order mark; save it as UTF-8".to_string()
    })?);
    if text.starts_with(BOM) {
        text.drain(..BOM.len_utf8());
    }
    Ok(text)
}

pub fn resolve_opt(spec: Option<&SecretSpec>, what: &str) -> Result<Option<Zeroizing<String>>> {
    spec.map(|s| resolve(s, what)).transpose()
}

/// A password that is to protect what is written at `level`. An empty one is refused
/// from every source, as SSIS refuses that save (DTS_E_PACKAGEPASSWORDEMPTY): `env:` and
/// `file:` are exactly where an empty value slips in unnoticed (a CI variable not set
/// for this branch, a secrets mount not yet populated), and the run would then
/// "succeed" with packages anyone can open. Opening passwords stay unchecked: they can
/// only fail to open.
pub fn resolve_new(
    spec: Option<&SecretSpec>,
    what: &str,
    level: ProtectionLevel,
) -> Result<Option<Zeroizing<String>>> {
    let password = resolve_opt(spec, what)?;
    match (spec, &password) {
        (Some(spec), Some(pw)) if pw.is_empty() && level.needs_password() => {
            let empty = match spec {
                SecretSpec::Literal(_) => "the password given is empty".to_string(),
                SecretSpec::Env(name) => format!("environment variable `{name}` is set but empty"),
                SecretSpec::File(path) => format!("password file `{path}` is empty"),
            };
            Err(Error::command_line(format!(
                "{what}: protection level {level} needs a password, but {empty}; nothing written"
            )))
        }
        _ => Ok(password),
    }
}
