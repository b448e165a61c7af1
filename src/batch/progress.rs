//! What a batch shows while it runs: a progress bar on a terminal (count, bytes, rate,
//! ETA, failures), plain log lines otherwise, JSON lines with `--json`.

use super::report::{Record, Status, Summary};
use crate::redact::for_display;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::Instant;

pub enum Mode {
    Bar,
    Lines,
    Json,
}

pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    started: Instant,
    bytes: u64,
    failures: usize,
    done: usize,
    total: usize,
}

impl Progress {
    /// `no_bar`: `DTUTIL_NO_PROGRESS` was set.
    pub fn new(json: bool, no_bar: bool, total: usize) -> Self {
        let mode = if json {
            Mode::Json
        } else if std::io::stderr().is_terminal() && !no_bar {
            Mode::Bar
        } else {
            Mode::Lines
        };
        let bar = matches!(mode, Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} {msg} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self {
            mode,
            bar,
            started: Instant::now(),
            bytes: 0,
            failures: 0,
            done: 0,
            total,
        }
    }

    /// A line that does not tear the bar.
    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(for_display(text)),
            None => eprintln!("{}", for_display(text)),
        }
    }

    pub fn record(&mut self, r: &Record) {
        self.done += 1;
        if r.status == Status::Ok {
            self.bytes += r.bytes.unwrap_or(0) as u64;
        }
        if !r.success() {
            self.failures += 1;
        }
        match self.mode {
            Mode::Json => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{}",
                    for_display(&serde_json::to_string(r).expect("records serialise"))
                );
                let _ = out.flush();
            }
            Mode::Lines => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", line(r, self.done, self.total));
                let _ = out.flush();
            }
            Mode::Bar => {
                let bar = self.bar.as_ref().expect("bar mode");
                if !r.success() {
                    bar.println(line(r, self.done, self.total));
                }
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{} ({}/s) failures: {}",
                    HumanBytes(self.bytes),
                    HumanBytes((self.bytes as f64 / secs) as u64),
                    self.failures
                ));
                bar.inc(1);
            }
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    pub fn is_json(&self) -> bool {
        matches!(self.mode, Mode::Json)
    }
}

fn levels(r: &Record) -> String {
    match (r.level_before, r.level_after) {
        (Some(a), Some(b)) => format!("{a}->{b}"),
        (Some(a), None) => format!("{a}"),
        _ => "-".into(),
    }
}

/// `[  12/300] ok       2->2   12.3 KiB  src -> dst` / `... FAILED  src: reason`.
pub fn line(r: &Record, n: usize, total: usize) -> String {
    for_display(&raw_line(r, n, total)).into_owned()
}

fn raw_line(r: &Record, n: usize, total: usize) -> String {
    let width = total.to_string().len();
    let head = format!("[{n:>width$}/{total}] {:<8}", status_word(r));
    match r.status {
        Status::Ok | Status::Planned => format!(
            "{head} {:<5} {:>10}  {} -> {}",
            levels(r),
            HumanBytes(r.bytes.unwrap_or(0) as u64).to_string(),
            r.source,
            r.destination
        ),
        _ => format!("{head} {}: {}", r.source, r.reason.as_deref().unwrap_or("")),
    }
}

fn status_word(r: &Record) -> &'static str {
    match r.status {
        Status::Failed => "FAILED",
        s => s.word(),
    }
}

/// The closing lines: counts, bytes, rate, and each failure with its reason.
pub fn summary_text(s: &Summary, records: &[Record], report: Option<&str>) -> String {
    let mut out = String::new();
    let rate = if s.seconds > 0.0 {
        s.total as f64 / s.seconds
    } else {
        0.0
    };
    out.push_str(&format!(
        "{} {} packages in {:.1} s ({rate:.1}/s): {} ok, {} skipped, {} failed; {} read, {} written.\n",
        if s.interrupted { "Stopped after" } else { "Done:" },
        s.total,
        s.seconds,
        s.ok,
        s.skipped,
        s.failed,
        HumanBytes(s.bytes_read),
        HumanBytes(s.bytes_written),
    ));
    let resumed = records
        .iter()
        .filter(|r| r.skip == Some(super::report::SkipKind::Resumed))
        .count();
    if resumed > 0 {
        out.push_str(&format!(
            "{resumed} package(s) were done in an earlier run and skipped (--resume).\n"
        ));
    }
    let bad: Vec<&Record> = records.iter().filter(|r| !r.success()).collect();
    if !bad.is_empty() {
        out.push_str(&format!("Not done ({}):\n", bad.len()));
        for r in bad.iter().take(200) {
            out.push_str(&format!(
                "  {} {}: {}\n",
                status_word(r),
                r.source,
                r.reason.as_deref().unwrap_or("")
            ));
            if !r.lost_values.is_empty() && r.status == Status::Skipped {
                out.push_str(&format!(
                    "      values it would lose: {}\n",
                    r.lost_values.join(", ")
                ));
            }
        }
        if bad.len() > 200 {
            out.push_str(&format!(
                "  ... and {} more (see the report)\n",
                bad.len() - 200
            ));
        }
    }
    let lost: Vec<&Record> = records
        .iter()
        .filter(|r| r.status == Status::Ok && !r.lost_values.is_empty())
        .collect();
    if !lost.is_empty() {
        out.push_str(&format!(
            "{} package(s) were written with blank user-key values (--allow-lost-sensitive); set them again after the migration:\n",
            lost.len()
        ));
        for r in lost.iter().take(50) {
            out.push_str(&format!(
                "  {}: {}\n",
                r.destination,
                r.lost_values.join(", ")
            ));
        }
    }
    if let Some(path) = report {
        out.push_str(&format!("Report: {path}\n"));
        if !bad.is_empty() {
            out.push_str(&format!(
                "Run the same command with --resume {path} to finish: packages already done are skipped.\n"
            ));
        }
    }
    out
}
