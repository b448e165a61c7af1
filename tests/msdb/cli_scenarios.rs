//! Real dtutil script forms end to end through the binary, against the test server
//! (`msdb_cli.rs`) and a live SQL Server (`msdb_live.rs`).

use super::support::*;
use dtutil::store::Store;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// The environment variable the tests pass passwords through (`env:DTUTIL_TEST_PW`),
/// as scripts should: never on the command line.
const PW: &str = "DTUTIL_TEST_PW";
const PW2: &str = "DTUTIL_TEST_PW2";

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Line index 4: the first result line after the banner, as scripts read it.
    pub fn line4(&self) -> &str {
        self.stdout.lines().nth(4).unwrap_or("")
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs dtutil with `sql`'s TLS environment and its password in `DTUTIL_TEST_PW`
/// (and `other`'s in `DTUTIL_TEST_PW2`), stdin closed (no terminal).
pub fn dtutil(sql: &Sql, other: Option<&Sql>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dtutil"));
    cmd.args(args)
        .stdin(Stdio::null())
        .env(PW, &sql.password)
        .env_remove("DTUTIL_SQL_CA")
        .env_remove("DTUTIL_SQL_ENCRYPT")
        .env_remove("DTUTIL_SQL_TRUST_SERVER_CERTIFICATE")
        .env_remove("DTUTIL_SQL_ACCESS_TOKEN");
    for (k, v) in &sql.env {
        cmd.env(k, v);
    }
    if let Some(other) = other {
        cmd.env(PW2, &other.password);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `/SourceServer S /SourceUser U /SourcePassword env:DTUTIL_TEST_PW`
fn source(sql: &Sql) -> Vec<String> {
    vec![
        "/SourceServer".into(),
        sql.server.clone(),
        "/SourceUser".into(),
        sql.user.clone(),
        "/SourcePassword".into(),
        format!("env:{PW}"),
    ]
}

fn dest(sql: &Sql, pw: &str) -> Vec<String> {
    vec![
        "/DestServer".into(),
        sql.server.clone(),
        "/DestUser".into(),
        sql.user.clone(),
        "/DestPassword".into(),
        format!("env:{pw}"),
    ]
}

fn run(sql: &Sql, args: Vec<String>) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dtutil(sql, None, &args)
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("The operation completed successfully."),
        "{r:?}"
    );
}

fn write_package(
    dir: &Path,
    name: &str,
    size: usize,
) -> (std::path::PathBuf, Vec<u8>, PackageSpec) {
    let (bytes, spec) = package(size);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes, spec)
}

/// FILE → SQL into `\Maintenance Plans` and back, bytes identical both ways, the row
/// filled from the package; /EXISTS on line 4; /DELETE; missing package → exit 4.
pub fn file_sql_file(sql: &Sql) {
    let dir = tempfile::tempdir().unwrap();
    let (file, bytes, spec) = write_package(dir.path(), "p.dtsx", 30_000);
    let name = unique("cli");
    let target = format!("SQL;\"\\Maintenance Plans\\{name}\"");

    let mut args = strs(&["/FILE", file.to_str().unwrap()]);
    args.extend(dest(sql, PW));
    args.extend(strs(&["/COPY", &target, "/Q"]));
    ok(&run(sql, args));

    let row = package_row(sql, &name).expect("row written");
    assert_eq!(row.id, guid(&spec.id));
    assert_eq!(row.verid, guid(&spec.version_guid));
    assert_eq!(
        (row.vermajor, row.verminor, row.verbuild),
        (spec.major, spec.minor, spec.build)
    );
    assert_eq!((row.packageformat, row.packagetype), (3, 5));
    assert_eq!(row.description.as_deref(), Some(spec.description.as_str()));
    assert!(!row.isencrypted);

    let pkg = format!("Maintenance Plans\\{name}");
    let mut args = strs(&["/SQL", &pkg]);
    args.extend(source(sql));
    args.push("/EXISTS".into());
    let r = run(sql, args.clone());
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.line4(), "The specified package exists.", "{r:?}");

    let out = dir.path().join("out.dtsx");
    let mut copy = strs(&["/SQL", &pkg]);
    copy.extend(source(sql));
    copy.extend(strs(&["/COPY", &format!("FILE;{}", out.display())]));
    ok(&run(sql, copy.clone()));
    assert!(
        std::fs::read(&out).unwrap() == bytes,
        "bytes differ after SQL → FILE"
    );

    // Without /Q and without a terminal, an existing destination is not overwritten.
    let mut again = strs(&["/FILE", file.to_str().unwrap()]);
    again.extend(dest(sql, PW));
    again.extend(strs(&["/COPY", &target]));
    let r = run(sql, again);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("/Q"), "{r:?}");

    let mut del = strs(&["/SQL", &pkg]);
    del.extend(source(sql));
    del.push("/DELETE".into());
    ok(&run(sql, del.clone()));
    let r = run(sql, args);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.line4(), "The specified package does not exist.", "{r:?}");
    let r = run(sql, del);
    assert_eq!(r.code, 4, "{r:?}");
    let r = run(sql, copy);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains(&name), "{r:?}");
}

/// /FC /FE /FDi (text and --json) /FR /FDe on SQL, with the lines scripts read.
pub fn folders(sql: &Sql) {
    let top = unique("F");
    let src = source(sql);
    let with = |more: &[&str]| {
        let mut a = src.clone();
        a.extend(strs(more));
        run(sql, a)
    };
    ok(&with(&["/FC", &format!("SQL;\\;{top}")]));
    let r = with(&["/FE", &format!("SQL;{top}")]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.line4(), "The specified folder exists.", "{r:?}");
    let r = with(&["/FE", &format!("SQL;{top}\\nope")]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.line4(), "The specified folder does not exist.", "{r:?}");
    let r = with(&["/FC", &format!("SQL;\\;{top}")]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("already exists"), "{r:?}");
    ok(&with(&["/FC", &format!("SQL;{top};Sub")]));
    ok(&with(&["/FC", &format!("SQL;{top}\\Sub;Leaf")]));

    let dir = tempfile::tempdir().unwrap();
    let (file, _, _) = write_package(dir.path(), "p.dtsx", 2_000);
    for target in [format!("{top}\\Sub\\P1"), format!("{top}\\P0")] {
        let mut a = strs(&["/FILE", file.to_str().unwrap()]);
        a.extend(dest(sql, PW));
        a.extend(strs(&["/COPY", &format!("SQL;{target}"), "/Q"]));
        ok(&run(sql, a));
    }

    let r = with(&["/FDi", &format!("SQL;{top};S")]);
    assert_eq!(r.code, 0, "{r:?}");
    for needle in ["Sub", "Leaf", "P1", "P0"] {
        assert!(r.stdout.contains(needle), "{needle}: {r:?}");
    }
    let r = with(&["/FDi", &format!("SQL;{top};S"), "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let paths: Vec<String> = r
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["path"].as_str().map(str::to_string))
        .collect();
    for want in [
        format!("{top}\\Sub"),
        format!("{top}\\Sub\\Leaf"),
        format!("{top}\\Sub\\P1"),
        format!("{top}\\P0"),
    ] {
        assert!(
            paths.iter().any(|p| p.trim_start_matches('\\') == want),
            "{want} not in {paths:?}"
        );
    }

    ok(&with(&["/FR", &format!("SQL;{top};Sub;Renamed")]));
    let r = with(&["/FE", &format!("SQL;{top}\\Renamed\\Leaf")]);
    assert_eq!(r.line4(), "The specified folder exists.", "{r:?}");

    let r = with(&["/FDe", &format!("SQL;{top};Renamed")]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("not empty") && r.stderr.contains("14593"),
        "{r:?}"
    );

    // Empty it, then delete bottom-up.
    for pkg in [format!("{top}\\Renamed\\P1"), format!("{top}\\P0")] {
        let mut a = strs(&["/SQL", &pkg]);
        a.extend(src.clone());
        a.push("/DELETE".into());
        ok(&run(sql, a));
    }
    ok(&with(&["/FDe", &format!("SQL;{top}\\Renamed;Leaf")]));
    ok(&with(&["/FDe", &format!("SQL;{top};Renamed")]));
    ok(&with(&["/FDe", &format!("SQL;\\;{top}")]));
    let r = with(&["/FE", &format!("SQL;{top}")]);
    assert_eq!(r.code, 1, "{r:?}");
}

/// /ENCRYPT SQL;...;2;pw and ;5, /MOVE (source gone, copy identical), and a copy between
/// two servers (or two folders of one live server).
pub fn encrypt_move_between(a: &Sql, b: &Sql) {
    let folder = unique("E");
    let mut fc = source(a);
    fc.extend(strs(&["/FC", &format!("SQL;\\;{folder}")]));
    ok(&run(a, fc));
    let mut fc = source(b);
    fc.extend(strs(&["/FC", &format!("SQL;\\;{folder}")]));
    ok(&run(b, fc));

    let dir = tempfile::tempdir().unwrap();
    let (file, bytes, _) = write_package(dir.path(), "p.dtsx", 10_000);
    let mut put = strs(&["/FILE", file.to_str().unwrap()]);
    put.extend(dest(a, PW));
    put.extend(strs(&["/COPY", &format!("SQL;{folder}\\p"), "/Q"]));
    ok(&run(a, put));

    let read_back = |sql: &Sql, pkg: &str| -> Vec<u8> {
        let out = dir.path().join(format!("{}.dtsx", unique("rb")));
        let mut args = strs(&["/SQL", pkg]);
        args.extend(source(sql));
        args.extend(strs(&["/COPY", &format!("FILE;{}", out.display())]));
        ok(&run(sql, args));
        std::fs::read(out).unwrap()
    };

    // Level 2 with a password: the sensitive value is encrypted in msdb.
    let mut enc = strs(&["/SQL", &format!("{folder}\\p")]);
    enc.extend(source(a));
    enc.extend(dest(a, PW));
    enc.extend(strs(&[
        "/ENCRYPT",
        &format!("SQL;{folder}\\q;2;Str0ng!pw"),
        "/Q",
    ]));
    ok(&run(a, enc));
    let q = String::from_utf8(read_back(a, &format!("{folder}\\q"))).unwrap();
    assert!(
        q.contains("EncryptedData") && !q.contains("s3cret-Pw"),
        "{q}"
    );

    // Back to level 5 (ServerStorage): clear again, only for SQL destinations.
    let mut enc = strs(&["/SQL", &format!("{folder}\\q"), "/Decrypt", "Str0ng!pw"]);
    enc.extend(source(a));
    enc.extend(dest(a, PW));
    enc.extend(strs(&["/ENCRYPT", &format!("SQL;{folder}\\r;5"), "/Q"]));
    ok(&run(a, enc));
    let r5 = a.store().read(&format!("{folder}\\r")).unwrap();
    let r5 = String::from_utf8(r5).unwrap();
    assert!(
        r5.contains("s3cret-Pw") && r5.contains("ProtectionLevel=\"5\""),
        "{r5}"
    );
    // ...and it does not leave msdb for a file in the clear (DTS_E_SERVERSTORAGEDISALLOWED).
    let out = dir.path().join(format!("{}.dtsx", unique("r5")));
    let mut args = strs(&["/SQL", &format!("{folder}\\r")]);
    args.extend(source(a));
    args.extend(strs(&["/COPY", &format!("FILE;{}", out.display())]));
    let refused = run(a, args);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.contains("DTS_E_SERVERSTORAGEDISALLOWED") && !out.exists());

    // Level 3: msdb's columns still come from inside the package (opened with the new
    // password), so the row keeps the package's own id.
    let mut enc = strs(&["/SQL", &format!("{folder}\\p")]);
    enc.extend(source(a));
    enc.extend(dest(a, PW));
    enc.extend(strs(&[
        "/ENCRYPT",
        &format!("SQL;{folder}\\all;3;Str0ng!pw3"),
        "/Q",
    ]));
    ok(&run(a, enc));
    let p_row = package_row(a, "p").expect("row of p");
    let all_row = package_row(a, "all").expect("row of all");
    assert_eq!(all_row.id, p_row.id);
    assert_eq!(all_row.verid, p_row.verid);

    // Server to server: /Source* and /Dest* name different servers (passwords too).
    let target = if a.server == b.server {
        format!("{folder}\\copied")
    } else {
        format!("{folder}\\p")
    };
    let mut args = strs(&["/SQL", &format!("{folder}\\p")]);
    args.extend(source(a));
    args.extend(dest(b, PW2));
    args.extend(strs(&["/COPY", &format!("SQL;{target}"), "/Q"]));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&dtutil(a, Some(b), &args));
    assert!(read_back(b, &target) == bytes);

    // /MOVE within a: the destination reads back identical, then the source is gone.
    let mut mv = strs(&["/SQL", &format!("{folder}\\p")]);
    mv.extend(source(a));
    mv.extend(dest(a, PW));
    mv.extend(strs(&["/MOVE", &format!("SQL;{folder}\\moved")]));
    ok(&run(a, mv));
    assert!(read_back(a, &format!("{folder}\\moved")) == bytes);
    let mut ex = strs(&["/SQL", &format!("{folder}\\p")]);
    ex.extend(source(a));
    ex.push("/EXISTS".into());
    assert_eq!(run(a, ex).code, 1);

    // Clean up.
    for (sql, pkgs) in [(a, vec!["q", "r", "moved", "copied"]), (b, vec!["p"])] {
        for p in pkgs {
            let mut del = strs(&["/SQL", &format!("{folder}\\{p}")]);
            del.extend(source(sql));
            del.push("/DELETE".into());
            run(sql, del);
        }
    }
    for sql in [a, b] {
        let mut fde = source(sql);
        fde.extend(strs(&["/FDe", &format!("SQL;\\;{folder}")]));
        run(sql, fde);
    }
}

/// A wrong password: exit 1, "login failed" naming the login, quickly, no password shown.
pub fn wrong_password(sql: &Sql) {
    let bad = sql.as_user(&sql.user, "Wr0ng-Password!");
    let mut args = source(&bad);
    args.extend(strs(&["/FE", "SQL;Maintenance Plans"]));
    let t = Instant::now();
    let r = run(&bad, args);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("login failed") && r.stderr.contains(&format!("'{}'", sql.user)),
        "{r:?}"
    );
    assert!(!r.stderr.contains("Wr0ng-Password!"), "{r:?}");
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
}

/// A package of several MiB, FILE → SQL → FILE through the binary; prints the times.
pub fn large(sql: &Sql, size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (file, bytes, _) = write_package(dir.path(), "big.dtsx", size);
    let name = unique("big");
    let mut put = strs(&["/FILE", file.to_str().unwrap()]);
    put.extend(dest(sql, PW));
    put.extend(strs(&["/COPY", &format!("SQL;{name}"), "/Q"]));
    let t = Instant::now();
    ok(&run(sql, put));
    let put_time = t.elapsed();
    let out = dir.path().join("back.dtsx");
    let mut get = strs(&["/SQL", &name]);
    get.extend(source(sql));
    get.extend(strs(&["/COPY", &format!("FILE;{}", out.display())]));
    let t = Instant::now();
    ok(&run(sql, get));
    let get_time = t.elapsed();
    assert!(std::fs::read(&out).unwrap() == bytes, "bytes differ");
    eprintln!(
        "dtutil process, {size} bytes: FILE→SQL {put_time:?}, SQL→FILE {get_time:?} ({})",
        sql.server
    );
    let mut del = strs(&["/SQL", &name]);
    del.extend(source(sql));
    del.push("/DELETE".into());
    ok(&run(sql, del));
}
