//! `dtutil inspect PATH...`: its arguments (clap) and their help.

use super::{clap_error, values};
use crate::error::Result;
use crate::plan::{Command, InspectPlan, SecretSpec};
use clap::{CommandFactory, Parser};

#[derive(clap::Parser)]
#[command(
    name = "dtutil inspect",
    about = "Reports what SSIS packages and project files are; never prints a value"
)]
pub(super) struct Inspect {
    /// Print one JSON object per file.
    #[arg(long)]
    json: bool,
    /// Password to look inside level 3 packages (env:NAME, file:PATH or the text).
    #[arg(long)]
    password: Option<String>,
    /// Also judge each package against this SQL Server runtime (2012-2022).
    #[arg(long, value_name = "YEAR")]
    target_version: Option<String>,
    /// Packages (.dtsx, .dtsxp) or project files (.dtproj, .params, .conmgr).
    #[arg(required = true)]
    paths: Vec<String>,
}

/// `dtutil inspect --help` / `dtutil /H inspect`.
pub(super) fn help() -> String {
    Inspect::command().render_long_help().to_string()
}

/// Its clap command (the options it knows).
pub(super) fn command() -> clap::Command {
    Inspect::command()
}

/// Parses `inspect ...` (the subcommand name first).
pub(super) fn parse(args: &[String]) -> Result<Command> {
    let parsed = Inspect::try_parse_from(args).map_err(clap_error)?;
    Ok(Command::Inspect(InspectPlan {
        paths: parsed.paths,
        password: parsed.password.as_deref().map(SecretSpec::parse),
        json: parsed.json,
        target_version: parsed
            .target_version
            .as_deref()
            .map(values::target_year)
            .transpose()?,
    }))
}
