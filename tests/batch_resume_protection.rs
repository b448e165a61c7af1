//! Review user2 F1/F5: `batch --resume` with another `--encrypt` level or password,
//! another `--algorithm`, or `--encrypt` added or dropped, writes the done packages
//! again with what this run asks (never "skipped: done" with the old protection, exit
//! 0), the report records the request with a salted digest of the password (never the
//! password), and the plan line counts only the report rows that are this run's.

mod batch;

use batch::*;
use std::path::Path;

const N: usize = 6;
const TYPO: &str = "typo-pw";
const RIGHT: &str = "right-pw";

fn batch_run(dir: &Path, to: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "batch",
        "--from",
        "src",
        "--to",
        to,
        "--allow-lost-sensitive",
        "--decrypt",
        OLD_PW,
    ];
    args.extend(extra);
    dtutil(dir, &args, &[])
}

fn run(dir: &Path, extra: &[&str]) -> (String, serde_json::Value) {
    let out = batch_run(dir, "dst", extra);
    assert_eq!(out.status.code(), Some(0), "{extra:?}\n{}", text(&out));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        read_report(&dir.join("r.json")),
    )
}

/// Each destination's protection level and ciphers, opened with `password`; panics
/// when one does not open with it.
fn protection(dir: &Path, password: Option<&str>) -> Vec<(u32, Vec<String>)> {
    let mut out = Vec::new();
    for g in generated(N) {
        let bytes = std::fs::read(dir.join("dst").join(g.rel())).unwrap();
        let info = dtutil::package::inspect(&bytes, password).unwrap();
        // Opening every value proves the password: a wrong one fails here.
        clear(&bytes, password);
        out.push((info.protection_level.unwrap(), info.algorithms));
    }
    out
}

fn generated(n: usize) -> Vec<Generated> {
    let tmp = tempfile::tempdir().unwrap();
    generate_tree(tmp.path(), n, 0)
}

fn redone(r: &serde_json::Value, needle: &str) -> usize {
    with_status(r, "ok", None)
        .iter()
        .filter(|p| {
            let reason = p["reason"].as_str().unwrap_or("");
            reason.starts_with("redone (--resume)") && reason.contains(needle)
        })
        .count()
}

#[test]
fn resume_redoes_what_an_earlier_run_protected_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), N, 0);

    // The first run with a mistyped password.
    let typo = format!("2;{TYPO}");
    run(dir, &["--encrypt", &typo, "--report", "r.json"]);
    assert!(protection(dir, Some(TYPO)).iter().all(|(l, _)| *l == 2));
    let report = std::fs::read_to_string(dir.join("r.json")).unwrap();
    assert!(!report.contains(TYPO), "{report}");
    assert!(report.contains("pbkdf2-sha256$"), "{report}");

    // The same with the right password: every package is written again with it.
    let right = format!("2;{RIGHT}");
    let (stdout, r) = run(dir, &["--encrypt", &right, "--resume", "r.json"]);
    assert!(
        stdout.contains(&format!(
            "{N} done earlier protected otherwise (--encrypt or --algorithm differs), written again"
        )),
        "{stdout}"
    );
    assert_eq!(redone(&r, "another --encrypt password"), N, "{r}");
    assert!(protection(dir, Some(RIGHT)).iter().all(|(l, _)| *l == 2));
    let report = std::fs::read_to_string(dir.join("r.json")).unwrap();
    assert!(!report.contains(RIGHT), "{report}");

    // Asked the same again: all done, nothing written.
    let (stdout, r) = run(dir, &["--encrypt", &right, "--resume", "r.json"]);
    assert!(
        stdout.contains(&format!("; {N} done earlier (--resume)")),
        "{stdout}"
    );
    assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), N, "{r}");

    // Another level, another cipher, level 0, no --encrypt at all, --encrypt again.
    let three = format!("3;{RIGHT}");
    let (_, r) = run(dir, &["--encrypt", &three, "--resume", "r.json"]);
    assert_eq!(redone(&r, "level 2, this run asks level 3"), N, "{r}");
    assert!(protection(dir, Some(RIGHT)).iter().all(|(l, _)| *l == 3));

    let (_, r) = run(
        dir,
        &[
            "--encrypt",
            &three,
            "--algorithm",
            "aes256",
            "--resume",
            "r.json",
        ],
    );
    assert_eq!(
        redone(&r, "--algorithm keep, this run asks aes256"),
        N,
        "{r}"
    );
    assert!(protection(dir, Some(RIGHT))
        .iter()
        .all(|(l, a)| *l == 3 && a.iter().all(|a| a.contains("aes256"))));

    let (_, r) = run(dir, &["--encrypt", "0", "--resume", "r.json"]);
    assert_eq!(redone(&r, "level 3, this run asks level 0"), N, "{r}");
    assert!(protection(dir, None).iter().all(|(l, _)| *l == 0));

    let (_, r) = run(dir, &["--resume", "r.json"]);
    assert_eq!(redone(&r, "this run copies it without --encrypt"), N, "{r}");
    for g in generated(N) {
        assert_eq!(
            std::fs::read(dir.join("dst").join(g.rel())).unwrap(),
            std::fs::read(dir.join("src").join(g.rel())).unwrap(),
            "a plain copy moves the bytes as they are"
        );
    }

    let (_, r) = run(dir, &["--encrypt", &three, "--resume", "r.json"]);
    assert_eq!(redone(&r, "copied it without --encrypt"), N, "{r}");
    assert!(protection(dir, Some(RIGHT)).iter().all(|(l, _)| *l == 3));
}

/// A destination the report never saved (the run was killed first) that opens with
/// this run's password to this run's package, but at another level, is written again
/// at the level asked, not counted as done.
#[test]
fn an_unsaved_destination_at_another_level_is_written_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), N, 0);
    let two = format!("2;{RIGHT}");
    run(dir, &["--encrypt", &two, "--report", "r.json"]);
    let mut r = read_report(&dir.join("r.json"));
    r["packages"].as_array_mut().unwrap().clear();
    std::fs::write(dir.join("r.json"), r.to_string()).unwrap();

    let three = format!("3;{RIGHT}");
    let (_, r) = run(dir, &["--encrypt", &three, "--resume", "r.json"]);
    assert_eq!(redone(&r, "another protection level or cipher"), N, "{r}");
    assert!(protection(dir, Some(RIGHT)).iter().all(|(l, _)| *l == 3));
}

/// F5: a report for another destination: its rows are not counted as done on the plan
/// line, and every package is written.
#[test]
fn the_plan_line_counts_only_rows_for_this_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), N, 0);
    let two = format!("2;{RIGHT}");
    run(dir, &["--encrypt", &two, "--report", "r.json"]);
    let out = batch_run(
        dir,
        "dst2",
        &[
            "--encrypt",
            &two,
            "--resume",
            "r.json",
            "--report",
            "r2.json",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!stdout.contains("done earlier"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "; {N} done row(s) of the --resume report are for other packages or another destination (not skipped)"
        )),
        "{stdout}"
    );
    let r2 = read_report(&dir.join("r2.json"));
    assert_eq!(with_status(&r2, "ok", None).len(), N, "{r2}");
}

/// A done row this run sets out to write again but does not (a user-key package,
/// without --allow-lost-sensitive this time) stays done as the earlier run wrote it, so
/// the next --resume redoes it rather than failing on "the destination exists".
#[test]
fn a_redo_that_is_skipped_is_redone_by_the_next_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let generated = generate_tree(&dir.join("src"), N, 0);
    let user_key = generated.iter().filter(|g| g.level == 1).count();
    assert!(user_key > 0);
    let typo = format!("2;{TYPO}");
    run(dir, &["--encrypt", &typo, "--report", "r.json"]);

    let right = format!("2;{RIGHT}");
    let out = dtutil(
        dir,
        &[
            "batch",
            "--from",
            "src",
            "--to",
            "dst",
            "--decrypt",
            OLD_PW,
            "--encrypt",
            &right,
            "--resume",
            "r.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = read_report(&dir.join("r.json"));
    let skipped = with_status(&r, "skipped", Some("user_key"));
    assert_eq!(skipped.len(), user_key, "{r}");
    assert!(skipped.iter().all(|p| p["done"] == true), "{r}");

    let (_, r) = run(dir, &["--encrypt", &right, "--resume", "r.json"]);
    assert_eq!(redone(&r, "another --encrypt password"), user_key, "{r}");
    assert!(protection(dir, Some(RIGHT)).iter().all(|(l, _)| *l == 2));
}
