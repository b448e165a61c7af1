//! Every file dtutil writes (packages, batch reports, project files) follows one set of
//! destination rules (`store::destination`): a symlink is written through to its
//! target and stays a symlink; a path into /proc (`/dev/stdout`, `/dev/fd/1`, a link to
//! `/proc/self/fd/1`) is refused, never renamed over; a link another user planted in a
//! shared sticky folder is not followed (the kernel's fs.protected_symlinks rule), nor
//! another user's file there replaced (fs.protected_regular).
#![cfg(unix)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

fn sample(dir: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let dst = dir.join(name);
    std::fs::copy(src, &dst).unwrap();
    dst
}

/// Runs dtutil in `dir` with stdout going to `dir/log.txt` (as `> log.txt` does).
fn run_logged(dir: &Path, args: &[&str]) -> (Output, String) {
    let log = dir.join("log.txt");
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .output()
        .unwrap();
    let stdout = std::fs::read_to_string(&log).unwrap_or_default();
    (out, stdout)
}

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

#[test]
fn a_report_through_a_symlink_lands_in_its_target() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("src")).unwrap();
    sample(&dir.join("src"), "a.dtsx");
    std::fs::create_dir(dir.join("reports")).unwrap();
    std::os::unix::fs::symlink("reports/real.json", dir.join("link.json")).unwrap();
    let (out, log) = run_logged(
        dir,
        &[
            "batch",
            "--from",
            "src",
            "--to",
            "dst",
            "--report",
            "link.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(is_link(&dir.join("link.json")), "the link was replaced");
    let report = std::fs::read_to_string(dir.join("reports/real.json")).unwrap();
    assert!(report.contains("\"version\""), "{report}");
}

#[test]
fn a_path_into_proc_is_never_renamed_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("src")).unwrap();
    let pkg = sample(&dir.join("src"), "a.dtsx");
    // A link of our own standing for /dev/stdout (renaming over the real one as root
    // would break the machine's /dev/stdout if this test ever failed).
    std::os::unix::fs::symlink("/proc/self/fd/1", dir.join("stdout.json")).unwrap();
    for report in ["stdout.json", "/dev/fd/1"] {
        let (out, log) = run_logged(
            dir,
            &["batch", "--from", "src", "--to", "dst", "--report", report],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{report}: {log}{err}");
        assert!(
            err.contains("/proc") && err.contains("nothing was copied"),
            "{report}: {err}"
        );
        assert!(!dir.join("dst").exists(), "{report}: a package was copied");
    }
    assert!(is_link(&dir.join("stdout.json")), "the link was replaced");

    let dest = format!("FILE;{}", dir.join("stdout.json").display());
    let (out, log) = run_logged(dir, &["/FILE", pkg.to_str().unwrap(), "/COPY", &dest, "/Q"]);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("/proc"), "{log}");
    assert!(is_link(&dir.join("stdout.json")), "the link was replaced");
    assert!(
        !log.contains("<DTS:Executable"),
        "the package went into the log"
    );
}

/// As root: a link owned by `nobody` in a root-owned sticky world-writable folder (the
/// /tmp situation) is not followed by /ENCRYPT, /COPY /Q or `batch --report`; the
/// caller's own link there is.
#[test]
fn a_link_another_user_planted_in_a_sticky_folder_is_not_followed() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to plant a link owned by another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "VICTIM ORIGINAL").unwrap();
    let planted = shared.join("out.dtsx");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    std::os::unix::fs::lchown(&planted, Some(65534), Some(65534)).unwrap();
    std::fs::create_dir(dir.join("src")).unwrap();
    let pkg = sample(&dir.join("src"), "a.dtsx");
    let p = pkg.to_str().unwrap();
    let to = |suffix: &str| format!("FILE;{}{suffix}", planted.display());
    let runs: [Vec<String>; 3] = [
        vec!["/FILE".into(), p.into(), "/ENCRYPT".into(), to(";0")],
        vec![
            "/FILE".into(),
            p.into(),
            "/COPY".into(),
            to(""),
            "/Q".into(),
        ],
        vec![
            "batch".into(),
            "--from".into(),
            "src".into(),
            "--to".into(),
            "dst".into(),
            "--report".into(),
            planted.display().to_string(),
        ],
    ];
    for args in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, log) = run_logged(dir, &args);
        let all = format!("{log}{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(
            all.contains("owned by another user") && all.contains("protected_symlinks"),
            "{args:?}: {all}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "VICTIM ORIGINAL");
        assert!(is_link(&planted));
    }
    assert!(!dir.join("dst").exists());

    // The caller's own link in the same folder is written through.
    let mine = shared.join("mine.dtsx");
    let target = dir.join("target.dtsx");
    std::os::unix::fs::symlink(&target, &mine).unwrap();
    let dest = format!("FILE;{}", mine.display());
    let (out, log) = run_logged(dir, &["/FILE", p, "/COPY", &dest, "/Q"]);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(is_link(&mine));
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(&pkg).unwrap()
    );
    assert_eq!(std::fs::symlink_metadata(&mine).unwrap().uid(), 0);
}

/// Adversary2 F17, as root: a file `nobody` planted (mode 0666) in a root-owned sticky
/// world-writable folder is not replaced by /ENCRYPT or /COPY /Q (its owner would keep
/// root's new package, writable by anyone: the kernel's fs.protected_regular rule);
/// the caller's own file there is.
#[test]
fn a_file_another_user_planted_in_a_sticky_folder_is_not_replaced() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to plant a file owned by another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = shared.join("preown.dtsx");
    std::fs::write(&planted, "x\n").unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    let pkg = sample(dir, "a.dtsx");
    let p = pkg.to_str().unwrap();
    let to = |suffix: &str| format!("FILE;{}{suffix}", planted.display());
    for args in [
        vec!["/FILE", p, "/ENCRYPT", &to(";0")],
        vec!["/FILE", p, "/COPY", &to(""), "/Q"],
    ] {
        let (out, log) = run_logged(dir, &args);
        let all = format!("{log}{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(
            all.contains("another user") && all.contains("protected_regular"),
            "{args:?}: {all}"
        );
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "x\n");
    }
    let mine = shared.join("mine.dtsx");
    std::fs::write(&mine, "old").unwrap();
    let dest = format!("FILE;{}", mine.display());
    let (out, log) = run_logged(dir, &["/FILE", p, "/COPY", &dest, "/Q"]);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(std::fs::read(&mine).unwrap(), std::fs::read(&pkg).unwrap());
}

/// As root, dtutil run as `nobody` (in a second group) overwrites a root-owned file of
/// that group: the group and mode are kept; the owner becomes `nobody`, as only root
/// may give a file away (documented in docs/reliability.md).
#[test]
fn an_overwrite_by_another_user_keeps_group_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run dtutil as another user");
        return;
    }
    const GROUP: u32 = 4242;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let pkg = sample(dir, "a.dtsx");
    std::fs::set_permissions(&pkg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let shared = dir.join("shared.dtsx");
    std::fs::write(&shared, "old").unwrap();
    std::os::unix::fs::chown(&shared, Some(0), Some(GROUP)).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o664)).unwrap();
    let dest = format!("FILE;{}", shared.display());
    let mut cmd = Command::new(BIN);
    cmd.args(["/FILE", pkg.to_str().unwrap(), "/COPY", &dest, "/Q"])
        .stdin(Stdio::null());
    // SAFETY: setgroups/setgid/setuid are async-signal-safe; they only drop the
    // child's privileges before exec.
    unsafe {
        cmd.pre_exec(|| {
            let groups = [65534 as libc::gid_t, GROUP as libc::gid_t];
            if libc::setgroups(2, groups.as_ptr()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Permission denied") {
        eprintln!("skipped: the binary is not reachable by nobody");
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::metadata(&shared).unwrap();
    assert_eq!(meta.gid(), GROUP, "the group was not kept");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o664);
    assert_eq!(meta.uid(), 65534);
    assert_eq!(
        std::fs::read(&shared).unwrap(),
        std::fs::read(&pkg).unwrap()
    );
}
