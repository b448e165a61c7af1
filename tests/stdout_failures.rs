//! Review user2 F11: a stdout that fails. A reader that went away (`dtutil /? | head
//! -1`, `| grep -q`) ends the output quietly with the command's own exit code, never a
//! panic (exit 101); any other failure (`> /dev/full`: a full disk) is said on stderr
//! and exits 1, never exit 0 with the result lines unwritten.
#![cfg(unix)]

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

fn package() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/migration/packages/Finance/Ledger.dtsx")
}

/// Runs dtutil with stdout a pipe whose reading end is closed before it starts: every
/// write fails with EPIPE, whatever the timing.
fn with_closed_pipe(args: &[&str]) -> Output {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let ledger = package();
    let ledger = ledger.to_str().unwrap();
    for args in [
        vec!["/?"],
        vec!["/H"],
        vec!["--help"],
        vec!["--version"],
        vec!["batch", "--help"],
        vec!["inspect", "--help"],
        vec!["ir", "--help"],
        vec!["/FILE", ledger, "/EXISTS"],
        vec!["inspect", ledger],
    ] {
        let out = with_closed_pipe(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("standard output"), "{args:?}: {stderr}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_stdout_is_an_error() {
    let ledger = package();
    let ledger = ledger.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy.dtsx");
    let dest = format!("FILE;{}", copy.display());
    for args in [
        vec!["/?"],
        vec!["--version"],
        vec!["/FILE", ledger, "/EXISTS"],
        vec!["/FILE", ledger, "/COPY", &dest],
        vec!["batch", "--help"],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr.contains(
                "dtutil: error: cannot write to standard output: No space left on device"
            ),
            "{args:?}: {stderr}"
        );
    }
    // The copy itself was made: only its result line is missing, and said so.
    assert!(copy.exists());
}

/// Errors, warnings and notes said on a stderr that cannot take them (`2> log` on a full
/// disk) leave the exit code as it would be: no panic's 101.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_stderr_keeps_the_exit_code() {
    let ledger = package();
    let ledger = ledger.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.dtsx");
    let missing = missing.to_str().unwrap();
    let dest = format!("FILE;{}", tmp.path().join("copy.dtsx").display());
    for args in [
        vec!["/FILE", missing, "/COPY", &dest],
        vec!["/FILE", ledger, "/NOSUCHSWITCH"],
        vec!["/FILE", ledger, "/ENCRYPT", "FILE;x.dtsx;9"],
        vec!["assess", missing],
    ] {
        let said = |stderr: Stdio| {
            Command::new(BIN)
                .args(&args)
                .current_dir(tmp.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .status()
                .unwrap()
                .code()
        };
        let expected = said(Stdio::null());
        assert_ne!(expected, Some(0), "{args:?} is meant to fail");
        let full = said(std::fs::File::create("/dev/full").unwrap().into());
        assert_eq!(full, expected, "{args:?}");
    }
}
