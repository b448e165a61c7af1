//! Issue 16: what a newcomer meets in the first hour. Each message that pointed the
//! wrong way, asserted with its corrected text, and the flags the docs promise.

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
