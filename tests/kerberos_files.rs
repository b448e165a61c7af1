//! Review adversary3 F2 and F9: every file the Kerberos library will open for an
//! integrated sign-in, not only those the variables name directly, is refused at once
//! when it could hold the library's read forever (a FIFO): the cache a `DIR:`
//! collection's `primary` names, a `WRFILE:` client keytab, and the files a
//! configuration names (`include`, `includedir`, `default_ccache_name`,
//! `default_client_keytab_name`).

#![cfg(unix)]

mod common;

use common::{fifo, shown};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `/SQL x /EXISTS` on a port nothing listens on, with only `env` of the Kerberos
/// variables set; killed (and failed) after 20 s.
fn sign_in(dir: &Path, env: &[(&str, String)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dtutil"));
    cmd.current_dir(dir)
        .args(["/SQL", "x", "/SourceServer", "127.0.0.1,1", "/EXISTS"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("KRB5") || k.starts_with("DTUTIL_") || k.starts_with("AZURE_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("{env:?}: still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), shown(&out))
}

#[test]
fn files_the_kerberos_library_finds_itself_are_refused_when_fifos() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let pipe = d.join("ff");
    fifo(&pipe);
    let pipe = pipe.display().to_string();
    std::fs::create_dir(d.join("ccdir")).unwrap();
    fifo(&d.join("ccdir/tkt"));
    std::fs::write(d.join("ccdir/primary"), "tkt\n").unwrap();
    std::fs::create_dir(d.join("incd")).unwrap();
    fifo(&d.join("incd/a.conf"));
    let conf = |name: &str, text: String| {
        std::fs::write(d.join(name), text).unwrap();
        d.join(name).display().to_string()
    };
    let inc = conf(
        "inc.conf",
        format!("include {pipe}\n[libdefaults]\n default_realm = X.TEST\n"),
    );
    let incd = conf("incd.conf", format!("includedir {}/incd\n", d.display()));
    let ccdef = conf(
        "ccdef.conf",
        format!("[libdefaults]\n default_ccache_name = FILE:{pipe}\n"),
    );
    let ktdef = conf(
        "ktdef.conf",
        format!("[libdefaults]\n default_client_keytab_name = FILE:{pipe}\n"),
    );
    let missing = format!("FILE:{}/missing.cc", d.display());
    let dir_cc = format!("DIR:{}/ccdir", d.display());
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("KRB5CCNAME", dir_cc)],
            "KRB5CCNAME (the cache its `primary` file names) names `",
        ),
        (
            vec![
                ("KRB5CCNAME", missing.clone()),
                ("KRB5_CLIENT_KTNAME", format!("WRFILE:{pipe}")),
            ],
            "KRB5_CLIENT_KTNAME names `",
        ),
        (
            vec![("KRB5CCNAME", missing.clone()), ("KRB5_CONFIG", inc)],
            "line 1 (include) names `",
        ),
        (
            vec![("KRB5CCNAME", missing.clone()), ("KRB5_CONFIG", incd)],
            "line 1 (includedir) names `",
        ),
        (
            vec![("KRB5_CONFIG", ccdef)],
            "line 2 (default_ccache_name) names `",
        ),
        (
            vec![("KRB5CCNAME", missing.clone()), ("KRB5_CONFIG", ktdef)],
            "line 2 (default_client_keytab_name) names `",
        ),
    ];
    for (env, says) in cases {
        let started = Instant::now();
        let (code, text) = sign_in(d, &env);
        assert_eq!(code, Some(1), "{env:?}: {text}");
        assert!(
            text.contains(says) && text.contains("not a regular file (it is a FIFO"),
            "{env:?}: {text}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{env:?}");
    }
    // Regular files named the same ways are read as before: no refusal.
    std::fs::write(d.join("plain.conf"), "[libdefaults]\n").unwrap();
    let fine = conf(
        "fine.conf",
        format!(
            "include {}/plain.conf\n[libdefaults]\n default_ccache_name = {missing}\n",
            d.display()
        ),
    );
    let (code, text) = sign_in(d, &[("KRB5_CONFIG", fine)]);
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("not a regular file"), "{text}");
}
