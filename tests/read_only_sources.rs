//! Review user2 F2: a write-protected package (a read-only file, or a file in a
//! read-only folder) is not deleted by `/DELETE` or moved away by `/MOVE` without `/Q`,
//! as a read-only destination is not replaced without it (and as Windows dtutil, whose
//! delete of a read-only file fails). Refused before anything is written, exit 1 naming
//! `/Q`; with `/Q` it is done and said in a note.
#![cfg(unix)]

mod common;

use common::{dtutil_clean, shown};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn package() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/migration/packages/Finance/Ledger.dtsx"),
    )
    .unwrap()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_read_only_package_is_not_deleted_or_moved_without_q() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ro = dir.join("ro");
    std::fs::create_dir(&ro).unwrap();
    let r = ro.join("r.dtsx");
    std::fs::write(&r, package()).unwrap();
    chmod(&r, 0o444);

    let del = dtutil_clean(dir, &[], &["/FILE", "ro/r.dtsx", "/DELETE"]);
    let text = shown(&del);
    assert_eq!(del.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the file is read-only, and /DELETE would delete it; nothing done. Add /Q"),
        "{text}"
    );
    assert!(r.exists());

    let mv = dtutil_clean(
        dir,
        &[],
        &["/FILE", "ro/r.dtsx", "/MOVE", "FILE;moved.dtsx"],
    );
    let text = shown(&mv);
    assert_eq!(mv.status.code(), Some(1), "{text}");
    assert!(
        text.contains("/MOVE would delete it; nothing done. Add /Q"),
        "{text}"
    );
    assert!(r.exists());
    assert!(
        !dir.join("moved.dtsx").exists(),
        "refused before anything is written"
    );

    // /COPY only reads it.
    let cp = dtutil_clean(
        dir,
        &[],
        &["/FILE", "ro/r.dtsx", "/COPY", "FILE;copied.dtsx"],
    );
    assert_eq!(cp.status.code(), Some(0), "{}", shown(&cp));

    let mv = dtutil_clean(
        dir,
        &[],
        &["/FILE", "ro/r.dtsx", "/MOVE", "FILE;moved.dtsx", "/Q"],
    );
    let text = shown(&mv);
    assert_eq!(mv.status.code(), Some(0), "{text}");
    assert!(
        text.contains("dtutil: note: file `ro/r.dtsx`: the file is read-only; /Q deleted it"),
        "{text}"
    );
    assert!(!r.exists() && dir.join("moved.dtsx").exists());

    std::fs::write(&r, package()).unwrap();
    chmod(&r, 0o444);
    let del = dtutil_clean(dir, &[], &["/FILE", "ro/r.dtsx", "/DELETE", "/Q"]);
    let text = shown(&del);
    assert_eq!(del.status.code(), Some(0), "{text}");
    assert!(text.contains("/Q deleted it"), "{text}");
    assert!(!r.exists());
}

/// A writable file in a folder nobody may write to (as root, the delete would go
/// through: the tool keeps to the mark as Windows keeps to a read-only file's).
#[test]
fn a_package_in_a_read_only_folder_is_not_deleted_or_moved_without_q() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ro = dir.join("drop");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("p.dtsx"), package()).unwrap();
    chmod(&ro, 0o555);
    for args in [
        vec!["/FILE", "drop/p.dtsx", "/DELETE"],
        vec!["/FILE", "drop/p.dtsx", "/MOVE", "FILE;moved.dtsx"],
    ] {
        let out = dtutil_clean(dir, &[], &args);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{text}");
        assert!(text.contains("its folder `drop` is read-only"), "{text}");
        assert!(ro.join("p.dtsx").exists());
        assert!(!dir.join("moved.dtsx").exists());
    }
    chmod(&ro, 0o755);
}

/// Adversary3 F10: a folder whose mode allows the delete, on a file system mounted
/// read-only, or a folder marked immutable: the delete after the copy would fail (the
/// package in both places), and /Q cannot make it go through. Refused before anything
/// is written, with /Q too.
#[cfg(target_os = "linux")] // its callers need Linux mounts and chattr
fn assert_refused_whole(out: &std::process::Output, dir: &Path, why: &str, args: &[&str]) {
    let text = shown(out);
    assert_eq!(out.status.code(), Some(1), "{args:?}\n{text}");
    assert!(
        text.contains(why) && text.contains("could not delete it; nothing done"),
        "{args:?}\n{text}"
    );
    assert!(
        !dir.join("moved.dtsx").exists(),
        "{args:?}: nothing written"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_package_on_a_read_only_file_system_is_not_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("p.dtsx"), package()).unwrap();
    // A tmpfs remounted read-only in a mount namespace of its own (in a user namespace
    // of its own too, so no privilege is needed); 77: the sandbox could not be made.
    let setup = r#"mkdir ro && mount -t tmpfs -o size=1m tmpfs ro && cp p.dtsx ro/p.dtsx && mount -o remount,ro ro || exit 77; exec "$@""#;
    for args in [
        &["/FILE", "ro/p.dtsx", "/MOVE", "FILE;moved.dtsx"][..],
        &["/FILE", "ro/p.dtsx", "/MOVE", "FILE;moved.dtsx", "/Q"],
        &["/FILE", "ro/p.dtsx", "/DELETE", "/Q"],
    ] {
        let _ = std::fs::remove_dir(dir.join("ro"));
        let mut cmd = std::process::Command::new("unshare");
        cmd.current_dir(dir)
            .args(["-rm", "sh", "-c", setup, "sh", env!("CARGO_BIN_EXE_dtutil")])
            .args(args)
            .stdin(std::process::Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
                cmd.env_remove(k);
            }
        }
        let out = match cmd.output() {
            Ok(out) if out.status.code() != Some(77) => out,
            other => {
                eprintln!("skipped: no user and mount namespace here ({other:?})");
                return;
            }
        };
        assert_refused_whole(&out, dir, "it is on a read-only file system", args);
    }
}

/// `chattr +i` on the folder (root only, on a file system with the attribute).
#[cfg(target_os = "linux")]
#[test]
fn a_package_in_an_immutable_folder_is_not_moved() {
    struct Mutable<'a>(&'a Path);
    impl Drop for Mutable<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let frozen = dir.join("frozen");
    std::fs::create_dir(&frozen).unwrap();
    std::fs::write(frozen.join("p.dtsx"), package()).unwrap();
    let made = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&frozen)
        .output();
    if !made.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: chattr +i is not allowed here ({made:?})");
        return;
    }
    let _undo = Mutable(&frozen);
    for args in [
        &["/FILE", "frozen/p.dtsx", "/MOVE", "FILE;moved.dtsx"][..],
        &["/FILE", "frozen/p.dtsx", "/MOVE", "FILE;moved.dtsx", "/Q"],
        &["/FILE", "frozen/p.dtsx", "/DELETE", "/Q"],
    ] {
        let out = dtutil_clean(dir, &[], args);
        assert_refused_whole(&out, dir, "its folder `frozen` is immutable", args);
        assert!(frozen.join("p.dtsx").exists());
    }
}
