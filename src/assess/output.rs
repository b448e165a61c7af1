//! Findings as text (grouped by package, then a summary table) or JSON lines (one
//! object per finding). Findings arrive redacted; what came from a package is
//! escaped here: in text each value on its line (`redact::inline`: no newline, tab,
//! control or bidi character of a package's can make a line of its own or reorder
//! one), in JSON by serde_json (`redact::json`).

use super::engine::{Finding, Options};
use super::rules::{Severity, RULES};
use crate::ops::output::Printer;
use crate::plan::assess::AssessPlan;
use crate::redact::{self, inline};

/// Evidence longer than this is cut in text output (JSON has it whole).
const TEXT_EVIDENCE_CHARS: usize = 300;

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(max).collect::<String>())
    }
}

pub fn text(
    printer: &mut Printer,
    names: &[&str],
    results: &[Vec<Finding>],
    plan: &AssessPlan,
    options: &Options,
) {
    let target = if options.azure {
        format!(
            "the Azure-SSIS IR (SQL Server {} runtime)",
            options.runtime.year
        )
    } else {
        format!("SQL Server {}", options.runtime.year)
    };
    let edition = if plan.enterprise {
        "Enterprise"
    } else {
        "Standard"
    };
    printer.line(&format!(
        "Assessing {} package(s) for {target}, {edition} Edition",
        names.len()
    ));
    for (name, findings) in names.iter().zip(results) {
        printer.line("");
        let name = inline(name);
        if findings.is_empty() {
            printer.line(&format!("{name}: no findings"));
            continue;
        }
        printer.line(&name);
        let mut sorted: Vec<&Finding> = findings.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in sorted {
            printer.line(&format!(
                "  {:<8} {:<7} {}",
                f.severity.word(),
                f.rule,
                f.title
            ));
            let at = match f.line {
                Some(line) => format!("{}, line {line}", inline(&f.location)),
                None => inline(&f.location),
            };
            printer.line(&format!("{:<19}{at}: {}", "", inline(&f.message)));
            if !f.evidence.is_empty() {
                printer.line(&format!(
                    "{:<19}evidence: {}",
                    "",
                    inline(&cut(&f.evidence, TEXT_EVIDENCE_CHARS))
                ));
            }
            printer.line(&format!("{:<19}what to do: {}", "", f.recommendation));
        }
    }
    summary(printer, results);
}

fn summary(printer: &mut Printer, results: &[Vec<Finding>]) {
    printer.line("");
    let all: Vec<&Finding> = results.iter().flatten().collect();
    if !all.is_empty() {
        printer.line(&format!(
            "{:<7} {:<8} {:>8} {:>8}  TITLE",
            "RULE", "SEVERITY", "PACKAGES", "FINDINGS"
        ));
        for rule in RULES {
            let hits: Vec<&&Finding> = all.iter().filter(|f| f.rule == rule.id).collect();
            if hits.is_empty() {
                continue;
            }
            let mut packages: Vec<&str> = hits.iter().map(|f| f.package.as_str()).collect();
            packages.dedup();
            printer.line(&format!(
                "{:<7} {:<8} {:>8} {:>8}  {}",
                rule.id,
                rule.severity.word(),
                packages.len(),
                hits.len(),
                rule.title
            ));
        }
    }
    let worst = |findings: &[Finding]| findings.iter().map(|f| f.severity).max();
    let with = |s: Severity| results.iter().filter(|r| worst(r) == Some(s)).count();
    let count = |s: Severity| all.iter().filter(|f| f.severity == s).count();
    printer.line(&format!(
        "{} package(s): {} with errors, {} with warnings, {} with notes only, {} without findings; {} finding(s): {} error(s), {} warning(s), {} info",
        results.len(),
        with(Severity::Error),
        with(Severity::Warning),
        with(Severity::Info),
        results.iter().filter(|r| r.is_empty()).count(),
        all.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    ));
}

/// One JSON object per finding, in package order.
pub fn json(results: &[Vec<Finding>]) {
    for finding in results.iter().flatten() {
        crate::console::println(&json_line(finding));
    }
}

/// A finding as one line of JSON.
pub fn json_line(finding: &Finding) -> String {
    redact::json(finding, false)
}

/// A whole JSON document (the SARIF log), indented.
pub fn print_block(value: &serde_json::Value) {
    crate::console::println(&redact::json(value, true));
}
