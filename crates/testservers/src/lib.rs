//! Test fixtures for dtutil (not a product).
pub mod azfiles;
pub mod msdb;
