//! Issue 16: every "give X" hint names an option of the command that printed it.
//! `dtutil batch` and `dtutil assess` speak long options (`--source-user`, `--decrypt`),
//! single commands dtutil's switches (`/SourceUser`, `/Decrypt`); a package store root
//! names its own variables. Each case runs the command, checks the hint, and checks
//! that every option the hint names is one the command's help lists.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");
/// A loopback port nothing listens on: the sign-in fails before the network.
#[cfg(unix)]
const NO_SERVER: &str = "127.0.0.1,1";

fn dtutil(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("DTUTIL_") || k.starts_with("AZURE_") {
            c.env_remove(k);
        }
    }
    c.env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("XDG_DATA_HOME", dir.join("no-data"))
        // No Kerberos ticket, whatever the machine has: integrated sign-in fails at once.
        .env(
            "KRB5CCNAME",
            format!("FILE:{}", dir.join("no-ticket").display()),
        )
        .output()
        .unwrap()
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The options (`--x` or `/X`) a message names.
fn options_named(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "(),;`'\"".contains(c)) {
        let is_long = word.starts_with("--") && word.len() > 2;
        let is_switch = word.starts_with('/')
            && word[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase())
            && word[1..].chars().all(|c| c.is_ascii_alphabetic());
        if is_long || is_switch {
            out.push(word.trim_end_matches('.').to_string());
        }
    }
    out
}

/// Every option `hint` names is in `help` (the command's own help text).
fn all_exist(hint: &str, help: &str, command: &str) {
    let named = options_named(hint);
    for option in &named {
        let listed = if option.starts_with("--") {
            help.contains(option.as_str())
        } else {
            // Switch names are case-insensitive; help spells them `/Dec[rypt]`.
            help.replace(['[', ']'], "")
                .to_lowercase()
                .contains(&option.to_lowercase())
        };
        assert!(
            listed,
            "`{command}` printed {option}, which its help does not list:\n{hint}"
        );
    }
}

fn help(dir: &Path, args: &[&str]) -> String {
    all(&dtutil(dir, args))
}

/// A level-2 (password) package `p.dtsx` in `src/`.
fn password_package(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let o = dtutil(
        dir,
        &[
            "/FILE",
            fixture.to_str().unwrap(),
            "/ENCRYPT",
            "FILE;src/p.dtsx;2;pw",
            "/Q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", all(&o));
}

/// The first line holding `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{text}"))
}

#[cfg(unix)]
#[test]
fn sql_login_hints_name_the_options_of_the_command_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    password_package(dir.path());
    let batch_help = help(dir.path(), &["batch", "--help"]);
    let assess_help = help(dir.path(), &["assess", "--help"]);
    let switches_help = help(dir.path(), &["/?"]);
    let source = format!("sql://{NO_SERVER}/X");
    let cases: [(&[&str], &str, &str, &str); 5] = [
        (
            &["batch", "--from", &source, "--to", "out"],
            "--source-user and --source-password",
            "/SourceUser",
            &batch_help,
        ),
        (
            &["batch", "--from", "src", "--to", &source],
            "--dest-user and --dest-password",
            "/DestUser",
            &batch_help,
        ),
        (
            &["assess", &source],
            "--sql-user and --sql-password",
            "/SourceUser",
            &assess_help,
        ),
        (
            &["/SQL", "X", "/SourceServer", NO_SERVER, "/EXISTS"],
            "/SourceUser and /SourcePassword",
            "--source-user",
            &switches_help,
        ),
        (
            &[
                "/FILE",
                "src/p.dtsx",
                "/COPY",
                "SQL;X",
                "/DestServer",
                NO_SERVER,
            ],
            "/DestUser and /DestPassword",
            "--dest-user",
            &switches_help,
        ),
    ];
    for (args, says, never, help) in cases {
        let o = dtutil(dir.path(), args);
        let text = all(&o);
        // assess: a source it cannot open is 5 (1 means a finding reached --fail-on).
        let expected = if args[0] == "assess" { 5 } else { 1 };
        assert_eq!(o.status.code(), Some(expected), "{args:?}\n{text}");
        let hint = line_with(&text, "for a SQL login");
        assert!(
            hint.contains(&format!("Or give {says} for a SQL login")),
            "{args:?}\n{hint}"
        );
        assert!(hint.contains("DTUTIL_SQL_ACCESS_TOKEN"), "{args:?}\n{hint}");
        assert!(!hint.contains(never), "{args:?}\n{hint}");
        all_exist(hint, help, &args.join(" "));
    }
}

#[test]
fn package_password_hints_name_the_options_of_the_command_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    password_package(dir.path());
    let batch_help = help(dir.path(), &["batch", "--help"]);
    let switches_help = help(dir.path(), &["/?"]);
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["batch", "--from", "src", "--to", "o1", "--encrypt", "0"],
            "give it with --decrypt PASSWORD",
            &batch_help,
        ),
        (
            &[
                "batch",
                "--from",
                "src",
                "--to",
                "o2",
                "--decrypt",
                "wrong",
                "--encrypt",
                "0",
            ],
            "the --decrypt password is wrong",
            &batch_help,
        ),
        (
            &["batch", "--from", "src", "--to", "o3", "--regenerate-ids"],
            "is kept, which needs the package's password: give it with --decrypt",
            &batch_help,
        ),
        (
            &["/FILE", "src/p.dtsx", "/ENCRYPT", "FILE;s1.dtsx;0", "/Q"],
            "give it with /Decrypt PASSWORD",
            &switches_help,
        ),
        (
            &["/FILE", "src/p.dtsx", "/I"],
            "is kept, which needs the package's password: give it with /Decrypt",
            &switches_help,
        ),
    ];
    for (args, says, help) in cases {
        let o = dtutil(dir.path(), args);
        let text = all(&o);
        assert_ne!(o.status.code(), Some(0), "{args:?}\n{text}");
        let hint = line_with(&text, says);
        let batch = args[0] == "batch";
        assert_eq!(hint.contains("/Decrypt"), !batch, "{args:?}\n{hint}");
        all_exist(hint, help, &args.join(" "));
    }
}

/// `assess` takes its sources as arguments: its messages name no `--from`.
#[test]
fn assess_source_messages_name_no_batch_option() {
    let dir = tempfile::tempdir().unwrap();
    let assess_help = help(dir.path(), &["assess", "--help"]);
    let o = dtutil(dir.path(), &["assess", "nope/*.dtsx"]);
    let text = all(&o);
    assert_ne!(o.status.code(), Some(0), "{text}");
    let hint = line_with(&text, "does not exist");
    assert!(hint.contains("source `nope/*.dtsx`"), "{hint}");
    all_exist(hint, &assess_help, "assess nope/*.dtsx");
}

#[test]
fn option_words_are_found() {
    assert_eq!(
        options_named(
            "give it with --decrypt PASSWORD (or /Decrypt, `/DestUser`). Or env:NAME / file:PATH"
        ),
        vec!["--decrypt", "/Decrypt", "/DestUser"]
    );
}

/// Review user2 F10: a CI job runs `dtutil assess` and then `dtutil batch` on one
/// `sql://` source. assess takes batch's `--source-user`/`--source-password`
/// (`--sql-user` stays), and batch given assess's `--sql-user` names the option of each
/// side instead of clap's `--dest-user` guess.
#[cfg(unix)]
#[test]
fn assess_and_batch_share_the_source_login_names() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sql://{NO_SERVER}/ETL");
    let assess_help = help(dir.path(), &["assess", "--help"]);
    assert!(assess_help.contains("--source-user"), "{assess_help}");
    let o = dtutil(
        dir.path(),
        &[
            "assess",
            "--source-user",
            "etl",
            "--source-password",
            "pw",
            &source,
        ],
    );
    let text = all(&o);
    // Past the command line: the sign-in itself fails (nothing listens there).
    assert_ne!(o.status.code(), Some(6), "{text}");
    assert!(!text.contains("unexpected argument"), "{text}");

    let batch_help = help(dir.path(), &["batch", "--help"]);
    let given: [&[&str]; 2] = [&["--sql-user", "etl"], &["--sql-password=pw"]];
    for login in given {
        let mut args = vec!["batch", "--from", &source, "--to", "out"];
        args.extend_from_slice(login);
        let o = dtutil(dir.path(), &args);
        let text = all(&o);
        assert_eq!(o.status.code(), Some(6), "{text}");
        let hint = line_with(&text, "dtutil batch names the login of each side");
        assert!(hint.contains("--source-"), "{hint}");
        assert!(
            !hint.contains("tip: a similar argument exists: '--dest-user'"),
            "{hint}"
        );
        // What it advises (after the option it did not take) is batch's own.
        let advice = hint.split("each side:").nth(1).unwrap();
        let advice = advice.split("(dtutil assess").next().unwrap();
        all_exist(advice, &batch_help, "batch");
    }
}
