//! dtutil, rebuilt: the SSIS package utility on any OS.
//!
//! Flow runs one way: [`cli`] parses dtutil switches into a [`plan::Plan`], [`ops`]
//! carries it out over the [`store`] interface, [`package`] reads and rewrites DTSX,
//! and [`crypto`] does the cipher work.

pub mod batch;
pub mod cli;
pub mod crypto;
pub mod error;
pub mod ops;
pub mod package;
pub mod plan;
pub mod project;
pub mod store;
