//! The command line: argv becomes a [`Command`] (see `plan`); nothing here does any
//! I/O or knows about XML or storage.
//!
//! - dtutil's `/SWITCH`es and the `--long` options: one option table
//!   ([`switches`]); the tokenizer (`tokens`) turns the arguments into raw options, the
//!   validator (`validate`) turns those into a [`Plan`].
//! - Subcommands (`dtutil inspect|project|batch ...`): a table (`subcommands`), each
//!   parsed by clap in its own file (`inspect.rs`, `project.rs`, `batch.rs`).
//! - Values shared by both (protection levels, `--target-version`, `--algorithm`):
//!   `values`. Help, generated from the tables: `help`.

mod assess;
mod batch;
mod fields;
mod help;
mod inspect;
mod ir;
mod oneline;
mod project;
mod subcommands;
pub mod switches;
mod tokens;
mod validate;
mod values;

pub use crate::plan::Command;
pub use help::help_text;

use crate::error::{Error, Result};
use crate::plan::{Action, OutputMode, Plan};
use std::ffi::OsString;
use zeroize::Zeroizing;

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Command> {
    // Wiped when dropped: any of them may be a password typed on the command line.
    let args: Zeroizing<Vec<String>> = args
        .into_iter()
        .enumerate()
        .map(|(n, a)| {
            // Not echoed: it may be a password.
            a.into_string().map_err(|_| {
                Error::command_line(format!(
                    "argument {} is not valid Unicode text; give paths and passwords as UTF-8 (or a password as env:NAME)",
                    n + 1
                ))
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Zeroizing::new)?;
    // cmd never passes a line's CR on; bash run on a CRLF script does, and the last
    // argument would name a package ending in an invisible CR.
    if let Some(n) = args.iter().position(|a| a.contains('\r')) {
        return Err(Error::command_line(format!(
            "argument {} ends in a carriage return (CR): the script has Windows (CRLF) line endings; convert it first (dos2unix script, or sed -i 's/\\r$//' script)",
            n + 1
        )));
    }
    match args.first() {
        Some(first) if !first.starts_with('/') && !first.starts_with('-') => {
            subcommands::parse(&args)
        }
        _ => parse_dtutil(&args),
    }
}

fn parse_dtutil(args: &[String]) -> Result<Command> {
    let raw = tokens::parse_raw(args)?;
    if raw.version {
        return Ok(Command::Version);
    }
    Ok(Command::Dtutil(Box::new(validate::validate(raw)?)))
}

/// A clap error as ours (exit 6), without clap's `error: ` prefix.
fn clap_error(e: clap::Error) -> Error {
    // `--help` never gets here (see `subcommands::parse`); a library does not exit.
    Error::command_line(
        e.to_string()
            .trim_end()
            .trim_start_matches("error: ")
            .to_string(),
    )
}

/// `/?`: the full help; `Some(topic)`: one option's or subcommand's.
fn help_plan(option: Option<String>) -> Plan {
    Plan {
        action: Action::Help { option },
        source: None,
        decrypt: None,
        quiet: false,
        remarks: Vec::new(),
        regenerate_id: false,
        algorithm: None,
        allow_lost_sensitive: false,
        store_config: None,
        ir: None,
        target_version: None,
        output: OutputMode::Text,
        dry_run: false,
    }
}

// What the unit tests (`tests.rs`, `use super::*`) name.
#[cfg(test)]
use {
    crate::crypto::Algorithm,
    crate::package::ProtectionLevel,
    crate::plan::{LocationKind, SecretSpec, SqlConnection},
    switches::{Id, Match, SWITCHES},
};

#[cfg(test)]
mod tests;
