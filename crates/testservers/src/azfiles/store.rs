//! The in-memory model of a storage account's File service: shares, directories, files.
//! Names are case-insensitive and case-preserving, as on the service. Pure: the caller
//! passes the clock in.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

use super::timefmt;

/// The largest range one Put Range may write.
pub const MAX_RANGE: u64 = 4 * 1024 * 1024;
/// The largest file this server accepts: 1 GiB (the service allows 4 TiB, but we keep
/// files in memory, and a client bug asking for terabytes must not take the server down).
pub const MAX_FILE: u64 = 1024 * 1024 * 1024;
/// Listing page size cap.
pub const MAX_RESULTS: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    ShareNotFound,
    ShareAlreadyExists,
    ResourceNotFound,
    ParentNotFound,
    ResourceAlreadyExists,
    DirectoryNotEmpty,
    InvalidRange,
    InvalidResourceName,
    /// A rename whose destination lies inside its source, or similar.
    InvalidInput,
}

impl StoreError {
    /// HTTP status, service error code, message.
    pub fn describe(self) -> (u16, &'static str, &'static str) {
        match self {
            Self::ShareNotFound => (404, "ShareNotFound", "The specified share does not exist."),
            Self::ShareAlreadyExists => (
                409,
                "ShareAlreadyExists",
                "The specified share already exists.",
            ),
            Self::ResourceNotFound => (
                404,
                "ResourceNotFound",
                "The specified resource does not exist.",
            ),
            Self::ParentNotFound => (
                404,
                "ParentNotFound",
                "The specified parent path does not exist.",
            ),
            Self::ResourceAlreadyExists => (
                409,
                "ResourceAlreadyExists",
                "The specified resource already exists.",
            ),
            Self::DirectoryNotEmpty => (
                409,
                "DirectoryNotEmpty",
                "The specified directory is not empty.",
            ),
            Self::InvalidRange => (
                416,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
            ),
            Self::InvalidResourceName => (
                400,
                "InvalidResourceName",
                "The specifed resource name contains invalid characters.",
            ),
            Self::InvalidInput => (
                400,
                "InvalidInput",
                "One of the request inputs is not valid.",
            ),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// SMB-ish properties every directory and file has, plus HTTP content headers for files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props {
    pub id: u64,
    pub parent_id: u64,
    pub etag: String,
    pub last_modified: Option<SystemTime>,
    pub creation_time: String,
    pub last_write_time: String,
    pub change_time: String,
    pub attributes: String,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_md5: Option<String>,
    pub metadata: Vec<(String, String)>,
}

/// Optional settings from request headers (`x-ms-file-*`, `x-ms-content-*`, `x-ms-meta-*`).
/// `None` leaves a value as it is; times accept `now`, `preserve` or an ISO 8601 date.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub attributes: Option<String>,
    pub creation_time: Option<String>,
    pub last_write_time: Option<String>,
    pub change_time: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_md5: Option<String>,
    pub metadata: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The full path with its original case, e.g. `Dir/Sub/p.dtsx`.
    pub path: String,
    pub kind: Kind,
    pub props: Props,
    pub data: Vec<u8>,
}

impl Entry {
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

#[derive(Debug, Clone)]
pub struct Share {
    pub name: String,
    pub etag: String,
    pub last_modified: SystemTime,
    pub quota_gib: u64,
    pub metadata: Vec<(String, String)>,
    pub root: Props,
    /// Keyed by the lower-cased full path.
    entries: BTreeMap<String, Entry>,
}

/// One row of a directory listing.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub kind: Kind,
    pub size: u64,
    pub props: Props,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub directory_id: u64,
    pub entries: Vec<Listed>,
    pub next_marker: Option<String>,
}

#[derive(Debug, Default)]
pub struct Store {
    shares: BTreeMap<String, Share>,
    counter: u64,
}

const INVALID_CHARS: &[char] = &['"', '\\', ':', '|', '<', '>', '*', '?'];

/// Splits and checks a share-relative path: `dir/sub/file` (empty segments are ignored).
pub fn normalize(path: &str) -> Result<String> {
    let mut segs = Vec::new();
    for seg in path.split('/') {
        if seg.is_empty() {
            continue;
        }
        if seg == "."
            || seg == ".."
            || seg.len() > 255
            || seg
                .chars()
                .any(|c| INVALID_CHARS.contains(&c) || (c as u32) < 0x20)
        {
            return Err(StoreError::InvalidResourceName);
        }
        segs.push(seg);
    }
    Ok(segs.join("/"))
}

fn key(path: &str) -> String {
    path.to_lowercase()
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

/// A share name: 3-63 characters, lower-case letters, digits and single hyphens.
pub fn valid_share_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
}

fn resolve_time(v: &Option<String>, old: &str, now: SystemTime) -> String {
    match v.as_deref() {
        None | Some("preserve") => old.to_string(),
        Some("now") => timefmt::iso7(now),
        Some(t) => timefmt::parse_iso(t)
            .map(timefmt::iso7)
            .unwrap_or_else(|| old.to_string()),
    }
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    fn tick(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn etag(&mut self) -> String {
        let n = self.tick();
        format!("\"0x8DC{:012X}\"", 0x1000_0000 + n)
    }

    fn new_id(&mut self) -> u64 {
        // File IDs on the service are 64-bit numbers with the high bits set.
        0x9000_0000_0000_0000 | (self.tick() << 8)
    }

    fn new_props(&mut self, kind: Kind, parent_id: u64, s: &Settings, now: SystemTime) -> Props {
        let nowiso = timefmt::iso7(now);
        let mut p = Props {
            id: self.new_id(),
            parent_id,
            etag: self.etag(),
            last_modified: Some(now),
            creation_time: nowiso.clone(),
            last_write_time: nowiso.clone(),
            change_time: nowiso,
            attributes: match kind {
                Kind::Directory => "Directory".into(),
                Kind::File => "Archive".into(),
            },
            ..Props::default()
        };
        apply(&mut p, kind, s, now);
        p
    }

    pub fn create_share(
        &mut self,
        name: &str,
        quota_gib: Option<u64>,
        now: SystemTime,
    ) -> Result<&Share> {
        if !valid_share_name(name) {
            return Err(StoreError::InvalidResourceName);
        }
        if self.shares.contains_key(name) {
            return Err(StoreError::ShareAlreadyExists);
        }
        let etag = self.etag();
        let root = self.new_props(Kind::Directory, 0, &Settings::default(), now);
        let share = Share {
            name: name.to_string(),
            etag,
            last_modified: now,
            quota_gib: quota_gib.unwrap_or(5120),
            metadata: Vec::new(),
            root,
            entries: BTreeMap::new(),
        };
        Ok(self.shares.entry(name.to_string()).or_insert(share))
    }

    pub fn share(&self, name: &str) -> Result<&Share> {
        self.shares.get(name).ok_or(StoreError::ShareNotFound)
    }

    fn share_mut(&mut self, name: &str) -> Result<&mut Share> {
        self.shares.get_mut(name).ok_or(StoreError::ShareNotFound)
    }

    pub fn delete_share(&mut self, name: &str) -> Result<()> {
        self.shares
            .remove(name)
            .map(|_| ())
            .ok_or(StoreError::ShareNotFound)
    }

    pub fn shares(&self) -> impl Iterator<Item = &Share> {
        self.shares.values()
    }

    /// Properties of a directory (`""` is the share's root).
    pub fn directory(&self, share: &str, path: &str) -> Result<&Props> {
        let sh = self.share(share)?;
        let path = normalize(path)?;
        if path.is_empty() {
            return Ok(&sh.root);
        }
        match sh.entries.get(&key(&path)) {
            Some(e) if e.kind == Kind::Directory => Ok(&e.props),
            _ => Err(StoreError::ResourceNotFound),
        }
    }

    pub fn file(&self, share: &str, path: &str) -> Result<&Entry> {
        let sh = self.share(share)?;
        let path = normalize(path)?;
        match sh.entries.get(&key(&path)) {
            Some(e) if e.kind == Kind::File => Ok(e),
            _ => Err(StoreError::ResourceNotFound),
        }
    }

    /// The parent directory's id, or ParentNotFound.
    fn parent_id(sh: &Share, path: &str) -> Result<u64> {
        let parent = parent_of(path);
        if parent.is_empty() {
            return Ok(sh.root.id);
        }
        match sh.entries.get(&key(parent)) {
            Some(e) if e.kind == Kind::Directory => Ok(e.props.id),
            _ => Err(StoreError::ParentNotFound),
        }
    }

    pub fn create_directory(
        &mut self,
        share: &str,
        path: &str,
        s: &Settings,
        now: SystemTime,
    ) -> Result<Props> {
        let path = normalize(path)?;
        let sh = self.share(share)?;
        if path.is_empty() || sh.entries.contains_key(&key(&path)) {
            return Err(StoreError::ResourceAlreadyExists);
        }
        let pid = Self::parent_id(sh, &path)?;
        let props = self.new_props(Kind::Directory, pid, s, now);
        let sh = self.share_mut(share)?;
        sh.entries.insert(
            key(&path),
            Entry {
                path,
                kind: Kind::Directory,
                props: props.clone(),
                data: Vec::new(),
            },
        );
        Ok(props)
    }

    pub fn delete_directory(&mut self, share: &str, path: &str) -> Result<()> {
        let path = normalize(path)?;
        let sh = self.share_mut(share)?;
        if path.is_empty() {
            return Err(StoreError::InvalidInput);
        }
        let k = key(&path);
        match sh.entries.get(&k) {
            Some(e) if e.kind == Kind::Directory => {}
            _ => return Err(StoreError::ResourceNotFound),
        }
        let child_prefix = format!("{k}/");
        if sh
            .entries
            .range(child_prefix.clone()..)
            .next()
            .is_some_and(|(c, _)| c.starts_with(&child_prefix))
        {
            return Err(StoreError::DirectoryNotEmpty);
        }
        sh.entries.remove(&k);
        Ok(())
    }

    /// Creates (or replaces) a file of `size` zero bytes.
    pub fn create_file(
        &mut self,
        share: &str,
        path: &str,
        size: u64,
        s: &Settings,
        now: SystemTime,
    ) -> Result<Props> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Err(StoreError::InvalidResourceName);
        }
        if size > MAX_FILE {
            return Err(StoreError::InvalidInput);
        }
        let sh = self.share(share)?;
        let pid = Self::parent_id(sh, &path)?;
        let k = key(&path);
        let existing = sh.entries.get(&k).cloned();
        if existing.as_ref().is_some_and(|e| e.kind == Kind::Directory) {
            return Err(StoreError::ResourceAlreadyExists);
        }
        let mut props = self.new_props(Kind::File, pid, s, now);
        if let Some(old) = existing {
            // Replacing keeps the file's identity, as on the service.
            props.id = old.props.id;
        }
        let sh = self.share_mut(share)?;
        sh.entries.insert(
            k,
            Entry {
                path,
                kind: Kind::File,
                props: props.clone(),
                data: vec![0; size as usize],
            },
        );
        Ok(props)
    }

    /// Writes `data` at `start` (or zeroes `clear_len` bytes when `data` is `None`).
    pub fn put_range(
        &mut self,
        share: &str,
        path: &str,
        start: u64,
        data: Option<&[u8]>,
        clear_len: u64,
        now: SystemTime,
    ) -> Result<Props> {
        let etag = self.etag();
        let path = normalize(path)?;
        let sh = self.share_mut(share)?;
        let e = match sh.entries.get_mut(&key(&path)) {
            Some(e) if e.kind == Kind::File => e,
            _ => return Err(StoreError::ResourceNotFound),
        };
        let len = data.map(|d| d.len() as u64).unwrap_or(clear_len);
        let end = start.checked_add(len).ok_or(StoreError::InvalidRange)?;
        if end > e.data.len() as u64 {
            return Err(StoreError::InvalidRange);
        }
        let (s, en) = (start as usize, end as usize);
        match data {
            Some(d) => e.data[s..en].copy_from_slice(d),
            None => e.data[s..en].fill(0),
        }
        e.props.etag = etag;
        e.props.last_modified = Some(now);
        e.props.content_md5 = None;
        Ok(e.props.clone())
    }

    pub fn delete_file(&mut self, share: &str, path: &str) -> Result<()> {
        let path = normalize(path)?;
        let sh = self.share_mut(share)?;
        let k = key(&path);
        match sh.entries.get(&k) {
            Some(e) if e.kind == Kind::File => {
                sh.entries.remove(&k);
                Ok(())
            }
            _ => Err(StoreError::ResourceNotFound),
        }
    }

    /// Sets properties of a file or directory; `new_size` resizes a file (truncating or
    /// zero-extending).
    pub fn set_properties(
        &mut self,
        share: &str,
        path: &str,
        kind: Kind,
        new_size: Option<u64>,
        s: &Settings,
        now: SystemTime,
    ) -> Result<Props> {
        let etag = self.etag();
        let path = normalize(path)?;
        let sh = self.share_mut(share)?;
        let props = if path.is_empty() && kind == Kind::Directory {
            &mut sh.root
        } else {
            match sh.entries.get_mut(&key(&path)) {
                Some(e) if e.kind == kind => {
                    if let Some(n) = new_size {
                        if n > MAX_FILE {
                            return Err(StoreError::InvalidInput);
                        }
                        e.data.resize(n as usize, 0);
                    }
                    &mut e.props
                }
                _ => return Err(StoreError::ResourceNotFound),
            }
        };
        apply(props, kind, s, now);
        props.etag = etag;
        props.last_modified = Some(now);
        props.change_time = timefmt::iso7(now);
        Ok(props.clone())
    }

    /// Renames a file or directory inside one share. `replace` lets a file replace an
    /// existing file.
    pub fn rename(
        &mut self,
        share: &str,
        src: &str,
        dst: &str,
        kind: Kind,
        replace: bool,
        now: SystemTime,
    ) -> Result<Props> {
        let src = normalize(src)?;
        let dst = normalize(dst)?;
        if src.is_empty() || dst.is_empty() {
            return Err(StoreError::InvalidInput);
        }
        let etag = self.etag();
        let sh = self.share_mut(share)?;
        let (sk, dk) = (key(&src), key(&dst));
        match sh.entries.get(&sk) {
            Some(e) if e.kind == kind => {}
            _ => return Err(StoreError::ResourceNotFound),
        }
        let pid = Self::parent_id(sh, &dst)?;
        if dk.starts_with(&format!("{sk}/")) {
            return Err(StoreError::InvalidInput);
        }
        if sk != dk {
            if let Some(existing) = sh.entries.get(&dk) {
                if !(replace && existing.kind == Kind::File && kind == Kind::File) {
                    return Err(StoreError::ResourceAlreadyExists);
                }
            }
        }
        let mut e = sh.entries.remove(&sk).expect("checked above");
        e.path = dst.clone();
        e.props.parent_id = pid;
        e.props.etag = etag;
        e.props.last_modified = Some(now);
        e.props.change_time = timefmt::iso7(now);
        let props = e.props.clone();
        sh.entries.insert(dk.clone(), e);
        if kind == Kind::Directory {
            let prefix = format!("{sk}/");
            let moved: Vec<String> = sh
                .entries
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for k in moved {
                let mut child = sh.entries.remove(&k).expect("listed");
                child.path = format!("{dst}{}", &child.path[src.len()..]);
                sh.entries.insert(format!("{dk}{}", &k[sk.len()..]), child);
            }
        }
        Ok(props)
    }

    /// One page of a directory's immediate children, in case-insensitive name order.
    /// `marker` is an opaque value from a previous page's `next_marker`.
    pub fn list(
        &self,
        share: &str,
        dir: &str,
        prefix: Option<&str>,
        marker: Option<&str>,
        max_results: usize,
    ) -> Result<Listing> {
        let dir = normalize(dir)?;
        let directory_id = self.directory(share, &dir)?.id;
        let sh = self.share(share)?;
        let base = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", key(&dir))
        };
        let prefix_l = prefix.map(|p| p.to_lowercase()).unwrap_or_default();
        let after = match marker {
            Some(m) if !m.is_empty() => Some(decode_marker(m).ok_or(StoreError::InvalidInput)?),
            _ => None,
        };
        let mut children: Vec<(&str, &Entry)> = sh
            .entries
            .range(base.clone()..)
            .take_while(|(k, _)| k.starts_with(&base))
            .filter_map(|(k, e)| {
                let rest = &k[base.len()..];
                (!rest.contains('/') && rest.starts_with(&prefix_l)).then_some((rest, e))
            })
            .filter(|(rest, _)| after.iter().all(|a| *rest >= a.as_str()))
            .collect();
        children.sort_by(|a, b| a.0.cmp(b.0));
        let max = max_results.clamp(1, MAX_RESULTS);
        let next_marker = children.get(max).map(|(rest, _)| encode_marker(rest));
        let entries = children
            .into_iter()
            .take(max)
            .map(|(_, e)| Listed {
                name: e.name().to_string(),
                kind: e.kind,
                size: e.data.len() as u64,
                props: e.props.clone(),
            })
            .collect();
        Ok(Listing {
            directory_id,
            entries,
            next_marker,
        })
    }
}

fn apply(p: &mut Props, kind: Kind, s: &Settings, now: SystemTime) {
    if let Some(a) = &s.attributes {
        if a != "preserve" {
            let a = a.trim();
            p.attributes = match (kind, a.eq_ignore_ascii_case("none") || a.is_empty()) {
                (Kind::Directory, true) => "Directory".into(),
                (Kind::File, true) => "Archive".into(),
                (Kind::Directory, false) if !a.contains("Directory") => format!("Directory | {a}"),
                _ => a.to_string(),
            };
        }
    }
    p.creation_time = resolve_time(&s.creation_time, &p.creation_time, now);
    p.last_write_time = resolve_time(&s.last_write_time, &p.last_write_time, now);
    p.change_time = resolve_time(&s.change_time, &p.change_time, now);
    if kind == Kind::File {
        for (dst, src) in [
            (&mut p.content_type, &s.content_type),
            (&mut p.content_encoding, &s.content_encoding),
            (&mut p.content_language, &s.content_language),
            (&mut p.cache_control, &s.cache_control),
            (&mut p.content_disposition, &s.content_disposition),
            (&mut p.content_md5, &s.content_md5),
        ] {
            if src.is_some() {
                dst.clone_from(src);
            }
        }
    }
    if let Some(m) = &s.metadata {
        p.metadata.clone_from(m);
    }
}

fn encode_marker(lower_name: &str) -> String {
    format!("2!{}", B64URL.encode(lower_name.as_bytes()))
}

fn decode_marker(m: &str) -> Option<String> {
    let b = B64URL.decode(m.strip_prefix("2!")?).ok()?;
    String::from_utf8(b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_067_200)
    }
    fn st() -> Store {
        let mut s = Store::new();
        s.create_share("share", None, now()).unwrap();
        s
    }
    const D: Settings = Settings {
        attributes: None,
        creation_time: None,
        last_write_time: None,
        change_time: None,
        content_type: None,
        content_encoding: None,
        content_language: None,
        cache_control: None,
        content_disposition: None,
        content_md5: None,
        metadata: None,
    };

    #[test]
    fn shares() {
        let mut s = st();
        assert_eq!(
            s.create_share("share", None, now()).unwrap_err(),
            StoreError::ShareAlreadyExists
        );
        assert_eq!(
            s.create_share("Bad_Name", None, now()).unwrap_err(),
            StoreError::InvalidResourceName
        );
        assert_eq!(
            s.directory("nope", "").unwrap_err(),
            StoreError::ShareNotFound
        );
        s.delete_share("share").unwrap();
        assert_eq!(
            s.delete_share("share").unwrap_err(),
            StoreError::ShareNotFound
        );
    }

    #[test]
    fn directories() {
        let mut s = st();
        assert_eq!(
            s.create_directory("share", "a/b", &D, now()).unwrap_err(),
            StoreError::ParentNotFound
        );
        s.create_directory("share", "a", &D, now()).unwrap();
        s.create_directory("share", "a/b", &D, now()).unwrap();
        assert_eq!(
            s.create_directory("share", "A", &D, now()).unwrap_err(),
            StoreError::ResourceAlreadyExists
        );
        assert_eq!(s.directory("share", "A/B").unwrap().attributes, "Directory");
        assert_eq!(
            s.delete_directory("share", "a").unwrap_err(),
            StoreError::DirectoryNotEmpty
        );
        s.delete_directory("share", "a/b").unwrap();
        s.delete_directory("share", "a").unwrap();
        assert_eq!(
            s.directory("share", "a").unwrap_err(),
            StoreError::ResourceNotFound
        );
        assert_eq!(
            s.create_directory("share", "x:y", &D, now()).unwrap_err(),
            StoreError::InvalidResourceName
        );
    }

    #[test]
    fn files_and_ranges() {
        let mut s = st();
        assert_eq!(
            s.create_file("share", "d/f", 10, &D, now()).unwrap_err(),
            StoreError::ParentNotFound
        );
        s.create_file("share", "f", 10, &D, now()).unwrap();
        s.put_range("share", "F", 2, Some(b"abc"), 0, now())
            .unwrap();
        assert_eq!(s.file("share", "f").unwrap().data, b"\0\0abc\0\0\0\0\0");
        assert_eq!(
            s.put_range("share", "f", 8, Some(b"abc"), 0, now())
                .unwrap_err(),
            StoreError::InvalidRange
        );
        s.put_range("share", "f", 3, None, 1, now()).unwrap();
        assert_eq!(s.file("share", "f").unwrap().data, b"\0\0a\0c\0\0\0\0\0");
        s.set_properties("share", "f", Kind::File, Some(4), &D, now())
            .unwrap();
        assert_eq!(s.file("share", "f").unwrap().data, b"\0\0a\0");
        assert_eq!(
            s.file("share", "g").unwrap_err(),
            StoreError::ResourceNotFound
        );
        s.create_directory("share", "d", &D, now()).unwrap();
        assert_eq!(
            s.create_file("share", "d", 1, &D, now()).unwrap_err(),
            StoreError::ResourceAlreadyExists
        );
        assert_eq!(
            s.file("share", "d").unwrap_err(),
            StoreError::ResourceNotFound
        );
        s.delete_file("share", "f").unwrap();
        assert_eq!(
            s.delete_file("share", "f").unwrap_err(),
            StoreError::ResourceNotFound
        );
    }

    #[test]
    fn listing_pages() {
        let mut s = st();
        s.create_directory("share", "d", &D, now()).unwrap();
        s.create_directory("share", "d/sub", &D, now()).unwrap();
        for n in ["b.dtsx", "A.dtsx", "c.txt", "sub/deep.dtsx"] {
            s.create_file("share", &format!("d/{n}"), 3, &D, now())
                .unwrap();
        }
        let all = s.list("share", "d", None, None, 5000).unwrap();
        let names: Vec<_> = all.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["A.dtsx", "b.dtsx", "c.txt", "sub"]);
        assert!(all.next_marker.is_none());
        let p1 = s.list("share", "d", None, None, 2).unwrap();
        assert_eq!(p1.entries.len(), 2);
        let m = p1.next_marker.unwrap();
        let p2 = s.list("share", "d", None, Some(&m), 2).unwrap();
        let names: Vec<_> = p2.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["c.txt", "sub"]);
        assert!(p2.next_marker.is_none());
        let pre = s.list("share", "d", Some("b"), None, 10).unwrap();
        assert_eq!(pre.entries.len(), 1);
        let root = s.list("share", "", None, None, 10).unwrap();
        assert_eq!(root.entries.len(), 1);
        assert_eq!(
            s.list("share", "zz", None, None, 10).unwrap_err(),
            StoreError::ResourceNotFound
        );
        assert_eq!(
            s.list("share", "d", None, Some("garbage"), 10).unwrap_err(),
            StoreError::InvalidInput
        );
    }

    #[test]
    fn rename_files_and_directories() {
        let mut s = st();
        s.create_directory("share", "a", &D, now()).unwrap();
        s.create_directory("share", "b", &D, now()).unwrap();
        s.create_file("share", "a/x.tmp", 2, &D, now()).unwrap();
        s.create_file("share", "a/x", 1, &D, now()).unwrap();
        assert_eq!(
            s.rename("share", "a/x.tmp", "a/x", Kind::File, false, now())
                .unwrap_err(),
            StoreError::ResourceAlreadyExists
        );
        s.rename("share", "a/x.tmp", "a/x", Kind::File, true, now())
            .unwrap();
        assert_eq!(s.file("share", "a/x").unwrap().data.len(), 2);
        assert_eq!(
            s.rename("share", "a/x", "nope/x", Kind::File, true, now())
                .unwrap_err(),
            StoreError::ParentNotFound
        );
        s.rename("share", "a", "b/a2", Kind::Directory, false, now())
            .unwrap();
        assert_eq!(s.file("share", "b/a2/x").unwrap().path, "b/a2/x");
        assert_eq!(
            s.directory("share", "a").unwrap_err(),
            StoreError::ResourceNotFound
        );
        assert_eq!(
            s.rename("share", "b", "b/a2/c", Kind::Directory, false, now())
                .unwrap_err(),
            StoreError::InvalidInput
        );
    }

    #[test]
    fn twenty_mib_in_ranges() {
        let mut s = st();
        let size = 20 * 1024 * 1024u64;
        s.create_file("share", "big", size, &D, now()).unwrap();
        let chunk = vec![7u8; MAX_RANGE as usize];
        let mut off = 0;
        while off < size {
            let n = (size - off).min(MAX_RANGE) as usize;
            s.put_range("share", "big", off, Some(&chunk[..n]), 0, now())
                .unwrap();
            off += n as u64;
        }
        assert!(s.file("share", "big").unwrap().data.iter().all(|&b| b == 7));
    }
}
