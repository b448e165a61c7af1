//! `dtutil project PATH`: its arguments (clap) and their help.

use super::{clap_error, values};
use crate::error::Result;
use crate::plan::{Command, ProjectPlan, SecretSpec};
use clap::{CommandFactory, Parser};

#[derive(clap::Parser)]
#[command(
    name = "dtutil project",
    bin_name = "dtutil project",
    about = "Re-protects a project deployment (a folder with its .dtproj, or an .ispac): the manifest, Project.params, every .conmgr, .dtsx and .dtsxp"
)]
pub(super) struct Project {
    /// The project folder (with its .dtproj), a .dtproj file, or an .ispac.
    path: String,
    /// The project's current password (env:NAME, file:PATH or the text).
    #[arg(long)]
    decrypt: Option<String>,
    /// The new protection: LEVEL[;PASSWORD] with LEVEL 0, 2 or 3 (e.g. "2;env:NEW_PW").
    #[arg(long)]
    encrypt: Option<String>,
    /// Write here (a folder, or an .ispac for an .ispac) instead of in place.
    #[arg(long)]
    out: Option<String>,
    /// Let --out replace an existing .ispac, or existing files in its folder.
    #[arg(long)]
    overwrite: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Cipher for packages: 3des or aes256 (project files always use Triple DES).
    #[arg(long)]
    algorithm: Option<String>,
    /// Write values protected with a Windows user key (level 1, SSDT's default), which
    /// only that user can open on Windows, blank (each is named) instead of refusing.
    #[arg(long)]
    allow_lost_sensitive: bool,
}

/// `dtutil project --help` / `dtutil /H project`.
pub(super) fn help() -> String {
    Project::command().render_long_help().to_string()
}

/// Its clap command (the options it knows).
pub(super) fn command() -> clap::Command {
    Project::command()
}

/// Parses `project ...` (the subcommand name first). Whether the level suits a project
/// (not 5) and the password its level is checked again by `project::run`, for plans
/// built without the command line.
pub(super) fn parse(args: &[String]) -> Result<Command> {
    let parsed = Project::try_parse_from(args).map_err(clap_error)?;
    let (encrypt_level, encrypt_password) = match parsed.encrypt.as_deref() {
        None => (None, None),
        Some(spec) => {
            let (level, password) = values::encrypt_spec(spec)?;
            (Some(level), password)
        }
    };
    let algorithm = parsed
        .algorithm
        .as_deref()
        .map(values::algorithm_name)
        .transpose()?;
    Ok(Command::Project(ProjectPlan {
        path: parsed.path,
        decrypt: parsed.decrypt.as_deref().map(SecretSpec::parse),
        encrypt_level,
        encrypt_password,
        out: parsed.out,
        overwrite: parsed.overwrite,
        dry_run: parsed.dry_run,
        json: parsed.json,
        algorithm,
        allow_lost_sensitive: parsed.allow_lost_sensitive,
    }))
}
