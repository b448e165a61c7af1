//! The DTSX reader and rewriter on arbitrary bytes: inspect, decrypt, re-protect.
//! Any input must give a result or an error, never a panic, and a rewrite that
//! succeeds must scan again. The in-place rewrite must agree with the copying one
//! (byte for byte at level 5, which has no fresh IVs or IDs).
#![no_main]

use dtutil::package::{inspect, rewrite, rewrite_owned, Options, Target};
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
        let copied = rewrite(data, &options);
        if let Ok(out) = &copied {
            inspect(&out.bytes, Some("pw")).expect("our own output must load");
        }
        // The in-place rewrite (the pipeline's) must agree with the copying one.
        match (rewrite_owned(data.to_vec(), &options), copied) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.level_after, b.level_after);
                if level == 5 {
                    assert_eq!(a.bytes, b.bytes);
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("in place {:?} vs copied {:?}", a.is_ok(), b.is_ok()),
        }
    }
});
