//! The msdb store and dtutil's SQL forms against a real SQL Server, when
//! `DTUTIL_TEST_SQLSERVER` names one
//! (`server=HOST,PORT;user=U;password=P[;trustservercertificate=true][;ca=PATH][;encrypt=on|strict|off]`);
//! skipped with a printed reason otherwise. See docs/msdb.md for a SQL Server container.
//! The same scenarios as `msdb_store.rs` and `msdb_cli.rs`; each works in folders and
//! packages with unique names and removes them. Tests that need extra logins (roles)
//! run only on the test server.

#[path = "msdb/cli_scenarios.rs"]
mod cli_scenarios;
#[path = "msdb/store_scenarios.rs"]
mod store_scenarios;
#[path = "msdb/support.rs"]
mod support;

#[test]
fn live_store() {
    let Some(sql) = support::live() else { return };
    store_scenarios::round_trip(&sql);
    store_scenarios::missing(&sql);
    store_scenarios::folders(&sql);
    store_scenarios::large(&sql, 5 << 20);
    store_scenarios::wrong_password(&sql);
    store_scenarios::delete_if_holds_writers_off(&sql);
}

#[test]
fn live_cli() {
    let Some(sql) = support::live() else { return };
    cli_scenarios::file_sql_file(&sql);
    cli_scenarios::folders(&sql);
    cli_scenarios::encrypt_move_between(&sql, &sql);
    cli_scenarios::wrong_password(&sql);
    cli_scenarios::large(&sql, 5 << 20);
}
