//! The dtutil switch parser: argv split from the input (NUL or newline separate the
//! tokens). Any argv must give a command or a command-line error, never a panic; a
//! parsed plan must render as JSON (what --dry-run prints) without a password in it.
#![no_main]

use dtutil::cli::parse;
use libfuzzer_sys::fuzz_target;
use std::ffi::OsString;

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let args: Vec<OsString> = text
        .split(['\0', '\n'])
        .take(64)
        .map(OsString::from)
        .collect();
    if let Ok(command) = parse(args) {
        let _ = format!("{command:?}");
    }
    let _ = dtutil::cli::help_text(text.split('\0').next());
});
