//! Issue 5's acceptance: 300 generated packages (levels 0, 1, 2, 3 over three folder
//! levels) go file -> msdb -> Azure Files -> file with re-protection on the test
//! servers; user-key packages are reported and skipped until --allow-lost-sensitive;
//! injected Azure Files failures are reported and a --resume run completes exactly
//! those packages (checked through the report and the server's request counts).

mod azfiles_support;
mod batch;
#[path = "msdb/support.rs"]
mod msdb_support;

use batch::*;
use serde_json::Value;

const N: usize = 300;

fn count(v: &Value, op: &str) -> u64 {
    v["ops"][op].as_u64().unwrap_or(0)
}

#[test]
fn three_hundred_packages_file_to_msdb_to_azure_files_to_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let generated = generate_tree(&dir.join("src"), N, 3);
    let sql = msdb_support::TestServer::start(false, &["sa:Sa-Secret1"]);
    let az = azfiles_support::start(&["pkgs"]);
    let mut env: Vec<(String, String)> = sql.sql("sa", "Sa-Secret1").env;
    env.extend(az.env());
    for (k, v) in [
        ("SA_PW", "Sa-Secret1"),
        ("OLD_PW", OLD_PW),
        ("AZ_PW", "Az-Pa55word"),
        ("NEW_PW", "New-Pa55word"),
    ] {
        env.push((k.into(), v.into()));
    }
    let msdb = format!("sql://{}/Migrated/SSIS", sql.server());
    let share = azfiles_support::unc("pkgs", "ssis");
    let user_key = generated.iter().filter(|g| g.level == 1).count();

    // 1. File system -> msdb, to ServerStorage. User-key packages are reported, skipped.
    let step1 = [
        "batch",
        "--from",
        "src",
        "--to",
        &msdb,
        "--dest-user",
        "sa",
        "--dest-password",
        "env:SA_PW",
        "--decrypt",
        "env:OLD_PW",
        "--encrypt",
        "5",
        "--jobs",
        "8",
        "--report",
        "r1.json",
    ];
    let out = dtutil(dir, &step1, &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("values it would lose"), "{}", text(&out));
    let r1 = read_report(&dir.join("r1.json"));
    assert_eq!(
        with_status(&r1, "ok", None).len(),
        N - user_key,
        "not ok: {:?}",
        with_status(&r1, "failed", None)
            .into_iter()
            .take(3)
            .collect::<Vec<_>>()
    );
    let skipped = with_status(&r1, "skipped", Some("user_key"));
    assert_eq!(skipped.len(), user_key);
    for r in &skipped {
        assert_eq!(r["level_before"], 1);
        assert!(!r["lost_values"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["reason"]
            .as_str()
            .unwrap()
            .contains("--allow-lost-sensitive"));
    }
    // The same run again with --resume and --allow-lost-sensitive does only those.
    let mut step1b = step1.to_vec();
    step1b.extend(["--resume", "r1.json", "--allow-lost-sensitive"]);
    let out = dtutil(dir, &step1b, &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r1 = read_report(&dir.join("r1.json"));
    let ok = with_status(&r1, "ok", None);
    assert_eq!(ok.len(), user_key, "{}", text(&out));
    assert!(ok
        .iter()
        .all(|r| r["level_before"] == 1 && r["level_after"] == 5));
    assert_eq!(
        with_status(&r1, "skipped", Some("resumed")).len(),
        N - user_key
    );

    // 2. msdb -> Azure Files at EncryptAllWithPassword (AES-256), with every write in
    //    two folders failing past the retries.
    az.add_fault(r#"{"op":"CreateFile","path":"Finance/Month End/","always":true}"#);
    let failing = generated
        .iter()
        .filter(|g| g.folder.starts_with("Finance/Month End"))
        .count();
    let step2 = [
        "batch",
        "--from",
        &msdb,
        "--source-user",
        "sa",
        "--source-password",
        "env:SA_PW",
        "--to",
        &share,
        "--encrypt",
        "3;env:AZ_PW",
        "--algorithm",
        "aes256",
        "--jobs",
        "8",
        "--report",
        "r2.json",
    ];
    let out = dtutil(dir, &step2, &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r2 = read_report(&dir.join("r2.json"));
    let failed = with_status(&r2, "failed", None);
    assert_eq!(failed.len(), failing, "{}", text(&out));
    assert_eq!(with_status(&r2, "ok", None).len(), N - failing);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for r in &failed {
        assert!(r["source"]
            .as_str()
            .unwrap()
            .contains("/Finance/Month End/"));
        let reason = r["reason"].as_str().unwrap();
        assert!(
            reason.contains("503") || reason.contains("ServerBusy"),
            "{reason}"
        );
        assert!(
            stdout.contains(r["source"].as_str().unwrap()),
            "summary names {r}"
        );
    }
    assert!(stdout.contains("--resume r2.json"), "{}", text(&out));

    az.clear_faults();
    let before = az.stats();
    let mut step2b = step2.to_vec();
    step2b.extend(["--resume", "r2.json"]);
    let out = dtutil(dir, &step2b, &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = az.stats();
    let r2 = read_report(&dir.join("r2.json"));
    assert_eq!(with_status(&r2, "ok", None).len(), failing);
    assert_eq!(
        with_status(&r2, "skipped", Some("resumed")).len(),
        N - failing
    );
    // Only the failed packages were written again: one create and one rename each.
    for op in ["CreateFile", "RenameFile"] {
        assert_eq!(
            count(&after, op) - count(&before, op),
            failing as u64,
            "{op}: {before} -> {after}"
        );
    }
    assert_eq!(
        count(&after, "PutRange") - count(&before, "PutRange"),
        failing as u64
    );

    // 3. Azure Files -> file system, back to EncryptSensitiveWithPassword.
    let step3 = [
        "batch",
        "--from",
        &share,
        "--to",
        "out",
        "--decrypt",
        "env:AZ_PW",
        "--encrypt",
        "2;env:NEW_PW",
        "--jobs",
        "8",
        "--report",
        "r3.json",
    ];
    let out = dtutil(dir, &step3, &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r3 = read_report(&dir.join("r3.json"));
    assert_eq!(with_status(&r3, "ok", None).len(), N);
    assert!(with_status(&r3, "ok", None)
        .iter()
        .all(|r| r["level_before"] == 3 && r["level_after"] == 2));

    // Every package arrived, at level 2, with the content it left with.
    for g in &generated {
        let original = std::fs::read(dir.join("src").join(g.rel())).unwrap();
        let arrived = std::fs::read(dir.join("out").join(g.rel()))
            .unwrap_or_else(|e| panic!("{}: {e}", g.rel().display()));
        let info = dtutil::package::inspect(&arrived, None).unwrap();
        assert_eq!(info.protection_level, Some(2), "{}", g.rel().display());
        let old_pw = matches!(g.level, 2 | 3).then_some(OLD_PW);
        assert_eq!(
            String::from_utf8(clear(&arrived, Some("New-Pa55word"))).unwrap(),
            String::from_utf8(clear(&original, old_pw)).unwrap(),
            "{} (saved at level {})",
            g.rel().display(),
            g.level
        );
    }
}
