//! Test fixtures for dtutil (not a product).
pub mod adf;
pub mod azfiles;
pub mod certs;
pub mod kdc;
pub mod msdb;
