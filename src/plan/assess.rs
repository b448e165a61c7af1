//! `dtutil assess` (issue 18): what the command line asked for, no I/O done.

use super::{BatchLocation, SecretSpec, SqlConnection};

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssessFormat {
    /// Grouped by package, then a summary table.
    #[default]
    Text,
    /// One JSON object per finding.
    Json,
    /// One SARIF 2.1.0 log (GitHub code scanning).
    Sarif,
}

/// The least severe finding that makes the run exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    #[default]
    Error,
    Warning,
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessPlan {
    /// Each SOURCE as `batch --from` reads it (a local file is a `Dir` here: the
    /// command tells files from folders when it runs).
    pub sources: Vec<BatchLocation>,
    /// msdb and package store sources: server and login.
    pub sql: SqlConnection,
    /// The packages' password (levels 2 and 3).
    pub password: Option<SecretSpec>,
    /// `None`: the Azure-SSIS IR (SQL Server 2017's runtime); else an on-premises
    /// SQL Server release.
    pub target_year: Option<u32>,
    pub enterprise: bool,
    pub format: AssessFormat,
    pub fail_on: FailOn,
    pub jobs: usize,
}
