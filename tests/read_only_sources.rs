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
