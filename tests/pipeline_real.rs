//! The per-package pipeline against real SSIS files: the facts a re-protection hands
//! on (to the target check and msdb's columns, without opening its output again) are
//! what reading the output back gives.

mod common;

use dtutil::crypto::Algorithm;
use dtutil::ops::pipeline::{prepare, Recipe, Reprotect};
use dtutil::package::ProtectionLevel;
use dtutil::package::{inspect, Facts, Target};

#[test]
fn handed_on_facts_match_real_outputs_read_back() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let mut checked = 0;
    for path in common::real_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".dtsx") || name.ends_with(".dtsxp")) {
            continue;
        }
        let source = std::fs::read(&path).unwrap();
        let password = common::password_of(&path);
        let decrypt = password.as_deref();
        // (target, password that opens the output, cipher, new id)
        let mut runs: Vec<(Target, Option<&str>, Option<Algorithm>, bool)> = Vec::new();
        for level in [0, 5] {
            let level = ProtectionLevel::from_number(level).unwrap();
            runs.push((
                Target::Level {
                    level,
                    password: None,
                },
                None,
                None,
                false,
            ));
        }
        for level in [2, 3] {
            let level = ProtectionLevel::from_number(level).unwrap();
            let target = Target::Level {
                level,
                password: Some("other"),
            };
            runs.push((target, Some("other"), None, true));
            runs.push((target, Some("other"), Some(Algorithm::Aes256), false));
        }
        runs.push((Target::Keep, decrypt, None, true));
        for (target, opener, algorithm, regenerate_id) in runs {
            let recipe = Recipe {
                decrypt,
                reprotect: Some(Reprotect {
                    target,
                    algorithm,
                    regenerate_id,
                    allow_lost_values: true,
                }),
            };
            // User-key packages cannot be opened here; that is tested elsewhere.
            let Ok(package) = prepare(source.clone(), &recipe) else {
                continue;
            };
            let read_back = inspect(&package.bytes, opener).map(|i| Facts::from(&i));
            assert_eq!(
                package.facts().cloned().map_err(Clone::clone),
                read_back,
                "{name} -> {target:?} {algorithm:?} regenerate {regenerate_id}"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} rewrites checked");
}
