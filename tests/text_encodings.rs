//! Packages in the encodings SSIS reads (issue 11): a UTF-16 package with a BOM (as
//! .NET's XmlDocument loads it) is read and rewritten in UTF-16 with its BOM, changing
//! nothing beyond what was asked; a UTF-8 BOM stays. The real fixtures are converted in
//! a temporary folder, never copied into the repository.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn dtutil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dtutil"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The UTF-8 text as SSIS saves it in UTF-16: little-endian, a BOM, and a declaration
/// that says so.
fn to_utf16(utf8: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(utf8.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(utf8)).unwrap();
    let text = declare_utf16(text);
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

fn declare_utf16(text: &str) -> String {
    text.replacen(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
        1,
    )
}

fn from_utf16(bytes: &[u8]) -> String {
    assert_eq!(&bytes[..2], b"\xFF\xFE", "a UTF-16LE BOM first");
    let units: Vec<u16> = bytes[2..]
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

fn password_packages() -> Option<Vec<(PathBuf, String)>> {
    let dir = common::real_fixtures()?;
    let found: Vec<(PathBuf, String)> = common::real_files(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dtsx"))
        .filter_map(|p| common::password_of(&p).map(|pw| (p, pw)))
        .collect();
    assert!(found.len() >= 4, "expected the real password packages");
    Some(found)
}

#[test]
fn utf16_real_packages_are_read_and_rewritten_in_utf16() {
    let Some(packages) = password_packages() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (path, password) in packages {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let original = std::fs::read(&path).unwrap();
        let u8_copy = dir.path().join(format!("u8-{name}"));
        let u16_copy = dir.path().join(format!("u16-{name}"));
        std::fs::write(&u8_copy, &original).unwrap();
        std::fs::write(&u16_copy, to_utf16(&original)).unwrap();

        // To level 0 (deterministic): the UTF-16 result is the UTF-8 result in UTF-16.
        let (clear8, clear16) = (dir.path().join("c8.dtsx"), dir.path().join("c16.dtsx"));
        for (src, dst) in [(&u8_copy, &clear8), (&u16_copy, &clear16)] {
            let out = dtutil(&[
                "/FILE",
                s(src),
                "/Decrypt",
                &password,
                "/ENCRYPT",
                &format!("FILE;{};0", s(dst)),
                "/Q",
            ]);
            ok(&out, &name);
        }
        let clear8 = std::fs::read_to_string(&clear8).unwrap();
        let clear8 = clear8.strip_prefix('\u{FEFF}').unwrap_or(&clear8);
        let clear16 = std::fs::read(&clear16).unwrap();
        assert_eq!(from_utf16(&clear16), declare_utf16(clear8), "{name}");

        // Back to a password (level 2), then open it again: still UTF-16, same text.
        let back = dir.path().join("back.dtsx");
        let out = dtutil(&[
            "/FILE",
            s(&dir.path().join("c16.dtsx")),
            "/ENCRYPT",
            &format!("FILE;{};2;new-pw", s(&back)),
            "/Q",
        ]);
        ok(&out, &name);
        assert_eq!(&std::fs::read(&back).unwrap()[..2], b"\xFF\xFE", "{name}");
        let again = dir.path().join("again.dtsx");
        let out = dtutil(&[
            "/FILE",
            s(&back),
            "/Decrypt",
            "new-pw",
            "/ENCRYPT",
            &format!("FILE;{};0", s(&again)),
            "/Q",
        ]);
        ok(&out, &name);
        assert_eq!(std::fs::read(&again).unwrap(), clear16, "{name}");

        // inspect reads it too.
        let out = dtutil(&["inspect", s(&u16_copy), "--password", &password]);
        ok(&out, &name);
    }
}

#[test]
fn utf16_regenerated_id_changes_only_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let original = std::fs::read(src).unwrap();
    let package = dir.path().join("p.dtsx");
    let utf16 = to_utf16(&original);
    std::fs::write(&package, &utf16).unwrap();
    ok(&dtutil(&["/FILE", s(&package), "/I"]), "/I");
    let after = std::fs::read(&package).unwrap();
    assert_eq!(
        after.len(),
        utf16.len(),
        "an ID is as long as the one it replaces"
    );
    let (before, after) = (from_utf16(&utf16), from_utf16(&after));
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.contains("DTS:DTSID="), "{changed:?}");
}

#[test]
fn utf16_that_lies_about_its_encoding_is_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let text = std::fs::read_to_string(src).unwrap();
    let lying = dir.path().join("lying.dtsx");
    std::fs::write(&lying, declare_utf16(&text)).unwrap();
    let out = dtutil(&["/FILE", s(&lying), "/I"]);
    assert_eq!(out.status.code(), Some(5));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no UTF-16 byte order mark"), "{stdout}");
}

#[test]
fn utf8_bom_survives_a_rewrite() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let path = dir.join("ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx");
    let password = common::password_of(&path).unwrap();
    assert!(std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBF"));
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("o.dtsx");
    ok(
        &dtutil(&[
            "/FILE",
            s(&path),
            "/Decrypt",
            &password,
            "/ENCRYPT",
            &format!("FILE;{};0", s(&out_path)),
        ]),
        "bom",
    );
    assert!(std::fs::read(&out_path)
        .unwrap()
        .starts_with(b"\xEF\xBB\xBF<?xml"));
}
