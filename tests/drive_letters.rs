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

/// Review user3 F11: `C:\myPackages\new.dtsx` pasted unquoted into bash arrives as
/// `C:myPackagesnew.dtsx`; taken from drive C's root it wrote `myPackagesnew.dtsx`,
/// exit 0. A drive letter with no separator after the colon is exit 6 saying to quote
/// the path, nothing written, for every command that takes a FILE path.
#[test]
fn a_drive_path_whose_backslashes_the_shell_ate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = dir.join("C");
    std::fs::create_dir_all(c.join("myPackages")).unwrap();
    std::fs::write(c.join("myPackages/mypackage.dtsx"), package()).unwrap();
    std::fs::write(dir.join("small.dtsx"), package()).unwrap();
    let env = [("DTUTIL_DRIVE_C".to_string(), c.display().to_string())];
    for args in [
        &["/FILE", "small.dtsx", "/COPY", "FILE;C:myPackagesnew.dtsx"][..],
        &["/FILE", "C:myPackagesmypackage.dtsx", "/EXISTS"],
        &[
            "/FILE",
            "small.dtsx",
            "/ENCRYPT",
            "FILE;C:myPackagesnew.dtsx;0",
        ],
        &["batch", "--from", ".", "--to", "C:myPackagesout"],
        &["inspect", "C:myPackagesmypackage.dtsx"],
    ] {
        let out = dtutil_clean(dir, &env, args);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(6), "{args:?}\n{text}");
        assert!(text.contains("quote the path in single quotes"), "{text}");
        assert!(text.contains("C:myPackages"), "{text}");
    }
    let mut left: Vec<_> = std::fs::read_dir(&c)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["myPackages"], "nothing written on drive C");
    // Quoted, the same paths work.
    let out = dtutil_clean(
        dir,
        &env,
        &["/FILE", r"C:\myPackages\mypackage.dtsx", "/EXISTS"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}
