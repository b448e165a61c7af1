//! Review user3 F6: `inspect` and `dtutil project` count sensitive values the same way
//! for every kind of file. A .dtproj's PasswordVerifier is not a value; blank values (as
//! level 0 leaves them) are counted in .params and .conmgr files as in packages; and
//! `project` gives a package's count as it gives a project file's.

mod common;

use common::{dtutil_clean, shown};
use std::path::Path;

const FILES: [(&str, &str); 5] = [
    (
        "ssisbuild_SampleSSISProject.EncryptSensitiveWithPassword.dtproj",
        "SampleSSISProject.dtproj",
    ),
    (
        "ssisbuild_Project.EncryptSensitiveWithPassword.params",
        "Project.params",
    ),
    (
        "ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx",
        "Package 221.dtsx",
    ),
    (
        "ssisbuild_FTP_Connection_Manager.EncryptSensitiveWithPassword.conmgr",
        "FTP Connection Manager.conmgr",
    ),
    (
        "ssisbuild_db-01_msdb.EncryptSensitiveWithPassword.conmgr",
        "db-01 msdb.conmgr",
    ),
];

/// `project`'s count for `file` (its line: `<file>: ..., N sensitive value(s)`).
fn project_count(text: &str, file: &str) -> Option<usize> {
    let line = text.lines().find(|l| l.starts_with(&format!("{file}: ")))?;
    let before = line.split(" sensitive value").next()?;
    before.rsplit(", ").next()?.parse().ok()
}

/// `inspect`'s counts: (blank, in the clear, password-encrypted, user-key).
fn inspect_counts(dir: &Path, file: &str, password: Option<&str>) -> [usize; 4] {
    let mut args = vec!["inspect"];
    if let Some(p) = password {
        args.extend(["--password", p]);
    }
    args.push(file);
    let out = dtutil_clean(dir, &[], &args);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("sensitive values: "))
        .unwrap_or_else(|| panic!("{file}: no count\n{text}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|n| panic!("{line}: {n:?}"))
}

#[test]
fn inspect_and_project_count_the_same_values() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("proj")).unwrap();
    for (from, to) in FILES {
        std::fs::copy(real.join(from), dir.join("proj").join(to)).unwrap();
    }
    let check = dtutil_clean(dir, &[], &["project", "proj", "--decrypt", "ssis123"]);
    let text = shown(&check);
    assert_eq!(check.status.code(), Some(0), "{text}");
    for (_, file) in FILES {
        let project = project_count(&text, file).unwrap_or_else(|| panic!("{file}\n{text}"));
        let path = format!("proj/{file}");
        let counts = inspect_counts(dir, &path, Some("ssis123"));
        assert_eq!(
            counts.iter().sum::<usize>(),
            project,
            "{file}: {counts:?}\n{text}"
        );
    }

    // Level 0 leaves every value blank: counted as blank in every kind of file.
    let out = dtutil_clean(
        dir,
        &[],
        &[
            "project",
            "proj",
            "--decrypt",
            "ssis123",
            "--encrypt",
            "0",
            "--out",
            "pout",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    for (_, file) in &FILES[1..] {
        let project = project_count(&text, file).unwrap();
        let [blank, clear, encrypted, user_key] =
            inspect_counts(dir, &format!("pout/{file}"), None);
        assert_eq!(
            (blank, clear, encrypted, user_key),
            (project, 0, 0, 0),
            "{file}"
        );
        assert!(blank > 0, "{file}");
    }
}
