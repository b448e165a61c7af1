//! Smaller guards from review round 3: `batch --report` does not replace a package
//! (adversary F1), `/COPY` into msdb takes packages only (user F11, adversary F6), a
//! CRLF script's carriage return never ends up in a name (user F19), and an Azure Files
//! endpoint that ignores the range asked for or lists without end is refused with a
//! bound (adversary F15, F16), also when the listing is spread over many directories
//! (adversary2 F3).

mod common;
#[path = "msdb/support.rs"]
mod msdb_support;

use common::{dtutil_clean as run, shown};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx")
}

#[test]
fn batch_report_never_replaces_a_file_that_is_not_a_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::copy(sample(), dir.path().join("src/a.dtsx")).unwrap();
    std::fs::copy(sample(), dir.path().join("precious.dtsx")).unwrap();
    let before = std::fs::read(dir.path().join("precious.dtsx")).unwrap();
    let args = [
        "batch",
        "--from",
        "src",
        "--to",
        "dst",
        "--report",
        "precious.dtsx",
    ];
    let out = run(dir.path(), &[], &args);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        shown(&out).contains("not a dtutil report"),
        "{}",
        shown(&out)
    );
    assert_eq!(
        std::fs::read(dir.path().join("precious.dtsx")).unwrap(),
        before
    );
    assert!(!dir.path().join("dst").exists(), "nothing is copied");
    // An earlier report (and an empty file) is replaced as before.
    let out = run(
        dir.path(),
        &[],
        &["batch", "--from", "src", "--to", "d2", "--report", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let out = run(
        dir.path(),
        &[],
        &["batch", "--from", "src", "--to", "d3", "--report", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    std::fs::write(dir.path().join("empty.json"), b"").unwrap();
    let out = run(
        dir.path(),
        &[],
        &[
            "batch",
            "--from",
            "src",
            "--to",
            "d4",
            "--report",
            "empty.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}

#[test]
fn only_packages_go_into_msdb() {
    let server = msdb_support::TestServer::start(false, &["sa:Sa-Secret1"]);
    let sql = server.sql("sa", "Sa-Secret1");
    let mut env = sql.env.clone();
    env.push(("PW".into(), "Sa-Secret1".into()));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notpkg.dtsx"), b"hello world\n").unwrap();
    let dest = [
        "/DestServer",
        &sql.server,
        "/DestUser",
        "sa",
        "/DestPassword",
        "env:PW",
    ];
    for action in ["/COPY", "/MOVE"] {
        let mut args = vec!["/FILE", "notpkg.dtsx", action, "SQL;np"];
        args.extend(dest);
        let out = run(dir.path(), &env, &args);
        assert_eq!(out.status.code(), Some(5), "{action}: {}", shown(&out));
        assert!(
            shown(&out).contains("not an SSIS package"),
            "{}",
            shown(&out)
        );
        assert!(
            dir.path().join("notpkg.dtsx").exists(),
            "the source is kept"
        );
    }
    let store = sql.store();
    assert!(!dtutil::store::Store::exists(&store, "np").unwrap());
    // FILE to FILE stays a byte copy, as documented.
    let out = run(
        dir.path(),
        &[],
        &["/FILE", "notpkg.dtsx", "/COPY", "FILE;copy.dtsx"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}

#[test]
fn a_crlf_script_writes_no_name_ending_in_cr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("Load.dtsx")).unwrap();
    let out = run(
        dir.path(),
        &[],
        &["/FILE", "Load.dtsx", "/COPY", "FILE;crlf.dtsx\r"],
    );
    assert_eq!(out.status.code(), Some(6), "{}", shown(&out));
    assert!(shown(&out).contains("CRLF"), "{}", shown(&out));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["Load.dtsx"], "nothing else is written");
}

/// An HTTP endpoint that answers HEAD with 200 and every GET with 200, no length, and
/// `body` repeated until `total` bytes, then closes.
fn hostile_endpoint(head: &'static str, unit: &'static str, total: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                if request.starts_with("HEAD") {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nETag: \"x\"\r\nConnection: close\r\n\r\n",
                    );
                    return;
                }
                let _ =
                    stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: application/xml\r\n\r\n");
                let _ = stream.write_all(head.as_bytes());
                let chunk = unit.repeat((1 << 16) / unit.len() + 1);
                let mut sent = 0;
                while sent < total {
                    if stream.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
            });
        }
    });
    port
}

fn azure_env(port: u16) -> Vec<(String, String)> {
    vec![
        ("AZURE_STORAGE_ACCOUNT".into(), "acct".into()),
        (
            "AZURE_STORAGE_KEY".into(),
            "a2V5LWZvci10ZXN0cy1vbmx5LWtleS1mb3ItdGVzdHMtb25seQ==".into(),
        ),
        (
            "DTUTIL_AZURE_FILES_ENDPOINT".into(),
            format!("http://127.0.0.1:{port}/acct"),
        ),
        ("DTUTIL_AZURE_RETRIES".into(), "0".into()),
    ]
}

#[test]
fn an_answer_longer_than_asked_is_refused() {
    // 64 MiB answered to a read of 4 MiB.
    let port = hostile_endpoint("<", "AAAAAAAA", 64 << 20);
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let out = run(
        dir.path(),
        &azure_env(port),
        &[
            "/FILE",
            "https://acct.file.core.windows.net/ssis/x.dtsx",
            "/COPY",
            "FILE;inf.dtsx",
            "/Q",
        ],
    );
    assert_ne!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(shown(&out).contains("more than"), "{}", shown(&out));
    assert!(!dir.path().join("inf.dtsx").exists());
    assert!(t.elapsed() < Duration::from_secs(60));
}

#[test]
fn an_endless_listing_page_is_refused() {
    let port = hostile_endpoint(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"x\" ShareName=\"ssis\" DirectoryPath=\"d\"><Entries>",
        "<File><Name>f.dtsx</Name><Properties><Content-Length>1</Content-Length></Properties></File>",
        64 << 20,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &azure_env(port),
        &[
            "batch",
            "--from",
            "https://acct.file.core.windows.net/ssis/d",
            "--to",
            "out",
            "--dry-run",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(shown(&out).contains("more than"), "{}", shown(&out));
}

/// An endpoint whose directory `d` holds 21 sub-directories of 50,000 files each: every
/// directory stays below the bound of one listing, the tree does not.
fn wide_tree_endpoint() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut request = String::new();
                    if reader.read_line(&mut request).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    let target = request.split(' ').nth(1).unwrap_or("");
                    let (path, query) = target.split_once('?').unwrap_or((target, ""));
                    let mut body = String::new();
                    if query.contains("comp=list") {
                        body.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"x\" ShareName=\"ssis\"><Entries>");
                        if path.ends_with("/ssis/d") {
                            for i in 0..21 {
                                body.push_str(&format!(
                                    "<Directory><Name>s{i}</Name><Properties/></Directory>"
                                ));
                            }
                        } else {
                            for i in 0..50_000 {
                                body.push_str(&format!("<File><Name>n{i}.txt</Name><Properties><Content-Length>1</Content-Length></Properties></File>"));
                            }
                        }
                        body.push_str("</Entries><NextMarker/></EnumerationResults>");
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(body.as_bytes()).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_listing_spread_over_many_directories_is_bounded_in_all() {
    let port = wide_tree_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &azure_env(port),
        &[
            "batch",
            "--from",
            "https://acct.file.core.windows.net/ssis/d",
            "--to",
            "out",
            "--dry-run",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        shown(&out).contains("1000000 entries") && shown(&out).contains("in all"),
        "{}",
        shown(&out)
    );
    assert!(!dir.path().join("out").exists());
}

/// Adversary2 F15: files named by a variable are read only when they are regular and
/// small: `/dev/zero` as the package store configuration or the SQL CA grew dtutil
/// without bound, a FIFO hung it.
#[test]
fn configuration_files_are_small_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.xml");
    std::fs::write(&big, vec![b' '; 2 << 20]).unwrap();
    #[cfg_attr(not(unix), allow(unused_mut))] // only Unix adds the FIFO and /dev/zero cases
    let mut cases = vec![(big.to_str().unwrap().to_string(), "larger than")];
    // FIFOs and /dev/zero exist on Unix only; the size bound is checked everywhere.
    #[cfg(unix)]
    {
        let fifo = dir.path().join("cfgfifo");
        common::fifo(&fifo);
        cases.push((fifo.to_str().unwrap().to_string(), "not a regular file"));
        cases.push(("/dev/zero".to_string(), "not a regular file"));
    }
    for (path, why) in &cases {
        let (path, why) = (path.as_str(), *why);
        let t = Instant::now();
        let [store_config, batch, sql_ca] =
            common::config_file_reads(dir.path(), path, Duration::from_secs(30));
        let text = shown(&store_config);
        assert_eq!(store_config.status.code(), Some(1), "{path}: {text}");
        assert!(text.contains(why), "{path}: {text}");
        let text = shown(&batch);
        assert_ne!(batch.status.code(), Some(0), "{path}: {text}");
        assert!(text.contains(why), "{path}: {text}");
        let text = shown(&sql_ca);
        assert_ne!(sql_ca.status.code(), Some(0), "{path}: {text}");
        assert!(
            text.contains("DTUTIL_SQL_CA") && text.contains(why),
            "{path}: {text}"
        );
        assert!(t.elapsed() < Duration::from_secs(30), "{path}");
    }
}
