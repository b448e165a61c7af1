//! `dtutil batch --from/--to` take paths as Windows scripts write them, as `/FILE` does
//! (issue 11): `\` separates parts, a drive letter maps through `DTUTIL_DRIVE_<LETTER>`
//! to a local folder or an Azure Files share, and an unmapped one is exit 6 naming the
//! variable. Nothing is written under a name holding `\` or a drive letter.

#[path = "azfiles_support/mod.rs"]
mod az;
mod fixture_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn dtutil(dir: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("DTUTIL_STORE_CONFIG")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

fn all(o: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tree(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

/// At level 0: the fixture's own level 5 may not go to a share.
fn sources(dir: &Path) {
    let level0 = fixture_support::level0("CustomerLoad.dtsx");
    std::fs::create_dir_all(dir.join("C/pkgs/ETL")).unwrap();
    std::fs::write(dir.join("C/pkgs/ETL/Load.dtsx"), &level0).unwrap();
    std::fs::write(dir.join("C/pkgs/Top.dtsx"), &level0).unwrap();
}

#[test]
fn drive_letters_and_backslashes_map_as_in_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sources(dir);
    std::fs::create_dir_all(dir.join("Z")).unwrap();
    let env = vec![
        (
            "DTUTIL_DRIVE_C".to_string(),
            dir.join("C").display().to_string(),
        ),
        (
            "DTUTIL_DRIVE_Z".to_string(),
            dir.join("Z").display().to_string(),
        ),
    ];
    let out = dtutil(
        dir,
        &["batch", "--from", r"C:\pkgs", "--to", r"z:\deploy\ssis"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        dir.join("Z/deploy/ssis/ETL/Load.dtsx").is_file(),
        "{}",
        all(&out)
    );
    assert!(dir.join("Z/deploy/ssis/Top.dtsx").is_file());
    // A glob with \ and a drive letter; .\ relative to the working folder.
    let out = dtutil(
        dir,
        &["batch", "--from", r"C:\pkgs\**\L*.dtsx", "--to", r".\out"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(dir.join("out/ETL/Load.dtsx").is_file(), "{}", all(&out));
    assert!(!dir.join("out/Top.dtsx").exists());
    // The plan shows the resolved paths.
    let out = dtutil(
        dir,
        &[
            "batch",
            "--from",
            r"C:\pkgs",
            "--to",
            r"Z:\plan",
            "--dry-run",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains(&dir.join("Z/plan").display().to_string()),
        "{}",
        all(&out)
    );
    // An unmapped drive letter is a command-line error naming the variable.
    let out = dtutil(dir, &["batch", "--from", r"C:\pkgs", "--to", r"Q:\x"], &env);
    assert_eq!(out.status.code(), Some(6), "{}", all(&out));
    assert!(all(&out).contains("DTUTIL_DRIVE_Q"), "{}", all(&out));
    // Nothing anywhere is named with a \ or a drive letter.
    for name in tree(dir) {
        assert!(!name.contains('\\') && !name.contains(':'), "{name}");
    }
}

#[test]
fn a_drive_mapped_to_an_azure_files_share() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sources(dir);
    let server = az::start(&["share"]);
    let mut env = server.env();
    env.push(("DTUTIL_DRIVE_C".into(), dir.join("C").display().to_string()));
    env.push(("DTUTIL_DRIVE_Z".into(), format!(r"\\{}\share", az::HOST)));
    let out = dtutil(
        dir,
        &["batch", "--from", r"C:\pkgs", "--to", r"Z:\ssis"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let out = dtutil(dir, &["/FILE", r"Z:\ssis\ETL\Load.dtsx", "/EXISTS"], &env);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().nth(4),
        Some("The specified package exists."),
        "{}",
        all(&out)
    );
    // And back from the share to a local folder.
    let out = dtutil(dir, &["batch", "--from", r"Z:\ssis", "--to", "back"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(dir.join("back/ETL/Load.dtsx").is_file());
}
