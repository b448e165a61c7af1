//! `dtutil ir`: the Azure-SSIS IR's status, package stores, package runs (issue 15).

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::plan::ir::{IrAction, IrPlan, PackageRef, RunRequest, RunValue, Since, StopTarget};
use crate::plan::{Command, SecretSpec};

use super::clap_error;

#[derive(Parser)]
#[command(
    name = "dtutil ir",
    bin_name = "dtutil ir",
    about = "The Azure-SSIS Integration Runtime through Azure Resource Manager: its state, its package stores, running and stopping packages",
    after_help = "IR: --ir ID or DTUTIL_IR, the IR's resource id (/subscriptions/S/resourceGroups/RG/providers/Microsoft.DataFactory/factories/F/integrationRuntimes/IR) or S/RG/F/IR.\nCredentials (the first configured is used): DTUTIL_ARM_ACCESS_TOKEN; AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET; AZURE_FEDERATED_TOKEN_FILE; IDENTITY_ENDPOINT or DTUTIL_ARM_MANAGED_IDENTITY=1; the Azure CLI (az).\nDTUTIL_ARM_ENDPOINT (default https://management.azure.com; tokens are asked for its origin + /.default, or DTUTIL_ARM_SCOPE), DTUTIL_ARM_CA (an extra CA to trust, PEM), DTUTIL_AZ_TIMEOUT (seconds az may take, 60)."
)]
struct Ir {
    /// The IR: resource id or S/RG/F/IR (default: DTUTIL_IR).
    #[arg(long, global = true, value_name = "ID")]
    ir: Option<String>,
    /// One JSON object per line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: IrCommand,
}

#[derive(Subcommand)]
enum IrCommand {
    /// State, nodes, edition and number of package stores; exit 1 unless Started.
    Status,
    /// Each package store: name, linked service, kind and location (never a secret).
    Stores,
    /// Run a package on the IR (creates or updates its pipeline, then starts a run).
    Run(Box<Run>),
    /// Runs that are Queued, InProgress or Canceling on this IR.
    Running {
        /// How far back: 3d (default), 12h, 30m...
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
    },
    /// Cancel a run (recursive), or every running run of a package.
    Stop {
        /// The pipeline run id.
        #[arg(
            value_name = "RUN_ID",
            required_unless_present = "package",
            conflicts_with = "package"
        )]
        run_id: Option<String>,
        /// STORE\Folder\Name: cancel all its running runs.
        #[arg(long, value_name = "STORE\\FOLDER\\NAME")]
        package: Option<String>,
    },
}

#[derive(clap::Args)]
struct Run {
    /// STORE\Folder\Name in one of the IR's package stores.
    #[arg(
        value_name = "PACKAGE",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    package: Option<String>,
    /// A .dtsx the IR can open: a UNC path (\\host\share\dir\Name.dtsx) or an https Azure
    /// Files URL; a local file is not uploaded.
    #[arg(long, value_name = "PATH")]
    file: Option<String>,
    /// The package's password (env:NAME, file:PATH or the text).
    #[arg(long, value_name = "PW")]
    package_password: Option<String>,
    /// A configuration file (.dtsConfig) for the run.
    #[arg(long, value_name = "PATH")]
    config: Option<String>,
    /// A parameter value: NAME=VALUE ($Project::NAME for a project parameter), kept in the
    /// pipeline as plain text.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// A sensitive parameter: NAME=VALUE, VALUE as env:NAME, file:PATH or the text; sent
    /// as a SecureString (the factory never shows it again).
    #[arg(long = "param-sensitive", value_name = "NAME=VALUE")]
    sensitive_params: Vec<String>,
    /// A property override: PROPERTY_PATH=VALUE.
    #[arg(long = "set", value_name = "PROPERTY_PATH=VALUE")]
    sets: Vec<String>,
    /// A sensitive property override (VALUE as for --param-sensitive).
    #[arg(long = "set-sensitive", value_name = "PROPERTY_PATH=VALUE")]
    sensitive_sets: Vec<String>,
    /// A connection manager property: MANAGER.PROPERTY=VALUE. A Password property, or a
    /// ConnectionString holding a password or key, is sensitive (as --connection-sensitive).
    #[arg(long = "connection", value_name = "MANAGER.PROPERTY=VALUE")]
    connections: Vec<String>,
    /// A sensitive connection manager property (VALUE as for --param-sensitive).
    #[arg(long = "connection-sensitive", value_name = "MANAGER.PROPERTY=VALUE")]
    sensitive_connections: Vec<String>,
    /// 32- or 64-bit runtime.
    #[arg(long, value_parser = ["x64", "x86"])]
    runtime: Option<String>,
    /// SSIS logging level.
    #[arg(long, value_parser = ["None", "Basic", "Performance", "Verbose"])]
    logging_level: Option<String>,
    /// Where the IR writes the run's log files.
    #[arg(long, value_name = "PATH")]
    log_path: Option<String>,
    /// Run as this Windows user: DOMAIN\USER.
    #[arg(long, value_name = "DOMAIN\\USER", requires = "execution_password")]
    execution_user: Option<String>,
    /// The execution user's password (env:NAME, file:PATH or the text).
    #[arg(long, value_name = "PW", requires = "execution_user")]
    execution_password: Option<String>,
    /// Follow the run to its end: exit 0 on Succeeded, 1 on Failed or Cancelled, 130 on
    /// Ctrl-C (the run goes on).
    #[arg(long)]
    wait: bool,
    /// With --wait: stop waiting after SECS seconds, exit 3 (the run goes on).
    #[arg(long, value_name = "SECS", requires = "wait")]
    timeout: Option<u64>,
}

/// `NAME=VALUE`. A malformed value of a `-sensitive` option, or one that names a
/// secret (`OLEPassword:SeCr2`), is not echoed: it is most likely the secret itself
/// given without its name.
fn pair(flag: &str, v: &str) -> Result<(String, String)> {
    match v.split_once('=') {
        Some((k, val)) if !k.trim().is_empty() => Ok((k.trim().to_string(), val.to_string())),
        _ if flag.ends_with("-sensitive") || looks_secret(v) => Err(Error::command_line(format!(
            "{flag}: the value has no NAME= (it is not shown, as it may be a secret): write {flag} NAME=VALUE, the value as env:NAME or file:PATH"
        ))),
        _ => Err(Error::command_line(format!(
            "{flag} `{v}`: expected NAME=VALUE"
        ))),
    }
}

/// Text that names a password, key or secret, or is a connection string carrying one.
fn looks_secret(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    ["password", "pwd", "secret", "key", "token", "sig="]
        .iter()
        .any(|word| lower.contains(word))
        || RunValue::is_secret_property("ConnectionString", v)
}

pub(super) fn parse(args: &[String]) -> Result<Command> {
    let parsed = Ir::try_parse_from(args).map_err(clap_error)?;
    let action = match parsed.command {
        IrCommand::Status => IrAction::Status,
        IrCommand::Stores => IrAction::Stores,
        IrCommand::Running { since } => IrAction::Running {
            since: since
                .as_deref()
                .map(Since::parse)
                .transpose()
                .map_err(Error::command_line)?
                .unwrap_or(Since::DEFAULT),
        },
        IrCommand::Stop { run_id, package } => IrAction::Stop(match (run_id, package) {
            (Some(r), _) => StopTarget::Run(r),
            (None, Some(p)) => StopTarget::Package(p),
            (None, None) => unreachable!("clap requires one"),
        }),
        IrCommand::Run(r) => IrAction::Run(Box::new(run_request(*r)?)),
    };
    Ok(Command::Ir(Box::new(IrPlan {
        ir: parsed.ir,
        json: parsed.json,
        action,
    })))
}

fn run_request(r: Run) -> Result<RunRequest> {
    let package = match (r.package, r.file) {
        (Some(p), _) => PackageRef::Store(p),
        (None, Some(f)) => PackageRef::File(f),
        (None, None) => unreachable!("clap requires one"),
    };
    let sensitive = |v: &str| RunValue::Sensitive(SecretSpec::parse(v));
    let mut connections = Vec::new();
    let all_connections = r
        .connections
        .iter()
        .map(|c| (c, false))
        .chain(r.sensitive_connections.iter().map(|c| (c, true)));
    for (c, marked) in all_connections {
        let flag = if marked {
            "--connection-sensitive"
        } else {
            "--connection"
        };
        let (lhs, value) = pair(flag, c)?;
        let (manager, property) = lhs.rsplit_once('.').ok_or_else(|| {
            Error::command_line(format!("{flag} `{lhs}`: expected MANAGER.PROPERTY=VALUE"))
        })?;
        let value = if marked || RunValue::is_secret_property(property, &value) {
            sensitive(&value)
        } else {
            RunValue::Plain(value)
        };
        connections.push((manager.to_string(), property.to_string(), value));
    }
    let values =
        |plain: &[String], secret: &[String], flag: &str| -> Result<Vec<(String, RunValue)>> {
            let mut out = Vec::new();
            for p in plain {
                let (k, v) = pair(flag, p)?;
                // A property path ending in a secret's property is sent as one.
                let value = if flag == "--set" && RunValue::is_secret_property_path(&k, &v) {
                    sensitive(&v)
                } else {
                    RunValue::Plain(v)
                };
                out.push((k, value));
            }
            for p in secret {
                let (k, v) = pair(&format!("{flag}-sensitive"), p)?;
                out.push((k, sensitive(&v)));
            }
            Ok(out)
        };
    let params = values(&r.params, &r.sensitive_params, "--param")?;
    let property_overrides = values(&r.sets, &r.sensitive_sets, "--set")?;
    Ok(RunRequest {
        package,
        package_password: r.package_password.as_deref().map(SecretSpec::parse),
        config: r.config,
        params,
        property_overrides,
        connections,
        runtime: r.runtime,
        logging_level: r.logging_level,
        log_path: r.log_path,
        execution_user: r.execution_user,
        execution_password: r.execution_password.as_deref().map(SecretSpec::parse),
        wait: r.wait,
        timeout_secs: r.timeout,
    })
}

/// `dtutil ir run --help`: one of `ir`'s subcommands' own help.
pub(super) fn sub_help(name: &str) -> Option<String> {
    use clap::CommandFactory;
    let mut ir = Ir::command();
    ir.build();
    let sub = ir.find_subcommand_mut(name)?;
    Some(sub.render_long_help().to_string())
}

/// `dtutil ir --help`
pub(super) fn help() -> String {
    use clap::CommandFactory;
    Ir::command().render_long_help().to_string()
}

/// Its clap command (the options it and its subcommands know).
pub(super) fn command() -> clap::Command {
    use clap::CommandFactory;
    Ir::command()
}
