//! `make bench-batch`: `dtutil batch` against a shell loop of single dtutil runs (what
//! Microsoft's migration guide has users generate), measured side by side in one run.
//!
//! 1. 2,000 packages directory -> directory, re-protected to level 2 (new password):
//!    `dtutil batch --jobs 2` vs `while read ...; do dtutil /FILE ... /ENCRYPT FILE;...;2;...`.
//! 2. File system -> msdb test server, 5 ms injected latency per request:
//!    `--jobs 16` vs the loop (`/ENCRYPT SQL;...;2;...` with /DestServer).
//! 3. msdb -> Azure Files test server, 5 ms latency on both: `--jobs 16` vs the loop
//!    (`/SQL ... /ENCRYPT FILE;\\acct.file.core.windows.net\...;2;...`).
//!
//! The servers run in this process (release build, their own threads). Package counts:
//! BENCH_BATCH_N (default 2000) for 1, BENCH_BATCH_SERVER_N (default 400) for 2 and 3.

use dtutil::package::ProtectionLevel;
use dtutil::package::{rewrite, Options, Target};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FOLDERS: &[&str] = &["", "Sales", "Sales/Daily", "Finance", "Finance/Close/EU"];
const OLD: &str = "Old-Pa55word";
const NEW: &str = "New-Pa55word";
const ACCOUNT: &str = "acct";
const KEY: &str = "a2V5LWZvci10ZXN0cy1vbmx5LWtleS1mb3ItdGVzdHMtb25seQ==";

fn bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target.join("release/dtutil");
    assert!(
        bin.exists(),
        "build the release binary first (make build): {}",
        bin.display()
    );
    bin
}

/// A level 2 package of about 12 KB (a connection password and a long query).
fn package(i: usize) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\"?>\r\n<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"\r\n  DTS:refId=\"Package\"\r\n  DTS:DTSID=\"{{{i:08X}-1111-4222-8333-444455556666}}\"\r\n  DTS:ExecutableType=\"Microsoft.Package\"\r\n  DTS:ObjectName=\"Pkg{i:04}\"\r\n  DTS:PackageType=\"5\"\r\n  DTS:ProtectionLevel=\"5\"\r\n  DTS:VersionGUID=\"{{{i:08X}-AAAA-4BBB-8CCC-DDDDEEEEFFFF}}\">\r\n  <DTS:Property\r\n    DTS:Name=\"PackageFormatVersion\">8</DTS:Property>\r\n  <DTS:ConnectionManagers>\r\n    <DTS:ConnectionManager DTS:ObjectName=\"DW\">\r\n      <DTS:ObjectData>\r\n        <DTS:ConnectionManager DTS:ConnectionString=\"Data Source=dw{i};User ID=etl;\">\r\n          <DTS:Password DTS:Name=\"Password\" Sensitive=\"1\">s3cret-{i}</DTS:Password>\r\n        </DTS:ConnectionManager>\r\n      </DTS:ObjectData>\r\n    </DTS:ConnectionManager>\r\n  </DTS:ConnectionManagers>\r\n  <DTS:Variables>\r\n    <DTS:Variable DTS:Namespace=\"User\" DTS:ObjectName=\"Query\">\r\n      <DTS:VariableValue DTS:DataType=\"8\">"
    );
    for k in 0..200 {
        s.push_str(&format!("SELECT c{k} FROM dbo.T{i} WHERE x &gt; {k}\r\n"));
    }
    s.push_str("</DTS:VariableValue>\r\n    </DTS:Variable>\r\n  </DTS:Variables>\r\n</DTS:Executable>\r\n");
    rewrite(
        s.as_bytes(),
        &Options {
            decrypt_password: None,
            target: Target::Level {
                level: ProtectionLevel::EncryptSensitiveWithPassword,
                password: Some(OLD),
            },
            algorithm: None,
            regenerate_id: false,
            allow_lost_values: false,
        },
    )
    .unwrap()
    .bytes
}

/// Writes `n` packages under `root`; returns their relative paths (with `/`).
fn tree(root: &Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let folder = FOLDERS[i % FOLDERS.len()];
            let rel = if folder.is_empty() {
                format!("Pkg{i:04}.dtsx")
            } else {
                format!("{folder}/Pkg{i:04}.dtsx")
            };
            let path = root.join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, package(i)).unwrap();
            rel
        })
        .collect()
}

fn env() -> Vec<(String, String)> {
    vec![
        ("OLD_PW".into(), OLD.into()),
        ("NEW_PW".into(), NEW.into()),
        ("SA_PW".into(), "Sa-Secret1".into()),
        ("DTUTIL_SQL_ENCRYPT".into(), "off".into()),
        ("DTUTIL_NO_PROGRESS".into(), "1".into()),
    ]
}

fn run(dir: &Path, program: &Path, args: &[&str], extra: &[(String, String)]) -> Duration {
    let started = Instant::now();
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .envs(env())
        .envs(extra.iter().cloned())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// A bash loop over `list`, one dtutil process per line; `body` uses "$rel" and "$BIN".
fn shell_loop(dir: &Path, list: &[String], body: &str, extra: &[(String, String)]) -> Duration {
    std::fs::write(dir.join("list.txt"), list.join("\n") + "\n").unwrap();
    let script =
        format!("set -e\nwhile IFS= read -r rel; do\n  {body} > /dev/null\ndone < list.txt\n");
    let mut all = extra.to_vec();
    all.push(("BIN".into(), bin().display().to_string()));
    run(dir, Path::new("bash"), &["-c", &script], &all)
}

fn report(title: &str, n: usize, batch: Duration, looped: Duration, target: f64) -> String {
    let x = looped.as_secs_f64() / batch.as_secs_f64();
    let line = format!(
        "{title}: {n} packages: batch {:.2} s ({:.0}/s), loop {:.2} s ({:.0}/s): {x:.1}x (target {target}x){}",
        batch.as_secs_f64(),
        n as f64 / batch.as_secs_f64(),
        looped.as_secs_f64(),
        n as f64 / looped.as_secs_f64(),
        if x >= target { "" } else { "  BELOW TARGET" }
    );
    println!("{line}");
    line
}

fn start_msdb(latency_ms: u64) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = testservers::msdb::Config {
        listen: format!("127.0.0.1:{port}"),
        tls: false,
        ca_out: None,
        data: None,
        logins: vec![testservers::msdb::Login::parse("sa:Sa-Secret1").unwrap()],
        latency_ms,
        fail_after: None,
        ..Default::default()
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(testservers::msdb::run(config)).unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "msdb test server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    format!("127.0.0.1,{port}")
}

fn start_azfiles(latency_ms: u64) -> String {
    let cfg = testservers::azfiles::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        account: ACCOUNT.into(),
        key: KEY.into(),
        shares: vec!["pkgs".into()],
        latency_ms,
        log_requests: false,
        faults: Vec::new(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            tx.send(testservers::azfiles::spawn(&cfg).await.unwrap())
                .unwrap();
            std::future::pending::<()>().await;
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    format!("http://{addr}/{ACCOUNT}")
}

fn main() {
    let bin = bin();
    let n: usize = std::env::var("BENCH_BATCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let server_n: usize = std::env::var("BENCH_BATCH_SERVER_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let mut lines = Vec::new();
    println!("dtutil batch vs a shell loop of single dtutil runs (release build, side by side):");

    // 1. Directory -> directory, level 2 -> level 2 with a new password.
    let list = tree(&dir.join("src"), n);
    let batch = run(
        dir,
        &bin,
        &[
            "batch",
            "--from",
            "src",
            "--to",
            "out-batch",
            "--decrypt",
            "env:OLD_PW",
            "--encrypt",
            "2;env:NEW_PW",
            "--jobs",
            "2",
        ],
        &[],
    );
    // The loop's directories are made beforehand (not timed).
    for f in FOLDERS {
        std::fs::create_dir_all(dir.join("loop").join(f)).unwrap();
    }
    let looped = shell_loop(
        dir,
        &list,
        "\"$BIN\" /FILE \"src/$rel\" /Decrypt env:OLD_PW /ENCRYPT \"FILE;loop/$rel;2;env:NEW_PW\" /Q",
        &[],
    );
    lines.push(report(
        "1. directory -> directory, re-protect to level 2, --jobs 2",
        n,
        batch,
        looped,
        5.0,
    ));

    // 2. File system -> msdb (5 ms per request).
    let server = start_msdb(5);
    let sub: Vec<String> = list.iter().take(server_n).cloned().collect();
    std::fs::create_dir_all(dir.join("src-small")).unwrap();
    for rel in &sub {
        let to = dir.join("src-small").join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(dir.join("src").join(rel), to).unwrap();
    }
    let batch = run(
        dir,
        &bin,
        &[
            "batch",
            "--from",
            "src-small",
            "--to",
            &format!("sql://{server}/Batch"),
            "--dest-user",
            "sa",
            "--dest-password",
            "env:SA_PW",
            "--decrypt",
            "env:OLD_PW",
            "--encrypt",
            "2;env:NEW_PW",
            "--jobs",
            "16",
        ],
        &[],
    );
    // The loop's folders are made beforehand (not timed), as a guide's script would.
    let fc = |parent: &str, name: &str| {
        run(
            dir,
            &bin,
            &[
                "/FC",
                &format!("SQL;{parent};{name}"),
                "/SourceServer",
                &server,
                "/SourceUser",
                "sa",
                "/SourcePassword",
                "env:SA_PW",
            ],
            &[],
        );
    };
    fc("\\", "Loop");
    for f in FOLDERS.iter().filter(|f| !f.is_empty()) {
        let mut parent = "Loop".to_string();
        for seg in f.split('/') {
            let exists = Command::new(&bin)
                .args([
                    "/FE",
                    &format!("SQL;{parent}\\{seg}"),
                    "/SourceServer",
                    &server,
                    "/SourceUser",
                    "sa",
                    "/SourcePassword",
                    "env:SA_PW",
                ])
                .envs(env())
                .output()
                .unwrap();
            if !exists.status.success() {
                fc(&parent, seg);
            }
            parent = format!("{parent}\\{seg}");
        }
    }
    let looped = shell_loop(
        dir,
        &sub,
        "p=\"${rel%.dtsx}\"; \"$BIN\" /FILE \"src-small/$rel\" /Decrypt env:OLD_PW /ENCRYPT \"SQL;Loop/$p;2;env:NEW_PW\" /DestServer \"$SERVER\" /DestUser sa /DestPassword env:SA_PW /Q",
        &[("SERVER".into(), server.clone())],
    );
    lines.push(report(
        "2. file -> msdb test server, 5 ms per request, --jobs 16",
        sub.len(),
        batch,
        looped,
        8.0,
    ));

    // 3. msdb -> Azure Files (5 ms per request on both).
    let endpoint = start_azfiles(5);
    let az_env = vec![
        ("AZURE_STORAGE_ACCOUNT".to_string(), ACCOUNT.to_string()),
        ("AZURE_STORAGE_KEY".to_string(), KEY.to_string()),
        ("DTUTIL_AZURE_FILES_ENDPOINT".to_string(), endpoint),
    ];
    let share = format!("\\\\{ACCOUNT}.file.core.windows.net\\pkgs");
    let batch = run(
        dir,
        &bin,
        &[
            "batch",
            "--from",
            &format!("sql://{server}/Batch"),
            "--source-user",
            "sa",
            "--source-password",
            "env:SA_PW",
            "--to",
            &format!("{share}\\batch"),
            "--decrypt",
            "env:NEW_PW",
            "--encrypt",
            "2;env:OLD_PW",
            "--jobs",
            "16",
        ],
        &az_env,
    );
    let mut loop_env = az_env.clone();
    loop_env.push(("SERVER".into(), server.clone()));
    loop_env.push(("SHARE".into(), share.clone()));
    let looped = shell_loop(
        dir,
        &sub,
        "p=\"${rel%.dtsx}\"; w=\"${rel//\\//\\\\}\"; \"$BIN\" /SQL \"Batch/$p\" /SourceServer \"$SERVER\" /SourceUser sa /SourcePassword env:SA_PW /Decrypt env:NEW_PW /ENCRYPT \"FILE;$SHARE\\loop\\$w;2;env:OLD_PW\" /Q",
        &loop_env,
    );
    lines.push(report(
        "3. msdb -> Azure Files test servers, 5 ms per request, --jobs 16",
        sub.len(),
        batch,
        looped,
        8.0,
    ));
    if let Ok(path) = std::env::var("BENCH_BATCH_OUT") {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }
}
