//! Review verify2 F5: `batch --resume` with an option the earlier run did not have
//! that changes a package's outcome (`--target-version`, `--assess`, dropping
//! `--allow-lost-sensitive`) ends as the same command without `--resume` would: a done
//! package the runtime asked cannot load fails (exit 1), findings are reported, and a
//! package written with blank values is refused again; never "skipped: done", exit 0.

mod batch;

use batch::*;
use std::path::Path;

/// Levels 0, 1, 2, 3 twice; every generated package says SQL Server 2019 saved it.
const N: usize = 8;

fn run(dir: &Path, to: &str, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let mut args = vec!["batch", "--from", "src", "--to", to, "--decrypt", OLD_PW];
    args.extend(extra);
    let out = dtutil(dir, &args, &[]);
    let report = dir.join(if to == "dst" { "r.json" } else { "fresh.json" });
    (out, read_report(&report))
}

fn snapshot(dir: &Path) -> Vec<Vec<u8>> {
    let tmp = tempfile::tempdir().unwrap();
    generate_tree(tmp.path(), N, 0)
        .iter()
        .map(|g| std::fs::read(dir.join("dst").join(g.rel())).unwrap())
        .collect()
}

#[test]
fn resume_checks_done_packages_against_a_target_version_added_now() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), N, 0);
    for first in [
        &[][..],
        &["--encrypt", "3;New-pw", "--algorithm", "aes256"][..],
    ] {
        let _ = std::fs::remove_dir_all(dir.join("dst"));
        let mut args = vec!["--allow-lost-sensitive", "--report", "r.json"];
        args.extend(first);
        let (out, _) = run(dir, "dst", &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let written = snapshot(dir);

        // The runtime the packages were saved for: every one done, nothing written.
        let mut resume = vec!["--allow-lost-sensitive", "--resume", "r.json"];
        resume.extend(first);
        let mut args = resume.clone();
        args.extend(["--target-version", "2019"]);
        let (out, r) = run(dir, "dst", &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!(
                "; {N} done earlier (--resume), checked against --target-version 2019"
            )),
            "{stdout}\n{r}"
        );
        assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), N, "{r}");

        // An older runtime cannot load them: each fails as without --resume.
        let mut args = resume.clone();
        args.extend(["--target-version", "2017"]);
        let (out, r) = run(dir, "dst", &args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let failed = with_status(&r, "failed", None);
        assert_eq!(failed.len(), N, "{r}");
        for row in &failed {
            let reason = row["reason"].as_str().unwrap();
            assert!(
                reason.starts_with("the SQL Server 2017 runtime cannot load it: ")
                    && reason.contains("it was saved by SQL Server 2019 tools")
                    && reason.ends_with(
                        "(--resume: an earlier run wrote it, and it stays at the destination)"
                    ),
                "{reason}"
            );
            if !first.is_empty() {
                assert!(reason.contains("AES-256"), "{reason}");
            }
            // Still what the destination holds: a later run without the check skips it.
            assert_eq!(row["done"], true, "{row}");
        }
        assert_eq!(snapshot(dir), written, "nothing is written or removed");
        let (out, r) = run(dir, "dst", &resume);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), N, "{r}");

        // The same as a fresh run with the same options.
        let _ = std::fs::remove_dir_all(dir.join("fresh"));
        let mut args = vec!["--allow-lost-sensitive", "--report", "fresh.json"];
        args.extend(first);
        args.extend(["--target-version", "2017"]);
        let (out, r) = run(dir, "fresh", &args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert_eq!(with_status(&r, "failed", None).len(), N, "{r}");
    }
}

#[test]
fn resume_reports_the_findings_of_assess_added_now() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), N, 0);
    let (out, _) = run(
        dir,
        "dst",
        &["--allow-lost-sensitive", "--report", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let (fresh, fresh_report) = run(
        dir,
        "fresh",
        &[
            "--allow-lost-sensitive",
            "--assess",
            "--report",
            "fresh.json",
        ],
    );
    let (out, r) = run(
        dir,
        "dst",
        &["--allow-lost-sensitive", "--assess", "--resume", "r.json"],
    );
    assert_eq!(out.status.code(), fresh.status.code(), "{}", text(&out));
    assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), N, "{r}");
    let summary = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("Assessment"))
            .map(str::to_string)
    };
    assert!(
        summary(&fresh).is_some_and(|l| !l.contains(" 0 finding(s)")),
        "{}",
        text(&fresh)
    );
    assert_eq!(summary(&out), summary(&fresh), "{}", text(&out));
    let findings = |r: &serde_json::Value| -> usize {
        r["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["findings"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert_eq!(findings(&r), findings(&fresh_report), "{r}");
}

#[test]
fn resume_without_allow_lost_sensitive_refuses_packages_written_with_blank_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let generated = generate_tree(&dir.join("src"), N, 0);
    let user_key = generated.iter().filter(|g| g.level == 1).count();
    assert!(user_key > 0);
    let two = "2;New-pw";
    let (out, _) = run(
        dir,
        "dst",
        &[
            "--encrypt",
            two,
            "--allow-lost-sensitive",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = snapshot(dir);

    let (out, r) = run(dir, "dst", &["--encrypt", two, "--resume", "r.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "; {user_key} done earlier with level 1 values written blank, which this run does not allow"
        )),
        "{stdout}\n{r}"
    );
    let refused = with_status(&r, "skipped", Some("user_key"));
    assert_eq!(refused.len(), user_key, "{r}");
    for row in &refused {
        let reason = row["reason"].as_str().unwrap();
        assert!(
            reason.contains("--allow-lost-sensitive writes them blank")
                && reason
                    .ends_with("the destination still holds what an earlier run wrote (--resume)"),
            "{reason}"
        );
    }
    assert_eq!(
        with_status(&r, "skipped", Some("resumed")).len(),
        N - user_key,
        "{r}"
    );
    assert_eq!(snapshot(dir), written, "nothing is written or removed");

    // Allowed again: done, as the earlier run wrote them.
    let (out, r) = run(
        dir,
        "dst",
        &[
            "--encrypt",
            two,
            "--allow-lost-sensitive",
            "--resume",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), N, "{r}");
}
