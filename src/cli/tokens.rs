//! The tokenizer: arguments become [`Raw`] options, each checked only for naming an
//! option in the table ([`super::switches`]) and for having its value. What the
//! options mean together is [`super::validate`]'s job.

use super::switches::{self, Arg, Id, Match, Role, Switch, LONG_OPTIONS};
use super::values;
use crate::crypto::Algorithm;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use zeroize::Zeroize;

/// Options as typed, before any validation.
#[derive(Default)]
pub(super) struct Raw {
    /// Each switch given, with the token the user typed and its value.
    pub(super) given: BTreeMap<Id, (String, Option<String>)>,
    pub(super) remarks: Vec<String>,
    pub(super) dry_run: bool,
    pub(super) json: bool,
    pub(super) algorithm: Option<Algorithm>,
    pub(super) allow_lost_sensitive: bool,
    pub(super) store_config: Option<String>,
    pub(super) ir: Option<String>,
    pub(super) target_version: Option<u32>,
    pub(super) help: bool,
    pub(super) version: bool,
}

impl Drop for Raw {
    /// Switch values include passwords (`/Decrypt`, `/DestPassword`, `/ENCRYPT`'s fourth part).
    fn drop(&mut self) {
        for (_, value) in self.given.values_mut() {
            value.zeroize();
        }
    }
}

fn looks_like_option(token: &str) -> bool {
    token.starts_with("--")
        || ((token.starts_with('/') || token.starts_with('-'))
            && matches!(switches::lookup(&token[1..]), Match::Found(_)))
}

/// A package path where an option should be: the shell expanded a wildcard
/// (`/FILE *.dtsx`) into several paths, and dtutil takes one package per command.
fn expanded_wildcard_hint(token: &str) -> &'static str {
    if token.to_ascii_lowercase().ends_with(".dtsx") {
        "; several package paths in a row: the shell expanded a wildcard such as *.dtsx, and dtutil takes one package per /FILE. Loop over them (bash: for f in *.dtsx; do dtutil /FILE \"$f\" ...; done) or copy a whole folder with dtutil batch --from 'DIR/*.dtsx'"
    } else {
        ""
    }
}

/// Splits the arguments into switches and their values: no validation beyond each
/// token naming an option (and `/Dump`, refused before its value).
pub(super) fn parse_raw(args: &[String]) -> Result<Raw> {
    // Owned, so that an argument holding a whole command line can be split in place;
    // wiped when dropped, as any argument may be a password.
    let mut args = zeroize::Zeroizing::new(args.to_vec());
    let mut raw = Raw::default();
    // The switch whose value came last, when that value is a password (or a user,
    // whose password may follow): a stray token after it is not echoed, nor is one
    // that would be an unknown option (`/Decrypt my /Secret`).
    let mut after_secret: Option<&'static Switch> = None;
    let mut i = 0;
    while i < args.len() {
        if let Some(pieces) = super::oneline::split(&args[i], looks_like_option) {
            args.splice(i..=i, pieces);
        }
        let token = &args[i];
        i += 1;
        if let Some(long) = token.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(name, _)| name);
            if let (Some(secret), None) = (after_secret, switches::long_option(name)) {
                return Err(unknown_after_secret(secret, i));
            }
            parse_long(&mut raw, token, long, &args, &mut i)?;
            after_secret = None;
            continue;
        }
        let Some(body) = token.strip_prefix('/').or_else(|| token.strip_prefix('-')) else {
            if let Some(secret) = after_secret {
                return Err(Error::command_line(format!(
                    "unexpected argument {i} (not shown: {})",
                    follows(secret)
                )));
            }
            return Err(Error::command_line(format!(
                "unexpected argument `{token}`: options start with / or -, and each takes at most one value (quote values with spaces){}",
                expanded_wildcard_hint(token)
            )));
        };
        let switch = match (resolve(token, body), after_secret) {
            (Ok(switch), _) => switch,
            (Err(_), Some(secret)) => return Err(unknown_after_secret(secret, i)),
            (Err(e), None) => return Err(e),
        };
        if switch.id == Id::Dump {
            // Before its value: the answer is the same whatever the process id.
            let named = if token.eq_ignore_ascii_case("/Dump") {
                String::new()
            } else {
                " (/Dump)".to_string()
            };
            return Err(Error::command_line(format!(
                "{token}{named} makes debug dumps of running dtexec processes, which exist only on Windows; it is not supported on this platform"
            )));
        }
        let value = match switch.arg {
            Arg::None => None,
            Arg::Required => {
                let v = args.get(i).cloned().ok_or_else(|| {
                    Error::command_line(format!(
                        "option {token} needs an argument: {}",
                        switch.syntax()
                    ))
                })?;
                i += 1;
                Some(v)
            }
            Arg::Optional => match args.get(i) {
                Some(next)
                    if !looks_like_option(next)
                        && (switch.id != Id::Help || !next.starts_with('/')) =>
                {
                    i += 1;
                    Some(next.clone())
                }
                // `/H /Encrypt`: the last argument after /H is the topic, however spelt.
                Some(next) if switch.id == Id::Help && i + 1 == args.len() => {
                    i += 1;
                    Some(next.trim_start_matches(['/', '-']).to_string())
                }
                _ => None,
            },
        };
        after_secret = (value.is_some()
            && (switch.secret() || matches!(switch.id, Id::SourceUser | Id::DestUser)))
        .then_some(switch);
        if switch.role == Role::Remark {
            raw.remarks.extend(value);
            continue;
        }
        if let Some((first, _)) = raw.given.get(&switch.id) {
            return Err(Error::command_line(format!(
                "option {} is given twice (`{first}` and `{token}`); give each option once",
                switch.full()
            )));
        }
        raw.given.insert(switch.id, (token.clone(), value));
    }
    Ok(raw)
}

/// Why the argument after `secret`'s value is not shown, and the fix.
fn follows(secret: &Switch) -> String {
    format!(
        "it follows the value of {0} and may be part of a password); quote a value that contains spaces: {0} \"two words\"",
        secret.full()
    )
}

/// An unknown option right after a password (`/Decrypt my /Secret`, `-Secret`,
/// `--Secret`) is most likely the password's second half: the error says where it
/// stands (the `position`-th argument), not what it is.
fn unknown_after_secret(secret: &Switch, position: usize) -> Error {
    Error::command_line(format!(
        "unknown option {position} (not shown: {}",
        follows(secret)
    ))
}

/// `--name`, `--name VALUE` or `--name=VALUE`.
fn parse_long(
    raw: &mut Raw,
    token: &str,
    long: &str,
    args: &[String],
    i: &mut usize,
) -> Result<()> {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (long, None),
    };
    let Some(option) = switches::long_option(name) else {
        // Only the name: whatever follows `=` is not echoed.
        let names: Vec<String> = LONG_OPTIONS.iter().map(|s| s.display()).collect();
        return Err(Error::command_line(format!(
            "unknown option `--{name}` (long options: {}; dtutil /? lists all options)",
            names.join(", ")
        )));
    };
    if option.arg == Arg::None && inline.is_some() {
        return Err(Error::command_line(format!(
            "option --{name} takes no value; write it alone"
        )));
    }
    // The value: after `=`, else the next argument; `needs` completes the message
    // when there is none.
    let mut value = |needs: &str| -> Result<String> {
        if let Some(v) = inline.clone() {
            return Ok(v);
        }
        let v = args
            .get(*i)
            .cloned()
            .ok_or_else(|| Error::command_line(format!("{token} needs {needs}")))?;
        *i += 1;
        Ok(v)
    };
    match option.id {
        Id::DryRun => raw.dry_run = true,
        Id::Json => raw.json = true,
        Id::AllowLostSensitive => raw.allow_lost_sensitive = true,
        Id::LongHelp => raw.help = true,
        Id::Version => raw.version = true,
        Id::TargetVersion => {
            let year = value("a release: 2012, 2014, 2016, 2017, 2019 or 2022")?;
            raw.target_version = Some(values::target_year(&year)?);
        }
        Id::StoreConfig => {
            raw.store_config = Some(value("a path to an MsDtsSrvr.ini.xml file")?);
        }
        Id::Ir => raw.ir = Some(value("an IR: its resource id or S/RG/F/IR")?),
        Id::Algorithm => {
            raw.algorithm = Some(values::algorithm_name(&value("a value: 3des or aes256")?)?);
        }
        other => unreachable!("{other:?} is a long option without a meaning"),
    }
    Ok(())
}

/// The switch a token names (`body` is the token without its `/` or `-`), or an
/// exit-6 error naming the token and the fix.
fn resolve(token: &str, body: &str) -> Result<&'static Switch> {
    match switches::lookup(body) {
        Match::Found(s) => Ok(s),
        Match::Ambiguous(candidates) => {
            let names: Vec<String> = candidates.iter().map(|s| s.display()).collect();
            Err(Error::command_line(format!(
                "option `{token}` is ambiguous: it could be {}; type at least the part outside the brackets",
                names.join(", ")
            )))
        }
        Match::TooShort(s) => Err(Error::command_line(format!(
            "unknown option `{token}`: did you mean {}? type at least the part outside the brackets (dtutil /? lists the options)",
            s.display()
        ))),
        Match::Unknown => {
            if let Some(glued) = body.find([';', ':', '=']) {
                if let Match::Found(s) = switches::lookup(&body[..glued]) {
                    let option = &token[..glued + 1];
                    // Passwords are never echoed, even glued to their option.
                    return Err(if s.secret() {
                        Error::command_line(format!(
                            "unknown option `{option}{}...`: put a space between the option and its argument (`{option} {}`)",
                            &token[glued + 1..glued + 2],
                            s.value
                        ))
                    } else {
                        Error::command_line(format!(
                            "unknown option `{token}`: put a space between the option and its argument (`{option} {}`)",
                            &body[glued + 1..]
                        ))
                    });
                }
            }
            Err(Error::command_line(match switches::nearest(body) {
                Some(s) => format!(
                    "unknown option `{token}`: did you mean {}? (dtutil /? lists the options)",
                    s.display()
                ),
                None => format!("unknown option `{token}` (dtutil /? lists the options)"),
            }))
        }
    }
}
