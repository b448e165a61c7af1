//! Review user2 F8 (round-1 F14, F3): what a Windows admin pastes into bash. A cmd
//! variable the shell did not expand (`%f`, `%%f`, `%NAME%`) is named as one, with the
//! bash form; several package paths after `/FILE` are named as an expanded wildcard;
//! and an error is shown once on a terminal (stdout's `Error:` line), not twice.
#![cfg(unix)]

mod common;

use common::{dtutil_clean, shown};
use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn cmd_variables_left_literal_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for path in ["%f", "%%f", "%dtsxFile%"] {
        let out = dtutil_clean(
            dir.path(),
            &[],
            &[
                "/FILE",
                path,
                "/ENCRYPT",
                &format!("file;{path};2;strongpassword"),
            ],
        );
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(4), "{text}");
        assert!(
            text.contains(&format!("`{path}` is a cmd variable that was not expanded")),
            "{text}"
        );
        assert!(text.contains("\"$f\""), "{text}");
    }
    // A real name with a percent sign gets no such hint.
    let out = dtutil_clean(
        dir.path(),
        &[],
        &["/FILE", "100%.dtsx", "/COPY", "FILE;x.dtsx"],
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(!shown(&out).contains("cmd variable"), "{}", shown(&out));
}

#[test]
fn an_expanded_wildcard_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dtutil_clean(
        dir.path(),
        &[],
        &[
            "/FILE",
            "Package 221.dtsx",
            "Package 222.dtsx",
            "/COPY",
            "FILE;x.dtsx",
        ],
    );
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains("the shell expanded a wildcard such as *.dtsx"),
        "{text}"
    );
    assert!(
        text.contains("for f in *.dtsx; do dtutil /FILE \"$f\""),
        "{text}"
    );
}

/// Runs dtutil with stdout and stderr on one pseudo-terminal; returns what it showed.
fn on_a_terminal(args: &[&str]) -> String {
    let (master, slave) = common::open_pty();
    let status = Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(4));
    let mut text = Vec::new();
    // The terminal ends with EIO once every writer is gone.
    let _ = std::fs::File::from(master).read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn an_error_is_shown_once_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.dtsx");
    let text = on_a_terminal(&["/FILE", missing.to_str().unwrap(), "/DELETE"]);
    assert_eq!(
        text.matches("the package does not exist").count(),
        1,
        "{text}"
    );
    assert!(text.contains("Error: file `"), "{text}");
    // Captured apart (a script's log), stderr still has it.
    let out = dtutil_clean(dir.path(), &[], &["/FILE", "nope.dtsx", "/DELETE"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("dtutil: error:"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Error:"));
}

/// Review user3 F3: a half-translated loop (`for f in ...; do dtutil /FILE "$f" /COPY
/// "FILE;out\%~nxf" /Q; done`) wrote every package onto one file named `%~nxf`, exit 0.
/// A cmd variable in any location argument is refused, naming it; nothing is written.
#[test]
fn cmd_variables_in_destinations_and_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let package = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/migration/packages/Finance/Ledger.dtsx");
    std::fs::copy(&package, dir.path().join("a.dtsx")).unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let sql = [
        "/DestServer",
        "127.0.0.1,1",
        "/DestUser",
        "etl",
        "/DestPassword",
        "pw",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["/COPY", "FILE;out\\%~nxf", "/Q"], "`%~nxf`"),
        (vec!["/COPY", "FILE;out/%%~nf.dtsx", "/Q"], "`%%~nf`"),
        (vec!["/MOVE", "FILE;%BACKUP%\\a.dtsx", "/Q"], "`%BACKUP%`"),
        (
            [&["/COPY", "SQL;destFolder\\%~nf", "/Q"][..], &sql[..]].concat(),
            "`%~nf`",
        ),
        (
            vec!["/ENCRYPT", "FILE;out\\%~nf.dtsx;0", "/Q"],
            "not expanded",
        ),
        (vec!["/COPY", "FILE;out\\%f", "--dry-run"], "`%f`"),
    ];
    for (action, named) in cases {
        let args = [&["/FILE", "a.dtsx"][..], &action[..]].concat();
        let out = dtutil_clean(dir.path(), &[], &args);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(6), "{args:?}\n{text}");
        assert!(text.contains(named), "{args:?}\n{text}");
        assert!(text.contains("nothing was done"), "{text}");
        assert!(text.contains("\"$f\""), "{text}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        0
    );
    assert!(dir.path().join("a.dtsx").exists(), "the /MOVE source stays");

    for folder_action in [
        &["/FCreate", "SQL;\\;%~nf"][..],
        &["/FExists", "SQL;Folder\\%~nf"][..],
        &["/FDirectory", "DTS;%PKGDIR%"][..],
    ] {
        let args = [folder_action, &["/SourceServer", "127.0.0.1,1"][..]].concat();
        let out = dtutil_clean(dir.path(), &[], &args);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(6), "{args:?}\n{text}");
        assert!(text.contains("cmd variable"), "{text}");
    }
}

/// Review user3 F3: the source side names the modifier forms too, and `/EXISTS` of a
/// path no package has because of a cmd variable says so instead of answering "missing".
#[test]
fn cmd_variables_in_sources_are_named_for_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let out = dtutil_clean(
        dir.path(),
        &[],
        &["/FILE", "%%~nxf", "/COPY", "FILE;x.dtsx"],
    );
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("`%%~nxf` is a cmd variable"), "{text}");

    let out = dtutil_clean(dir.path(), &[], &["/FILE", "%PKGDIR%\\a.dtsx", "/EXISTS"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(text.contains("holds the cmd variable `%PKGDIR%`"), "{text}");
    assert!(
        !text.contains("The specified package does not exist."),
        "{text}"
    );

    let out = dtutil_clean(dir.path(), &[], &["/FILE", "%~nf.dtsx", "/DELETE"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("`%~nf`"), "{text}");

    // A package that really is missing still gets the plain answer.
    let out = dtutil_clean(dir.path(), &[], &["/FILE", "a.dtsx", "/EXISTS"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!shown(&out).contains("cmd variable"));
}
