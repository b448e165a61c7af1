//! `dtutil assess`'s exit codes tell "a finding reached --fail-on" (1) from "nothing
//! (or not everything) could be assessed": a package that cannot be read is an error
//! finding (DTU900: a CI gate with the default `--fail-on error` fails); a source that
//! does not exist or holds no package is 4; a source that cannot be opened (a failed
//! sign-in, a server that is down) is 5; the command line is 6. With `--sarif`, stdout
//! holds the log or nothing.

mod assess_support;
#[path = "msdb/cli_scenarios.rs"]
#[allow(dead_code)]
mod cli_scenarios;
#[path = "msdb/support.rs"]
mod support;

use assess_support::*;
use cli_scenarios::dtutil as dtutil_sql;
use support::*;

shared_server!(tls, TestServer::start(true, CLI_LOGINS));

fn dtutil(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap()
}

#[test]
fn a_package_that_cannot_be_read_fails_the_default_gate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bad.dtsx"), "garbage <<").unwrap();
    std::fs::write(d.join("empty.dtsx"), "").unwrap();
    let clean = clean_package();
    std::fs::write(d.join("truncated.dtsx"), &clean[..clean.len() / 2]).unwrap();
    std::fs::write(d.join("clean.dtsx"), &clean).unwrap();
    assert_eq!(code(&dtutil(d, &["assess", "clean.dtsx"])), 0);
    for file in ["bad.dtsx", "empty.dtsx", "truncated.dtsx"] {
        let out = dtutil(d, &["assess", "--json", file]);
        assert_eq!(code(&out), 1, "{file}: {out:?}");
        let finding: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(finding["rule"], "DTU900");
        assert_eq!(finding["severity"], "error");
        // Asked never to fail, it reports and exits 0.
        assert_eq!(code(&dtutil(d, &["assess", "--fail-on", "never", file])), 0);
    }
    // Level 3 without its password (a CI job that lost its secret), and with a wrong one.
    std::fs::write(d.join("plain.tmp"), &clean).unwrap();
    let encrypt = dtutil(
        d,
        &[
            "/FILE",
            "plain.tmp",
            "/ENCRYPT",
            "FILE;l3.dtsx;3;Secr3t",
            "/Q",
        ],
    );
    assert_eq!(code(&encrypt), 0, "{encrypt:?}");
    for extra in [&[][..], &["--password", "wrong"][..]] {
        let mut args = vec!["assess"];
        args.extend(extra);
        args.push("l3.dtsx");
        let out = dtutil(d, &args);
        assert_eq!(code(&out), 1, "{extra:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("DTU900"));
    }
    assert_eq!(
        code(&dtutil(d, &["assess", "--password", "Secr3t", "l3.dtsx"])),
        0
    );
}

#[test]
fn nothing_to_assess_is_4_and_sarif_stdout_stays_clean() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("empty")).unwrap();
    for source in ["empty", "empty/*.dtsx", "nope", "nope/*.dtsx"] {
        for format in [&[][..], &["--json"][..], &["--sarif"][..]] {
            let mut args = vec!["assess"];
            args.extend(format);
            args.push(source);
            let out = dtutil(d, &args);
            assert_eq!(code(&out), 4, "{args:?}: {out:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("dtutil: error:"), "{args:?}: {stderr}");
            if format == ["--sarif"] {
                assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
            }
            if format == ["--json"] {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(v["exit_code"], 4);
            }
        }
    }
    let out = dtutil(d, &["assess", "--sarif", "--target", "2018", "empty"]);
    assert_eq!(code(&out), 6);
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn msdb_sources_missing_unreachable_or_refused_are_not_findings() {
    let sql = tls().sql("sa", "Sa-Secret1");
    let folder = format!("Assess{}", std::process::id());
    let created = dtutil_sql(
        &sql,
        None,
        &[
            "/SourceServer",
            &sql.server,
            "/SourceUser",
            "sa",
            "/SourcePassword",
            "env:DTUTIL_TEST_PW",
            "/FC",
            &format!("SQL;\\;{folder}"),
        ],
    );
    assert_eq!(created.code, 0, "{created:?}");
    let assess = |server: &str, password: &str, folder: &str| {
        let source = format!("sql://{server}/{folder}");
        dtutil_sql(
            &sql,
            None,
            &[
                "assess",
                "--sql-user",
                "sa",
                "--sql-password",
                password,
                &source,
            ],
        )
    };
    // The folder exists but holds no package: nothing was assessed.
    let r = assess(&sql.server, "env:DTUTIL_TEST_PW", &folder);
    assert_eq!(r.code, 4, "{r:?}");
    let r = assess(&sql.server, "env:DTUTIL_TEST_PW", "NoSuchFolder");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
    assert!(!r.stderr.contains("--from"), "{r:?}");
    let r = assess(&sql.server, "Wrong-Secret", &folder);
    assert_eq!(r.code, 5, "a failed sign-in is not a finding: {r:?}");
    assert!(!r.stdout.contains("Wrong-Secret") && !r.stderr.contains("Wrong-Secret"));
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let r = assess(
        &format!("127.0.0.1,{closed}"),
        "env:DTUTIL_TEST_PW",
        &folder,
    );
    assert_eq!(r.code, 5, "a server that is down is not a finding: {r:?}");
}
