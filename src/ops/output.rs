//! What dtutil prints: a banner of three lines, a blank line, then result lines
//! (scripts read line index 4), or JSON lines with `--json`. Errors go to stderr.

use crate::error::Error;
use crate::plan::OutputMode;
use crate::redact::for_display;
use std::io::Write;

pub fn banner_lines() -> [String; 3] {
    [
        "dtutil: SSIS package utility (a cross-platform rebuild of Microsoft dtutil)".to_string(),
        format!(
            "Version {} for {} {}",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        ),
        "Licensed under the MIT License; not affiliated with Microsoft.".to_string(),
    ]
}

pub const PACKAGE_EXISTS: &str = "The specified package exists.";
pub const PACKAGE_MISSING: &str = "The specified package does not exist.";
pub const FOLDER_EXISTS: &str = "The specified folder exists.";
pub const FOLDER_MISSING: &str = "The specified folder does not exist.";
pub const SUCCESS: &str = "The operation completed successfully.";

pub struct Printer {
    pub mode: OutputMode,
    banner_done: bool,
}

impl Printer {
    pub fn new(mode: OutputMode) -> Self {
        Self {
            mode,
            banner_done: false,
        }
    }

    /// Prints the banner once, before the first line of text output.
    pub fn banner(&mut self) {
        if self.banner_done || self.mode == OutputMode::Json {
            return;
        }
        self.banner_done = true;
        let mut out = std::io::stdout().lock();
        for line in banner_lines() {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out);
    }

    /// A result line in text mode (after the banner); nothing in JSON mode.
    pub fn line(&mut self, text: &str) {
        if self.mode == OutputMode::Json {
            return;
        }
        self.banner();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", for_display(text));
        let _ = out.flush();
    }

    /// A JSON record in JSON mode; nothing in text mode.
    pub fn json(&mut self, value: &serde_json::Value) {
        if self.mode != OutputMode::Json {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", for_display(&value.to_string()));
        let _ = out.flush();
    }

    pub fn warn(&mut self, text: &str) {
        eprintln!("dtutil: warning: {}", for_display(text));
    }

    pub fn error(&mut self, error: &Error) {
        self.banner();
        eprintln!("dtutil: error: {}", for_display(&error.message));
        self.json(&serde_json::json!({
            "status": "error",
            "exit_code": error.exit.code(),
            "message": error.message,
        }));
    }
}
