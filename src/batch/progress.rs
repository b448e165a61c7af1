//! What a batch shows while it runs: a progress bar on a terminal (count, bytes, rate,
//! ETA, failures), plain log lines otherwise, JSON lines with `--json`.

use super::report::{Record, Report, SkipKind, Status, Summary};
use crate::redact::{for_display, one_line};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
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
    skipped: usize,
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
            skipped: 0,
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
        self.bytes += r.bytes_written();
        // Skips (a user key, --skip-existing) are not failures: the summary says so too.
        match r.status {
            Status::Failed => self.failures += 1,
            Status::Skipped => self.skipped += 1,
            _ => {}
        }
        match self.mode {
            Mode::Json => {
                crate::console::println(&for_display(
                    &serde_json::to_string(&r.shown()).expect("records serialise"),
                ));
            }
            Mode::Lines => {
                crate::console::println(&line(r, self.done, self.total));
            }
            Mode::Bar => {
                let bar = self.bar.as_ref().expect("bar mode");
                if !r.success() {
                    bar.println(line(r, self.done, self.total));
                }
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{} ({}/s) failures: {}, skipped: {}",
                    HumanBytes(self.bytes),
                    HumanBytes((self.bytes as f64 / secs) as u64),
                    self.failures,
                    self.skipped
                ));
                if r.skip == Some(SkipKind::Resumed) {
                    // Done earlier, checked in a moment: counting it would make the
                    // rate, and so the ETA, of the real work look far too fast.
                    bar.dec_length(1);
                } else {
                    bar.inc(1);
                }
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
            one_line(&r.source),
            one_line(&r.destination)
        ),
        _ => format!(
            "{head} {}: {}",
            one_line(&r.source),
            one_line(r.reason.as_deref().unwrap_or(""))
        ),
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
    let not_started: Vec<&Record> = records
        .iter()
        .filter(|r| r.skip == Some(SkipKind::NotStarted))
        .collect();
    // Packages this run finished (a stopped run counts only those).
    let handled = s.total - not_started.len();
    let rate = if s.seconds > 0.0 {
        handled as f64 / s.seconds
    } else {
        0.0
    };
    out.push_str(&format!(
        "{} {} packages in {:.1} s ({rate:.1}/s): {} ok, {} skipped, {} failed; {} read, {} written.\n",
        if s.interrupted { "Stopped after" } else { "Done:" },
        handled,
        s.seconds,
        s.ok,
        s.skipped - not_started.len(),
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
        // Hundreds of "not started" lines would bury the one that stopped the run.
        let reasons: Vec<&Record> = bad
            .iter()
            .copied()
            .filter(|r| r.skip != Some(SkipKind::NotStarted))
            .collect();
        if let Some(first) = not_started.first() {
            out.push_str(&format!(
                "  {} {}\n",
                not_started.len(),
                one_line(first.reason.as_deref().unwrap_or("not started"))
            ));
        }
        let bad = reasons;
        for r in bad.iter().take(200) {
            out.push_str(&format!(
                "  {} {}: {}\n",
                status_word(r),
                one_line(&r.source),
                one_line(r.reason.as_deref().unwrap_or(""))
            ));
            if !r.lost_values.is_empty() && r.status == Status::Skipped {
                out.push_str(&format!(
                    "      values it would lose: {}\n",
                    one_line(&r.lost_values.join(", "))
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
                one_line(&r.destination),
                one_line(&r.lost_values.join(", "))
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

/// `--dry-run`'s plan: a table (or the report as JSON), then what it adds up to.
pub fn print_plan(report: &Report, json: bool) {
    if json {
        let mut shown = report.clone();
        shown.packages = report.packages.iter().map(Record::shown).collect();
        let mut v = serde_json::to_value(shown).expect("reports serialise");
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
            one_line(&r.source),
            one_line(&r.destination)
        );
        if let Some(reason) = &r.reason {
            if r.status != Status::Planned {
                outln!("{:<26}{}", "", one_line(reason));
            }
        }
        if !r.lost_values.is_empty() {
            outln!(
                "{:<26}user-key values it would lose: {}",
                "",
                one_line(&r.lost_values.join(", "))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_is_not_counted_as_a_failure() {
        let mut progress = Progress::new(false, true, 3);
        let mut skipped = Record::new("a".into(), "b".into(), Status::Skipped);
        skipped.skip = Some(SkipKind::UserKey);
        progress.record(&skipped);
        progress.record(&Record::new("c".into(), "d".into(), Status::Failed));
        progress.record(&Record::new("e".into(), "f".into(), Status::Ok));
        assert_eq!((progress.failures, progress.skipped), (1, 1));
    }
}
