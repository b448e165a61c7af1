//! dtutil's SQL forms end to end through the binary, against msdb test servers started in
//! this process (TLS with the generated CA in `DTUTIL_SQL_CA`, and plain with
//! `DTUTIL_SQL_ENCRYPT=off`). The same scenarios run against a real SQL Server in
//! `msdb_live.rs`.

#[path = "msdb/cli_scenarios.rs"]
mod cli_scenarios;
#[path = "msdb/support.rs"]
mod support;

use cli_scenarios::dtutil;
use support::*;

shared_server!(tls, TestServer::start(true, CLI_LOGINS));
shared_server!(plain, TestServer::start(false, CLI_LOGINS));

#[test]
fn file_to_sql_and_back_tls() {
    cli_scenarios::file_sql_file(&tls().sql("sa", "Sa-Secret1"));
}

#[test]
fn file_to_sql_and_back_plain() {
    cli_scenarios::file_sql_file(&plain().sql("sa", "Sa-Secret1"));
}

#[test]
fn folder_actions() {
    cli_scenarios::folders(&tls().sql("sa", "Sa-Secret1"));
}

#[test]
fn encrypt_move_and_server_to_server() {
    // Source and destination on two TLS servers with different CAs and logins; one
    // process trusts both through a PEM bundle in DTUTIL_SQL_CA.
    let other = TestServer::start(true, &["dest:Dest-Secret9"]);
    let dir = tempfile::tempdir().unwrap();
    let with_bundle = trusting_both(dir.path(), tls(), &other);
    cli_scenarios::encrypt_move_between(
        &with_bundle(tls().sql("sa", "Sa-Secret1"), &[]),
        &with_bundle(other.sql("dest", "Dest-Secret9"), &[]),
    );
}

#[test]
fn wrong_password() {
    cli_scenarios::wrong_password(&tls().sql("sa", "Sa-Secret1"));
}

#[test]
fn five_mib_package() {
    cli_scenarios::large(&tls().sql("sa", "Sa-Secret1"), (5 << 20) + 777);
}

/// A db_ssisoperator cannot overwrite a package another login owns: 14307 → exit 1 with
/// the role it needs; the package is unchanged.
#[test]
fn operator_cannot_overwrite() {
    let server = tls();
    let ltd = server.sql("ltd", "Ltd-Secret3");
    let op = server.sql("op", "Op-Secret5");
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = package(3_000);
    let file = dir.path().join("p.dtsx");
    std::fs::write(&file, &bytes).unwrap();
    let name = unique("owned");
    let put = |sql: &Sql| {
        dtutil(
            sql,
            None,
            &[
                "/FILE",
                file.to_str().unwrap(),
                "/DestServer",
                &sql.server,
                "/DestUser",
                &sql.user,
                "/DestPassword",
                "env:DTUTIL_TEST_PW",
                "/COPY",
                &format!("SQL;{name}"),
                "/Q",
            ],
        )
    };
    let r = put(&ltd);
    assert_eq!(r.code, 0, "{r:?}");
    let r = put(&op);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("14307") && r.stderr.contains("db_ssisadmin"),
        "{r:?}"
    );
    // The operator may still read it.
    let out = dir.path().join("out.dtsx");
    let r = dtutil(
        &op,
        None,
        &[
            "/SQL",
            &name,
            "/SourceServer",
            &op.server,
            "/SourceUser",
            "op",
            "/SourcePassword",
            "env:DTUTIL_TEST_PW",
            "/COPY",
            &format!("FILE;{}", out.display()),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(std::fs::read(out).unwrap() == bytes);
}

/// No TLS opt-in against a TLS server whose CA is unknown: exit 1 naming the variables.
#[test]
fn untrusted_certificate_is_explained() {
    let mut sql = tls().sql("sa", "Sa-Secret1");
    sql.env.clear();
    let r = dtutil(
        &sql,
        None,
        &[
            "/SourceServer",
            &sql.server,
            "/SourceUser",
            "sa",
            "/SourcePassword",
            "env:DTUTIL_TEST_PW",
            "/FE",
            "SQL;Maintenance Plans",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("DTUTIL_SQL_CA"), "{r:?}");
}

/// Nothing listening: exit 1, the server and what to check.
#[test]
fn unreachable_server_is_explained() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sql = tls().sql("sa", "Sa-Secret1");
    let server = format!("127.0.0.1,{port}");
    let r = dtutil(
        &sql,
        None,
        &[
            "/SQL",
            "F\\p",
            "/SourceServer",
            &server,
            "/SourceUser",
            "sa",
            "/SourcePassword",
            "env:DTUTIL_TEST_PW",
            "/EXISTS",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("cannot reach") && r.stderr.contains(&server),
        "{r:?}"
    );
}

/// Adversary3 F6: a password pasted into the login name (`etl;Password=...`, the URL
/// habit `user:password`) is never shown: a connection-string setting is refused
/// before anything connects (exit 6), and the server's "login failed for user" shows
/// only what comes before a `:`.
#[test]
fn a_password_pasted_into_the_login_is_never_shown() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out");
    let to = to.to_str().unwrap();
    let from = format!("sql://{}/", sql.server);
    let lines: Vec<Vec<&str>> = vec![
        vec![
            "/SQL",
            "x",
            "/SourceServer",
            &sql.server,
            "/SourceUser",
            "etl;Password=S3crP3",
            "/EXISTS",
        ],
        vec![
            "batch",
            "--from",
            &from,
            "--source-user",
            "etl;Pwd=S3crU9",
            "--source-password",
            "env:DTUTIL_TEST_PW",
            "--to",
            to,
            "--dry-run",
            "--json",
        ],
        vec![
            "assess",
            &from,
            "--sql-user",
            "etl;Password=S3crUA",
            "--sql-password",
            "env:DTUTIL_TEST_PW",
            "--sarif",
        ],
    ];
    for args in &lines {
        let r = dtutil(&sql, None, args);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert_eq!(r.code, 6, "{args:?}: {r:?}");
        assert!(!all.contains("S3cr"), "{args:?} showed it: {r:?}");
        assert!(all.contains("in the login name is not supported"), "{r:?}");
    }
    let r = dtutil(
        &sql,
        None,
        &[
            "/SQL",
            "x",
            "/SourceServer",
            &sql.server,
            "/SourceUser",
            "etl:S3crP2",
            "/SourcePassword",
            "env:DTUTIL_TEST_PW",
            "/EXISTS",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("login failed for user 'etl:<redacted>'"),
        "{r:?}"
    );
    assert!(
        !format!("{}{}", r.stdout, r.stderr).contains("S3crP2"),
        "{r:?}"
    );
    assert!(!to_exists(to), "nothing written");
}

fn to_exists(path: &str) -> bool {
    std::path::Path::new(path).exists()
}

/// Review user3 F14: a level 3 package keeps its id, version and type inside the
/// encryption. Copied into msdb without /Decrypt it got a made-up id (a new one on every
/// copy) and version 1.0.0; now exit 5 naming /Decrypt, nothing written. With /Decrypt
/// the row carries the package's own id and version.
#[test]
fn a_package_encrypted_whole_goes_into_msdb_with_its_password_only() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/fixtures/real/shirashiki_security_test_pass_is_banana.EncryptAllWithPassword.fmt8.dtsx",
    );
    if !fixture.exists() {
        eprintln!("skipped: the real fixtures are not here");
        return;
    }
    let sql = tls().sql("sa", "Sa-Secret1");
    let name = unique("sealed");
    let dest = format!("SQL;{name}");
    let copy = |decrypt: &[&str]| {
        let mut args = vec![
            "/FILE",
            fixture.to_str().unwrap(),
            "/DestServer",
            &sql.server,
            "/DestUser",
            "sa",
            "/DestPassword",
            "env:DTUTIL_TEST_PW",
        ];
        args.extend_from_slice(decrypt);
        args.extend_from_slice(&["/COPY", &dest]);
        dtutil(&sql, None, &args)
    };
    let r = copy(&[]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("level 3") && r.stderr.contains("give it with /Decrypt PASSWORD"),
        "{r:?}"
    );
    assert!(package_row(&sql, &name).is_none(), "nothing written");

    let r = copy(&["/Decrypt", "banana"]);
    assert_eq!(r.code, 0, "{r:?}");
    let row = package_row(&sql, &name).unwrap();
    assert_eq!(row.id, guid("{09C230FC-3C98-494F-B04A-4F3BA00A8A90}"));
    assert_eq!((row.vermajor, row.verminor, row.verbuild), (1, 0, 10));

    // batch: that package's row fails the same way, the rest of the run goes on.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&fixture, dir.path().join("sealed.dtsx")).unwrap();
    let folder = unique("sealedbatch");
    let to = format!("sql://{}/{folder}", sql.server);
    let from = dir.path().to_str().unwrap();
    let batch = ["batch", "--from", from, "--to", &to, "--dest-user", "sa"];
    let r = dtutil(
        &sql,
        None,
        &[&batch[..], &["--dest-password", "env:DTUTIL_TEST_PW"]].concat(),
    );
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("level 3") && r.stdout.contains("give it with --decrypt"),
        "{r:?}"
    );
}
