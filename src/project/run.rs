//! `dtutil project PATH`: re-protects a whole project (a folder with its `.dtproj`, or
//! an `.ispac`) consistently, in memory first; nothing is written unless every file
//! re-protected.

use super::file::{self, Kind, ProjectError};
use crate::crypto::Algorithm;
use crate::error::{Error, ExitCode};
use crate::ops::output::Printer;
use crate::ops::secrets;
use crate::package::{self, PackageError, ProtectionLevel};
use crate::plan::{OutputMode, ProjectPlan};
use crate::store::file::{mode_of, write_atomically_like};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Project(Kind),
    Package,
    PackagePart,
    Other,
}

struct Entry {
    /// File name in the folder, or the entry name in the `.ispac`.
    name: String,
    kind: EntryKind,
    bytes: Vec<u8>,
}

enum Source {
    Folder { dir: PathBuf, dtproj: String },
    Ispac(PathBuf),
}

fn classify(name: &str, dtproj: Option<&str>) -> EntryKind {
    let decoded = percent_decode(name);
    let lower = decoded.to_ascii_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    if base == "@project.manifest" {
        EntryKind::Project(Kind::Manifest)
    } else if lower.ends_with(".dtproj") {
        if dtproj.is_none_or(|d| d == name) {
            EntryKind::Project(Kind::Dtproj)
        } else {
            EntryKind::Other
        }
    } else if lower.ends_with(".params") {
        EntryKind::Project(Kind::Params)
    } else if lower.ends_with(".conmgr") {
        EntryKind::Project(Kind::ConnectionManager)
    } else if lower.ends_with(".dtsx") {
        EntryKind::Package
    } else if lower.ends_with(".dtsxp") {
        EntryKind::PackagePart
    } else {
        EntryKind::Other
    }
}

/// `.ispac` entry names are URI-escaped (OPC part names): `Package%20221.dtsx`.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn is_ispac(p: &str) -> bool {
    p.to_ascii_lowercase().ends_with(".ispac")
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::not_found(format!("`{}`: no such file or folder", path.display()))
        }
        _ => Error::failure(format!("`{}`: {e}", path.display())),
    }
}

fn detect_source(path: &str) -> Result<Source, Error> {
    let p = PathBuf::from(path);
    let meta = std::fs::metadata(&p).map_err(|e| io_error(&p, e))?;
    if meta.is_dir() {
        let mut dtprojs = Vec::new();
        for entry in std::fs::read_dir(&p).map_err(|e| io_error(&p, e))? {
            let entry = entry.map_err(|e| io_error(&p, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.to_ascii_lowercase().ends_with(".dtproj") && entry.path().is_file() {
                dtprojs.push(name);
            }
        }
        dtprojs.sort();
        match dtprojs.len() {
            1 => Ok(Source::Folder {
                dir: p,
                dtproj: dtprojs.remove(0),
            }),
            0 => Err(Error::not_found(format!(
                "`{path}`: no .dtproj in this folder; give a project folder, a .dtproj or an .ispac"
            ))),
            _ => Err(Error::command_line(format!(
                "`{path}`: several .dtproj files ({}); give the one to use",
                dtprojs.join(", ")
            ))),
        }
    } else if is_ispac(path) {
        Ok(Source::Ispac(p))
    } else if path.to_ascii_lowercase().ends_with(".dtproj") {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dtproj = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Source::Folder { dir, dtproj })
    } else {
        Err(Error::command_line(format!(
            "`{path}`: not a project: give a project folder, a .dtproj or an .ispac"
        )))
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.len() as usize > crate::package::xml::MAX_PACKAGE_BYTES {
        return Err(Error::cannot_load(format!(
            "`{}`: {} bytes, over the limit",
            path.display(),
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    crate::store::file::open_regular(path)
        .and_then(|f| {
            f.take(crate::package::xml::MAX_PACKAGE_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| io_error(path, e))?;
    if bytes.len() > crate::package::xml::MAX_PACKAGE_BYTES {
        return Err(Error::cannot_load(format!(
            "`{}`: grew over the size limit while read",
            path.display()
        )));
    }
    Ok(bytes)
}

fn load_folder(dir: &Path, dtproj: &str) -> Result<Vec<Entry>, Error> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        if entry.file_type().map_err(|e| io_error(dir, e))?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    if !names.iter().any(|n| n == dtproj) {
        return Err(Error::not_found(format!(
            "`{}`: no such file",
            dir.join(dtproj).display()
        )));
    }
    let mut out = Vec::new();
    for name in names {
        let kind = classify(&name, Some(dtproj));
        let bytes = if kind == EntryKind::Other {
            Vec::new() // read only if copied to --out
        } else {
            read_limited(&dir.join(&name))?
        };
        out.push(Entry { name, kind, bytes });
    }
    Ok(out)
}

/// Opens an .ispac and names its entries; nothing is inflated yet (see
/// [`super::ispac::Inflater`]: one entry at a time, as each is processed).
fn load_ispac(path: &Path) -> Result<(Vec<Entry>, Vec<u8>), Error> {
    let raw = read_limited(path)?;
    let mut zip = super::ispac::open(&raw, path)?;
    super::ispac::refuse_hostile_layout(&mut zip, &raw, path)?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let f = zip
            .by_index_raw(i)
            .map_err(|e| Error::cannot_load(format!("`{}`: entry {i}: {e}", path.display())))?;
        let is_dir = f.is_dir();
        let (name, kind) = match super::ispac::entry_name(&f) {
            Ok(name) => {
                let kind = if is_dir {
                    EntryKind::Other
                } else {
                    classify(&name, None)
                };
                (name, kind)
            }
            // Not a name this tool can keep as it is: fine for an entry copied raw
            // (name bytes and all), refused for one that would be rewritten.
            Err(shown) if is_dir || classify(&shown, None) == EntryKind::Other => {
                (shown, EntryKind::Other)
            }
            Err(shown) => {
                return Err(Error::cannot_load(format!(
                    "`{}`: the entry name `{}` is not stored as UTF-8 (bytes {}); re-protected, it would be stored under a changed name, so it is refused (rebuild the .ispac)",
                    path.display(),
                    shown.escape_debug(),
                    super::ispac::hex(f.name_raw())
                )))
            }
        };
        out.push(Entry {
            name,
            kind,
            bytes: Vec::new(),
        });
    }
    Ok((out, raw))
}

/// One file's outcome, printed and returned as JSON.
#[derive(Debug, Clone, serde::Serialize)]
struct FileReport {
    file: String,
    kind: String,
    level_before: Option<String>,
    level_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sensitive_values: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_verifier: Option<String>,
    changed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lost_values: Vec<String>,
}

fn project_error(name: &str, e: ProjectError) -> Error {
    Error::cannot_load(format!("`{name}`: {e}"))
}

fn package_error(name: &str, e: PackageError) -> Error {
    let exit = match e {
        PackageError::LostValues(_) => ExitCode::Failure,
        _ => ExitCode::PackageCannotLoad,
    };
    Error::new(
        exit,
        format!("`{name}`: {}", e.advice_with(package::OptionNames::PROJECT)),
    )
}

fn check_args(args: &ProjectPlan) -> Result<(), Error> {
    match args.encrypt_level {
        Some(l) if l.is_user_key() => Err(Error::command_line(format!(
            "protection level {l} uses Windows DPAPI (the saving user's key), which exists only on Windows; write 0 (DontSaveSensitive), 2 or 3 (with a password) here"
        ))),
        Some(ProtectionLevel::ServerStorage) => Err(Error::command_line(
            "protection level 5 (ServerStorage) is for packages stored in SQL Server, not project files; use 0, 2 or 3",
        )),
        Some(l) if l.needs_password() && args.encrypt_password.is_none() => Err(Error::command_line(format!(
            "protection level {l} needs a password: --encrypt {};PASSWORD",
            l.number()
        ))),
        Some(ProtectionLevel::DontSaveSensitive) if args.encrypt_password.is_some() => Err(Error::command_line(
            "protection level 0 (DontSaveSensitive) stores no password; leave the password out",
        )),
        None if args.encrypt_password.is_some() || args.algorithm.is_some() => Err(Error::command_line(
            "a new password or --algorithm needs --encrypt LEVEL",
        )),
        _ => Ok(()),
    }
}

/// Carries out `dtutil project`. Prints per-file results; on any error nothing is written.
pub fn run(args: &ProjectPlan) -> Result<ExitCode, Error> {
    check_args(args)?;
    let source = detect_source(&args.path)?;
    if let Some(out) = &args.out {
        match &source {
            Source::Ispac(_) if !is_ispac(out) => {
                return Err(Error::command_line(format!(
                    "--out `{out}`: an .ispac is written to an .ispac (name it *.ispac)"
                )))
            }
            Source::Folder { .. } if is_ispac(out) => {
                return Err(Error::command_line(format!(
                    "--out `{out}`: building an .ispac from a project folder is a build step (use SSDT or msbuild); --out takes a folder here"
                )))
            }
            _ => {}
        }
    }
    let decrypt = secrets::resolve_opt(args.decrypt.as_ref(), "--decrypt")?;
    let new_password = match args.encrypt_level {
        Some(level) => secrets::resolve_new(args.encrypt_password.as_ref(), "--encrypt", level)?,
        None => secrets::resolve_opt(args.encrypt_password.as_ref(), "--encrypt")?,
    };
    let decrypt = decrypt.as_deref().map(|s| s.as_str());
    let new_password = new_password.as_deref().map(|s| s.as_str());
    let mut printer = Printer::new(if args.json {
        OutputMode::Json
    } else {
        OutputMode::Text
    });

    let (mut entries, ispac_raw) = match &source {
        Source::Folder { dir, dtproj } => (load_folder(dir, dtproj)?, None),
        Source::Ispac(p) => {
            let (e, raw) = load_ispac(p)?;
            (e, Some(raw))
        }
    };
    if !entries
        .iter()
        .any(|e| matches!(e.kind, EntryKind::Project(Kind::Dtproj | Kind::Manifest)))
    {
        return Err(Error::cannot_load(format!(
            "`{}`: no project manifest (@Project.manifest) in this .ispac",
            args.path
        )));
    }
    if args.algorithm == Some(Algorithm::Aes256) {
        printer.warn("--algorithm aes256 applies to packages; project files are written with Triple DES (AES in project files is not confirmed; every SSIS version reads Triple DES)");
    }

    let mut reports = Vec::new();
    let mut new_bytes: Vec<Option<Vec<u8>>> = Vec::with_capacity(entries.len());
    // An .ispac's entries are inflated one at a time, each dropped once processed.
    let mut inflater = match (&source, &ispac_raw) {
        (Source::Ispac(p), Some(raw)) => Some(super::ispac::Inflater::new(raw, p)?),
        _ => None,
    };
    for (i, entry) in entries.iter_mut().enumerate() {
        if let (Some(inflater), true) = (inflater.as_mut(), entry.kind != EntryKind::Other) {
            entry.bytes = inflater.inflate(i, &entry.name)?;
        }
        let processed = process(
            entry,
            args.encrypt_level,
            decrypt,
            new_password,
            args.algorithm,
            args.allow_lost_sensitive,
        );
        if inflater.is_some() {
            entry.bytes = Vec::new();
        }
        let (report, bytes) = processed?;
        if let Some(r) = report {
            reports.push(r);
        }
        new_bytes.push(bytes);
    }
    warn_missing(&entries, &mut printer);
    for r in &reports {
        for l in &r.lost_values {
            printer.warn(&format!(
                "{}: `{l}` was protected with a Windows user key and is written blank",
                r.file
            ));
        }
    }

    let write = args.encrypt_level.is_some() && !args.dry_run;
    let destination = args.out.clone().unwrap_or_else(|| args.path.clone());
    if write {
        match &source {
            Source::Ispac(p) => {
                let target = args.out.as_ref().map_or_else(|| p.clone(), PathBuf::from);
                if args.out.is_some() && !same_dir(p, &target) {
                    super::write::refuse_existing([target.as_path()], args.overwrite)?;
                }
                let raw = ispac_raw.expect("ispac read");
                let bytes = rebuild_ispac(&raw, &entries, &new_bytes, p)?;
                write_atomically_like(&target, &bytes, p).map_err(|e| io_error(&target, e))?;
            }
            Source::Folder { dir, .. } => {
                let target = args.out.as_ref().map_or_else(|| dir.clone(), PathBuf::from);
                let same = same_dir(dir, &target);
                let written: Vec<usize> = (0..entries.len())
                    .filter(|&i| new_bytes[i].is_some() || !same)
                    .collect();
                if !same {
                    let paths: Vec<PathBuf> = written
                        .iter()
                        .map(|&i| target.join(&entries[i].name))
                        .collect();
                    super::write::refuse_existing(
                        paths.iter().map(PathBuf::as_path),
                        args.overwrite,
                    )?;
                    std::fs::create_dir_all(&target).map_err(|e| io_error(&target, e))?;
                    for &i in &written {
                        if new_bytes[i].is_none() && entries[i].kind == EntryKind::Other {
                            entries[i].bytes = read_limited(&dir.join(&entries[i].name))?;
                        }
                    }
                }
                let files: Vec<super::write::ProjectFile<'_>> = written
                    .iter()
                    .map(|&i| {
                        let bytes = new_bytes[i].as_deref().unwrap_or(&entries[i].bytes);
                        let source = dir.join(&entries[i].name);
                        (target.join(&entries[i].name), bytes, mode_of(&source))
                    })
                    .collect();
                super::write::write_all(&files)?;
            }
        }
    }

    for r in &reports {
        printer.json(&serde_json::to_value(r).expect("serialisable"));
        let mut line = format!("{}: {}", r.file, r.kind);
        match (&r.level_before, &r.level_after) {
            (Some(b), Some(a)) if args.encrypt_level.is_some() => {
                line.push_str(&format!(", {b} -> {a}"))
            }
            (Some(b), _) => line.push_str(&format!(", {b}")),
            _ => {}
        }
        if let Some(n) = r.sensitive_values {
            line.push_str(&format!(
                ", {n} sensitive value{}",
                if n == 1 { "" } else { "s" }
            ));
        }
        if let Some(v) = &r.password_verifier {
            line.push_str(&format!(", PasswordVerifier {v}"));
        }
        printer.line(&line);
    }
    let changed = reports.iter().filter(|r| r.changed).count();
    let summary = if args.encrypt_level.is_none() {
        format!("Checked {} project files; nothing written.", reports.len())
    } else if args.dry_run {
        format!(
            "Dry run: {changed} of {} files would change; nothing written.",
            reports.len()
        )
    } else {
        format!(
            "{changed} of {} files re-protected in `{destination}`.",
            reports.len()
        )
    };
    printer.json(&serde_json::json!({
        "status": "ok",
        "path": args.path,
        "destination": destination,
        "written": write,
        "files": reports.len(),
        "changed": changed,
    }));
    printer.line(&summary);
    printer.line(crate::ops::output::SUCCESS);
    Ok(ExitCode::Success)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn process(
    entry: &Entry,
    level: Option<ProtectionLevel>,
    decrypt: Option<&str>,
    new_password: Option<&str>,
    algorithm: Option<Algorithm>,
    allow_lost: bool,
) -> Result<(Option<FileReport>, Option<Vec<u8>>), Error> {
    let name = &entry.name;
    match entry.kind {
        EntryKind::Other => Ok((None, None)),
        EntryKind::Project(kind) => {
            let Some(level) = level else {
                let opened =
                    file::open(&entry.bytes, kind, decrypt).map_err(|e| project_error(name, e))?;
                return Ok((
                    Some(FileReport {
                        file: name.clone(),
                        kind: kind.label().into(),
                        level_before: Some(opened.level.to_string()),
                        level_after: None,
                        sensitive_values: Some(opened.values.len()),
                        password_verifier: opened.verifier.map(|_| "checks".to_string()),
                        changed: false,
                        lost_values: Vec::new(),
                    }),
                    None,
                ));
            };
            let r = file::reprotect_allowing_lost(
                &entry.bytes,
                kind,
                decrypt,
                level,
                new_password,
                allow_lost,
            )
            .map_err(|e| project_error(name, e))?;
            let changed = r.bytes != entry.bytes;
            let verifier = matches!(kind, Kind::Dtproj | Kind::Manifest).then(|| {
                match level {
                    ProtectionLevel::EncryptSensitiveWithPassword => "written",
                    _ => "removed",
                }
                .to_string()
            });
            Ok((
                Some(FileReport {
                    file: name.clone(),
                    kind: kind.label().into(),
                    level_before: Some(r.level_before.to_string()),
                    level_after: Some(r.level_after.to_string()),
                    sensitive_values: Some(r.values),
                    password_verifier: verifier,
                    changed,
                    lost_values: r.lost_values,
                }),
                changed.then_some(r.bytes),
            ))
        }
        EntryKind::Package | EntryKind::PackagePart => {
            let kind = if entry.kind == EntryKind::Package {
                "package"
            } else {
                "package part"
            };
            let Some(level) = level else {
                let info =
                    package::inspect(&entry.bytes, decrypt).map_err(|e| package_error(name, e))?;
                if info.protection_level == Some(3) && !info.contents_visible {
                    return Err(package_error(name, PackageError::NeedsPassword));
                }
                return Ok((
                    Some(FileReport {
                        file: name.clone(),
                        kind: kind.into(),
                        level_before: info
                            .protection_level
                            .and_then(ProtectionLevel::from_number)
                            .map(|l| l.to_string()),
                        level_after: None,
                        sensitive_values: package_values(&info),
                        password_verifier: None,
                        changed: false,
                        lost_values: Vec::new(),
                    }),
                    None,
                ));
            };
            let r = package::rewrite(
                &entry.bytes,
                &package::Options {
                    decrypt_password: decrypt,
                    target: package::Target::Level {
                        level,
                        password: new_password,
                    },
                    algorithm,
                    regenerate_id: false,
                    allow_lost_values: allow_lost || level == ProtectionLevel::DontSaveSensitive,
                },
            )
            .map_err(|e| package_error(name, e))?;
            let changed = r.bytes != entry.bytes;
            let values = package::inspect(&entry.bytes, decrypt).ok();
            Ok((
                Some(FileReport {
                    file: name.clone(),
                    kind: kind.into(),
                    level_before: Some(r.level_before.to_string()),
                    level_after: Some(r.level_after.to_string()),
                    sensitive_values: values.as_ref().and_then(package_values),
                    password_verifier: None,
                    changed,
                    lost_values: r.lost_values,
                }),
                changed.then_some(r.bytes),
            ))
        }
    }
}

/// A package's sensitive values, counted as for project files (`inspect` shows them by
/// state): in the clear (blank ones too), password-encrypted, user-key; a package
/// encrypted as a whole is no value of its own. `None` when they cannot be seen.
fn package_values(info: &package::Info) -> Option<usize> {
    let whole = usize::from(info.protection_level == Some(3));
    let encrypted = info.encrypted?.saturating_sub(whole);
    Some(info.sensitive_clear? + encrypted + info.user_key.unwrap_or(0))
}

/// Packages and connection managers the manifest lists but the project lacks.
fn warn_missing(entries: &[Entry], printer: &mut Printer) {
    let Some(manifest) = entries
        .iter()
        .find(|e| matches!(e.kind, EntryKind::Project(Kind::Dtproj | Kind::Manifest)))
    else {
        return;
    };
    let Ok(s) = super::scan::scan(&manifest.bytes) else {
        return;
    };
    let present: Vec<String> = entries.iter().map(|e| percent_decode(&e.name)).collect();
    for (i, e) in s.elems.iter().enumerate() {
        if !matches!(e.local(), "Package" | "ConnectionManager") || !s.elem_is_ssis(i) {
            continue;
        }
        let parent_ok = e
            .parent
            .is_some_and(|p| matches!(s.elems[p].local(), "Packages" | "ConnectionManagers"));
        if let (true, Some(a)) = (parent_ok, s.ssis_attr(i, "Name")) {
            if !present.iter().any(|p| p == &a.value) {
                printer.warn(&format!(
                    "`{}` is listed in the project but not found; its entry in the manifest says the project's level",
                    a.value
                ));
            }
        }
    }
}

/// A new zip: re-protected entries written afresh (same name, order, compression and
/// time), every other entry copied raw, byte for byte.
fn rebuild_ispac(
    raw: &[u8],
    entries: &[Entry],
    new_bytes: &[Option<Vec<u8>>],
    path: &Path,
) -> Result<Vec<u8>, Error> {
    let bad = |e: zip::result::ZipError| {
        Error::failure(format!(
            "`{}`: cannot rebuild the .ispac: {e}",
            path.display()
        ))
    };
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(raw)).map_err(bad)?;
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(raw.len() + 4096)));
    for (i, (entry, nb)) in entries.iter().zip(new_bytes).enumerate() {
        let f = zin.by_index_raw(i).map_err(bad)?;
        match nb {
            None => zout.raw_copy_file(f).map_err(bad)?,
            Some(bytes) => {
                let mut opts = zip::write::SimpleFileOptions::default()
                    .compression_method(f.compression())
                    .large_file(bytes.len() as u64 >= u32::MAX as u64);
                if let Some(t) = f.last_modified() {
                    opts = opts.last_modified_time(t);
                }
                if let Some(m) = f.unix_mode() {
                    opts = opts.unix_permissions(m);
                }
                drop(f);
                zout.start_file(entry.name.clone(), opts).map_err(bad)?;
                zout.write_all(bytes)
                    .map_err(|e| Error::failure(format!("`{}`: {e}", path.display())))?;
            }
        }
    }
    Ok(zout.finish().map_err(bad)?.into_inner())
}
