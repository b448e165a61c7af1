//! dtutil, rebuilt: the SSIS package utility on any OS.
//!
//! Flow runs one way, top to bottom; no module imports one above it:
//! - [`app`] (called by `main`): start-up with the environment read once into a
//!   [`config::Config`], then dispatch;
//! - [`cli`]: argv (dtutil's switches and the subcommands) becomes a validated
//!   [`plan::Command`];
//! - the commands: [`assess`] (the Azure-SSIS migration assessment), [`batch`], [`project`]'s runner, [`inspect`], [`ir`] (the Azure-SSIS
//!   IR through [`arm`], Azure Resource Manager), and [`ops`] for
//!   dtutil's own actions (the per-package work, output, secrets), which the others use;
//! - [`plan`]: the validated commands, plain data;
//! - [`store`]: where packages live, behind one interface;
//! - [`package`] (and `project`'s file formats): reads and rewrites DTSX, owns
//!   `ProtectionLevel`;
//! - [`crypto`]: the cipher work, owns `Algorithm`; [`error`]; [`hardening`]: no core
//!   dumps, literal passwords wiped from argv.

/// Every `eprintln!` of the crate: std's panics when stderr cannot be written (`2> log`
/// on a full disk, a closed pipe), which turned the command's documented exit code into
/// a panic's 101, even after a copy had been done. What stderr cannot take is dropped;
/// the exit code still says what happened. (A `macro_rules!` defined here shadows the
/// prelude's in every module declared below.)
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod app;
pub mod arm;
pub mod assess;
pub mod batch;
pub mod cli;
pub mod config;
pub mod console;
pub mod crypto;
pub mod error;
pub mod hardening;
pub mod inspect;
pub mod ir;
pub mod ops;
pub mod package;
pub mod plan;
pub mod project;
pub mod redact;
pub mod retry;
pub mod store;
pub mod warnings;
