//! Review adversary3 F8 and user3 F15: a batch report belongs to one run at a time
//! (a second run given it is refused, nothing written), it is owner-only from its
//! creation (its password digests can confirm a guessed password), and a resumed row
//! that was already at the destination adds nothing to "written".

mod common;

use common::{dtutil_clean, shown};
use std::path::Path;

fn sources(dir: &Path) {
    std::fs::create_dir_all(dir.join("src/sub")).unwrap();
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    std::fs::copy(&package, dir.join("src/a.dtsx")).unwrap();
    std::fs::copy(&package, dir.join("src/sub/b.dtsx")).unwrap();
}

fn batch(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["batch"];
    all.extend_from_slice(args);
    let out = dtutil_clean(dir, &[], &all);
    (out.status.code(), shown(&out))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A run that holds the report (here: this test, as a running batch holds it) makes
/// a second run with that report exit 1 at once, naming it, with nothing written; once
/// let go, the report is the run's again.
#[cfg(unix)]
#[test]
fn a_report_in_use_by_another_run_is_refused() {
    use std::os::fd::AsRawFd;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    sources(d);
    let (code, text) = batch(d, &["--from", "src", "--to", "out1", "--report", "r.json"]);
    assert_eq!(code, Some(0), "{text}");
    let before = std::fs::read(d.join("r.json")).unwrap();

    let held = std::fs::File::open(d.join("r.json")).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
    let (code, text) = batch(d, &["--from", "src", "--to", "out2", "--report", "r.json"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("`r.json` is in use by another dtutil batch run"),
        "{text}"
    );
    assert!(!d.join("out2").exists(), "nothing written: {text}");
    assert_eq!(std::fs::read(d.join("r.json")).unwrap(), before);
    drop(held);

    let (code, text) = batch(d, &["--from", "src", "--to", "out2", "--report", "r.json"]);
    assert_eq!(code, Some(0), "{text}");
    let report = std::fs::read_to_string(d.join("r.json")).unwrap();
    assert!(report.contains("out2"), "{report}");
}

/// Two runs at once with one report: exactly one of them runs, and the report is
/// that one's.
#[cfg(unix)]
#[test]
fn of_two_runs_with_one_report_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    sources(d);
    for n in 0..40 {
        std::fs::copy(d.join("src/a.dtsx"), d.join(format!("src/p{n}.dtsx"))).unwrap();
    }
    let spawn = |to: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dtutil"));
        cmd.current_dir(d)
            .args(["batch", "--from", "src", "--to", to, "--report", "rr.json"])
            .args(["--encrypt", "2;pass:Pw-One", "--jobs", "1"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (a, b) = (spawn("oA"), spawn("oB"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = (a.status.code(), b.status.code());
    let report = std::fs::read_to_string(d.join("rr.json")).unwrap();
    match codes {
        (Some(0), Some(1)) => assert!(report.contains("\"to\": \"oA\""), "{report}"),
        (Some(1), Some(0)) => assert!(report.contains("\"to\": \"oB\""), "{report}"),
        // One finished before the other began: both are whole runs, one after the other.
        (Some(0), Some(0)) => {}
        other => panic!(
            "{other:?}: {} / {}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        ),
    }
    let busy = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stderr).contains("in use by another dtutil batch run")
    };
    assert_eq!(busy(&a), codes.0 == Some(1));
    assert_eq!(busy(&b), codes.1 == Some(1));
}

/// F15: the report is 0600 whatever the umask, and an existing wider one becomes 0600.
#[cfg(unix)]
#[test]
fn the_report_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    sources(d);
    let args = [
        "--from",
        "src",
        "--to",
        "out",
        "--encrypt",
        "2;pass:Pw-Two",
        "--report",
        "r.json",
    ];
    let (code, text) = batch(d, &args);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(mode(&d.join("r.json")), 0o600);
    std::fs::set_permissions(d.join("r.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, text) = batch(d, &[&args[..], &["--overwrite"]].concat());
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(mode(&d.join("r.json")), 0o600);
    let report = std::fs::read_to_string(d.join("r.json")).unwrap();
    assert!(
        report.contains("\"password\": \"pbkdf2-sha256$100000$"),
        "{report}"
    );
    assert!(!report.contains("Pw-Two"), "{report}");
}

/// F8, second part: rows a resumed run finds already at the destination (the same
/// folders spelled otherwise, so not the report's rows) were not written by it.
#[test]
fn a_row_already_at_the_destination_adds_nothing_to_written() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    sources(d);
    let (code, text) = batch(
        d,
        &[
            "--from",
            "src",
            "--to",
            "out",
            "--report",
            "r.json",
            "--encrypt",
            "2;pass:PW1",
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    let before = std::fs::read(d.join("out/a.dtsx")).unwrap();
    let (code, text) = batch(
        d,
        &[
            "--from",
            "./src/",
            "--to",
            "./out/",
            "--resume",
            "r.json",
            "--encrypt",
            "2;pass:PW1",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("already at the destination"), "{text}");
    let summary = text
        .lines()
        .find(|l| l.contains("\"summary\""))
        .unwrap_or_else(|| panic!("{text}"));
    let v: serde_json::Value = serde_json::from_str(summary).unwrap();
    assert_eq!(v["summary"]["bytes_written"], 0, "{summary}");
    assert_eq!(v["summary"]["ok"], 2, "{summary}");
    assert_eq!(std::fs::read(d.join("out/a.dtsx")).unwrap(), before);
}
