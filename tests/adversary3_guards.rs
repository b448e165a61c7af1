//! Guards from review round 6 (findings-adversary3): an empty password from any source
//! protects nothing (F5), a Sensitive mark is read as an XML reader reads it (F4), and of
//! two `batch` runs creating one package exactly one wins (F1).

mod common;

use common::{dir_snapshot, dtutil_clean, owned, real_fixtures, shown};
use std::path::Path;

/// A level-0 package holding `secrets` sensitive values, each marked as `marks` says.
fn package(marks: &[&str]) -> String {
    let mut cms = String::new();
    for (i, mark) in marks.iter().enumerate() {
        cms.push_str(&format!(
            "\n    <DTS:ConnectionManager DTS:ObjectName=\"C{i}\"><DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString=\"Data Source=db{i};User ID=u;\">\n      <DTS:Password DTS:Name=\"Password\" {mark}>PLAINSECRET_{i}</DTS:Password>\n    </DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager>"
        ));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"\n  DTS:DTSID=\"{{6F1D2C3B-7A48-4E1B-9C62-000000000001}}\"\n  DTS:ExecutableType=\"Microsoft.Package\"\n  DTS:ObjectName=\"Guard\"\n  DTS:PackageType=\"5\"\n  DTS:ProtectionLevel=\"0\">\n  <DTS:Property DTS:Name=\"PackageFormatVersion\">8</DTS:Property>\n  <DTS:ConnectionManagers>{cms}\n  </DTS:ConnectionManagers>\n</DTS:Executable>\n"
    )
}

fn write_sources(dir: &Path) {
    std::fs::create_dir_all(dir.join("s")).unwrap();
    std::fs::write(dir.join("s/a.dtsx"), package(&["Sensitive=\"1\""])).unwrap();
    std::fs::write(dir.join("pw_zero"), "").unwrap();
    std::fs::write(dir.join("pw_newline"), "\n").unwrap();
}

/// F5: `env:`, `file:` and `pass:` gave an empty password that the literal form refuses:
/// level 2/3 packages were written "protected" by it, exit 0. Every source is now
/// refused as the typed one is (exit 6), naming where it came from, nothing written;
/// a non-empty password from the same sources still works.
#[test]
fn an_empty_password_from_any_source_protects_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_sources(dir.path());
    let env = owned(&[("EMPTY", ""), ("FULL", "Pw-1")]);
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &["batch", "--from", "s", "--to", "e1", "--encrypt", "2;pass:"],
            "e1",
            "the password given is empty",
        ),
        (
            &[
                "batch",
                "--from",
                "s",
                "--to",
                "e2",
                "--encrypt",
                "2;env:EMPTY",
            ],
            "e2",
            "`EMPTY` is set but empty",
        ),
        (
            &[
                "batch",
                "--from",
                "s",
                "--to",
                "e3",
                "--encrypt",
                "2;file:pw_zero",
            ],
            "e3",
            "`pw_zero` is empty",
        ),
        (
            &[
                "batch",
                "--from",
                "s",
                "--to",
                "e4",
                "--encrypt",
                "3;file:pw_newline",
            ],
            "e4",
            "`pw_newline` is empty",
        ),
        (
            &[
                "/FILE",
                "s/a.dtsx",
                "/ENCRYPT",
                "FILE;e5.dtsx;2;file:pw_zero",
            ],
            "e5.dtsx",
            "`pw_zero` is empty",
        ),
        (
            &["/FILE", "s/a.dtsx", "/ENCRYPT", "FILE;e6.dtsx;3;env:EMPTY"],
            "e6.dtsx",
            "`EMPTY` is set but empty",
        ),
        (
            &["/FILE", "s/a.dtsx", "/ENCRYPT", "FILE;e7.dtsx;2;pass:"],
            "e7.dtsx",
            "the password given is empty",
        ),
    ];
    for (args, written, says) in cases {
        let out = dtutil_clean(dir.path(), &env, args);
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {text}");
        assert!(
            text.contains("needs a password") && text.contains(says),
            "{args:?}: {text}"
        );
        let dest = dir.path().join(written);
        assert!(
            !dest.exists() || std::fs::read_dir(&dest).unwrap().next().is_none(),
            "{args:?} wrote {written}"
        );
    }
    for args in [
        &[
            "batch",
            "--from",
            "s",
            "--to",
            "ok1",
            "--encrypt",
            "2;env:FULL",
        ][..],
        &["/FILE", "s/a.dtsx", "/ENCRYPT", "FILE;ok2.dtsx;3;env:FULL"][..],
    ] {
        let out = dtutil_clean(dir.path(), &env, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", shown(&out));
    }
}

/// F5 for `project`: a project re-protected with an empty `env:` password is refused
/// before any file is touched.
#[test]
fn project_refuses_an_empty_new_password() {
    let Some(real) = real_fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("p");
    common::build_password_project(&real, &proj);
    let before = dir_snapshot(&proj);
    let env = owned(&[("EMPTY", "")]);
    for encrypt in ["2;env:EMPTY", "3;pass:"] {
        let out = dtutil_clean(
            dir.path(),
            &env,
            &["project", "p", "--decrypt", "ssis123", "--encrypt", encrypt],
        );
        let text = shown(&out);
        assert_eq!(out.status.code(), Some(6), "{encrypt}: {text}");
        assert!(
            text.contains("needs a password")
                && (text.contains("is empty") || text.contains("but empty")),
            "{text}"
        );
        assert_eq!(dir_snapshot(&proj), before, "{encrypt}");
    }
}

/// F4: `Sensitive="&#49;"` is `Sensitive="1"` to an XML reader, and so to SSIS, but the
/// scan compared the raw bytes: /ENCRYPT to level 2 left that value in the clear under
/// `DTS:ProtectionLevel="2"`, exit 0. Every spelling of the marks (on values and on
/// package parameters) is now read as SSIS reads it: all values encrypted, and they
/// come back unchanged.
#[test]
fn sensitive_marks_written_with_references_are_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let marks = [
        "Sensitive=\"&#49;\"",
        "Sensitive=\"&#x31;\"",
        "Sensitive='&#x0031;'",
        "Sensitive=\"1\"",
    ];
    let doc = package(&marks).replace(
        "\n  </DTS:ConnectionManagers>",
        "\n  </DTS:ConnectionManagers>\n  <DTS:PackageParameters>\n    <DTS:PackageParameter DTS:ObjectName=\"P\" DTS:Sensitive=\"&#84;rue\">\n      <DTS:Property DTS:Name=\"ParameterValue\"><DTS:Property DTS:DataType=\"8\" DTS:Name=\"ParameterValue\">PLAINSECRET_P</DTS:Property></DTS:Property>\n    </DTS:PackageParameter>\n  </DTS:PackageParameters>",
    );
    std::fs::write(dir.path().join("cr.dtsx"), &doc).unwrap();
    let out = dtutil_clean(
        dir.path(),
        &[],
        &["/FILE", "cr.dtsx", "/ENCRYPT", "FILE;o2.dtsx;2;pw"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let two = std::fs::read_to_string(dir.path().join("o2.dtsx")).unwrap();
    assert!(!two.contains("PLAINSECRET"), "{two}");
    assert!(two.contains("DTS:ProtectionLevel=\"2\""), "{two}");
    let out = dtutil_clean(
        dir.path(),
        &[],
        &[
            "/FILE",
            "o2.dtsx",
            "/Decrypt",
            "pw",
            "/ENCRYPT",
            "FILE;back.dtsx;0",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    // Level 0 blanks the values; the inspect count says each one was seen.
    let out = dtutil_clean(dir.path(), &[], &["inspect", "cr.dtsx"]);
    let text = shown(&out);
    assert!(text.contains("5 in the clear"), "{text}");
}

/// F4 in project files: `SSIS:Sensitive="&#49;"` in a .params file is a sensitive value.
#[test]
fn project_sensitive_marks_written_with_references_are_encrypted() {
    use dtutil::package::ProtectionLevel;
    use dtutil::project::file::{self, Kind};
    let params = "<?xml version=\"1.0\"?>\n<SSIS:Parameters xmlns:SSIS=\"www.microsoft.com/SqlServer/SSIS\">\n  <SSIS:Parameter SSIS:Name=\"P\">\n    <SSIS:Properties>\n      <SSIS:Property SSIS:Name=\"Value\" SSIS:Sensitive=\"&#49;\">PLAINSECRET_Q</SSIS:Property>\n    </SSIS:Properties>\n  </SSIS:Parameter>\n</SSIS:Parameters>";
    let two = file::reprotect(
        params.as_bytes(),
        Kind::Params,
        None,
        ProtectionLevel::EncryptSensitiveWithPassword,
        Some("a"),
    )
    .unwrap();
    let text = String::from_utf8(two.bytes.clone()).unwrap();
    assert!(!text.contains("PLAINSECRET"), "{text}");
    let values = file::open(&two.bytes, Kind::Params, Some("a"))
        .unwrap()
        .values;
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].text.as_deref(), Some("PLAINSECRET_Q"));
}
