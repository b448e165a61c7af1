//! The MsDtsSrvr.ini.xml reader (package store roots): arbitrary bytes must give a
//! configuration or an error, never a panic.
#![no_main]

use dtutil::store::dts::DtsConfig;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = DtsConfig::parse(data, Path::new("/srv/ssis"), "fuzz") {
        let _ = format!("{config:?}");
    }
});
