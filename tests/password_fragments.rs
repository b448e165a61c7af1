//! An unquoted password with a blank arrives as two arguments; the subcommands never
//! echo the second (adversary F3), as dtutil's own switches do not: clap's "unexpected
//! argument" and a "no such file" for it are replaced by its position.
//!
//! Each case is a command line as one string, split at blanks, with `{F}` standing for
//! the password's second half.

mod common;

use std::path::Path;

const FRAGMENT: &str = "Zq9SecretXy";

/// A scratch folder with a package `p2.dtsx` and a folder `pkgs` holding another.
fn scratch() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
        dir.join("p2.dtsx"),
    )
    .unwrap();
    std::fs::create_dir(dir.join("pkgs")).unwrap();
    std::fs::copy(dir.join("p2.dtsx"), dir.join("pkgs/p3.dtsx")).unwrap();
    tmp
}

/// Runs `line` with `{F}` replaced by `fragment`: the exit code and both streams.
fn run(dir: &Path, env: &[(&str, &str)], line: &str, fragment: &str) -> (Option<i32>, String) {
    let args: Vec<String> = line
        .split_whitespace()
        .map(|w| w.replace("{F}", fragment))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = common::dtutil_clean(dir, &env, &args);
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_word_after_a_password_is_never_echoed() {
    let tmp = scratch();
    for line in [
        "batch --from . --to x --decrypt my {F}",
        "batch --from . --to x --source-password my {F}",
        "batch --from . --to x --decrypt=my {F}",
        "project p2.dtsx --decrypt my {F} --encrypt 0",
        "assess --password my {F}",
        "assess --sql-password my {F} p2.dtsx",
        "inspect --password my {F} --json",
        "inspect --password my {F}",
    ] {
        let (code, all) = run(tmp.path(), &[], line, FRAGMENT);
        assert!(!all.contains(FRAGMENT), "{line} echoed it: {all}");
        assert_eq!(code, Some(6), "{line}: {all}");
        assert!(all.contains("not shown"), "{line}: {all}");
    }
    // A file that exists is read; a missing one elsewhere on the line is named.
    let (code, all) = run(tmp.path(), &[], "inspect --password pw p2.dtsx", "");
    assert_eq!(code, Some(0), "{all}");
    let (code, all) = run(tmp.path(), &[], "inspect missing.dtsx --password pw", "");
    assert_eq!(code, Some(4), "{all}");
    assert!(all.contains("missing.dtsx"), "{all}");
}

/// Adversary2 F1: a second half that looks like a path, a package or an option is a
/// password too; only what exists (or is a location or an option) is taken as such.
#[test]
fn the_word_after_a_password_is_hidden_whatever_it_looks_like() {
    let tmp = scratch();
    for fragment in [
        "Zq9/SecretXy",
        "Zq9SecretXy.dtsx",
        "--Zq9SecretXy",
        "-Zq9SecretXy",
        "/Zq9SecretXy",
    ] {
        for line in [
            "batch --from . --to x --decrypt my {F}",
            "batch --from . --to x --decrypt=my {F}",
            "batch --from . --to x --decrypt my {F} --dry-run",
            "project p2.dtsx --decrypt my {F} --encrypt 0",
            "assess --password my {F}",
            "assess --password my {F} p2.dtsx",
            "inspect --json --password my {F}",
            "inspect --password my {F} p2.dtsx",
            "ir run --package-password my {F}",
            // Verify2 F8: dtutil's own switches.
            "/FILE p2.dtsx /Decrypt my {F} /EXISTS",
            "/SQL x /SourceServer 127.0.0.1,1 /SourceUser etl /SourcePassword my {F} /EXISTS",
            "/FILE p2.dtsx /ENCRYPT FILE;out.dtsx;2;my {F}",
        ] {
            let (code, all) = run(tmp.path(), &[], line, fragment);
            assert!(
                !all.contains("Zq9"),
                "{line} with {fragment} echoed it: {all}"
            );
            assert_ne!(code, Some(0), "{line} with {fragment}: {all}");
        }
    }
    // What exists, a glob over a folder that exists and a location are read as such.
    for line in [
        "assess --password pw pkgs --fail-on never",
        "assess --password pw *.dtsx --fail-on never",
        "inspect --password pw p2.dtsx",
    ] {
        let (code, all) = run(tmp.path(), &[], line, "");
        assert!(!all.contains("not shown"), "{line}: {all}");
        assert_eq!(code, Some(0), "{line}: {all}");
    }
    let (_, all) = run(
        tmp.path(),
        &[],
        "assess --sql-password pw sql://nohost.invalid/F",
        "",
    );
    assert!(!all.contains("not shown"), "{all}");
}

/// Verify2 F1: `ir run`'s secrets are passwords too: the `-sensitive` options' values,
/// and the `--connection` and `--set` values dtutil sends as secrets (a Password
/// property, a connection string holding one).
#[test]
fn the_word_after_an_ir_secret_is_never_echoed() {
    let tmp = scratch();
    let ir = [(
        "DTUTIL_IR",
        "00000000-0000-0000-0000-000000000000/rg/adf/SsisIr",
    )];
    for fragment in ["Zq9/S", FRAGMENT, "--Zq9S", "-Zq9S", "Zq9S.dtsx"] {
        for (line, option) in [
            (
                r"ir run FILES\Load --param-sensitive A=my {F}",
                "--param-sensitive",
            ),
            (
                r"ir run FILES\Load --param-sensitive=A=my {F}",
                "--param-sensitive",
            ),
            (
                r"ir run FILES\Load --set-sensitive P=my {F}",
                "--set-sensitive",
            ),
            (
                r"ir run FILES\Load --connection-sensitive C.X=my {F}",
                "--connection-sensitive",
            ),
            (
                r"ir run FILES\Load --connection OLE.Password=my {F}",
                "--connection",
            ),
            (
                r"ir run FILES\Load --connection O2.ConnectionString=Server=x;Pwd=my {F}",
                "--connection",
            ),
            (
                r"ir run FILES\Load --set \Package.Connections[DB].Properties[Password]=my {F}",
                "--set",
            ),
            (
                r"ir run --param-sensitive A=my {F} --wait",
                "--param-sensitive",
            ),
        ] {
            let (code, all) = run(tmp.path(), &ir, line, fragment);
            assert!(
                !all.contains("Zq9"),
                "{line} with {fragment} echoed it: {all}"
            );
            assert_eq!(code, Some(6), "{line} with {fragment}: {all}");
            assert!(
                all.contains("not shown") && all.contains(option),
                "{line} with {fragment}: {all}"
            );
        }
    }
    // A package path after a secret, a reference, and values that are no secret go
    // their usual way.
    for line in [
        r"ir run --param-sensitive A=my FILES\Load --wait --timeout 1",
        r"ir run FILES\Load --param-sensitive A=env:NOPE Plain --wait",
        r"ir run FILES\Load --connection C.ServerName=db1 Plain",
        r"ir run FILES\Load --param A=my Plain",
    ] {
        let (_, all) = run(tmp.path(), &ir, line, "");
        assert!(!all.contains("not shown"), "{line}: {all}");
    }
}

/// Adversary3 F7: a known option right after a password is that option; the usage
/// errors about it (or about what follows) are the specific ones, as without the
/// password, while an unknown `--word` there stays hidden, by its own position.
#[test]
fn a_known_option_after_a_password_keeps_its_own_error() {
    let tmp = scratch();
    for (line, expected) in [
        (
            "batch --from pkgs --to o --decrypt pw --jobs x",
            "invalid value 'x' for '--jobs",
        ),
        (
            "batch --from pkgs --to o --decrypt pw --jobs=x",
            "invalid value 'x' for '--jobs",
        ),
        (
            "batch --from pkgs --to o --decrypt pw --encrypt 9;y",
            "`9` is not a protection level",
        ),
        (
            "batch --from pkgs --to o --decrypt pw --algorithm aes999",
            "--algorithm `aes999` is not known",
        ),
        (
            "batch --from pkgs --to o --decrypt pw --report",
            "a value is required for '--report",
        ),
        (
            "project p2.dtsx --decrypt x --encrypt 2;",
            "level 2 (EncryptSensitiveWithPassword) needs a password",
        ),
        (
            "inspect --password pw --bogus-json p2.dtsx",
            "unexpected argument 4 (not shown: it follows the value of --password",
        ),
        (
            "project p2.dtsx --decrypt x --encrypt 2;y --bogus",
            "unexpected argument 7 (not shown: it follows the value of --encrypt",
        ),
    ] {
        let (code, all) = run(tmp.path(), &[], line, "");
        assert_eq!(code, Some(6), "{line}: {all}");
        assert!(all.contains(expected), "{line}: {all}");
        assert!(
            !all.contains("--bogus"),
            "{line} echoed a possible fragment: {all}"
        );
    }
}
