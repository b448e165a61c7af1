//! dtutil's actions on the FILE location, through the real binary.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn dtutil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = dtutil(args);
    assert!(
        out.status.success(),
        "{args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sample(dir: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let dst = dir.join("CustomerLoad.dtsx");
    std::fs::copy(src, &dst).unwrap();
    dst.display().to_string()
}

#[test]
fn output_layout_banner_blank_then_results() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    let out = ok(&["/FILE", &pkg, "/EXISTS"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].starts_with("dtutil"));
    assert!(lines[1].starts_with("Version "));
    assert!(lines[2].contains("License"));
    assert_eq!(lines[3], "");
    assert_eq!(lines[4], "The specified package exists.");

    let missing = dtutil(&["/FILE", &format!("{pkg}.nope"), "/EXISTS"]);
    assert_eq!(missing.status.code(), Some(1));
    let text = String::from_utf8(missing.stdout).unwrap();
    assert_eq!(
        text.lines().nth(4),
        Some("The specified package does not exist.")
    );
}

#[test]
fn abbreviations_dashes_and_case() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    for args in [
        vec!["/FILE", pkg.as_str(), "/EXISTS"],
        vec!["-file", pkg.as_str(), "-ex"],
        vec!["/Fi", pkg.as_str(), "/Exists"],
        vec!["-FI", pkg.as_str(), "/eXiSt"],
    ] {
        assert!(
            ok(&args).contains("The specified package exists."),
            "{args:?}"
        );
    }
}

#[test]
fn copy_is_byte_identical_and_move_verifies_then_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    let original = std::fs::read(&pkg).unwrap();
    let copy = dir.path().join("copy.dtsx").display().to_string();
    let out = ok(&["/FILE", &pkg, "/COPY", &format!("FILE;{copy}")]);
    assert_eq!(
        out.lines().nth(4),
        Some("The operation completed successfully.")
    );
    assert_eq!(std::fs::read(&copy).unwrap(), original);

    // Overwrite needs /Q without a terminal.
    assert_eq!(
        dtutil(&["/FILE", &pkg, "/COPY", &format!("FILE;{copy}")])
            .status
            .code(),
        Some(1)
    );
    ok(&["/FILE", &pkg, "/C", &format!("FILE;{copy}"), "/Q"]);

    let moved = dir.path().join("moved.dtsx").display().to_string();
    ok(&["/FILE", &copy, "/MOVE", &format!("FILE;\"{moved}\"")]);
    assert!(!Path::new(&copy).exists());
    assert_eq!(std::fs::read(&moved).unwrap(), original);

    ok(&["/FILE", &moved, "/DELETE"]);
    assert!(!Path::new(&moved).exists());
    // Nothing but the package is left in the folder: no temporary files.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn paths_with_spaces_and_quoted_fields() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    std::fs::create_dir(dir.path().join("with space")).unwrap();
    let dest = dir.path().join("with space/p;1.dtsx").display().to_string();
    ok(&[
        "/FILE",
        &pkg,
        "/ENCRYPT",
        &format!("FILE;\"{dest}\";2;\"pw;x\""),
    ]);
    let info = ok(&["inspect", "--password", "pw;x", &dest]);
    assert!(info.contains("protection level 2"), "{info}");
    // The whole argument quoted, as when a script passes "FILE;$path;3;$key".
    let dest3 = dir.path().join("with space/p3.dtsx").display().to_string();
    ok(&[
        "/FILE",
        &dest,
        "/Decrypt",
        "pw;x",
        "/ENCRYPT",
        &format!("\"FILE;{dest3};3;k\""),
    ]);
    assert!(ok(&["inspect", "--password", "k", &dest3]).contains("protection level 3"));
}

#[test]
fn regenerate_id_in_place_and_on_copy() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    let before = std::fs::read_to_string(&pkg).unwrap();
    ok(&["/FILE", &pkg, "/I"]);
    let after = std::fs::read_to_string(&pkg).unwrap();
    let old_id = "{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}";
    assert!(!after.contains(old_id));
    let start = before.find(old_id).unwrap();
    let new_id = &after[start..start + old_id.len()];
    assert!(new_id.starts_with('{') && new_id.ends_with('}') && new_id == new_id.to_uppercase());
    assert_eq!(
        after.replace(new_id, old_id),
        before,
        "only the root DTSID changes"
    );
    // Task ids stay.
    assert!(after.contains("{9D2B7F14-6E3A-4C58-A1F9-3E8B5D2C7A06}"));
}

#[test]
fn encrypt_through_the_cli_with_env_and_file_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    let l2 = dir.path().join("l2.dtsx").display().to_string();
    let pwfile = dir.path().join("pw.txt");
    std::fs::write(&pwfile, "from-a-file\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .args([
            "/FILE",
            &pkg,
            "/ENCRYPT",
            &format!("FILE;{l2};2;env:DT_NEW_PW"),
        ])
        .env("DT_NEW_PW", "from-the-env")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&l2).unwrap();
    assert!(!text.contains("wh-Wr1ter") && !text.contains("k-7f3a91c2"));
    assert_eq!(text.matches("<EncryptedData").count(), 3);
    let l0 = dir.path().join("l0.dtsx").display().to_string();
    // Wrong password source: exit 5.
    assert_eq!(
        dtutil(&[
            "/FILE",
            &l2,
            "/Decrypt",
            &format!("file:{}", pwfile.display()),
            "/ENCRYPT",
            &format!("FILE;{l0};0")
        ])
        .status
        .code(),
        Some(5)
    );
    ok(&[
        "/FILE",
        &l2,
        "/Decrypt",
        "from-the-env",
        "/ENCRYPT",
        &format!("FILE;{l0};2;file:{}", pwfile.display()),
    ]);
    let back = dir.path().join("back.dtsx").display().to_string();
    let bytes_l0 = std::fs::read(&l0).unwrap();
    assert_eq!(common::sensitive_texts(&bytes_l0).0, 3);
    ok(&[
        "/FILE",
        &l0,
        "/Decrypt",
        "from-a-file",
        "/ENCRYPT",
        &format!("FILE;{back};0"),
    ]);
    let (encrypted, texts) = common::sensitive_texts(&std::fs::read(&back).unwrap());
    assert_eq!(encrypted, 0);
    assert_eq!(texts, vec!["", "", ""]);
}

#[test]
fn dry_run_prints_the_plan_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    let dest = dir.path().join("never.dtsx").display().to_string();
    let out = ok(&[
        "/FILE",
        &pkg,
        "/Decrypt",
        "topsecret",
        "/ENCRYPT",
        &format!("FILE;{dest};3;newsecret"),
        "/Q",
        "--dry-run",
    ]);
    assert!(
        !out.contains("topsecret") && !out.contains("newsecret"),
        "{out}"
    );
    let plan: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(plan["action"], "encrypt");
    assert!(out.contains("***"));
    assert!(!Path::new(&dest).exists());
    // A plan for a location this build cannot reach yet still prints.
    let sql = ok(&[
        "/SQL",
        "Folder\\Pkg",
        "/SourceServer",
        "db01",
        "/COPY",
        "FILE;x.dtsx",
        "--dry-run",
    ]);
    assert!(sql.contains("db01"), "{sql}");
}

#[test]
fn json_results() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample(dir.path());
    let dest = dir.path().join("j.dtsx").display().to_string();
    let out = ok(&[
        "/FILE",
        &pkg,
        "/ENCRYPT",
        &format!("FILE;{dest};2;pw"),
        "--json",
    ]);
    let record: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(record["status"], "ok");
    assert_eq!(record["level_before"], 5);
    assert_eq!(record["level_after"], 2);
    assert_eq!(
        record["bytes"].as_u64().unwrap() as usize,
        std::fs::metadata(&dest).unwrap().len() as usize
    );
    let err = dtutil(&["/FILE", "/nonexistent.dtsx", "/EXISTS", "--json"]);
    let line = String::from_utf8(err.stdout).unwrap();
    let record: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    assert_eq!(record["exists"], false);
}

#[test]
fn help() {
    let all = ok(&["/?"]);
    for option in [
        "/C[opy]",
        "/Dec[rypt]",
        "/En[crypt]",
        "/FDi[rectory]",
        "/SourceS[erver]",
    ] {
        assert!(all.contains(option), "/? lacks {option}");
    }
    assert!(
        all.contains("env:"),
        "help should recommend env:/file: passwords"
    );
    let one = ok(&["/H", "Encrypt"]);
    assert!(
        one.contains("/En[crypt]") && !one.contains("/FDi[rectory]"),
        "{one}"
    );
}

#[test]
fn inspect_every_real_file() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    for path in common::real_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut args = vec!["inspect".to_string(), "--json".to_string()];
        if let Some(pw) = common::password_of(&path) {
            args.push("--password".into());
            args.push(pw);
        }
        args.push(path.display().to_string());
        let out = Command::new(env!("CARGO_BIN_EXE_dtutil"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let record: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(
            record["protection_level"],
            common::level_in_name(&name),
            "{name}"
        );
        if let Some(fmt) = common::format_in_name(&name) {
            assert_eq!(record["format"], fmt, "{name}");
        }
        // Never a value: the known plaintexts must not appear.
        for secret in ["sapw", "db-01\"", "\"ssis123", "Rbylpvfhfekb1"] {
            assert!(
                !stdout.contains(secret),
                "{name}: inspect printed `{secret}`"
            );
        }
    }
}

#[test]
fn project_subcommand_is_wired() {
    let missing = dtutil(&["project", "/nonexistent/project", "--decrypt", "x"]);
    assert_eq!(
        missing.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let user_key = dtutil(&[
        "project",
        &dir.path().display().to_string(),
        "--encrypt",
        "1",
    ]);
    assert_eq!(
        user_key.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&user_key.stderr)
    );
    assert!(
        String::from_utf8_lossy(&user_key.stderr).contains("DPAPI")
            || String::from_utf8_lossy(&user_key.stderr).contains("Windows")
    );
}

#[test]
fn target_version_refuses_what_the_runtime_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source");
    let new_pkg = src.join("CustomerLoad.dtsx").display().to_string(); // saved by 15.0 (2019)
    let old_pkg = src.join("Legacy2008.dtsx").display().to_string(); // format 3 (2008)
    let out = dir.path().join("o.dtsx").display().to_string();

    let refused = dtutil(&[
        "/FILE",
        &new_pkg,
        "/ENCRYPT",
        &format!("FILE;{out};2;pw"),
        "--target-version",
        "2017",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("SQL Server 2019 tools"));
    assert!(!Path::new(&out).exists());
    ok(&[
        "/FILE",
        &new_pkg,
        "/ENCRYPT",
        &format!("FILE;{out};2;pw"),
        "--target-version",
        "2019",
    ]);
    std::fs::remove_file(&out).unwrap();

    let aes = dtutil(&[
        "/FILE",
        &old_pkg,
        "/ENCRYPT",
        &format!("FILE;{out};2;pw"),
        "--algorithm",
        "aes256",
        "--target-version",
        "2017",
    ]);
    assert_eq!(aes.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&aes.stderr).contains("--algorithm 3des"));
    assert!(!Path::new(&out).exists());
    let tdes = dtutil(&[
        "/FILE",
        &old_pkg,
        "/ENCRYPT",
        &format!("FILE;{out};3;pw"),
        "--algorithm",
        "3des",
        "--target-version",
        "2017",
    ]);
    assert!(tdes.status.success());
    assert!(String::from_utf8_lossy(&tdes.stderr).contains("upgrade it from SQL Server 2008"));

    // Issue 16: a package that runtime cannot load makes inspect exit 1.
    let out = dtutil(&["inspect", "--json", "--target-version", "2017", &new_pkg]);
    assert_eq!(out.status.code(), Some(1));
    let json = String::from_utf8_lossy(&out.stdout);
    let record: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(record["target"]["target"]["year"], 2017);
    assert_eq!(record["target"]["refusals"].as_array().unwrap().len(), 1);
    assert_eq!(
        dtutil(&["inspect", "--target-version", "2018", &new_pkg])
            .status
            .code(),
        Some(6)
    );
}

/// Review user2 F9: `/I` on a level 2 package keeps its values but needs its password
/// (as Windows dtutil loads the package with it): a wrong `/Decrypt` fails with exit 5
/// and writes nothing, the right one gives the new ID.
#[test]
fn regenerate_id_on_level_2_checks_the_password() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("p.dtsx");
    std::fs::copy(
        real.join("ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx"),
        &pkg,
    )
    .unwrap();
    // The fixtures are read-only; the copy is not.
    let mut perms = std::fs::metadata(&pkg).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pkg, perms).unwrap();
    let pkg = pkg.display().to_string();
    let before = std::fs::read(&pkg).unwrap();
    let wrong = dtutil(&["/I", "/FILE", &pkg, "/Decrypt", "wrongpw"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&wrong.stdout),
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert_eq!(wrong.status.code(), Some(5), "{text}");
    assert!(text.contains("the /Decrypt password is wrong"), "{text}");
    assert_eq!(std::fs::read(&pkg).unwrap(), before, "nothing written");
    ok(&["/I", "/FILE", &pkg, "/Decrypt", "ssis123"]);
    assert_ne!(std::fs::read(&pkg).unwrap(), before);
    // The same check on a copy with a new ID.
    let copy = dir.path().join("c.dtsx").display().to_string();
    let dest = format!("FILE;{copy}");
    let wrong = dtutil(&["/FILE", &pkg, "/Decrypt", "wrongpw", "/COPY", &dest, "/I"]);
    assert_eq!(wrong.status.code(), Some(5));
    assert!(!Path::new(&copy).exists());
}
