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

/// A parsed Azure Files path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzPath {
    /// `acct.file.core.windows.net[:port]`, lower-cased.
    pub host: String,
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
        if !host.contains(".file.core.") {
            return Err(bad("the host is not ACCOUNT.file.core.<cloud suffix>"));
        }
        let account = host.split('.').next().unwrap_or("").to_string();
        if account.is_empty() {
            return Err(bad("no account name"));
        }
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
