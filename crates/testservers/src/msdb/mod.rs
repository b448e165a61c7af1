//! msdb-testserver: a TDS 7.4 (and TDS 8.0 strict) server that plays SQL Server's `msdb`
//! for dtutil's tests.
//! A test fixture, not a product (see the crate README).
//!
//! Layers, bottom up:
//! - [`value`]: SQL values, `datetime`, errors, implicit conversions;
//! - [`tds`]: the wire format (packets, PRELOGIN, LOGIN7, RPC); `tokens`: the responses;
//! - [`tls`]: TLS inside PRELOGIN packets (TDS 7.x) or first (TDS 8.0), and the generated
//!   CA and leaf certificate;
//! - [`model`]: the two msdb tables and the `sp_ssis_*` procedures (pure, unit-tested);
//!   [`applock`]: `sp_getapplock` / `sp_releaseapplock` (session-owned locks);
//! - [`sql`]: the small T-SQL subset (EXEC, simple SELECT, SET, USE);
//! - [`server`]: accept loop, sessions, dispatch; `rpc`: RPC, sp_executesql, prepared
//!   statements and OUTPUT parameters; `query`: SELECT; `sspi`: integrated (Kerberos)
//!   logins through the system GSSAPI.

pub mod applock;
pub mod model;
mod query;
mod rpc;
pub mod server;
pub mod sql;
mod sspi;
pub mod tds;
pub mod tls;
mod tokens;
pub mod value;

pub use server::{run, Config, Login};
pub use sspi::WindowsLogin;
