//! msdb keeps a package or folder name in a `sysname` (nvarchar(128)): SQL Server cuts
//! a longer procedure argument without an error and compares names ignoring case and
//! trailing blanks (the test server does the same). Names msdb would take for another
//! one are refused before anything is written, so a `/MOVE /Q` between two long names
//! cannot delete the package and a batch cannot write two sources onto one row
//! (review user4 F4).

#[path = "msdb/cli_scenarios.rs"]
#[allow(dead_code)]
mod cli_scenarios;
#[path = "msdb/support.rs"]
mod support;

use cli_scenarios::{dtutil, Run};
use support::*;

shared_server!(plain, TestServer::start(false, CLI_LOGINS));

fn with_login(sql: &Sql, args: &[&str], side: &str) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    for (switch, value) in [
        ("Server", sql.server.as_str()),
        ("User", sql.user.as_str()),
        ("Password", "env:DTUTIL_TEST_PW"),
    ] {
        out.push(format!("/{side}{switch}"));
        out.push(value.to_string());
    }
    out
}

fn run(sql: &Sql, args: Vec<String>) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dtutil(sql, None, &args)
}

/// The names `/FDi` lists in `folder` (after the four banner lines).
fn listing(sql: &Sql, folder: &str) -> Vec<String> {
    let r = run(
        sql,
        with_login(sql, &["/FDi", &format!("SQL;{folder}")], "Source"),
    );
    assert_eq!(r.code, 0, "{r:?}");
    r.stdout
        .lines()
        .skip(4)
        .filter(|l| !l.is_empty() && !l.starts_with("The operation"))
        .map(str::to_string)
        .collect()
}

fn create_folder(sql: &Sql, name: &str) {
    let r = run(
        sql,
        with_login(sql, &["/FC", &format!("SQL;\\;{name}")], "Source"),
    );
    assert_eq!(r.code, 0, "{r:?}");
}

fn refused_as_too_long(r: &Run, length: usize) {
    assert_eq!(r.code, 6, "{r:?}");
    assert!(
        r.stderr.contains(&format!("is {length} characters long"))
            && r.stderr.contains("at most 128"),
        "{r:?}"
    );
}

#[test]
fn copy_and_folder_create_refuse_names_msdb_would_cut() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let dir = tempfile::tempdir().unwrap();
    let top = unique("LONG");
    create_folder(&sql, &top);
    let file = dir.path().join("p.dtsx");
    std::fs::write(&file, package(2_000).0).unwrap();
    let file = file.to_str().unwrap();

    let name = "Q".repeat(140);
    let r = run(
        &sql,
        with_login(
            &sql,
            &["/FILE", file, "/COPY", &format!("SQL;{top}\\{name}")],
            "Dest",
        ),
    );
    refused_as_too_long(&r, 140);
    let r = run(
        &sql,
        with_login(
            &sql,
            &["/FC", &format!("SQL;{top};{}", "F".repeat(140))],
            "Source",
        ),
    );
    refused_as_too_long(&r, 140);
    assert!(listing(&sql, &top).is_empty());

    // 128 characters is msdb's own limit: accepted and stored whole.
    let exact = "Q".repeat(128);
    let r = run(
        &sql,
        with_login(
            &sql,
            &["/FILE", file, "/COPY", &format!("SQL;{top}\\{exact}")],
            "Dest",
        ),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(listing(&sql, &top), [exact]);
}

#[test]
fn move_q_between_two_long_names_keeps_the_package() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let dir = tempfile::tempdir().unwrap();
    let top = unique("LOSS");
    create_folder(&sql, &top);
    let file = dir.path().join("p.dtsx");
    std::fs::write(&file, package(2_000).0).unwrap();
    let k = "K".repeat(128);
    let r = run(
        &sql,
        with_login(
            &sql,
            &[
                "/FILE",
                file.to_str().unwrap(),
                "/COPY",
                &format!("SQL;{top}\\{k}"),
            ],
            "Dest",
        ),
    );
    assert_eq!(r.code, 0, "{r:?}");
    for source in [format!("{k}__a"), k.clone()] {
        let mut args = with_login(&sql, &["/SQL", &format!("{top}\\{source}")], "Source");
        args.extend(with_login(
            &sql,
            &["/MOVE", &format!("SQL;{top}\\{k}__b"), "/Q"],
            "Dest",
        ));
        refused_as_too_long(&run(&sql, args), 131);
        assert_eq!(listing(&sql, &top), std::slice::from_ref(&k), "{source}");
    }
}

fn batch_overwrite(sql: &Sql, from: &std::path::Path, to: &str) -> Run {
    let to = format!("sql://{}/{to}", sql.server);
    dtutil(
        sql,
        None,
        &[
            "batch",
            "--from",
            from.to_str().unwrap(),
            "--to",
            &to,
            "--dest-user",
            &sql.user,
            "--dest-password",
            "env:DTUTIL_TEST_PW",
            "--overwrite",
        ],
    )
}

#[test]
fn batch_skips_names_msdb_would_take_for_another() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("Sales")).unwrap();
    std::fs::create_dir_all(src.join("Sales ")).unwrap();
    let long = "L".repeat(130);
    for name in [
        format!("{long}_Daily.dtsx"),
        format!("{long}_Weekly.dtsx"),
        "Pkg.dtsx".to_string(),
        "Pkg .dtsx".to_string(),
        "Sales/Load.dtsx".to_string(),
        "Sales /Load.dtsx".to_string(),
    ] {
        std::fs::write(src.join(name), package(2_000).0).unwrap();
    }
    let top = unique("MIG");
    create_folder(&sql, &top);
    let r = batch_overwrite(&sql, &src, &top);
    // Skipped rows make the exit 1; nothing lands on another package's row.
    assert_eq!(r.code, 1, "{r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("is 136 characters long"), "{r:?}");
    assert!(all.contains("is 137 characters long"), "{r:?}");
    assert!(all.contains("the name `Pkg ` ends with a blank"), "{r:?}");
    assert!(all.contains("the name `Sales ` ends with a blank"), "{r:?}");
    assert!(all.contains("2 ok"), "{r:?}");
    let mut listed = listing(&sql, &top);
    listed.sort();
    assert_eq!(listed, ["Pkg", "Sales\\"], "{r:?}");
    assert_eq!(listing(&sql, &format!("{top}\\Sales")), ["Load"], "{r:?}");
}
