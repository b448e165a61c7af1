//! `/MOVE` never deletes what it just wrote, nor a source that changed while it was
//! copied (reviewers' repros, user F5 and adversary F5/F10). One package reached by two
//! names (an msdb server as `127.0.0.1,PORT` and `localhost,PORT`, a package store root
//! and its own folder / msdb / Azure Files directory, a hard link) is refused before
//! anything is written; a source edited during the move is kept, with exit 1.

mod azfiles_support;
mod common;
mod fixture_support;
#[path = "msdb/support.rs"]
mod msdb_support;

use common::{dtutil_clean as run, shown};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

/// The fixture at level 0, in `dir`: its own level 5 may not go to a share or a package
/// store folder.
fn sample(dir: &Path) -> PathBuf {
    let path = dir.join("sample.dtsx");
    fixture_support::write_level0("CustomerLoad.dtsx", &path);
    path
}

fn ok(o: Output) {
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
}

/// Refused as one package under two names: exit 1, saying so.
fn refused_as_same(o: &Output) {
    assert_eq!(o.status.code(), Some(1), "{}", shown(o));
    assert!(shown(o).contains("same package"), "{}", shown(o));
}

fn sql_env(server: &msdb_support::TestServer) -> Vec<(String, String)> {
    let sql = server.sql("sa", "Sa-Secret1");
    let mut env = sql.env.clone();
    env.push(("PW".into(), "Sa-Secret1".into()));
    env
}

#[test]
fn msdb_server_reached_by_two_names_is_one_package() {
    let server = msdb_support::TestServer::start(false, &["sa:Sa-Secret1"]);
    let env = sql_env(&server);
    let dir = tempfile::tempdir().unwrap();
    let ip = server.server();
    let alias = format!("localhost,{}", server.port);
    let sample = sample(dir.path());
    let sample = sample.to_str().unwrap();
    let on = |side: &str, name: &str| {
        vec![
            format!("/{side}Server"),
            name.to_string(),
            format!("/{side}User"),
            "sa".into(),
            format!("/{side}Password"),
            "env:PW".into(),
        ]
    };
    let args = |parts: Vec<Vec<String>>| parts.concat();
    let call = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(dir.path(), &env, &refs)
    };
    ok(call(args(vec![
        vec!["/FILE".into(), sample.into()],
        on("Dest", &ip),
        vec!["/COPY".into(), "SQL;mvpk".into(), "/Q".into()],
    ])));
    // The same server as `localhost`: one row, whatever the spelling.
    let moved = call(args(vec![
        vec!["/SQL".into(), "mvpk".into()],
        on("Source", &ip),
        on("Dest", &alias),
        vec!["/MOVE".into(), "SQL;mvpk".into(), "/Q".into()],
    ]));
    refused_as_same(&moved);
    let copied = call(args(vec![
        vec!["/SQL".into(), "mvpk".into()],
        on("Source", &alias),
        on("Dest", &ip),
        vec!["/COPY".into(), "SQL;MVPK".into(), "/Q".into()],
    ]));
    refused_as_same(&copied);
    let exists = call(args(vec![
        vec!["/SQL".into(), "mvpk".into()],
        on("Source", &ip),
        vec!["/EXISTS".into()],
    ]));
    ok(exists);

    // Two distinct packages holding the same version still move (their rows differ).
    ok(call(args(vec![
        vec!["/FC".into(), "SQL;\\;Other".into()],
        on("Source", &ip),
    ])));
    ok(call(args(vec![
        vec!["/FILE".into(), sample.into()],
        on("Dest", &ip),
        vec!["/COPY".into(), "SQL;Other\\mvpk".into(), "/Q".into()],
    ])));
    ok(call(args(vec![
        vec!["/SQL".into(), "Other\\mvpk".into()],
        on("Source", &alias),
        on("Dest", &ip),
        vec!["/MOVE".into(), "SQL;mvpk".into(), "/Q".into()],
    ])));
    let gone = call(args(vec![
        vec!["/SQL".into(), "Other\\mvpk".into()],
        on("Source", &ip),
        vec!["/EXISTS".into()],
    ]));
    assert_eq!(gone.status.code(), Some(1), "{}", shown(&gone));
}

#[test]
fn package_store_roots_are_the_packages_they_stand_for() {
    let server = msdb_support::TestServer::start(false, &["sa:Sa-Secret1"]);
    let azure = azfiles_support::start(&["ssis"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("Packages")).unwrap();
    let azure_root = azfiles_support::unc("ssis", "store");
    let config = dir.path().join("MsDtsSrvr.ini.xml");
    std::fs::write(
        &config,
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <TopLevelFolders>
    <Folder xsi:type="SqlServerFolder"><Name>MSDB</Name><ServerName>{}</ServerName></Folder>
    <Folder xsi:type="FileSystemFolder"><Name>File System</Name><StorePath>Packages</StorePath></Folder>
    <Folder xsi:type="FileSystemFolder"><Name>Azure</Name><StorePath>{azure_root}</StorePath></Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#,
            server.server()
        ),
    )
    .unwrap();
    let mut env = sql_env(&server);
    env.extend(azure.env());
    env.push(("DTUTIL_STORE_CONFIG".into(), config.display().to_string()));
    env.push(("DTUTIL_STORE_SQL_USER".into(), "sa".into()));
    env.push(("DTUTIL_STORE_SQL_PASSWORD".into(), "Sa-Secret1".into()));
    let sample = sample(dir.path());
    let sample = sample.to_str().unwrap();
    let call = |args: &[&str]| run(dir.path(), &env, args);

    // The File System root and its folder.
    std::fs::copy(sample, dir.path().join("Packages/x.dtsx")).unwrap();
    refused_as_same(&call(&[
        "/FILE",
        "Packages/x.dtsx",
        "/MOVE",
        "DTS;File System\\x",
        "/Q",
    ]));
    refused_as_same(&call(&[
        "/DTS",
        "File System\\x",
        "/MOVE",
        "FILE;Packages/x.dtsx",
        "/Q",
    ]));
    assert!(dir.path().join("Packages/x.dtsx").is_file());

    // The MSDB root and the same server as SQL.
    let ip = server.server();
    ok(call(&["/FILE", sample, "/COPY", "DTS;MSDB\\dpk", "/Q"]));
    refused_as_same(&call(&[
        "/DTS",
        "MSDB\\dpk",
        "/DestServer",
        &ip,
        "/DestUser",
        "sa",
        "/DestPassword",
        "env:PW",
        "/MOVE",
        "SQL;dpk",
        "/Q",
    ]));
    ok(call(&["/DTS", "MSDB\\dpk", "/EXISTS"]));

    // The Azure root and the same share path as FILE.
    ok(call(&["/FILE", sample, "/COPY", "DTS;Azure\\v5", "/Q"]));
    let unc = format!("FILE;{azure_root}\\v5.dtsx");
    refused_as_same(&call(&["/DTS", "Azure\\v5", "/MOVE", &unc, "/Q"]));
    ok(call(&["/DTS", "Azure\\v5", "/EXISTS"]));
}

#[test]
fn a_hard_link_is_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    fixture_support::write_level0("CustomerLoad.dtsx", &dir.path().join("a.dtsx"));
    std::fs::hard_link(dir.path().join("a.dtsx"), dir.path().join("b.dtsx")).unwrap();
    let out = run(
        dir.path(),
        &[],
        &["/FILE", "a.dtsx", "/MOVE", "FILE;b.dtsx", "/Q"],
    );
    refused_as_same(&out);
    assert!(dir.path().join("a.dtsx").is_file() && dir.path().join("b.dtsx").is_file());
}

/// A bind mount shows one directory under two paths; only root may make one, so the
/// test says SKIPPED elsewhere.
#[test]
fn a_bind_mount_is_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let bound = dir.path().join("bound");
    std::fs::create_dir(&real).unwrap();
    std::fs::create_dir(&bound).unwrap();
    fixture_support::write_level0("CustomerLoad.dtsx", &real.join("a.dtsx"));
    let mounted = Command::new("mount")
        .arg("--bind")
        .arg(&real)
        .arg(&bound)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot make a bind mount here (not root)");
        return;
    }
    let out = run(
        dir.path(),
        &[],
        &["/FILE", "real/a.dtsx", "/MOVE", "FILE;bound/a.dtsx", "/Q"],
    );
    let kept = real.join("a.dtsx").is_file();
    let _ = Command::new("umount").arg(&bound).status();
    refused_as_same(&out);
    assert!(kept);
}

/// Adversary F5: the source is edited while the copy travels to a slow share; the
/// move must keep it (the edit exists nowhere else) and say so.
#[test]
fn a_source_edited_during_the_move_is_kept() {
    let azure = azfiles_support::start(&["ssis"]);
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("m.dtsx");
    fixture_support::write_level0("CustomerLoad.dtsx", &source);
    azure.set_latency(400);
    let dest = format!("FILE;{}", azfiles_support::unc("ssis", "m.dtsx"));
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .args(["/FILE", "m.dtsx", "/MOVE", &dest])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(azure.env());
    let child = cmd.spawn().unwrap();
    // The move makes several round trips of 400 ms; the edit lands in the middle.
    std::thread::sleep(std::time::Duration::from_millis(900));
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&source)
            .unwrap();
        f.write_all(b"<!-- IMPORTANT EDIT -->\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    azure.set_latency(0);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(shown(&out).contains("changed while"), "{}", shown(&out));
    let kept = std::fs::read_to_string(&source).expect("the source is kept");
    assert!(kept.contains("IMPORTANT EDIT"));
}
