//! `dtutil ir ...` (issue 15) as validated data: which IR, which action, the run's
//! settings. Passwords stay [`SecretSpec`]s until the command needs them.

use super::SecretSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrPlan {
    /// `--ir` (else `DTUTIL_IR` is read when the command runs).
    pub ir: Option<String>,
    /// One JSON object per line.
    pub json: bool,
    pub action: IrAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrAction {
    Status,
    Stores,
    Run(Box<RunRequest>),
    /// Runs that are Queued, InProgress or Canceling, updated within `since`.
    Running {
        since: Since,
    },
    Stop(StopTarget),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopTarget {
    Run(String),
    /// `STORE\Folder\Name`: every running run of that package.
    Package(String),
}

/// How far back `running` looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since {
    pub seconds: u64,
}

impl Since {
    pub const DEFAULT: Since = Since {
        seconds: 3 * 24 * 3600,
    };

    /// `3d`, `12h`, `30m`, `90s` or a number of seconds.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => (&s[..i], &s[i..]),
            None => (s, "s"),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("--since `{s}`: expected a duration such as 3d, 12h, 30m"))?;
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("--since `{s}`: the unit is one of s, m, h, d")),
        };
        Ok(Since {
            seconds: n.saturating_mul(mult),
        })
    }
}

/// Where the package is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageRef {
    /// `STORE\Folder\Name` in one of the IR's package stores.
    Store(String),
    /// A `.dtsx` on Azure Files or a file share.
    File(String),
}

/// A value of `--param`, `--set` or `--connection`. A sensitive one is read when the
/// run starts (env:NAME, file:PATH or the text) and sent as a SecureString, which the
/// factory keeps encrypted and never shows again; a plain one is kept in the pipeline as
/// is, readable by anyone who may read the factory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunValue {
    Plain(String),
    Sensitive(SecretSpec),
}

impl RunValue {
    /// A connection manager property SSIS treats as sensitive (`Password`, the FTP and
    /// HTTP managers' `ServerPassword` and `ProxyPassword`: any name ending in a secret's
    /// word, so that a property dtutil does not know by name errs on the safe side), or
    /// a connection string that carries a secret (`Password=`, `AccountKey=`...).
    pub fn is_secret_property(property: &str, value: &str) -> bool {
        let name = property.trim().to_ascii_lowercase();
        ["password", "pwd", "secret", "key", "token", "sas"]
            .iter()
            .any(|word| name.ends_with(word))
            || (name == "connectionstring"
                && crate::redact::connection_string(value) != crate::redact::for_display(value))
    }

    /// [`is_secret_property`](Self::is_secret_property) for the property a `--set`
    /// path ends with: `\Package.Connections[DB].Properties[Password]`,
    /// `\Package.Connections[DB].Password`.
    pub fn is_secret_property_path(path: &str, value: &str) -> bool {
        let path = path.trim();
        let last = match path.strip_suffix(']') {
            Some(inner) => inner.rsplit('[').next().unwrap_or(inner),
            None => path.rsplit(['.', '\\']).next().unwrap_or(path),
        };
        Self::is_secret_property(last, value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub package: PackageRef,
    pub package_password: Option<SecretSpec>,
    pub config: Option<String>,
    /// `--param NAME=VALUE` (`$Project::` names go to the project parameters).
    pub params: Vec<(String, RunValue)>,
    /// `--set PROPERTY_PATH=VALUE`
    pub property_overrides: Vec<(String, RunValue)>,
    /// `--connection MANAGER.PROPERTY=VALUE`
    pub connections: Vec<(String, String, RunValue)>,
    pub runtime: Option<String>,
    pub logging_level: Option<String>,
    pub log_path: Option<String>,
    /// `DOMAIN\USER`
    pub execution_user: Option<String>,
    pub execution_password: Option<SecretSpec>,
    pub wait: bool,
    pub timeout_secs: Option<u64>,
}
