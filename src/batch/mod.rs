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

// Printing that survives a closed pipe (`dtutil batch ... | head`) and does not hide
// a failed write ([`crate::console`]); defined before the modules, which use it too.
macro_rules! outln {
    ($($t:tt)*) => {{
        let text = format!($($t)*);
        $crate::console::println(&$crate::redact::for_display(&text));
    }};
}
macro_rules! out {
    ($($t:tt)*) => {{
        let text = format!($($t)*);
        $crate::console::print(&$crate::redact::for_display(&text));
    }};
}

mod budget;
mod local_tree;
pub mod location;
pub mod progress;
pub mod protection;
pub mod report;
mod report_lock;
pub mod work;

use crate::config::Config;
use crate::error::{Error, ExitCode, Result};
use crate::ops::output::Printer;
use crate::ops::secrets;
use crate::plan::{BatchPlan, SqlConnection};
use crate::store::{SqlCredentials, Store};
use location::Item;
use report::{Record, Report, ResumeIndex, SkipKind, Status, Summary};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use work::{Existing, Job};

/// `side` is `source` or `dest`, as batch's options spell it.
fn credentials(sql: &SqlConnection, side: &str) -> Result<SqlCredentials> {
    Ok(SqlCredentials {
        server: sql.server.clone(),
        user: sql.user.clone(),
        password: secrets::resolve_opt(sql.password.as_ref(), &format!("--{side}-password"))?,
        login_options: Some(format!("--{side}-user and --{side}-password")),
    })
}

type MaybeStore = Option<Box<dyn Store>>;

/// What the workers share: the packages, which are decided already, where the next
/// one is, whether to stop, and the bytes in flight.
#[derive(Clone, Copy)]
struct Queue<'a> {
    items: &'a [Item],
    preset: &'a [bool],
    stop: &'a AtomicBool,
    next: &'a AtomicUsize,
    budget: &'a budget::Budget,
}

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

fn options_json(args: &BatchPlan) -> serde_json::Value {
    serde_json::json!({
        "encrypt_level": args.encrypt.as_ref().map(|(l, _)| l.number()),
        "encrypt_password": args.encrypt.as_ref().and_then(|(_, p)| p.as_ref()).map(|p| p.describe()),
        "decrypt": args.decrypt.as_ref().map(|p| p.describe()),
        "algorithm": args.algorithm.map(|a| a.name()).unwrap_or("keep"),
        "regenerate_ids": args.regenerate_ids,
        "existing": if args.overwrite { "overwrite" } else if args.skip_existing { "skip" } else { "fail" },
        "allow_lost_sensitive": args.allow_lost_sensitive,
        "jobs": args.jobs,
        "in_flight_bytes": args.in_flight_bytes,
        "fail_fast": args.fail_fast,
    })
}

/// The whole batch, in the order it happens: list the sources, plan each package,
/// check the destination, do the work, report. Nothing is written before the
/// destination check has passed.
pub fn run(args: &BatchPlan, config: &Config, printer: &mut Printer) -> Result<ExitCode> {
    let args = &BatchPlan {
        from: args.from.with_windows_paths("--from", &config.stores)?,
        to: args.to.with_windows_paths("--to", &config.stores)?,
        ..args.clone()
    };
    let batch = Batch::new(args, config)?;
    let (src_main, items) = batch.list_sources()?;
    let preset = batch.plan(&items);
    let dst_main = batch.check_destination(&items, &preset)?;
    let outcome = batch.work(&items, preset, src_main, dst_main, printer);
    batch.report(&items, outcome)
}

/// What every step shares: the plan, passwords resolved, the job every worker runs.
struct Batch<'a> {
    args: &'a BatchPlan,
    no_progress_bar: bool,
    source_creds: SqlCredentials,
    dest_creds: SqlCredentials,
    job: Job,
    report_path: Option<PathBuf>,
    /// Taken once the destination checks pass; held to the last report save.
    report_lock: std::sync::OnceLock<report_lock::ReportLock>,
    from_display: String,
    to_display: String,
    started: Instant,
    started_at: String,
    options: serde_json::Value,
}

/// What the workers leave: one record per listed package (`None`: never started).
struct Outcome {
    records: Vec<Option<Record>>,
    stopped_by_failure: bool,
    in_flight: budget::Peak,
}

impl<'a> Batch<'a> {
    /// Resolves passwords and reads the `--resume` report; nothing is opened yet.
    fn new(args: &'a BatchPlan, config: &Config) -> Result<Self> {
        let started = Instant::now();
        let started_at = report::now_rfc3339();
        let source_creds = credentials(&args.source_sql, "source")?;
        let dest_creds = credentials(&args.dest_sql, "dest")?;
        let encrypt = match &args.encrypt {
            None => None,
            Some((l, pw)) => Some((*l, secrets::resolve_new(pw.as_ref(), "--encrypt", *l)?)),
        };
        let decrypt = secrets::resolve_opt(args.decrypt.as_ref(), "--decrypt")?;
        let resume = match &args.resume {
            Some(path) => ResumeIndex::from_report(&Report::read(Path::new(path))?),
            None => ResumeIndex::default(),
        };
        let report_path = args
            .report
            .as_ref()
            .or(args.resume.as_ref())
            .map(PathBuf::from);
        // The password's digest is made only for a report (it costs 100,000 rounds).
        let protection = protection::Asked::new(
            encrypt.as_ref().map(|(level, _)| level.number()),
            args.algorithm.map(|a| a.name()),
            encrypt
                .as_ref()
                .and_then(|(_, pw)| pw.as_deref())
                .filter(|_| report_path.is_some())
                .map(|p| p.as_str()),
            resume.protections(),
        );
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
            resuming: args.resume.is_some(),
            protection,
            stores: config.stores.clone(),
            hash: args.json || report_path.is_some(),
            assess: args
                .assess
                .then(|| crate::assess::batch_options(args.target_version)),
        };
        Ok(Self {
            args,
            no_progress_bar: config.no_progress_bar,
            source_creds,
            dest_creds,
            job,
            report_path,
            report_lock: std::sync::OnceLock::new(),
            from_display: args.from.display(args.source_sql.server.as_deref()),
            to_display: args.to.display(args.dest_sql.server.as_deref()),
            started,
            started_at,
            options: options_json(args),
        })
    }

    /// Step 1: every package of the source tree (the source store stays open for the
    /// first worker).
    fn list_sources(&self) -> Result<(Box<dyn Store>, Vec<Item>)> {
        let src = self
            .args
            .from
            .open(&self.source_creds, &self.job.stores)
            .map_err(|e| e.context("the source"))?;
        let items = self
            .args
            .from
            .list(&*src, self.args.follow_links, Some("--from"))?;
        if items.is_empty() {
            return Err(Error::failure(format!(
                "no packages (*.dtsx) found in {} `{}`",
                self.args.from.kind(),
                self.from_display
            )));
        }
        Ok((src, items))
    }

    /// Step 2: the packages decided before any is read: entries that are not read
    /// (and why), and two sources onto one destination (names compare
    /// case-insensitively in msdb, Azure Files and on Windows: the later ones fail
    /// rather than overwrite the first). Names that differ only in case count as one
    /// even in a case-sensitive local folder, since the packages cannot live side by
    /// side where they are deployed.
    fn plan(&self, items: &[Item]) -> Vec<Option<Record>> {
        let job = &self.job;
        let destination_key = |item: &Item| job.to.destination_key(&job.destination_path(item));
        let mut seen = std::collections::HashMap::new();
        let mut preset: Vec<Option<Record>> = vec![None; items.len()];
        for (i, item) in items.iter().enumerate() {
            if let Some(reason) = &item.fail {
                let folders: Vec<String> =
                    item.folders.iter().chain([&item.name]).cloned().collect();
                let to = &self.args.to;
                let mut r = Record::new(
                    job.source_name(item),
                    to.package_display(job.to_server.as_deref(), &to.folder_path(&folders)),
                    Status::Failed,
                );
                r.reason = Some(reason.clone());
                preset[i] = Some(r);
                continue;
            }
            let skip = (item.skip.clone()).or_else(|| job.to.destination_name_problem(item));
            if let Some(reason) = skip {
                let mut r = Record::new(
                    job.source_name(item),
                    job.destination_name(item),
                    Status::Skipped,
                );
                r.skip = Some(SkipKind::NotAFile);
                r.reason = Some(reason);
                preset[i] = Some(r);
                continue;
            }
            let key = destination_key(item);
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
                seen.insert(destination_key(item), first);
            }
        }
        preset
    }

    /// Step 3: before anything is written: the destination is not inside the source,
    /// the report can be written, the destination opens and the folders of the
    /// packages to write exist (not with `--dry-run`, which writes nothing).
    fn check_destination(
        &self,
        items: &[Item],
        preset: &[Option<Record>],
    ) -> Result<Box<dyn Store>> {
        let args = self.args;
        let servers = (
            args.source_sql.server.as_deref(),
            args.dest_sql.server.as_deref(),
        );
        if args.to.inside(&args.from, servers) {
            return Err(Error::command_line(format!(
                "--to `{}` is inside --from `{}`: the batch would read its own output again (one level deeper on each run); give a destination outside the source",
                self.to_display, self.from_display
            )));
        }
        if let (Some(path), false) = (&self.report_path, args.dry_run) {
            Report::check_writable(path)?;
            let _ = self.report_lock.set(report_lock::ReportLock::take(path)?);
        }
        let dst = args
            .to
            .open(&self.dest_creds, &self.job.stores)
            .map_err(|e| e.context("the destination"))?;
        if !args.dry_run {
            // Only where a package may be written: a skipped name (not UTF-8, say)
            // must not become a folder under another name.
            let mut trees: Vec<Vec<String>> = items
                .iter()
                .zip(preset)
                .filter(|(_, r)| r.is_none())
                .map(|(i, _)| i.folders.clone())
                .collect();
            trees.sort();
            trees.dedup();
            args.to
                .create_folders(&*dst, &trees)
                .map_err(|e| e.context("the destination"))?;
        }
        Ok(dst)
    }

    /// Step 4: `--jobs` workers take packages from a shared queue; this thread
    /// collects their records, shows progress and saves the report every 2 s.
    fn work(
        &self,
        items: &[Item],
        preset: Vec<Option<Record>>,
        src_main: Box<dyn Store>,
        dst_main: Box<dyn Store>,
        printer: &mut Printer,
    ) -> Outcome {
        let (args, job) = (self.args, &self.job);
        if !args.json {
            printer.banner();
            outln!(
                "{} {} package(s) from {} `{}` to {} `{}`{} with {} job(s){}",
                if args.dry_run { "Plan:" } else { "Copying" },
                items.len(),
                args.from.kind(),
                self.from_display,
                args.to.kind(),
                self.to_display,
                match &job.encrypt {
                    Some((l, _)) => format!(", re-protected to {l}"),
                    None => String::new(),
                },
                args.jobs,
                self.resume_note(items, &preset)
            );
        }

        install_ctrlc();
        let mut progress = (!args.dry_run)
            .then(|| progress::Progress::new(args.json, self.no_progress_bar, items.len()));
        let stop = AtomicBool::new(false);
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(usize, Record)>();
        let preset_flags: Vec<bool> = preset.iter().map(Option::is_some).collect();
        let mut records = preset;
        let mut stopped_by_failure = false;
        let mut last_write = Instant::now();

        let jobs = args.jobs.min(items.len()).max(1);
        let budget = budget::Budget::new(args.in_flight_bytes);
        std::thread::scope(|scope| {
            let mut mains = Some((src_main, dst_main));
            for w in 0..jobs {
                let tx = tx.clone();
                let queue = Queue {
                    items,
                    preset: &preset_flags,
                    stop: &stop,
                    next: &next,
                    budget: &budget,
                };
                let given = mains.take();
                std::thread::Builder::new()
                    .name(format!("batch-{w}"))
                    .spawn_scoped(scope, move || self.worker(queue, given, tx))
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
                                p.note(
                                    "dtutil: --fail-fast: a package failed; no new package starts",
                                );
                            }
                        }
                        records[i] = Some(record);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if let Some(path) = &self.report_path {
                    if !args.dry_run && last_write.elapsed() > Duration::from_secs(2) {
                        let _ = self
                            .report_of(&records, false, false)
                            .write(path, self.report_lock.get());
                        last_write = Instant::now();
                    }
                }
            }
        });
        if let Some(p) = progress.as_mut() {
            p.finish();
        }
        Outcome {
            records,
            stopped_by_failure,
            in_flight: budget.peak(),
        }
    }

    /// The plan line's account of `--resume`: how many of this run's packages the
    /// report shows done (skipped when their source is unchanged), how many of those
    /// are written again (asked otherwise), and rows that are for other packages or
    /// another destination (not skipped: the first line must not promise it).
    fn resume_note(&self, items: &[Item], preset: &[Option<Record>]) -> String {
        let job = &self.job;
        if job.resume.is_empty() {
            return String::new();
        }
        let (mut done, mut other_ids, mut other_protection, mut lost) = (0, 0, 0, 0);
        for (item, _) in items.iter().zip(preset).filter(|(_, p)| p.is_none()) {
            let Some(row) = job
                .resume
                .row(&job.source_name(item), &job.destination_name(item))
            else {
                continue;
            };
            if job.protection.differs(row.protection.as_ref()).is_some() {
                other_protection += 1;
            } else if job.lost_values_refused(row).is_some() {
                lost += 1;
            } else if job.resume.other_id_policy(job.regenerate_ids) {
                other_ids += 1;
            } else {
                done += 1;
            }
        }
        let mut note = String::new();
        if done > 0 {
            note += &format!("; {done} done earlier (--resume)");
            if let Some(year) = self.args.target_version {
                note += &format!(", checked against --target-version {year}");
            }
        }
        if other_protection > 0 {
            note += &format!(
                "; {other_protection} done earlier protected otherwise (--encrypt or --algorithm differs), written again (--resume)"
            );
        }
        if lost > 0 {
            note += &format!(
                "; {lost} done earlier with level 1 values written blank, which this run does not allow (no --allow-lost-sensitive), done again (--resume)"
            );
        }
        if other_ids > 0 {
            note += &format!(
                "; {other_ids} done earlier with other package IDs, written again (--resume)"
            );
        }
        let elsewhere = job
            .resume
            .len()
            .saturating_sub(done + other_ids + other_protection + lost);
        if elsewhere > 0 {
            note += &format!(
                "; {elsewhere} done row(s) of the --resume report are for other packages or another destination (not skipped)"
            );
        }
        note
    }

    /// One worker: its own stores (the first worker is given the ones already open).
    fn worker(
        &self,
        queue: Queue<'_>,
        given: Option<(Box<dyn Store>, Box<dyn Store>)>,
        tx: mpsc::Sender<(usize, Record)>,
    ) {
        let Queue {
            items,
            preset,
            stop,
            next,
            budget,
        } = queue;
        let job = &self.job;
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
            if preset[i] {
                continue;
            }
            let item: &Item = &items[i];
            let mut share = budget.admit(item.size.unwrap_or(0));
            // Held back for the budget meanwhile: not started after all.
            if stop.load(Ordering::SeqCst) || INTERRUPTED.load(Ordering::SeqCst) {
                break;
            }
            let record = match open_both(
                job,
                &mut src,
                &mut dst,
                &self.source_creds,
                &self.dest_creds,
            ) {
                Ok((s, d)) => job.process(item, s, d, &mut |read| share.resize(read as u64)),
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
            drop(share);
            // The worker stops itself: waiting for the collector to notice would let
            // it start more packages after the failure.
            if self.args.fail_fast && !record.success() {
                stop.store(true, Ordering::SeqCst);
            }
            if tx.send((i, record)).is_err() {
                break;
            }
        }
    }

    fn report_of(&self, records: &[Option<Record>], finished: bool, interrupted: bool) -> Report {
        let done: Vec<Record> = records.iter().flatten().cloned().collect();
        Report {
            version: report::REPORT_VERSION,
            tool: format!("dtutil {}", env!("CARGO_PKG_VERSION")),
            from: self.from_display.clone(),
            to: self.to_display.clone(),
            options: self.options.clone(),
            started: self.started_at.clone(),
            finished: finished.then(report::now_rfc3339),
            summary: Summary::of(&done, self.started.elapsed().as_secs_f64(), interrupted),
            packages: done,
        }
    }

    /// Step 5: the report file, the summary (or the `--dry-run` plan) and the exit code.
    fn report(&self, items: &[Item], outcome: Outcome) -> Result<ExitCode> {
        let args = self.args;
        let interrupted = INTERRUPTED.load(Ordering::SeqCst);
        let why = if interrupted {
            "not started: interrupted (Ctrl-C); run again with --resume to finish"
        } else {
            "not started: stopped after a failure (--fail-fast)"
        };
        let records: Vec<Record> = outcome
            .records
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.unwrap_or_else(|| self.job.not_started(&items[i], why)))
            .collect();
        let all = records.iter().map(|r| Some(r.clone())).collect::<Vec<_>>();
        let report = self.report_of(&all, true, interrupted || outcome.stopped_by_failure);

        if args.dry_run {
            progress::print_plan(&report, args.json);
            // A pre-flight check must catch what would fail (user-key skips are listed
            // with the values they would lose; they are not failures of the plan).
            return Ok(if report.summary.failed == 0 {
                ExitCode::Success
            } else {
                ExitCode::Failure
            });
        }
        let report_shown = self.report_path.as_ref().map(|p| p.display().to_string());
        if let Some(path) = &self.report_path {
            report.write(path, self.report_lock.get())?;
        }
        if args.json {
            outln!(
                "{}",
                serde_json::json!({
                    "summary": report.summary,
                    "in_flight": outcome.in_flight,
                    "report": report_shown,
                    "failures": records.iter().filter(|r| !r.success()).map(|r| serde_json::json!({
                        "source": r.source, "status": r.status, "reason": r.reason
                    })).collect::<Vec<_>>(),
                })
            );
        } else {
            out!(
                "{}",
                progress::summary_text(&report.summary, &records, report_shown.as_deref())
            );
            if self.args.assess {
                outln!("{}", crate::assess::batch_summary(&records));
            }
        }
        Ok(if records.iter().all(Record::success) {
            ExitCode::Success
        } else {
            ExitCode::Failure
        })
    }
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
                .open(source_creds, &job.stores)
                .map_err(|e| e.context("cannot open the source"))?,
        );
    }
    if dst.is_none() {
        *dst = Some(
            job.to
                .open(dest_creds, &job.stores)
                .map_err(|e| e.context("cannot open the destination"))?,
        );
    }
    Ok((&**src.as_ref().unwrap(), &**dst.as_ref().unwrap()))
}
