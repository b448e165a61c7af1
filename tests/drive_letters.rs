//! Review user2 F12: a drive letter mapped with `DTUTIL_DRIVE_<LETTER>` works for
//! `assess`, `inspect` and `project` as it does for `/FILE` and `batch --from/--to`
//! (docs/assessment.md: SOURCE is anything `batch --from` reads), and an unmapped one
//! is exit 6 naming the variable, not "no such file".

mod common;

use common::{dtutil_clean, shown};
use std::path::Path;

fn package() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/migration/packages/Finance/Ledger.dtsx"),
    )
    .unwrap()
}

#[test]
fn mapped_drives_work_for_assess_inspect_and_project() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = dir.join("C");
    std::fs::create_dir_all(c.join("myPackages")).unwrap();
    std::fs::write(c.join("myPackages/mypackage.dtsx"), package()).unwrap();
    let env = [("DTUTIL_DRIVE_C".to_string(), c.display().to_string())];

    for source in [r"C:\myPackages\mypackage.dtsx", r"C:\myPackages"] {
        let out = dtutil_clean(dir, &env, &["assess", "--fail-on", "never", source]);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(0), "{source}\n{text}");
        assert!(text.contains("mypackage.dtsx"), "{text}");
    }
    let out = dtutil_clean(dir, &env, &["inspect", r"C:\myPackages\mypackage.dtsx"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("protection level 0"), "{text}");

    // Unmapped: the command line names the variable (exit 6), for each command.
    for args in [
        vec!["assess", r"Q:\pkgs"],
        vec!["inspect", r"Q:\pkgs\p.dtsx"],
        vec!["project", r"Q:\proj", "--encrypt", "0", "--dry-run"],
    ] {
        let out = dtutil_clean(dir, &env, &args);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(6), "{args:?}\n{text}");
        assert!(text.contains("DTUTIL_DRIVE_Q"), "{text}");
    }

    let Some(real) = common::real_fixtures() else {
        return;
    };
    let proj = c.join("proj");
    std::fs::create_dir(&proj).unwrap();
    std::fs::copy(
        real.join("wwi_WWI_SSIS.DontSaveSensitive.dtproj"),
        proj.join("WWI_SSIS.dtproj"),
    )
    .unwrap();
    std::fs::write(proj.join("Ledger.dtsx"), package()).unwrap();
    let out = dtutil_clean(
        dir,
        &env,
        &["project", r"C:\proj", "--encrypt", "2;pw", "--dry-run"],
    );
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Dry run:"), "{text}");
}
