//! Inputs the fuzzers (`fuzz/`, `make fuzz`) crashed dtutil with, kept as regression
//! tests: each is now a clear error with exit 5, never a panic, nothing written.
//! Add a file to `tests/harden/fuzz_regressions/` (named `TARGET-what.ext`) for every new crash.

mod harden;

use dtutil::package::ProtectionLevel;
use dtutil::package::{inspect, rewrite, Options, Target};
use dtutil::project::file::{open, reprotect};
use dtutil::project::Kind;
#[cfg(unix)]
use harden::{run_measured, snapshot};
use std::path::PathBuf;
#[cfg(unix)]
use std::time::Duration;

// The command-line runs are measured with wait4 (tests/harden): Unix only.
#[cfg(unix)]
#[test]
fn harden_launcher() {
    harden::launcher();
}

fn cases(prefix: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/harden/fuzz_regressions");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// The `package` target's own loop, in-process: results or errors, no panic.
#[test]
fn package_crashes_are_errors_in_the_library() {
    for case in cases("package-") {
        let data = std::fs::read(&case).unwrap();
        let _ = inspect(&data, None);
        let _ = inspect(&data, Some("pw"));
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
            if let Ok(out) = rewrite(&data, &options) {
                inspect(&out.bytes, Some("pw")).expect("our own output must load");
            }
        }
    }
}

/// The fuzz-found root marked `Sensitive="1"`: re-protecting it overlapped edits (a
/// panic, exit 101) or, at level 0, blanked the whole package. Now exit 5 at every level.
#[cfg(unix)]
#[test]
fn package_crashes_exit_5_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dtsx").display().to_string();
    for case in cases("package-") {
        let src = case.display().to_string();
        for target in ["0", "2;pw", "3;pw"] {
            let before = snapshot(dir.path());
            let args: Vec<String> = [
                "/FILE",
                &src,
                "/Q",
                "/ENCRYPT",
                &format!("FILE;{out};{target}"),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let run = run_measured(&args, &[], Duration::from_secs(30));
            assert_eq!(run.code, Some(5), "{case:?} {target}: {run:?}");
            assert!(!run.stderr.contains("panicked"), "{run:?}");
            assert!(run.stderr.contains("Sensitive"), "{run:?}");
            assert_eq!(before, snapshot(dir.path()));
        }
    }
}

/// The `project` target's loop: the first byte picks the kind; a file re-protected
/// without error must open with the new password.
#[test]
fn project_crashes_are_errors_in_the_library() {
    for case in cases("project-") {
        let data = std::fs::read(&case).unwrap();
        let (&selector, input) = data.split_first().unwrap();
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
                if let Err(e) = open(&out.bytes, kind, Some("n3w")) {
                    panic!(
                        "{case:?} at {level}: our own output does not open: {e}\n{}",
                        String::from_utf8_lossy(&out.bytes)
                    );
                }
            }
        }
    }
}
