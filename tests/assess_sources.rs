//! What `dtutil assess` reads from a source: a project folder's connection managers
//! (`*.conmgr`) with its packages, each finding named by the file that holds it (a
//! glob that picks a `.conmgr` or a `.dtproj`), and Microsoft's own components that
//! name Attunity in their contact information are not third-party (2003).

mod assess_support;
mod common;

use assess_support::*;
use std::collections::BTreeSet;
use std::path::Path;

fn assess_json(dir: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .current_dir(dir)
        .args(["assess", "--json", "--fail-on", "never"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn pairs(values: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    values
        .iter()
        .map(|v| {
            (
                v["package"].as_str().unwrap().to_string(),
                v["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_project_folder_is_assessed_with_its_connection_managers() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("proj");
    std::fs::create_dir(&proj).unwrap();
    for (from, to) in [
        ("wwi_WWI_SSIS.DontSaveSensitive.dtproj", "WWI_SSIS.dtproj"),
        (
            "wwi_WWI_Source_DB.DontSaveSensitive.conmgr",
            "WWI_Source_DB.conmgr",
        ),
        (
            "wwi_DailyETLMain.DontSaveSensitive.fmt8.dtsx",
            "DailyETLMain.dtsx",
        ),
    ] {
        std::fs::copy(real.join(from), proj.join(to)).unwrap();
    }
    let folder = pairs(&assess_json(dir.path(), &["proj"]));
    let conmgr = |rule: &str| ("proj/WWI_Source_DB.conmgr".to_string(), rule.to_string());
    for rule in ["1001", "1007", "DTU301"] {
        assert!(folder.contains(&conmgr(rule)), "{rule}: {folder:?}");
    }
    assert!(folder.contains(&("proj/DailyETLMain.dtsx".into(), "DTU103".into())));
    // A glob names each finding's file as it is, and skips the project file.
    let globbed = pairs(&assess_json(dir.path(), &["proj/*"]));
    assert_eq!(globbed, folder, "proj/* finds what proj does");
    let only = pairs(&assess_json(dir.path(), &["proj/*.conmgr"]));
    assert!(
        only.iter().all(|(p, _)| p == "proj/WWI_Source_DB.conmgr"),
        "{only:?}"
    );
    assert!(!globbed
        .iter()
        .any(|(p, _)| p.contains(".dtproj") || p.ends_with("WWI_SSIS.dtsx")));
}

#[test]
fn odbc_source_and_destination_are_microsofts() {
    let dir = tempfile::tempdir().unwrap();
    let contact = "Connector for Open Database Connectivity (ODBC) by Attunity; Attunity Ltd.; All Rights Reserved; http://www.attunity.com;";
    for (file, class, name) in [
        ("src16.dtsx", "Microsoft.SSISODBCSrc", "ODBC Source"),
        ("dst16.dtsx", "Microsoft.SSISODBCDst", "ODBC Destination"),
        ("src12.dtsx", "Attunity.SSISODBCSrc", "ODBC Source"),
        ("dst12.dtsx", "Attunity.SSISODBCDst", "ODBC Destination"),
    ] {
        let text = package(
            0,
            V2017,
            &data_flow(&component(name, class, &format!("{name};{contact}"), &[])),
        );
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    // Another vendor's component with the same kind of contact information still is one.
    let acme = package(
        0,
        V2017,
        &data_flow(&component(
            "X",
            "Acme.SSISODBCSrc",
            &format!("X;{contact}"),
            &[],
        )),
    );
    std::fs::write(dir.path().join("acme.dtsx"), acme).unwrap();
    let found = pairs(&assess_json(dir.path(), &["."]));
    let third_party: Vec<_> = found.iter().filter(|(_, r)| r == "2003").collect();
    assert_eq!(third_party.len(), 1, "{found:?}");
    assert!(third_party[0].0.ends_with("acme.dtsx"));
}

/// A level 3 connection manager holds its connection inside one encrypted element: without
/// the password it is not assessed (an error, never "no findings"); with it, it is read.
#[test]
fn a_level_3_connection_manager_is_opened_with_the_password_or_not_called_clean() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let file = real.join("ssisbuild_db-01111.msdb.EncryptAllWithPassword.conmgr");
    let password = std::fs::read_to_string(
        real.join("ssisbuild_db-01111.msdb.EncryptAllWithPassword.conmgr.password"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file.to_str().unwrap();
    let rules = |values: &[serde_json::Value]| {
        values
            .iter()
            .map(|v| v["rule"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    let without = assess_json(dir.path(), &[path]);
    assert_eq!(rules(&without), BTreeSet::from(["DTU900".to_string()]));
    assert_eq!(without[0]["severity"], "error", "{without:?}");
    let wrong = assess_json(dir.path(), &["--password", "not-it", path]);
    assert_eq!(rules(&wrong), BTreeSet::from(["DTU900".to_string()]));
    let with = assess_json(dir.path(), &["--password", password.trim(), path]);
    assert!(rules(&with).contains("1001"), "{with:?}");
    assert!(!rules(&with).contains("DTU900"), "{with:?}");
    // The default gate fails a connection manager it could not read.
    let gate = std::process::Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .args(["assess", path])
        .output()
        .unwrap();
    assert_eq!(gate.status.code(), Some(1), "{gate:?}");
}
