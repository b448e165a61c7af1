//! An unquoted password with a blank arrives as two arguments; the subcommands never
//! echo the second (adversary F3), as dtutil's own switches do not: clap's "unexpected
//! argument" and a "no such file" for it are replaced by its position.

use std::process::{Command, Stdio};

const FRAGMENT: &str = "Zq9SecretXy";

fn dtutil(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_word_after_a_password_is_never_echoed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
        dir.join("p2.dtsx"),
    )
    .unwrap();
    let lines: [&[&str]; 8] = [
        &[
            "batch",
            "--from",
            ".",
            "--to",
            "x",
            "--decrypt",
            "my",
            FRAGMENT,
        ],
        &[
            "batch",
            "--from",
            ".",
            "--to",
            "x",
            "--source-password",
            "my",
            FRAGMENT,
        ],
        &[
            "batch",
            "--from",
            ".",
            "--to",
            "x",
            "--decrypt=my",
            FRAGMENT,
        ],
        &[
            "project",
            "p2.dtsx",
            "--decrypt",
            "my",
            FRAGMENT,
            "--encrypt",
            "0",
        ],
        &["assess", "--password", "my", FRAGMENT],
        &["assess", "--sql-password", "my", FRAGMENT, "p2.dtsx"],
        &["inspect", "--password", "my", FRAGMENT, "--json"],
        &["inspect", "--password", "my", FRAGMENT],
    ];
    for args in lines {
        let (code, all) = dtutil(dir, args);
        assert!(!all.contains(FRAGMENT), "{args:?} echoed it: {all}");
        assert_eq!(code, Some(6), "{args:?}: {all}");
        assert!(all.contains("not shown"), "{args:?}: {all}");
    }
    // A file that exists is read; a missing one elsewhere on the line is named.
    let (code, all) = dtutil(dir, &["inspect", "--password", "pw", "p2.dtsx"]);
    assert_eq!(code, Some(0), "{all}");
    let (code, all) = dtutil(dir, &["inspect", "missing.dtsx", "--password", "pw"]);
    assert_eq!(code, Some(4), "{all}");
    assert!(all.contains("missing.dtsx"), "{all}");
}

/// Adversary2 F1: a second half that looks like a path, a package or an option is a
/// password too; only what exists (or is a location or an option) is taken as such.
#[test]
fn the_word_after_a_password_is_hidden_whatever_it_looks_like() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
        dir.join("p2.dtsx"),
    )
    .unwrap();
    std::fs::create_dir(dir.join("pkgs")).unwrap();
    std::fs::copy(dir.join("p2.dtsx"), dir.join("pkgs/p3.dtsx")).unwrap();
    for fragment in [
        "Zq9/SecretXy",
        "Zq9SecretXy.dtsx",
        "--Zq9SecretXy",
        "-Zq9SecretXy",
    ] {
        let lines: [&[&str]; 9] = [
            &[
                "batch",
                "--from",
                ".",
                "--to",
                "x",
                "--decrypt",
                "my",
                fragment,
            ],
            &[
                "batch",
                "--from",
                ".",
                "--to",
                "x",
                "--decrypt=my",
                fragment,
            ],
            &[
                "batch",
                "--from",
                ".",
                "--to",
                "x",
                "--decrypt",
                "my",
                fragment,
                "--dry-run",
            ],
            &[
                "project",
                "p2.dtsx",
                "--decrypt",
                "my",
                fragment,
                "--encrypt",
                "0",
            ],
            &["assess", "--password", "my", fragment],
            &["assess", "--password", "my", fragment, "p2.dtsx"],
            &["inspect", "--json", "--password", "my", fragment],
            &["inspect", "--password", "my", fragment, "p2.dtsx"],
            &["ir", "run", "--package-password", "my", fragment],
        ];
        for args in lines {
            let (code, all) = dtutil(dir, args);
            assert!(!all.contains("Zq9"), "{args:?} echoed it: {all}");
            assert_ne!(code, Some(0), "{args:?}: {all}");
        }
    }
    // What exists, a glob over a folder that exists and a location are read as such.
    for args in [
        &["assess", "--password", "pw", "pkgs", "--fail-on", "never"][..],
        &["assess", "--password", "pw", "*.dtsx", "--fail-on", "never"],
        &["inspect", "--password", "pw", "p2.dtsx"],
    ] {
        let (code, all) = dtutil(dir, args);
        assert!(!all.contains("not shown"), "{args:?}: {all}");
        assert_eq!(code, Some(0), "{args:?}: {all}");
    }
    let (_, all) = dtutil(
        dir,
        &["assess", "--sql-password", "pw", "sql://nohost.invalid/F"],
    );
    assert!(!all.contains("not shown"), "{all}");
}
