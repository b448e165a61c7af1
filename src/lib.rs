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
