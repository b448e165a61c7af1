//! Errors as dtutil reports them: a message for a person and an exit code for scripts.

use std::fmt;

/// dtutil's exit codes (SPEC 1). Real scripts test these numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    Failure = 1,
    PackageNotFound = 4,
    PackageCannotLoad = 5,
    CommandLine = 6,
    /// `ir run --wait --timeout`: the run was still going when the time ran out (it goes
    /// on). Not one of dtutil's codes (it has no waiting), and none of them fits: a
    /// script must tell "gave up waiting" from "the package failed" (1).
    WaitTimedOut = 3,
    /// Ctrl-C ended the waiting: 128 + SIGINT, as shells report it.
    Interrupted = 130,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A failure with the exit code it maps to. The message names what failed,
/// on which package, and what to do; it never holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub exit: ExitCode,
    pub message: String,
}

impl Error {
    pub fn new(exit: ExitCode, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Failure, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ExitCode::PackageNotFound, message)
    }
    pub fn cannot_load(message: impl Into<String>) -> Self {
        Self::new(ExitCode::PackageCannotLoad, message)
    }
    pub fn command_line(message: impl Into<String>) -> Self {
        Self::new(ExitCode::CommandLine, message)
    }
    /// Prefix the message with context such as the package's name.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
