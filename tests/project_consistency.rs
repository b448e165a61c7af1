//! `dtutil project` re-protects a project as one. Review user3 F13: on a folder holding
//! only the .dtproj it rewrote the manifest's levels for every listed package and
//! connection manager, none of them there, and exited 0. Review verify2
//! F7: in place it replaced read-only (0444) project files silently, where `/I` and
//! `/ENCRYPT` in place refuse a read-only package without /Q and `batch` never
//! replaces one.

mod common;

use common::{build_password_project, dir_snapshot, dtutil_clean, shown};
use std::path::Path;

fn project(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["project"];
    all.extend_from_slice(args);
    dtutil_clean(dir, &[], &all)
}

fn refused(out: &std::process::Output, names: &[&str]) {
    let t = shown(out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("nothing written"), "{t}");
    assert!(!t.contains("re-protected in"), "{t}");
    for name in names {
        assert!(t.contains(&format!("`{name}`")), "{name}\n{t}");
    }
}

/// A dry run shows its plan, and says the write would be refused and why.
fn would_be_refused(dir: &Path, args: &[&str], why: &str) {
    let mut all = args.to_vec();
    all.push("--dry-run");
    let out = project(dir, &all);
    let t = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Dry run:"), "{t}");
    assert!(t.contains("without --dry-run this would be refused"), "{t}");
    assert!(t.contains(why), "{t}");
}

#[test]
fn a_dtproj_without_any_of_its_files_is_not_rewritten() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pw1");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("ProSSIS.dtproj"),
        std::fs::read(real.join("wrox_ProSSIS_Ch15.EncryptSensitiveWithUserKey.dtproj")).unwrap(),
    )
    .unwrap();
    let before = dir_snapshot(&dir);
    let out = project(tmp.path(), &["pw1", "--encrypt", "2;pass:x"]);
    refused(
        &out,
        &["05_MultipleTransactionDemo.dtsx", "AdventureWorksDW.conmgr"],
    );
    assert!(shown(&out).contains("none of the 11"), "{}", shown(&out));
    assert_eq!(dir_snapshot(&dir), before);
    would_be_refused(
        tmp.path(),
        &["pw1", "--encrypt", "2;pass:x"],
        "none of the 11",
    );
    assert_eq!(dir_snapshot(&dir), before);
    // Checking it (nothing written) still says what is missing, and succeeds.
    let out = project(tmp.path(), &["pw1"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        shown(&out).contains("`01_Checkpoints.dtsx` is listed in the project but not found"),
        "{}",
        shown(&out)
    );
}

/// Some listed files missing among present ones stay warnings (the sample project the
/// other tests re-protect lacks two), but say the level the project now gives them.
#[test]
fn missing_listed_files_are_named_with_the_level_they_do_not_get() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    // Level 2 (password ssis123); the .dtproj also lists Package1.dtsx and the SMTP
    // connection manager, which the real fixtures do not have.
    build_password_project(&real, &dir);
    let out = project(
        tmp.path(),
        &["p", "--decrypt", "ssis123", "--encrypt", "2;pass:NEWPW"],
    );
    let t = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("`Package1.dtsx` is listed in the project but not found; its entry in the manifest says the project's level"),
        "{t}"
    );
    let out = project(tmp.path(), &["p", "--decrypt", "NEWPW", "--encrypt", "0"]);
    let t = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    for name in ["Package1.dtsx", "SMTP Connection Manager.conmgr"] {
        assert!(
            t.contains(&format!("`{name}` is listed in the project but not found: the project now says level 0 (DontSaveSensitive) for it while the file, wherever it is, keeps its own; re-protect it the same way")),
            "{t}"
        );
    }
}

#[cfg(unix)]
#[test]
fn read_only_project_files_are_not_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pro");
    build_password_project(&real, &dir);
    let chmod = |mode: u32| {
        for (name, _) in dir_snapshot(&dir) {
            std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(mode))
                .unwrap();
        }
    };
    chmod(0o444);
    let before = dir_snapshot(&dir);
    let args = ["pro", "--decrypt", "ssis123", "--encrypt", "2;pass:NEWPW"];
    let out = project(tmp.path(), &args);
    refused(&out, &[]);
    let t = shown(&out);
    assert!(t.contains("read-only"), "{t}");
    assert!(t.contains("SampleSSISProject.dtproj"), "{t}");
    assert!(t.contains("Package 221.dtsx"), "{t}");
    assert!(t.contains("chmod u+w"), "{t}");
    assert_eq!(dir_snapshot(&dir), before);
    would_be_refused(tmp.path(), &args, "read-only");
    assert_eq!(dir_snapshot(&dir), before);
    // --out onto a read-only file, even with --overwrite.
    let out_dir = tmp.path().join("elsewhere");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("Project.params"), b"kept").unwrap();
    std::fs::set_permissions(
        out_dir.join("Project.params"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    let mut all = args.to_vec();
    all.extend_from_slice(&["--out", "elsewhere", "--overwrite"]);
    let out = project(tmp.path(), &all);
    refused(&out, &[]);
    assert!(shown(&out).contains("Project.params"), "{}", shown(&out));
    assert_eq!(
        std::fs::read(out_dir.join("Project.params")).unwrap(),
        b"kept"
    );
    // Made writable, the same command works.
    chmod(0o644);
    let out = project(tmp.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_ne!(dir_snapshot(&dir), before);
}
