//! The msdb store (tiberius) against the msdb test server, started in this process,
//! without and with TLS (trusting the server's generated CA through `DTUTIL_SQL_CA`'s
//! option). The same scenarios run against a real SQL Server in `msdb_live.rs`.

#[path = "msdb/store_scenarios.rs"]
mod store_scenarios;
#[path = "msdb/support.rs"]
mod support;

use dtutil::store::msdb::{ConnectOptions, MsdbStore};
use dtutil::store::{PackageMeta, Store, StoreError};
use std::time::Duration;
use support::*;

const LOGINS: &[&str] = &[
    "sa:Sa-Secret1",
    "admin:Adm-Secret2:db_ssisadmin",
    "ltd:Ltd-Secret3:db_ssisltduser",
    "ltd2:Ltd-Secret4:db_ssisltduser",
    "op:Op-Secret5:db_ssisoperator",
    "norole:No-Secret6:",
];

shared_server!(plain, TestServer::start(false, LOGINS));
shared_server!(tls, TestServer::start(true, LOGINS));

#[test]
fn round_trip_plain() {
    store_scenarios::round_trip(&plain().sql("sa", "Sa-Secret1"));
}

#[test]
fn round_trip_tls() {
    store_scenarios::round_trip(&tls().sql("sa", "Sa-Secret1"));
}

#[test]
fn move_delete_holds_writers_off() {
    store_scenarios::delete_if_holds_writers_off(&tls().sql("sa", "Sa-Secret1"));
}

#[test]
fn missing_packages_and_folders() {
    store_scenarios::missing(&tls().sql("sa", "Sa-Secret1"));
}

#[test]
fn folders_plain() {
    store_scenarios::folders(&plain().sql("sa", "Sa-Secret1"));
}

#[test]
fn folders_tls() {
    store_scenarios::folders(&tls().sql("admin", "Adm-Secret2"));
}

#[test]
fn large_package_tls() {
    store_scenarios::large(&tls().sql("sa", "Sa-Secret1"), 5 << 20 | 12345);
}

#[test]
fn large_package_plain() {
    store_scenarios::large(&plain().sql("sa", "Sa-Secret1"), 5 << 20 | 12345);
}

#[test]
fn wrong_password() {
    store_scenarios::wrong_password(&tls().sql("sa", "Sa-Secret1"));
    store_scenarios::wrong_password(&plain().sql("op", "Op-Secret5"));
    // An unknown login gets the same answer.
    store_scenarios::wrong_password(&plain().sql("nobody", "x"));
}

/// db_ssisoperator reads but cannot overwrite or delete another owner's package
/// (14307); db_ssisltduser cannot touch another ltduser's package; a login without an
/// SSIS role gets 229. Each message says which role is needed.
#[test]
fn roles() {
    let server = tls();
    let ltd = server.sql("ltd", "Ltd-Secret3").store();
    let folder = unique("roles");
    ltd.folder_create("\\", &folder).unwrap();
    let path = format!("{folder}\\Owned");
    let (bytes, _) = package(1_000);
    ltd.write(&path, &bytes, &PackageMeta::default()).unwrap();

    let op = server.sql("op", "Op-Secret5").store();
    assert_eq!(op.read(&path).unwrap(), bytes);
    match op.write(&path, b"<x/>", &PackageMeta::default()) {
        Err(StoreError::PermissionDenied(m)) => {
            assert!(m.contains("14307") && m.contains("db_ssisadmin"), "{m}");
            assert!(m.contains(&server.server()), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        op.delete(&path),
        Err(StoreError::PermissionDenied(_))
    ));

    let ltd2 = server.sql("ltd2", "Ltd-Secret4").store();
    assert!(matches!(
        ltd2.write(&path, b"<x/>", &PackageMeta::default()),
        Err(StoreError::PermissionDenied(_))
    ));

    let norole = server.sql("norole", "No-Secret6").store();
    match norole.read(&path) {
        Err(StoreError::PermissionDenied(m)) => {
            assert!(m.contains("229") && m.contains("db_ssisoperator"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // The package is untouched; the admin may overwrite it.
    assert_eq!(ltd.read(&path).unwrap(), bytes);
    let admin = server.sql("admin", "Adm-Secret2").store();
    admin
        .write(&path, b"<y/>", &PackageMeta::default())
        .unwrap();
    admin.delete(&path).unwrap();
    admin.folder_delete("\\", &folder).unwrap();
}

/// A store connection is reused: many calls, one login (fast enough to show it).
#[test]
fn one_connection_for_many_calls() {
    let store = plain().sql("sa", "Sa-Secret1").store();
    let t = std::time::Instant::now();
    for _ in 0..200 {
        assert!(store.folder_exists("Maintenance Plans").unwrap());
    }
    eprintln!("200 folder_exists calls: {:?}", t.elapsed());
}

fn open_err(sql: &Sql) -> String {
    match MsdbStore::open(&sql.credentials(), &sql.options) {
        Ok(_) => panic!("connecting to {} should fail", sql.server),
        Err(e) => e.to_string(),
    }
}

/// TLS is required by default: a plain server is refused with the opt-outs named; a
/// TLS server whose CA is not trusted is refused with `DTUTIL_SQL_CA` named.
#[test]
fn tls_is_required_by_default() {
    let mut sql = plain().sql("sa", "Sa-Secret1");
    sql.options.encrypt = None;
    let m = open_err(&sql);
    assert!(m.contains("DTUTIL_SQL_ENCRYPT"), "{m}");

    let mut sql = tls().sql("sa", "Sa-Secret1");
    sql.options.ca = None;
    let m = open_err(&sql);
    assert!(
        m.contains("DTUTIL_SQL_CA") && m.contains("DTUTIL_SQL_TRUST_SERVER_CERTIFICATE"),
        "{m}"
    );

    // Trusting the server certificate without verification is an explicit opt-in.
    sql.options.trust_server_certificate = true;
    sql.store();

    // off against a TLS server: the server requires encryption, so the connection is
    // encrypted anyway and works.
    let mut sql = tls().sql("sa", "Sa-Secret1");
    sql.options.ca = None;
    sql.options.encrypt = Some("off".into());
    assert!(sql.store().folder_exists("\\").unwrap());
}

#[test]
fn bad_options_are_explained() {
    let mut sql = tls().sql("sa", "Sa-Secret1");
    sql.options.trust_server_certificate = true;
    assert!(open_err(&sql).contains("not both"));
    let mut sql = tls().sql("sa", "Sa-Secret1");
    sql.options.encrypt = Some("maybe".into());
    assert!(open_err(&sql).contains("DTUTIL_SQL_ENCRYPT"));
    let mut sql = tls().sql("sa", "Sa-Secret1");
    sql.options.ca = Some("/nonexistent/ca.pem".into());
    assert!(open_err(&sql).contains("/nonexistent/ca.pem"));
    let mut sql = tls().sql("sa", "Sa-Secret1");
    sql.server = "127.0.0.1,notaport".into();
    assert!(open_err(&sql).contains("notaport"));
}

/// No user: integrated authentication (Kerberos), which fails here (no ticket for this
/// server, or no KDC); whatever the reason, the message says what to give instead.
/// tests/kerberos.rs signs in for real.
#[test]
fn integrated_auth_is_explained() {
    let sql = plain().sql("sa", "Sa-Secret1");
    let credentials = dtutil::store::SqlCredentials {
        server: Some(sql.server.clone()),
        user: None,
        password: None,
        login_options: None,
    };
    let m = MsdbStore::open(&credentials, &sql.options)
        .err()
        .unwrap()
        .to_string();
    assert!(
        m.contains("integrated")
            && m.contains("/SourceUser")
            && m.contains("DTUTIL_SQL_ACCESS_TOKEN"),
        "{m}"
    );
    // With a token, the login is attempted (and refused by the test server: 18456).
    let options = ConnectOptions {
        access_token: Some("eyJ0eXAiOiJKV1Qi.fake.token".into()),
        ..sql.options.clone()
    };
    let m = MsdbStore::open(&credentials, &options)
        .err()
        .unwrap()
        .to_string();
    assert!(m.contains("login failed"), "{m}");
}

/// Nothing listening: "cannot reach" with the server, the port and what to check.
#[test]
fn unreachable_server() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut sql = plain().sql("sa", "Sa-Secret1");
    sql.server = format!("127.0.0.1,{port}");
    let m = open_err(&sql);
    assert!(
        m.contains("cannot reach")
            && m.contains(&format!("127.0.0.1:{port}"))
            && m.contains("firewall"),
        "{m}"
    );
    // A named instance: the SQL Browser is named.
    sql.server = "127.0.0.1\\NOSUCHINSTANCE".into();
    let m = open_err(&sql);
    assert!(
        m.contains("SQL Server Browser") || m.contains("SQL Browser"),
        "{m}"
    );
}

/// A server that answers slowly: the command timeout ends the wait with a message
/// naming the setting, and the next call reconnects.
#[test]
fn command_timeout() {
    let server = TestServer::start_with(false, &["sa:Sa-Secret1"], 1_500);
    let mut sql = server.sql("sa", "Sa-Secret1");
    sql.options.command_timeout = Some(Duration::from_millis(400));
    let store = sql.store();
    let t = std::time::Instant::now();
    let m = store
        .folder_exists("\\Maintenance Plans")
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("did not answer in time") && m.contains("DTUTIL_SQL_COMMAND_TIMEOUT"),
        "{m}"
    );
    // The driver's advice to programmers (kerberos F8, user F2) is not passed on.
    for driver_word in ["Config::", "tracing", "`None`", "out of sync"] {
        assert!(!m.contains(driver_word), "{m}");
    }
    assert!(
        t.elapsed() < Duration::from_millis(1_400),
        "{:?}",
        t.elapsed()
    );
}

/// A listener that accepts and never speaks: the connection timeout ends the wait.
#[test]
fn connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut sql = plain().sql("sa", "Sa-Secret1");
    sql.server = format!("127.0.0.1,{port}");
    sql.options.connect_timeout = Some(Duration::from_millis(500));
    let t = std::time::Instant::now();
    let m = open_err(&sql);
    assert!(
        m.contains("DTUTIL_SQL_CONNECT_TIMEOUT") || m.contains("no answer within"),
        "{m}"
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop(listener);
}
