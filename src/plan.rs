//! Validated commands: what the command line asked for, with no I/O done yet.
//!
//! `cli` builds a [`Command`]; `app` hands it to the module that runs it: a [`Plan`]
//! (dtutil's own actions) to `ops`, a [`BatchPlan`] to `batch`, a [`ProjectPlan`] to
//! `project`, an [`InspectPlan`] to `inspect`. Plain data: nothing here knows about XML
//! or storage, and nothing here has resolved a secret: passwords stay as
//! [`SecretSpec`] until the command needs them, so `--dry-run` never reads a file or
//! env var. Domain types come from below (`crypto`, `package`); nothing here is
//! re-exported.

pub mod assess;
pub mod cmd_variables;
pub mod ir;

use crate::crypto::Algorithm;
use crate::package::ProtectionLevel;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroize;

/// A password as given on the command line, not yet read.
///
/// `env:NAME` and `file:PATH` keep passwords out of the process list and shell
/// history; `pass:TEXT` forces a literal that happens to start with `env:` or `file:`.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSpec {
    Literal(String),
    Env(String),
    File(String),
}

impl SecretSpec {
    pub fn parse(raw: &str) -> Self {
        if let Some(name) = raw.strip_prefix("env:") {
            Self::Env(name.to_string())
        } else if let Some(path) = raw.strip_prefix("file:") {
            Self::File(path.to_string())
        } else if let Some(text) = raw.strip_prefix("pass:") {
            Self::Literal(text.to_string())
        } else {
            Self::Literal(raw.to_string())
        }
    }

    /// What may be shown of it: never the value, only where it comes from.
    pub fn describe(&self) -> String {
        match self {
            Self::Literal(_) => "***".to_string(),
            Self::Env(name) => format!("env:{name}"),
            Self::File(path) => format!("file:{path}"),
        }
    }
}

impl Drop for SecretSpec {
    fn drop(&mut self) {
        if let Self::Literal(s) = self {
            s.zeroize();
        }
    }
}

impl fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Serialize for SecretSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.describe())
    }
}

/// dtutil's three location keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LocationKind {
    File,
    Sql,
    Dts,
}

impl LocationKind {
    pub fn keyword(self) -> &'static str {
        match self {
            Self::File => "FILE",
            Self::Sql => "SQL",
            Self::Dts => "DTS",
        }
    }
}

/// SQL Server credentials for one side (source or destination).
/// No user means integrated authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SqlConnection {
    /// `None`: the local default instance, as dtutil does.
    pub server: Option<String>,
    pub user: Option<String>,
    pub password: Option<SecretSpec>,
}

impl SqlConnection {
    /// A login name holding a connection string's secret (`etl;Password=...`, pasted
    /// whole): refused by the command line, never shown.
    pub fn login_holds_a_secret(user: &str) -> bool {
        crate::redact::holds_secret_pair(user)
    }

    /// A login name as messages show it ([`crate::redact::login_name`]).
    pub fn login_shown(user: &str) -> String {
        crate::redact::login_name(user)
    }
}

/// Where a package lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageLocation {
    pub kind: LocationKind,
    /// As typed: a file path for FILE, `Folder\Name` for SQL and DTS.
    pub path: String,
    /// Server and credentials for SQL (and for DTS roots backed by msdb).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<SqlConnection>,
}

/// Where a folder action happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FolderLocation {
    pub kind: LocationKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<SqlConnection>,
}

/// What to do with the source package (or folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Copy {
        destination: PackageLocation,
    },
    Move {
        destination: PackageLocation,
    },
    Delete,
    Exists,
    Encrypt {
        destination: PackageLocation,
        level: ProtectionLevel,
        password: Option<SecretSpec>,
    },
    Sign {
        destination: PackageLocation,
        hash: String,
    },
    /// `/I` with only a source: a new package ID written back in place.
    RegenerateId,
    Dump {
        process_id: String,
    },
    FolderCreate {
        folder: FolderLocation,
        parent: String,
        name: String,
    },
    FolderDelete {
        folder: FolderLocation,
        parent: String,
        name: String,
    },
    FolderDirectory {
        folder: FolderLocation,
        path: String,
        recursive: bool,
    },
    FolderExists {
        folder: FolderLocation,
        path: String,
    },
    FolderRename {
        folder: FolderLocation,
        parent: String,
        old_name: String,
        new_name: String,
    },
    /// `/?`, `/H`, `/H Option`.
    Help {
        option: Option<String>,
    },
}

impl Action {
    pub fn destination(&self) -> Option<&PackageLocation> {
        match self {
            Action::Copy { destination }
            | Action::Move { destination }
            | Action::Encrypt { destination, .. }
            | Action::Sign { destination, .. } => Some(destination),
            _ => None,
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    #[default]
    Text,
    Json,
}

/// A validated dtutil command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    #[serde(flatten)]
    pub action: Action,
    /// The package acted on; `None` for folder actions and help.
    pub source: Option<PackageLocation>,
    /// `/Decrypt`: the password the source package was saved with.
    pub decrypt: Option<SecretSpec>,
    /// `/Q`: overwrite without asking (and accept lost user-key values).
    pub quiet: bool,
    /// `/R`: comments, ignored as dtutil ignores them.
    pub remarks: Vec<String>,
    /// `/I`: a new package ID on the written package.
    pub regenerate_id: bool,
    /// `--algorithm`: cipher for re-encrypted nodes; `None` keeps each package's own.
    pub algorithm: Option<Algorithm>,
    /// `--allow-lost-sensitive`: write a user-key package whose values cannot be read here.
    pub allow_lost_sensitive: bool,
    /// `--store-config`: the package store's MsDtsSrvr.ini.xml for DTS locations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_config: Option<String>,
    /// `--ir`: DTS roots are this Azure-SSIS IR's package stores (else `DTUTIL_IR`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ir: Option<String>,
    /// `--target-version`: the SQL Server release whose SSIS runtime must load the result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_version: Option<u32>,
    pub output: OutputMode,
    pub dry_run: bool,
}

/// `dtutil inspect`: what packages and project files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectPlan {
    pub paths: Vec<String>,
    pub password: Option<SecretSpec>,
    pub json: bool,
    /// `--target-version`: also judge each package against that runtime.
    pub target_version: Option<u32>,
}

/// `dtutil project`: re-protect a project deployment (folder or .ispac).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectPlan {
    /// A project folder (with one `.dtproj`), a `.dtproj` file, or an `.ispac`.
    pub path: String,
    pub decrypt: Option<SecretSpec>,
    /// `None`: only open and check every file (the password included); write nothing.
    pub encrypt_level: Option<ProtectionLevel>,
    pub encrypt_password: Option<SecretSpec>,
    /// A folder (for a folder project) or an `.ispac` (for an `.ispac`); default: in place.
    pub out: Option<String>,
    /// `--out` may replace an existing .ispac or existing files in its folder.
    pub overwrite: bool,
    pub dry_run: bool,
    pub json: bool,
    /// For packages (`.dtsx`); project files are always written with Triple DES.
    pub algorithm: Option<Algorithm>,
    /// Level 1 (user-key) values, which cannot be opened off Windows, are written blank
    /// (each named) instead of refusing the project.
    pub allow_lost_sensitive: bool,
}

/// Where `dtutil batch` reads from or writes to (`--from`, `--to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchLocation {
    Dir(PathBuf),
    Glob {
        base: PathBuf,
        /// The pattern's components below `base`.
        pattern: Vec<String>,
        raw: String,
    },
    Sql {
        /// From the URL; `None` uses `--source-server` / `--dest-server`.
        server: Option<String>,
        /// `A\B`, empty for the root.
        folder: String,
    },
    Dts {
        folder: String,
    },
    Azure {
        /// As given (an https URL may carry a SAS the store needs).
        raw: String,
        /// `\\host\share\dir` form, used to build child paths.
        unc: String,
    },
}

impl BatchLocation {
    /// A local directory, or a glob: the components before the first one holding
    /// `*`, `?` or `[` are its base.
    pub fn local(raw: &str) -> Self {
        if !Self::has_glob(raw) {
            return Self::Dir(PathBuf::from(raw));
        }
        let mut base = PathBuf::new();
        let mut pattern = Vec::new();
        for comp in std::path::Path::new(raw).components() {
            let s = comp.as_os_str().to_string_lossy().to_string();
            if pattern.is_empty() && !Self::has_glob(&s) {
                base.push(comp);
            } else {
                pattern.push(s);
            }
        }
        if base.as_os_str().is_empty() {
            base = PathBuf::from(".");
        }
        Self::Glob {
            base,
            pattern,
            raw: raw.to_string(),
        }
    }

    pub fn has_glob(s: &str) -> bool {
        s.contains(['*', '?', '['])
    }

    /// Whether a location's text holds a `key=value` pair naming a secret (a URL's
    /// `?password=`, a pasted `;Pwd=`): the text may then never be echoed.
    pub fn carries_a_password(text: &str) -> bool {
        crate::redact::holds_secret_pair(text)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dir(_) => "directory",
            Self::Glob { .. } => "glob",
            Self::Sql { .. } => "msdb",
            Self::Dts { .. } => "package store",
            Self::Azure { .. } => "Azure Files",
        }
    }

    /// The location as shown in plans and reports (`server` fills in `SQL:`).
    pub fn display(&self, server: Option<&str>) -> String {
        match self {
            Self::Dir(p) => p.display().to_string(),
            Self::Glob { raw, .. } => raw.clone(),
            Self::Sql { server: s, folder } => format!(
                "sql://{}/{}",
                crate::redact::sql_server(s.as_deref().or(server).unwrap_or("(local)")),
                folder.replace('\\', "/")
            ),
            Self::Dts { folder } => format!("dts:{folder}"),
            Self::Azure { unc, .. } => unc.clone(),
        }
    }
}

/// `dtutil batch`: a whole migration in one run (SPEC 6); passwords not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    pub from: BatchLocation,
    pub to: BatchLocation,
    pub source_sql: SqlConnection,
    pub dest_sql: SqlConnection,
    pub encrypt: Option<(ProtectionLevel, Option<SecretSpec>)>,
    pub decrypt: Option<SecretSpec>,
    pub algorithm: Option<Algorithm>,
    pub regenerate_ids: bool,
    pub overwrite: bool,
    pub skip_existing: bool,
    pub jobs: usize,
    /// `--in-flight-bytes`: the packages in flight hold at most this much together.
    pub in_flight_bytes: u64,
    pub dry_run: bool,
    pub json: bool,
    pub report: Option<String>,
    pub resume: Option<String>,
    pub fail_fast: bool,
    /// `--follow-links`: a local source's symbolic links are followed (loops reported).
    pub follow_links: bool,
    pub allow_lost_sensitive: bool,
    pub target_version: Option<u32>,
    /// `--store-config`: the package store's file, over the environment's.
    pub store_config: Option<String>,
    /// `--ir`: dts: roots are this Azure-SSIS IR's package stores (else `DTUTIL_IR`).
    pub ir: Option<String>,
    /// `--assess`: `dtutil assess`'s rules on every package, findings in the report.
    pub assess: bool,
}

/// Everything the command line can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Dtutil(Box<Plan>),
    Inspect(InspectPlan),
    /// `dtutil project`: re-protect a project deployment (folder or .ispac).
    Project(ProjectPlan),
    /// `dtutil batch`: a whole migration in one run (SPEC 6).
    Batch(Box<BatchPlan>),
    /// `dtutil ir`: the Azure-SSIS IR through ARM (issue 15).
    Ir(Box<ir::IrPlan>),
    /// `dtutil assess`: the Azure-SSIS migration assessment (issue 18).
    Assess(Box<assess::AssessPlan>),
    Version,
}

impl Command {
    /// Every password typed literally on the command line (not `env:`/`file:`), and the
    /// SAS query of an Azure URL: what start-up overwrites in the process's own argv so
    /// `/proc/PID/cmdline` stops showing it once parsing is done.
    pub fn literal_secrets(&self) -> Vec<&str> {
        fn add<'a>(out: &mut Vec<&'a str>, spec: Option<&'a SecretSpec>) {
            if let Some(SecretSpec::Literal(s)) = spec {
                if !s.is_empty() {
                    out.push(s);
                }
            }
        }
        fn add_sql<'a>(out: &mut Vec<&'a str>, sql: Option<&'a SqlConnection>) {
            add(out, sql.and_then(|c| c.password.as_ref()));
        }
        fn add_sas<'a>(out: &mut Vec<&'a str>, location: &'a BatchLocation) {
            if let BatchLocation::Azure { raw, .. } = location {
                if let Some((_, query)) = raw.split_once('?') {
                    if !query.is_empty() {
                        out.push(query);
                    }
                }
            }
        }
        let mut out = Vec::new();
        match self {
            Command::Dtutil(plan) => {
                add(&mut out, plan.decrypt.as_ref());
                add_sql(&mut out, plan.source.as_ref().and_then(|s| s.sql.as_ref()));
                add_sql(
                    &mut out,
                    plan.action.destination().and_then(|d| d.sql.as_ref()),
                );
                if let Action::Encrypt { password, .. } = &plan.action {
                    add(&mut out, password.as_ref());
                }
                let folder = match &plan.action {
                    Action::FolderCreate { folder, .. }
                    | Action::FolderDelete { folder, .. }
                    | Action::FolderDirectory { folder, .. }
                    | Action::FolderExists { folder, .. }
                    | Action::FolderRename { folder, .. } => Some(folder),
                    _ => None,
                };
                add_sql(&mut out, folder.and_then(|f| f.sql.as_ref()));
            }
            Command::Inspect(plan) => add(&mut out, plan.password.as_ref()),
            Command::Project(plan) => {
                add(&mut out, plan.decrypt.as_ref());
                add(&mut out, plan.encrypt_password.as_ref());
            }
            Command::Batch(plan) => {
                add(&mut out, plan.decrypt.as_ref());
                add(
                    &mut out,
                    plan.encrypt.as_ref().and_then(|(_, p)| p.as_ref()),
                );
                add_sql(&mut out, Some(&plan.source_sql));
                add_sql(&mut out, Some(&plan.dest_sql));
                add_sas(&mut out, &plan.from);
                add_sas(&mut out, &plan.to);
            }
            Command::Ir(plan) => {
                if let ir::IrAction::Run(run) = &plan.action {
                    add(&mut out, run.package_password.as_ref());
                    add(&mut out, run.execution_password.as_ref());
                    let values = run
                        .params
                        .iter()
                        .chain(&run.property_overrides)
                        .map(|(_, v)| v)
                        .chain(run.connections.iter().map(|(_, _, v)| v));
                    for value in values {
                        if let ir::RunValue::Sensitive(spec) = value {
                            add(&mut out, Some(spec));
                        }
                    }
                }
            }
            Command::Assess(plan) => {
                add(&mut out, plan.password.as_ref());
                add_sql(&mut out, Some(&plan.sql));
                for source in &plan.sources {
                    add_sas(&mut out, source);
                }
            }
            Command::Version => {}
        }
        out
    }
}
