//! The batch report: one record per package, written as JSON (atomically), read back
//! by `--resume`.

use super::protection::Protection;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

pub const REPORT_VERSION: u32 = 1;

/// Largest report `--resume` reads: a record is well under 1 KiB, so this holds
/// several hundred thousand packages, and a hostile or wrong file cannot take all
/// memory.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Failed,
    /// `--dry-run`: would be written.
    Planned,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Planned => "planned",
        }
    }
}

/// Why a package was skipped, for machines (the `reason` is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// `--resume`: done in an earlier run, source unchanged.
    Resumed,
    /// `--skip-existing`: the destination exists.
    Exists,
    /// Level 1 values that cannot be opened here (`--allow-lost-sensitive` writes them blank).
    UserKey,
    /// Never started: Ctrl-C or `--fail-fast`.
    NotStarted,
    /// Not a regular file (a symbolic link, a FIFO, a device): never opened.
    NotAFile,
}

/// One package's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub source: String,
    pub destination: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The destination holds this package as of this source (ok, or carried over by
    /// `--resume`): what `--resume` skips.
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// Of what was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_before: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_after: Option<u32>,
    /// Level 1 values written blank (or, when skipped, that would be): labels, never values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// `--dry-run`: write, overwrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default)]
    pub millis: u64,
    /// `--assess`: what `dtutil assess` finds in the source package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<serde_json::Value>,
    /// Done rows: the protection the run that wrote it asked for (`--resume` redoes a
    /// row asked otherwise than this run asks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protection: Option<Protection>,
    /// `--resume` found this run's result already at the destination (an earlier run
    /// wrote it and was stopped before saving its report): nothing was written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub already_there: bool,
}

impl Record {
    pub fn new(source: String, destination: String, status: Status) -> Self {
        Self {
            source,
            destination,
            status,
            skip: None,
            reason: None,
            done: false,
            source_bytes: None,
            source_sha256: None,
            bytes: None,
            sha256: None,
            level_before: None,
            level_after: None,
            lost_values: Vec::new(),
            new_id: None,
            action: None,
            millis: 0,
            findings: Vec::new(),
            protection: None,
            already_there: false,
        }
    }

    /// The record as printed (`--json` lines, the `--dry-run` plan): without the
    /// password digest, which only the report file (owner-only) keeps for `--resume`.
    pub fn shown(&self) -> Record {
        let mut shown = self.clone();
        if let Some(p) = &mut shown.protection {
            p.password = None;
        }
        shown
    }

    /// What this run wrote for the package: nothing unless it was written now.
    pub fn bytes_written(&self) -> u64 {
        let wrote = self.status == Status::Ok
            && !self.already_there
            && self.skip != Some(SkipKind::Resumed);
        if wrote {
            self.bytes.unwrap_or(0) as u64
        } else {
            0
        }
    }

    /// Counts as success for the exit code: written, already done, or an existing
    /// destination skipped on request.
    pub fn success(&self) -> bool {
        match self.status {
            Status::Ok | Status::Planned => true,
            Status::Skipped => matches!(self.skip, Some(SkipKind::Resumed | SkipKind::Exists)),
            Status::Failed => false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub total: usize,
    pub ok: usize,
    pub skipped: usize,
    pub failed: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    pub interrupted: bool,
}

impl Summary {
    pub fn of(records: &[Record], seconds: f64, interrupted: bool) -> Self {
        let mut s = Summary {
            total: records.len(),
            seconds,
            interrupted,
            ..Default::default()
        };
        for r in records {
            match r.status {
                Status::Ok | Status::Planned => s.ok += 1,
                Status::Skipped => s.skipped += 1,
                Status::Failed => s.failed += 1,
            }
            if r.skip != Some(SkipKind::Resumed) {
                s.bytes_read += r.source_bytes.unwrap_or(0) as u64;
            }
            s.bytes_written += r.bytes_written();
        }
        s
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub tool: String,
    pub from: String,
    pub to: String,
    /// The options that change what is written (passwords never appear).
    pub options: serde_json::Value,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    pub summary: Summary,
    pub packages: Vec<Record>,
}

/// A JSON object with a `version` and a `tool` naming dtutil, as every report this
/// dtutil writes is (pretty or rewritten compact, keys in any order), within the size
/// `--resume` reads.
fn looks_like_a_report(path: &Path) -> bool {
    use std::io::Read;
    let mut bytes = Vec::new();
    let Ok(file) = crate::store::file::open_regular(path) else {
        return false;
    };
    if file
        .take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .is_err()
        || bytes.len() as u64 > MAX_REPORT_BYTES
    {
        return false;
    }
    let Ok(serde_json::Value::Object(report)) = serde_json::from_slice(&bytes) else {
        return false;
    };
    report.contains_key("version")
        && report
            .get("tool")
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.starts_with("dtutil"))
}

impl Report {
    /// Saves the report owner-only (0600 from its creation: its password digests can
    /// confirm a guessed password offline), through the run's lock on it when it holds
    /// one.
    pub fn write(&self, path: &Path, lock: Option<&super::report_lock::ReportLock>) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("reports serialise");
        let mut text = crate::redact::for_display(&json).into_owned().into_bytes();
        text.push(b'\n');
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        match lock {
            Some(lock) => lock.save(&text),
            None => crate::store::file::stage(path, &text, crate::store::NewFileMode::Private)
                .and_then(|staged| staged.commit()),
        }
        .map_err(|e| Error::failure(format!("cannot write the report `{}`: {e}", path.display())))
    }

    /// Checks, before any package is touched, that the report can be written where
    /// asked, by the rules every destination file follows
    /// ([`crate::store::destination`]): a regular file (or none yet) in a folder that
    /// takes new files, a symlink written through to its target. A FIFO, device or
    /// `/proc` file (`/dev/stdout`) is never written to, a folder is not replaced.
    pub fn check_writable(path: &Path) -> Result<()> {
        let refuse = |why: String| {
            Error::failure(format!(
                "cannot write the report `{}`: {why}; nothing was copied. Give --report a file in a writable folder",
                path.display()
            ))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| refuse(e.to_string()))?;
        }
        let (target, existing) =
            crate::store::destination::regular_target(path).map_err(|e| refuse(e.to_string()))?;
        // A typo (`--report pkg.dtsx`) must not turn a package into a report: only an
        // empty file or an earlier dtutil report is replaced.
        if existing.is_some_and(|m| m.len() > 0) && !looks_like_a_report(&target) {
            return Err(Error::failure(format!(
                "the report `{}` exists and is not a dtutil report (it would be replaced); nothing was copied. Give --report a new file name, or delete that file first",
                path.display()
            )));
        }
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        tempfile::Builder::new()
            .prefix(".dtutil-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| refuse(e.to_string()))?;
        Ok(())
    }

    pub fn read(path: &Path) -> Result<Self> {
        let cannot = |e: std::io::Error| {
            Error::failure(format!(
                "--resume: cannot read the report `{}`: {e}",
                path.display()
            ))
        };
        let file = crate::store::file::open_regular(path).map_err(cannot)?;
        let too_large = |n: u64| {
            Error::failure(format!(
                "--resume: `{}` is {n} bytes, over the {} MiB no report dtutil writes reaches; not read",
                path.display(),
                MAX_REPORT_BYTES >> 20
            ))
        };
        let len = file.metadata().map_err(cannot)?.len();
        if len > MAX_REPORT_BYTES {
            return Err(too_large(len));
        }
        let mut bytes = Vec::new();
        file.take(MAX_REPORT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(cannot)?;
        if bytes.len() as u64 > MAX_REPORT_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        let report: Report = serde_json::from_slice(&bytes).map_err(|e| {
            Error::failure(format!(
                "--resume: `{}` is not a dtutil batch report: {e}",
                path.display()
            ))
        })?;
        if report.version != REPORT_VERSION {
            return Err(Error::failure(format!(
                "--resume: `{}` is a version {} report; this dtutil reads version {REPORT_VERSION}",
                path.display(),
                report.version
            )));
        }
        Ok(report)
    }
}

/// What `--resume` skips: done records by (source, destination).
#[derive(Debug, Default)]
pub struct ResumeIndex {
    done: HashMap<(String, String), Record>,
    /// The earlier run's `--regenerate-ids` (None: not recorded).
    regenerate_ids: Option<bool>,
}

impl ResumeIndex {
    pub fn from_report(report: &Report) -> Self {
        let done = report
            .packages
            .iter()
            .filter(|r| r.done && r.source_sha256.is_some())
            .map(|r| ((r.source.clone(), r.destination.clone()), r.clone()))
            .collect();
        Self {
            done,
            regenerate_ids: report
                .options
                .get("regenerate_ids")
                .and_then(serde_json::Value::as_bool),
        }
    }

    /// The earlier run gave package IDs otherwise than this one will (`--regenerate-ids`
    /// given in one and not the other): its output is not this run's result.
    pub fn other_id_policy(&self, regenerate_ids: bool) -> bool {
        self.regenerate_ids
            .is_some_and(|earlier| earlier != regenerate_ids)
    }

    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// The protection each done row was written with (what this run's request is
    /// compared with).
    pub fn protections(&self) -> impl Iterator<Item = &Protection> {
        self.done.values().filter_map(|r| r.protection.as_ref())
    }

    /// The done row for this source and destination, whatever its source's hash.
    pub fn row(&self, source: &str, destination: &str) -> Option<&Record> {
        self.done
            .get(&(source.to_string(), destination.to_string()))
    }

    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// The earlier record when this package was done from a source with this hash.
    pub fn done(&self, source: &str, destination: &str, source_sha256: &str) -> Option<&Record> {
        self.done
            .get(&(source.to_string(), destination.to_string()))
            .filter(|r| r.source_sha256.as_deref() == Some(source_sha256))
    }
}

/// Now as `2024-05-01T12:34:56Z`.
pub fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
