//! Issue 16: docs/migration.md's examples run for real, in order, against two msdb test
//! servers (the on-premises server and the Managed Instance) and the Azure Files test
//! server (account `myacct`), on the sample packages in fixtures/migration/packages.
//! Each command's exit code is the one the page shows (`$ echo $?`), and every output
//! line the page shows that does not depend on timing, sizes or hashes is printed.

#[path = "azfiles_support/mod.rs"]
mod az;
#[path = "msdb/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `$ ` command of a `console` block (continuation lines joined) and the output
/// the page shows for it; `sh` blocks are one command each, with no output shown.
struct Step {
    command: String,
    shown: Vec<String>,
}

fn steps(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(lang) = line.strip_prefix("```") else {
            continue;
        };
        let lang = lang.trim().to_string();
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        match lang.as_str() {
            "sh" | "bash" => steps.push(Step {
                command: body.join("\n"),
                shown: Vec::new(),
            }),
            "console" => {
                let mut body = body.into_iter().peekable();
                while let Some(l) = body.next() {
                    if let Some(cmd) = l.strip_prefix("$ ") {
                        let mut command = cmd.to_string();
                        while command.ends_with('\\') {
                            command.push('\n');
                            command.push_str(body.next().unwrap_or_default());
                        }
                        steps.push(Step {
                            command,
                            shown: Vec::new(),
                        });
                    } else if let Some(step) = steps.last_mut() {
                        step.shown.push(l.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    steps
}

/// Lines that hold a duration, a rate, a size or a hash differ from run to run.
fn stable(line: &str) -> bool {
    !(line.is_empty()
        || line.starts_with('{')
        || line.contains("KiB")
        || line.contains(" s (")
        || line.contains("sha256"))
}

fn unnumbered(line: &str) -> &str {
    match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((count, rest)) if count.contains('/') => rest.trim_start(),
        _ => line,
    }
}

fn bash(script: &str, dir: &Path, env: &[(String, String)]) -> Output {
    let bin_dir = Path::new(BIN).parent().unwrap();
    Command::new("bash")
        .args(["--noprofile", "--norc", "-c", script])
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env_remove("DTUTIL_SQL_CA")
        .env_remove("DTUTIL_STORE_CONFIG")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

#[test]
fn the_migration_guide_runs_as_written() {
    let onprem = support::TestServer::start(false, &["etl:Etl-Secret1"]);
    let mi = support::TestServer::start(false, &["miadmin:Mi-Secret2"]);
    let azure = start_azfiles("myacct", "ssisstore");
    let dir = tempfile::tempdir().unwrap();
    let mut env = onprem.sql("etl", "Etl-Secret1").env;
    env.extend([
        ("SQL_PW".to_string(), "Etl-Secret1".to_string()),
        ("MI_PW".to_string(), "Mi-Secret2".to_string()),
        ("SSIS_PW".to_string(), "new package password".to_string()),
        ("AZURE_STORAGE_ACCOUNT".to_string(), "myacct".to_string()),
        ("AZURE_STORAGE_KEY".to_string(), az::KEY.to_string()),
        (
            "DTUTIL_AZURE_FILES_ENDPOINT".to_string(),
            format!("http://{azure}/myacct"),
        ),
    ]);
    // The page's server names stand for the test servers'.
    let servers = [
        ("127.0.0.1,14330", onprem.server()),
        ("127.0.0.1,14331", mi.server()),
    ];
    let page = std::fs::read_to_string(root().join("docs/migration.md")).unwrap();
    let steps = steps(&page);
    assert!(steps.len() >= 10, "found {} steps", steps.len());
    let mut ran = 0;
    for (i, step) in steps.iter().enumerate() {
        let mut command = step.command.clone();
        if command.starts_with("dtutil batch --from SOURCE") || command.trim() == "echo $?" {
            continue; // the synopsis; exit codes are checked with the command before
        }
        for (page_name, real) in &servers {
            command = command.replace(page_name, real);
        }
        command = command.replace(
            "cp -r fixtures/migration/packages",
            &format!(
                "cp -r '{}'",
                root().join("fixtures/migration/packages").display()
            ),
        );
        // The reader fills in the exports' placeholders; the environment holds them here.
        let command: String = command
            .lines()
            .filter(|l| !(l.starts_with("export ") && l.contains("...")))
            .collect::<Vec<_>>()
            .join("\n");
        if command.trim().is_empty() {
            continue;
        }
        // The exit code the page shows (`$ echo $?` next), else success.
        let expected = match steps.get(i + 1) {
            Some(next) if next.command.trim() == "echo $?" => next.shown[0].trim().parse().unwrap(),
            _ => 0,
        };
        let out = bash(&command, dir.path(), &env);
        ran += 1;
        let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        for (page_name, real) in &servers {
            stdout = stdout.replace(real, page_name);
        }
        let shown_all = format!(
            "{command}\nexit {:?}\n--- stdout\n{stdout}--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(expected), "{shown_all}");
        // Packages finish in any order: `[n/N]` counts them as they finish.
        for line in step.shown.iter().filter(|l| stable(l)) {
            assert!(
                stdout.lines().any(|o| unnumbered(o) == unnumbered(line)),
                "the page shows `{line}`:\n{shown_all}"
            );
        }
    }
    assert!(ran >= 8, "ran {ran} commands");
    // What the page says the runs leave: the Managed Instance's tree, and the share's.
    let out = bash(
        r"dtutil /FILE '\\myacct.file.core.windows.net\ssisstore\ETL\Sales\Daily\CustomerRefresh.dtsx' /EXISTS",
        dir.path(),
        &env,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn start_azfiles(account: &str, share: &str) -> std::net::SocketAddr {
    az::start_account(account, az::KEY, &[share]).addr
}
