//! Help, generated: the full help (`/?`) and one topic's (`/H Option`, `--help` of a
//! subcommand) from the option table and the subcommands' definitions.

use super::subcommands::{subcommand_help, SUBCOMMANDS};
use super::switches::{self, Match, LONG_OPTIONS, SWITCHES};
use crate::error::{Error, Result};

/// The full help (`/?`) or one topic's (`/H Option`): a switch (any accepted
/// abbreviation, with or without `/`), a `--long` option, or a subcommand. All of it is
/// generated from the option table ([`SWITCHES`], [`LONG_OPTIONS`]) and the
/// subcommands' table and clap definitions.
pub fn help_text(option: Option<&str>) -> Result<String> {
    if let Some(name) = option {
        let topic = help_topic(name)?;
        if let Some(long) = topic.strip_prefix("--") {
            let s = switches::long_option(long).expect("help_topic found it");
            return Ok(format!("{}\n\n  {}\n", s.syntax(), s.doc));
        }
        if let Some(text) = subcommand_help(&topic) {
            return Ok(text);
        }
        let s = SWITCHES
            .iter()
            .find(|s| s.name == topic)
            .expect("help_topic returns a table name");
        return Ok(format!(
            "{}\n\n  {}\n\n  Example: {}\n",
            s.syntax(),
            s.doc,
            s.example
        ));
    }
    let mut out = String::from(
        "dtutil: copy, move, delete and re-protect SSIS packages (a cross-platform rebuild of Microsoft dtutil)\n\n\
         Usage: dtutil /option [value] [/option [value]] ...\n\
         \x20      dtutil SUBCOMMAND [ARGS]...\n\n\
         Options start with / or -; names are case-insensitive and may be abbreviated down\n\
         to the part outside the brackets. A value is the next argument, even if it starts\n\
         with /. Values with spaces or ; go in quotes.\n\n",
    );
    for s in SWITCHES {
        out.push_str(&format!("  {:<58} {}\n", s.syntax(), first_sentence(s.doc)));
    }
    out.push_str("\nBeyond dtutil:\n");
    for s in LONG_OPTIONS {
        out.push_str(&format!("  {:<26} {}\n", s.syntax(), s.doc));
    }
    out.push_str("\nSubcommands (dtutil SUBCOMMAND --help for more):\n");
    for s in SUBCOMMANDS {
        out.push_str(&format!(
            "  dtutil {} {}\n      {}\n",
            s.name, s.usage, s.about
        ));
    }
    out.push_str(
        "\nPasswords: give them as env:NAME or file:PATH (pass:TEXT for a literal that starts\n\
         with env: or file:) to keep them out of the process list and shell history.\n\n\
         Exit codes: 0 success, 1 failure, 4 package not found, 5 package cannot be loaded,\n\
         6 command-line error. dtutil /H Option explains one option.\n",
    );
    Ok(out)
}

fn first_sentence(doc: &str) -> &str {
    match doc.find(". ") {
        Some(i) => &doc[..=i],
        None => doc,
    }
}

/// The help topic `/H` names, as `help_text` takes it: a switch's full name (any
/// accepted abbreviation, with or without `/`), a `--long` option or a subcommand.
pub(super) fn help_topic(name: &str) -> Result<String> {
    let trimmed = name.trim();
    if let Some(long) = trimmed.strip_prefix("--") {
        if switches::long_option(long).is_some() {
            return Ok(format!("--{long}"));
        }
    } else if subcommand_help(trimmed).is_some() {
        return Ok(trimmed.to_string());
    }
    let body = trimmed
        .strip_prefix('/')
        .or_else(|| trimmed.strip_prefix('-'))
        .unwrap_or(trimmed);
    match switches::lookup(body) {
        Match::Found(s) => Ok(s.name.to_string()),
        Match::Ambiguous(c) => Err(Error::command_line(format!(
            "/H {name}: ambiguous, it could be {}; type at least the part outside the brackets",
            c.iter().map(|s| s.display()).collect::<Vec<_>>().join(", ")
        ))),
        Match::TooShort(s) => Err(Error::command_line(format!(
            "/H {name}: no such option; did you mean {}? (dtutil /? lists them)",
            s.display()
        ))),
        Match::Unknown => Err(Error::command_line(format!(
            "/H {name}: no such option (dtutil /? lists them)"
        ))),
    }
}
