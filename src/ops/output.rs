//! What dtutil prints: a banner of three lines, a blank line, then result lines
//! (scripts read line index 4), or JSON lines with `--json`. Errors are result lines
//! on stdout too, as dtutil prints them (deployment scripts capture stdout and read
//! line 4), and go to stderr as well for people and logs that watch it.

use crate::error::Error;
use crate::plan::OutputMode;
use crate::redact::for_display;

/// Three lines shaped like Microsoft's (product name, `Version X for 64-bit`, a
/// copyright line), so scripts that skip three lines and a blank one keep working.
pub fn banner_lines() -> [String; 3] {
    [
        "dtutil SSIS Package Utilities (a cross-platform rebuild of Microsoft's dtutil)"
            .to_string(),
        format!(
            "Version {} for {}-bit ({} {})",
            env!("CARGO_PKG_VERSION"),
            usize::BITS,
            std::env::consts::OS,
            std::env::consts::ARCH
        ),
        "Copyright (C) the dtutil rebuild authors. MIT License; not affiliated with Microsoft."
            .to_string(),
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
        let [product, version, copyright] = banner_lines();
        crate::console::print(&format!("{product}\n{version}\n{copyright}\n\n"));
    }

    /// A result line in text mode (after the banner); nothing in JSON mode.
    pub fn line(&mut self, text: &str) {
        if self.mode == OutputMode::Json {
            return;
        }
        self.banner();
        crate::console::println(&for_display(text));
    }

    /// A JSON record in JSON mode; nothing in text mode.
    pub fn json(&mut self, value: &serde_json::Value) {
        if self.mode != OutputMode::Json {
            return;
        }
        crate::console::println(&for_display(&value.to_string()));
    }

    pub fn warn(&mut self, text: &str) {
        eprintln!("dtutil: warning: {}", for_display(text));
    }

    /// Something worth knowing that changes nothing: on stderr, so the result lines
    /// scripts read on stdout stay where they are.
    pub fn note(&mut self, text: &str) {
        eprintln!("dtutil: note: {}", for_display(text));
    }

    /// A warning scripts must see in what they capture (stdout) as well.
    pub fn warn_result(&mut self, text: &str) {
        self.line(&format!("Warning: {}", for_display(text)));
        self.warn(text);
    }

    pub fn error(&mut self, error: &Error) {
        let shown = for_display(&error.message);
        self.line(&format!("Error: {shown}"));
        // Both on one screen, the same error would show twice: the result line is
        // dtutil's, and a person at the terminal reads it there.
        if !(self.mode == OutputMode::Text && on_one_terminal()) {
            eprintln!("dtutil: error: {shown}");
        }
        self.json(&serde_json::json!({
            "status": "error",
            "exit_code": error.exit.code(),
            "message": error.message,
        }));
    }
}

/// Stdout and stderr are both a terminal (a person reads both on one screen).
fn on_one_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}
