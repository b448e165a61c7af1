//! Crash consistency: many `/COPY`, `/ENCRYPT` and `/MOVE` writes to FILE, the msdb test
//! server and the Azure Files test server, each dtutil process killed with SIGKILL at a
//! random moment. Afterwards every destination holds its old content or the complete new
//! one (by hash, or for /ENCRYPT by decrypting it), and every /MOVE source still exists
//! unless its copy is complete. Then the same under the servers' fault injection:
//! connections dropped, 503s, slow answers past the client's timeout.
//!
//! `DTUTIL_CRASH_KILLS` (default 210) is the number of SIGKILLs to deliver in all, split
//! over the three locations; `DTUTIL_CRASH_SEED` replays a run (the seed is printed).

mod azfiles_support;
mod harden;

use dtutil::package::ProtectionLevel;
use dtutil::package::{self, Options, Target};
use dtutil::store::azfiles;
use dtutil::store::msdb::{ConnectOptions, MsdbStore};
use dtutil::store::{SqlCredentials, Store};
use harden::{dtutil_path, sha256_hex};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const NEW_PW: &str = "Crash-Pw-1";
const SQL_USER: &str = "sa";
const SQL_PW: &str = "Crash-Sql-1";

/// A package with `conns` sensitive connection managers and `filler` bytes of
/// description, so that encryption and transfer take long enough to be interrupted.
fn package(tag: usize, conns: usize, filler: usize) -> Vec<u8> {
    let mut cms = String::new();
    for i in 0..conns {
        cms.push_str(&format!(
            "\n    <DTS:ConnectionManager DTS:ObjectName=\"C{i}\"><DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString=\"Data Source=db{i};User ID=u;\">\n      <DTS:Password DTS:Name=\"Password\" Sensitive=\"1\">secret-{tag}-{i}</DTS:Password>\n    </DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager>"
        ));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"\n  DTS:DTSID=\"{{6F1D2C3B-7A48-4E1B-9C62-{tag:012X}}}\"\n  DTS:ExecutableType=\"Microsoft.Package\"\n  DTS:ObjectName=\"Crash{tag}\"\n  DTS:Description=\"{}\"\n  DTS:PackageType=\"5\"\n  DTS:ProtectionLevel=\"5\">\n  <DTS:Property DTS:Name=\"PackageFormatVersion\">8</DTS:Property>\n  <DTS:ConnectionManagers>{cms}\n  </DTS:ConnectionManagers>\n</DTS:Executable>\n",
        "x".repeat(filler)
    )
    .into_bytes()
}

/// The package at level 0 (deterministic): what two versions must agree on.
fn level0(bytes: &[u8], password: Option<&str>) -> Option<Vec<u8>> {
    package::rewrite(
        bytes,
        &Options {
            decrypt_password: password,
            target: Target::Level {
                level: ProtectionLevel::DontSaveSensitive,
                password: None,
            },
            algorithm: None,
            regenerate_id: false,
            allow_lost_values: false,
        },
    )
    .ok()
    .map(|r| r.bytes)
}

/// Where the destination lives, and how to look at it without dtutil.
enum Loc {
    File {
        dir: PathBuf,
    },
    Msdb {
        server: String,
        env: Vec<(String, String)>,
        #[allow(dead_code)]
        data: PathBuf,
    },
    Azure {
        server: azfiles_support::Server,
    },
}

impl Loc {
    fn name(&self) -> &'static str {
        match self {
            Loc::File { .. } => "FILE",
            Loc::Msdb { .. } => "msdb",
            Loc::Azure { .. } => "Azure Files",
        }
    }

    /// `/COPY` etc. argument and extra switches for a destination named `name`.
    fn dest(&self, name: &str) -> (String, Vec<String>) {
        match self {
            Loc::File { dir } => (format!("FILE;{}", dir.join(name).display()), vec![]),
            Loc::Msdb { server, .. } => (
                format!("SQL;{name}"),
                vec![
                    "/DestServer".into(),
                    server.clone(),
                    "/DestUser".into(),
                    SQL_USER.into(),
                    "/DestPassword".into(),
                    "env:CRASH_SQL_PW".into(),
                ],
            ),
            Loc::Azure { .. } => (
                format!("FILE;{}", azfiles_support::unc("pkgs", name)),
                vec![],
            ),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        match self {
            Loc::File { .. } => vec![],
            Loc::Msdb { env, .. } => {
                let mut e = env.clone();
                e.push(("CRASH_SQL_PW".into(), SQL_PW.into()));
                e
            }
            Loc::Azure { server } => server.env(),
        }
    }

    /// The destination's bytes, `None` when absent.
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        match self {
            Loc::File { dir } => std::fs::read(dir.join(name)).ok(),
            Loc::Msdb { server, .. } => {
                let store = msdb_store(server);
                if store.exists(name).unwrap() {
                    Some(store.read(name).unwrap())
                } else {
                    None
                }
            }
            Loc::Azure { server } => {
                let path = azfiles_support::unc("pkgs", name);
                let env = server.env();
                let store = azfiles::open_with(&path, &move |k| {
                    env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
                })
                .unwrap();
                if store.exists(&path).unwrap() {
                    Some(store.read(&path).unwrap())
                } else {
                    None
                }
            }
        }
    }
}

fn msdb_options() -> ConnectOptions {
    ConnectOptions {
        encrypt: Some("off".into()),
        connect_timeout: Some(Duration::from_secs(10)),
        command_timeout: Some(Duration::from_secs(30)),
        ..Default::default()
    }
}

fn msdb_store(server: &str) -> MsdbStore {
    let credentials = SqlCredentials {
        server: Some(server.to_string()),
        user: Some(SQL_USER.into()),
        password: Some(Zeroizing::new(SQL_PW.into())),
        login_options: None,
    };
    MsdbStore::open(&credentials, &msdb_options()).unwrap()
}

/// An msdb test server persisting to `data` (so a second server can inspect what a
/// failing one kept), optionally closing connections after `fail_after` requests.
fn start_msdb(data: &Path, latency_ms: u64, fail_after: Option<u64>) -> String {
    harden::start_msdb(testservers::msdb::Config {
        tls: false,
        data: Some(data.to_path_buf()),
        logins: vec![testservers::msdb::Login::parse(&format!("{SQL_USER}:{SQL_PW}")).unwrap()],
        latency_ms,
        fail_after,
        ..Default::default()
    })
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Copy,
    Encrypt,
    Move,
}

struct Outcome {
    killed: bool,
}

/// Runs one operation, killing it after `kill_after` (if still running). Returns
/// whether the kill landed. Output is discarded (the secrets audit looks at it).
fn run_op(loc: &Loc, op: Op, src: &Path, dest: &str, kill_after: Option<Duration>) -> Outcome {
    let (target, extra) = loc.dest(dest);
    let mut args: Vec<String> = vec!["/FILE".into(), src.display().to_string(), "/Q".into()];
    match op {
        Op::Copy => args.extend(["/COPY".into(), target]),
        Op::Move => args.extend(["/MOVE".into(), target]),
        Op::Encrypt => args.extend(["/ENCRYPT".into(), format!("{target};2;env:CRASH_NEW_PW")]),
    }
    args.extend(extra);
    let mut child = Command::new(dtutil_path())
        .args(&args)
        .envs(loc.env())
        .env("CRASH_NEW_PW", NEW_PW)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut killed = false;
    if let Some(after) = kill_after {
        let deadline = Instant::now() + after;
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() >= deadline {
                child.kill().unwrap(); // SIGKILL
                killed = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let status = child.wait().unwrap();
    // A kill that came after the process had already ended is no kill.
    #[cfg(unix)]
    let by_the_kill = {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(libc::SIGKILL)
    };
    // TerminateProcess leaves exit code 1, which dtutil's own errors use too: only
    // try_wait's answer before the kill tells them apart.
    #[cfg(not(unix))]
    let by_the_kill = !status.success();
    Outcome {
        killed: killed && by_the_kill,
    }
}

/// What a destination may hold: its content before, or the complete new one.
struct Expect {
    old: Option<Vec<u8>>,
    source: Vec<u8>,
    op: Op,
}

/// Checks one destination (and a /MOVE source); returns whether the new content landed.
fn check(loc: &Loc, dest: &str, src: &Path, e: &Expect, ctx: &str) -> bool {
    let now = loc.read(dest);
    let is_old = now.as_ref().map(|b| sha256_hex(b)) == e.old.as_ref().map(|b| sha256_hex(b));
    let is_new = match (&now, e.op) {
        (Some(b), Op::Copy | Op::Move) => sha256_hex(b) == sha256_hex(&e.source),
        (Some(b), Op::Encrypt) => {
            package::inspect(b, Some(NEW_PW)).is_ok_and(|i| i.protection_level == Some(2))
                && level0(b, Some(NEW_PW)) == level0(&e.source, None)
        }
        (None, _) => false,
    };
    assert!(
        is_old || is_new,
        "{ctx}: {} destination `{dest}` is neither its old content nor the complete new one ({} bytes: {:?}...)",
        loc.name(),
        now.as_ref().map_or(0, Vec::len),
        now.as_ref().map(|b| String::from_utf8_lossy(&b[..b.len().min(120)]).into_owned())
    );
    if matches!(e.op, Op::Move) {
        let src_now = std::fs::read(src).ok();
        match src_now {
            Some(b) => assert_eq!(
                sha256_hex(&b),
                sha256_hex(&e.source),
                "{ctx}: the /MOVE source changed"
            ),
            None => assert!(
                is_new,
                "{ctx}: the /MOVE source is gone but its copy is not complete"
            ),
        }
    }
    is_new
}

fn kills_wanted() -> usize {
    std::env::var("DTUTIL_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(210)
}

fn rng() -> rand::rngs::StdRng {
    let seed = std::env::var("DTUTIL_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("DTUTIL_CRASH_SEED={seed}");
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Kills operations on `loc` until `kills` SIGKILLs landed; returns (runs, kills, completed).
fn kill_loop(
    loc: &Loc,
    work: &Path,
    kills: usize,
    rng: &mut rand::rngs::StdRng,
) -> (usize, usize, usize) {
    let sources: Vec<Vec<u8>> = vec![
        package(1, 120, 0),
        package(2, 10, 512 << 10),
        package(3, 2, 64),
    ];
    // Each op's duration, measured unkilled, sets the kill window.
    let mut window = BTreeMap::new();
    for (i, op) in [Op::Copy, Op::Encrypt, Op::Move].into_iter().enumerate() {
        let src = work.join(format!("probe{i}.dtsx"));
        std::fs::write(&src, &sources[0]).unwrap();
        let t = Instant::now();
        run_op(loc, op, &src, &format!("probe{i}.dtsx"), None);
        window.insert(format!("{op:?}"), t.elapsed().max(Duration::from_millis(5)));
    }
    let dests = ["a.dtsx", "b.dtsx", "c.dtsx"];
    let (mut runs, mut landed, mut completed) = (0, 0, 0);
    while landed < kills {
        assert!(
            runs < kills * 4 + 50,
            "{}: too few kills land ({landed} of {runs} runs)",
            loc.name()
        );
        runs += 1;
        let op = [Op::Copy, Op::Encrypt, Op::Move][rng.gen_range(0..3)];
        let source = sources[rng.gen_range(0..sources.len())].clone();
        let dest = dests[rng.gen_range(0..dests.len())];
        let src = work.join(format!("src{runs}.dtsx"));
        std::fs::write(&src, &source).unwrap();
        let w = window[&format!("{op:?}")];
        let after = w.mul_f64(rng.gen_range(0.0..1.1));
        let e = Expect {
            old: loc.read(dest),
            source,
            op,
        };
        let out = run_op(loc, op, &src, dest, Some(after));
        landed += out.killed as usize;
        let ctx = format!("run {runs} ({op:?} killed after {after:?}: {})", out.killed);
        if check(loc, dest, &src, &e, &ctx) {
            completed += 1;
        }
        let _ = std::fs::remove_file(&src);
    }
    (runs, landed, completed)
}

#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let kills = kills_wanted();
    let per = kills.div_ceil(3);
    let mut rng = rng();
    let work = tempfile::tempdir().unwrap();
    let files = work.path().join("dest");
    std::fs::create_dir(&files).unwrap();
    let data = work.path().join("msdb.json");
    let locs = [
        Loc::File { dir: files.clone() },
        Loc::Msdb {
            server: start_msdb(&data, 1, None),
            env: vec![("DTUTIL_SQL_ENCRYPT".into(), "off".into())],
            data: data.clone(),
        },
        Loc::Azure {
            server: {
                let s = azfiles_support::start(&["pkgs"]);
                // A little latency widens the window between ranges and the rename.
                let agent = ureq::Agent::new_with_defaults();
                let _ = agent
                    .put(&format!("http://{}/_control/latency", s.addr))
                    .send("{\"ms\":1}");
                s
            },
        },
    ];
    let mut total = 0;
    for loc in &locs {
        let t = Instant::now();
        let (runs, landed, completed) = kill_loop(loc, work.path(), per, &mut rng);
        total += landed;
        eprintln!(
            "{}: {runs} runs, {landed} killed by SIGKILL, {completed} left the new content, 0 partial or lost ({:?})",
            loc.name(),
            t.elapsed()
        );
    }
    // Leftover temporaries of killed FILE writes are dtutil's, never the destination.
    let temps = std::fs::read_dir(&files)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    eprintln!("total: {total} SIGKILLs; {temps} temporary files left by killed FILE writes");
    assert!(total >= kills);
}

/// Fault injection instead of kills: an msdb server that drops every connection after
/// N requests (a fresh server, same data, then checks), and Azure Files 503s, dropped
/// connections and answers slower than the client's timeout, at every step of a write.
#[test]
fn server_faults_lose_nothing() {
    let work = tempfile::tempdir().unwrap();
    let mut rng = rng();
    // msdb: --fail-after at each request count an operation makes.
    let data = work.path().join("msdb.json");
    let mut msdb_runs = 0;
    let t = Instant::now();
    for n in [0u64, 1, 2, 3, 4, 5, 7, 9, 12] {
        for op in [Op::Copy, Op::Encrypt, Op::Move] {
            let failing = start_msdb(&data, 0, Some(n));
            let loc = Loc::Msdb {
                server: failing,
                env: vec![("DTUTIL_SQL_ENCRYPT".into(), "off".into())],
                data: data.clone(),
            };
            let source = package(rng.gen_range(10..99), 20, 1000);
            let src = work.path().join(format!("m{n}{op:?}.dtsx"));
            std::fs::write(&src, &source).unwrap();
            let dest = format!("fault{}", n % 3);
            // Read through a server started now: one started earlier holds the data as
            // it was then, not what the runs since wrote.
            let before = Loc::Msdb {
                server: start_msdb(&data, 0, None),
                env: vec![],
                data: data.clone(),
            };
            let e = Expect {
                old: before.read(&dest),
                source,
                op,
            };
            run_op(&loc, op, &src, &dest, Some(Duration::from_secs(60)));
            // Read through a healthy server on the same (persisted) data.
            let fresh = Loc::Msdb {
                server: start_msdb(&data, 0, None),
                env: vec![],
                data: data.clone(),
            };
            check(
                &fresh,
                &dest,
                &src,
                &e,
                &format!("msdb --fail-after {n}, {op:?}"),
            );
            msdb_runs += 1;
        }
    }
    eprintln!("msdb faults: {msdb_runs} runs in {:?}", t.elapsed());
    let t = Instant::now();
    // Azure Files: one rule per run, on each operation a write makes.
    let server = azfiles_support::start(&["pkgs"]);
    let loc = Loc::Azure { server };
    let Loc::Azure { server } = &loc else {
        unreachable!()
    };
    let mut az_runs = 0;
    let rules = [
        r#"{"op":"CreateFile","always":true}"#,
        r#"{"op":"PutRange","always":true}"#,
        r#"{"op":"PutRange","action":"drop","always":true}"#,
        r#"{"op":"RenameFile","always":true}"#,
        r#"{"op":"RenameFile","action":"drop","always":true}"#,
        r#"{"op":"GetFile","always":true}"#,
        r#"{"op":"GetFile","action":"drop","always":true}"#,
        r#"{"op":"DeleteFile","always":true}"#,
        r#"{"op":"PutRange","status":500,"nth":1}"#,
        r#"{"op":"RenameFile","action":"delay","delay_ms":800,"always":true}"#,
        r#"{"op":"PutRange","action":"delay","delay_ms":800,"always":true}"#,
        r#"{"method":"PUT","status":503,"always":true}"#,
    ];
    for rule in rules {
        for op in [Op::Copy, Op::Encrypt, Op::Move] {
            let dest = "faulty.dtsx";
            // Over one 4 MiB range where the fault is on Put Range.
            let filler = if rule.contains("PutRange") {
                9 << 19
            } else {
                1000
            };
            let source = package(rng.gen_range(10..99), 20, filler);
            let src = work.path().join(format!("az{az_runs}.dtsx"));
            std::fs::write(&src, &source).unwrap();
            let e = Expect {
                old: loc.read(dest),
                source,
                op,
            };
            server.add_fault(rule);
            let mut env = loc.env();
            env.push(("DTUTIL_AZURE_TIMEOUT".into(), "0.4".into()));
            env.push(("DTUTIL_AZURE_RETRIES".into(), "1".into()));
            let status = Command::new(dtutil_path())
                .args(["/FILE", &src.display().to_string(), "/Q"])
                .args(match op {
                    Op::Copy => vec!["/COPY".to_string(), loc.dest(dest).0],
                    Op::Move => vec!["/MOVE".to_string(), loc.dest(dest).0],
                    Op::Encrypt => vec![
                        "/ENCRYPT".to_string(),
                        format!("{};2;env:CRASH_NEW_PW", loc.dest(dest).0),
                    ],
                })
                .envs(env)
                .env("CRASH_NEW_PW", NEW_PW)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            server.clear_faults();
            let landed = check(
                &loc,
                dest,
                &src,
                &e,
                &format!("Azure fault {rule}, {op:?} (exit {status})"),
            );
            // A failure that outlasts the retries is exit 1 and never reports success.
            if status.success() {
                assert!(
                    landed,
                    "exit 0 but the new content is not there: {rule} {op:?}"
                );
            }
            az_runs += 1;
        }
    }
    eprintln!("Azure faults: {az_runs} runs in {:?}", t.elapsed());
    eprintln!("faults: {msdb_runs} msdb runs (--fail-after 0..12), {az_runs} Azure Files runs ({} rules x 3 ops), 0 partial or lost", rules.len());
}
