//! The files the Kerberos library will open for an integrated sign-in, found the way
//! MIT krb5 finds them, so that one that could block its read forever (a FIFO, a
//! device) is refused before the library opens it (docs/reliability.md): the library
//! has no timeout of its own.
//!
//! - The ticket cache: `KRB5CCNAME` (`FILE:PATH`, a bare path, `DIR::PATH`, or a `DIR:`
//!   folder: its `primary` file, the cache that file names, and the `tkt*` caches the
//!   collection scans), else the configuration's `default_ccache_name`, else the
//!   built-in `/tmp/krb5cc_UID`.
//! - The client keytab: `KRB5_CLIENT_KTNAME` (`FILE:`, `WRFILE:` or a bare path), else
//!   the configuration's `default_client_keytab_name`.
//! - The configuration: `KRB5_CONFIG` (a `:`-separated list) or `/etc/krb5.conf`, and
//!   every file its `include` and `includedir` lines pull in.
//!
//! Other cache and keytab types (KEYRING, KCM, MEMORY, API) are no files.

use std::path::{Path, PathBuf};

/// A file the library will open, who names it and what to do about it.
pub struct KrbFile {
    /// `KRB5CCNAME`, or the configuration file and line that named it.
    pub named_by: String,
    pub path: PathBuf,
    /// A folder is refused too (where the library expects a file); the caches a `DIR:`
    /// collection scans and the files an `includedir` holds are skipped when folders.
    pub folder_refused: bool,
    /// What to do, for the message.
    pub fix: String,
}

/// Config files deeper than this in `include`s are not followed (MIT stops at 5).
const MAX_INCLUDE_DEPTH: usize = 8;
/// What is parsed of one configuration file; the library reads all of it, but the
/// lines that name files come first in every configuration seen in practice.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Every file the library will open for an integrated sign-in, variables first.
pub fn files() -> Vec<KrbFile> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut found = Vec::new();
    let mut config = Config::default();
    let config_files: Vec<PathBuf> = match std::env::var_os("KRB5_CONFIG") {
        Some(list) => std::env::split_paths(&list).collect(),
        None => vec![PathBuf::from("/etc/krb5.conf")],
    };
    let (named_by, fix) = match std::env::var_os("KRB5_CONFIG") {
        Some(_) => ("KRB5_CONFIG", "point KRB5_CONFIG at the file itself"),
        None => (
            "the default configuration (KRB5_CONFIG is not set)",
            "make it a regular file, or set KRB5_CONFIG",
        ),
    };
    for path in &config_files {
        found.push(KrbFile {
            named_by: named_by.to_string(),
            path: path.clone(),
            // A configuration folder is the library's to refuse; it never blocks.
            folder_refused: false,
            fix: fix.to_string(),
        });
    }
    // The variables' own files first: their messages name the variable.
    let cache = var("KRB5CCNAME");
    if let Some(value) = &cache {
        found.extend(cache_files(
            value,
            "KRB5CCNAME",
            "point KRB5CCNAME at the file itself (`klist` shows the ticket cache in use)",
        ));
    }
    let keytab = var("KRB5_CLIENT_KTNAME");
    if let Some(value) = &keytab {
        found.extend(keytab_file(
            value,
            "KRB5_CLIENT_KTNAME",
            "point KRB5_CLIENT_KTNAME at the file itself",
        ));
    }
    for path in &config_files {
        config.read(path, 0, &mut found);
    }
    if cache.is_none() {
        match &config.default_ccache {
            Some((line, value)) => found.extend(cache_files(
                &expand(value),
                line,
                "point it at a regular file (or set KRB5CCNAME)",
            )),
            None => found.extend(cache_files(
                &format!("FILE:/tmp/krb5cc_{}", uid()),
                "the default ticket cache (KRB5CCNAME is not set)",
                "remove it (`kdestroy`), or set KRB5CCNAME to a regular file",
            )),
        }
    }
    if let (None, Some((line, value))) = (&keytab, &config.default_client_keytab) {
        found.extend(keytab_file(
            &expand(value),
            line,
            "point it at a regular file (or set KRB5_CLIENT_KTNAME)",
        ));
    }
    found
}

/// The files of a ticket cache name (`KRB5CCNAME`'s syntax).
fn cache_files(value: &str, named_by: &str, fix: &str) -> Vec<KrbFile> {
    let file = |path: PathBuf, folder_refused: bool, named_by: String| KrbFile {
        named_by,
        path,
        folder_refused,
        fix: fix.to_string(),
    };
    let path = match value.split_once(':') {
        None => PathBuf::from(value),
        Some(("FILE", path)) => PathBuf::from(path),
        Some(("DIR", dir)) => {
            if let Some(single) = dir.strip_prefix(':') {
                return vec![file(single.into(), true, named_by.to_string())];
            }
            return dir_collection(Path::new(dir), named_by, fix);
        }
        Some(_) => return Vec::new(),
    };
    if path.as_os_str().is_empty() {
        return Vec::new();
    }
    vec![file(path, true, named_by.to_string())]
}

/// A `DIR:` collection: its `primary` file, the cache `primary` names (the one in use),
/// and every `tkt*` cache the collection's scan opens.
fn dir_collection(dir: &Path, named_by: &str, fix: &str) -> Vec<KrbFile> {
    let file = |path: PathBuf, folder_refused: bool, named_by: String| KrbFile {
        named_by,
        path,
        folder_refused,
        fix: fix.to_string(),
    };
    let primary = dir.join("primary");
    let mut files = vec![file(primary.clone(), true, named_by.to_string())];
    // Only a regular `primary` is read here; any other kind is refused by its own entry.
    if std::fs::metadata(&primary).is_ok_and(|m| m.is_file()) {
        if let Some(name) = read_small(&primary, 4096).and_then(|text| {
            let name = text.lines().next()?.trim().to_string();
            (!name.is_empty() && !name.contains('/')).then_some(name)
        }) {
            files.push(file(
                dir.join(name),
                true,
                format!("{named_by} (the cache its `primary` file names)"),
            ));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten().take(10_000) {
            if entry.file_name().to_string_lossy().starts_with("tkt") {
                files.push(file(
                    entry.path(),
                    false,
                    format!("{named_by} (a cache of its collection)"),
                ));
            }
        }
    }
    files
}

/// The file of a keytab name (`FILE:`, `WRFILE:` or a bare path).
fn keytab_file(value: &str, named_by: &str, fix: &str) -> Option<KrbFile> {
    let path = match value.split_once(':') {
        None => value,
        Some(("FILE" | "WRFILE", path)) => path,
        Some(_) => return None,
    };
    (!path.is_empty()).then(|| KrbFile {
        named_by: named_by.to_string(),
        path: path.into(),
        folder_refused: true,
        fix: fix.to_string(),
    })
}

/// What the configuration says about the default cache and client keytab: the first
/// value wins, as in MIT's profile library.
#[derive(Default)]
struct Config {
    default_ccache: Option<(String, String)>,
    default_client_keytab: Option<(String, String)>,
    seen: Vec<PathBuf>,
}

impl Config {
    /// Reads one configuration file (when it is a regular file: any other kind is
    /// refused by its own entry), adding the files its `include` and `includedir`
    /// lines name to `found`.
    fn read(&mut self, path: &Path, depth: usize, found: &mut Vec<KrbFile>) {
        if depth > MAX_INCLUDE_DEPTH || self.seen.iter().any(|p| p == path) {
            return;
        }
        self.seen.push(path.to_path_buf());
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return;
        }
        let Some(text) = read_small(path, MAX_CONFIG_BYTES) else {
            return;
        };
        let mut section = String::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let at = |what: &str| format!("`{}` line {} ({what})", path.display(), n + 1);
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_ascii_lowercase();
            } else if let Some(file) = directive(line, "include") {
                let named_by = at("include");
                found.push(KrbFile {
                    named_by: named_by.clone(),
                    path: file.into(),
                    folder_refused: false,
                    fix: "point the line at a regular file, or remove it".into(),
                });
                self.read(Path::new(file), depth + 1, found);
            } else if let Some(dir) = directive(line, "includedir") {
                self.read_dir(Path::new(dir), &at("includedir"), depth, found);
            } else if section == "libdefaults" {
                if let Some((key, value)) = line.split_once('=') {
                    let value = value.trim().trim_matches('"').to_string();
                    let slot = match key.trim() {
                        "default_ccache_name" => &mut self.default_ccache,
                        "default_client_keytab_name" => &mut self.default_client_keytab,
                        _ => continue,
                    };
                    if slot.is_none() && !value.is_empty() {
                        *slot = Some((at(key.trim()), value));
                    }
                }
            }
        }
    }

    /// `includedir DIR`: the files MIT reads from it (names of letters, digits, `-` and
    /// `_` only, or ending in `.conf`).
    fn read_dir(&mut self, dir: &Path, named_by: &str, depth: usize, found: &mut Vec<KrbFile>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<PathBuf> = entries
            .flatten()
            .take(10_000)
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(".conf")
                    || name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .map(|e| e.path())
            .collect();
        names.sort();
        for path in names {
            found.push(KrbFile {
                named_by: named_by.to_string(),
                path: path.clone(),
                folder_refused: false,
                fix: "remove it from that folder, or make it a regular file".into(),
            });
            self.read(&path, depth + 1, found);
        }
    }
}

/// The argument of `include PATH` / `includedir PATH` (a blank after the word).
fn directive<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(word)?;
    rest.starts_with([' ', '\t'])
        .then(|| rest.trim())
        .filter(|p| !p.is_empty())
}

/// MIT's expansions that dtutil can make: `%{uid}`, `%{euid}`, `%{TEMP}`. A name that
/// keeps another `%{` is left alone (then it names no file that exists).
fn expand(value: &str) -> String {
    let temp = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into());
    value
        .replace("%{uid}", &uid().to_string())
        .replace("%{euid}", &euid().to_string())
        .replace("%{TEMP}", &temp)
}

fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// At most `limit` bytes of a regular file, as text; `None` when it cannot be read.
/// Opened without blocking: a file swapped for a FIFO after its check cannot hold us.
fn read_small(path: &Path, limit: u64) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = Vec::new();
    file.take(limit).read_to_end(&mut text).ok()?;
    Some(String::from_utf8_lossy(&text).into_owned())
}
