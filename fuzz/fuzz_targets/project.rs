//! Project files (.dtproj, @Project.manifest, .params, .conmgr): open with and without a
//! password, and re-protect at levels 0, 2 and 3. Any input gives a result or an error,
//! never a panic; a re-protected file opens again with the new password.
//! The first byte picks the kind.
#![no_main]

use dtutil::package::ProtectionLevel;
use dtutil::project::file::{open, reprotect};
use dtutil::project::Kind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let kind = match selector % 4 {
        0 => Kind::Dtproj,
        1 => Kind::Manifest,
        2 => Kind::Params,
        _ => Kind::ConnectionManager,
    };
    let _ = open(input, kind, None);
    let _ = open(input, kind, Some("pw"));
    for level in [0, 2, 3] {
        let level = ProtectionLevel::from_number(level).unwrap();
        if let Ok(out) = reprotect(input, kind, Some("pw"), level, Some("n3w")) {
            open(&out.bytes, kind, Some("n3w")).expect("our own output must open");
        }
    }
});
