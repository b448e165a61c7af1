//! Reads passwords given as `env:NAME`, `file:PATH` or literally, only when needed.

use crate::error::{Error, Result};
use crate::plan::SecretSpec;
use std::io::Read;
use zeroize::{Zeroize, Zeroizing};

/// Largest password file read (a password, not a document).
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// `what` names the option for messages (`/Decrypt`); the value is never shown.
pub fn resolve(spec: &SecretSpec, what: &str) -> Result<Zeroizing<String>> {
    match spec {
        SecretSpec::Literal(s) => Ok(Zeroizing::new(s.clone())),
        SecretSpec::Env(name) => std::env::var(name).map(Zeroizing::new).map_err(|_| {
            Error::command_line(format!(
                "{what}: environment variable `{name}` is not set (or not valid UTF-8)"
            ))
        }),
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
            let mut text =
                Zeroizing::new(String::from_utf8(std::mem::take(&mut *raw)).map_err(|e| {
                    let mut bytes = e.into_bytes();
                    bytes.zeroize();
                    Error::command_line(format!(
                        "{what}: password file `{path}` is not valid UTF-8"
                    ))
                })?);
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

pub fn resolve_opt(spec: Option<&SecretSpec>, what: &str) -> Result<Option<Zeroizing<String>>> {
    spec.map(|s| resolve(s, what)).transpose()
}
