//! Reads passwords given as `env:NAME`, `file:PATH` or literally, only when needed.

use crate::error::{Error, Result};
use crate::plan::SecretSpec;
use zeroize::Zeroizing;

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
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::command_line(format!("{what}: cannot read password file `{path}`: {e}"))
            })?;
            let mut text = Zeroizing::new(text);
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
