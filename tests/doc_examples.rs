//! Issue 16's acceptance: every shell example in README.md, docs/*.md and the option
//! help (`dtutil /H Option`) works when pasted into bash.
//!
//! Every example is parsed by `bash -n`, then run by bash with `dtutil` (and the other
//! external tools) replaced by stubs that record their arguments: a `;` that ends a
//! command early or a stray quote shows up as an unknown command or a syntax error.
//! Each recorded `dtutil` command line must then be accepted by dtutil's own parser
//! (no exit-6 error). The FILE examples of the README and the Azure Files guide's loop
//! run for real, against a temporary folder and the Azure Files test server;
//! docs/migration.md runs for real, in order, in `tests/migration_doc.rs`.
//!
//! Unix only: the examples are bash scripts, run with executable stub tools.
#![cfg(unix)]

mod azfiles_support;

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");
/// Tools an example may call that must not run here (they are recorded, not run).
const STUBBED: &[&str] = &[
    "dtutil", "docker", "cargo", "make", "curl", "az", "cp", "mkdir", "ls", "cat", "rm", "mv",
    "sleep", "tail", "sed", "grep", "kinit", "klist", "kdestroy",
];

struct Example {
    origin: String,
    script: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Fenced `sh`/`bash` blocks as they are; `console` blocks as their `$ ` commands
/// (with `\` continuation lines), output left out.
fn examples_in(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.strip_prefix(root()).unwrap().display().to_string();
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(lang) = line.strip_prefix("```") else {
            continue;
        };
        let lang = lang.trim().to_string();
        let mut body = Vec::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push(l);
        }
        let script = match lang.as_str() {
            "sh" | "bash" | "shell" => body.join("\n"),
            "console" => {
                let mut cmds = Vec::new();
                let mut continued = false;
                for l in body {
                    if let Some(cmd) = l.strip_prefix("$ ") {
                        cmds.push(cmd.to_string());
                        continued = cmd.ends_with('\\');
                    } else if continued {
                        cmds.push(l.to_string());
                        continued = l.ends_with('\\');
                    }
                }
                cmds.join("\n")
            }
            _ => continue,
        };
        out.push(Example {
            origin: format!("{name}:{} ({lang} block)", n + 1),
            script,
        });
    }
    out
}

/// The `Example:` line of every option's `/H` help.
fn help_examples() -> Vec<Example> {
    let usage = Command::new(BIN).arg("/?").output().unwrap();
    let usage = String::from_utf8(usage.stdout).unwrap();
    let mut out = Vec::new();
    for line in usage.lines() {
        let Some(rest) = line.strip_prefix("  /") else {
            continue;
        };
        let name: String = rest
            .split_whitespace()
            .next()
            .unwrap()
            .replace(['[', ']'], "");
        let help = Command::new(BIN).args(["/H", &name]).output().unwrap();
        assert!(help.status.success(), "dtutil /H {name} failed");
        let help = String::from_utf8(help.stdout).unwrap();
        let example = help
            .lines()
            .find_map(|l| l.trim().strip_prefix("Example: "))
            .unwrap_or_else(|| panic!("dtutil /H {name} shows no example"));
        out.push(Example {
            origin: format!("dtutil /H {name}"),
            script: example.to_string(),
        });
    }
    assert!(out.len() >= 25, "only {} options found in /?", out.len());
    out
}

fn all_examples() -> Vec<Example> {
    let mut all: Vec<Example> = doc_files().iter().flat_map(|p| examples_in(p)).collect();
    all.extend(help_examples());
    all
}

/// A folder of stubs: each records its name and arguments (NUL-separated, one record
/// per call) in `$DOC_CALLS`.
fn stub_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for tool in STUBBED {
        let path = dir.path().join(tool);
        // Only dtutil's calls are read: the other tools record nothing, so two ends of a
        // pipe (`dtutil ... | tail -9`) never interleave their records.
        let body = if *tool == "dtutil" {
            "{ printf '%s\\0' dtutil \"$@\"; printf '\\n--end--\\n'; } >> \"$DOC_CALLS\"\n"
        } else {
            ""
        };
        std::fs::write(&path, format!("#!/bin/bash\n{body}")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn every_shell_example_parses_and_each_dtutil_line_is_accepted() {
    let examples = all_examples();
    assert!(
        examples.len() >= 30,
        "only {} examples found",
        examples.len()
    );
    let stubs = stub_dir();
    let mut problems = Vec::new();
    let mut dtutil_lines = 0;
    for ex in &examples {
        let syntax = Command::new("bash")
            .args(["-n", "-c", &ex.script])
            .output()
            .unwrap();
        if !syntax.status.success() {
            problems.push(format!(
                "{}: bash -n: {}\n{}",
                ex.origin,
                String::from_utf8_lossy(&syntax.stderr).trim(),
                ex.script
            ));
            continue;
        }
        let work = tempfile::tempdir().unwrap();
        let calls = work.path().join("calls");
        std::fs::write(&calls, "").unwrap();
        // Any command that is neither a builtin nor a stub is a broken example (a `;`
        // that ended the command, a path run as a program).
        let script = format!(
            "command_not_found_handle() {{ echo \"unknown command: $1\" >&2; return 127; }}\n{}",
            ex.script
        );
        let bash = Command::new("/bin/bash")
            .args(["--noprofile", "--norc", "-c", &script])
            .current_dir(work.path())
            .env_clear()
            .env("PATH", stubs.path())
            .env("HOME", work.path())
            .env("DOC_CALLS", &calls)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&bash.stderr);
        if stderr.contains("unknown command") || stderr.contains("syntax error") {
            problems.push(format!("{}: {}\n{}", ex.origin, stderr.trim(), ex.script));
            continue;
        }
        let recorded = std::fs::read(&calls).unwrap();
        let text = String::from_utf8_lossy(&recorded);
        for record in text.split("\n--end--\n").filter(|r| !r.is_empty()) {
            let argv: Vec<&str> = record.trim_end_matches('\0').split('\0').collect();
            if argv[0] != "dtutil" {
                continue;
            }
            dtutil_lines += 1;
            let args = argv[1..].iter().map(std::ffi::OsString::from);
            match dtutil::cli::parse(args) {
                // `/H Dump` shows what a Windows user types; here it is refused by design.
                Err(e) if e.message.contains("not supported on this platform") => {}
                Err(e) => problems.push(format!(
                    "{}: dtutil rejects {:?}: exit {} {}",
                    ex.origin,
                    &argv[1..],
                    e.exit.code(),
                    e
                )),
                Ok(_) => {}
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} examples are broken:\n\n{}",
        problems.len(),
        examples.len(),
        problems.join("\n\n")
    );
    assert!(dtutil_lines >= 45, "only {dtutil_lines} dtutil lines ran");
    println!(
        "{} examples, {dtutil_lines} dtutil command lines: all parse",
        examples.len()
    );
}

fn example_containing(file: &str, needle: &str) -> String {
    examples_in(&root().join(file))
        .into_iter()
        .find(|e| e.script.contains(needle))
        .unwrap_or_else(|| panic!("{file} has no example with {needle}"))
        .script
}

/// Runs a script with the real dtutil first on the PATH; placeholders the reader fills
/// in (`export NAME='...'`) are left to the environment given.
fn run_for_real(script: &str, dir: &Path, env: &[(String, String)]) -> std::process::Output {
    let script: Vec<&str> = script
        .lines()
        .filter(|l| !(l.starts_with("export ") && l.contains("...")))
        .collect();
    let script = format!("set -e\n{}", script.join("\n"));
    let bin_dir = Path::new(BIN).parent().unwrap();
    Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &script])
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/source").join(name)
}

fn show(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_readmes_file_examples_run_on_its_own_password_protected_package() {
    let script = example_containing("README.md", "/FILE Load.dtsx /COPY");
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("OLD_PW".to_string(), "old-Passw0rd".to_string()),
        ("NEW_PW".to_string(), "new-Passw0rd".to_string()),
    ];
    // Load.dtsx as the README has it: protected with OLD_PW (level 2).
    let make = Command::new(BIN)
        .current_dir(dir.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args([
            "/FILE",
            fixture("CustomerLoad.dtsx").to_str().unwrap(),
            "/ENCRYPT",
            "FILE;Load.dtsx;2;env:OLD_PW",
        ])
        .output()
        .unwrap();
    assert!(make.status.success(), "{}", show(&make));
    for folder in ["backup", "out", "archive"] {
        std::fs::create_dir(dir.path().join(folder)).unwrap();
    }
    // `/backup` is the reader's; here it is a folder of the temporary directory.
    let script = script.replace("\"FILE;/backup/", "\"FILE;backup/");
    let out = run_for_real(&script, dir.path(), &env);
    assert!(out.status.success(), "{script}\n{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("The specified package exists."), "{stdout}");
    assert!(dir.path().join("backup/Load.dtsx").exists());
    assert!(dir.path().join("archive/Load.dtsx").exists());
    assert!(
        !dir.path().join("Load.dtsx").exists(),
        "/MOVE left its source"
    );
}

#[test]
fn the_azure_files_guides_loop_runs_against_the_test_server() {
    let script = example_containing("docs/azure-files.md", "for f in *.dtsx");
    let server = start_azfiles("myaccount", "share");
    let dir = tempfile::tempdir().unwrap();
    for name in ["CustomerLoad.dtsx", "Legacy2008.dtsx"] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
    }
    std::fs::copy(fixture("Legacy2008.dtsx"), dir.path().join("p.dtsx")).unwrap();
    let env = vec![
        ("AZURE_STORAGE_ACCOUNT".to_string(), "myaccount".to_string()),
        (
            "AZURE_STORAGE_KEY".to_string(),
            azfiles_support::KEY.to_string(),
        ),
        (
            "DTUTIL_AZURE_FILES_ENDPOINT".to_string(),
            format!("http://{server}/myaccount"),
        ),
        ("PW".to_string(), "package password".to_string()),
    ];
    let out = run_for_real(&script, dir.path(), &env);
    assert!(out.status.success(), "{script}\n{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout
            .matches("The operation completed successfully.")
            .count(),
        4,
        "{}",
        show(&out)
    );
}

fn start_azfiles(account: &str, share: &str) -> std::net::SocketAddr {
    azfiles_support::start_account(account, azfiles_support::KEY, &[share]).addr
}
