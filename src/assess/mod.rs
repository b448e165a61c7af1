//! `dtutil assess SOURCE...` (issue 18): the Azure-SSIS IR migration assessment.
//!
//! Microsoft's Data Migration Assistant rules (1001-4003, numbered and titled as
//! published) and ours (DTU1xx runtime, DTU2xx protection, DTU301 values computed at
//! run time, DTU900 not assessed) run over the package scanner's facts:
//! - [`rules`]: the rules and the lists they need, as data with their sources;
//! - [`engine`] and [`checks`] (with [`connection`]): bytes in, findings out;
//! - [`output`] and [`sarif`]: text, JSON lines, SARIF 2.1.0.
//!
//! Sources are whatever `batch --from` reads (listed the same way), plus single
//! files and `.ispac` archives; packages are assessed in parallel, each worker with
//! its own store connections.

pub mod checks;
pub mod connection;
pub mod engine;
pub mod output;
pub mod rules;
pub mod sarif;

use crate::batch::location::Location;
use crate::config::Config;
use crate::error::{Error, ExitCode, Result};
use crate::ops::output::Printer;
use crate::ops::secrets;
use crate::package::target::Runtime;
use crate::plan::assess::{AssessFormat, AssessPlan, FailOn};
use crate::store::{SqlCredentials, Store, StoreConfig};
pub use engine::{assess, Finding, Options};
use rules::Severity;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The IR runs SQL Server 2017's SSIS runtime.
pub const IR_RUNTIME_YEAR: u32 = 2017;
/// Entries read from one `.ispac`: a real project has dozens.
const MAX_ISPAC_ENTRIES: usize = 10_000;

/// One package to assess.
enum Unit {
    Local(PathBuf),
    Stored {
        source: usize,
        path: String,
    },
    Bytes(Vec<u8>),
    /// Listed but not read (a symbolic link...): why.
    Skipped(String),
}

struct Listed {
    name: String,
    unit: Unit,
}

/// The options the plan asks for.
pub fn options(plan: &AssessPlan) -> Options {
    let year = plan.target_year.unwrap_or(IR_RUNTIME_YEAR);
    Options {
        runtime: Runtime::parse(&year.to_string()).expect("the command line checks the year"),
        azure: plan.target_year.is_none(),
        enterprise: plan.enterprise,
    }
}

/// Runs the assessment. Exit codes: 0, or 1 when a finding reaches `--fail-on` (an
/// unreadable package is one: DTU900 is an error); 4 when a source does not exist or
/// holds no package; 5 when a source cannot be opened or listed (a failed sign-in, an
/// unreachable server, an unreadable `.ispac`); 6 for the command line.
pub fn run(plan: &AssessPlan, config: &Config, printer: &mut Printer) -> Result<ExitCode> {
    match assess_sources(plan, config, printer) {
        // `--sarif > x.sarif` feeds a code-scanning upload: stdout holds the log or
        // nothing, the error goes to stderr only.
        Err(error) if plan.format == AssessFormat::Sarif => {
            eprintln!(
                "dtutil: error: {}",
                crate::redact::for_display(&error.message)
            );
            Ok(error.exit)
        }
        other => other,
    }
}

fn assess_sources(plan: &AssessPlan, config: &Config, printer: &mut Printer) -> Result<ExitCode> {
    // Windows paths (`C:\pkgs`, `Z:\My Folder`) as `dtutil batch --from` reads them.
    let sources = plan
        .sources
        .iter()
        .map(|s| s.with_windows_paths("source", &config.stores));
    let plan = &AssessPlan {
        sources: sources.collect::<Result<_>>()?,
        ..plan.clone()
    };
    let password = secrets::resolve_opt(plan.password.as_ref(), "--password")?;
    let password = password.as_deref().map(|s| s.as_str());
    let creds = SqlCredentials {
        server: plan.sql.server.clone(),
        user: plan.sql.user.clone(),
        password: secrets::resolve_opt(plan.sql.password.as_ref(), "--sql-password")?,
        login_options: Some("--sql-user and --sql-password".into()),
    };
    let stores = &config.stores;
    let listed = list(plan, &creds, stores)?;
    let options = options(plan);

    let next = AtomicUsize::new(0);
    let jobs = plan.jobs.min(listed.len()).max(1);
    let mut results: Vec<Vec<Finding>> = vec![Vec::new(); listed.len()];
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Vec<Finding>)>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (listed, next, creds) = (&listed, &next, &creds);
            scope.spawn(move || {
                let mut opened: Vec<Option<Box<dyn Store>>> =
                    (0..plan.sources.len()).map(|_| None).collect();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = listed.get(i) else { break };
                    let findings = match read(plan, &item.unit, &mut opened, creds, stores) {
                        Ok(bytes) => assess(&item.name, &bytes, password, &options),
                        Err(why) => vec![unread(&item.name, why)],
                    };
                    if tx.send((i, findings)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, findings) in rx {
            results[i] = findings;
        }
    });

    let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    match plan.format {
        AssessFormat::Text => output::text(printer, &names, &results, plan, &options),
        AssessFormat::Json => output::json(&results),
        AssessFormat::Sarif => output::print_block(&sarif::log(&results)),
    }
    let worst = results.iter().flatten().map(|f| f.severity).max();
    let threshold = match plan.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    Ok(match (worst, threshold) {
        (Some(w), Some(t)) if w >= t => ExitCode::Failure,
        _ => ExitCode::Success,
    })
}

/// The options of `batch --assess`: the Azure-SSIS IR, or the `--target-version` release.
pub fn batch_options(target_year: Option<u32>) -> Options {
    let year = target_year.unwrap_or(IR_RUNTIME_YEAR);
    Options {
        runtime: Runtime::parse(&year.to_string()).expect("the command line checks the year"),
        azure: target_year.is_none(),
        enterprise: false,
    }
}

/// The line `batch --assess` ends with.
pub fn batch_summary(records: &[crate::batch::report::Record]) -> String {
    let all: Vec<&serde_json::Value> = records.iter().flat_map(|r| &r.findings).collect();
    let count = |s: &str| all.iter().filter(|f| f["severity"] == s).count();
    let packages = records.iter().filter(|r| !r.findings.is_empty()).count();
    format!(
        "Assessment (dtutil assess's rules): {} finding(s) in {packages} package(s): {} error(s), {} warning(s), {} info; each package's are in the report (--report) or its JSON line.",
        all.len(),
        count("error"),
        count("warning"),
        count("info"),
    )
}

fn unread(name: &str, why: String) -> Finding {
    let mut found = engine::Found::default();
    let options = Options {
        runtime: Runtime::parse("2017").expect("known"),
        azure: true,
        enterprise: false,
    };
    found.add(&options, "DTU900", None, why, String::new());
    let mut finding = found.findings.remove(0);
    finding.package = crate::redact::secrets(name);
    finding
}

fn read(
    plan: &AssessPlan,
    unit: &Unit,
    opened: &mut [Option<Box<dyn Store>>],
    creds: &SqlCredentials,
    stores: &StoreConfig,
) -> std::result::Result<Vec<u8>, String> {
    match unit {
        Unit::Bytes(bytes) => Ok(bytes.clone()),
        Unit::Skipped(reason) => Err(format!("not read: {reason}")),
        Unit::Local(path) => match crate::store::file::read_bounded(path) {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) => Err(format!("cannot read it: {e}")),
            Err(e) => Err(format!("cannot read it: {e}")),
        },
        Unit::Stored { source, path } => {
            if opened[*source].is_none() {
                let store = plan.sources[*source]
                    .open(creds, stores)
                    .map_err(|e| format!("cannot open the source: {}", e.message))?;
                opened[*source] = Some(store);
            }
            let store = opened[*source].as_ref().expect("opened above");
            store.read(path).map_err(|e| format!("cannot read it: {e}"))
        }
    }
}

/// Every package of every source, in the order given (each source's own order).
fn list(plan: &AssessPlan, creds: &SqlCredentials, stores: &StoreConfig) -> Result<Vec<Listed>> {
    let mut listed = Vec::new();
    for (index, source) in plan.sources.iter().enumerate() {
        if let Location::Dir(path) = source {
            // A FIFO, device or socket named as a source is one package that cannot
            // be read (DTU900 naming what it is), as it is inside a folder.
            if path.exists() && !path.is_dir() {
                listed.extend(single_file(path)?);
                continue;
            }
            if !path.exists() {
                return Err(Error::not_found(format!(
                    "`{}`: no such file or directory (give a package, a folder, a glob, an .ispac, sql://SERVER/Folder, dts:Root\\Folder or an Azure Files directory)",
                    path.display()
                )));
            }
        }
        let shown = source.display(plan.sql.server.as_deref());
        if let Location::Glob { base, raw, .. } = source {
            if !base.is_dir() {
                return Err(Error::not_found(format!(
                    "source `{raw}`: the folder `{}` does not exist",
                    base.display()
                )));
            }
        }
        let cannot = |e: Error| Error::cannot_load(e.message).context(format!("source `{shown}`"));
        let store = source.open(creds, stores).map_err(cannot)?;
        if let Some(folder) = store_folder(source) {
            if store.folder_exists(&folder).ok() == Some(false) {
                return Err(Error::not_found(format!(
                    "source `{shown}`: the folder `{folder}` does not exist; check the name (names ignore case)"
                )));
            }
        }
        let items = source
            .list(&*store, false, None)
            .map_err(|e| match e.exit {
                ExitCode::Failure => Error::cannot_load(e.message),
                _ => e,
            })?;
        let server = plan.sql.server.as_deref();
        for item in items {
            let store_path = source.package_path(&item.folders, &item.name, &item.ext);
            let name = source.package_display(server, &store_path);
            // A folder that could not be listed (or a link loop) is a row of its own.
            if let Some(reason) = item.skip.as_ref().or(item.fail.as_ref()) {
                listed.push(Listed {
                    name,
                    unit: Unit::Skipped(reason.clone()),
                });
                continue;
            }
            let unit = match source {
                Location::Dir(_) | Location::Glob { .. } => {
                    // A local file is named as it is on disk (a glob may pick a
                    // `.conmgr`), and what a glob picks is read by its kind.
                    let path = PathBuf::from(&item.source);
                    match local_kind(&path) {
                        LocalKind::Package => {}
                        LocalKind::Ispac => {
                            listed.extend(single_file(&path)?);
                            continue;
                        }
                        LocalKind::ProjectFile => continue,
                    }
                    listed.push(Listed {
                        name: item.source.clone(),
                        unit: Unit::Local(path),
                    });
                    continue;
                }
                _ => Unit::Stored {
                    source: index,
                    path: item.source.clone(),
                },
            };
            listed.push(Listed { name, unit });
        }
        if let Location::Dir(root) = source {
            listed.extend(project_connections(root));
        }
    }
    if listed.is_empty() {
        return Err(Error::not_found(
            "no packages (*.dtsx) found in the sources given: nothing was assessed (check the folder or the glob)",
        ));
    }
    Ok(listed)
}

enum LocalKind {
    Package,
    Ispac,
    /// A project's other files (`.dtproj`, `.params`...): not packages.
    ProjectFile,
}

fn local_kind(path: &Path) -> LocalKind {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "ispac" => LocalKind::Ispac,
        "dtproj" | "params" | "database" | "user" | "sln" | "manifest" | "dtsconfig" => {
            LocalKind::ProjectFile
        }
        _ => LocalKind::Package,
    }
}

/// A project folder's connection managers (`*.conmgr`, in the folder tree the
/// packages were listed from, links not followed): a project's connections are
/// there, not in its packages.
fn project_connections(root: &Path) -> Vec<Listed> {
    let mut found: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .max_depth(crate::batch::location::MAX_FOLDER_DEPTH)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("conmgr"))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|path| Listed {
            name: path.display().to_string(),
            unit: Unit::Local(path),
        })
        .collect()
}

/// The store folder a source lists, where the store can say whether it exists.
fn store_folder(source: &Location) -> Option<String> {
    match source {
        Location::Sql { folder, .. } | Location::Dts { folder } if !folder.is_empty() => {
            Some(folder.clone())
        }
        Location::Azure { unc, .. } => Some(unc.trim_end_matches('\\').to_string()),
        _ => None,
    }
}

/// A package file, a project connection manager or an `.ispac`.
fn single_file(path: &Path) -> Result<Vec<Listed>> {
    let name = path.display().to_string();
    let is_ispac = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ispac"));
    if !is_ispac {
        return Ok(vec![Listed {
            name,
            unit: Unit::Local(path.to_path_buf()),
        }]);
    }
    let bytes = match crate::store::file::read_bounded(path) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return Err(Error::cannot_load(format!("`{name}`: {e}"))),
        Err(e) => return Err(Error::cannot_load(format!("`{name}`: cannot read: {e}"))),
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..]))
        .map_err(|e| Error::cannot_load(format!("`{name}`: not a readable .ispac (zip): {e}")))?;
    crate::project::ispac::refuse_hostile_layout(&mut zip, &bytes, path)?;
    let mut out = Vec::new();
    for i in 0..zip.len().min(MAX_ISPAC_ENTRIES) {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Error::cannot_load(format!("`{name}`: entry {i}: {e}")))?;
        let entry_name = entry
            .name()
            .map_err(|e| Error::cannot_load(format!("`{name}`: entry {i}: {e}")))?
            .into_owned();
        let lower = entry_name.to_ascii_lowercase();
        if !(lower.ends_with(".dtsx") || lower.ends_with(".conmgr")) {
            continue;
        }
        let mut data = Vec::new();
        let limit = crate::package::xml::MAX_PACKAGE_BYTES as u64;
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| Error::cannot_load(format!("`{name}`: `{entry_name}`: {e}")))?;
        out.push(Listed {
            name: format!("{name}/{}", percent_decode(&entry_name)),
            unit: Unit::Bytes(data),
        });
    }
    Ok(out)
}

/// `.ispac` entry names are percent-encoded (`Package%201.dtsx`).
fn percent_decode(name: &str) -> String {
    percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned()
}
