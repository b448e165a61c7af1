//! Review user3 F10: a ServerStorage (level 5) package keeps its sensitive values in the
//! clear. Out of msdb it was refused anywhere but SQL Server; from a file it was copied
//! onto an Azure Files share or into a package store's file system folder, exit 0. SSIS
//! loads what it saves there and refuses level 5 (DTS_E_SERVERSTORAGEDISALLOWED): so
//! does dtutil, whatever the source, nothing written. A local file copied to a local
//! file stays dtutil's byte copy.

mod azfiles_support;

use azfiles_support::*;
use std::path::Path;
use std::process::{Command, Output};

fn dtutil(server: &Server, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dtutil"));
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(server.env());
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

fn refused(o: &Output, what: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(1), "{what}\n{t}");
    assert!(t.contains("ServerStorage"), "{what}\n{t}");
    assert!(t.contains("DTS_E_SERVERSTORAGEDISALLOWED"), "{what}\n{t}");
    assert!(t.contains("nothing written"), "{what}\n{t}");
    // The package, and the command that does it instead.
    assert!(t.contains("l5dir/CustomerLoad.dtsx"), "{what}\n{t}");
    assert!(t.contains("/ENCRYPT \""), "{what}\n{t}");
}

#[test]
fn level5_files_go_nowhere_but_sql_server() {
    let server = start(&["share"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let level5 = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&level5).contains("DTS:ProtectionLevel=\"5\""));
    std::fs::create_dir(dir.join("l5dir")).unwrap();
    std::fs::write(dir.join("l5dir/CustomerLoad.dtsx"), &level5).unwrap();
    std::fs::create_dir(dir.join("Packages")).unwrap();
    std::fs::write(
        dir.join("MsDtsSrvr.ini.xml"),
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <TopLevelFolders>
    <Folder xsi:type="FileSystemFolder">
      <Name>File System</Name>
      <StorePath>Packages</StorePath>
    </Folder>
    <Folder xsi:type="FileSystemFolder">
      <Name>Azure</Name>
      <StorePath>\\{HOST}\share</StorePath>
    </Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#
        ),
    )
    .unwrap();
    let config = dir.join("MsDtsSrvr.ini.xml");
    let config = config.to_str().unwrap();
    let source = "l5dir/CustomerLoad.dtsx";

    let to_share = unc("share", "L5\\cl5.dtsx");
    let out = dtutil(
        &server,
        dir,
        &["/FILE", source, "/COPY", &format!("FILE;{to_share}")],
    );
    refused(&out, "/COPY to Azure Files");
    let t = text(&out);
    assert!(
        t.contains(&format!("/ENCRYPT \"FILE;{to_share};0\"")),
        "{t}"
    );
    for root in ["File System", "Azure"] {
        let out = dtutil(
            &server,
            dir,
            &[
                "/FILE",
                source,
                "/COPY",
                &format!("DTS;{root}\\cl5"),
                "--store-config",
                config,
            ],
        );
        refused(&out, root);
        let t = text(&out);
        assert!(
            t.contains(&format!("/COPY that file to \"DTS;{root}\\cl5\"")),
            "{t}"
        );
    }
    let out = dtutil(
        &server,
        dir,
        &["/FILE", source, "/MOVE", &format!("FILE;{to_share}")],
    );
    refused(&out, "/MOVE to Azure Files");
    assert!(text(&out).contains("/DELETE the source"), "{}", text(&out));
    assert!(dir.join(source).exists(), "the /MOVE source stays");

    let out = dtutil(
        &server,
        dir,
        &["batch", "--from", "l5dir", "--to", &unc("share", "L5b")],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("DTS_E_SERVERSTORAGEDISALLOWED"), "{t}");
    assert!(t.contains("CustomerLoad.dtsx"), "{t}");
    assert!(t.contains("--encrypt"), "{t}");

    // Nothing arrived: the local root is empty, the share has neither name.
    assert_eq!(std::fs::read_dir(dir.join("Packages")).unwrap().count(), 0);
    for path in [
        to_share,
        unc("share", "L5b\\CustomerLoad.dtsx"),
        unc("share", "cl5.dtsx"),
    ] {
        let out = dtutil(&server, dir, &["/FILE", &path, "/EXISTS"]);
        assert_eq!(out.status.code(), Some(1), "{path}\n{}", text(&out));
    }

    // Re-protected on the way, it goes; a local file to a local file is a byte copy.
    let out = dtutil(
        &server,
        dir,
        &[
            "batch",
            "--from",
            "l5dir",
            "--to",
            &unc("share", "L5c"),
            "--encrypt",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = dtutil(&server, dir, &["/FILE", source, "/COPY", "FILE;copy.dtsx"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read(dir.join("copy.dtsx")).unwrap(), level5);
}
