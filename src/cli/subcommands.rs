//! The subcommands beyond dtutil (`dtutil NAME ...`): one table with each one's
//! summary line, help and parser. Each parser (clap) lives in its own file under `cli/`.

use super::{assess, batch, help_plan, inspect, ir, project};
use crate::error::{Error, Result};
use crate::plan::ir::RunValue;
use crate::plan::Command;

pub(super) struct Subcommand {
    pub name: &'static str,
    /// Its arguments in short, for the full help (`/?`).
    pub usage: &'static str,
    /// What it does, for the full help.
    pub about: &'static str,
    /// Its own help (`dtutil NAME --help`, `dtutil /H NAME`).
    help: fn() -> String,
    /// Its arguments (the subcommand name first) into a command.
    parse: fn(&[String]) -> Result<Command>,
    /// Its clap command: the long options it knows.
    command: fn() -> clap::Command,
}

/// In the order `/?` lists them.
pub(super) const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "inspect",
        usage: "[--json] [--password PW] PATH...",
        about: "what packages and project files are: format, protection, ciphers (never values)",
        help: inspect::help,
        parse: inspect::parse,
        command: inspect::command,
    },
    Subcommand {
        name: "project",
        usage: "PATH [--decrypt PW] [--encrypt LEVEL[;PW]] [--out DIR]",
        about: "re-protect a project deployment (a folder with its .dtproj, or an .ispac)",
        help: project::help,
        parse: project::parse,
        command: project::command,
    },
    Subcommand {
        name: "batch",
        usage:
            "--from SOURCE --to DEST [--encrypt LEVEL[;PW]] [--jobs N] [--report R] [--resume R]",
        about: "a whole migration in one run: directories, msdb, package store, Azure Files",
        help: batch::help,
        parse: batch::parse,
        command: batch::command,
    },
    Subcommand {
        name: "assess",
        usage: "[--target azure-ssis-ir|YEAR] [--edition standard|enterprise] [--json|--sarif] [--fail-on error|warning|never] SOURCE...",
        about: "checks packages for the Azure-SSIS IR: Microsoft's DMA rules 1001-4003 and ours (runtime, protection)",
        help: assess::help,
        parse: assess::parse,
        command: assess::command,
    },
    Subcommand {
        name: "ir",
        usage: "status|stores|run|running|stop [--ir ID] [--json]",
        about: "the Azure-SSIS IR through ARM: state, package stores, run, list and stop packages",
        help: ir::help,
        parse: ir::parse,
        command: ir::command,
    },
];

fn find(name: &str) -> Option<&'static Subcommand> {
    // `dtutil Batch` as `batch`: dtutil's own options are case-insensitive too.
    SUBCOMMANDS
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// A subcommand's own help (`dtutil inspect --help`), when there is such a subcommand.
/// `ir run` is the help of `ir`'s own subcommand `run`.
pub(super) fn subcommand_help(name: &str) -> Option<String> {
    match name.split_once(' ') {
        Some((outer, inner)) if outer.eq_ignore_ascii_case("ir") => ir::sub_help(inner.trim()),
        _ => find(name).map(|s| (s.help)()),
    }
}

/// `dtutil NAME ...` (`args[0]` is the name).
pub(super) fn parse(args: &[String]) -> Result<Command> {
    let Some(subcommand) = find(&args[0]) else {
        let names: Vec<&str> = SUBCOMMANDS.iter().map(|s| s.name).collect();
        return Err(Error::command_line(format!(
            "unknown subcommand `{}` (known: {}); dtutil options start with / or -",
            args[0],
            names.join(", ")
        )));
    };
    // `dtutil inspect --help`: a help plan, printed by the caller like /H (clap would
    // print and exit the process itself).
    let wants_help = args[1..]
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--help" || a == "-h");
    // `dtutil ir run --help` and `dtutil ir help run`: the help of `ir run`.
    let is_ir = args[0].eq_ignore_ascii_case("ir");
    let ir_help = is_ir && args.get(1).is_some_and(|a| a == "help");
    if wants_help || ir_help {
        let word = if ir_help { args.get(2) } else { args.get(1) };
        let topic = match word {
            Some(w) if is_ir && ir::sub_help(w).is_some() => format!("{} {w}", args[0]),
            _ => args[0].clone(),
        };
        return Ok(Command::Dtutil(Box::new(help_plan(Some(topic)))));
    }
    let known = long_options((subcommand.command)());
    let suspects = refuse_password_fragments(args, &known)?;
    (subcommand.parse)(args).map_err(|e| hide_in_parse_error(e, args, &suspects))
}

/// The options whose value is (or, for `--encrypt`, ends with) a password.
const PASSWORD_OPTIONS: &[&str] = &[
    "--decrypt",
    "--encrypt",
    "--password",
    "--source-password",
    "--dest-password",
    "--sql-password",
    "--package-password",
    "--execution-password",
];

/// `ir run`'s NAME=VALUE options that may carry a secret: the `-sensitive` ones only
/// do, and `--connection` and `--set` do when dtutil sends the value as one (a
/// Password property, a connection string holding a password).
const IR_PAIR_OPTIONS: &[&str] = &[
    "--param-sensitive",
    "--set-sensitive",
    "--connection-sensitive",
    "--connection",
    "--set",
];

/// The secret part of `option`'s value, when the option carries one: the whole value
/// of a password option, the VALUE of an `ir` NAME=VALUE option that is sensitive.
fn secret_in<'a>(subcommand: &str, option: &str, value: &'a str) -> Option<&'a str> {
    if PASSWORD_OPTIONS.contains(&option) {
        return Some(value);
    }
    if subcommand != "ir" || !IR_PAIR_OPTIONS.contains(&option) {
        return None;
    }
    // Without a NAME= the whole value may be the secret (`pair` hides it for the same
    // reason).
    let (name, secret) = value.split_once('=').unwrap_or(("", value));
    let sensitive = match option {
        "--connection" => name
            .rsplit_once('.')
            .is_some_and(|(_, property)| RunValue::is_secret_property(property, secret)),
        "--set" => RunValue::is_secret_property_path(name, secret),
        _ => true,
    };
    sensitive.then_some(secret)
}

/// An unquoted password with a blank (`--decrypt my Secret`) arrives as two arguments,
/// and the second would be echoed (clap's "unexpected argument", or "no such file" as
/// a path). As with dtutil's switches, the argument right after a password (or an
/// `ir run` secret: `--param-sensitive NAME=my Secret`) is never shown, whatever it
/// looks like (`Zq9/Secret`, `Secret.dtsx`, `--Secret` are passwords too). It is
/// refused by its position unless it can be what it stands in for: an option (then an
/// error of clap's that names it is replaced by its position), or, for the
/// subcommands that take paths, a file or folder that exists, a location (`sql://`,
/// `dts:`, an Azure Files URL or UNC path) or a glob whose folder exists; `batch`
/// takes no positional argument at all, and `ir` keeps to names with a `\` (its
/// stores' package paths). A word after `env:NAME` or `file:PATH` takes the usual
/// way: those hold no password to split.
///
/// A word that is one of the subcommand's own long options (`--jobs`, `--encrypt=...`)
/// is taken as that option, not as a fragment: the errors about it (a missing or
/// wrong value, a conflict) name the option and its own value, never the password's,
/// and hiding them sent users looking for blanks in a password that was fine.
fn refuse_password_fragments(args: &[String], known: &[String]) -> Result<Vec<Suspect>> {
    let subcommand = args[0].to_lowercase();
    let mut suspects = Vec::new();
    let mut i = 1;
    while i < args.len() && args[i] != "--" {
        let token = &args[i];
        // `--decrypt=my` or `--decrypt my`.
        let (option, value, next) = match token.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option, Some(value), i + 1),
            _ => (token.as_str(), args.get(i + 1).map(String::as_str), i + 2),
        };
        let secret = value.and_then(|v| secret_in(&subcommand, option, v));
        // `env:NAME` and `file:PATH` hold no password to split.
        let splittable = secret.is_some_and(|v| !v.starts_with("env:") && !v.starts_with("file:"));
        if splittable && next < args.len() && !is_known_option(&args[next], known) {
            let word = &args[next];
            let suspect = Suspect {
                index: next,
                option: option.to_string(),
            };
            if !word.starts_with('-') && !can_follow_a_password(&subcommand, word) {
                return Err(hidden(&suspect));
            }
            suspects.push(suspect);
        }
        i += 1;
    }
    Ok(suspects)
}

/// The long option names (without `--`) `command` and its subcommands know.
fn long_options(command: clap::Command) -> Vec<String> {
    let mut names: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    for sub in command.get_subcommands() {
        names.extend(long_options(sub.clone()));
    }
    names.push("help".to_string());
    names
}

/// `--NAME` or `--NAME=VALUE` with NAME one of `known`.
fn is_known_option(word: &str, known: &[String]) -> bool {
    word.strip_prefix("--").is_some_and(|rest| {
        let name = rest.split_once('=').map_or(rest, |(name, _)| name);
        known.iter().any(|k| k == name)
    })
}

/// An argument right after a secret, and the option whose value it follows.
struct Suspect {
    index: usize,
    option: String,
}

fn hidden(suspect: &Suspect) -> Error {
    Error::command_line(format!(
        "unexpected argument {} (not shown: it follows the value of {}, a password or secret, and may be part of it; it is no option, and no file, folder or location this command can read); quote a value that contains spaces",
        suspect.index + 1,
        suspect.option
    ))
}

/// Whether a word right after a password's value may be one of the subcommand's own
/// positional arguments rather than the rest of the password.
fn can_follow_a_password(subcommand: &str, word: &str) -> bool {
    match subcommand {
        "batch" => false,
        "ir" => word.contains('\\'),
        _ => {
            let lower = word.to_ascii_lowercase();
            let location = ["sql://", "dts:", "http://", "https://", "\\\\", "//"]
                .iter()
                .any(|p| lower.starts_with(p));
            location
                || std::path::Path::new(word).symlink_metadata().is_ok()
                || match crate::plan::BatchLocation::local(word) {
                    crate::plan::BatchLocation::Glob { base, .. } => {
                        base.as_os_str().is_empty() || base.is_dir()
                    }
                    _ => false,
                }
        }
    }
}

/// An error of the parser that names an argument right after a password: said by its
/// position instead (clap's "unexpected argument '--Secret' found", or `'-S'` for
/// `-Secret`).
fn hide_in_parse_error(error: Error, args: &[String], suspects: &[Suspect]) -> Error {
    let named = suspects.iter().find(|suspect| {
        let word = &args[suspect.index];
        (!word.is_empty() && error.message.contains(word.as_str()))
            || (word.starts_with('-')
                && !word.starts_with("--")
                && error.message.contains("unexpected argument"))
    });
    match named {
        Some(suspect) => hidden(suspect),
        None => error,
    }
}
