//! Our ciphers against SSIS's own output: every password-protected real package's
//! every CipherValue opens, and encrypting its plaintext again with the same key and
//! IV gives SSIS's ciphertext byte for byte (all but the last block, whose ISO 10126
//! filler is random). This holds the table-driven Triple DES (src/crypto/tdes.rs) and
//! AES-256 to the Windows implementations that wrote the files.

use base64::Engine;
use dtutil::crypto::{self, Algorithm, Padding};
use std::path::PathBuf;

fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("DTUTIL_REAL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real")
        });
    dir.is_dir().then_some(dir)
}

fn b64(text: &str) -> Vec<u8> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .expect("base64")
}

/// The value of `name="..."` in `tag`.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[at..].find('"')?;
    Some(&tag[at..at + end])
}

#[test]
fn real_cipher_values_reencrypt_byte_for_byte() {
    let Some(dir) = fixtures() else {
        eprintln!("real fixtures absent: skipped");
        return;
    };
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let package_form = [".dtsx", ".conmgr", ".dtsxp"]
            .iter()
            .any(|e| name.ends_with(e));
        let password_file = PathBuf::from(format!("{}.password", path.display()));
        if !package_form || !password_file.exists() {
            continue;
        }
        let password = std::fs::read_to_string(&password_file).unwrap();
        let password = password.trim_end_matches(['\r', '\n']);
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("<EncryptedData") {
            let tag_end = i + text[i..].find('>').unwrap();
            let tag = &text[i..tag_end];
            let salt = attribute(tag, "Salt").map(b64).unwrap_or_default();
            let rest = &text[tag_end..];
            let method = &rest[rest.find("<EncryptionMethod").unwrap()..];
            let algorithm = Algorithm::from_uri(attribute(method, "Algorithm").unwrap()).unwrap();
            let open = rest.find("<CipherValue>").unwrap() + "<CipherValue>".len();
            let close = rest.find("</CipherValue>").unwrap();
            let cipher_value = b64(&rest[open..close]);
            let plain = crypto::open(algorithm, password, &salt, &cipher_value)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(plain.starts_with(b"<"), "{name}: not XML");
            let block = algorithm.block_len();
            let iv = &cipher_value[..block];
            let again = crypto::seal_with(algorithm, password, &salt, iv, &plain, Padding::Pkcs7);
            assert_eq!(again.cipher_value.len(), cipher_value.len(), "{name}");
            let body = cipher_value.len() - block;
            assert!(
                again.cipher_value[..body] == cipher_value[..body],
                "{name}: ciphertext differs from SSIS's"
            );
            *checked.entry(algorithm.name()).or_default() += 1;
        }
    }
    eprintln!("cipher values re-encrypted byte for byte: {checked:?}");
    assert!(
        checked.get("3des").copied().unwrap_or(0) >= 5,
        "{checked:?}"
    );
    assert!(
        checked.get("aes256").copied().unwrap_or(0) >= 1,
        "{checked:?}"
    );
}
