//! A ServerStorage (level 5) package keeps its sensitive values in the clear for SQL
//! Server's roles to guard. Taken out of msdb to a file it must be re-protected on the
//! way (SSIS refuses the save: DTS_E_SERVERSTORAGEDISALLOWED): `/COPY`, `/MOVE` and
//! `batch` refuse it, exit 1, nothing written, the source kept; `/ENCRYPT` to 0, 2 or 3
//! and `batch --encrypt` are the way out.

#[path = "msdb/cli_scenarios.rs"]
#[allow(dead_code)]
mod cli_scenarios;
#[path = "msdb/support.rs"]
mod support;

use cli_scenarios::{dtutil, Run};
use dtutil::store::Store;
use support::*;

shared_server!(plain, TestServer::start(false, CLI_LOGINS));

const SECRET: &str = "s3cret-Pw";

fn with_login(sql: &Sql, side: &str, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend([
        format!("/{side}Server"),
        sql.server.clone(),
        format!("/{side}User"),
        sql.user.clone(),
        format!("/{side}Password"),
        "env:DTUTIL_TEST_PW".into(),
    ]);
    all
}

fn run(sql: &Sql, args: Vec<String>) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dtutil(sql, None, &args)
}

fn refused(r: &Run, what: &str) {
    assert_eq!(r.code, 1, "{what}: {r:?}");
    assert!(r.stdout.contains("ServerStorage"), "{what}: {r:?}");
    assert!(
        r.stdout.contains("DTS_E_SERVERSTORAGEDISALLOWED"),
        "{what}: {r:?}"
    );
    assert!(r.stdout.contains("nothing written"), "{what}: {r:?}");
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET));
}

/// A level 5 package put into msdb; its name there.
fn level5_in_msdb(sql: &Sql, dir: &std::path::Path) -> String {
    let (bytes, _) = server_storage_package(4_000);
    assert!(String::from_utf8_lossy(&bytes).contains(SECRET));
    let file = dir.join("l5.dtsx");
    std::fs::write(&file, &bytes).unwrap();
    let name = unique("l5");
    let put = with_login(
        sql,
        "Dest",
        &[
            "/FILE",
            file.to_str().unwrap(),
            "/COPY",
            &format!("SQL;{name}"),
            "/Q",
        ],
    );
    let r = run(sql, put);
    assert_eq!(r.code, 0, "{r:?}");
    name
}

#[test]
fn single_commands_refuse_level5_out_of_msdb_unless_reprotected() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let dir = tempfile::tempdir().unwrap();
    let name = level5_in_msdb(&sql, dir.path());
    let out = dir.path().join("out.dtsx");
    let dest = format!("FILE;{}", out.display());

    for action in ["/COPY", "/MOVE"] {
        let r = run(
            &sql,
            with_login(&sql, "Source", &["/SQL", &name, action, &dest, "/Q"]),
        );
        refused(&r, action);
        assert!(r.stdout.contains(&name), "names the package: {r:?}");
        assert!(r.stdout.contains("/ENCRYPT"), "names the fix: {r:?}");
        assert!(!out.exists(), "{action} wrote {}", out.display());
        let exists = run(
            &sql,
            with_login(&sql, "Source", &["/SQL", &name, "/EXISTS"]),
        );
        assert_eq!(exists.code, 0, "{action} lost the source: {exists:?}");
    }

    // Re-protected explicitly on the way: level 2 with a password, or level 0.
    let enc = format!("FILE;{};2;Str0ng!pw", out.display());
    let r = run(
        &sql,
        with_login(&sql, "Source", &["/SQL", &name, "/ENCRYPT", &enc]),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(!written.contains(SECRET) && written.contains("ProtectionLevel=\"2\""));
    let enc0 = format!("FILE;{};0", out.display());
    let r = run(
        &sql,
        with_login(&sql, "Source", &["/SQL", &name, "/ENCRYPT", &enc0]),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!std::fs::read_to_string(&out).unwrap().contains(SECRET));

    // msdb to msdb keeps level 5: SQL Server guards it there too.
    let copy = unique("l5copy");
    let mut args = with_login(&sql, "Source", &["/SQL", &name]);
    args.extend(with_login(
        &sql,
        "Dest",
        &["/COPY", &format!("SQL;{copy}"), "/Q"],
    ));
    assert_eq!(run(&sql, args).code, 0);
    // A file copied to a file is not loaded (as dtutil): its values were in the clear.
    let (bytes, _) = server_storage_package(3_000);
    let local = dir.path().join("local5.dtsx");
    std::fs::write(&local, &bytes).unwrap();
    let r = dtutil(
        &sql,
        None,
        &[
            "/FILE",
            local.to_str().unwrap(),
            "/COPY",
            &format!("FILE;{}", dir.path().join("local5b.dtsx").display()),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn batch_refuses_level5_out_of_msdb_unless_reprotected() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let dir = tempfile::tempdir().unwrap();
    let folder = unique("L5");
    let r = run(
        &sql,
        with_login(&sql, "Source", &["/FC", &format!("SQL;\\;{folder}")]),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let (bytes, _) = server_storage_package(4_000);
    let file = dir.path().join("p.dtsx");
    std::fs::write(&file, &bytes).unwrap();
    let put = with_login(
        &sql,
        "Dest",
        &[
            "/FILE",
            file.to_str().unwrap(),
            "/COPY",
            &format!("SQL;{folder}\\p"),
        ],
    );
    assert_eq!(run(&sql, put).code, 0);

    let from = format!("sql://{}/{folder}", sql.server);
    let to = dir.path().join("out");
    let base = [
        "batch",
        "--from",
        &from,
        "--source-user",
        &sql.user,
        "--source-password",
        "env:DTUTIL_TEST_PW",
        "--to",
        to.to_str().unwrap(),
    ];
    for dry in [true, false] {
        let mut args = base.to_vec();
        if dry {
            args.push("--dry-run");
        }
        let r = dtutil(&sql, None, &args);
        refused(&r, "batch");
        assert!(r.stdout.contains("--encrypt"), "names the fix: {r:?}");
        assert!(!to.join("p.dtsx").exists(), "batch wrote the package");
    }
    let mut args = base.to_vec();
    args.extend(["--encrypt", "2;env:DTUTIL_TEST_PW"]);
    let r = dtutil(&sql, None, &args);
    assert_eq!(r.code, 0, "{r:?}");
    let written = std::fs::read_to_string(to.join("p.dtsx")).unwrap();
    assert!(!written.contains(SECRET) && written.contains("ProtectionLevel=\"2\""));
}

/// Adversary2 F4: a level 5 package planted in msdb with its level spelled otherwise
/// (a character reference, a second prefix for SSIS's namespace) is still kept there.
#[test]
fn level5_spelled_otherwise_is_kept_in_msdb() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = server_storage_package(4_000);
    let text = String::from_utf8(bytes).unwrap();
    let ns = "xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"";
    let level = "DTS:ProtectionLevel=\"5\"";
    assert!(text.contains(ns) && text.contains(level));
    let char_ref = text.replacen(level, "DTS:ProtectionLevel=\"&#53;\"", 1);
    let second_prefix = text
        .replacen(
            ns,
            &format!("{ns} xmlns:Q=\"www.microsoft.com/SqlServer/Dts\""),
            1,
        )
        .replacen(level, "Q:ProtectionLevel=\"5\"", 1);
    let store = sql.store();
    for (what, body) in [
        ("a character reference", char_ref),
        ("a second prefix", second_prefix),
    ] {
        let name = unique("l5x");
        store
            .write(
                &name,
                body.as_bytes(),
                &dtutil::store::PackageMeta::default(),
            )
            .unwrap();
        let out = dir.path().join(format!("{name}.dtsx"));
        let dest = format!("FILE;{}", out.display());
        for action in ["/COPY", "/MOVE"] {
            let r = run(
                &sql,
                with_login(&sql, "Source", &["/SQL", &name, action, &dest, "/Q"]),
            );
            assert_ne!(r.code, 0, "{what} {action}: {r:?}");
            assert!(
                r.stdout.contains("nothing written"),
                "{what} {action}: {r:?}"
            );
            assert!(!out.exists(), "{what} {action}: written");
            assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET));
        }
        assert!(store.exists(&name).unwrap(), "{what}: the source is kept");
    }
}
