//! The subcommands beyond dtutil (`dtutil NAME ...`): one table with each one's
//! summary line, help and parser. Each parser (clap) lives in its own file under `cli/`.

use super::{assess, batch, help_plan, inspect, ir, project};
use crate::error::{Error, Result};
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
}

/// In the order `/?` lists them.
pub(super) const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "inspect",
        usage: "[--json] [--password PW] PATH...",
        about: "what packages and project files are: format, protection, ciphers (never values)",
        help: inspect::help,
        parse: inspect::parse,
    },
    Subcommand {
        name: "project",
        usage: "PATH [--decrypt PW] [--encrypt LEVEL[;PW]] [--out DIR]",
        about: "re-protect a project deployment (a folder with its .dtproj, or an .ispac)",
        help: project::help,
        parse: project::parse,
    },
    Subcommand {
        name: "batch",
        usage:
            "--from SOURCE --to DEST [--encrypt LEVEL[;PW]] [--jobs N] [--report R] [--resume R]",
        about: "a whole migration in one run: directories, msdb, package store, Azure Files",
        help: batch::help,
        parse: batch::parse,
    },
    Subcommand {
        name: "assess",
        usage: "[--target azure-ssis-ir|YEAR] [--edition standard|enterprise] [--json|--sarif] [--fail-on error|warning|never] SOURCE...",
        about: "checks packages for the Azure-SSIS IR: Microsoft's DMA rules 1001-4003 and ours (runtime, protection)",
        help: assess::help,
        parse: assess::parse,
    },
    Subcommand {
        name: "ir",
        usage: "status|stores|run|running|stop [--ir ID] [--json]",
        about: "the Azure-SSIS IR through ARM: state, package stores, run, list and stop packages",
        help: ir::help,
        parse: ir::parse,
    },
];

fn find(name: &str) -> Option<&'static Subcommand> {
    // `dtutil Batch` as `batch`: dtutil's own options are case-insensitive too.
    SUBCOMMANDS
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// A subcommand's own help (`dtutil inspect --help`), when there is such a subcommand.
pub(super) fn subcommand_help(name: &str) -> Option<String> {
    find(name).map(|s| (s.help)())
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
    if wants_help {
        return Ok(Command::Dtutil(Box::new(help_plan(Some(args[0].clone())))));
    }
    (subcommand.parse)(args)
}
