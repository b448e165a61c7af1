//! Issue 17: `batch --resume` with `--regenerate-ids`. Each run gives new IDs, so a
//! re-run's result never equals the destination byte for byte. Resume keeps to one ID
//! policy: what an earlier run with the same policy wrote is done (not written again),
//! and what a run with the other policy wrote (done rows, or rows its report never
//! saved) is written again, so every package ends up with the IDs this run gives.
#![cfg(unix)]

mod azfiles_support;
mod batch;

use batch::*;
use std::collections::BTreeMap;
use std::path::Path;

const N: usize = 8;

/// Each package below `root` by relative path, with its package ID.
fn ids(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            let info = dtutil::package::inspect(&bytes, Some(OLD_PW)).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, info.package_id.expect("every package has an ID"));
        }
    }
    out
}

/// `batch` from `src` to `dst` of the level 2 sources, with `extra` options.
fn batch_run(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "batch",
        "--from",
        "src",
        "--to",
        "dst",
        "--allow-lost-sensitive",
        "--decrypt",
        OLD_PW,
    ];
    args.extend(extra);
    dtutil(dir, &args, &[])
}

fn run(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let out = batch_run(dir, extra);
    assert_eq!(out.status.code(), Some(0), "{extra:?}\n{}", text(&out));
    read_report(&dir.join("r.json"))
}

/// The report as if the run had been killed before saving its last 3 rows.
fn lose_last_rows(dir: &Path) {
    let mut r = read_report(&dir.join("r.json"));
    r["packages"].as_array_mut().unwrap().truncate(N - 3);
    std::fs::write(dir.join("r.json"), r.to_string()).unwrap();
}

fn reasons(r: &serde_json::Value, needle: &str) -> usize {
    r["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["reason"].as_str().unwrap_or("").contains(needle))
        .count()
}

#[test]
fn resume_keeps_to_one_id_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate_tree(&dir.join("src"), N, 0);
    let source_ids = ids(&dir.join("src"));
    let regen = ["--regenerate-ids", "--resume", "r.json"];
    let keep = ["--resume", "r.json"];

    run(dir, &["--regenerate-ids", "--report", "r.json"]);
    let first = ids(&dir.join("dst"));
    assert_eq!(first.len(), N);
    assert!(first.iter().all(|(k, id)| source_ids[k] != *id));

    // Same policy, all done: nothing is written again (the IDs stay).
    let r = run(dir, &regen);
    assert_eq!(with_status(&r, "skipped", Some("resumed")).len(), N, "{r}");
    assert_eq!(ids(&dir.join("dst")), first);

    // Same policy, killed before the report saved 3 rows: those 3 hold this run's
    // package under another new ID; they are done, not "the destination exists".
    lose_last_rows(dir);
    let r = run(dir, &regen);
    assert_eq!(reasons(&r, "identical to this run's result"), 3, "{r}");
    assert_eq!(
        with_status(&r, "skipped", Some("resumed")).len(),
        N - 3,
        "{r}"
    );
    assert_eq!(ids(&dir.join("dst")), first);

    // The other policy (IDs kept), with 3 rows unsaved again: the done rows and the
    // unsaved ones are all written again, with the sources' IDs.
    lose_last_rows(dir);
    let r = run(dir, &keep);
    assert_eq!(with_status(&r, "ok", None).len(), N, "{r}");
    assert_eq!(reasons(&r, "other package IDs"), N, "{r}");
    assert_eq!(ids(&dir.join("dst")), source_ids);

    // And back: an earlier run that kept IDs is redone with new ones.
    let r = run(dir, &regen);
    assert_eq!(reasons(&r, "other package IDs"), N, "{r}");
    let last = ids(&dir.join("dst"));
    assert!(last
        .iter()
        .all(|(k, id)| source_ids[k] != *id && first[k] != *id));

    // A dry run under the other policy says what it would write again, and writes
    // nothing.
    lose_last_rows(dir);
    let out = batch_run(dir, &["--resume", "r.json", "--dry-run", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        stdout
            .matches("would be redone (--resume): an earlier run wrote it with other package IDs")
            .count(),
        N,
        "{stdout}"
    );
    assert_eq!(ids(&dir.join("dst")), last);
}
