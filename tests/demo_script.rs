//! Review user2 F3: `make demo`'s `show()` leaves out dtutil's three banner lines and
//! the blank line after them, as its comment and docs/migration.md say; its pattern
//! follows the banner's text (tests run `show` itself from demo.sh).
#![cfg(unix)]

use std::path::Path;
use std::process::Command;

#[test]
fn demo_show_leaves_out_the_banner() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = std::fs::read_to_string(root.join("demo.sh")).unwrap();
    let start = demo.find("\nshow() {").expect("demo.sh defines show()") + 1;
    let end = start + demo[start..].find("\n}\n").expect("show() ends") + 3;
    let show = &demo[start..end];
    let package = root.join("fixtures/migration/packages/Finance/Ledger.dtsx");
    let script =
        format!("{show}\ndtutil() {{ \"$BIN\" \"$@\"; }}\nshow dtutil /FILE \"$PKG\" /EXISTS\n");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("BIN", env!("CARGO_BIN_EXE_dtutil"))
        .env("PKG", &package)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for line in dtutil::ops::output::banner_lines() {
        assert!(
            !stdout.contains(&line),
            "banner line shown: {line}\n{stdout}"
        );
    }
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("$ dtutil /FILE"), "{stdout}");
    assert_eq!(lines[1], "The specified package exists.");
}
