//! Issue 4's acceptance, through the dtutil binary, on azfiles-testserver: the guide's
//! loop as a Linux user types it (environment credentials only), /Decrypt read-back,
//! a 20 MiB package byte for byte, a retried 503, and a failure that outlasts the
//! retries (exit 1, the reason, nothing under the final name).

mod azfiles_support;
mod fixture_support;

use azfiles_support::*;
use dtutil::package::ProtectionLevel;
use dtutil::package::{self, Options, Target};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source")
}

/// Runs dtutil with the server's credentials in the environment (and nothing else
/// Azure-related from the test's own environment).
fn dtutil(server: &Server, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(server.env()).envs(extra.iter().copied());
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The package with its sensitive values in the clear (level 5 keeps them so).
fn clear(bytes: &[u8], password: Option<&str>) -> Vec<u8> {
    at_level(bytes, password, ProtectionLevel::ServerStorage)
}

fn at_level(bytes: &[u8], password: Option<&str>, level: ProtectionLevel) -> Vec<u8> {
    package::rewrite(
        bytes,
        &Options {
            decrypt_password: password,
            target: Target::Level {
                level,
                password: None,
            },
            algorithm: None,
            regenerate_id: false,
            allow_lost_values: false,
        },
    )
    .unwrap()
    .bytes
}

#[test]
fn the_guides_loop_with_environment_credentials_and_decrypt_read_back() {
    let server = start(&["share"]);
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "dtsx") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
            names.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    assert!(names.len() >= 2);
    // Exactly as typed at a bash prompt, with `dtutil` on the PATH.
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = r#"for f in *.dtsx; do dtutil /FILE "$f" /ENCRYPT "FILE;\\\\ACCOUNT.file.core.windows.net\\share\\pkgs\\$f;2;env:PW" || exit 1; done"#
        .replace("ACCOUNT", ACCOUNT);
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("PW", "Pa55-w0rd;x")
        .envs(server.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("The operation completed successfully.")
            .count(),
        names.len()
    );

    for name in &names {
        let remote = unc("share", &format!("pkgs/{name}"));
        let exists = dtutil(&server, dir.path(), &["/FILE", &remote, "/EXISTS"], &[]);
        assert_eq!(exists.status.code(), Some(0), "{}", text(&exists));
        assert!(String::from_utf8_lossy(&exists.stdout).contains("The specified package exists."));

        // Read back with /Decrypt: re-protected locally under another password.
        let back = format!("back-{name}");
        let out = dtutil(
            &server,
            dir.path(),
            &[
                "/FILE",
                &remote,
                "/Decrypt",
                "env:PW",
                "/ENCRYPT",
                &format!("FILE;{back};2;env:PW2"),
            ],
            &[("PW", "Pa55-w0rd;x"), ("PW2", "other")],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let original = std::fs::read(dir.path().join(name)).unwrap();
        let returned = std::fs::read(dir.path().join(&back)).unwrap();
        assert_eq!(
            clear(&returned, Some("other")),
            clear(&original, None),
            "{name}: the package read back differs"
        );

        // The wrong password cannot load it: exit 5.
        let wrong = dtutil(
            &server,
            dir.path(),
            &[
                "/FILE",
                &remote,
                "/Decrypt",
                "nope",
                "/ENCRYPT",
                "FILE;never.dtsx;0",
            ],
            &[],
        );
        assert_eq!(wrong.status.code(), Some(5), "{}", text(&wrong));
    }
    assert!(!dir.path().join("never.dtsx").exists());

    // Without credentials: exit 1, and the message names the variables.
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["/FILE", &unc("share", "pkgs/x.dtsx"), "/EXISTS"])
        .env_remove("AZURE_STORAGE_KEY")
        .env_remove("AZURE_STORAGE_ACCOUNT")
        .env_remove("AZURE_STORAGE_SAS_TOKEN")
        .env_remove("AZURE_STORAGE_CONNECTION_STRING")
        .env("DTUTIL_AZURE_FILES_ENDPOINT", server.endpoint())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AZURE_STORAGE_KEY"),
        "{}",
        text(&out)
    );
}

/// A well-formed level 0 package of about `size` bytes (a large annotation-like comment).
fn big_package(size: usize) -> Vec<u8> {
    let base = fixture_support::level0("CustomerLoad.dtsx");
    let filler = payload(size, 7)
        .into_iter()
        .map(|b| b"abcdefghijklmnopqrstuvwxyz0123456789 \n"[b as usize % 38])
        .collect::<Vec<u8>>();
    let mut out = base;
    out.extend_from_slice(b"<!-- ");
    out.extend_from_slice(&filler);
    out.extend_from_slice(b" -->\n");
    out
}

#[test]
fn twenty_mib_round_trip_with_a_retried_503() {
    let server = start(&["share"]);
    let dir = tempfile::tempdir().unwrap();
    let data = big_package(20 * MIB);
    std::fs::write(dir.path().join("big.dtsx"), &data).unwrap();
    let remote = unc("share", "pkgs/big.dtsx");
    server.add_fault(r#"{"op":"PutRange","nth":3,"status":503}"#);
    let t = std::time::Instant::now();
    let up = dtutil(
        &server,
        dir.path(),
        &["/FILE", "big.dtsx", "/COPY", &format!("FILE;{remote}")],
        &[],
    );
    let up_time = t.elapsed();
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    assert_eq!(server.faults()[0]["fired"], 1, "the 503 was injected");
    let t = std::time::Instant::now();
    let down = dtutil(
        &server,
        dir.path(),
        &["/FILE", &remote, "/COPY", "FILE;back.dtsx"],
        &[],
    );
    let down_time = t.elapsed();
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    let back = std::fs::read(dir.path().join("back.dtsx")).unwrap();
    assert!(back == data, "20 MiB differ after the round trip");
    println!(
        "dtutil 20 MiB: upload {:.3} s, download {:.3} s (process start included)",
        up_time.as_secs_f64(),
        down_time.as_secs_f64()
    );
}

#[test]
fn a_failure_that_outlasts_the_retries_exits_1_with_the_reason() {
    let server = start(&["share"]);
    let dir = tempfile::tempdir().unwrap();
    let data = big_package(6 * MIB);
    std::fs::write(dir.path().join("p.dtsx"), &data).unwrap();
    let remote = unc("share", "pkgs/p.dtsx");
    server.add_fault(r#"{"op":"PutRange","nth":2,"always":true,"status":503}"#);
    let out = dtutil(
        &server,
        dir.path(),
        &["/FILE", "p.dtsx", "/COPY", &format!("FILE;{remote}"), "/Q"],
        &[("DTUTIL_AZURE_RETRIES", "2")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("503 ServerBusy"), "{err}");
    assert!(err.contains("after 3 attempts"), "{err}");
    assert!(
        err.contains("nothing was written under the final name"),
        "{err}"
    );
    server.clear_faults();
    let exists = dtutil(&server, dir.path(), &["/FILE", &remote, "/EXISTS"], &[]);
    assert_eq!(exists.status.code(), Some(1), "{}", text(&exists));
    assert!(
        String::from_utf8_lossy(&exists.stdout).contains("The specified package does not exist.")
    );
    // No temporary file either.
    let store = dtutil::store::azfiles::open_with(&remote, &|k| {
        server
            .env()
            .into_iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v)
    })
    .unwrap();
    use dtutil::store::Store;
    assert!(store.folder_list(&unc("share", "pkgs")).unwrap().is_empty());
}

#[test]
fn move_delete_and_overwrite_prompt_on_a_share() {
    let server = start(&["share"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("l.dtsx"),
        fixture_support::level0("Legacy2008.dtsx"),
    )
    .unwrap();
    let a = unc("share", "a/l.dtsx");
    let b = format!("https://{HOST}/share/b/l.dtsx");
    let run = |args: &[&str]| dtutil(&server, dir.path(), args, &[]);
    assert_eq!(
        run(&["/FILE", "l.dtsx", "/COPY", &format!("FILE;{a}")])
            .status
            .code(),
        Some(0)
    );
    // Exists already, no terminal, no /Q: exit 1 naming /Q.
    let again = run(&["/FILE", "l.dtsx", "/COPY", &format!("FILE;{a}")]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let moved = run(&["/FILE", &a, "/MOVE", &format!("FILE;{b}")]);
    assert_eq!(moved.status.code(), Some(0), "{}", text(&moved));
    assert_eq!(run(&["/FILE", &a, "/EXISTS"]).status.code(), Some(1));
    assert_eq!(run(&["/FILE", &b, "/EXISTS"]).status.code(), Some(0));
    assert_eq!(run(&["/FILE", &b, "/DELETE"]).status.code(), Some(0));
    let missing = run(&["/FILE", &b, "/DELETE"]);
    assert_eq!(missing.status.code(), Some(4), "{}", text(&missing));
    let missing = run(&["/FILE", &b, "/COPY", "FILE;x.dtsx"]);
    assert_eq!(missing.status.code(), Some(4), "{}", text(&missing));
}
