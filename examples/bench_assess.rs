//! `make bench` (also `cargo run --release --example bench_assess`): `dtutil assess`
//! over 2,000 packages in one run against a shell loop of one `dtutil assess` per
//! package, measured side by side. The packages are the rule fixtures of
//! `tests/assess_rules.rs` (the real fixtures' shapes), one of each in turn, in five
//! folders. BENCH_ASSESS_N sets the count (default 2000).

#[path = "../tests/assess_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use support::*;

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

fn shapes() -> Vec<String> {
    let conn = |name: &str, creation: &str, cs: &str| {
        package(0, V2017, &connections(&connection(name, creation, cs)))
    };
    vec![
        clean_package(),
        conn("Sales", "OLEDB", "Data Source=sql01.corp.contoso.com;User ID=etl;Provider=SQLNCLI11.1;Integrated Security=SSPI;"),
        conn("Drop", "FLATFILE", "\\\\fileserver\\drop\\orders.csv"),
        package(0, V2017, &data_flow(&component("F", "Microsoft.FuzzyLookup", &microsoft_contact("Fuzzy Lookup"), &[]))),
        package(0, V2017, &configuration(3, "HKEY_CURRENT_USER\\Software\\Etl", "")),
        package(1, "13.0.2149.0", &connections(&clean_connection())),
        package(0, V2017, &executables(&task("Zip", "Microsoft.ExecuteProcess", r#"<ExecuteProcessData Executable="C:\tools\7z.exe" />"#))),
    ]
}

fn main() {
    let n: usize = std::env::var("BENCH_ASSESS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let bin = bin();
    let dir = tempfile::tempdir().unwrap();
    let shapes = shapes();
    let folders = ["", "Sales", "Sales/Daily", "Finance", "Finance/Close"];
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let folder = dir.path().join(folders[i % folders.len()]);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(format!("Package{i:05}.dtsx"));
        std::fs::write(&path, &shapes[i % shapes.len()]).unwrap();
        files.push(path);
    }
    let jobs = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();

    let started = Instant::now();
    let out = Command::new(&bin)
        .args(["assess", "--json", "--fail-on", "never", "--jobs", &jobs])
        .arg(dir.path())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let one_run = started.elapsed().as_secs_f64();
    assert!(out.status.success());
    let findings = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();

    // The loop a CI job would write: one process per package, as a shell runs it.
    let list = dir.path().join("list.txt");
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    std::fs::write(&list, names.join("\n") + "\n").unwrap();
    let script = format!(
        "while IFS= read -r f; do '{}' assess --json --fail-on never \"$f\" >/dev/null || exit 1; done < '{}'",
        bin.display(),
        list.display()
    );
    let started = Instant::now();
    let status = Command::new("bash").args(["-c", &script]).status().unwrap();
    let looped = started.elapsed().as_secs_f64();
    assert!(status.success());

    report(n, findings, one_run, looped, &jobs, dir.path());
}

fn report(n: usize, findings: usize, one_run: f64, looped: f64, jobs: &str, _dir: &Path) {
    println!("dtutil assess: {n} packages, {findings} findings");
    println!(
        "  one run (--jobs {jobs}): {one_run:.2} s ({:.0} packages/s)",
        n as f64 / one_run
    );
    println!(
        "  shell loop, one dtutil per package: {looped:.2} s ({:.0} packages/s)",
        n as f64 / looped
    );
    println!("  speed-up: {:.1}x (target 5x)", looped / one_run);
}
