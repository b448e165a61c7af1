//! A file name cannot forge batch log lines (adversary F17): line breaks, carriage
//! returns and tabs in names are escaped in every line of human output (the progress
//! lines, the summary and its "Not done" list), as other control characters are.
#![cfg(unix)]

use std::process::{Command, Stdio};

#[test]
fn newlines_in_names_are_escaped_in_batch_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = dir.join("s2");
    std::fs::create_dir(&src).unwrap();
    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let evil =
        "evil\n[9 of 9] ok       0->0  1 KiB  src-fake.dtsx -> dst-fake.dtsx\nDone- all ok.dtsx";
    std::fs::copy(&sample, src.join(evil)).unwrap();
    // One that fails, for the "Not done" list: not a package.
    std::fs::write(src.join("bad\r\nFORGED.dtsx"), "not a package").unwrap();
    for extra in [&[][..], &["--dry-run"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_dtutil"))
            .current_dir(dir)
            .args(["batch", "--from", "s2", "--to", "d2"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        for line in stdout.lines() {
            assert!(
                !line.starts_with("[9 of 9]")
                    && !line.starts_with("Done- all ok")
                    && !line.starts_with("FORGED"),
                "a forged line: {line:?}\n{stdout}"
            );
        }
        assert!(stdout.contains("evil\\x0a[9 of 9]"), "{stdout}");
        assert!(stdout.contains("bad\\x0d\\x0aFORGED"), "{stdout}");
    }
}
