//! `--help` is an answer: usage on stdout and exit 0 (issue 16).

#[test]
fn msdb_testserver_help_is_an_answer() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_msdb-testserver"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("usage: msdb-testserver"));
}
