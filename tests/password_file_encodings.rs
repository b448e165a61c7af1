//! `file:` and `env:` passwords written by Windows tools (review user3 F8): a UTF-8 byte
//! order mark (PowerShell 5.1 `Out-File -Encoding utf8`, `Set-Content -Encoding UTF8`)
//! is not part of the password, and a UTF-16 file with its mark (PowerShell 5.1's `>`)
//! is decoded; what cannot be decoded is refused, naming the file, never its content.

mod common;

use common::{dtutil_clean, owned, real_fixtures, shown};

const BANANA: &str = "shirashiki_security_test_pass_is_banana.EncryptAllWithPassword.fmt8.dtsx";

fn utf16(text: &str, little: bool) -> Vec<u8> {
    let mut out = if little {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        out.extend(if little {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    out
}

#[test]
fn windows_password_files_open_the_banana_package() {
    let Some(real) = real_fixtures() else { return };
    let package = real.join(BANANA);
    let dir = tempfile::tempdir().unwrap();
    let files: [(&str, Vec<u8>); 4] = [
        ("utf8-bom", b"\xef\xbb\xbfbanana\r\n".to_vec()),
        ("utf8-bom-no-newline", b"\xef\xbb\xbfbanana".to_vec()),
        ("utf16le", utf16("banana\r\n", true)),
        ("utf16be", utf16("banana", false)),
    ];
    for (name, bytes) in &files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let out = format!("{name}.dtsx");
        let o = dtutil_clean(
            dir.path(),
            &[],
            &[
                "/FILE",
                package.to_str().unwrap(),
                "/Decrypt",
                &format!("file:{name}"),
                "/ENCRYPT",
                &format!("FILE;{out};2;file:{name}"),
                "/Q",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", shown(&o));
        // The package written with it opens with the password as typed.
        let o = dtutil_clean(dir.path(), &[], &["inspect", "--password", "banana", &out]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", shown(&o));
    }
    // `export PW=$(cat pw.txt)` of such a file keeps the mark in the variable.
    let o = dtutil_clean(
        dir.path(),
        &owned(&[("PW", "\u{feff}banana")]),
        &["inspect", "--password", "env:PW", package.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
}

#[test]
fn undecodable_password_files_are_refused_without_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut odd = utf16("SecretPw", true);
    odd.push(b'x');
    let mut lone_surrogate = vec![0xFF, 0xFE];
    lone_surrogate.extend(0xD800u16.to_le_bytes());
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("odd", odd, "odd number of bytes"),
        ("surrogate", lone_surrogate, "not valid UTF-16"),
        (
            "latin1",
            b"Secr\xe9tPw".to_vec(),
            "neither UTF-8 nor UTF-16",
        ),
    ];
    std::fs::write(dir.path().join("p.dtsx"), b"<x/>").unwrap();
    for (name, bytes, why) in cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let o = dtutil_clean(
            dir.path(),
            &[],
            &[
                "/FILE",
                "p.dtsx",
                "/ENCRYPT",
                &format!("FILE;o.dtsx;2;file:{name}"),
                "/Q",
            ],
        );
        let text = shown(&o);
        assert_eq!(o.status.code(), Some(6), "{name}: {text}");
        assert!(text.contains(why) && text.contains(name), "{name}: {text}");
        assert!(
            !text.contains("SecretPw") && !text.contains("Secr"),
            "{text}"
        );
        assert!(!dir.path().join("o.dtsx").exists());
    }
}
