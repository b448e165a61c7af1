//! Issue 16: what a newcomer meets in the first hour. Each message that pointed the
//! wrong way, asserted with its corrected text, and the flags the docs promise.

mod azfiles_support;
mod batch;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/source")
        .join(name)
}

fn dtutil(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("DTUTIL_STORE_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("XDG_DATA_HOME", dir.join("no-data"))
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn batch_takes_store_config_as_the_package_store_docs_say() {
    let dir = tempfile::tempdir().unwrap();
    let packages = dir.path().join("Packages/ETL");
    std::fs::create_dir_all(&packages).unwrap();
    std::fs::copy(fixture("Legacy2008.dtsx"), packages.join("Legacy2008.dtsx")).unwrap();
    std::fs::write(
        dir.path().join("store.xml"),
        r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <TopLevelFolders>
    <Folder xsi:type="FileSystemFolder"><Name>File System</Name><StorePath>Packages</StorePath></Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#,
    )
    .unwrap();
    let out = dtutil(
        dir.path(),
        &[
            "batch",
            "--from",
            "dts:File System\\ETL",
            "--to",
            "out",
            "--store-config",
            "store.xml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(
        std::fs::read(dir.path().join("out/Legacy2008.dtsx")).unwrap(),
        std::fs::read(fixture("Legacy2008.dtsx")).unwrap()
    );
}

/// A level 2 copy of a bundled sample, protected with `PW`.
fn level2(dir: &Path, name: &str, extra: &[&str]) -> String {
    let file = format!("FILE;{name};2;env:PW");
    let source = fixture("CustomerLoad.dtsx");
    let mut args = vec!["/FILE", source.to_str().unwrap(), "/ENCRYPT", &file];
    args.extend_from_slice(extra);
    let out = dtutil(dir, &args, &[("PW", "right-pw")]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    name.to_string()
}

#[test]
fn id_regenerate_on_a_password_package_asks_for_decrypt_not_encrypt() {
    let dir = tempfile::tempdir().unwrap();
    let p = level2(dir.path(), "l2.dtsx", &[]);
    let out = dtutil(dir.path(), &["/FILE", &p, "/I"], &[]);
    assert_eq!(out.status.code(), Some(5), "{}", all(&out));
    let text = all(&out);
    assert!(text.contains("give it with /Decrypt"), "{text}");
    assert!(!text.contains("/ENCRYPT"), "{text}");
}

#[test]
fn inspect_names_its_own_password_option_and_checks_level_2_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let l2 = level2(dir.path(), "l2.dtsx", &[]);
    let l3 = dir.path().join("l3.dtsx");
    let out = dtutil(
        dir.path(),
        &[
            "/FILE",
            &l2,
            "/Decrypt",
            "env:PW",
            "/ENCRYPT",
            &format!("FILE;{};3;env:PW", l3.display()),
        ],
        &[("PW", "right-pw")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    for p in [l2.as_str(), "l3.dtsx"] {
        let out = dtutil(
            dir.path(),
            &["inspect", "--password", "env:PW", p],
            &[("PW", "wrong")],
        );
        assert_eq!(out.status.code(), Some(5), "{p}: {}", all(&out));
        let text = all(&out);
        assert!(text.contains("the --password is wrong"), "{p}: {text}");
        assert!(!text.contains("/Decrypt"), "{p}: {text}");
        let right = dtutil(
            dir.path(),
            &["inspect", "--password", "env:PW", p],
            &[("PW", "right-pw")],
        );
        assert_eq!(right.status.code(), Some(0), "{p}: {}", all(&right));
    }
}

#[test]
fn inspect_says_what_an_ispac_and_an_azure_path_are() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.ispac"),
        b"PK\x03\x04\x14\x00\x00\x00rest",
    )
    .unwrap();
    let out = dtutil(dir.path(), &["inspect", "p.ispac"], &[]);
    assert_eq!(out.status.code(), Some(5), "{}", all(&out));
    let text = all(&out);
    assert!(text.contains("zip archive (an .ispac)"), "{text}");
    assert!(!text.contains("UTF-8"), "{text}");

    let azure = r"\\acct.file.core.windows.net\share\p.dtsx";
    let out = dtutil(dir.path(), &["inspect", azure], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let text = all(&out);
    assert!(text.contains("inspect reads local files only"), "{text}");
    assert!(!text.contains("no such file"), "{text}");
}

#[test]
fn inspect_target_version_exits_1_when_that_runtime_cannot_load_it() {
    let dir = tempfile::tempdir().unwrap();
    let aes = level2(dir.path(), "aes.dtsx", &["--algorithm", "aes256"]);
    let out = dtutil(
        dir.path(),
        &["inspect", "--target-version", "2012", &aes],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("CANNOT load it"), "{}", all(&out));
    let out = dtutil(
        dir.path(),
        &["inspect", "--target-version", "2019", &aes],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
}

/// Review user F25: a side without a server or a login fails on its Kerberos ticket
/// before any connection; the message still says that `(local)` is the default.
#[cfg(unix)]
#[test]
fn a_failed_integrated_sign_in_on_the_default_server_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = format!("FILE:{}", dir.path().join("no-such.cc").display());
    let env = [
        ("KRB5CCNAME", cache.as_str()),
        ("DTUTIL_SQL_CONNECT_TIMEOUT", "2"),
    ];
    let out = dtutil(dir.path(), &["/SQL", "Nope", "/EXISTS"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        all(&out).contains("SQL Server `(local)`: no user given"),
        "{}",
        all(&out)
    );
    assert!(
        all(&out).contains("`(local)` is the local default instance (localhost:1433), what dtutil uses when no /SourceServer"),
        "{}",
        all(&out)
    );
}

#[test]
fn sql_messages_name_the_default_server_and_refuse_unknown_settings() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "/SQL",
        "Nope",
        "/EXISTS",
        "/SourceUser",
        "u",
        "/SourcePassword",
        "env:PW",
    ];
    let env = [("PW", "x"), ("DTUTIL_SQL_CONNECT_TIMEOUT", "2")];
    let out = dtutil(dir.path(), &args, &env);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        all(&out).contains("`(local)` is the local default instance (localhost:1433), what dtutil uses when no /SourceServer"),
        "{}",
        all(&out)
    );
    let out = dtutil(
        dir.path(),
        &args,
        &[("PW", "x"), ("DTUTIL_SQL_ENCRYPT", "yes")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        all(&out).contains("DTUTIL_SQL_ENCRYPT=`yes`: expected on"),
        "{}",
        all(&out)
    );
}

fn store_config(dir: &Path) {
    std::fs::create_dir_all(dir.join("Packages")).unwrap();
    std::fs::write(
        dir.join("store.xml"),
        r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <TopLevelFolders>
    <Folder xsi:type="SqlServerFolder"><Name>MSDB</Name><ServerName>127.0.0.1,1</ServerName></Folder>
    <Folder xsi:type="FileSystemFolder"><Name>File System</Name><StorePath>Packages</StorePath></Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#,
    )
    .unwrap();
}

#[test]
fn a_package_store_msdb_root_without_a_login_names_the_store_variables() {
    let dir = tempfile::tempdir().unwrap();
    store_config(dir.path());
    let out = dtutil(
        dir.path(),
        &[
            "/DTS",
            r"MSDB\Load",
            "/EXISTS",
            "--store-config",
            "store.xml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let text = all(&out);
    assert!(
        text.contains("DTUTIL_STORE_SQL_USER and DTUTIL_STORE_SQL_PASSWORD"),
        "{text}"
    );
    assert!(!text.contains("/SourceUser"), "{text}");
}

#[test]
fn a_missing_store_folder_is_said_in_words() {
    let dir = tempfile::tempdir().unwrap();
    store_config(dir.path());
    let out = dtutil(
        dir.path(),
        &[
            "/FDi",
            r"DTS;File System\Nope",
            "--store-config",
            "store.xml",
        ],
        &[],
    );
    assert_ne!(out.status.code(), Some(0), "{}", all(&out));
    let text = all(&out);
    assert!(text.contains("no such folder"), "{text}");
    assert!(!text.contains("os error"), "{text}");
}

#[test]
fn dump_is_named_once_and_help_takes_a_slashed_topic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dtutil(dir.path(), &["/Dump", "1234"], &[]);
    assert_eq!(out.status.code(), Some(6));
    assert!(!all(&out).contains("/Dump (/Dump)"), "{}", all(&out));
    let out = dtutil(dir.path(), &["-Dump", "1234"], &[]);
    assert!(all(&out).contains("-Dump (/Dump)"), "{}", all(&out));
    let out = dtutil(dir.path(), &["/H", "/Encrypt"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(all(&out).contains("/En[crypt]"), "{}", all(&out));
    assert!(!all(&out).contains("needs an argument"), "{}", all(&out));
}

#[test]
fn batch_dry_run_exits_1_when_a_package_would_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src/Sales")).unwrap();
    std::fs::copy(fixture("Legacy2008.dtsx"), dir.path().join("src/Good.dtsx")).unwrap();
    std::fs::write(dir.path().join("src/Sales/Broken.dtsx"), "not a package").unwrap();
    let args = [
        "batch",
        "--from",
        "src",
        "--to",
        "out",
        "--encrypt",
        "0",
        "--dry-run",
    ];
    let out = dtutil(dir.path(), &args, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("1 would fail"), "{}", all(&out));
    assert!(!dir.path().join("out").exists());

    std::fs::remove_file(dir.path().join("src/Sales/Broken.dtsx")).unwrap();
    let out = dtutil(dir.path(), &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(all(&out).contains("0 would fail"), "{}", all(&out));
}

/// The summary's first line and the report agree: a stopped run counts the packages it
/// finished, its rate is theirs, and the not-started ones are one line.
fn assert_stopped_summary(stdout: &str, report: &serde_json::Value) {
    let packages = report["packages"].as_array().unwrap();
    let not_started = batch::with_status(report, "skipped", Some("not_started")).len();
    let handled = packages.len() - not_started;
    let seconds = report["summary"]["seconds"].as_f64().unwrap();
    let head = format!(
        "Stopped after {handled} packages in {seconds:.1} s ({:.1}/s): ",
        handled as f64 / seconds
    );
    assert!(stdout.contains(&head), "expected {head:?} in\n{stdout}");
    let ok = batch::with_status(report, "ok", None).len();
    let failed = batch::with_status(report, "failed", None).len();
    let skipped = batch::with_status(report, "skipped", None).len() - not_started;
    assert!(
        stdout.contains(&format!("{ok} ok, {skipped} skipped, {failed} failed;")),
        "{stdout}"
    );
    assert!(not_started > 0, "{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("not started"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("  {not_started} not started: ")),
        "{stdout}"
    );
}

#[test]
fn fail_fast_counts_the_one_package_that_ran() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    for i in 0..5 {
        std::fs::write(dir.path().join(format!("src/p{i}.dtsx")), "not a package").unwrap();
    }
    let out = dtutil(
        dir.path(),
        &[
            "batch",
            "--from",
            "src",
            "--to",
            "out",
            "--jobs",
            "1",
            "--fail-fast",
            "--encrypt",
            "0",
            "--report",
            "r.json",
        ],
        &[("DTUTIL_NO_PROGRESS", "1")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let report = batch::read_report(&dir.path().join("r.json"));
    assert_eq!(
        batch::with_status(&report, "failed", None).len(),
        1,
        "{report}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Stopped after 1 packages"), "{stdout}");
    assert_stopped_summary(&stdout, &report);
}

#[cfg(unix)] // batch::interrupted sends SIGINT
#[test]
fn ctrl_c_counts_what_was_done_and_summarises_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    batch::generate_tree(&dir.path().join("src"), 200, 0);
    let az = azfiles_support::start(&["pkgs"]);
    az.set_latency(20);
    let share = azfiles_support::unc("pkgs", "first-hour");
    let out = batch::interrupted(
        dir.path(),
        &[
            "batch",
            "--from",
            "src",
            "--to",
            &share,
            "--allow-lost-sensitive",
            "--jobs",
            "2",
            "--report",
            "r.json",
        ],
        &az.env(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let report = batch::read_report(&dir.path().join("r.json"));
    assert_eq!(report["summary"]["interrupted"], true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_stopped_summary(&stdout, &report);
}

#[test]
fn cosmetic_messages_point_the_right_way() {
    let dir = tempfile::tempdir().unwrap();
    let out = dtutil(
        dir.path(),
        &["/FILE", "a.dtsx", "/COPPY", "FILE;b.dtsx"],
        &[],
    );
    assert_eq!(out.status.code(), Some(6));
    assert!(
        all(&out).contains("unknown option `/COPPY`: did you mean /C[opy]?"),
        "{}",
        all(&out)
    );

    let usage = dtutil(dir.path(), &["/?"], &[]);
    assert!(
        all(&usage).contains("Signs the package with a certificate (not yet supported: exit 1)."),
        "{}",
        all(&usage)
    );

    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::copy(fixture("Legacy2008.dtsx"), dir.path().join("src/p.dtsx")).unwrap();
    let out = dtutil(
        dir.path(),
        &["Batch", "--from", "src", "--to", "out", "--dry-run"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
}
