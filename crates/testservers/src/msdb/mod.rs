//! msdb-testserver: a TDS 7.4 server that plays SQL Server's `msdb` for dtutil's tests.
//! A test fixture, not a product (see the crate README).
//!
//! Layers, bottom up:
//! - [`value`]: SQL values, `datetime`, errors, implicit conversions;
//! - [`tds`]: the wire format (packets, PRELOGIN, LOGIN7, RPC, tokens);
//! - [`tls`]: TLS inside PRELOGIN packets, and the generated CA and leaf certificate;
//! - [`model`]: the two msdb tables and the `sp_ssis_*` procedures (pure, unit-tested);
//! - [`sql`]: the small T-SQL subset (EXEC, simple SELECT, SET, USE);
//! - [`server`]: accept loop, sessions, dispatch.

pub mod model;
pub mod server;
pub mod sql;
pub mod tds;
pub mod tls;
pub mod value;

pub use server::{run, Config, Login};
