//! `dtutil assess SOURCE...`: its arguments (clap) and their help.

use super::{clap_error, values};
use crate::error::{Error, Result};
use crate::plan::assess::{AssessFormat, AssessPlan, FailOn};
use crate::plan::{BatchLocation, Command, SecretSpec, SqlConnection};
use clap::{CommandFactory, Parser};

const DEFAULT_JOBS: usize = 4;
const MAX_JOBS: usize = 256;

#[derive(clap::Parser)]
#[command(
    name = "dtutil assess",
    bin_name = "dtutil assess",
    about = "Checks SSIS packages for a move to the Azure-SSIS IR (Microsoft's DMA rules 1001-4003, and the runtime, protection and run-time values); never prints a secret",
    after_help = "SOURCES (any number):\n  FILE.dtsx | FILE.conmgr   one package or project connection manager\n  FILE.ispac               every package and connection manager in a project deployment file\n  DIR                      a (project) folder, recursive (*.dtsx, *.conmgr)\n  'GLOB'                   local files, e.g. 'pkgs/**/*.dtsx'\n  sql://SERVER/Folder      an msdb folder (--sql-user/--sql-password, else integrated)\n  dts:Root\\Folder          a package store folder\n  \\\\ACCOUNT.file.core.windows.net\\share\\dir (or https://...)   an Azure Files directory\n\nRules: docs/assessment.md. Exit code: 0, or 1 when a finding reaches --fail-on (default error; a package that cannot be read is an error, DTU900); 4 when a source does not exist or holds no package; 5 when a source cannot be opened (sign-in, server down); 6 for a command-line error."
)]
struct Cli {
    /// What the packages will run on: azure-ssis-ir (SQL Server 2017's runtime) or a SQL Server release 2012-2022.
    #[arg(long, value_name = "TARGET", default_value = "azure-ssis-ir")]
    target: String,
    /// The edition they will run on: standard or enterprise (Enterprise-only components pass).
    #[arg(long, value_name = "EDITION", default_value = "standard")]
    edition: String,
    /// One JSON object per finding.
    #[arg(long, conflicts_with = "sarif")]
    json: bool,
    /// One SARIF 2.1.0 log (GitHub code scanning).
    #[arg(long)]
    sarif: bool,
    /// Exit 1 when a finding is this severe or worse: error, warning or never.
    #[arg(long, value_name = "LEVEL", default_value = "error")]
    fail_on: String,
    /// The packages' password, to look inside levels 2 and 3 (env:NAME, file:PATH or the text).
    #[arg(long)]
    password: Option<String>,
    /// SQL Server of sql:... sources without a server in them.
    #[arg(long, visible_alias = "source-server")]
    sql_server: Option<String>,
    /// SQL login for msdb sources (without one: integrated authentication); also
    /// `--source-user`, as `dtutil batch` names the login of its `--from`.
    #[arg(long, visible_alias = "source-user")]
    sql_user: Option<String>,
    /// Password of --sql-user (env:NAME, file:PATH or the text).
    #[arg(long, visible_alias = "source-password")]
    sql_password: Option<String>,
    /// Packages assessed at once.
    #[arg(long, default_value_t = DEFAULT_JOBS)]
    jobs: usize,
    /// Packages, folders, globs, .ispac files, sql://, dts: or Azure Files directories.
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<String>,
}

/// `dtutil assess --help` / `dtutil /H assess`.
pub(super) fn help() -> String {
    Cli::command().render_long_help().to_string()
}

/// Its clap command (the options it knows).
pub(super) fn command() -> clap::Command {
    Cli::command()
}

/// Parses `assess ...` (the subcommand name first).
pub(super) fn parse(args: &[String]) -> Result<Command> {
    let c = Cli::try_parse_from(args).map_err(clap_error)?;
    let target_year = match c.target.trim().to_ascii_lowercase().as_str() {
        "azure-ssis-ir" | "azure" | "ir" => None,
        year => Some(
            crate::package::target::Runtime::parse(year)
                .map(|r| r.year)
                .ok_or_else(|| {
                    Error::command_line(format!(
                        "--target `{}` is not known: use azure-ssis-ir, or a SQL Server release 2012, 2014, 2016, 2017, 2019 or 2022",
                        c.target
                    ))
                })?,
        ),
    };
    let enterprise = match c.edition.trim().to_ascii_lowercase().as_str() {
        "standard" => false,
        "enterprise" => true,
        other => {
            return Err(Error::command_line(format!(
                "--edition `{other}` is not known: use standard or enterprise"
            )))
        }
    };
    let fail_on = match c.fail_on.trim().to_ascii_lowercase().as_str() {
        "error" => FailOn::Error,
        "warning" => FailOn::Warning,
        "never" => FailOn::Never,
        other => {
            return Err(Error::command_line(format!(
                "--fail-on `{other}` is not known: use error, warning or never"
            )))
        }
    };
    if c.jobs == 0 || c.jobs > MAX_JOBS {
        return Err(Error::command_line(format!(
            "--jobs must be 1 to {MAX_JOBS}, not {}",
            c.jobs
        )));
    }
    if c.sql_password.is_some() && c.sql_user.is_none() {
        return Err(Error::command_line(
            "--sql-password needs --sql-user as well; without a user, integrated authentication is used",
        ));
    }
    values::login_name("--sql-user", c.sql_user.as_deref())?;
    let sources = c
        .sources
        .iter()
        .map(|s| BatchLocation::parse(s, "SOURCE"))
        .collect::<Result<Vec<_>>>()?;
    Ok(Command::Assess(Box::new(AssessPlan {
        sources,
        sql: SqlConnection {
            server: c.sql_server,
            user: c.sql_user,
            password: c.sql_password.as_deref().map(SecretSpec::parse),
        },
        password: c.password.as_deref().map(SecretSpec::parse),
        target_year,
        enterprise,
        format: if c.sarif {
            AssessFormat::Sarif
        } else if c.json {
            AssessFormat::Json
        } else {
            AssessFormat::Text
        },
        fail_on,
        jobs: c.jobs,
    })))
}
