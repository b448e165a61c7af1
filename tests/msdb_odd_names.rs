//! msdb allows package and folder names that no dtutil path can reach (a leading blank,
//! which paths trim; a NUL). A folder holding one is still listed by `/FDi`, and
//! `batch --from sql://` copies the rest, reporting each such name as a skipped row
//! with its reason, instead of failing the whole listing.

#[path = "msdb/cli_scenarios.rs"]
#[allow(dead_code)]
mod cli_scenarios;
#[path = "msdb/support.rs"]
mod support;

use cli_scenarios::dtutil;
use support::*;
use testservers::msdb::model::{login_sid, Folder, Msdb, Package, ROOT_FOLDER};
use testservers::msdb::value::SqlDateTime;
use uuid::Uuid;

fn row(name: &str, folderid: Uuid, data: &[u8]) -> Package {
    Package {
        name: name.into(),
        id: Uuid::new_v4(),
        description: None,
        createdate: SqlDateTime { days: 0, ticks: 0 },
        folderid,
        ownersid: login_sid("sa"),
        packagedata: data.to_vec(),
        packageformat: 1,
        packagetype: 5,
        vermajor: 1,
        verminor: 0,
        verbuild: 1,
        vercomments: None,
        verid: Uuid::new_v4(),
        isencrypted: false,
        readrolesid: None,
        writerolesid: None,
    }
}

/// Folder `Odd` holds `good`, ` lead`, `nul\0x` and a folder ` blank` (with `inner`).
fn seeded(dir: &std::path::Path) -> TestServer {
    let (bytes, _) = package(3_000);
    let odd = Uuid::new_v4();
    let blank = Uuid::new_v4();
    let mut db = Msdb::default();
    db.folders.push(Folder {
        folderid: odd,
        parentfolderid: Some(ROOT_FOLDER),
        foldername: "Odd".into(),
    });
    db.folders.push(Folder {
        folderid: blank,
        parentfolderid: Some(odd),
        foldername: " blank".into(),
    });
    for (name, folder) in [
        ("good", odd),
        (" lead", odd),
        ("nul\0x", odd),
        ("inner", blank),
    ] {
        db.packages.push(row(name, folder, &bytes));
    }
    let data = dir.join("msdb.json");
    db.save(&data).unwrap();
    TestServer::start_with_data(false, CLI_LOGINS, data)
}

fn login(sql: &Sql) -> [&str; 4] {
    [
        "/SourceUser",
        &sql.user,
        "/SourcePassword",
        "env:DTUTIL_TEST_PW",
    ]
}

#[test]
fn odd_names_are_listed_by_fdi() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded(dir.path());
    let sql = server.sql("sa", "Sa-Secret1");
    let mut args = vec!["/FDi", "SQL;Odd;S", "/SourceServer", &sql.server];
    args.extend(login(&sql));
    let r = dtutil(&sql, None, &args);
    assert_eq!(r.code, 0, "{r:?}");
    // As msdb has them (the blank kept), a NUL escaped; folders end in `\`.
    for shown in ["good", " lead", "nul\\x00x", " blank\\"] {
        assert!(
            r.stdout.lines().any(|l| l == shown),
            "{shown:?} listed: {r:?}"
        );
    }
    // The folder with a leading blank is listed, not entered (a path to it would name
    // `blank`); stderr says so and why.
    assert!(!r.stdout.contains("inner"), "{r:?}");
    assert!(
        r.stderr.contains("`Odd\\ blank` not listed") && r.stderr.contains("begins with a blank"),
        "{r:?}"
    );
}

#[test]
fn batch_skips_odd_names_per_row_and_copies_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let server = seeded(dir.path());
    let sql = server.sql("sa", "Sa-Secret1");
    let from = format!("sql://{}/Odd", sql.server);
    let to = dir.path().join("out");
    let r = dtutil(
        &sql,
        None,
        &[
            "batch",
            "--from",
            &from,
            "--source-user",
            &sql.user,
            "--source-password",
            "env:DTUTIL_TEST_PW",
            "--to",
            to.to_str().unwrap(),
        ],
    );
    // Skipped rows make the exit 1, as for odd local names; the good package is copied.
    assert_eq!(r.code, 1, "{r:?}");
    assert!(to.join("good.dtsx").is_file(), "{r:?}");
    let written: Vec<_> = walkdir::WalkDir::new(&to)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dtsx"))
        .collect();
    assert_eq!(written, ["good.dtsx"], "{r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("begins with a blank"), "{r:?}");
    assert!(all.contains("NUL"), "{r:?}");
    assert!(all.contains("nothing in this folder was read"), "{r:?}");
    assert!(!all.contains("refused"), "{r:?}");
}
