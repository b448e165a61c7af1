//! Azure Files paths: the UNC and https forms, parsed into share and names.

use super::client::encode;
use crate::store::{path, StoreError, StoreResult};

/// True when a FILE path names an Azure Files share (UNC or https form).
pub fn is_azure_files_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    (lower.starts_with("\\\\") || lower.starts_with("//") || lower.starts_with("https://"))
        && host_part(&lower).contains(".file.core.")
}

fn host_part(lower: &str) -> &str {
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.get(2..))
        .unwrap_or("");
    rest.split(['\\', '/']).next().unwrap_or("")
}

/// The Azure Files host suffixes of Azure's clouds (global, China, US Government), as
/// the storage endpoints documentation lists them: a request goes to
/// `ACCOUNT.SUFFIX` only for these; any other endpoint must be named explicitly
/// (`DTUTIL_AZURE_FILES_ENDPOINT`, or a connection string's FileEndpoint).
pub const CLOUD_SUFFIXES: [&str; 3] = [
    "file.core.windows.net",
    "file.core.chinacloudapi.cn",
    "file.core.usgovcloudapi.net",
];

/// A parsed Azure Files path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzPath {
    /// `ACCOUNT.file.core.SUFFIX`, lower-cased, checked by [`check_host`]: no port,
    /// no user information.
    pub host: String,
    /// The host ends in one of [`CLOUD_SUFFIXES`]: requests may go to it; else only
    /// to an explicit endpoint.
    pub cloud: bool,
    /// The storage account (the host's first label), lower-cased.
    pub account: String,
    pub share: String,
    /// Directories and the file name, decoded.
    pub segments: Vec<String>,
    /// A SAS carried by an https URL (`?sv=...&sig=...`).
    pub sas: Option<String>,
}

impl AzPath {
    pub fn parse(path: &str) -> StoreResult<Self> {
        let bad = |why: &str| {
            StoreError::Failed(format!(
                "`{path}` is not an Azure Files path: {why} (expected \\\\ACCOUNT.file.core.windows.net\\SHARE\\dir\\p.dtsx or https://ACCOUNT.file.core.windows.net/SHARE/dir/p.dtsx)"
            ))
        };
        let (rest, url, sas) = if path.len() > 8 && path[..8].eq_ignore_ascii_case("https://") {
            let rest = &path[8..];
            let rest = rest.split('#').next().unwrap_or("");
            match rest.split_once('?') {
                Some((r, q)) if !q.is_empty() => (r, true, Some(q.to_string())),
                Some((r, _)) => (r, true, None),
                None => (rest, true, None),
            }
        } else if path.starts_with("\\\\") || path.starts_with("//") {
            (&path[2..], false, None)
        } else {
            return Err(bad("it must start with \\\\ or https://"));
        };
        let mut parts = rest.split(['\\', '/']);
        let host = parts.next().unwrap_or("").to_ascii_lowercase();
        let (account, cloud) = check_host(&host).map_err(|why| bad(&why))?;
        let decode = |s: &str| -> String {
            if url {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            } else {
                s.to_string()
            }
        };
        let mut names = parts.filter(|s| !s.is_empty()).map(decode);
        let share = names.next().ok_or_else(|| bad("no share name"))?;
        if let Some(why) = share_name_problem(&share) {
            return Err(StoreError::Failed(format!(
                "`{path}`: `{}` is not an Azure Files share name: {why} (a share name is 3 to 63 letters, digits and single hyphens, starting and ending with a letter or digit)",
                share.escape_debug()
            )));
        }
        // Azure stores share names in lowercase and SMB matches them without regard
        // to case, so `\\acct...\Share` names the share `share`; REST wants that form.
        let share = share.to_ascii_lowercase();
        let segments: Vec<String> = names.collect();
        for s in &segments {
            match path::check_segment(s) {
                Ok(()) => {}
                Err(path::BadPath::Dot(s)) => {
                    return Err(StoreError::Failed(format!(
                        "`{path}`: `{s}` is not allowed in an Azure Files path"
                    )))
                }
                Err(_) => {
                    return Err(StoreError::Failed(format!(
                        "`{path}`: the name `{}` holds a NUL character or an encoded \\ or /",
                        s.escape_debug()
                    )))
                }
            }
        }
        Ok(Self {
            host,
            cloud,
            account,
            share,
            segments,
            sas,
        })
    }

    /// The encoded request path: `/share/dir/file`.
    pub(super) fn request_path(&self, segments: &[String]) -> String {
        let mut p = format!("/{}", encode(&self.share));
        for s in segments {
            p.push('/');
            p.push_str(&encode(s));
        }
        p
    }

    /// `\\host\share\a\b` for messages.
    pub fn display(&self, segments: &[String]) -> String {
        let mut p = format!("\\\\{}\\{}", self.host, self.share);
        for s in segments {
            p.push('\\');
            p.push_str(s);
        }
        p
    }

    pub(super) fn key(&self) -> String {
        let mut k = format!("{}/{}", self.host, self.share);
        for s in &self.segments {
            k.push('/');
            k.push_str(s);
        }
        k.to_lowercase()
    }
}

/// Checks a path's host (lower-cased) with the URI parser the HTTP client connects
/// with, so that what is checked is what is reached: one `ACCOUNT.file.core.SUFFIX`
/// name, no user information (`ACCOUNT.file.core.windows.net@other:port` would reach
/// `other`), no port; the account is letters and digits. Returns the account and
/// whether the suffix is one of [`CLOUD_SUFFIXES`].
fn check_host(host: &str) -> Result<(String, bool), String> {
    let authority: ureq::http::uri::Authority = host
        .parse()
        .map_err(|_| format!("`{}` is not a host name", host.escape_debug()))?;
    if authority.as_str().contains('@') {
        return Err(
            "a user name or password before `@` is not allowed in the host (the request would go to the host after it)"
                .into(),
        );
    }
    if authority.port().is_some() {
        return Err("a port is not allowed in the host; for an endpoint of your own (a test server, Azurite) set DTUTIL_AZURE_FILES_ENDPOINT".into());
    }
    let name = authority.host();
    let (account, suffix) = name.split_once('.').unwrap_or((name, ""));
    if !suffix.starts_with("file.core.") {
        return Err("the host is not ACCOUNT.file.core.<cloud suffix>".into());
    }
    if account.is_empty()
        || account.len() > 24
        || !account.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(format!(
            "`{}` is not a storage account name (up to 24 letters and digits)",
            account.escape_debug()
        ));
    }
    Ok((account.to_string(), CLOUD_SUFFIXES.contains(&suffix)))
}

/// Why `name` breaks Azure Files' share naming rules, if it does. Capital letters
/// are allowed here (SMB share names are case-insensitive; the name is lowercased).
fn share_name_problem(name: &str) -> Option<&'static str> {
    // Azure's rules in full, before any request: a name the service would refuse is
    // a mistake in the path, said here with the rule rather than as Azure's 400.
    if name.len() < 3 {
        return Some("it must be at least 3 characters long");
    }
    if name.len() > 63 {
        return Some("it must be at most 63 characters long");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Some("only letters, digits and hyphens are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Some("a hyphen must stand between two letters or digits");
    }
    None
}
