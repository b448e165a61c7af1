//! Names compare case-insensitively where the store does (issue 11): msdb (its default
//! collation), Azure Files, and the package store's File System folders (the Windows
//! folder they stand for). `/SQL load` finds `Load`, overwriting it asks first and keeps
//! its case, `/MOVE` onto the same name in another case is a move onto itself, and
//! `batch` keeps a source's own case (`d.DTSX` stays `d.DTSX`).

#[path = "azfiles_support/mod.rs"]
mod az;
mod fixture_support;
#[path = "msdb/support.rs"]
mod support;

use std::process::{Command, Output, Stdio};
use support::TestServer;

const PW: &str = "DTUTIL_TEST_PW";

fn dtutil(env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dtutil"));
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("DTUTIL_SQL_CA")
        .env_remove("DTUTIL_SQL_ENCRYPT")
        .env_remove("DTUTIL_STORE_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn shown(out: &Output) -> String {
    format!(
        "exit {}\n{}{}",
        code(out),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn line4(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(4)
        .unwrap_or_default()
        .to_string()
}

/// At level 0: the fixture's own level 5 may not go to a share or a package store.
fn sample() -> Vec<u8> {
    fixture_support::level0("CustomerLoad.dtsx")
}

#[test]
fn msdb_names_ignore_case_and_keep_their_own() {
    let server = TestServer::start(false, &["sa:Sa-Secret1"]);
    let sql = server.sql("sa", "Sa-Secret1");
    let mut env = sql.env.clone();
    env.push((PW.into(), sql.password.clone()));
    let src_args = [
        "/SourceServer",
        &sql.server,
        "/SourceUser",
        "sa",
        "/SourcePassword",
    ];
    let dst_args = [
        "/DestServer",
        &sql.server,
        "/DestUser",
        "sa",
        "/DestPassword",
    ];
    let pw = format!("env:{PW}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Load.dtsx");
    std::fs::write(&file, sample()).unwrap();
    let file = file.to_str().unwrap();

    let copy = |to: &str, quiet: bool| {
        let mut args = vec!["/FILE", file];
        args.extend(dst_args);
        args.extend([pw.as_str(), "/COPY", to]);
        if quiet {
            args.push("/Q");
        }
        dtutil(&env, &args)
    };
    let on_source = |path: &str, action: &[&str]| {
        let mut args = vec!["/SQL", path];
        args.extend(src_args);
        args.push(pw.as_str());
        args.extend(action);
        dtutil(&env, &args)
    };

    assert_eq!(code(&copy("SQL;Load", false)), 0);
    // `/SQL load` is `Load`.
    let out = on_source("load", &["/EXISTS"]);
    assert_eq!(code(&out), 0, "{}", shown(&out));
    assert_eq!(line4(&out), "The specified package exists.");
    // Copying to `LOAD` without /Q is a copy onto an existing package.
    let out = copy("SQL;LOAD", false);
    assert_eq!(code(&out), 1, "{}", shown(&out));
    assert!(shown(&out).contains("exists"), "{}", shown(&out));
    // With /Q it overwrites, and the package keeps its own name.
    assert_eq!(code(&copy("SQL;LOAD", true)), 0);
    let out = dtutil(
        &env,
        &[
            "/FDi",
            "SQL;\\",
            "/SourceServer",
            &sql.server,
            "/SourceUser",
            "sa",
            "/SourcePassword",
            &pw,
        ],
    );
    let listing = shown(&out);
    assert!(
        listing.contains("Load") && !listing.contains("LOAD"),
        "{listing}"
    );
    // A move onto the same name in another case would delete the package.
    let mut onto_itself = vec!["/MOVE", "SQL;load"];
    onto_itself.extend(dst_args);
    onto_itself.push(&pw);
    let out = on_source("Load", &onto_itself);
    assert_eq!(code(&out), 1, "{}", shown(&out));
    assert!(shown(&out).contains("onto itself"), "{}", shown(&out));
    assert_eq!(code(&on_source("LOAD", &["/EXISTS"])), 0, "still there");
    // The same name on another server is another package: that move goes ahead.
    let other = TestServer::start(false, &["sa:Sa-Secret1"]);
    let other_server = other.server();
    let out = on_source(
        "Load",
        &[
            "/MOVE",
            "SQL;Load",
            "/DestServer",
            &other_server,
            "/DestUser",
            "sa",
            "/DestPassword",
            &pw,
        ],
    );
    assert_eq!(code(&out), 0, "{}", shown(&out));
    assert_eq!(code(&on_source("Load", &["/EXISTS"])), 1, "moved away");
}

#[test]
fn azure_files_names_ignore_case_and_keep_their_own() {
    let server = az::start(&["pkgs"]);
    let env = server.env();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Load.dtsx");
    std::fs::write(&file, sample()).unwrap();
    let file = file.to_str().unwrap();
    let upper = az::unc("pkgs", "Load.dtsx");
    let lower = az::unc("pkgs", "load.dtsx");
    assert_eq!(
        code(&dtutil(
            &env,
            &["/FILE", file, "/COPY", &format!("FILE;{upper}")]
        )),
        0
    );
    let out = dtutil(&env, &["/FILE", &lower, "/EXISTS"]);
    assert_eq!(
        line4(&out),
        "The specified package exists.",
        "{}",
        shown(&out)
    );
    let out = dtutil(&env, &["/FILE", file, "/COPY", &format!("FILE;{lower}")]);
    assert_eq!(code(&out), 1, "{}", shown(&out));
    assert!(shown(&out).contains("exists"), "{}", shown(&out));
    let out = dtutil(&env, &["/FILE", &upper, "/MOVE", &format!("FILE;{lower}")]);
    assert_eq!(code(&out), 1, "{}", shown(&out));
    assert!(shown(&out).contains("onto itself"), "{}", shown(&out));
    assert_eq!(code(&dtutil(&env, &["/FILE", &upper, "/EXISTS"])), 0);
}

#[test]
fn package_store_file_system_folders_ignore_case() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(store.join("Sales")).unwrap();
    std::fs::write(store.join("Sales").join("UPPER.DTSX"), sample()).unwrap();
    let config = dir.path().join("MsDtsSrvr.ini.xml");
    std::fs::write(
        &config,
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <TopLevelFolders>
    <Folder xsi:type="FileSystemFolder">
      <Name>File System</Name>
      <StorePath>{}</StorePath>
    </Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#,
            store.display()
        ),
    )
    .unwrap();
    let env = vec![(
        "DTUTIL_STORE_CONFIG".to_string(),
        config.display().to_string(),
    )];
    let out = dtutil(&env, &["/FDi", "DTS;File System\\Sales"]);
    assert!(shown(&out).contains("UPPER"), "{}", shown(&out));
    // What the listing shows is found, in any case.
    for name in ["File System\\Sales\\UPPER", "file system\\sales\\upper"] {
        let out = dtutil(&env, &["/DTS", name, "/EXISTS"]);
        assert_eq!(
            line4(&out),
            "The specified package exists.",
            "{name}: {}",
            shown(&out)
        );
    }
    // Overwriting it keeps its file: no second file in another case.
    let src = dir.path().join("p.dtsx");
    std::fs::write(&src, sample()).unwrap();
    let out = dtutil(
        &env,
        &[
            "/FILE",
            src.to_str().unwrap(),
            "/COPY",
            "DTS;File System\\sales\\Upper",
            "/Q",
        ],
    );
    assert_eq!(code(&out), 0, "{}", shown(&out));
    let names: Vec<String> = std::fs::read_dir(store.join("Sales"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["UPPER.DTSX".to_string()]);
    // A folder that differs only in case already exists.
    let out = dtutil(&env, &["/FC", "DTS;File System;SALES"]);
    assert_eq!(code(&out), 1, "{}", shown(&out));
    assert!(shown(&out).contains("`Sales` exists"), "{}", shown(&out));
}

#[test]
fn batch_keeps_the_source_name_case() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from");
    std::fs::create_dir_all(&from).unwrap();
    std::fs::write(from.join("d.DTSX"), sample()).unwrap();
    std::fs::write(from.join("Mixed.Dtsx"), sample()).unwrap();
    let to = dir.path().join("to");
    let out = dtutil(
        &[],
        &[
            "batch",
            "--from",
            from.to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", shown(&out));
    let mut names: Vec<String> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["Mixed.Dtsx".to_string(), "d.DTSX".to_string()]);

    // To Azure Files (case-insensitive): `a.dtsx` and `A.dtsx` would be one file.
    std::fs::write(from.join("a.dtsx"), sample()).unwrap();
    std::fs::write(from.join("A.dtsx"), sample()).unwrap();
    let server = az::start(&["pkgs"]);
    let out = dtutil(
        &server.env(),
        &[
            "batch",
            "--from",
            from.to_str().unwrap(),
            "--to",
            &az::unc("pkgs", "in"),
        ],
    );
    let text = shown(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("same destination"), "{text}");
    let out = dtutil(
        &server.env(),
        &["/FILE", &az::unc("pkgs", "in\\d.DTSX"), "/EXISTS"],
    );
    assert_eq!(
        line4(&out),
        "The specified package exists.",
        "{}",
        shown(&out)
    );
    // Read back from the share: the names kept their case there too.
    let back = dir.path().join("back");
    let out = dtutil(
        &server.env(),
        &[
            "batch",
            "--from",
            &az::unc("pkgs", "in"),
            "--to",
            back.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", shown(&out));
    assert!(back.join("d.DTSX").is_file() && back.join("Mixed.Dtsx").is_file());
}
