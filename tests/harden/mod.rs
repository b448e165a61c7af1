//! Shared by the hardening tests (`hostile_*.rs`, `crash_*.rs`, `secrets_*.rs`): running
//! the dtutil binary with a time bound and its own peak memory (wait4's rusage of that
//! one child), and snapshots of a folder to prove nothing was written.
//! The measured runs are Unix only (wait4's rusage, SIGKILL): the test files that use
//! them are `#![cfg(unix)]`.
#![allow(dead_code)]

use std::collections::BTreeMap;
#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn dtutil_path() -> &'static str {
    env!("CARGO_BIN_EXE_dtutil")
}

pub fn dtutil() -> Command {
    let mut c = Command::new(dtutil_path());
    c.stdin(Stdio::null());
    c
}

/// One finished run of the binary.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident set of the dtutil process, in KiB (Linux `ru_maxrss`).
    pub max_rss_kib: i64,
    pub elapsed: Duration,
}

impl Run {
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// The environment variable that turns a test binary into a launcher (see [`launcher`]).
#[cfg(unix)]
const LAUNCH: &str = "HARDEN_LAUNCH";

/// Runs dtutil with `args` (and `env` added) to the end, killing it after `limit`.
///
/// `ru_maxrss` counts the memory a child had before exec, and a child forked from a
/// busy test process starts with the parent's pages. So dtutil is started by a fresh
/// copy of this test binary in launcher mode (a few MiB), which spawns it, reaps it with
/// wait4 (the rusage of that one child) and writes the numbers to a file.
/// Every test binary that uses this must have `#[test] fn harden_launcher() { harden::launcher() }`.
#[cfg(unix)]
pub fn run_measured(args: &[String], env: &[(String, String)], limit: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n).display().to_string();
    let spec = serde_json::json!({
        "args": args,
        "stdout": f("stdout"),
        "stderr": f("stderr"),
        "report": f("report"),
        "limit_ms": limit.as_millis() as u64,
    });
    let start = Instant::now();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "harden_launcher",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(LAUNCH, spec.to_string())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the launcher");
    let elapsed = start.elapsed();
    let read =
        |n: &str| String::from_utf8_lossy(&std::fs::read(f(n)).unwrap_or_default()).into_owned();
    let (stdout, stderr) = (read("stdout"), read("stderr"));
    let report = read("report");
    assert!(
        status.success() && !report.is_empty(),
        "the launcher failed ({status}): {report}\nstdout: {stdout}\nstderr: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(
        !v["killed"].as_bool().unwrap(),
        "dtutil {args:?} ran longer than {limit:?} and was killed\nstdout: {stdout}\nstderr: {stderr}"
    );
    Run {
        code: v["code"].as_i64().map(|c| c as i32),
        signal: v["signal"].as_i64().map(|c| c as i32),
        stdout,
        stderr,
        max_rss_kib: v["maxrss"].as_i64().unwrap(),
        elapsed,
    }
}

/// Launcher mode (see [`run_measured`]); a no-op test otherwise.
#[cfg(unix)]
pub fn launcher() {
    let Ok(spec) = std::env::var(LAUNCH) else {
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let path = |k: &str| spec[k].as_str().unwrap().to_string();
    let args: Vec<String> = serde_json::from_value(spec["args"].clone()).unwrap();
    let limit = Duration::from_millis(spec["limit_ms"].as_u64().unwrap());
    let start = Instant::now();
    let child = Command::new(dtutil_path())
        .args(&args)
        .env_remove(LAUNCH)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(path("stdout")).unwrap())
        .stderr(std::fs::File::create(path("stderr")).unwrap())
        .spawn()
        .expect("spawn dtutil");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: a plain C struct, filled by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: waits for our own child, with valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if !killed && start.elapsed() > limit {
            // SAFETY: signals our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Reaped by wait4: std must not wait again (dropping a Child does not).
    drop(child);
    let st = std::process::ExitStatus::from_raw(status);
    let report = serde_json::json!({
        "code": st.code(),
        "signal": st.signal(),
        "maxrss": usage.ru_maxrss,
        "killed": killed,
    });
    std::fs::write(path("report"), report.to_string()).unwrap();
    std::process::exit(0);
}

/// Every file under `dir` (recursively) with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                // Sparse giants are recorded by length only.
                let len = std::fs::metadata(&p).unwrap().len();
                let bytes = if len > 64 << 20 {
                    format!("<{len} bytes>").into_bytes()
                } else {
                    std::fs::read(&p).unwrap()
                };
                all.insert(p, bytes);
            }
        }
    }
    all
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    dtutil::ops::hex_sha256(bytes)
}

/// A small clear package (format 8, level 5 as msdb exports) with one sensitive value.
pub fn clear_package(name: &str, secret: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:DTSID="{{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}}"
  DTS:ExecutableType="Microsoft.Package"
  DTS:ObjectName="{name}"
  DTS:PackageType="5"
  DTS:ProtectionLevel="5">
  <DTS:Property DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:ConnectionManagers><DTS:ConnectionManager DTS:ObjectName="C"><DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString="Data Source=db;User ID=u;">
    <DTS:Password DTS:Name="Password" Sensitive="1">{secret}</DTS:Password>
  </DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager></DTS:ConnectionManagers>
</DTS:Executable>
"#
    )
}

/// Starts an msdb test server on a free loopback port (`config.listen` is set here) on a
/// thread of its own; returns `127.0.0.1,PORT` once it takes connections. A port that
/// another process took meanwhile is given up for a new one.
pub fn start_msdb(mut config: testservers::msdb::Config) -> String {
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        config.listen = format!("127.0.0.1:{port}");
        let run = config.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = rt.block_on(testservers::msdb::run(run));
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return format!("127.0.0.1,{port}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    panic!("cannot start the msdb test server");
}

/// An msdb test server without TLS and one login (`user:password`).
pub fn start_msdb_without_tls(login: &str) -> String {
    start_msdb(testservers::msdb::Config {
        tls: false,
        logins: vec![testservers::msdb::Login::parse(login).unwrap()],
        ..Default::default()
    })
}
