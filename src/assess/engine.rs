//! The rules over one package: its protection and runtime (from what `inspect` reads)
//! and its objects (from [`package::objects`]). Bytes in, findings out; nothing here
//! knows where the package came from.

use super::checks;
use super::rules::{rule, Scope, Severity};
use crate::package::objects::Object;
use crate::package::target::{judge, Runtime};
use crate::package::ProtectionLevel;
use crate::package::{self, PackageError};
use crate::project::{self, ProjectError};
use crate::redact;
use serde::Serialize;
use std::collections::HashSet;

/// What the rules are judged against.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The SSIS runtime that will run the packages (the IR runs SQL Server 2017's).
    pub runtime: Runtime,
    /// The target is the Azure-SSIS IR: the DMA rules about its machines apply.
    pub azure: bool,
    pub enterprise: bool,
}

/// One thing found in one package. No field holds a secret (each is redacted when
/// the finding is made); control characters are kept, for each output to escape.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub package: String,
    pub rule: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The object's refId (or the path SSIS would give it).
    pub location: String,
    /// Its line in the package file, where the file shows it (not inside a package
    /// encrypted as a whole).
    pub line: Option<usize>,
    pub message: String,
    /// The text the rule looked at, secrets redacted.
    pub evidence: String,
    pub recommendation: &'static str,
}

/// Findings for one package, before its name is attached.
#[derive(Default)]
pub struct Found {
    pub findings: Vec<Finding>,
    /// Lines are the file's own.
    lines_visible: bool,
    /// (rule, location, message) of every finding so far: one lookup per finding, so
    /// a package with 200,000 connection managers takes linear time.
    seen: HashSet<(&'static str, String, String)>,
}

impl Found {
    pub fn add(
        &mut self,
        options: &Options,
        id: &str,
        object: Option<&Object>,
        message: String,
        evidence: String,
    ) {
        let rule = rule(id);
        if rule.scope == Scope::AzureIr && !options.azure {
            return;
        }
        let location = object.map_or_else(|| "Package".to_string(), |o| o.path.clone());
        let line = object.filter(|_| self.lines_visible).map(|o| o.line);
        // Every text a finding carries comes from the package: each is redacted.
        let location = redact::secrets(&location);
        let message = redact::secrets(&message);
        // One finding per rule, object and message: a package repeats itself.
        if !self
            .seen
            .insert((rule.id, location.clone(), message.clone()))
        {
            return;
        }
        self.findings.push(Finding {
            package: String::new(),
            rule: rule.id,
            title: rule.title,
            severity: rule.severity,
            location,
            line,
            message,
            evidence: redact::secrets(&evidence),
            recommendation: rule.recommendation,
        });
    }
}

/// Assesses one package (`package` names it in the findings).
pub fn assess(
    package: &str,
    bytes: &[u8],
    password: Option<&str>,
    options: &Options,
) -> Vec<Finding> {
    let mut found = Found {
        lines_visible: true,
        ..Found::default()
    };
    assess_into(&mut found, bytes, password, options);
    let package = redact::secrets(package);
    for f in &mut found.findings {
        f.package.clone_from(&package);
    }
    found.findings
}

fn not_read(found: &mut Found, options: &Options, why: String) {
    found.add(options, "DTU900", None, why, String::new());
}

/// A project connection manager (.conmgr): its one connection. A level 3 file holds it
/// inside one encrypted element, so it is read through the project code that opens it;
/// without the password (or with a wrong one) it is not assessed, never called clean.
fn connection_manager(found: &mut Found, options: &Options, bytes: &[u8], password: Option<&str>) {
    let opened = project::file::open(bytes, project::Kind::ConnectionManager, password);
    let encrypted_whole = match &opened {
        Ok(o) => o.level == ProtectionLevel::EncryptAllWithPassword,
        Err(_) => project::inspect(bytes)
            .ok()
            .flatten()
            .is_some_and(|info| info.protection_level == Some(3)),
    };
    let doc: &[u8] = match &opened {
        Ok(o) => &o.doc,
        Err(ProjectError::WrongPassword) => {
            let why = "the --password does not open this connection manager: it was not assessed";
            return not_read(found, options, why.into());
        }
        Err(_) if encrypted_whole => {
            let why = "the connection manager is encrypted as a whole (level 3) and no --password was given: it was not assessed";
            return not_read(found, options, why.into());
        }
        // Level 2 without the password: everything but the sensitive values is readable.
        Err(_) => bytes,
    };
    match package::objects::read(doc) {
        Ok(objects) => checks::objects(found, options, &objects),
        Err(e) => not_read(
            found,
            options,
            format!("the connection manager cannot be read: {e}"),
        ),
    }
}

fn assess_into(found: &mut Found, bytes: &[u8], password: Option<&str>, options: &Options) {
    let info = match package::inspect(bytes, password) {
        Ok(info) => info,
        Err(PackageError::NotAPackage(root)) if root == "DTS:ConnectionManager" => {
            connection_manager(found, options, bytes, password);
            return;
        }
        Err(e) => {
            not_read(found, options, format!("the package cannot be read: {e}"));
            return;
        }
    };
    let level = info.protection_level.unwrap_or(1);
    let level_text = format!(
        "protection level {level} ({})",
        info.protection_level_name.as_deref().unwrap_or("?")
    );
    if level == 1 || level == 4 {
        found.add(
            options,
            "4003",
            None,
            format!("the package is protected with a Windows user key: {level_text}"),
            level_text.clone(),
        );
    }
    if level == 4 {
        found.add(
            options,
            "DTU201",
            None,
            "the whole package is a DPAPI blob of the Windows account that saved it; nothing else can read it, so no other rule could look inside".into(),
            level_text,
        );
        runtime(found, options, &info);
        return;
    }
    if !info.contents_visible {
        not_read(
            found,
            options,
            "the package is encrypted as a whole (level 3) and no --password was given: only its protection was assessed".into(),
        );
        return;
    }
    runtime(found, options, &info);
    let opened = match package::open(bytes, password) {
        Ok(opened) => opened,
        Err(e) => {
            not_read(found, options, format!("the package cannot be opened: {e}"));
            return;
        }
    };
    if level == 1 {
        let labels = opened.user_key_labels();
        if !labels.is_empty() {
            found.add(
                options,
                "DTU202",
                None,
                format!(
                    "{} sensitive value(s) are encrypted for the Windows user who saved the package and arrive blank anywhere else",
                    labels.len()
                ),
                labels.join(", "),
            );
        }
    }
    // Inside a package encrypted as a whole, lines are the decrypted text's.
    found.lines_visible = level != 3;
    match opened.objects() {
        Ok(objects) => checks::objects(found, options, &objects),
        Err(e) => not_read(
            found,
            options,
            format!("the package's objects cannot be read: {e}"),
        ),
    }
}

/// The target-runtime check (`inspect --target-version`'s verdict).
fn runtime(found: &mut Found, options: &Options, info: &package::Info) {
    let verdict = judge(info, options.runtime);
    let saved = info
        .last_modified_product_version
        .as_deref()
        .map(|v| format!("LastModifiedProductVersion {v}"))
        .or_else(|| info.format.map(|f| format!("PackageFormatVersion {f}")))
        .unwrap_or_default();
    for refusal in verdict.refusals {
        if refusal.contains("AES-256") {
            let evidence = format!("algorithms: {}", info.algorithms.join(", "));
            found.add(options, "DTU102", None, refusal, evidence);
        } else {
            found.add(options, "DTU101", None, refusal, saved.clone());
        }
    }
    for note in verdict.notes {
        if note.contains("upgrade") {
            found.add(options, "DTU103", None, note, saved.clone());
        }
    }
}
