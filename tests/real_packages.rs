//! The package engine against real SSIS files (SPEC 5), read in place.

mod common;

use dtutil::crypto::Algorithm;
use dtutil::package::ProtectionLevel;
use dtutil::package::{inspect, rewrite, Options, PackageError, Rewritten, Target};
use std::path::Path;

fn rw(
    input: &[u8],
    dec: Option<&str>,
    level: u32,
    pw: Option<&str>,
) -> Result<Rewritten, PackageError> {
    rewrite(
        input,
        &Options {
            decrypt_password: dec,
            target: Target::Level {
                level: ProtectionLevel::from_number(level).unwrap(),
                password: pw,
            },
            algorithm: None,
            regenerate_id: false,
            allow_lost_values: false,
        },
    )
}

fn packages(dir: &Path) -> Vec<std::path::PathBuf> {
    common::real_files(dir)
        .into_iter()
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".dtsx") || n.ends_with(".dtsxp")
        })
        .collect()
}

#[test]
fn inspect_reports_real_format_and_level() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let files = packages(&dir);
    assert!(
        files.len() >= 13,
        "expected the real packages, found {}",
        files.len()
    );
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let password = common::password_of(&path);
        let info = inspect(&bytes, password.as_deref()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            info.protection_level,
            Some(common::level_in_name(&name)),
            "{name}"
        );
        if let Some(fmt) = common::format_in_name(&name) {
            assert_eq!(info.format, Some(fmt), "{name}");
        }
        if name.contains("aes256") {
            assert_eq!(info.algorithms, vec!["aes256"], "{name}");
        }
        // Without the password a level 3 package still shows its level, nothing inside.
        if common::level_in_name(&name) == 3 {
            let blind = inspect(&bytes, None).unwrap();
            assert_eq!(blind.protection_level, Some(3));
            assert!(!blind.contents_visible);
        }
    }
}

#[test]
fn every_password_package_decrypts_and_reprotects_to_the_same_package() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let mut checked = 0;
    for path in packages(&dir) {
        let Some(password) = common::password_of(&path) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let l0 = rw(&bytes, Some(&password), 0, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let info = inspect(&l0.bytes, None).unwrap();
        assert_eq!(info.protection_level, Some(0), "{name}");
        let (encrypted, texts) = common::sensitive_texts(&l0.bytes);
        assert_eq!(encrypted, 0, "{name}: EncryptedData left");
        if common::level_in_name(&name) == 2 {
            assert!(!texts.is_empty(), "{name}: no sensitive element found");
        }
        assert!(
            texts.iter().all(|t| t.is_empty()),
            "{name}: a sensitive value survived level 0"
        );

        for (level, algorithm) in [
            (2, None),
            (3, None),
            (2, Some(Algorithm::Aes256)),
            (3, Some(Algorithm::TripleDes)),
        ] {
            let new_pw = "n€w-pässwörd";
            let protected = rewrite(
                &l0.bytes,
                &Options {
                    decrypt_password: None,
                    target: Target::Level {
                        level: ProtectionLevel::from_number(level).unwrap(),
                        password: Some(new_pw),
                    },
                    algorithm,
                    regenerate_id: false,
                    allow_lost_values: false,
                },
            )
            .unwrap();
            assert_eq!(
                inspect(&protected.bytes, Some(new_pw))
                    .unwrap()
                    .protection_level,
                Some(level),
                "{name}"
            );
            if inspect(&protected.bytes, None)
                .unwrap()
                .encrypted
                .unwrap_or(1)
                > 0
            {
                let old = rw(&protected.bytes, Some(&password), 0, None);
                assert!(
                    matches!(old, Err(PackageError::WrongPassword)),
                    "{name}: old password accepted"
                );
            }
            let again = rw(&protected.bytes, Some(new_pw), 0, None).unwrap();
            assert_eq!(
                again.bytes, l0.bytes,
                "{name}: level {level} round trip differs"
            );
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} password packages checked");
}

/// Level 5 keeps sensitive values in the clear, which shows the decrypted plaintext.
fn clear_values(file: &str) -> Option<(Vec<u8>, Vec<String>)> {
    let dir = common::real_fixtures()?;
    let path = dir.join(file);
    let password = common::password_of(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let clear = rw(&bytes, Some(&password), 5, None).unwrap().bytes;
    let (_, texts) = common::sensitive_texts(&clear);
    Some((clear, texts))
}

#[test]
fn known_plaintexts() {
    if let Some((clear, _)) =
        clear_values("shirashiki_security_test_pass_is_banana.EncryptAllWithPassword.fmt8.dtsx")
    {
        let text = String::from_utf8(clear).unwrap();
        let root = text.find("<DTS:Executable").expect("root DTS:Executable");
        assert!(text[root..].contains("DTS:ObjectName=\"security_test_pass_is_banana\""));
    }
    if let Some((_, texts)) =
        clear_values("ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx")
    {
        assert_eq!(texts, vec!["db-01".to_string(), "2".to_string()]);
    }
    if let Some((_, texts)) =
        clear_values("nanda_SalarySensitivePassword.EncryptSensitiveWithPassword.fmt2.dtsx")
    {
        assert_eq!(texts, vec!["sapw".to_string()]);
    }
    if let Some((_, texts)) =
        clear_values("nanda_SensitivePassword.EncryptSensitiveWithPassword.fmt8.aes256.dtsx")
    {
        assert_eq!(texts, vec!["sapw".to_string()]);
    }
}

#[test]
fn dont_save_sensitive_round_trip_gives_original_bytes() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let mut checked = 0;
    for path in packages(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if common::level_in_name(&name) != 0 {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let l2 = rw(&bytes, None, 2, Some("pw")).unwrap();
        assert_ne!(l2.bytes, bytes);
        let back = rw(&l2.bytes, Some("pw"), 0, None).unwrap();
        assert!(back.bytes == bytes, "{name}: 0 -> 2 -> 0 changed the bytes");
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn same_password_keeps_encrypted_nodes_byte_for_byte() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let path = dir.join("ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx");
    let bytes = std::fs::read(&path).unwrap();
    let same = rw(&bytes, Some("ssis123"), 2, Some("ssis123")).unwrap();
    assert!(same.bytes == bytes);
}

#[test]
fn user_key_packages() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    for path in packages(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        match common::level_in_name(&name) {
            1 => {
                let Err(PackageError::LostValues(names)) = rw(&bytes, None, 2, Some("x")) else {
                    panic!("{name}: level 1 must refuse to lose values")
                };
                assert!(!names.is_empty());
                let forced = rewrite(
                    &bytes,
                    &Options {
                        decrypt_password: None,
                        target: Target::Level {
                            level: ProtectionLevel::DontSaveSensitive,
                            password: None,
                        },
                        algorithm: None,
                        regenerate_id: false,
                        allow_lost_values: true,
                    },
                )
                .unwrap();
                assert_eq!(forced.lost_values, names);
                let text = String::from_utf8(forced.bytes).unwrap();
                assert!(!text.contains(dtutil::package::DPAPI_PREFIX), "{name}");
                assert!(!text.contains("Encrypted=\"1\""), "{name}");
                assert_eq!(
                    inspect(text.as_bytes(), None).unwrap().protection_level,
                    Some(0)
                );
            }
            4 => assert_eq!(
                rw(&bytes, None, 0, None).unwrap_err(),
                PackageError::UserKeyAll
            ),
            _ => {}
        }
    }
}
