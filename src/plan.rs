//! The validated plan: what the command line asked for, with no I/O done yet.
//!
//! `cli` builds a [`Plan`]; `ops` carries it out. Nothing here knows about XML or
//! storage, and nothing here has resolved a secret: passwords stay as
//! [`SecretSpec`] until `ops` needs them, so `--dry-run` never reads a file or env var.

use serde::Serialize;
use std::fmt;
use zeroize::Zeroize;

use crate::crypto::Algorithm;
use crate::package::ProtectionLevel;

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
    /// `--target-version`: the SQL Server release whose SSIS runtime must load the result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_version: Option<u32>,
    pub output: OutputMode,
    pub dry_run: bool,
}

/// Arguments of `dtutil inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectArgs {
    pub paths: Vec<String>,
    pub password: Option<SecretSpec>,
    pub json: bool,
    /// `--target-version`: also judge each package against that runtime.
    pub target_version: Option<u32>,
}

/// Everything the command line can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Dtutil(Box<Plan>),
    Inspect(InspectArgs),
    /// `dtutil project`: re-protect a project deployment (folder or .ispac).
    Project(crate::project::ProjectArgs),
    /// `dtutil batch`: a whole migration in one run (SPEC 6).
    Batch(Box<crate::batch::BatchArgs>),
    Version,
}
