//! `dtutil batch` (SPEC 6): a whole migration in one run.
//!
//! The source tree is listed once; `--jobs` worker threads then take packages from a
//! shared queue, each with its own source and destination store objects (so msdb
//! connections and HTTP agents are opened once per worker and reused). Every package
//! ends as a [`report::Record`]: ok, skipped (and why) or failed (and why). A failure
//! does not stop the others unless `--fail-fast`; Ctrl-C lets packages in flight
//! finish (each write is atomic), writes the report and stops; `--resume REPORT`
//! skips what that report shows done from an unchanged source.
//!
//! See [`location`] for the `--from` / `--to` grammar and `docs/migration.md`.

pub mod location;
pub mod progress;
pub mod report;
pub mod work;

use crate::crypto::Algorithm;
use crate::error::{Error, ExitCode, Result};
use crate::ops::output::Printer;
use crate::ops::secrets;
use crate::package::ProtectionLevel;
use crate::plan::{SecretSpec, SqlConnection};
use crate::store::{SqlCredentials, Store};
use location::{Item, Location};
use report::{Record, Report, ResumeIndex, SkipKind, Status, Summary};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use work::{Existing, Job};

/// Arguments of `dtutil batch`, validated, passwords not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchArgs {
    pub from: Location,
    pub to: Location,
    pub source_sql: SqlConnection,
    pub dest_sql: SqlConnection,
    pub encrypt: Option<(ProtectionLevel, Option<SecretSpec>)>,
    pub decrypt: Option<SecretSpec>,
    pub algorithm: Option<Algorithm>,
    pub regenerate_ids: bool,
    pub overwrite: bool,
    pub skip_existing: bool,
    pub jobs: usize,
    pub dry_run: bool,
    pub json: bool,
    pub report: Option<String>,
    pub resume: Option<String>,
    pub fail_fast: bool,
    pub allow_lost_sensitive: bool,
    pub target_version: Option<u32>,
}

/// Printing that survives a closed pipe (`dtutil batch ... | head`).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let mut o = std::io::stdout().lock();
        let _ = write!(o, $($t)*);
        let _ = o.flush();
    }};
}

pub const DEFAULT_JOBS: usize = 4;
pub const MAX_JOBS: usize = 256;

#[derive(clap::Parser)]
#[command(
    name = "dtutil batch",
    bin_name = "dtutil batch",
    about = "Copies (and re-protects) a whole tree of SSIS packages in one run",
    after_help = "LOCATIONS (--from / --to):\n  DIR                      a local directory, recursive (*.dtsx); created as a destination\n  'GLOB'                   local files, e.g. 'pkgs/**/*.dtsx' (source only)\n  sql://SERVER/Folder      an msdb folder on SERVER (host, host,port, host\\instance)\n  SQL:Folder\\Sub           an msdb folder on --source-server / --dest-server\n  dts:Root\\Folder          a package store folder (MsDtsSrvr.ini.xml roots)\n  \\\\ACCOUNT.file.core.windows.net\\share\\dir (or https://...)   an Azure Files directory\n\nThe folder tree below the source is kept at the destination (folders are created).\nPasswords: env:NAME, file:PATH or the text. Azure credentials come from the environment.\nExit code: 0 when every package succeeded, 1 otherwise, 6 for a command-line error."
)]
struct Cli {
    /// The source tree (see LOCATIONS).
    #[arg(long, value_name = "SOURCE")]
    from: String,
    /// The destination root (see LOCATIONS).
    #[arg(long, value_name = "DEST")]
    to: String,
    /// SQL Server of a SQL:... source.
    #[arg(long)]
    source_server: Option<String>,
    /// SQL login for the source (without one: integrated authentication).
    #[arg(long)]
    source_user: Option<String>,
    /// Password of --source-user (env:NAME, file:PATH or the text).
    #[arg(long)]
    source_password: Option<String>,
    /// SQL Server of a SQL:... destination.
    #[arg(long)]
    dest_server: Option<String>,
    /// SQL login for the destination.
    #[arg(long)]
    dest_user: Option<String>,
    /// Password of --dest-user.
    #[arg(long)]
    dest_password: Option<String>,
    /// Re-protect every package: LEVEL[;PASSWORD], LEVEL 0, 2, 3 or 5 (5 for msdb).
    #[arg(long, value_name = "LEVEL[;PASSWORD]")]
    encrypt: Option<String>,
    /// The password the source packages are protected with.
    #[arg(long, value_name = "PASSWORD")]
    decrypt: Option<String>,
    /// Cipher for re-encrypted values: 3des or aes256 (default: each package's own).
    #[arg(long)]
    algorithm: Option<String>,
    /// Give every written package a new ID (as dtutil /I).
    #[arg(long)]
    regenerate_ids: bool,
    /// Replace packages that exist at the destination.
    #[arg(long, conflicts_with = "skip_existing")]
    overwrite: bool,
    /// Keep packages that exist at the destination (counted as success).
    #[arg(long)]
    skip_existing: bool,
    /// Packages in flight at once; each worker keeps its own connections.
    #[arg(long, default_value_t = DEFAULT_JOBS)]
    jobs: usize,
    /// Read and check everything, print the plan (a table, or JSON with --json), write nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON lines (one per package, then a summary) instead of text.
    #[arg(long)]
    json: bool,
    /// Write a JSON report of every package here (default with --resume: that file).
    #[arg(long, value_name = "PATH")]
    report: Option<String>,
    /// Skip packages this earlier report shows done whose source is unchanged.
    #[arg(long, value_name = "REPORT")]
    resume: Option<String>,
    /// Stop starting packages after the first failure.
    #[arg(long)]
    fail_fast: bool,
    /// Write user-key (level 1) packages with their unreadable values blank.
    #[arg(long)]
    allow_lost_sensitive: bool,
    /// Fail packages the SQL Server runtime of this release (2012-2022) cannot load.
    #[arg(long, value_name = "YEAR")]
    target_version: Option<String>,
}

fn clap_error(e: clap::Error) -> Error {
    // `--help` is answered before parsing (cli::parse_subcommand); a library never exits.
    Error::command_line(
        e.to_string()
            .trim_end()
            .trim_start_matches("error: ")
            .to_string(),
    )
}

/// `dtutil batch --help` / `dtutil /H batch`.
pub fn help() -> String {
    use clap::CommandFactory;
    Cli::command().render_long_help().to_string()
}

/// Parses `batch ...` (the subcommand name first).
pub fn parse_args(args: &[String]) -> Result<BatchArgs> {
    use clap::Parser;
    let c = Cli::try_parse_from(args).map_err(clap_error)?;
    let from = Location::parse(&c.from, "--from")?;
    let to = Location::parse(&c.to, "--to")?;
    if matches!(to, Location::Glob { .. }) {
        return Err(Error::command_line(format!(
            "--to `{}`: a destination is a directory, not a glob",
            c.to
        )));
    }
    let side = |server: Option<String>,
                user: Option<String>,
                password: Option<String>,
                loc: &Location,
                who: &str|
     -> Result<SqlConnection> {
        if password.is_some() && user.is_none() {
            return Err(Error::command_line(format!(
                "--{who}-password needs --{who}-user as well; without a user, integrated authentication is used"
            )));
        }
        let sqlish = matches!(loc, Location::Sql { .. } | Location::Dts { .. });
        if !sqlish && (server.is_some() || user.is_some()) {
            return Err(Error::command_line(format!(
                "--{who}-server and --{who}-user apply to a SQL: or dts: location, not to {} `{}`",
                loc.kind(),
                loc.display(None)
            )));
        }
        if let (
            Location::Sql {
                server: Some(s), ..
            },
            Some(o),
        ) = (loc, &server)
        {
            return Err(Error::command_line(format!(
                "the server is given twice: `{s}` in the sql:// URL and `{o}` with --{who}-server; give one"
            )));
        }
        Ok(SqlConnection {
            server,
            user,
            password: password.as_deref().map(SecretSpec::parse),
        })
    };
    let source_sql = side(
        c.source_server,
        c.source_user,
        c.source_password,
        &from,
        "source",
    )?;
    let dest_sql = side(c.dest_server, c.dest_user, c.dest_password, &to, "dest")?;
    let encrypt = match c.encrypt.as_deref() {
        None => None,
        Some(spec) => {
            let (level, password) = crate::cli::encrypt_spec(spec)?;
            if level == ProtectionLevel::ServerStorage
                && !matches!(to, Location::Sql { .. } | Location::Dts { .. })
            {
                return Err(Error::command_line(
                    "--encrypt: protection level 5 (ServerStorage) is only for msdb destinations; use 0, 2 or 3",
                ));
            }
            Some((level, password))
        }
    };
    let algorithm = c
        .algorithm
        .as_deref()
        .map(crate::cli::algorithm_name)
        .transpose()?;
    if c.jobs == 0 || c.jobs > MAX_JOBS {
        return Err(Error::command_line(format!(
            "--jobs must be 1 to {MAX_JOBS}, not {}",
            c.jobs
        )));
    }
    Ok(BatchArgs {
        from,
        to,
        source_sql,
        dest_sql,
        encrypt,
        decrypt: c.decrypt.as_deref().map(SecretSpec::parse),
        algorithm,
        regenerate_ids: c.regenerate_ids,
        overwrite: c.overwrite,
        skip_existing: c.skip_existing,
        jobs: c.jobs,
        dry_run: c.dry_run,
        json: c.json,
        report: c.report,
        resume: c.resume,
        fail_fast: c.fail_fast,
        allow_lost_sensitive: c.allow_lost_sensitive,
        target_version: c
            .target_version
            .as_deref()
            .map(crate::cli::target_year)
            .transpose()?,
    })
}

fn credentials(sql: &SqlConnection, what: &str) -> Result<SqlCredentials> {
    Ok(SqlCredentials {
        server: sql.server.clone(),
        user: sql.user.clone(),
        password: secrets::resolve_opt(sql.password.as_ref(), what)?,
    })
}

type MaybeStore = Option<Box<dyn Store>>;

/// Set by Ctrl-C: no new package starts.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn install_ctrlc() {
    static PRESSES: AtomicUsize = AtomicUsize::new(0);
    // Fails only when a handler exists already (a second batch in one process).
    let _ = ctrlc::set_handler(|| {
        if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!(
                "\ndtutil: stopping: packages in flight finish, the report is written (Ctrl-C again to quit at once)"
            );
        } else {
            std::process::exit(130);
        }
    });
}

fn options_json(args: &BatchArgs) -> serde_json::Value {
    serde_json::json!({
        "encrypt_level": args.encrypt.as_ref().map(|(l, _)| l.number()),
        "encrypt_password": args.encrypt.as_ref().and_then(|(_, p)| p.as_ref()).map(|p| p.describe()),
        "decrypt": args.decrypt.as_ref().map(|p| p.describe()),
        "algorithm": args.algorithm.map(|a| a.name()).unwrap_or("keep"),
        "regenerate_ids": args.regenerate_ids,
        "existing": if args.overwrite { "overwrite" } else if args.skip_existing { "skip" } else { "fail" },
        "allow_lost_sensitive": args.allow_lost_sensitive,
        "jobs": args.jobs,
        "fail_fast": args.fail_fast,
    })
}

pub fn run(args: &BatchArgs, printer: &mut Printer) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = report::now_rfc3339();
    let source_creds = credentials(&args.source_sql, "--source-password")?;
    let dest_creds = credentials(&args.dest_sql, "--dest-password")?;
    let encrypt = match &args.encrypt {
        None => None,
        Some((level, pw)) => Some((*level, secrets::resolve_opt(pw.as_ref(), "--encrypt")?)),
    };
    let decrypt = secrets::resolve_opt(args.decrypt.as_ref(), "--decrypt")?;
    let resume = match &args.resume {
        Some(path) => ResumeIndex::from_report(&Report::read(std::path::Path::new(path))?),
        None => ResumeIndex::default(),
    };
    let report_path = args.report.clone().or_else(|| args.resume.clone());
    let from_display = args.from.display(args.source_sql.server.as_deref());
    let to_display = args.to.display(args.dest_sql.server.as_deref());

    let src_main = args
        .from
        .open(&source_creds)
        .map_err(|e| e.context("the source"))?;
    let items = args.from.list(&*src_main)?;
    if items.is_empty() {
        return Err(Error::failure(format!(
            "no packages (*.dtsx) found in {} `{from_display}`",
            args.from.kind()
        )));
    }
    let dst_main = args
        .to
        .open(&dest_creds)
        .map_err(|e| e.context("the destination"))?;

    let job = Job {
        from: args.from.clone(),
        to: args.to.clone(),
        from_server: args.source_sql.server.clone(),
        to_server: args.dest_sql.server.clone(),
        encrypt,
        decrypt,
        algorithm: args.algorithm,
        regenerate_ids: args.regenerate_ids,
        existing: if args.overwrite {
            Existing::Overwrite
        } else if args.skip_existing {
            Existing::Skip
        } else {
            Existing::Fail
        },
        allow_lost: args.allow_lost_sensitive,
        target: args
            .target_version
            .and_then(|y| crate::package::target::Runtime::parse(&y.to_string())),
        dry_run: args.dry_run,
        resume,
    };

    // Two sources onto one destination (names compare case-insensitively in msdb and
    // Azure Files): the later ones fail rather than overwrite the first.
    let mut seen = std::collections::HashMap::new();
    let mut preset: Vec<Option<Record>> = vec![None; items.len()];
    for (i, item) in items.iter().enumerate() {
        let key = job.destination_path(item).to_lowercase();
        if let Some(first) = seen.insert(key, i) {
            let mut r = Record::new(
                job.source_name(item),
                job.destination_name(item),
                Status::Failed,
            );
            r.reason = Some(format!(
                "{} goes to the same destination; rename one of them",
                job.source_name(&items[first])
            ));
            preset[i] = Some(r);
            seen.insert(job.destination_path(item).to_lowercase(), first);
        }
    }

    if !args.dry_run {
        let trees: Vec<Vec<String>> = {
            let mut t: Vec<Vec<String>> = items.iter().map(|i| i.folders.clone()).collect();
            t.sort();
            t.dedup();
            t
        };
        args.to
            .create_folders(&*dst_main, &trees)
            .map_err(|e| e.context("the destination"))?;
    }

    let json = args.json;
    if !json {
        printer.banner();
        outln!(
            "{} {} package(s) from {} `{from_display}` to {} `{to_display}`{} with {} job(s){}",
            if args.dry_run { "Plan:" } else { "Copying" },
            items.len(),
            args.from.kind(),
            args.to.kind(),
            match &job.encrypt {
                Some((l, _)) => format!(", re-protected to {l}"),
                None => String::new(),
            },
            args.jobs,
            if job.resume.is_empty() {
                String::new()
            } else {
                format!("; {} done earlier (--resume)", job.resume.len())
            }
        );
    }

    install_ctrlc();
    let mut progress = (!args.dry_run).then(|| progress::Progress::new(json, items.len()));
    let stop = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Record)>();
    let mut records = preset;
    let mut stopped_by_failure = false;
    let mut last_write = Instant::now();
    let options = options_json(args);
    let make_report = |records: &[Option<Record>], finished: bool, interrupted: bool| {
        let done: Vec<Record> = records.iter().flatten().cloned().collect();
        Report {
            version: report::REPORT_VERSION,
            tool: format!("dtutil {}", env!("CARGO_PKG_VERSION")),
            from: from_display.clone(),
            to: to_display.clone(),
            options: options.clone(),
            started: started_at.clone(),
            finished: finished.then(report::now_rfc3339),
            summary: Summary::of(&done, started.elapsed().as_secs_f64(), interrupted),
            packages: done,
        }
    };

    let jobs = args.jobs.min(items.len()).max(1);
    let preset_flags: Vec<bool> = records.iter().map(Option::is_some).collect();
    std::thread::scope(|scope| {
        let mut mains = Some((src_main, dst_main));
        for w in 0..jobs {
            let tx = tx.clone();
            let (job, items, stop, next, preset_flags) =
                (&job, &items, &stop, &next, &preset_flags);
            let fail_fast = args.fail_fast;
            let source_creds = &source_creds;
            let dest_creds = &dest_creds;
            let given = mains.take();
            std::thread::Builder::new()
                .name(format!("batch-{w}"))
                .spawn_scoped(scope, move || {
                    let (mut src, mut dst): (MaybeStore, MaybeStore) = match given {
                        Some((s, d)) => (Some(s), Some(d)),
                        None => (None, None),
                    };
                    loop {
                        if stop.load(Ordering::SeqCst) || INTERRUPTED.load(Ordering::SeqCst) {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= items.len() {
                            break;
                        }
                        if preset_flags[i] {
                            continue;
                        }
                        let item: &Item = &items[i];
                        let record =
                            match open_both(job, &mut src, &mut dst, source_creds, dest_creds) {
                                Ok((s, d)) => job.process(item, s, d),
                                Err(e) => {
                                    let mut r = Record::new(
                                        job.source_name(item),
                                        job.destination_name(item),
                                        Status::Failed,
                                    );
                                    r.reason = Some(e.message);
                                    r
                                }
                            };
                        // The worker stops itself: waiting for the collector to notice
                        // would let it start more packages after the failure.
                        if fail_fast && !record.success() {
                            stop.store(true, Ordering::SeqCst);
                        }
                        if tx.send((i, record)).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn a worker thread");
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok((i, record)) => {
                    if let Some(p) = progress.as_mut() {
                        p.record(&record);
                    }
                    if args.fail_fast && !record.success() && !stopped_by_failure {
                        stop.store(true, Ordering::SeqCst);
                        stopped_by_failure = true;
                        if let Some(p) = &progress {
                            p.note("dtutil: --fail-fast: a package failed; no new package starts");
                        }
                    }
                    records[i] = Some(record);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if let Some(path) = &report_path {
                if !args.dry_run && last_write.elapsed() > Duration::from_secs(2) {
                    let _ = make_report(&records, false, false).write(std::path::Path::new(path));
                    last_write = Instant::now();
                }
            }
        }
    });
    if let Some(p) = progress.as_mut() {
        p.finish();
    }

    let interrupted = INTERRUPTED.load(Ordering::SeqCst);
    let why = if interrupted {
        "not started: interrupted (Ctrl-C); run again with --resume to finish"
    } else {
        "not started: stopped after a failure (--fail-fast)"
    };
    let records: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| job.not_started(&items[i], why)))
        .collect();
    let all = records.iter().map(|r| Some(r.clone())).collect::<Vec<_>>();
    let report = make_report(&all, true, interrupted || stopped_by_failure);

    if args.dry_run {
        print_plan(&report, json);
        return Ok(ExitCode::Success);
    }
    if let Some(path) = &report_path {
        report.write(&PathBuf::from(path))?;
    }
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "summary": report.summary,
                "report": report_path,
                "failures": records.iter().filter(|r| !r.success()).map(|r| serde_json::json!({
                    "source": r.source, "status": r.status, "reason": r.reason
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        out!(
            "{}",
            progress::summary_text(&report.summary, &records, report_path.as_deref())
        );
    }
    Ok(if records.iter().all(Record::success) {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}

/// The worker's stores, opened on first use and kept (reopened after a failed open).
fn open_both<'a>(
    job: &Job,
    src: &'a mut Option<Box<dyn Store>>,
    dst: &'a mut Option<Box<dyn Store>>,
    source_creds: &SqlCredentials,
    dest_creds: &SqlCredentials,
) -> Result<(&'a dyn Store, &'a dyn Store)> {
    if src.is_none() {
        *src = Some(
            job.from
                .open(source_creds)
                .map_err(|e| e.context("cannot open the source"))?,
        );
    }
    if dst.is_none() {
        *dst = Some(
            job.to
                .open(dest_creds)
                .map_err(|e| e.context("cannot open the destination"))?,
        );
    }
    Ok((&**src.as_ref().unwrap(), &**dst.as_ref().unwrap()))
}

fn print_plan(report: &Report, json: bool) {
    if json {
        let mut v = serde_json::to_value(report).expect("reports serialise");
        v["dry_run"] = serde_json::Value::Bool(true);
        outln!("{v}");
        return;
    }
    let n = report.packages.len();
    outln!(
        "{:<8} {:<5} {:>10}  SOURCE -> DESTINATION",
        "ACTION",
        "LEVEL",
        "SIZE"
    );
    for r in &report.packages {
        let action = match (r.status, r.action.as_deref()) {
            (Status::Planned, Some(a)) => a.to_string(),
            (Status::Skipped, _) => match r.skip {
                Some(SkipKind::Resumed) => "done".into(),
                Some(SkipKind::Exists) => "keep".into(),
                Some(SkipKind::UserKey) => "SKIP".into(),
                _ => "skip".into(),
            },
            (Status::Failed, _) => "FAIL".into(),
            _ => r.status.word().into(),
        };
        let levels = match (r.level_before, r.level_after) {
            (Some(a), Some(b)) => format!("{a}->{b}"),
            (Some(a), None) => a.to_string(),
            _ => "-".into(),
        };
        let size =
            indicatif::HumanBytes(r.bytes.or(r.source_bytes).unwrap_or(0) as u64).to_string();
        outln!(
            "{action:<8} {levels:<5} {size:>10}  {} -> {}",
            r.source,
            r.destination
        );
        if let Some(reason) = &r.reason {
            if r.status != Status::Planned {
                outln!("{:<26}{reason}", "");
            }
        }
        if !r.lost_values.is_empty() {
            outln!(
                "{:<26}user-key values it would lose: {}",
                "",
                r.lost_values.join(", ")
            );
        }
    }
    let s = &report.summary;
    let write = report
        .packages
        .iter()
        .filter(|r| r.status == Status::Planned)
        .count();
    outln!(
        "{n} package(s): {write} to write, {} skipped, {} would fail. Nothing was written (--dry-run).",
        s.skipped, s.failed
    );
}
