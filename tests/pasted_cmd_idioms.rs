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
