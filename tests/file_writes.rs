//! How the FILE store writes (issue 11, issue 17 row 1): new files follow the umask,
//! an overwrite keeps mode and owner, /MOVE keeps the source's mode, a destination that
//! exists is never replaced without /Q (also by a racing second run), a symlink is
//! written through, and read-only files, FIFOs and devices are refused.
#![cfg(unix)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn dtutil_with_umask(umask: u32, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dtutil"));
    cmd.args(args).stdin(Stdio::null());
    // SAFETY: umask is async-signal-safe; it only sets the child's file creation mask.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    cmd.output().unwrap()
}

fn dtutil(args: &[&str]) -> Output {
    dtutil_with_umask(0o022, args)
}

fn sample(dir: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let dst = dir.join(name);
    std::fs::copy(src, &dst).unwrap();
    dst
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout_line4(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(4)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn new_files_take_the_sources_bits_less_the_umask_overwrites_keep_mode_and_owner_move_keeps_mode() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample(dir.path(), "p.dtsx");
    std::fs::set_permissions(&src, PermissionsExt::from_mode(0o644)).unwrap();

    let new = dir.path().join("new.dtsx");
    let out = dtutil_with_umask(
        0o022,
        &["/FILE", s(&src), "/COPY", &format!("FILE;{}", s(&new))],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(mode(&new), 0o644, "umask 022 gives 0644");

    let enc = dir.path().join("enc.dtsx");
    let out = dtutil_with_umask(
        0o002,
        &[
            "/FILE",
            s(&src),
            "/ENCRYPT",
            &format!("FILE;{};2;pw", s(&enc)),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        mode(&enc),
        0o644,
        "a new file takes its source's bits less the umask, as cp makes a copy (0644 & !002)"
    );

    std::fs::set_permissions(&new, PermissionsExt::from_mode(0o664)).unwrap();
    let owner = std::fs::metadata(&new).unwrap().uid();
    let out = dtutil_with_umask(
        0o077,
        &[
            "/FILE",
            s(&src),
            "/COPY",
            &format!("FILE;{}", s(&new)),
            "/Q",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(mode(&new), 0o664, "an overwrite keeps the file's mode");
    assert_eq!(
        std::fs::metadata(&new).unwrap().uid(),
        owner,
        "and its owner"
    );
    let out = dtutil_with_umask(
        0o077,
        &["/FILE", s(&src), "/ENCRYPT", &format!("FILE;{};0", s(&new))],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(mode(&new), 0o664);

    let moved = dir.path().join("moved.dtsx");
    let out = dtutil_with_umask(
        0o077,
        &["/FILE", s(&src), "/MOVE", &format!("FILE;{}", s(&moved))],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!src.exists());
    assert_eq!(mode(&moved), 0o644, "/MOVE keeps the source's mode");
}

#[test]
fn racing_copies_to_one_new_destination_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample(dir.path(), "p.dtsx");
    let bin = env!("CARGO_BIN_EXE_dtutil");
    for trial in 0..50 {
        let dest = dir.path().join(format!("race{trial}.dtsx"));
        let arg = format!("FILE;{}", s(&dest));
        let spawn = || {
            Command::new(bin)
                .args(["/FILE", s(&src), "/COPY", &arg])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let codes = [a.status.code(), b.status.code()];
        let wins = codes.iter().filter(|c| **c == Some(0)).count();
        assert_eq!(
            wins, 1,
            "trial {trial}: exactly one copy wins, got {codes:?}"
        );
        let loser = if a.status.success() { &b } else { &a };
        assert_eq!(loser.status.code(), Some(1));
        assert!(stdout_line4(loser).contains("exists"), "{loser:?}");
        let temps = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(temps, 0, "no temporary file left behind");
    }
}

#[test]
fn a_symlink_destination_is_written_through_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample(dir.path(), "p.dtsx");
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let target = real_dir.join("t.dtsx");
    std::fs::write(&target, "old").unwrap();
    std::fs::set_permissions(&target, PermissionsExt::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.dtsx");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let out = dtutil(&[
        "/FILE",
        s(&src),
        "/COPY",
        &format!("FILE;{}", s(&link)),
        "/Q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(&src).unwrap()
    );
    assert_eq!(mode(&target), 0o640);
    assert_eq!(
        std::fs::read_dir(&real_dir).unwrap().count(),
        1,
        "no temp left"
    );

    // Without /Q the link's target exists: refused, nothing written.
    std::fs::write(&target, "old").unwrap();
    let out = dtutil(&["/FILE", s(&src), "/COPY", &format!("FILE;{}", s(&link))]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
}

#[test]
fn a_read_only_destination_is_refused_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample(dir.path(), "p.dtsx");
    let ro = dir.path().join("ro.dtsx");
    std::fs::write(&ro, "old").unwrap();
    std::fs::set_permissions(&ro, PermissionsExt::from_mode(0o444)).unwrap();
    let out = dtutil(&["/FILE", s(&src), "/ENCRYPT", &format!("FILE;{};0", s(&ro))]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout_line4(&out).contains("read-only"), "{out:?}");
    assert_eq!(std::fs::read(&ro).unwrap(), b"old");
    let out = dtutil(&[
        "/FILE",
        s(&src),
        "/ENCRYPT",
        &format!("FILE;{};0", s(&ro)),
        "/Q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_ne!(std::fs::read(&ro).unwrap(), b"old");
    assert_eq!(mode(&ro), 0o444);
}

#[test]
fn fifos_and_devices_are_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let src = sample(dir.path(), "p.dtsx");
    let fifo = dir.path().join("f.dtsx");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    for (dest, kind) in [(s(&fifo), "FIFO"), ("/dev/null", "character device")] {
        for extra in [None, Some("/Q")] {
            let dest_arg = format!("FILE;{dest}");
            let mut args = vec!["/FILE", s(&src), "/COPY", dest_arg.as_str()];
            args.extend(extra);
            let out = dtutil(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
            assert!(stdout_line4(&out).contains(kind), "{out:?}");
        }
    }
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo_like());
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device_like());
}

trait KindLike {
    fn is_fifo_like(&self) -> bool;
    fn is_char_device_like(&self) -> bool;
}
impl KindLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
    fn is_char_device_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_char_device(self)
    }
}

#[test]
fn a_folder_as_file_gets_one_answer_from_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("d.dtsx");
    std::fs::create_dir(&folder).unwrap();
    let copy_to = format!("FILE;{}", s(&dir.path().join("x.dtsx")));
    let enc_to = format!("FILE;{};0", s(&dir.path().join("y.dtsx")));
    for action in [
        vec!["/EXISTS"],
        vec!["/DELETE"],
        vec!["/I"],
        vec!["/COPY", copy_to.as_str()],
        vec!["/MOVE", copy_to.as_str()],
        vec!["/ENCRYPT", enc_to.as_str()],
    ] {
        let mut args = vec!["/FILE", s(&folder)];
        args.extend(action.iter().copied());
        let out = dtutil(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stdout_line4(&out).contains("is a folder, not a package file"),
            "{args:?}: {out:?}"
        );
    }
    assert!(folder.is_dir());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Adversary2 F16: the temporary file a 0600 package is written into is never readable
/// by others, not even while it is being written (a reader that opens it then keeps
/// reading), nor when a crash leaves it behind. Watched on a 40 MB byte copy.
#[test]
fn a_private_file_is_never_written_into_a_readable_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("secret.dtsx");
    let mut content = std::fs::read(sample(dir.path(), "p.dtsx")).unwrap();
    content.extend(std::iter::repeat_n(b' ', 40 << 20));
    std::fs::write(&big, &content).unwrap();
    std::fs::set_permissions(&big, PermissionsExt::from_mode(0o600)).unwrap();
    let existing = dir.path().join("existing.dtsx");
    std::fs::write(&existing, b"old").unwrap();
    std::fs::set_permissions(&existing, PermissionsExt::from_mode(0o600)).unwrap();

    let watch = |dir: PathBuf, stop: std::sync::Arc<std::sync::atomic::AtomicBool>| {
        std::thread::spawn(move || {
            let (mut seen, mut open_to_others) = (0, std::collections::BTreeSet::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for e in std::fs::read_dir(&dir).unwrap().flatten() {
                    if e.file_name().to_string_lossy().starts_with(".dtutil-") {
                        if let Ok(m) = e.metadata() {
                            seen += 1;
                            if m.permissions().mode() & 0o077 != 0 {
                                open_to_others.insert(m.permissions().mode() & 0o7777);
                            }
                        }
                    }
                }
            }
            (seen, open_to_others)
        })
    };
    let move_to = dir.path().join("moved.dtsx");
    let copy_args = [
        "/FILE",
        s(&big),
        "/COPY",
        &format!("FILE;{}", s(&existing)),
        "/Q",
    ];
    let move_args = ["/FILE", s(&big), "/MOVE", &format!("FILE;{}", s(&move_to))];
    for args in [&copy_args[..], &move_args[..]] {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = watch(dir.path().to_path_buf(), stop.clone());
        let out = dtutil(args);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (seen, open_to_others) = watcher.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(seen > 0, "{args:?}: the temporary file was never seen");
        assert!(
            open_to_others.is_empty(),
            "{args:?}: the temporary file was open to others: {open_to_others:?}"
        );
    }
    assert_eq!(mode(&existing), 0o600);
    assert_eq!(mode(&move_to), 0o600);
}
