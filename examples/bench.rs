//! `make bench`: issue 12's measures in one table, each beside its comparison measured
//! in the same run (`cp` + `sync`, `openssl enc`, a shell loop of single dtutil runs).
//!
//! Packages are built from the real WideWorldImporters package (DailyETLMain, level 0):
//! its executables repeated to the size wanted, plus N connection managers with a
//! sensitive password each. Without the real fixtures the bench says so and stops.
//! Whole-process measures run the release binary (DTUTIL_BENCH_BIN overrides it, to
//! measure another build with the same harness); "scan" runs the library in-process.
//! Peak memory is the child's max RSS (getrusage), as `/usr/bin/time -v` reports it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PW: &str = "Bench-Pa55word";
const PW2: &str = "Other-Pa55word";
/// 24 bytes for `openssl enc -des-ede3-cbc`, 32 for `-aes-256-cbc`.
const KEY_HEX: &str = "0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff";

fn bin() -> PathBuf {
    if let Some(b) = std::env::var_os("DTUTIL_BENCH_BIN") {
        return PathBuf::from(b);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target.join("release/dtutil");
    assert!(bin.exists(), "build the release binary first (make build)");
    bin
}

fn real_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("DTUTIL_REAL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real")
        });
    dir.is_dir().then_some(dir)
}

/// WideWorldImporters' DailyETLMain grown to `size` bytes (its executables repeated)
/// with `sensitive` connection managers holding a password each.
fn wwi_package(wwi: &[u8], size: usize, sensitive: usize) -> Vec<u8> {
    let find = |needle: &[u8]| wwi.windows(needle.len()).position(|w| w == needle);
    let rfind = |needle: &[u8]| wwi.windows(needle.len()).rposition(|w| w == needle);
    let variables = find(b"<DTS:Variables>").expect("WWI has root variables");
    let open = find(b"<DTS:Executables>").expect("WWI has executables") + 17;
    let close = rfind(b"</DTS:Executables>").expect("WWI has executables");
    let executables = &wwi[open..close];
    let mut out = Vec::with_capacity(size + executables.len() + 4096);
    out.extend_from_slice(&wwi[..variables]);
    out.extend_from_slice(b"<DTS:ConnectionManagers>\r\n");
    for i in 0..sensitive {
        out.extend_from_slice(format!(
            "    <DTS:ConnectionManager DTS:ObjectName=\"Conn{i}\" DTS:CreationName=\"OLEDB\"><DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString=\"Data Source=srv{i};User ID=etl;\"><DTS:Password DTS:Name=\"Password\" Sensitive=\"1\">Secret-{i}</DTS:Password></DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager>\r\n"
        ).as_bytes());
    }
    out.extend_from_slice(b"  </DTS:ConnectionManagers>\r\n  ");
    out.extend_from_slice(&wwi[variables..open]);
    let rest = wwi.len() - close;
    loop {
        out.extend_from_slice(executables);
        if out.len() + rest >= size {
            break;
        }
    }
    out.extend_from_slice(&wwi[close..]);
    out
}

/// Wall time and peak RSS (bytes) of one child process.
fn measured(cmd: &mut Command) -> (Duration, u64) {
    let (wall, rss, _) = measured_cpu(cmd);
    (wall, rss)
}

/// Wall time, peak RSS (bytes) and CPU time (user + system) of one child process:
/// the CPU time is what the process itself costs, whatever else the machine runs.
// Reaped by wait4 below, which `Child::wait` cannot replace: it gives no rusage.
#[cfg(unix)]
#[allow(clippy::zombie_processes)]
fn measured_cpu(cmd: &mut Command) -> (Duration, u64, Duration) {
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // wait4 reports this child's own max RSS, not the largest child so far.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    let took = started.elapsed();
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed ({status})"
    );
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    (took, usage.ru_maxrss as u64 * 1024, cpu)
}

/// The 1-minute load average: the machine is shared, so each table says how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// std has no peak memory or CPU time of a child; `main` stops before any run off Unix.
#[cfg(not(unix))]
fn measured_cpu(_cmd: &mut Command) -> (Duration, u64, Duration) {
    unreachable!("{ONLY_UNIX}")
}

/// Best wall time and the largest peak RSS over `runs` runs.
fn best(runs: usize, mut make: impl FnMut() -> Command) -> (Duration, u64) {
    let mut wall = Duration::MAX;
    let mut rss = 0;
    for _ in 0..runs {
        let (w, r) = measured(&mut make());
        wall = wall.min(w);
        rss = rss.max(r);
    }
    (wall, rss)
}

fn sh(script: String) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

fn dtutil(args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args).env("DTUTIL_NO_PROGRESS", "1");
    c
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    /// One measure: ours, the comparison, and how the ratio stands against the goal
    /// (`max_ratio`: ours / theirs at most that).
    fn compare(
        &mut self,
        what: &str,
        ours: Duration,
        label: &str,
        theirs: Duration,
        max_ratio: f64,
    ) {
        let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
        let verdict = if ratio <= max_ratio { "met" } else { "NOT MET" };
        self.rows.push([
            what.into(),
            ms(ours),
            format!("{label} {}", ms(theirs)),
            format!("{ratio:.2}x"),
            format!("<= {max_ratio}x: {verdict}"),
        ]);
    }

    fn row(&mut self, what: &str, ours: String, comparison: String, ratio: String, goal: String) {
        self.rows.push([what.into(), ours, comparison, ratio, goal]);
    }

    fn print(&self) {
        println!("| measure | dtutil | comparison (same run) | ratio | goal |");
        println!("| --- | --- | --- | --- | --- |");
        for r in &self.rows {
            println!("| {} | {} | {} | {} | {} |", r[0], r[1], r[2], r[3], r[4]);
        }
    }
}

fn cp_sync(from: &Path, to: &Path) -> Command {
    sh(format!("cp '{}' '{}' && sync '{}'", s(from), s(to), s(to)))
}

fn openssl(cipher: &str, decrypt: bool, from: &Path, to: &Path) -> Command {
    let (key, iv) = match cipher {
        "des-ede3-cbc" => (&KEY_HEX[..48], "0011223344556677"),
        _ => (KEY_HEX, "00112233445566778899aabbccddeeff"),
    };
    sh(format!(
        "openssl enc -{cipher} {} -K {key} -iv {iv} -in '{}' -out '{}' && sync '{}'",
        if decrypt { "-d" } else { "-e" },
        s(from),
        s(to),
        s(to)
    ))
}

fn encrypt_to(input: &Path, output: &Path, level: u32, password: &str) -> Vec<String> {
    vec![
        "/FILE".into(),
        s(input),
        "/ENCRYPT".into(),
        if password.is_empty() {
            format!("FILE;{};{level}", s(output))
        } else {
            format!("FILE;{};{level};{password}", s(output))
        },
        "/Q".into(),
    ]
}

fn run_dtutil(args: Vec<String>, extra: &[&str]) -> Command {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    dtutil(&all)
}

/// The harness's comparisons are Unix tools and its memory figure is wait4's.
const ONLY_UNIX: &str = "make bench runs on Linux and macOS only: it measures peak memory with wait4 and compares against cp, sync, sh and openssl";

fn main() {
    if cfg!(not(unix)) {
        eprintln!("{ONLY_UNIX}");
        std::process::exit(1);
    }
    let Some(fixtures) = real_fixtures() else {
        println!(
            "make bench needs the real fixtures (../shared/fixtures/real or DTUTIL_REAL_FIXTURES)"
        );
        return;
    };
    let wwi = std::fs::read(fixtures.join("wwi_DailyETLMain.DontSaveSensitive.fmt8.dtsx")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let path = |name: &str| dir.join(name);
    let mut table = Table { rows: Vec::new() };
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);

    // 1. The 50 MB level 0 package, 2,000 sensitive values: 0 -> 2 and 2 -> 2.
    let big = wwi_package(&wwi, 50_000_000, 2_000);
    let n = big.len();
    std::fs::write(path("big0.dtsx"), &big).unwrap();
    let (scan, _) = scan_speed(&big, runs);
    drop(big);
    measured(&mut run_dtutil(
        encrypt_to(&path("big0.dtsx"), &path("big2.dtsx"), 2, PW),
        &[],
    ));
    let (copy, _) = best(runs, || cp_sync(&path("big0.dtsx"), &path("copy.dtsx")));
    let (to2, rss0) = best(runs, || {
        run_dtutil(
            encrypt_to(&path("big0.dtsx"), &path("out.dtsx"), 2, PW),
            &[],
        )
    });
    let (re2, rss2) = best(runs, || {
        run_dtutil(
            encrypt_to(&path("big2.dtsx"), &path("out.dtsx"), 2, PW2),
            &["/Decrypt", PW],
        )
    });
    let mb = n as f64 / 1e6;
    table.compare(
        &format!("{mb:.1} MB package, 2,000 sensitive values, level 0 -> 2"),
        to2,
        "`cp`+`sync`",
        copy,
        3.0,
    );
    table.compare(
        &format!("{mb:.1} MB package, level 2 -> 2, new password"),
        re2,
        "`cp`+`sync`",
        copy,
        3.0,
    );
    let peak = rss0.max(rss2) as f64 / n as f64;
    table.row(
        "peak RSS of those runs / package size",
        format!("{:.0} MB = {peak:.2}x", rss0.max(rss2) as f64 / 1e6),
        "-".into(),
        "-".into(),
        format!("<= 2x: {}", if peak <= 2.0 { "met" } else { "NOT MET" }),
    );
    table.row(
        "scan (in-process `inspect`, level 0)",
        format!("{} = {:.0} MB/s", ms(scan), mb_s(n, scan)),
        "-".into(),
        "-".into(),
        format!(
            ">= 1,000 MB/s: {}",
            if mb_s(n, scan) >= 1000.0 {
                "met"
            } else {
                "NOT MET"
            }
        ),
    );

    // 2. Level 3 on 10 MB: Triple DES and AES-256 against openssl enc on the same bytes.
    let ten = wwi_package(&wwi, 10_000_000, 200);
    let ten_len = ten.len();
    std::fs::write(path("ten0.dtsx"), &ten).unwrap();
    drop(ten);
    for (name, cipher, alg) in [
        ("Triple DES", "des-ede3-cbc", "3des"),
        ("AES-256", "aes-256-cbc", "aes256"),
    ] {
        let (ours, _) = best(runs, || {
            run_dtutil(
                encrypt_to(&path("ten0.dtsx"), &path("ten3.dtsx"), 3, PW),
                &["--algorithm", alg],
            )
        });
        let (theirs, _) = best(runs, || {
            openssl(cipher, false, &path("ten0.dtsx"), &path("ten.enc"))
        });
        table.compare(
            &format!("{:.1} MB, level 0 -> 3 ({name})", ten_len as f64 / 1e6),
            ours,
            &format!("`openssl enc -{cipher}`"),
            theirs,
            1.3,
        );
        let (ours, _) = best(runs, || {
            run_dtutil(
                encrypt_to(&path("ten3.dtsx"), &path("back.dtsx"), 0, ""),
                &["/Decrypt", PW],
            )
        });
        let (theirs, _) = best(runs, || {
            openssl(cipher, true, &path("ten.enc"), &path("ten.dec"))
        });
        table.compare(
            &format!("{:.1} MB, level 3 -> 0 ({name})", ten_len as f64 / 1e6),
            ours,
            &format!("`openssl enc -d -{cipher}`"),
            theirs,
            1.3,
        );
    }

    // 3. Small whole-process commands: wall time (median, p95) and the process's own
    // CPU time; /COPY also on tmpfs, where `fsync` costs nothing, to tell the disk's
    // share from ours.
    let small = small_package(&wwi);
    std::fs::write(path("small.dtsx"), &small).unwrap();
    let shm = tempfile::tempdir_in("/dev/shm").ok();
    if let Some(shm) = &shm {
        std::fs::write(shm.path().join("small.dtsx"), &small).unwrap();
    }
    let median = |make: &dyn Fn(usize) -> Command| {
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        for i in 0..100 {
            let (wall, _, cpu) = measured_cpu(&mut make(i));
            walls.push(wall);
            cpus.push(cpu);
        }
        walls.sort();
        cpus.sort();
        (walls[50], walls[95], cpus[50])
    };
    let five = |d: Duration| {
        if d.as_secs_f64() < 0.005 {
            "met"
        } else {
            "NOT MET"
        }
    };
    let (true_wall, _, true_cpu) = median(&|_| Command::new("true"));
    let (exists, exists95, exists_cpu) =
        median(&|_| dtutil(&["/FILE", &s(&path("small.dtsx")), "/EXISTS"]));
    table.row(
        "`/FILE x /EXISTS`, whole process, median of 100",
        format!(
            "{} (p95 {}; CPU {})",
            ms(exists),
            ms(exists95),
            ms(exists_cpu)
        ),
        format!(
            "`true` (process start) median {} (CPU {})",
            ms(true_wall),
            ms(true_cpu)
        ),
        "-".into(),
        format!("< 5 ms: {}", five(exists)),
    );
    let copy_row = |table: &mut Table, dir: &Path, place: &str| {
        let from = dir.join("small.dtsx");
        let (copy, copy95, copy_cpu) = median(&|i| {
            let to = format!("FILE;{}", s(&dir.join(format!("small-copy-{i}.dtsx"))));
            dtutil(&["/FILE", &s(&from), "/COPY", &to])
        });
        let (cp, _, _) = median(&|i| cp_sync(&from, &dir.join(format!("small-cp-{i}.dtsx"))));
        table.row(
            &format!(
                "`/FILE x /COPY FILE;y` ({:.1} KB, {place}), whole process, median of 100",
                small.len() as f64 / 1e3
            ),
            format!("{} (p95 {}; CPU {})", ms(copy), ms(copy95), ms(copy_cpu)),
            format!("`cp`+`sync` median {}", ms(cp)),
            format!("{:.2}x", copy.as_secs_f64() / cp.as_secs_f64()),
            format!("< 5 ms: {}", five(copy)),
        );
    };
    copy_row(&mut table, dir, "disk");
    if let Some(shm) = &shm {
        copy_row(&mut table, shm.path(), "tmpfs");
    }

    // 4. Batch, directory -> directory, default --jobs, against a shell loop.
    batch_row(&mut table, dir, &wwi);

    println!(
        "Load average (1 min) at the end of the table: {}",
        load_average()
    );
    table.print();
    scaling(&wwi, dir, runs);
    println!("Load average (1 min) after scaling: {}", load_average());
}

/// A small package: WWI's root, variables and one connection, no executables.
fn small_package(wwi: &[u8]) -> Vec<u8> {
    let doc = wwi_package(wwi, 0, 1);
    let cut = doc
        .windows(17)
        .position(|w| w == b"<DTS:Executables>")
        .unwrap();
    let mut small = doc[..cut].to_vec();
    small.extend_from_slice(b"<DTS:Executables />\r\n</DTS:Executable>\r\n");
    small
}

/// In-process scan speed: the library's `inspect` of a level 0 package.
fn scan_speed(doc: &[u8], runs: usize) -> (Duration, ()) {
    let mut t = Duration::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        std::hint::black_box(dtutil::package::inspect(doc, None).expect("inspect"));
        t = t.min(started.elapsed());
    }
    (t, ())
}

/// 400 small level 2 packages re-protected with a new password, directory ->
/// directory: `dtutil batch` with its default --jobs against one dtutil per package.
fn batch_row(table: &mut Table, dir: &Path, wwi: &[u8]) {
    let n: usize = std::env::var("BENCH_BATCH_DIR_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    std::fs::write(dir.join("one.dtsx"), small_package(wwi)).unwrap();
    measured(&mut run_dtutil(
        encrypt_to(&dir.join("one.dtsx"), &dir.join("one2.dtsx"), 2, PW),
        &[],
    ));
    let level2 = std::fs::read(dir.join("one2.dtsx")).unwrap();
    let src = dir.join("batch-src");
    std::fs::create_dir_all(&src).unwrap();
    let mut list = String::new();
    for i in 0..n {
        std::fs::write(src.join(format!("Pkg{i:04}.dtsx")), &level2).unwrap();
        list.push_str(&format!("Pkg{i:04}.dtsx\n"));
    }
    std::fs::write(dir.join("batch-list.txt"), list).unwrap();
    let (batch, _) = measured(
        dtutil(&[
            "batch",
            "--from",
            &s(&src),
            "--to",
            &s(&dir.join("batch-out")),
            "--decrypt",
            PW,
            "--encrypt",
            &format!("2;{PW2}"),
        ])
        .current_dir(dir),
    );
    std::fs::create_dir_all(dir.join("loop-out")).unwrap();
    let (looped, _) = measured(
        sh(format!(
            "set -e; while IFS= read -r p; do '{}' /FILE 'batch-src/'\"$p\" /Decrypt '{PW}' /ENCRYPT \"FILE;loop-out/$p;2;{PW2}\" /Q >/dev/null; done < batch-list.txt",
            s(&bin())
        ))
        .current_dir(dir)
        .env("DTUTIL_NO_PROGRESS", "1"),
    );
    let x = looped.as_secs_f64() / batch.as_secs_f64();
    table.row(
        &format!(
            "`dtutil batch` dir -> dir, {n} packages of {:.0} KB, 2 -> 2, default --jobs",
            level2.len() as f64 / 1e3
        ),
        format!("{:.2} s", batch.as_secs_f64()),
        format!("shell loop of dtutil runs {:.2} s", looped.as_secs_f64()),
        format!("{x:.1}x faster"),
        format!(">= 8x: {}", if x >= 8.0 { "met" } else { "NOT MET" }),
    );
}

/// Time against package size and against the number of sensitive values (0 -> 2).
fn scaling(wwi: &[u8], dir: &Path, runs: usize) {
    println!();
    println!("Scaling, level 0 -> 2 by the binary (best of {runs}):");
    println!("| package | sensitive values | time | MB/s | us per value |");
    println!("| --- | --- | --- | --- | --- |");
    let sizes: &[(usize, usize)] = &[
        (1_000_000, 40),
        (10_000_000, 400),
        (50_000_000, 2_000),
        (200_000_000, 8_000),
        (25_000_000, 10),
        (25_000_000, 1_000),
        (25_000_000, 100_000),
    ];
    for &(size, values) in sizes {
        let doc = wwi_package(wwi, size, values);
        let len = doc.len();
        let input = dir.join("scale.dtsx");
        std::fs::write(&input, &doc).unwrap();
        drop(doc);
        let (t, _) = best(runs, || {
            run_dtutil(encrypt_to(&input, &dir.join("scale-out.dtsx"), 2, PW), &[])
        });
        println!(
            "| {:.1} MB | {values} | {} | {:.0} | {:.1} |",
            len as f64 / 1e6,
            ms(t),
            mb_s(len, t),
            t.as_secs_f64() * 1e6 / values as f64
        );
    }
}
