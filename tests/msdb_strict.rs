//! dtutil with `DTUTIL_SQL_ENCRYPT=strict` (TDS 8.0: TLS before PRELOGIN, ALPN
//! `tds/8.0`, as SQL Server 2022 and Azure SQL Managed Instance offer it) against msdb
//! test servers that accept strict encryption only, certificate checks on: `/COPY` both
//! ways, folder actions, and the failures a user must be able to read (wrong host name,
//! untrusted CA, a client not in strict mode).

#[path = "msdb/cli_scenarios.rs"]
mod cli_scenarios;
#[path = "msdb/support.rs"]
mod support;

use cli_scenarios::dtutil;
use support::*;

const LOGINS: &[&str] = CLI_LOGINS;

shared_server!(strict, TestServer::start_strict_only("127.0.0.1", LOGINS));

/// `/SQL Missing /SourceServer ... /EXISTS` with this environment.
fn exists(sql: &Sql) -> cli_scenarios::Run {
    dtutil(
        sql,
        None,
        &[
            "/SQL",
            "NoSuchPackage",
            "/SourceServer",
            &sql.server,
            "/SourceUser",
            &sql.user,
            "/SourcePassword",
            "env:DTUTIL_TEST_PW",
            "/EXISTS",
        ],
    )
}

#[test]
fn strict_copy_file_to_sql_and_back() {
    cli_scenarios::file_sql_file(&strict().sql_strict("sa", "Sa-Secret1"));
}

#[test]
fn strict_folder_actions() {
    cli_scenarios::folders(&strict().sql_strict("sa", "Sa-Secret1"));
}

#[test]
fn strict_large_package_both_ways() {
    cli_scenarios::large(&strict().sql_strict("sa", "Sa-Secret1"), (5 << 20) + 777);
}

#[test]
fn strict_wrong_password_is_18456() {
    cli_scenarios::wrong_password(&strict().sql_strict("sa", "Sa-Secret1"));
}

#[test]
fn strict_encrypt_and_move_between_servers() {
    // From a strict-only server to one that also takes TDS 7.x, both in strict mode;
    // one process trusts both CAs through a PEM bundle in DTUTIL_SQL_CA.
    let both = TestServer::start(true, &["dest:Dest-Secret9"]);
    let dir = tempfile::tempdir().unwrap();
    let with_bundle = trusting_both(dir.path(), strict(), &both);
    let strict_env = [("DTUTIL_SQL_ENCRYPT", "strict")];
    cli_scenarios::encrypt_move_between(
        &with_bundle(strict().sql_strict("sa", "Sa-Secret1"), &strict_env),
        &with_bundle(both.sql_strict("dest", "Dest-Secret9"), &strict_env),
    );
}

#[test]
fn strict_checks_the_host_name() {
    // Listening on 127.0.0.2, a name the certificate (localhost, 127.0.0.1) lacks.
    let server = TestServer::start_strict_only("127.0.0.2", LOGINS);
    let r = exists(&server.sql_strict("sa", "Sa-Secret1"));
    assert_eq!(r.code, 1, "{r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("TLS handshake failed"), "{r:?}");
    assert!(all.contains("127.0.0.2"), "names the server: {r:?}");
    assert!(
        all.to_ascii_lowercase().contains("certificate"),
        "says it is the certificate: {r:?}"
    );
    assert!(!all.contains("Sa-Secret1"), "no password in output");
}

#[test]
fn strict_refuses_an_untrusted_ca() {
    // Another server's CA: a valid certificate chain, from the wrong authority.
    let other = TestServer::start(true, LOGINS);
    let mut sql = strict().sql_strict("sa", "Sa-Secret1");
    let other_ca = other.ca.as_ref().unwrap().display().to_string();
    sql.env.retain(|(k, _)| k != "DTUTIL_SQL_CA");
    sql.env.push(("DTUTIL_SQL_CA".into(), other_ca));
    let r = exists(&sql);
    assert_eq!(r.code, 1, "{r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("TLS handshake failed"), "{r:?}");
    assert!(all.contains("DTUTIL_SQL_CA"), "says what to set: {r:?}");
}

#[test]
fn a_strict_only_server_refuses_tds7_encryption_clearly() {
    let r = exists(&strict().sql("sa", "Sa-Secret1"));
    assert_eq!(r.code, 1, "{r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("closed the connection"), "{r:?}");
    assert!(
        all.contains("DTUTIL_SQL_ENCRYPT=strict"),
        "points to strict: {r:?}"
    );
}

#[test]
fn strict_reaches_the_package_as_other_logins_do() {
    // Roles still apply over TDS 8.0: an operator may not create folders (14591).
    let sql = strict().sql_strict("op", "Op-Secret5");
    let r = dtutil(
        &sql,
        None,
        &[
            "/SourceServer",
            &sql.server,
            "/SourceUser",
            "op",
            "/SourcePassword",
            "env:DTUTIL_TEST_PW",
            "/FC",
            &format!("SQL;\\;{}", unique("OpFolder")),
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
}
