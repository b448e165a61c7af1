//! Guards from review round 5 (findings-verify2): the files the Kerberos library reads
//! are refused at once when they are no regular files (F10), as every file a variable
//! names is.

// The guards use FIFOs and Unix permission bits; elsewhere their helpers stay unused.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

mod common;

use common::{dtutil_within, fifo, owned, shown};
use std::time::Duration;

/// F10: `KRB5CCNAME=FILE:<fifo>` held the sign-in in the Kerberos library's read with
/// no timeout. A FIFO, a device or a folder as the ticket cache, the client keytab or
/// the configuration is refused before the library reads it, naming the variable; a
/// cache that is not there is still "no ticket", and `KRB5_CONFIG=/dev/null` (no
/// configuration) still works.
#[cfg(unix)]
#[test]
fn kerberos_files_named_by_variables_are_read_only_when_regular() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("cc");
    fifo(&pipe);
    let pipe = pipe.to_str().unwrap();
    let missing = dir.path().join("missing.cc");
    let missing = format!("FILE:{}", missing.display());
    let sign_in = &["/SQL", "x", "/SourceServer", "127.0.0.1,1", "/EXISTS"];
    let limit = Duration::from_secs(20);
    let cases = [
        ("KRB5CCNAME", format!("FILE:{pipe}"), "a FIFO"),
        ("KRB5CCNAME", pipe.to_string(), "a FIFO"),
        ("KRB5CCNAME", format!("DIR::{pipe}"), "a FIFO"),
        (
            "KRB5CCNAME",
            "FILE:/dev/zero".to_string(),
            "a character device",
        ),
        ("KRB5_CLIENT_KTNAME", format!("FILE:{pipe}"), "a FIFO"),
        ("KRB5_CONFIG", pipe.to_string(), "a FIFO"),
        ("KRB5_CONFIG", format!("/dev/null:{pipe}"), "a FIFO"),
    ];
    for (var, value, kind) in cases {
        let mut env = vec![(var, value.as_str())];
        if var != "KRB5CCNAME" {
            env.push(("KRB5CCNAME", &missing));
        }
        let out = dtutil_within(dir.path(), &owned(&env), sign_in, limit);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(1), "{var}={value}: {text}");
        assert!(
            text.contains(&format!("{var} names `"))
                && text.contains(&format!("not a regular file (it is {kind}")),
            "{var}={value}: {text}"
        );
    }
    for env in [
        vec![("KRB5CCNAME", missing.as_str())],
        vec![
            ("KRB5CCNAME", missing.as_str()),
            ("KRB5_CONFIG", "/dev/null"),
        ],
    ] {
        let out = dtutil_within(dir.path(), &owned(&env), sign_in, limit);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(1), "{env:?}: {text}");
        assert!(!text.contains("not a regular file"), "{env:?}: {text}");
    }
}
