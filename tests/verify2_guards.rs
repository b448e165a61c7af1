//! Guards from review round 5 (findings-verify2): the files the Kerberos library reads
//! are refused at once when they are no regular files (F10), as every file a variable
//! names is.

// The guards use FIFOs and Unix permission bits; elsewhere their helpers stay unused.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

mod common;

use common::{dtutil_within, fifo, owned, shown};
use std::path::Path;
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

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// F3: a copy of a package only its owner may read (`/COPY`, `/ENCRYPT` to a new file,
/// `batch`, `project --out`) was made 0644 where `cp` keeps 0600. A new file now takes
/// its local source's permission bits (less the umask), always writable by its owner,
/// and `/MOVE` keeps the source's mode exactly.
#[cfg(unix)]
#[test]
fn a_new_file_takes_its_local_sources_permission_bits() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ledger = Path::new(root).join("fixtures/migration/packages/Finance/Ledger.dtsx");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = common::dtutil_clean(d, &[], args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", shown(&out));
    };
    // Whatever the umask, a private source gives a private copy.
    let private = |path: &Path| {
        let m = mode(path);
        assert_eq!(m & 0o077, 0, "{}: {m:o}", path.display());
        assert_eq!(m & 0o600, 0o600, "{}: {m:o}", path.display());
    };
    std::fs::copy(&ledger, d.join("s.dtsx")).unwrap();
    set_mode(&d.join("s.dtsx"), 0o600);
    run(&["/FILE", "s.dtsx", "/COPY", "FILE;copy.dtsx"]);
    private(&d.join("copy.dtsx"));
    run(&["/FILE", "s.dtsx", "/ENCRYPT", "FILE;enc.dtsx;2;pass:pw"]);
    private(&d.join("enc.dtsx"));

    std::fs::create_dir(d.join("bs")).unwrap();
    std::fs::copy(&ledger, d.join("bs/a.dtsx")).unwrap();
    set_mode(&d.join("bs/a.dtsx"), 0o600);
    std::fs::copy(&ledger, d.join("bs/ro.dtsx")).unwrap();
    set_mode(&d.join("bs/ro.dtsx"), 0o444);
    run(&["batch", "--from", "bs", "--to", "bd"]);
    private(&d.join("bd/a.dtsx"));
    // A read-only source (a source-control checkout) gives a copy its owner may write.
    let ro = mode(&d.join("bd/ro.dtsx"));
    assert_eq!(ro & 0o200, 0o200, "{ro:o}");
    assert_eq!(ro & 0o022, 0, "never writable by others: {ro:o}");

    // A move keeps the mode as it is, as a rename does.
    std::fs::copy(&ledger, d.join("m.dtsx")).unwrap();
    set_mode(&d.join("m.dtsx"), 0o604);
    run(&["/FILE", "m.dtsx", "/MOVE", "FILE;moved.dtsx"]);
    assert_eq!(mode(&d.join("moved.dtsx")), 0o604);

    let real = Path::new(root).join("../shared/fixtures/real");
    if !real.is_dir() {
        return;
    }
    std::fs::create_dir(d.join("pro")).unwrap();
    for (from, to) in [
        (
            "ssisbuild_SampleSSISProject.EncryptSensitiveWithPassword.dtproj",
            "SampleSSISProject.dtproj",
        ),
        (
            "ssisbuild_Project.EncryptSensitiveWithPassword.params",
            "Project.params",
        ),
        (
            "ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx",
            "Package 221.dtsx",
        ),
    ] {
        std::fs::copy(real.join(from), d.join("pro").join(to)).unwrap();
        set_mode(&d.join("pro").join(to), 0o600);
    }
    run(&[
        "project",
        "pro",
        "--decrypt",
        "ssis123",
        "--encrypt",
        "2;pass:NEWPW",
        "--out",
        "pout",
    ]);
    for name in [
        "SampleSSISProject.dtproj",
        "Project.params",
        "Package 221.dtsx",
    ] {
        private(&d.join("pout").join(name));
    }
}

/// F6: `batch --overwrite` onto a read-only file said "Add /Q", an option batch does
/// not have. The advice is batch's own (make it writable, or --skip-existing); the
/// single-package switches still name /Q.
#[cfg(unix)]
#[test]
fn a_read_only_destination_gets_advice_of_the_command_that_met_it() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ledger = Path::new(root).join("fixtures/migration/packages/Finance/Ledger.dtsx");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("bs")).unwrap();
    std::fs::create_dir(d.join("bo")).unwrap();
    std::fs::copy(&ledger, d.join("bs/a.dtsx")).unwrap();
    std::fs::copy(&ledger, d.join("bo/a.dtsx")).unwrap();
    set_mode(&d.join("bo/a.dtsx"), 0o444);
    let batch = ["batch", "--from", "bs", "--to", "bo", "--overwrite"];
    let out = common::dtutil_clean(d, &[], &batch);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("is read-only; nothing written. batch never replaces a read-only file: make it writable first (chmod u+w)"),
        "{text}"
    );
    assert!(!text.contains("/Q"), "{text}");
    set_mode(&d.join("bo/a.dtsx"), 0o644);
    let out = common::dtutil_clean(d, &[], &batch);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));

    set_mode(&d.join("bo/a.dtsx"), 0o444);
    let out = common::dtutil_clean(
        d,
        &[],
        &["/FILE", "bs/a.dtsx", "/ENCRYPT", "FILE;bo/a.dtsx;0"],
    );
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("is read-only; nothing written. Add /Q to replace it anyway"),
        "{text}"
    );
}
