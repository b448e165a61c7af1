//! Azure Files over the File service REST API (SPEC 2, issue 4): no mount, no SMB, any OS.
//!
//! A FILE path `\\ACCOUNT.file.core.windows.net\SHARE\dir\p.dtsx` (also with `/`) or
//! `https://ACCOUNT.file.core.windows.net/SHARE/dir/p.dtsx` names a file in a share.
//! Credentials come from the environment (see [`Settings::from_env`] and
//! `docs/azure-files.md`).
//!
//! Writes are atomic: the bytes go to a temporary file in the destination directory
//! (Create File with the length, then Put Range calls of at most 4 MiB), which Rename
//! File then moves onto the final name, replacing what was there. A write that fails
//! deletes its temporary file and leaves the final name untouched. Missing directories
//! along the destination path are created. Requests are retried with jittered
//! exponential backoff on 408/429/5xx answers, timeouts and dropped connections.

mod auth;
mod client;
mod xml;

pub use auth::Auth;
pub use client::{Endpoint, RetryPolicy, API_VERSION};

use super::{Entry, PackageMeta, Store, StoreError, StoreResult};
use client::{encode, Client, Request, Response};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The largest body of one Put Range call (the service's limit).
pub const MAX_RANGE: usize = 4 * 1024 * 1024;

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
        let segments: Vec<String> = names.collect();
        if let Some(s) = segments.iter().find(|s| *s == "." || *s == "..") {
            return Err(StoreError::Failed(format!(
                "`{path}`: `{s}` is not allowed in an Azure Files path"
            )));
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
    fn request_path(&self, segments: &[String]) -> String {
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

    fn key(&self) -> String {
        let mut k = format!("{}/{}", self.host, self.share);
        for s in &self.segments {
            k.push('/');
            k.push_str(s);
        }
        k.to_lowercase()
    }
}

/// Where to connect and how to authorize, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: Endpoint,
    pub auth: Auth,
    pub policy: RetryPolicy,
    /// Range uploads in flight at once (`DTUTIL_AZURE_PARALLEL`, default 4).
    pub parallel: usize,
    /// Entries per listing page (`DTUTIL_AZURE_LIST_PAGE_SIZE`, default and maximum 5000).
    pub page_size: u32,
}

/// A parsed `AZURE_STORAGE_CONNECTION_STRING`.
#[derive(Default)]
struct ConnectionString {
    account: Option<String>,
    key: Option<String>,
    sas: Option<String>,
    file_endpoint: Option<String>,
    protocol: Option<String>,
}

fn parse_connection_string(s: &str) -> Result<ConnectionString, String> {
    let mut cs = ConnectionString::default();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "AZURE_STORAGE_CONNECTION_STRING: `{}` is not Name=Value",
                k_only(part)
            ));
        };
        let v = v.trim().to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "accountname" => cs.account = Some(v),
            "accountkey" => cs.key = Some(v),
            "sharedaccesssignature" => cs.sas = Some(v),
            "fileendpoint" => cs.file_endpoint = Some(v),
            "defaultendpointsprotocol" => cs.protocol = Some(v.to_ascii_lowercase()),
            "usedevelopmentstorage" => {
                return Err("AZURE_STORAGE_CONNECTION_STRING: UseDevelopmentStorage (Azurite) has no File service; give FileEndpoint=... for a test server".into())
            }
            _ => {}
        }
    }
    Ok(cs)
}

/// The name part of a `Name=Value` pair, so a malformed secret is never echoed.
fn k_only(part: &str) -> String {
    let name: String = part.chars().take(24).collect();
    if name.len() < part.len() {
        format!("{name}…")
    } else {
        name
    }
}

impl Settings {
    /// Credentials, in this order: `AZURE_STORAGE_CONNECTION_STRING` (AccountName +
    /// AccountKey, or SharedAccessSignature; FileEndpoint), `AZURE_STORAGE_KEY` (with
    /// `AZURE_STORAGE_ACCOUNT`, which defaults to the path's account),
    /// `AZURE_STORAGE_SAS_TOKEN`, a SAS in an https path. The endpoint is
    /// `DTUTIL_AZURE_FILES_ENDPOINT`, else the connection string's FileEndpoint, else
    /// `https://` + the path's host.
    pub fn from_env(path: &AzPath, get: &dyn Fn(&str) -> Option<String>) -> StoreResult<Self> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let failed = StoreError::Failed;
        let cs = match get("AZURE_STORAGE_CONNECTION_STRING") {
            Some(s) => Some(parse_connection_string(&s).map_err(failed)?),
            None => None,
        };
        let check_account = |account: &str, from: &str| {
            if account.eq_ignore_ascii_case(&path.account) {
                Ok(())
            } else {
                Err(StoreError::Failed(format!(
                    "{from} names storage account `{account}`, but the path names `{}`; set credentials for `{}`",
                    path.account, path.account
                )))
            }
        };
        let auth = match &cs {
            Some(ConnectionString {
                key: Some(key),
                account,
                ..
            }) => {
                let account = account.clone().unwrap_or_else(|| path.account.clone());
                check_account(&account, "AZURE_STORAGE_CONNECTION_STRING")?;
                Auth::shared_key(&account, key).map_err(failed)?
            }
            Some(ConnectionString { sas: Some(sas), .. }) => Auth::sas(sas).map_err(failed)?,
            Some(_) => return Err(failed(
                "AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature"
                    .into(),
            )),
            None => {
                if let Some(key) = get("AZURE_STORAGE_KEY") {
                    let account =
                        get("AZURE_STORAGE_ACCOUNT").unwrap_or_else(|| path.account.clone());
                    check_account(account.trim(), "AZURE_STORAGE_ACCOUNT")?;
                    Auth::shared_key(account.trim(), &key).map_err(failed)?
                } else if let Some(sas) = get("AZURE_STORAGE_SAS_TOKEN") {
                    Auth::sas(&sas).map_err(failed)?
                } else if let Some(sas) = &path.sas {
                    Auth::sas(sas).map_err(failed)?
                } else {
                    return Err(StoreError::PermissionDenied(format!(
                        "no credentials for Azure Files account `{}`: set AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY (the account key), AZURE_STORAGE_SAS_TOKEN, or AZURE_STORAGE_CONNECTION_STRING",
                        path.account
                    )));
                }
            }
        };
        let explicit = get("DTUTIL_AZURE_FILES_ENDPOINT")
            .map(|e| ("DTUTIL_AZURE_FILES_ENDPOINT", e))
            .or_else(|| {
                cs.as_ref()
                    .and_then(|c| c.file_endpoint.clone())
                    .map(|e| ("the connection string's FileEndpoint", e))
            });
        let endpoint = match explicit {
            Some((from, url)) => {
                Endpoint::parse(&url).map_err(|e| failed(format!("{from}: {e}")))?
            }
            None => {
                let http = cs.as_ref().and_then(|c| c.protocol.as_deref()) == Some("http");
                let scheme = if http { "http" } else { "https" };
                Endpoint {
                    origin: format!("{scheme}://{}", path.host),
                    base_path: String::new(),
                }
            }
        };
        let policy = RetryPolicy::from_env(&get).map_err(failed)?;
        let parallel = match get("DTUTIL_AZURE_PARALLEL") {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    failed(format!("DTUTIL_AZURE_PARALLEL must be 1 to 64, not `{v}`"))
                })?,
            None => 4,
        };
        let page_size = match get("DTUTIL_AZURE_LIST_PAGE_SIZE") {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=5000).contains(n))
                .ok_or_else(|| {
                    failed(format!(
                        "DTUTIL_AZURE_LIST_PAGE_SIZE must be 1 to 5000, not `{v}`"
                    ))
                })?,
            None => 5000,
        };
        Ok(Self {
            endpoint,
            auth,
            policy,
            parallel,
            page_size,
        })
    }
}

/// Opens the store for a path, with settings from the process environment.
pub fn open(path: &str) -> StoreResult<AzureFilesStore> {
    open_with(path, &|k| std::env::var(k).ok())
}

/// Opens the store for a path, with settings from `get` (tests pass their own).
pub fn open_with(path: &str, get: &dyn Fn(&str) -> Option<String>) -> StoreResult<AzureFilesStore> {
    let parsed = AzPath::parse(path)?;
    let settings = Settings::from_env(&parsed, get)?;
    Ok(AzureFilesStore::new(&parsed, settings))
}

/// Files and directories in Azure Files shares of one account.
pub struct AzureFilesStore {
    client: Client,
    host: String,
    parallel: usize,
    page_size: u32,
    /// Directories known to exist (created or checked by this process).
    known_dirs: Mutex<std::collections::HashSet<String>>,
}

impl AzureFilesStore {
    pub fn new(path: &AzPath, settings: Settings) -> Self {
        Self {
            client: Client::new(settings.endpoint, settings.auth, settings.policy),
            host: path.host.clone(),
            parallel: settings.parallel,
            page_size: settings.page_size,
            known_dirs: Mutex::new(Default::default()),
        }
    }

    fn parse(&self, path: &str) -> StoreResult<AzPath> {
        let p = AzPath::parse(path)?;
        if p.host != self.host {
            return Err(StoreError::Failed(format!(
                "`{path}` is on `{}`, but this command's Azure Files store is `{}`; use one account per command",
                p.host, self.host
            )));
        }
        Ok(p)
    }

    fn parse_file(&self, path: &str) -> StoreResult<AzPath> {
        let p = self.parse(path)?;
        if p.segments.is_empty() {
            return Err(StoreError::Failed(format!(
                "`{path}` names a share, not a file in it"
            )));
        }
        Ok(p)
    }

    fn execute(&self, req: &Request<'_>, doing: &str) -> StoreResult<Response> {
        self.client
            .execute(req)
            .map_err(|t| StoreError::Failed(format!("{doing}: {}", t.message)))
    }

    /// An error for an unexpected answer.
    fn answer_error(doing: &str, resp: &Response) -> StoreError {
        let mut msg = format!("{doing}: {}", resp.error_summary());
        if resp.attempts > 1 {
            msg.push_str(&format!(
                " (after {} attempts; DTUTIL_AZURE_RETRIES sets how many retries)",
                resp.attempts
            ));
        }
        match resp.status {
            404 => {
                if resp.error_code() == "ShareNotFound" {
                    msg.push_str(" (create the share first, e.g. in the portal or with az storage share create)");
                }
                StoreError::NotFound(msg)
            }
            401 | 403 => {
                msg.push_str(" (check the account key or the SAS token: its permissions, its start and expiry times, and the account name)");
                StoreError::PermissionDenied(msg)
            }
            _ => StoreError::Failed(msg),
        }
    }

    fn file_properties(
        &self,
        p: &AzPath,
        segs: &[String],
        doing: &str,
    ) -> StoreResult<Option<u64>> {
        let resp = self.execute(&Request::new("HEAD", p.request_path(segs)), doing)?;
        match resp.status {
            200 => Ok(Some(
                resp.header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            404 => Ok(None),
            _ => Err(Self::answer_error(doing, &resp)),
        }
    }

    fn dir_exists(&self, p: &AzPath, segs: &[String], doing: &str) -> StoreResult<bool> {
        let req = if segs.is_empty() {
            Request::new("HEAD", p.request_path(segs)).query("restype", "share")
        } else {
            Request::new("HEAD", p.request_path(segs)).query("restype", "directory")
        };
        let resp = self.execute(&req, doing)?;
        match resp.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(Self::answer_error(doing, &resp)),
        }
    }

    /// Creates one directory; `Ok(false)` when it already exists.
    fn create_dir(&self, p: &AzPath, segs: &[String], doing: &str) -> StoreResult<bool> {
        let resp = self.execute(
            &Request::new("PUT", p.request_path(segs)).query("restype", "directory"),
            doing,
        )?;
        match (resp.status, resp.error_code().as_str()) {
            (201, _) => Ok(true),
            (409, "ResourceAlreadyExists") => Ok(false),
            _ => Err(Self::answer_error(doing, &resp)),
        }
    }

    /// Creates the directories along `segs` that do not exist yet.
    pub fn create_dirs(&self, p: &AzPath, segs: &[String]) -> StoreResult<()> {
        for i in 1..=segs.len() {
            let key = p.display(&segs[..i]).to_lowercase();
            if self.known_dirs.lock().unwrap().contains(&key) {
                continue;
            }
            let doing = format!("cannot create directory `{}`", p.display(&segs[..i]));
            self.create_dir(p, &segs[..i], &doing)?;
            self.known_dirs.lock().unwrap().insert(key);
        }
        Ok(())
    }

    /// Creates a share (for tests and the live suite); `Ok(false)` when it exists.
    pub fn create_share(&self, path: &str) -> StoreResult<bool> {
        let p = self.parse(path)?;
        let doing = format!("cannot create share `{}`", p.display(&[]));
        let resp = self.execute(
            &Request::new("PUT", p.request_path(&[])).query("restype", "share"),
            &doing,
        )?;
        match (resp.status, resp.error_code().as_str()) {
            (201, _) => Ok(true),
            (409, "ShareAlreadyExists") => Ok(false),
            _ => Err(Self::answer_error(&doing, &resp)),
        }
    }

    fn delete_file(&self, p: &AzPath, segs: &[String], doing: &str) -> StoreResult<()> {
        let resp = self.execute(&Request::new("DELETE", p.request_path(segs)), doing)?;
        match resp.status {
            202 | 200 => Ok(()),
            // A retried delete whose first attempt went through.
            404 if resp.attempts > 1 => Ok(()),
            _ => Err(Self::answer_error(doing, &resp)),
        }
    }

    /// Renames a file within its share, replacing the target when `replace`.
    pub fn rename_file(&self, from: &str, to: &str, replace: bool) -> StoreResult<()> {
        let (f, t) = (self.parse_file(from)?, self.parse_file(to)?);
        if !f.share.eq_ignore_ascii_case(&t.share) {
            return Err(StoreError::Unsupported(format!(
                "`{from}` and `{to}` are in different shares; Rename File stays within one share (copy, then delete)"
            )));
        }
        let doing = format!(
            "cannot rename `{}` to `{}`",
            f.display(&f.segments),
            t.display(&t.segments)
        );
        self.rename(&f, &f.segments, &t, &t.segments, replace, false, &doing)
            .map(|_| ())
    }

    /// Rename File or Rename Directory. Returns the response on success.
    #[allow(clippy::too_many_arguments)]
    fn rename(
        &self,
        from: &AzPath,
        from_segs: &[String],
        to: &AzPath,
        to_segs: &[String],
        replace: bool,
        directory: bool,
        doing: &str,
    ) -> StoreResult<Response> {
        let source = self.client.url_of(&from.request_path(from_segs));
        let mut req = Request::new("PUT", to.request_path(to_segs))
            .query("comp", "rename")
            .header("x-ms-file-rename-source", source.as_str())
            .header(
                "x-ms-file-rename-replace-if-exists",
                if replace { "true" } else { "false" },
            );
        if directory {
            req = req.query("restype", "directory");
        }
        let resp = self.execute(&req, doing)?;
        if resp.ok() {
            Ok(resp)
        } else {
            Err(Self::answer_error(doing, &resp))
        }
    }

    /// Uploads `bytes` to a new file at `segs` (Create File, then Put Range calls, up to
    /// `parallel` at once).
    fn upload(&self, p: &AzPath, segs: &[String], bytes: &[u8], doing: &str) -> StoreResult<()> {
        let path = p.request_path(segs);
        let chunks: Vec<&[u8]> = bytes.chunks(MAX_RANGE).collect();
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let first_error: Mutex<Option<StoreError>> = Mutex::new(None);
        let worker = || loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = chunks.get(i) else { return };
            let start = i * MAX_RANGE;
            let end = start + chunk.len() - 1;
            let range_doing = format!("{doing}: writing bytes {start}-{end} failed");
            let result = self
                .execute(
                    &Request::new("PUT", path.clone())
                        .query("comp", "range")
                        .header("x-ms-range", format!("bytes={start}-{end}"))
                        .header("x-ms-write", "update")
                        .body(chunk),
                    &range_doing,
                )
                .and_then(|resp| {
                    if resp.status == 201 {
                        Ok(())
                    } else {
                        Err(Self::answer_error(&range_doing, &resp))
                    }
                });
            if let Err(e) = result {
                stop.store(true, Ordering::Relaxed);
                first_error.lock().unwrap().get_or_insert(e);
                return;
            }
        };
        let threads = self.parallel.min(chunks.len());
        if threads <= 1 {
            worker();
        } else {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(worker);
                }
            });
        }
        match first_error.into_inner().unwrap() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn create_file(
        &self,
        p: &AzPath,
        segs: &[String],
        len: usize,
        doing: &str,
    ) -> StoreResult<Response> {
        self.execute(
            &Request::new("PUT", p.request_path(segs))
                .header("x-ms-type", "file")
                .header("x-ms-content-length", len.to_string()),
            doing,
        )
    }

    fn list_dir(&self, p: &AzPath, segs: &[String], doing: &str) -> StoreResult<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = Request::new("GET", p.request_path(segs))
                .query("restype", "directory")
                .query("comp", "list")
                .query("maxresults", self.page_size.to_string());
            if let Some(m) = &marker {
                req = req.query("marker", m.clone());
            }
            let resp = self.execute(&req, doing)?;
            if resp.status != 200 {
                return Err(Self::answer_error(doing, &resp));
            }
            let page = xml::list_page(&resp.body)
                .map_err(|e| StoreError::Failed(format!("{doing}: {e}")))?;
            entries.extend(
                page.entries
                    .into_iter()
                    .map(|(name, is_folder)| Entry { name, is_folder }),
            );
            match page.next_marker {
                Some(m) if Some(&m) != marker.as_ref() => marker = Some(m),
                _ => break,
            }
        }
        Ok(entries)
    }

    /// Lists a directory (full path); the share's root when the path names only a share.
    pub fn list(&self, path: &str) -> StoreResult<Vec<Entry>> {
        let p = self.parse(path)?;
        let doing = format!("cannot list `{}`", p.display(&p.segments));
        self.list_dir(&p, &p.segments, &doing)
    }

    fn child(parent: &str, name: &str) -> StoreResult<String> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['\\', '/']) {
            return Err(StoreError::Failed(format!(
                "`{name}` is not a folder name (one name, without \\ or /)"
            )));
        }
        Ok(format!("{}\\{name}", parent.trim_end_matches(['\\', '/'])))
    }
}

impl Store for AzureFilesStore {
    fn describe(&self, path: &str) -> String {
        match AzPath::parse(path) {
            Ok(p) => format!("Azure Files file `{}`", p.display(&p.segments)),
            Err(_) => format!("Azure Files file `{path}`"),
        }
    }

    fn read(&self, path: &str) -> StoreResult<Vec<u8>> {
        let p = self.parse_file(path)?;
        let doing = format!("cannot read `{}`", p.display(&p.segments));
        let rpath = p.request_path(&p.segments);
        let first = self.execute(
            &Request::new("GET", rpath.clone())
                .header("x-ms-range", format!("bytes=0-{}", MAX_RANGE - 1)),
            &doing,
        )?;
        let total = match first.status {
            200 => return Ok(first.body),
            206 => first
                .header("content-range")
                .and_then(|v| v.rsplit('/').next())
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    StoreError::Failed(format!("{doing}: the answer has no usable Content-Range"))
                })?,
            416 => {
                // An empty file has no byte 0.
                return match self.file_properties(&p, &p.segments, &doing)? {
                    Some(_) => Ok(Vec::new()),
                    None => Err(StoreError::NotFound(format!("{doing}: no such file"))),
                };
            }
            _ => return Err(Self::answer_error(&doing, &first)),
        };
        let limit = crate::package::xml::MAX_PACKAGE_BYTES;
        let total = usize::try_from(total)
            .ok()
            .filter(|&t| t <= limit)
            .ok_or_else(|| {
                StoreError::TooLarge(format!(
                    "{doing}: the file is {total} bytes, over the {limit} byte package limit; not loaded"
                ))
            })?;
        let mut bytes = first.body;
        bytes.reserve(total.saturating_sub(bytes.len()));
        while bytes.len() < total {
            let start = bytes.len();
            let end = (start + MAX_RANGE).min(total) - 1;
            let resp = self.execute(
                &Request::new("GET", rpath.clone())
                    .header("x-ms-range", format!("bytes={start}-{end}")),
                &doing,
            )?;
            if resp.status != 206 || resp.body.is_empty() {
                return Err(Self::answer_error(&doing, &resp));
            }
            bytes.extend_from_slice(&resp.body);
        }
        bytes.truncate(total);
        Ok(bytes)
    }

    fn write(&self, path: &str, bytes: &[u8], _meta: &PackageMeta) -> StoreResult<()> {
        let p = self.parse_file(path)?;
        let target = p.display(&p.segments);
        let doing = format!("cannot write `{target}`");
        let (_, dir) = p.segments.split_last().expect("parse_file checked");
        let mut tmp_segs = dir.to_vec();
        tmp_segs.push(format!(".dtutil-{}.tmp", uuid::Uuid::new_v4().simple()));
        let nothing_written = "; nothing was written under the final name";

        let mut created = self.create_file(&p, &tmp_segs, bytes.len(), &doing)?;
        if created.status == 404 && created.error_code() == "ParentNotFound" && !dir.is_empty() {
            self.create_dirs(&p, dir)?;
            created = self.create_file(&p, &tmp_segs, bytes.len(), &doing)?;
        }
        if created.status != 201 {
            return Err(Self::answer_error(&doing, &created));
        }
        let cleanup = |e: StoreError| -> StoreError {
            let _ = self.delete_file(&p, &tmp_segs, "cleanup");
            append(e, nothing_written)
        };
        if let Err(e) = self.upload(&p, &tmp_segs, bytes, &doing) {
            return Err(cleanup(e));
        }
        match self.rename(&p, &tmp_segs, &p, &p.segments, true, false, &doing) {
            Ok(_) => Ok(()),
            Err(e) => {
                // A retried rename whose first attempt went through finds no source.
                if let StoreError::NotFound(_) = e {
                    if let Ok(Some(len)) = self.file_properties(&p, &p.segments, &doing) {
                        if len == bytes.len() as u64
                            && self.file_properties(&p, &tmp_segs, &doing).ok() == Some(None)
                        {
                            return Ok(());
                        }
                    }
                }
                Err(cleanup(e))
            }
        }
    }

    fn exists(&self, path: &str) -> StoreResult<bool> {
        let p = self.parse_file(path)?;
        let doing = format!("cannot check `{}`", p.display(&p.segments));
        Ok(self.file_properties(&p, &p.segments, &doing)?.is_some())
    }

    fn delete(&self, path: &str) -> StoreResult<()> {
        let p = self.parse_file(path)?;
        let doing = format!("cannot delete `{}`", p.display(&p.segments));
        self.delete_file(&p, &p.segments, &doing)
    }

    fn same_package(&self, a: &str, b: &str) -> bool {
        match (AzPath::parse(a), AzPath::parse(b)) {
            (Ok(x), Ok(y)) => x.key() == y.key(),
            _ => a == b,
        }
    }

    fn folder_create(&self, parent: &str, name: &str) -> StoreResult<()> {
        let p = self.parse(&Self::child(parent, name)?)?;
        let doing = format!("cannot create folder `{}`", p.display(&p.segments));
        if self.create_dir(&p, &p.segments, &doing)? {
            Ok(())
        } else {
            Err(StoreError::Failed(format!("{doing}: it already exists")))
        }
    }

    fn folder_delete(&self, parent: &str, name: &str) -> StoreResult<()> {
        let p = self.parse(&Self::child(parent, name)?)?;
        let doing = format!("cannot delete folder `{}`", p.display(&p.segments));
        let resp = self.execute(
            &Request::new("DELETE", p.request_path(&p.segments)).query("restype", "directory"),
            &doing,
        )?;
        match resp.status {
            202 | 200 => Ok(()),
            404 if resp.attempts > 1 => Ok(()),
            _ => Err(Self::answer_error(&doing, &resp)),
        }
    }

    fn folder_exists(&self, path: &str) -> StoreResult<bool> {
        let p = self.parse(path)?;
        let doing = format!("cannot check folder `{}`", p.display(&p.segments));
        self.dir_exists(&p, &p.segments, &doing)
    }

    fn folder_rename(&self, parent: &str, old: &str, new: &str) -> StoreResult<()> {
        let from = self.parse(&Self::child(parent, old)?)?;
        let to = self.parse(&Self::child(parent, new)?)?;
        let doing = format!(
            "cannot rename folder `{}` to `{new}`",
            from.display(&from.segments)
        );
        self.rename(
            &from,
            &from.segments,
            &to,
            &to.segments,
            false,
            true,
            &doing,
        )
        .map(|_| ())
    }

    fn folder_list(&self, path: &str) -> StoreResult<Vec<Entry>> {
        self.list(path)
    }
}

fn append(e: StoreError, tail: &str) -> StoreError {
    match e {
        StoreError::NotFound(m) => StoreError::Failed(format!("{m}{tail}")),
        StoreError::Unsupported(m) => StoreError::Unsupported(format!("{m}{tail}")),
        StoreError::PermissionDenied(m) => StoreError::PermissionDenied(format!("{m}{tail}")),
        StoreError::TooLarge(m) => StoreError::TooLarge(format!("{m}{tail}")),
        StoreError::Failed(m) => StoreError::Failed(format!("{m}{tail}")),
    }
}

#[cfg(test)]
mod tests;
