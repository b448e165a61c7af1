//! `dtutil batch` behaviour on the file system and the Azure Files test server: the
//! dry-run plan writes nothing, existing destinations (fail / --skip-existing /
//! --overwrite), --fail-fast, globs, two sources onto one destination, and Ctrl-C
//! (the report is written, --resume finishes without redoing anything).

mod azfiles_support;
mod batch;

use batch::*;
use std::path::Path;

fn no_env() -> Vec<(String, String)> {
    vec![
        ("OLD_PW".into(), OLD_PW.into()),
        ("NEW_PW".into(), "N3w".into()),
    ]
}

fn files_under(dir: &Path) -> usize {
    if !dir.exists() {
        return 0;
    }
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
        .sum()
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), 16, 0);
    let args = [
        "batch",
        "--from",
        "src",
        "--to",
        "out",
        "--decrypt",
        "env:OLD_PW",
        "--encrypt",
        "3;env:NEW_PW",
        "--dry-run",
    ];
    let out = dtutil(dir, &args, &no_env());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ACTION"), "{stdout}");
    assert!(stdout.contains("user-key values it would lose"), "{stdout}");
    assert!(stdout.contains("12 to write, 4 skipped"), "{stdout}");
    assert!(!dir.join("out").exists());

    let mut json = args.to_vec();
    json.push("--json");
    let out = dtutil(dir, &json, &no_env());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["packages"].as_array().unwrap().len(), 16);
    assert_eq!(with_status(&plan, "planned", None).len(), 12);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("N3w"));
    assert!(!dir.join("out").exists());
}

#[test]
fn existing_destinations_fail_skip_or_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), 8, 0);
    let base = [
        "batch",
        "--from",
        "src",
        "--to",
        "out",
        "--allow-lost-sensitive",
    ];
    let out = dtutil(dir, &base, &no_env());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(files_under(&dir.join("out")), 8);

    let mut again = base.to_vec();
    again.extend(["--report", "r.json"]);
    let out = dtutil(dir, &again, &no_env());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = read_report(&dir.join("r.json"));
    assert_eq!(with_status(&r, "failed", None).len(), 8);
    assert!(String::from_utf8_lossy(&out.stdout).contains("add --overwrite"));

    let mut skip = again.clone();
    skip.push("--skip-existing");
    let out = dtutil(dir, &skip, &no_env());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        with_status(&read_report(&dir.join("r.json")), "skipped", Some("exists")).len(),
        8
    );

    let mut over = again.clone();
    over.push("--overwrite");
    let out = dtutil(dir, &over, &no_env());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        with_status(&read_report(&dir.join("r.json")), "ok", None).len(),
        8
    );

    let mut both = over.clone();
    both.push("--skip-existing");
    assert_eq!(dtutil(dir, &both, &no_env()).status.code(), Some(6));
}

#[test]
fn fail_fast_stops_starting_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), 40, 0);
    // Without --decrypt every level 2 and 3 package fails.
    let args = [
        "batch",
        "--from",
        "src",
        "--to",
        "out",
        "--encrypt",
        "0",
        "--jobs",
        "1",
        "--fail-fast",
        "--allow-lost-sensitive",
        "--report",
        "r.json",
    ];
    let out = dtutil(dir, &args, &no_env());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = read_report(&dir.join("r.json"));
    assert_eq!(r["packages"].as_array().unwrap().len(), 40);
    // Sorted: the root, Finance and Finance/Month End (levels 0 and 1) go through; the
    // first level 2 package fails; one more may have started meanwhile.
    let failed = with_status(&r, "failed", None).len();
    let not_started = with_status(&r, "skipped", Some("not_started")).len();
    assert!((1..=2).contains(&failed), "{r}");
    assert!(not_started >= 23, "{r}");
    assert_eq!(with_status(&r, "ok", None).len() + failed + not_started, 40);
    assert!(with_status(&r, "failed", None)[0]["reason"]
        .as_str()
        .unwrap()
        .contains("give it with --decrypt"));
}

#[test]
fn globs_and_two_sources_onto_one_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), 24, 0);
    let out = dtutil(
        dir,
        &[
            "batch",
            "--from",
            "src/Sales/**/Pkg000[0-9].dtsx",
            "--to",
            "out",
            "--allow-lost-sensitive",
        ],
        &no_env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Pkg0001 and Pkg0009 (Sales), Pkg0002 (Sales/Daily), Pkg0003 (Sales/Daily/EU);
    // the tree is kept below Sales.
    assert!(dir.join("out/Pkg0001.dtsx").exists());
    assert!(dir.join("out/Pkg0009.dtsx").exists());
    assert!(dir.join("out/Daily/Pkg0002.dtsx").exists());
    assert!(dir.join("out/Daily/EU/Pkg0003.dtsx").exists());
    assert_eq!(files_under(&dir.join("out")), 4);

    std::fs::copy(
        dir.join("src/HR/Pkg0007.dtsx"),
        dir.join("src/HR/PKG0007.DTSX"),
    )
    .unwrap();
    let out = dtutil(
        dir,
        &[
            "batch", "--from", "src/HR", "--to", "out2", "--report", "r.json",
        ],
        &no_env(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let failed = with_status(&read_report(&dir.join("r.json")), "failed", None)
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["reason"]
        .as_str()
        .unwrap()
        .contains("same destination"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_writes_the_report_and_resume_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n = 60;
    generate_tree(&dir.join("src"), n, 0);
    let az = azfiles_support::start(&["pkgs"]);
    az.set_latency(25);
    let share = azfiles_support::unc("pkgs", "ctrlc");
    let args = [
        "batch",
        "--from",
        "src",
        "--to",
        &share,
        "--allow-lost-sensitive",
        "--jobs",
        "2",
        "--report",
        "r.json",
    ];
    let out = interrupted(dir, &args, &az.env());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stopping"),
        "{}",
        text(&out)
    );
    let r = read_report(&dir.join("r.json"));
    let done = with_status(&r, "ok", None).len();
    let not_started = with_status(&r, "skipped", Some("not_started")).len();
    assert!(done > 0 && not_started > 0, "{}", text(&out));
    assert_eq!(done + not_started, n, "nothing failed or was cut: {r}");
    assert_eq!(r["summary"]["interrupted"], true);

    az.set_latency(0);
    let before = az.stats();
    let mut resume = args.to_vec();
    resume.extend(["--resume", "r.json"]);
    let out = dtutil(dir, &resume, &az.env());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = az.stats();
    let r = read_report(&dir.join("r.json"));
    assert_eq!(with_status(&r, "ok", None).len(), not_started);
    assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), done);
    let created = after["ops"]["CreateFile"].as_u64().unwrap_or(0)
        - before["ops"]["CreateFile"].as_u64().unwrap_or(0);
    assert_eq!(created, not_started as u64);
}

/// Issue 17: links are not followed (a loop ends, nothing outside the tree is read) and
/// a link or FIFO named like a package is skipped with its reason, never opened.
#[cfg(unix)]
#[test]
fn links_and_fifos_in_the_source_are_skipped_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(src.join("a.dtsx"), clear_package(1, 0)).unwrap();
    std::fs::write(src.join("sub/b.dtsx"), clear_package(2, 0)).unwrap();
    std::fs::write(dir.join("outside/o.dtsx"), clear_package(3, 0)).unwrap();
    std::fs::write(dir.join("secret.dtsx"), "not a package").unwrap();
    std::os::unix::fs::symlink("..", src.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(".", src.join("self")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), src.join("out")).unwrap();
    std::os::unix::fs::symlink(dir.join("secret.dtsx"), src.join("link.dtsx")).unwrap();
    let fifo = std::ffi::CString::new(src.join("f.dtsx").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);

    let started = std::time::Instant::now();
    let args = [
        "batch", "--from", "src", "--to", "dst", "--report", "r.json",
    ];
    let out = dtutil(dir, &args, &no_env());
    assert!(started.elapsed().as_secs() < 60, "{}", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(files_under(&dir.join("dst")), 2, "{}", text(&out));
    assert!(dir.join("dst/a.dtsx").is_file() && dir.join("dst/sub/b.dtsx").is_file());
    assert!(!dir.join("dst/out").exists() && !dir.join("dst/link.dtsx").exists());
    let report = read_report(&dir.join("r.json"));
    let skipped: Vec<(String, String)> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["skip"] == "not_a_file")
        .map(|p| {
            (
                p["source"].as_str().unwrap().to_string(),
                p["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped[0].0.ends_with("f.dtsx") && skipped[0].1.contains("FIFO"));
    assert!(skipped[1].0.ends_with("link.dtsx") && skipped[1].1.contains("symbolic link"));
}

/// Issue 12: `--jobs` is set for many small packages; large ones are held back by
/// `--in-flight-bytes` so that they are never all in memory at once. The `--json`
/// summary line shows what was in flight at most.
#[test]
fn large_packages_are_not_all_in_flight_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // About 100 KB each: two of them do not fit in 150 KB.
    generate_tree(&dir.join("src"), 12, 3500);
    let size = std::fs::metadata(dir.join("src/Pkg0000.dtsx"))
        .unwrap()
        .len();
    assert!((75_000..150_000).contains(&size), "{size}");
    let run = |out_dir: &str, limit: &str| {
        let args = [
            "batch",
            "--from",
            "src",
            "--to",
            out_dir,
            "--decrypt",
            "env:OLD_PW",
            "--encrypt",
            "2;env:NEW_PW",
            "--allow-lost-sensitive",
            "--jobs",
            "8",
            "--in-flight-bytes",
            limit,
            "--json",
        ];
        let out = dtutil(dir, &args, &no_env());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap().to_string();
        let summary: serde_json::Value = serde_json::from_str(&last).unwrap();
        assert_eq!(summary["summary"]["ok"], 12, "{last}");
        assert_eq!(files_under(&dir.join(out_dir)), 12);
        summary["in_flight"].clone()
    };

    let one_at_a_time = run("out1", "150K");
    assert_eq!(one_at_a_time["limit_bytes"], 150 * 1024);
    assert_eq!(one_at_a_time["peak_packages"], 1, "{one_at_a_time}");
    // Each larger than the budget: they go one at a time, none is refused.
    let over = run("out2", "50K");
    assert_eq!(over["peak_packages"], 1, "{over}");
    // Room for several: never more bytes than the budget.
    let some = run("out3", "1M");
    assert!(some["peak_bytes"].as_u64().unwrap() <= 1 << 20, "{some}");
    assert!(some["peak_packages"].as_u64().unwrap() <= 8, "{some}");

    let bad = dtutil(
        dir,
        &[
            "batch",
            "--from",
            "src",
            "--to",
            "o",
            "--in-flight-bytes",
            "12X",
        ],
        &no_env(),
    );
    assert_eq!(bad.status.code(), Some(6), "{}", text(&bad));
    assert!(
        text(&bad).contains("--in-flight-bytes `12X` is not a size"),
        "{}",
        text(&bad)
    );
}
