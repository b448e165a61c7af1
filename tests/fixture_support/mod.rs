//! The source fixtures (`fixtures/source`) are ServerStorage (level 5) packages, whose
//! sensitive values are in the clear: those go only to SQL Server or to a local file
//! (DTS_E_SERVERSTORAGEDISALLOWED, review user3 F10). A test that takes one to an Azure
//! Files share or a package store folder as a mere payload takes it at level 0.
#![allow(dead_code)]

use dtutil::package::{self, Options, ProtectionLevel, Target};
use std::path::{Path, PathBuf};

pub fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/source")
        .join(name)
}

/// The fixture `name` re-protected to level 0 (DontSaveSensitive: no values kept).
pub fn level0(name: &str) -> Vec<u8> {
    let level5 = std::fs::read(source(name)).unwrap();
    let options = Options {
        decrypt_password: None,
        target: Target::Level {
            level: ProtectionLevel::DontSaveSensitive,
            password: None,
        },
        algorithm: None,
        regenerate_id: false,
        allow_lost_values: false,
    };
    package::rewrite(&level5, &options).unwrap().bytes
}

/// [`level0`] written to `to`.
pub fn write_level0(name: &str, to: &Path) {
    std::fs::write(to, level0(name)).unwrap();
}
