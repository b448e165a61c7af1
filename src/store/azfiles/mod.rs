//! Azure Files over the File service REST API (SPEC 2, issue 4): no mount, no SMB, any OS.
//!
//! A FILE path `\\ACCOUNT.file.core.windows.net\SHARE\dir\p.dtsx` (also with `/`) or
//! `https://ACCOUNT.file.core.windows.net/SHARE/dir/p.dtsx` names a file in a share.
//! Credentials come from the environment (see [`Settings::from_env`] and
//! `docs/azure-files.md`).
//!
//! Writes are atomic: the bytes go to a temporary file in the destination directory
//! (Create File with the length, then Put Range calls of at most 4 MiB), which Rename
//! File then moves onto the final name: replacing what was there for an overwrite, with
//! `x-ms-file-rename-replace-if-exists: false` for a new package, so that of two racing
//! creators the service lets exactly one have the name. A write that fails
//! deletes its temporary file and leaves the final name untouched. Missing directories
//! along the destination path are created. Requests are retried with jittered
//! exponential backoff on 408/429/5xx answers, timeouts and dropped connections.

mod auth;
mod client;
mod path;
mod settings;
mod xml;

pub use auth::Auth;
pub use client::{Endpoint, API_VERSION};
pub use path::{is_azure_files_path, AzPath, CLOUD_SUFFIXES};
pub use settings::{account_suffix, Settings};

use super::{Entry, PackageMeta, Store, StoreConfig, StoreError, StoreResult, MAX_PACKAGE_BYTES};
use crate::retry::RetrySettings;
use client::{Client, Request, Response};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The largest body of one Put Range call (the service's limit).
pub const MAX_RANGE: usize = 4 * 1024 * 1024;

/// Entries one store may be given by its listings in all, over every directory a walk
/// enters (pages of at most 5,000 each): a tree no package store holds, or an endpoint
/// that never stops answering, ends with an error instead of exhausting memory.
const MAX_LISTING: usize = 1_000_000;

/// The bytes of names those listings may hold in all, for the same reason (a million
/// names of 255 characters each would be half a gigabyte).
const MAX_LISTING_BYTES: usize = 128 << 20;

/// Opens the store for a path, with settings from the store configuration.
pub fn open(path: &str, config: &StoreConfig) -> StoreResult<AzureFilesStore> {
    let parsed = AzPath::parse(path)?;
    let settings = Settings::from_env(&parsed, &|k| config.var(k), &config.azure_retry)?;
    Ok(AzureFilesStore::new(&parsed, settings))
}

/// Opens the store for a path, with settings from `get` (tests pass their own).
pub fn open_with(path: &str, get: &dyn Fn(&str) -> Option<String>) -> StoreResult<AzureFilesStore> {
    let parsed = AzPath::parse(path)?;
    let settings = Settings::from_env(&parsed, get, &RetrySettings::from_vars(get))?;
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
    /// Entries and name bytes every listing so far returned, against [`MAX_LISTING`]
    /// and [`MAX_LISTING_BYTES`].
    listed: AtomicUsize,
    listed_bytes: AtomicUsize,
}

impl AzureFilesStore {
    pub fn new(path: &AzPath, settings: Settings) -> Self {
        Self {
            client: Client::new(settings.endpoint, settings.auth, settings.policy),
            host: path.host.clone(),
            parallel: settings.parallel,
            page_size: settings.page_size,
            known_dirs: Mutex::new(Default::default()),
            listed: AtomicUsize::new(0),
            listed_bytes: AtomicUsize::new(0),
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
        } else if !replace && resp.status == 409 && resp.error_code() == "ResourceAlreadyExists" {
            // The service's own no-replace: of two racing creators exactly one wins.
            Err(StoreError::Exists(
                Self::answer_error(doing, &resp).to_string(),
            ))
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
            let bytes: usize = page.entries.iter().map(|(name, _)| name.len()).sum();
            let listed =
                self.listed.fetch_add(page.entries.len(), Ordering::Relaxed) + page.entries.len();
            let listed_bytes = self.listed_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
            if listed > MAX_LISTING || listed_bytes > MAX_LISTING_BYTES {
                return Err(StoreError::Failed(format!(
                    "{doing}: the listings of {} go on past {MAX_LISTING} entries or {} MiB of names in all (an endless listing, or a tree no package store holds); refused: list a folder further down",
                    self.host,
                    MAX_LISTING_BYTES >> 20
                )));
            }
            for (name, is_folder) in page.entries {
                super::path::check_name(&name, doing)?;
                entries.push(Entry { name, is_folder });
            }
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

    /// Uploads to a temporary file, then renames it onto `path` (replacing what is
    /// there only when `replace`).
    fn write_file(&self, path: &str, bytes: &[u8], replace: bool) -> StoreResult<()> {
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
        match self.rename(&p, &tmp_segs, &p, &p.segments, replace, false, &doing) {
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

    fn child(parent: &str, name: &str) -> StoreResult<String> {
        if !super::path::is_one_name(name) {
            return Err(StoreError::Failed(format!(
                "`{name}` is not a folder name (one name, without \\ or /)"
            )));
        }
        Ok(super::path::join_all(parent, [name]))
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
            &Request::new("GET", rpath.clone()).range(0, MAX_RANGE),
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
        let limit = MAX_PACKAGE_BYTES;
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
            let len = (start + MAX_RANGE).min(total) - start;
            let resp = self.execute(
                &Request::new("GET", rpath.clone()).range(start, len),
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
        self.write_file(path, bytes, true)
    }

    /// The final Rename File with `x-ms-file-rename-replace-if-exists: false`: the
    /// service refuses it when the name was taken meanwhile (409 ResourceAlreadyExists).
    fn write_new(&self, path: &str, bytes: &[u8], _meta: &PackageMeta) -> StoreResult<()> {
        self.write_file(path, bytes, false)
    }

    fn exists(&self, path: &str) -> StoreResult<bool> {
        let p = self.parse_file(path)?;
        let doing = format!("cannot check `{}`", p.display(&p.segments));
        Ok(self.file_properties(&p, &p.segments, &doing)?.is_some())
    }

    /// Get File Properties' ETag (new on every write) and file id (the service's
    /// inode): every spelling of a path reaches the same file and so the same values.
    fn stamp(&self, path: &str) -> StoreResult<Option<String>> {
        let p = self.parse_file(path)?;
        let doing = format!("cannot check `{}`", p.display(&p.segments));
        let resp = self.execute(&Request::new("HEAD", p.request_path(&p.segments)), &doing)?;
        match resp.status {
            200 => {
                let etag = resp.header("etag").unwrap_or_default();
                let id = resp.header("x-ms-file-id").unwrap_or_default();
                if etag.is_empty() && id.is_empty() {
                    return Ok(None);
                }
                Ok(Some(format!("azure file {id} etag {etag}")))
            }
            404 => Ok(None),
            _ => Err(Self::answer_error(&doing, &resp)),
        }
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

    /// Azure Files is case-insensitive and case-preserving, like SMB.
    fn case_insensitive(&self) -> bool {
        true
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

    /// The directories of the path, share aside (a share is made in the portal).
    fn folder_create_all(&self, path: &str) -> StoreResult<()> {
        let p = self.parse(path)?;
        super::create_levels(self, &p.segments, 0, |names| p.display(names))
    }
}

fn append(e: StoreError, tail: &str) -> StoreError {
    match e {
        StoreError::NotFound(m) => StoreError::Failed(format!("{m}{tail}")),
        StoreError::Unsupported(m) => StoreError::Unsupported(format!("{m}{tail}")),
        StoreError::PermissionDenied(m) => StoreError::PermissionDenied(format!("{m}{tail}")),
        StoreError::TooLarge(m) => StoreError::TooLarge(format!("{m}{tail}")),
        StoreError::Exists(m) => StoreError::Exists(format!("{m}{tail}")),
        StoreError::Failed(m) => StoreError::Failed(format!("{m}{tail}")),
    }
}

#[cfg(test)]
mod tests;
