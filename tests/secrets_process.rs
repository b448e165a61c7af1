//! Issue 17's secret rows: what the process itself exposes (core dumps, argv in
//! `/proc/PID/cmdline`), values that may be passwords never echoed, SAS tokens redacted
//! wherever a URL is printed, and one warning line for each insecure opt-in.

mod harden;

use harden::{clear_package, dtutil};
use std::path::Path;
use std::process::Output;

const PW: &str = "Sup3rS3cretZZ";
const SIG: &str = "S1GSECRETvalue%3D";

fn sas_url(path: &str) -> String {
    format!("https://acct.file.core.windows.net/{path}?sv=2022-11-02&ss=f&srt=sco&sp=rwdlc&se=2030-01-01T00:00:00Z&spr=https&sig={SIG}")
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    dtutil()
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .env("DTUTIL_AZURE_RETRIES", "0")
        .env("DTUTIL_AZURE_TIMEOUT", "2")
        .output()
        .unwrap()
}

fn all(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_sas(o: &Output, what: &str) {
    let text = all(o);
    for field in [SIG, "sig=", "sp=rwdlc", "se=2030", "sv=2022"] {
        assert!(!text.contains(field), "{what}: `{field}` shown:\n{text}");
    }
}

fn world() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/p.dtsx"),
        clear_package("P", "value-in-package"),
    )
    .unwrap();
    dir
}

#[test]
fn a_password_typed_where_the_level_goes_is_never_echoed() {
    let dir = world();
    let d = dir.path();
    for args in [
        vec!["batch", "--from", "src", "--to", "out", "--encrypt", PW],
        vec![
            "batch",
            "--from",
            "src",
            "--to",
            "out",
            "--encrypt",
            PW,
            "--dry-run",
        ],
        vec!["project", "--encrypt", PW, "src"],
    ] {
        let o = run(d, &args, &[]);
        assert_eq!(o.status.code(), Some(6), "{args:?}: {}", all(&o));
        assert!(
            !all(&o).contains(PW),
            "{args:?} echoed the password:\n{}",
            all(&o)
        );
        assert!(all(&o).contains("LEVEL;PASSWORD"), "{}", all(&o));
    }
    assert!(!d.join("out").exists());
}

#[test]
fn sas_tokens_are_redacted_wherever_a_url_is_printed() {
    let dir = world();
    let d = dir.path();
    let dotdot = sas_url("share/../x.dtsx");
    let file = sas_url("share/x.dtsx");
    let folder = sas_url("share/dir");
    let write_to = format!("FILE;{file}");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "dry-run plan",
            vec!["/FILE", &file, "/COPY", "FILE;x.dtsx", "--dry-run"],
        ),
        ("`..` error", vec!["/FILE", &dotdot, "/COPY", "FILE;x.dtsx"]),
        (
            "batch `..` error",
            vec!["batch", "--from", "src", "--to", &dotdot],
        ),
        ("inspect", vec!["inspect", &file]),
        ("inspect json", vec!["inspect", "--json", &file]),
        (
            "write error",
            vec!["/FILE", "src/p.dtsx", "/COPY", &write_to],
        ),
        (
            "batch dry-run",
            vec!["batch", "--from", "src", "--to", &folder, "--dry-run"],
        ),
        (
            "batch json",
            vec!["batch", "--from", "src", "--to", &folder, "--json"],
        ),
    ];
    // The endpoint does not answer: every URL ends up in an error message.
    let env = [("DTUTIL_AZURE_FILES_ENDPOINT", "https://127.0.0.1:9")];
    for (what, args) in cases {
        let o = run(d, &args, &env);
        assert_no_sas(&o, what);
    }
}

#[test]
fn each_insecure_opt_in_warns_once_on_stderr() {
    let dir = world();
    let d = dir.path();
    // Certificate not verified: warned when the connection is set up (the server here
    // does not even answer).
    let o = run(
        d,
        &[
            "/SQL",
            "p",
            "/SourceServer",
            "127.0.0.1,9",
            "/SourceUser",
            "sa",
            "/SourcePassword",
            "x",
            "/EXISTS",
        ],
        &[
            ("DTUTIL_SQL_TRUST_SERVER_CERTIFICATE", "true"),
            ("DTUTIL_SQL_CONNECT_TIMEOUT", "2"),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("warning: DTUTIL_SQL_TRUST_SERVER_CERTIFICATE")
            .count(),
        1,
        "{}",
        all(&o)
    );
    // A SAS to a non-loopback host over plain http (TEST-NET-1: nothing answers).
    let o = run(
        d,
        &[
            "/FILE",
            "https://acct.file.core.windows.net/share/x.dtsx",
            "/EXISTS",
        ],
        &[
            ("DTUTIL_AZURE_FILES_ENDPOINT", "http://192.0.2.1:9/acct"),
            (
                "AZURE_STORAGE_SAS_TOKEN",
                &format!("sv=2022-11-02&sig={SIG}"),
            ),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("over plain http").count(), 1, "{}", all(&o));
    assert_no_sas(&o, "http SAS");
}

/// Core dumps off, and a literal password gone from `/proc/PID/cmdline` once parsed.
/// The process is held by a password file that is a FIFO nobody writes yet.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn no_core_dumps_and_literal_passwords_wiped_from_argv() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let dir = world();
    let d = dir.path();
    let fifo = d.join("pw.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut child = dtutil()
        .current_dir(d)
        .args([
            "/FILE",
            "src/p.dtsx",
            "/Decrypt",
            &format!("file:{}", fifo.display()),
            "/ENCRYPT",
            &format!("FILE;out.dtsx;2;{PW}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc_dir = format!("/proc/{}", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let cmdline = loop {
        let raw = std::fs::read(format!("{proc_dir}/cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&raw).replace('\0', " ");
        if text.contains("FILE;out.dtsx;2;*") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let limits = std::fs::read_to_string(format!("{proc_dir}/limits")).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !cmdline.contains(PW),
        "password still in cmdline: {cmdline}"
    );
    assert!(
        cmdline.contains("FILE;out.dtsx;2;*************"),
        "{cmdline}"
    );
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(),
        ["0", "0"],
        "{core}"
    );
}

#[test]
fn encrypt_off_against_a_server_without_tls_warns_that_the_login_went_in_clear() {
    let dir = world();
    let server = harden::start_msdb_without_tls("sa:login-pw");
    let sql = |env: &[(&str, &str)]| {
        run(
            dir.path(),
            &[
                "/SQL",
                "p",
                "/SourceServer",
                &server,
                "/SourceUser",
                "sa",
                "/SourcePassword",
                "login-pw",
                "/EXISTS",
            ],
            env,
        )
    };
    let o = sql(&[("DTUTIL_SQL_ENCRYPT", "off")]);
    // Connected and asked: the package is not there (exit 1).
    assert!(all(&o).contains("does not exist"), "{}", all(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("DTUTIL_SQL_ENCRYPT=off").count(),
        1,
        "{}",
        all(&o)
    );
    assert!(!all(&o).contains("login-pw"));
}
