//! Issue 17, the batch rows: `--follow-links` with loops named, unreadable folders as
//! rows of their own, a destination inside the source refused, the report checked
//! before anything is written and read with a bound, a plain copy that checks it is
//! copying a package, names that cannot be carried over (not UTF-8, a leading blank),
//! and `--resume` verifying what an earlier run claims.
#![cfg(unix)]

mod azfiles_support;
mod batch;

use batch::*;
use std::path::Path;

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if dir.exists() {
        for e in walk(dir) {
            out.push(e.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn rows<'a>(report: &'a serde_json::Value, status: &str) -> Vec<&'a serde_json::Value> {
    with_status(report, status, None)
}

fn reason(row: &serde_json::Value) -> &str {
    row["reason"].as_str().unwrap_or("")
}

#[test]
fn follow_links_follows_them_and_names_each_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(src.join("a.dtsx"), clear_package(1, 0)).unwrap();
    std::fs::write(src.join("sub/b.dtsx"), clear_package(2, 0)).unwrap();
    std::fs::write(dir.join("outside/o.dtsx"), clear_package(3, 0)).unwrap();
    std::os::unix::fs::symlink("..", src.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(".", src.join("self")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), src.join("out")).unwrap();
    let fifo = std::ffi::CString::new(src.join("f.dtsx").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);

    for dry_run in [true, false] {
        let started = std::time::Instant::now();
        let mut args = vec![
            "batch",
            "--from",
            "src",
            "--to",
            "dst",
            "--follow-links",
            "--report",
            "r.json",
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let out = dtutil(dir, &args, &[]);
        assert!(started.elapsed().as_secs() < 60, "{}", text(&out));
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        if dry_run {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("link loop"), "{}", text(&out));
            assert!(!dir.join("dst").exists());
            continue;
        }
        assert_eq!(
            files_under(&dir.join("dst")),
            ["a.dtsx", "out/o.dtsx", "sub/b.dtsx"],
            "{}",
            text(&out)
        );
        let report = read_report(&dir.join("r.json"));
        let failed = rows(&report, "failed");
        assert_eq!(failed.len(), 2, "{report}");
        for row in &failed {
            assert!(reason(row).contains("a link loop"), "{row}");
        }
        assert!(failed
            .iter()
            .any(|r| r["source"].as_str().unwrap().ends_with("self")));
        assert!(failed
            .iter()
            .any(|r| r["source"].as_str().unwrap().ends_with("sub/loop")));
        let skipped = with_status(&report, "skipped", Some("not_a_file"));
        assert_eq!(skipped.len(), 1);
        assert!(reason(skipped[0]).contains("FIFO"));
        assert_eq!(rows(&report, "ok").len(), 3);
    }
}

/// Runs dtutil as an unprivileged user when the tests run as root (root reads a
/// folder whatever its mode).
fn dtutil_unprivileged(dir: &Path, args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("DTUTIL_NO_PROGRESS");
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    cmd.output().unwrap()
}

#[test]
fn an_unreadable_folder_is_a_failed_row_and_the_rest_goes_on() {
    if unsafe { libc::geteuid() } == 0 && !executable_by_nobody(Path::new(BIN)) {
        eprintln!("skipped: running as root and the binary is not reachable by nobody");
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("dtutil-unreadable")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("locked")).unwrap();
    std::fs::create_dir_all(src.join("open")).unwrap();
    std::fs::write(src.join("a.dtsx"), clear_package(1, 0)).unwrap();
    std::fs::write(src.join("open/b.dtsx"), clear_package(2, 0)).unwrap();
    std::fs::write(src.join("locked/c.dtsx"), clear_package(3, 0)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for p in [dir, &src, &src.join("open")] {
        mode(p, 0o777);
    }
    mode(&src.join("locked"), 0o000);
    let out = dtutil_unprivileged(
        dir,
        &[
            "batch", "--from", "src", "--to", "dst", "--report", "r.json",
        ],
    );
    mode(&src.join("locked"), 0o755);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        files_under(&dir.join("dst")),
        ["a.dtsx", "open/b.dtsx"],
        "{}",
        text(&out)
    );
    let report = read_report(&dir.join("r.json"));
    let failed = rows(&report, "failed");
    assert_eq!(failed.len(), 1, "{report}");
    assert!(failed[0]["source"].as_str().unwrap().ends_with("locked"));
    assert!(reason(failed[0]).contains("cannot read"), "{report}");
    assert!(reason(failed[0]).contains("ermission denied"), "{report}");
}

/// The binary's folders must be enterable by `nobody` for the unprivileged run.
fn executable_by_nobody(bin: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    bin.ancestors()
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

#[test]
fn a_destination_inside_the_source_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), 6, 0);
    for to in [
        "src/out",
        "src/Sales/../new/out",
        "./src/Sales",
        &format!("{}/src/x", dir.display()),
    ] {
        for extra in [&[][..], &["--dry-run"][..]] {
            let mut args = vec!["batch", "--from", "src", "--to", to];
            args.extend(extra);
            let out = dtutil(dir, &args, &[]);
            assert_eq!(out.status.code(), Some(6), "{to}: {}", text(&out));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("is inside --from") && err.contains("outside the source"),
                "{to}: {err}"
            );
        }
    }
    // A glob's fixed folder is its source root.
    let out = dtutil(
        dir,
        &["batch", "--from", "src/**/*.dtsx", "--to", "src/Sales/x"],
        &[],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert_eq!(
        files_under(&dir.join("src")).len(),
        6,
        "nothing was written"
    );
    // Beside the source is fine.
    let out = dtutil(dir, &["batch", "--from", "src", "--to", "src-out"], &[]);
    assert_ne!(out.status.code(), Some(6), "{}", text(&out));
    assert!(dir.join("src-out").is_dir());
}

#[test]
fn the_report_is_checked_before_any_package_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), 4, 0);
    std::fs::write(dir.join("plain"), "a file").unwrap();
    std::fs::create_dir(dir.join("folder")).unwrap();
    for (report, says) in [
        ("folder", "a directory"),
        ("/dev/null", "a character device"),
        ("plain/r.json", "cannot write the report"),
    ] {
        let out = dtutil(
            dir,
            &["batch", "--from", "src", "--to", "dst", "--report", report],
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{report}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(says) && err.contains("nothing was copied"),
            "{report}: {err}"
        );
        assert!(!dir.join("dst").exists(), "{report}: nothing written");
    }
}

#[test]
fn a_resume_report_is_read_with_a_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), 2, 0);
    let huge = std::fs::File::create(dir.join("r.json")).unwrap();
    huge.set_len(300 << 20).unwrap();
    let started = std::time::Instant::now();
    let out = dtutil(
        dir,
        &[
            "batch", "--from", "src", "--to", "dst", "--resume", "r.json",
        ],
        &[],
    );
    assert!(started.elapsed().as_secs() < 10);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("over the 256 MiB"), "{err}");
    assert!(!dir.join("dst").exists());
    let fifo = std::ffi::CString::new(dir.join("fifo.json").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let out = dtutil(
        dir,
        &[
            "batch",
            "--from",
            "src",
            "--to",
            "dst",
            "--resume",
            "fifo.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
}

#[test]
fn a_plain_copy_copies_only_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("good.dtsx"), clear_package(1, 0)).unwrap();
    std::fs::write(
        src.join("shadow.dtsx"),
        "root:$6$secret:19000:0:99999:7:::\n",
    )
    .unwrap();
    std::fs::write(src.join("other.dtsx"), "<?xml version=\"1.0\"?><html/>").unwrap();
    let out = dtutil(
        dir,
        &[
            "batch", "--from", "src", "--to", "dst", "--report", "r.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(files_under(&dir.join("dst")), ["good.dtsx"]);
    let report = read_report(&dir.join("r.json"));
    let failed = rows(&report, "failed");
    assert_eq!(failed.len(), 2);
    for row in failed {
        assert!(reason(row).contains("not an SSIS package"), "{row}");
        assert!(!reason(row).contains("secret"), "{row}");
    }
}

#[test]
fn names_that_cannot_be_carried_over_are_refused_per_row() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = dir.join("src");
    let bad_folder = src.join(std::ffi::OsStr::from_bytes(b"f\xff"));
    std::fs::create_dir_all(&bad_folder).unwrap();
    std::fs::write(src.join("good.dtsx"), clear_package(1, 0)).unwrap();
    std::fs::write(
        src.join(std::ffi::OsStr::from_bytes(b"caf\xe9.dtsx")),
        clear_package(2, 0),
    )
    .unwrap();
    std::fs::write(bad_folder.join("in.dtsx"), clear_package(3, 0)).unwrap();
    std::fs::write(src.join(" lead.dtsx"), clear_package(4, 0)).unwrap();
    let out = dtutil(
        dir,
        &[
            "batch", "--from", "src", "--to", "dst", "--report", "r.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Nothing under a lossy (U+FFFD) name, no folder for the skipped names.
    assert_eq!(
        files_under(&dir.join("dst")),
        ["good.dtsx"],
        "{}",
        text(&out)
    );
    let report = read_report(&dir.join("r.json"));
    let skipped = with_status(&report, "skipped", Some("not_a_file"));
    assert_eq!(skipped.len(), 3, "{report}");
    assert_eq!(
        skipped
            .iter()
            .filter(|r| reason(r).contains("not valid UTF-8"))
            .count(),
        2
    );
    assert!(skipped
        .iter()
        .any(|r| reason(r).contains("begins with a blank")));
}

fn run_batch(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "batch",
        "--from",
        "src",
        "--to",
        "dst",
        "--allow-lost-sensitive",
        "--decrypt",
        OLD_PW,
    ];
    args.extend(extra);
    dtutil(dir, &args, &[])
}

#[test]
fn resume_verifies_what_the_report_claims() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n = 8;
    generate_tree(&dir.join("src"), n, 0);
    for encrypt in [None, Some("2;N3w-pw")] {
        let _ = std::fs::remove_dir_all(dir.join("dst"));
        let mut extra = vec!["--report", "r.json"];
        if let Some(e) = encrypt {
            extra.extend(["--encrypt", e]);
        }
        let out = run_batch(dir, &extra);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let mut resume = extra.clone();
        resume[0] = "--resume";

        // All there: every row is done earlier, verified.
        let out = run_batch(dir, &resume);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let r = read_report(&dir.join("r.json"));
        assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), n);

        // The destination emptied: everything is redone, not trusted.
        std::fs::remove_dir_all(dir.join("dst")).unwrap();
        let out = run_batch(dir, &resume);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(files_under(&dir.join("dst")).len(), n);
        let r = read_report(&dir.join("r.json"));
        let ok = rows(&r, "ok");
        assert_eq!(ok.len(), n, "{r}");
        assert!(ok.iter().all(|row| reason(row).contains("is gone")), "{r}");

        // One destination changed since: not done, not overwritten.
        let one = dir.join("dst").join(&files_under(&dir.join("dst"))[0]);
        std::fs::write(&one, clear_package(99, 0)).unwrap();
        let out = run_batch(dir, &resume);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let r = read_report(&dir.join("r.json"));
        let failed = rows(&r, "failed");
        assert_eq!(failed.len(), 1, "{r}");
        assert!(reason(failed[0]).contains("changed since"), "{r}");
        assert_eq!(
            std::fs::read(&one).unwrap(),
            clear_package(99, 0).as_bytes()
        );
        std::fs::remove_file(&one).unwrap();
        let out = run_batch(dir, &resume);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));

        // Killed after a write, before the report saved it: the destination is this
        // run's result (re-encrypted with a new IV and salt, too), so it is done.
        let mut r = read_report(&dir.join("r.json"));
        r["packages"].as_array_mut().unwrap().truncate(n - 3);
        std::fs::write(dir.join("r.json"), r.to_string()).unwrap();
        let mut plan = resume.clone();
        plan.push("--dry-run");
        let out = run_batch(dir, &plan);
        assert_eq!(out.status.code(), Some(0), "{encrypt:?}: {}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .matches("identical to this run's result")
                .count(),
            3,
            "{}",
            text(&out)
        );
        let out = run_batch(dir, &resume);
        assert_eq!(out.status.code(), Some(0), "{encrypt:?}: {}", text(&out));
        let r = read_report(&dir.join("r.json"));
        let identical: Vec<_> = rows(&r, "ok")
            .into_iter()
            .filter(|row| reason(row).contains("identical to this run's result"))
            .collect();
        assert_eq!(identical.len(), 3, "{r}");
    }
}
