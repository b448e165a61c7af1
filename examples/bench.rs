//! `make bench`: the numbers in the README, measured side by side in one run.
//!
//! 1. Re-protecting a ~1 MB package (a level 2 copy of the real WideWorldImporters
//!    package when the real fixtures are present, else a synthetic one of the same
//!    size) on one core, against a plain read + atomic write of the same bytes.
//! 2. A 100 MB synthetic package re-protected by the real binary: wall time and
//!    peak memory (max RSS) as a multiple of the package size.
//! 3. `dtutil /FILE x.dtsx /EXISTS`: whole-process wall time.

use dtutil::package::ProtectionLevel;
use dtutil::package::{rewrite, Options, Target};
use dtutil::store::file::write_atomically;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn level(n: u32) -> ProtectionLevel {
    ProtectionLevel::from_number(n).unwrap()
}

fn reprotect(bytes: &[u8], from: Option<&str>, to: u32, password: Option<&str>) -> Vec<u8> {
    rewrite(
        bytes,
        &Options {
            decrypt_password: from,
            target: Target::Level {
                level: level(to),
                password,
            },
            algorithm: None,
            regenerate_id: false,
            allow_lost_values: false,
        },
    )
    .expect("re-protect")
    .bytes
}

/// A DontSaveSensitive-style package of about `size` bytes with one sensitive
/// connection password every ~10 KB, as large ETL packages have.
fn synthetic_package(size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + 4096);
    s.push_str("<?xml version=\"1.0\"?>\r\n<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"\r\n  DTS:refId=\"Package\"\r\n  DTS:DTSID=\"{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}\"\r\n  DTS:ExecutableType=\"Microsoft.Package\"\r\n  DTS:ObjectName=\"Synthetic\"\r\n  DTS:PackageType=\"5\"\r\n  DTS:ProtectionLevel=\"0\">\r\n  <DTS:Property\r\n    DTS:Name=\"PackageFormatVersion\">8</DTS:Property>\r\n  <DTS:Executables>\r\n");
    let mut i = 0;
    while s.len() < size {
        i += 1;
        s.push_str(&format!(
            "    <DTS:Executable DTS:refId=\"Package\\Task {i}\" DTS:ObjectName=\"Task {i}\" DTS:DTSID=\"{{00000000-0000-0000-0000-{i:012}}}\">\r\n      <DTS:ObjectData>\r\n        <DTS:ConnectionManager DTS:ConnectionString=\"Data Source=srv{i};User ID=u{i};\">\r\n          <DTS:Password DTS:Name=\"Password\" Sensitive=\"1\">secret-{i}</DTS:Password>\r\n        </DTS:ConnectionManager>\r\n"
        ));
        for j in 0..60 {
            s.push_str(&format!(
                "        <DTS:Variable DTS:Namespace=\"User\" DTS:ObjectName=\"v{j}\"><DTS:VariableValue DTS:DataType=\"8\">SELECT col{j} FROM dbo.Table{i} WHERE x &gt; {j}</DTS:VariableValue></DTS:Variable>\r\n"
            ));
        }
        s.push_str("      </DTS:ObjectData>\r\n    </DTS:Executable>\r\n");
    }
    s.push_str("  </DTS:Executables>\r\n</DTS:Executable>\r\n");
    s.into_bytes()
}

fn memchr_count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn real_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("DTUTIL_REAL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real")
        });
    dir.is_dir().then_some(dir)
}

/// Runs a command and returns (wall time, max RSS in bytes) of that child.
fn run_measured(cmd: &mut Command) -> (Duration, u64) {
    let t = Instant::now();
    let status = cmd.status().expect("spawn dtutil");
    let wall = t.elapsed();
    assert!(status.success(), "{cmd:?} failed: {status}");
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // RUSAGE_CHILDREN's max RSS is the largest of the waited-for children so far.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    let usage = unsafe { usage.assume_init() };
    (wall, usage.ru_maxrss as u64 * 1024)
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/dtutil");
    assert!(bin.exists(), "build the release binary first (make build)");

    // 1. ~1 MB package, level 2 -> level 2 with a new password.
    let (source_name, clear) = match real_fixtures() {
        Some(dir) => (
            "real WideWorldImporters DailyETLMain.dtsx",
            std::fs::read(dir.join("wwi_DailyETLMain.DontSaveSensitive.fmt8.dtsx")).unwrap(),
        ),
        None => (
            "synthetic (real fixtures absent)",
            synthetic_package(880_000),
        ),
    };
    let level2 = reprotect(&clear, None, 2, Some("old-password"));
    let input = work.path().join("pkg.dtsx");
    let output = work.path().join("out.dtsx");
    std::fs::write(&input, &level2).unwrap();
    let n = level2.len();
    let runs = 30;
    let plain = best_of(runs, || {
        let b = std::fs::read(&input).unwrap();
        write_atomically(&output, &b).unwrap();
    });
    let engine_only = best_of(runs, || {
        std::hint::black_box(reprotect(
            &level2,
            Some("old-password"),
            2,
            Some("new-password"),
        ));
    });
    let full = best_of(runs, || {
        let b = std::fs::read(&input).unwrap();
        let out = reprotect(&b, Some("old-password"), 2, Some("new-password"));
        write_atomically(&output, &out).unwrap();
    });
    let to3 = best_of(runs, || {
        std::hint::black_box(reprotect(
            &level2,
            Some("old-password"),
            3,
            Some("new-password"),
        ));
    });
    println!("1. Re-protect a {:.2} MB package ({source_name}), level 2 -> 2, new password, one core, best of {runs}:", n as f64 / 1e6);
    println!(
        "   engine only (parse + re-encrypt + rewrite)  {:>8.2} ms  {:>7.0} MB/s",
        engine_only.as_secs_f64() * 1e3,
        mb_per_s(n, engine_only)
    );
    println!(
        "   read + re-protect + atomic write            {:>8.2} ms  {:>7.0} MB/s",
        full.as_secs_f64() * 1e3,
        mb_per_s(n, full)
    );
    println!(
        "   plain read + atomic write of the same bytes {:>8.2} ms  {:>7.0} MB/s",
        plain.as_secs_f64() * 1e3,
        mb_per_s(n, plain)
    );
    println!(
        "   ratio (re-protect / plain copy)             {:>8.2}x",
        full.as_secs_f64() / plain.as_secs_f64()
    );
    println!(
        "   (for reference: level 2 -> 3, whole package 3DES-encrypted: {:.2} ms, {:.0} MB/s)",
        to3.as_secs_f64() * 1e3,
        mb_per_s(n, to3)
    );

    // 2. 100 MB synthetic package through the real binary.
    let big = synthetic_package(100_000_000);
    let big_in = work.path().join("big.dtsx");
    let big_out = work.path().join("big-out.dtsx");
    std::fs::write(&big_in, &big).unwrap();
    let big_len = big.len();
    let sensitive = memchr_count(&big, b"Sensitive=\"1\"");
    // A spawned child's peak RSS can include pages it shared with this process
    // before exec, so free the 100 MB here first.
    drop(big);
    let arg = format!("FILE;{};2;big-password", big_out.display());
    let (wall, rss) = run_measured(
        Command::new(&bin)
            .arg("/FILE")
            .arg(&big_in)
            .arg("/ENCRYPT")
            .arg(&arg)
            .arg("/Q")
            .stdout(std::process::Stdio::null()),
    );
    let out_len = std::fs::metadata(&big_out).unwrap().len();
    println!(
        "2. 100 MB synthetic package ({:.1} MB, {sensitive} sensitive values), level 0 -> 2 by the binary:",
        big_len as f64 / 1e6,
    );
    println!(
        "   wall {:.2} s ({:.0} MB/s), peak memory {:.0} MB = {:.2}x the package, output {:.1} MB",
        wall.as_secs_f64(),
        mb_per_s(big_len, wall),
        rss as f64 / 1e6,
        rss as f64 / big_len as f64,
        out_len as f64 / 1e6
    );

    // 3. /EXISTS whole-process wall time.
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let s = Command::new(&bin)
                .args(["/FILE".as_ref(), input.as_os_str(), "/EXISTS".as_ref()])
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(s.success());
            t.elapsed()
        })
        .collect();
    times.sort();
    println!("3. dtutil /FILE x.dtsx /EXISTS, whole process, 200 runs: median {:.2} ms, p95 {:.2} ms, min {:.2} ms",
        times[100].as_secs_f64() * 1e3, times[190].as_secs_f64() * 1e3, times[0].as_secs_f64() * 1e3);
}
