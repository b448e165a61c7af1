//! What a connection manager connects to, read from its creation name and
//! connection string: files, server, sign-in, provider or driver.

use super::rules::{
    AZURE_HOST_SUFFIXES, BUILTIN_ADONET_TYPES, BUILTIN_ODBC_DRIVERS, BUILTIN_OLEDB_PROVIDERS,
};
use crate::package::objects::Object;

/// Connection managers whose connection string is a file path (`|` separates several).
const FILE_MANAGERS: &[&str] = &["file", "flatfile", "multifile", "multiflatfile"];
/// Keys naming the server in `key=value;` connection strings.
const SERVER_KEYS: &[&str] = &[
    "data source",
    "server",
    "address",
    "addr",
    "network address",
    "host",
    "hostname",
    "smtpserver",
    "sqlservername",
];
/// Keys naming a file (Access/Excel through ACE or Jet, ODBC's DBQ).
const FILE_KEYS: &[&str] = &["data source", "dbq", "database", "filename"];

pub struct Connection {
    /// Lowercased creation name without a trailing version (`oledb`, `flatfile`,
    /// `ado.net:system.data.sqlclient.sqlconnection, system.data, ...`).
    creation: String,
    text: String,
    /// `key=value` pairs, keys lowercased with spaces collapsed.
    pairs: Vec<(String, String)>,
}

impl Connection {
    pub fn of(object: &Object) -> Self {
        let creation = object
            .get("CreationName")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let text = object
            .get("ConnectionString")
            .unwrap_or_default()
            .trim()
            .to_string();
        let pairs = if FILE_MANAGERS.contains(&creation.as_str()) {
            Vec::new()
        } else {
            pairs(&text)
        };
        Self {
            creation,
            text,
            pairs,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the rules looked at (redacted when the finding is made).
    pub fn evidence(&self) -> String {
        format!("ConnectionString={}", self.text)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn provider(&self) -> Option<String> {
        self.get("provider").map(|p| p.trim().to_ascii_lowercase())
    }

    fn is_file_provider(&self) -> bool {
        self.creation == "excel"
            || self
                .provider()
                .is_some_and(|p| p.contains("ace.oledb") || p.contains("jet.oledb"))
    }

    /// Files the connection reaches.
    pub fn paths(&self) -> Vec<String> {
        if FILE_MANAGERS.contains(&self.creation.as_str()) {
            return self
                .text
                .split('|')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
        }
        FILE_KEYS
            .iter()
            .filter_map(|k| self.get(k))
            .map(|v| v.trim().to_string())
            .filter(|v| v.contains(['\\', '/']))
            .collect()
    }

    /// The server it names, if it names one.
    pub fn host(&self) -> Option<String> {
        if self.creation == "ftp" {
            return ftp_host(&self.text);
        }
        if FILE_MANAGERS.contains(&self.creation.as_str()) || self.is_file_provider() {
            return None;
        }
        if let Some(server) = self.get("servername") {
            // WMI: `ServerName=\\host`.
            return Some(server.trim_start_matches('\\').to_string()).filter(|h| !h.is_empty());
        }
        SERVER_KEYS
            .iter()
            .find_map(|k| self.get(k))
            .map(str::to_string)
            .filter(|v| !v.contains(":\\") && !v.starts_with("\\\\"))
    }

    pub fn windows_auth(&self) -> Option<String> {
        let on = |key: &str, values: &[&str]| {
            self.get(key)
                .filter(|v| values.contains(&v.trim().to_ascii_lowercase().as_str()))
                .map(|v| format!("{key}={}", v.trim()))
        };
        on("integrated security", &["sspi", "true", "yes"])
            .or_else(|| on("trusted_connection", &["yes", "true"]))
            .or_else(|| on("usewindowsauthentication", &["true"]))
            .or_else(|| on("usentauth", &["true"]))
    }

    /// Why the provider or driver is not one the IR has, if it is not.
    pub fn foreign_provider(&self) -> Option<String> {
        if let Some(adonet) = self.creation.strip_prefix("ado.net:") {
            let type_name = adonet.split(',').next().unwrap_or_default().trim();
            if !type_name.is_empty() && !BUILTIN_ADONET_TYPES.contains(&type_name) {
                return Some(format!(
                    "the ADO.NET provider `{type_name}` is not part of the .NET Framework on the IR"
                ));
            }
            return None;
        }
        if self.creation.starts_with("odbc") {
            if let Some(driver) = self.get("driver") {
                let name = driver
                    .trim()
                    .trim_matches(['{', '}'])
                    .trim()
                    .to_ascii_lowercase();
                if !BUILTIN_ODBC_DRIVERS.contains(&name.as_str()) {
                    return Some(format!(
                        "the ODBC driver `{}` is not installed on the IR",
                        driver.trim()
                    ));
                }
            } else if let Some(dsn) = self.get("dsn") {
                return Some(format!(
                    "the ODBC data source name `{}` must be set up (with its driver) on the IR",
                    dsn.trim()
                ));
            }
            return None;
        }
        let provider = self.provider()?;
        if provider.starts_with('@') || provider.is_empty() {
            return None;
        }
        let builtin = BUILTIN_OLEDB_PROVIDERS.iter().any(|b| {
            if b.starts_with("microsoft.ace") {
                provider == *b
            } else {
                strip_version(&provider) == *b
            }
        });
        (!builtin).then(|| format!("the OLE DB provider `{provider}` is not installed on the IR"))
    }

    pub fn is_analysis_services(&self) -> bool {
        self.creation.starts_with("msolap")
            || self.provider().is_some_and(|p| p.starts_with("msolap"))
    }

    pub fn snac_provider(&self) -> Option<String> {
        self.provider().filter(|p| p.starts_with("sqlncli"))
    }
}

/// `sqlncli11.1` → `sqlncli11`, `msolap.8` → `msolap`.
fn strip_version(provider: &str) -> &str {
    let mut p = provider;
    while let Some((head, tail)) = p.rsplit_once('.') {
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
            p = head;
        } else {
            break;
        }
    }
    p
}

/// `key=value;` pairs; values may be quoted (`'..'`, `".."`) or braced (`{..}`).
fn pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let key: String = rest[..eq]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_start_matches(';')
            .trim()
            .to_ascii_lowercase();
        let value = rest[eq + 1..].trim_start();
        let (value, after) = match value.chars().next() {
            Some(q @ ('\'' | '"')) => match value[1..].find(q) {
                Some(i) => (&value[1..i + 1], &value[i + 2..]),
                None => (&value[1..], ""),
            },
            Some('{') => match value.find('}') {
                Some(i) => (&value[..=i], &value[i + 1..]),
                None => (value, ""),
            },
            _ => match value.find(';') {
                Some(i) => (&value[..i], &value[i..]),
                None => (value, ""),
            },
        };
        out.push((key, value.trim().to_string()));
        rest = after.trim_start_matches(|c: char| c == ';' || c.is_whitespace());
    }
    out
}

/// The server of an FTP connection manager's `host:port` (as SSIS saves it), also
/// written as a URL with credentials (`ftp://user:password@host:21/dir`).
fn ftp_host(text: &str) -> Option<String> {
    let rest = text.split_once("://").map_or(text, |(_, after)| after);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port.split(':').next().unwrap_or_default().trim();
    (!host.is_empty()).then(|| host.to_string())
}

/// An absolute Windows path (`C:\`, `C:/`) or a UNC path (`\\server\share`).
pub fn is_absolute_or_unc(path: &str) -> bool {
    let p = path.trim().trim_matches('"');
    let b = p.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || p.starts_with("\\\\")
        || p.starts_with("//")
}

/// Names of `%NAME%` Windows environment variables in a text.
pub fn env_variables(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut parts = text.split('%');
    parts.next();
    let mut pending: Option<&str> = parts.next();
    while let Some(name) = pending {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '(' | ')'));
        if valid && parts.clone().next().is_some() {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                out.push(name.to_string());
            }
            parts.next();
        }
        pending = parts.next();
    }
    out
}

/// Why a server name is a problem on the IR, if it is one.
pub fn host_problem(raw: &str) -> Option<String> {
    let mut host = raw.trim().trim_matches(['"', '\'']);
    if host.is_empty() || host.starts_with('@') || host.starts_with('$') {
        return None;
    }
    for prefix in ["tcp:", "np:", "lpc:", "admin:"] {
        if host.len() > prefix.len() && host[..prefix.len()].eq_ignore_ascii_case(prefix) {
            host = &host[prefix.len()..];
        }
    }
    // `asazure://region.asazure.windows.net/server`, `https://host/...`
    if let Some((_, after)) = host.split_once("://") {
        host = after;
    }
    let host = host.trim_start_matches('\\');
    let name = host
        .split(['\\', ',', ':', '/'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    if matches!(name.as_str(), "(local)" | "." | "localhost" | "127.0.0.1")
        || name.starts_with("(localdb)")
    {
        return Some(format!(
            "server `{}` is the machine running the package: on the IR that is an IR node, not your server",
            raw.trim()
        ));
    }
    let ipv4 = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    if ipv4 || AZURE_HOST_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return None;
    }
    Some(format!(
        "server `{}` is a host name the IR must resolve and reach",
        raw.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_string_pairs() {
        let p = pairs("Data Source=db1\\INST,1433;Provider=SQLNCLI11.1; Integrated  Security = SSPI ;Extended Properties=\"Excel 12.0;HDR=YES\";Driver={ODBC Driver 17 for SQL Server}");
        assert_eq!(p[0], ("data source".into(), "db1\\INST,1433".into()));
        assert_eq!(p[2], ("integrated security".into(), "SSPI".into()));
        assert_eq!(
            p[3],
            ("extended properties".into(), "Excel 12.0;HDR=YES".into())
        );
        assert_eq!(
            p[4],
            ("driver".into(), "{ODBC Driver 17 for SQL Server}".into())
        );
        assert_eq!(strip_version("sqlncli11.1"), "sqlncli11");
        assert_eq!(
            strip_version("microsoft.ace.oledb.12.0"),
            "microsoft.ace.oledb"
        );
    }

    #[test]
    fn paths_hosts_and_variables() {
        assert!(is_absolute_or_unc("C:\\data\\a.csv"));
        assert!(is_absolute_or_unc("\\\\srv\\share\\a.csv"));
        assert!(!is_absolute_or_unc("data\\a.csv"));
        assert!(!is_absolute_or_unc("%TEMP%\\a.csv"));
        assert_eq!(
            env_variables("%TEMP%\\x%20y\\%ProgramFiles(x86)%"),
            ["TEMP", "ProgramFiles(x86)"]
        );
        assert_eq!(env_variables("100% sure"), Vec::<String>::new());
        assert!(host_problem("db1.corp.local,1433")
            .unwrap()
            .contains("db1.corp.local"));
        assert!(host_problem("tcp:x.database.windows.net,1433").is_none());
        assert!(host_problem("10.1.2.3").is_none());
        assert!(host_problem("(local)").unwrap().contains("IR node"));
        assert!(host_problem("@[$Project::Server]").is_none());
        assert_eq!(ftp_host("ftphost:21").as_deref(), Some("ftphost"));
        assert_eq!(
            ftp_host("ftp://user:S3cretG7@ftphost:21").as_deref(),
            Some("ftphost")
        );
        assert_eq!(ftp_host("ftp://ftphost/dir").as_deref(), Some("ftphost"));
    }
}
