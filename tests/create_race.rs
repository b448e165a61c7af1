//! Two runs copying or moving to the same new msdb or Azure Files package without /Q
//! (review: user F12, adversary F4): exactly one wins, the other says the destination
//! exists (exit 1), and a `/MOVE` that loses keeps its source, so no package is lost.
//! msdb creates a new package under an `sp_getapplock` session lock; Azure Files renames
//! the uploaded file with `x-ms-file-rename-replace-if-exists: false`.

mod azfiles_support;
mod fixture_support;
#[path = "msdb/support.rs"]
mod msdb_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");
const TRIALS: usize = 8;

fn spawn(dir: &Path, env: &[(String, String)], args: &[String]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.spawn().unwrap()
}

/// Runs the two commands at once; returns their outputs.
fn race(
    dir: &Path,
    env: &[(String, String)],
    a: &[String],
    b: &[String],
) -> [std::process::Output; 2] {
    let (x, y) = (spawn(dir, env, a), spawn(dir, env, b));
    [x.wait_with_output().unwrap(), y.wait_with_output().unwrap()]
}

fn shown(o: &std::process::Output) -> String {
    format!(
        "exit {:?}: {}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Exactly one of the two succeeded; the other said the destination exists.
fn one_winner(outs: &[std::process::Output; 2], what: &str) -> usize {
    let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
    let winners = codes.iter().filter(|c| **c == Some(0)).count();
    assert_eq!(
        winners,
        1,
        "{what}: {}\n{}",
        shown(&outs[0]),
        shown(&outs[1])
    );
    let loser = &outs[usize::from(codes[0] == Some(0))];
    assert_eq!(loser.status.code(), Some(1), "{what}: {}", shown(loser));
    assert!(shown(loser).contains("exists"), "{what}: {}", shown(loser));
    usize::from(codes[0] != Some(0))
}

/// Copies and moves from two different packages to one destination; `dest(i)` is the
/// destination of trial `i` as /COPY takes it, `read(i)` reads it back.
fn copies_and_moves_race(
    env: &[(String, String)],
    extra: &[String],
    dest: &dyn Fn(&str) -> String,
    read: &dyn Fn(&str) -> Vec<u8>,
) {
    let dir = tempfile::tempdir().unwrap();
    // At level 0: the fixtures' own level 5 may not go to a share or a package store.
    let packages = [
        fixture_support::level0("CustomerLoad.dtsx"),
        fixture_support::level0("Legacy2008.dtsx"),
    ];
    for i in 0..TRIALS {
        let args = |source: &str, action: &str, to: &str| {
            let mut a: Vec<String> = vec!["/FILE".into(), source.into(), action.into(), to.into()];
            a.extend_from_slice(extra);
            a
        };
        // Copies.
        std::fs::write(dir.path().join("a.dtsx"), &packages[0]).unwrap();
        std::fs::write(dir.path().join("b.dtsx"), &packages[1]).unwrap();
        let to = dest(&format!("copy{i}"));
        let outs = race(
            dir.path(),
            env,
            &args("a.dtsx", "/COPY", &to),
            &args("b.dtsx", "/COPY", &to),
        );
        let winner = one_winner(&outs, &format!("copy trial {i}"));
        assert_eq!(read(&format!("copy{i}")), packages[winner]);
        // Moves: the loser keeps its source.
        let to = dest(&format!("move{i}"));
        let outs = race(
            dir.path(),
            env,
            &args("a.dtsx", "/MOVE", &to),
            &args("b.dtsx", "/MOVE", &to),
        );
        let winner = one_winner(&outs, &format!("move trial {i}"));
        assert_eq!(read(&format!("move{i}")), packages[winner]);
        let sources = ["a.dtsx", "b.dtsx"].map(|n| dir.path().join(n).exists());
        assert!(!sources[winner], "the winner's source is moved");
        assert!(sources[1 - winner], "the loser's source is kept");
    }
}

#[test]
fn racing_creators_of_one_new_msdb_package() {
    // Every request answers 5 ms late: the check and the write are far apart.
    let server = msdb_support::TestServer::start_with(false, &["sa:Sa-Secret1"], 5);
    let sql = server.sql("sa", "Sa-Secret1");
    let mut env = sql.env.clone();
    env.push(("PW".into(), "Sa-Secret1".into()));
    let extra: Vec<String> = ["/DestServer", &sql.server, "/DestUser", "sa"]
        .into_iter()
        .map(String::from)
        .chain(["/DestPassword".to_string(), "env:PW".to_string()])
        .collect();
    let store = sql.store();
    // A copy does not make msdb folders: the folder is made first.
    dtutil::store::Store::folder_create(&store, "\\", "race").unwrap();
    copies_and_moves_race(&env, &extra, &|name| format!("SQL;race\\{name}"), &|name| {
        dtutil::store::Store::read(&store, &format!("race\\{name}")).unwrap()
    });
    drop(server);
}

#[test]
fn racing_creators_of_one_new_azure_files_package() {
    let azure = azfiles_support::start(&["ssis"]);
    azure.set_latency(5);
    let env = azure.env();
    let reader_env = env.clone();
    copies_and_moves_race(
        &env,
        &[],
        &|name| {
            format!(
                "FILE;{}",
                azfiles_support::unc("ssis", &format!("race/{name}.dtsx"))
            )
        },
        &move |name| {
            let path = azfiles_support::unc("ssis", &format!("race/{name}.dtsx"));
            let env = reader_env.clone();
            let store = dtutil::store::azfiles::open_with(&path, &move |k| {
                env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
            .unwrap();
            dtutil::store::Store::read(&store, &path).unwrap()
        },
    );
}

/// Two `batch` runs without `--overwrite` creating one new package in `to(i)` (review
/// adversary3 F1): batch checked, then replaced, so both said "ok" and one report named
/// a package now protected with the other's password. Exactly one wins now; `read(i)`
/// reads trial `i`'s package back to see that it is the winner's.
fn batches_race(
    env: &[(String, String)],
    to: &dyn Fn(usize) -> String,
    read: &dyn Fn(usize) -> Vec<u8>,
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("s")).unwrap();
    // Sensitive values to encrypt keep the check and the write apart.
    let mut cms = String::new();
    for i in 0..300 {
        cms.push_str(&format!("<DTS:ConnectionManager DTS:ObjectName=\"C{i}\"><DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString=\"Data Source=db{i};\"><DTS:Password DTS:Name=\"Password\" Sensitive=\"1\">secret-{i}</DTS:Password></DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager>\n"));
    }
    let package = format!("<?xml version=\"1.0\"?>\n<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:DTSID=\"{{6F1D2C3B-7A48-4E1B-9C62-000000000002}}\" DTS:ExecutableType=\"Microsoft.Package\" DTS:ObjectName=\"Race\" DTS:PackageType=\"5\" DTS:ProtectionLevel=\"0\">\n<DTS:Property DTS:Name=\"PackageFormatVersion\">8</DTS:Property>\n<DTS:ConnectionManagers>\n{cms}</DTS:ConnectionManagers>\n</DTS:Executable>\n");
    std::fs::write(dir.path().join("s/a.dtsx"), package).unwrap();
    for i in 0..TRIALS {
        let args = |pw: &str| -> Vec<String> {
            [
                "batch",
                "--from",
                "s",
                "--to",
                &to(i),
                "--encrypt",
                &format!("2;pass:{pw}"),
            ]
            .map(String::from)
            .to_vec()
        };
        let outs = race(dir.path(), env, &args("Race-Pw-A"), &args("Race-Pw-B"));
        let winner = one_winner(&outs, &format!("batch trial {i}"));
        let written = read(i);
        let opens = |pw: &str| {
            dtutil::package::rewrite(
                &written,
                &dtutil::package::Options {
                    decrypt_password: Some(pw),
                    target: dtutil::package::Target::Level {
                        level: dtutil::package::ProtectionLevel::DontSaveSensitive,
                        password: None,
                    },
                    algorithm: None,
                    regenerate_id: false,
                    allow_lost_values: false,
                },
            )
            .is_ok()
        };
        let pws = ["Race-Pw-A", "Race-Pw-B"];
        assert!(
            opens(pws[winner]),
            "batch trial {i}: the winner's password does not open it"
        );
        assert!(
            !opens(pws[1 - winner]),
            "batch trial {i}: the loser's password opens it"
        );
    }
}

#[test]
fn racing_batches_creating_one_new_file() {
    let out = tempfile::tempdir().unwrap();
    let root = out.path().to_path_buf();
    batches_race(
        &[],
        &|i| root.join(format!("o{i}")).display().to_string(),
        &|i| std::fs::read(root.join(format!("o{i}/a.dtsx"))).unwrap(),
    );
}

#[test]
fn racing_batches_creating_one_new_azure_files_package() {
    let azure = azfiles_support::start(&["ssis"]);
    azure.set_latency(5);
    let env = azure.env();
    let reader_env = env.clone();
    batches_race(
        &env,
        &|i| azfiles_support::unc("ssis", &format!("brace{i}")),
        &move |i| {
            let path = azfiles_support::unc("ssis", &format!("brace{i}/a.dtsx"));
            let env = reader_env.clone();
            let store = dtutil::store::azfiles::open_with(&path, &move |k| {
                env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
            .unwrap();
            dtutil::store::Store::read(&store, &path).unwrap()
        },
    );
}
