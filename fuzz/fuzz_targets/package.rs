//! The DTSX reader and rewriter on arbitrary bytes: inspect, decrypt, re-protect.
//! Any input must give a result or an error, never a panic, and a rewrite that
//! succeeds must scan again.
#![no_main]

use dtutil::package::{inspect, rewrite, Options, Target};
use dtutil::package::ProtectionLevel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = inspect(data, None);
    let _ = inspect(data, Some("pw"));
    for level in [0, 2, 3, 5] {
        let options = Options {
            decrypt_password: Some("pw"),
            target: Target::Level {
                level: ProtectionLevel::from_number(level).unwrap(),
                password: Some("pw"),
            },
            algorithm: None,
            regenerate_id: level == 0,
            allow_lost_values: true,
        };
        if let Ok(out) = rewrite(data, &options) {
            inspect(&out.bytes, Some("pw")).expect("our own output must load");
        }
    }
});
