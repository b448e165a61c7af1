//! One package through the batch: read, (resume check), exists check, re-protect,
//! write. Never panics on a package's account: every outcome is a [`Record`].

use super::location::{Item, Location};
use super::report::{Record, ResumeIndex, SkipKind, Status};
use crate::crypto::Algorithm;
use crate::ops::pipeline::{self, hex_sha256, Recipe, Reprotect};
use crate::package::{OptionNames, PackageError, ProtectionLevel, Target};
use crate::store::{NewFileMode, Store, StoreError};
use std::time::Instant;
use zeroize::Zeroizing;

/// How a batch re-protects a ServerStorage package for a destination outside msdb.
const SERVER_STORAGE_FIX: &str = "--encrypt \"2;env:NAME\" (or 3) keeps them encrypted with a password, --encrypt 0 leaves them out";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Fail,
    Overwrite,
    Skip,
}

/// What every package goes through (passwords resolved).
pub struct Job {
    pub from: Location,
    pub to: Location,
    pub from_server: Option<String>,
    pub to_server: Option<String>,
    pub encrypt: Option<(ProtectionLevel, Option<Zeroizing<String>>)>,
    pub decrypt: Option<Zeroizing<String>>,
    pub algorithm: Option<Algorithm>,
    pub regenerate_ids: bool,
    pub existing: Existing,
    pub allow_lost: bool,
    /// `--target-version`: packages that runtime cannot load fail.
    pub target: Option<crate::package::target::Runtime>,
    pub dry_run: bool,
    pub resume: ResumeIndex,
    /// `--resume` was given: a destination identical to this run's result counts as
    /// done (the run before was killed after writing it, before saving the report).
    pub resuming: bool,
    /// What this run asks of the packages' protection: recorded on the rows it
    /// writes, compared with the rows `--resume` finds done.
    pub protection: super::protection::Asked,
    /// What the workers' stores are opened with.
    pub stores: crate::store::StoreConfig,
    /// Checksums are kept (for `--json`, the report and `--resume`): hashing is a
    /// good part of the time a large package takes.
    pub hash: bool,
    /// `--assess`: the assessment's rules, run on each source package.
    pub assess: Option<crate::assess::Options>,
}

/// Where one package comes from and goes to: the worker's stores, the destination path.
#[derive(Clone, Copy)]
struct Sides<'a> {
    src: &'a dyn Store,
    dst: &'a dyn Store,
    dest_path: &'a str,
}

impl Job {
    /// What every package of this job goes through.
    fn recipe(&self) -> Recipe<'_> {
        let target = match &self.encrypt {
            Some((level, pw)) => Target::Level {
                level: *level,
                password: pw.as_deref().map(|s| s.as_str()),
            },
            None => Target::Keep,
        };
        let rewriting = self.encrypt.is_some() || self.regenerate_ids;
        Recipe {
            decrypt: self.decrypt.as_deref().map(|s| s.as_str()),
            // A plain copy moves the bytes as they are (as dtutil's /COPY does).
            reprotect: rewriting.then_some(Reprotect {
                target,
                algorithm: self.algorithm,
                regenerate_id: self.regenerate_ids,
                allow_lost_values: self.allow_lost,
            }),
        }
    }

    pub fn source_name(&self, item: &Item) -> String {
        self.from
            .package_display(self.from_server.as_deref(), &item.source)
    }

    pub fn destination_path(&self, item: &Item) -> String {
        self.to.package_path(&item.folders, &item.name, &item.ext)
    }

    pub fn destination_name(&self, item: &Item) -> String {
        self.to
            .package_display(self.to_server.as_deref(), &self.destination_path(item))
    }

    /// A record for a package that was never started.
    pub fn not_started(&self, item: &Item, why: &str) -> Record {
        let mut r = Record::new(
            self.source_name(item),
            self.destination_name(item),
            Status::Skipped,
        );
        r.skip = Some(SkipKind::NotStarted);
        r.reason = Some(why.to_string());
        r
    }

    /// Carries one package through; the stores are the worker's own. `read` is told
    /// the package's size once it is read (`--in-flight-bytes` may hold it there).
    pub fn process(
        &self,
        item: &Item,
        src: &dyn Store,
        dst: &dyn Store,
        read: &mut dyn FnMut(usize),
    ) -> Record {
        let started = Instant::now();
        let dest_path = self.destination_path(item);
        let mut r = Record::new(
            self.source_name(item),
            self.destination_name(item),
            Status::Failed,
        );
        let mut rewriting = None;
        let sides = Sides {
            src,
            dst,
            dest_path: &dest_path,
        };
        self.steps(item, sides, read, &mut r, &mut rewriting);
        if r.done && r.skip != Some(SkipKind::Resumed) {
            r.protection = Some(self.protection.recorded.clone());
        } else if let (Some(earlier), false) = (rewriting, self.dry_run) {
            // A done row this run set out to write again (asked otherwise) and did not
            // (a user-key package without --allow-lost-sensitive, a failed write): the
            // destination still holds what the earlier run wrote, so the row stays done
            // as that run recorded it, and the next --resume redoes it, never "the
            // destination exists".
            r.done = true;
            r.bytes = earlier.bytes;
            r.sha256 = earlier.sha256;
            r.protection = earlier.protection;
            if let Some(reason) = &mut r.reason {
                reason
                    .push_str("; the destination still holds what an earlier run wrote (--resume)");
            }
        }
        r.millis = started.elapsed().as_millis() as u64;
        r
    }

    fn steps(
        &self,
        item: &Item,
        sides: Sides<'_>,
        read: &mut dyn FnMut(usize),
        r: &mut Record,
        rewriting: &mut Option<Record>,
    ) {
        let Sides {
            src,
            dst,
            dest_path,
        } = sides;
        let fail = |r: &mut Record, why: String| {
            r.status = Status::Failed;
            r.reason = Some(why);
        };
        // A new file is made as `cp` makes a copy: with a local source's bits.
        let source_mode = src.file_mode(&item.source);
        let bytes = match read_source(src, item) {
            Ok(b) => b,
            Err(e) => return fail(r, format!("cannot read the source: {e}")),
        };
        r.source_bytes = Some(bytes.len());
        read(bytes.len());
        // Set when an earlier run's "done" did not hold: said on the row when redone.
        let mut redo: Option<String> = None;
        // The destination is an earlier run's output that this run writes again.
        let mut ours_to_rewrite = false;
        if let Some(options) = &self.assess {
            let password = self.decrypt.as_deref().map(|s| s.as_str());
            r.findings = crate::assess::assess(&r.source, &bytes, password, options)
                .iter()
                .map(|f| serde_json::to_value(f).expect("findings serialise"))
                .collect();
        }
        if self.hash {
            let source_sha = hex_sha256(&bytes);
            r.source_sha256 = Some(source_sha.clone());
            if let Some(prev) = self.resume.done(&r.source, &r.destination, &source_sha) {
                // A report is a claim, not proof: the destination must still hold what
                // was written (it may have been emptied or changed since).
                let written = match dst.read(dest_path) {
                    Ok(bytes) => Some(bytes),
                    Err(crate::store::StoreError::NotFound(_)) => None,
                    Err(e) => {
                        return fail(r, format!("--resume: cannot verify the destination: {e}"))
                    }
                };
                let asked_otherwise = self
                    .protection
                    .differs(prev.protection.as_ref())
                    .or_else(|| self.lost_values_refused(prev).map(str::to_string));
                match still_written(prev, written.as_deref()) {
                    // What the earlier run wrote, but not what this run asks (another
                    // --encrypt level or password, another --algorithm, values written
                    // blank that this run does not allow): done again, over it, so that
                    // "done" means done as asked.
                    None if asked_otherwise.is_some() => {
                        redo = asked_otherwise;
                        ours_to_rewrite = true;
                        *rewriting = Some(prev.clone());
                    }
                    // What the earlier run wrote, but with other package IDs than this
                    // run gives: written again, over it (it is that run's output).
                    None if self.resume.other_id_policy(self.regenerate_ids) => {
                        redo = Some(OTHER_ID_POLICY.into());
                        ours_to_rewrite = true;
                        *rewriting = Some(prev.clone());
                    }
                    None => {
                        let keep = std::mem::replace(r, prev.clone());
                        r.status = Status::Skipped;
                        r.skip = Some(SkipKind::Resumed);
                        r.reason = Some(
                            "done in an earlier run, source unchanged, destination verified (--resume)"
                                .into(),
                        );
                        r.done = true;
                        r.source_bytes = keep.source_bytes;
                        r.source_sha256 = keep.source_sha256;
                        // This run's findings (its --assess and --target-version), not
                        // the earlier run's.
                        r.findings = keep.findings;
                        r.action = None;
                        // The earlier run may not have checked what this run's
                        // --target-version asks: the package as written is checked now,
                        // so that exit 0 means every package loads there.
                        if let Some(why) = written.and_then(|bytes| self.target_refusal(bytes)) {
                            r.status = Status::Failed;
                            r.skip = None;
                            r.reason = Some(format!(
                                "{why} (--resume: an earlier run wrote it, and it stays at the destination)"
                            ));
                        }
                        return;
                    }
                    Some(why) => redo = Some(why.into()),
                }
            }
        }

        let mut exists = false;
        if self.existing != Existing::Overwrite {
            match dst.exists(dest_path) {
                Ok(e) => exists = e,
                Err(e) => return fail(r, format!("cannot check the destination: {e}")),
            }
            if exists && self.existing == Existing::Skip {
                r.status = Status::Skipped;
                r.skip = Some(SkipKind::Exists);
                r.reason = Some("the destination exists (--skip-existing)".into());
                return;
            }
            if exists && !self.dry_run && !self.resuming {
                return fail(r, exists_message(redo.as_deref()));
            }
        }

        let package = match pipeline::prepare(bytes, &self.recipe()) {
            Ok(package) => package,
            Err(PackageError::LostValues(names)) => {
                r.status = Status::Skipped;
                r.skip = Some(SkipKind::UserKey);
                r.level_before = Some(1);
                r.reason = Some(format!(
                    "level 1 (EncryptSensitiveWithUserKey): {} value(s) only the Windows user who saved it can open; --allow-lost-sensitive writes them blank",
                    names.len()
                ));
                r.lost_values = names;
                return;
            }
            Err(e) => {
                return fail(
                    r,
                    format!(
                        "cannot re-protect the package: {}",
                        e.advice_with(OptionNames::BATCH)
                    ),
                )
            }
        };
        match &package.reprotected {
            Some(done) => {
                r.level_before = Some(done.level_before.number());
                r.level_after = Some(done.level_after.number());
                r.lost_values.clone_from(&done.lost_values);
                r.new_id.clone_from(&done.new_id);
            }
            // A plain copy moves the bytes as they are, but only a package's: a file
            // merely named `.dtsx` (or a link to one that is not) is not copied.
            None => match package.facts() {
                Ok(facts) => {
                    r.level_before = facts.protection_level;
                    r.level_after = facts.protection_level;
                }
                Err(e) if crate::ops::pipeline::is_not_a_package(e) => {
                    return fail(r, format!("not copied: not an SSIS package file: {e}"))
                }
                // Password or user-key protection: a package all the same.
                Err(_) => {}
            },
        }

        if let Err(why) = package.check_server_storage(
            src.secure_storage(&item.source),
            dst,
            dest_path,
            SERVER_STORAGE_FIX,
        ) {
            return fail(r, format!("not copied: {why}"));
        }
        if let Err(why) = package.check_msdb_columns(dst, dest_path, "--decrypt") {
            return fail(r, format!("not copied: {why}"));
        }

        if let Some(why) = self.target_check(&package) {
            return fail(r, why);
        }

        if exists && self.resuming && !ours_to_rewrite {
            // Killed after this write, before the report was saved: what is there is
            // this run's result, or it is someone else's and stays.
            let source = || read_source(src, item).ok();
            match self.same_result(dst, dest_path, &package.bytes, source) {
                Ok(Earlier::ThisRunsResult) => {
                    r.status = Status::Ok;
                    r.done = true;
                    r.already_there = true;
                    r.reason = Some(
                        "already at the destination, identical to this run's result (--resume)"
                            .into(),
                    );
                    r.bytes = Some(package.bytes.len());
                    if self.hash {
                        r.sha256 = Some(package.sha256());
                    }
                    return;
                }
                Ok(Earlier::OtherIdPolicy) => {
                    redo = Some(OTHER_ID_POLICY.into());
                    ours_to_rewrite = true;
                }
                Ok(Earlier::OtherProtection) => {
                    redo = Some(OTHER_PROTECTION.into());
                    ours_to_rewrite = true;
                }
                Ok(Earlier::Foreign) => return fail(r, exists_message(redo.as_deref())),
                Err(e) => return fail(r, format!("--resume: cannot verify the destination: {e}")),
            }
        }

        if self.dry_run {
            r.status = Status::Planned;
            r.action = Some(if exists { "overwrite" } else { "write" }.into());
            r.bytes = Some(package.bytes.len());
            r.reason = redo.map(|why| format!("would be redone (--resume): {why}"));
            if exists && !ours_to_rewrite {
                r.status = Status::Failed;
                r.action = None;
                r.reason = Some(
                    "the destination exists; add --overwrite to replace it or --skip-existing to keep it".into(),
                );
            }
            return;
        }

        let new_mode = source_mode.map_or(NewFileMode::Umask, NewFileMode::LikeSource);
        // Nothing was there when looked at: create it only if that still holds, so
        // that of two runs creating one package exactly one wins (a check, then a
        // plain replace, let the later run silently replace the other's package).
        let create_only = !exists && self.existing != Existing::Overwrite;
        let with_meta = dst.has_msdb_metadata();
        let written = if create_only {
            package.write_new(dst, dest_path, with_meta, new_mode)
        } else {
            package.write(dst, dest_path, with_meta, new_mode)
        };
        match written {
            Ok(()) => {}
            Err(StoreError::Exists(_)) if self.existing == Existing::Skip => {
                r.status = Status::Skipped;
                r.skip = Some(SkipKind::Exists);
                r.reason = Some(
                    "the destination exists (--skip-existing): another writer created it meanwhile"
                        .into(),
                );
                return;
            }
            Err(StoreError::Exists(_)) => {
                return fail(
                    r,
                    format!(
                        "{} (another writer created it meanwhile)",
                        exists_message(redo.as_deref())
                    ),
                )
            }
            Err(e) => {
                // As `cp` and `rsync --inplace` leave a write-protected file alone, a
                // batch never replaces one: the read-only mark is taken as meant (source
                // control, a deployed package), and removing it is the user's explicit step.
                let fix = match e {
                    StoreError::PermissionDenied(_) if dst.read_only(dest_path) => {
                        ". batch never replaces a read-only file: make it writable first (chmod u+w) and run again with --overwrite, or --skip-existing to keep it"
                    }
                    _ => "",
                };
                return fail(r, format!("cannot write the destination: {e}{fix}"));
            }
        }
        r.status = Status::Ok;
        r.done = true;
        r.reason = redo.map(|why| format!("redone (--resume): {why}"));
        r.bytes = Some(package.bytes.len());
        if self.hash {
            r.sha256 = Some(package.sha256());
        }
    }
}

impl Job {
    /// `--target-version`: why that runtime cannot load the package as it will be
    /// written; `None` when it can or no version was asked.
    fn target_check(&self, package: &pipeline::Prepared<'_>) -> Option<String> {
        let runtime = self.target?;
        match package.check_target(runtime) {
            Ok(verdict) if verdict.ok() => None,
            Ok(verdict) => Some(format!(
                "the SQL Server {} runtime cannot load it: {}",
                runtime.year,
                verdict.refusals.join("; ")
            )),
            Err(e) => Some(format!(
                "cannot check it against --target-version: {}",
                e.advice_with(OptionNames::BATCH)
            )),
        }
    }

    /// [`Self::target_check`] of a package an earlier run wrote, opened as this run
    /// would open what it writes.
    fn target_refusal(&self, written: Vec<u8>) -> Option<String> {
        self.target?;
        let opener = match &self.encrypt {
            Some((_, password)) => password.as_ref(),
            None => self.decrypt.as_ref(),
        };
        let as_written = Recipe {
            decrypt: opener.map(|p| p.as_str()),
            reprotect: None,
        };
        let package = pipeline::prepare(written, &as_written).ok()?;
        self.target_check(&package)
    }

    /// Why a done row whose level 1 values were written blank is not what this run
    /// asks: without `--allow-lost-sensitive` such a package is not written.
    pub fn lost_values_refused(&self, earlier: &Record) -> Option<&'static str> {
        (!self.allow_lost && !earlier.lost_values.is_empty()).then_some(
            "an earlier run wrote it with level 1 values blank (--allow-lost-sensitive), which this run does not allow",
        )
    }
}

/// Why a `--resume` writes a package again that an earlier run wrote.
const OTHER_ID_POLICY: &str = "an earlier run wrote it with other package IDs (--regenerate-ids differs), so this run writes it again";

/// Why a `--resume` writes again a destination the report does not know that holds
/// this run's package protected otherwise.
const OTHER_PROTECTION: &str = "the destination holds this package at another protection level or cipher than this run asks (--encrypt or --algorithm differs), so this run writes it again";

/// What a destination that the report does not know is, next to this run's result.
enum Earlier {
    /// This run's result: done.
    ThisRunsResult,
    /// This run's result but for the package ID, given under the other ID policy (a
    /// run with or without `--regenerate-ids` killed before its report was saved):
    /// written again.
    OtherIdPolicy,
    /// This run's package, opened with this run's password, at another level or with
    /// another cipher (a run with other --encrypt/--algorithm killed before its report
    /// was saved): written again.
    OtherProtection,
    /// Something else: kept, and the package fails.
    Foreign,
}

impl Job {
    /// Whether the destination holds what this run would write: the same bytes, or,
    /// re-protected with a password (a new IV and salt each time), the same package
    /// once both are opened with that password. With `--regenerate-ids` each run gives
    /// a new ID: the same package under another new ID is this run's result too, and
    /// under the source's own ID (`source` gives its bytes), the other policy's.
    fn same_result(
        &self,
        dst: &dyn Store,
        dest_path: &str,
        ours: &[u8],
        source: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Result<Earlier, String> {
        let theirs = dst.read(dest_path).map_err(|e| e.to_string())?;
        if theirs == ours {
            return Ok(Earlier::ThisRunsResult);
        }
        let password = match &self.encrypt {
            Some((_, password)) => password.as_ref(),
            None => self.decrypt.as_ref(),
        };
        let password = password.map(|p| p.as_str());
        let clear = |bytes: &[u8]| -> Zeroizing<Vec<u8>> {
            crate::package::rewrite(
                bytes,
                &crate::package::Options {
                    decrypt_password: password,
                    target: Target::Level {
                        level: ProtectionLevel::ServerStorage,
                        password: None,
                    },
                    algorithm: None,
                    regenerate_id: false,
                    allow_lost_values: false,
                },
            )
            .map(|done| Zeroizing::new(done.bytes))
            // Nothing to open (a level 0 package), or not ours to open: as it is.
            .unwrap_or_else(|_| Zeroizing::new(bytes.to_vec()))
        };
        // Equal in the clear is not enough: the level and the cipher are what was asked
        // (an earlier run with --encrypt 2, this one with 3, opens to the same package).
        let protected_alike = protected_alike(&theirs, ours, password);
        let (theirs, ours) = (clear(&theirs), clear(ours));
        if self.encrypt.is_some() && theirs == ours {
            return Ok(if protected_alike {
                Earlier::ThisRunsResult
            } else {
                Earlier::OtherProtection
            });
        }
        let id = |bytes: &[u8]| {
            crate::package::inspect(bytes, password)
                .ok()
                .and_then(|i| i.package_id)
        };
        let (Some(their_id), Some(our_id)) = (id(&theirs), id(&ours)) else {
            return Ok(Earlier::Foreign);
        };
        if their_id == our_id || !same_but_id(&theirs, &their_id, &ours, &our_id) {
            return Ok(Earlier::Foreign);
        }
        let source_id = source().and_then(|bytes| id(&clear(&bytes)));
        let regenerated = source_id.is_some_and(|s| s != their_id);
        Ok(if regenerated == self.regenerate_ids {
            Earlier::ThisRunsResult
        } else {
            Earlier::OtherIdPolicy
        })
    }
}

/// The same protection level and ciphers (unreadable counts as not alike).
/// A package of the source, read only if it is still the file a local walk listed.
pub(super) fn read_source(src: &dyn Store, item: &Item) -> Result<Vec<u8>, StoreError> {
    match &item.listed {
        Some(listed) => src.read_listed(&item.source, listed),
        None => src.read(&item.source),
    }
}

fn protected_alike(a: &[u8], b: &[u8], password: Option<&str>) -> bool {
    let protection = |bytes: &[u8]| {
        crate::package::inspect(bytes, password)
            .ok()
            .map(|i| (i.protection_level, i.algorithms))
    };
    match (protection(a), protection(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `a` is `b` once its package ID is `b`'s.
fn same_but_id(a: &[u8], a_id: &str, b: &[u8], b_id: &str) -> bool {
    let (a_id, b_id) = (a_id.as_bytes(), b_id.as_bytes());
    let mut swapped = Vec::with_capacity(b.len());
    let mut rest = a;
    while let Some(at) = memchr::memmem::find(rest, a_id) {
        swapped.extend_from_slice(&rest[..at]);
        swapped.extend_from_slice(b_id);
        rest = &rest[at + a_id.len()..];
    }
    swapped.extend_from_slice(rest);
    let swapped = Zeroizing::new(swapped);
    *swapped == b
}

/// `None` when the destination (`None`: there is none) still holds what the earlier
/// run recorded (same size and SHA-256), else why it is redone.
fn still_written(prev: &Record, written: Option<&[u8]>) -> Option<&'static str> {
    let Some(bytes) = written else {
        return Some("the destination an earlier run wrote is gone");
    };
    let same_size = prev.bytes.is_none_or(|n| n == bytes.len());
    let same_hash = match &prev.sha256 {
        Some(sha) => *sha == hex_sha256(bytes),
        None => same_size,
    };
    (!(same_size && same_hash))
        .then_some("the destination differs from what an earlier run wrote (changed since)")
}

fn exists_message(redo: Option<&str>) -> String {
    match redo {
        Some(why) => {
            format!("--resume: {why}; add --overwrite to replace it or --skip-existing to keep it")
        }
        None => {
            "the destination exists; add --overwrite to replace it or --skip-existing to keep it"
                .into()
        }
    }
}
