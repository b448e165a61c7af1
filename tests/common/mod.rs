//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The real SSIS files (SPEC 5), read in place; `None` (and a printed reason) when absent.
pub fn real_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("DTUTIL_REAL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: real SSIS fixtures not found at {} (set DTUTIL_REAL_FIXTURES)",
            dir.display()
        );
        None
    }
}

pub fn real_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.ends_with(".password") && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

pub fn password_of(path: &std::path::Path) -> Option<String> {
    let mut p = path.as_os_str().to_owned();
    p.push(".password");
    std::fs::read_to_string(PathBuf::from(p)).ok()
}

/// The protection level named in a fixture's file name.
pub fn level_in_name(name: &str) -> u32 {
    for (word, level) in [
        ("DontSaveSensitive", 0),
        ("EncryptSensitiveWithUserKey", 1),
        ("EncryptSensitiveWithPassword", 2),
        ("EncryptAllWithPassword", 3),
        ("EncryptAllWithUserKey", 4),
    ] {
        if name.contains(&format!(".{word}.")) {
            return level;
        }
    }
    panic!("no level in fixture name {name}")
}

/// `fmtN` in a fixture's file name.
pub fn format_in_name(name: &str) -> Option<u32> {
    name.split('.')
        .find_map(|part| part.strip_prefix("fmt").and_then(|n| n.parse().ok()))
}

/// Independent of the code under test: walks the XML with quick-xml and returns
/// (number of EncryptedData elements, texts of every sensitive element).
pub fn sensitive_texts(doc: &[u8]) -> (usize, Vec<String>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().trim_text(false);
    let mut encrypted = 0;
    let mut texts = Vec::new();
    // Depth of the sensitive element we are inside, and its text so far.
    let mut inside: Option<(usize, String)> = None;
    let mut depth = 0usize;
    let mut sensitive_param = false;
    let mut stub_depth = None;
    loop {
        match reader.read_event().expect("well-formed") {
            Event::Eof => break,
            Event::Start(e) => {
                depth += 1;
                let name = e.name().as_ref().to_vec();
                if name.ends_with(b"EncryptedData") {
                    encrypted += 1;
                }
                let attr = |k: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k)
                        .map(|a| a.value.to_vec())
                };
                if name == b"DTS:PackageParameter" {
                    sensitive_param = attr(b"DTS:Sensitive").as_deref() == Some(b"True");
                }
                let is_param_value = attr(b"DTS:Name").as_deref() == Some(b"ParameterValue");
                if inside.is_none() {
                    if attr(b"Sensitive").as_deref() == Some(b"1")
                        || (is_param_value && stub_depth.is_some())
                    {
                        inside = Some((depth, String::new()));
                    } else if is_param_value && sensitive_param {
                        stub_depth = Some(depth);
                    }
                }
            }
            Event::Empty(e) if e.name().as_ref().ends_with(b"EncryptedData") => {
                encrypted += 1;
            }
            Event::Text(t) => {
                if let Some((_, s)) = inside.as_mut() {
                    s.push_str(&t.unescape().unwrap());
                }
            }
            Event::End(e) => {
                if inside.as_ref().is_some_and(|(d, _)| *d == depth) {
                    texts.push(inside.take().unwrap().1);
                }
                if stub_depth == Some(depth) {
                    stub_depth = None;
                }
                if e.name().as_ref() == b"DTS:PackageParameter" {
                    sensitive_param = false;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    (encrypted, texts)
}

/// Runs the built `dtutil` in `dir` with no terminal on stdin and none of the caller's
/// `AZURE_*` / `DTUTIL_*` variables (a developer's own settings must not steer a test),
/// then `env`.
pub fn dtutil_clean(
    dir: &std::path::Path,
    env: &[(String, String)],
    args: &[&str],
) -> std::process::Output {
    clean_command(dir, env, args).output().unwrap()
}

fn clean_command(
    dir: &std::path::Path,
    env: &[(String, String)],
    args: &[&str],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dtutil"));
    cmd.current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

/// [`dtutil_clean`], killed after `limit`: a guard against a hang must not hang the
/// suite when it fails.
pub fn dtutil_within(
    dir: &std::path::Path,
    env: &[(String, String)],
    args: &[&str],
    limit: std::time::Duration,
) -> std::process::Output {
    let mut child = clean_command(dir, env, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "dtutil {args:?} still running after {limit:?}: {}",
                shown(&out)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// `env` as the owned pairs [`dtutil_clean`] takes.
pub fn owned(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The three reads of a file named by a variable or option (review adversary2 F15),
/// each run within `limit`: `DTUTIL_STORE_CONFIG` for `/DTS ... /EXISTS`, `batch
/// --store-config`, and `DTUTIL_SQL_CA` for `/SQL ... /EXISTS`, in that order.
pub fn config_file_reads(
    dir: &std::path::Path,
    path: &str,
    limit: std::time::Duration,
) -> [std::process::Output; 3] {
    let store_config = dtutil_within(
        dir,
        &owned(&[("DTUTIL_STORE_CONFIG", path)]),
        &["/DTS", "MSDB\\x", "/EXISTS"],
        limit,
    );
    let batch = dtutil_within(
        dir,
        &[],
        &[
            "batch",
            "--from",
            "dts:MSDB\\x",
            "--store-config",
            path,
            "--to",
            "out",
        ],
        limit,
    );
    let sql_ca = dtutil_within(
        dir,
        &owned(&[("DTUTIL_SQL_CA", path), ("SQL_PW", "x")]),
        &[
            "/SQL",
            "x",
            "/SourceServer",
            "127.0.0.1,1",
            "/SourceUser",
            "etl",
            "/SourcePassword",
            "env:SQL_PW",
            "/EXISTS",
        ],
        limit,
    );
    [store_config, batch, sql_ca]
}

/// An exit code with both output streams, for assertion messages.
pub fn shown(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The real SSDT project `ssisbuild_*` as a folder project in `into` (created if need
/// be): its .dtproj, project parameters, two connection managers and one package, all
/// EncryptSensitiveWithPassword with the password `ssis123`.
pub fn build_password_project(real: &std::path::Path, into: &std::path::Path) {
    std::fs::create_dir_all(into).unwrap();
    for (from, to) in [
        (
            "ssisbuild_SampleSSISProject.EncryptSensitiveWithPassword.dtproj",
            "SampleSSISProject.dtproj",
        ),
        (
            "ssisbuild_Project.EncryptSensitiveWithPassword.params",
            "Project.params",
        ),
        (
            "ssisbuild_FTP_Connection_Manager.EncryptSensitiveWithPassword.conmgr",
            "FTP Connection Manager.conmgr",
        ),
        (
            "ssisbuild_db-01_msdb.EncryptSensitiveWithPassword.conmgr",
            "db-01 msdb.conmgr",
        ),
        (
            "ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx",
            "Package 221.dtsx",
        ),
    ] {
        // Written, not copied: the fixtures are read-only and the copies must not be.
        std::fs::write(into.join(to), std::fs::read(real.join(from)).unwrap()).unwrap();
    }
}

/// Every entry of `dir` (not below it) by name with its bytes, sorted: equal snapshots
/// mean nothing was replaced, added or left behind.
pub fn dir_snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    v.sort();
    v
}

/// A FIFO at `path` (made by `mkfifo`, so on Unix only): a file whose reader waits for
/// a writer that never comes, the hang a guard checks is not there.
pub fn fifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A fresh pseudo-terminal: (controller, terminal) as owned descriptors.
#[cfg(unix)]
pub fn open_pty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut controller, mut terminal) = (0, 0);
    // SAFETY: openpty fills two descriptors it opened; both are owned below.
    let rc = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            // `*mut` on macOS, `*const` on Linux: a null `*mut` fits both.
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: fresh descriptors from openpty, each owned once.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(controller),
            std::os::fd::OwnedFd::from_raw_fd(terminal),
        )
    }
}
