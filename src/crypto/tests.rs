use super::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn tripledes_reference_keys_from_spec() {
    assert_eq!(
        hex(&*derive_tripledes_key("banana")),
        "975011ae163499a9b4c789fec4d6f1bae29d03b81c79ba11"
    );
    assert_eq!(
        hex(&*derive_tripledes_key("ssis123")),
        "60a8b283d275564731c89b3c92fcb672852543296ba29f7d"
    );
}

#[test]
fn round_trip_both_ciphers_both_paddings() {
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        for padding in [Padding::Iso10126, Padding::Pkcs7] {
            for len in [0usize, 1, 7, 8, 15, 16, 17, 100] {
                let pt: Vec<u8> = (0..len as u8).collect();
                let s = seal(alg, "pässwörd", &pt, padding);
                assert_eq!(&s.cipher_value[..s.iv.len()], &s.iv[..]);
                let back = open(alg, "pässwörd", &s.salt, &s.cipher_value).unwrap();
                assert_eq!(&back[..], &pt[..]);
                let back2 = open_detached(alg, "pässwörd", &s.salt, &s.iv, s.ciphertext()).unwrap();
                assert_eq!(&back2[..], &pt[..]);
            }
        }
    }
}

#[test]
fn truncated_cipher_value_is_a_length_error() {
    let s = seal(
        Algorithm::TripleDes,
        "pw",
        b"hello world",
        Padding::Iso10126,
    );
    let cut = &s.cipher_value[..s.cipher_value.len() - 3];
    assert!(matches!(
        open(Algorithm::TripleDes, "pw", &s.salt, cut),
        Err(CryptoError::BadLength { .. })
    ));
}

/// One `Keys` seals and opens many values; each value still opens alone with
/// the password, as SSIS opens it.
#[test]
fn keys_set_up_once_serve_every_value() {
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        let keys = Keys::new("pässwörd");
        let sealed: Vec<Sealed> = (0..20usize)
            .map(|n| keys.seal(alg, &vec![n as u8; n * 3], Padding::Iso10126))
            .collect();
        let ivs: std::collections::HashSet<&[u8]> = sealed.iter().map(|s| &s.iv[..]).collect();
        assert_eq!(ivs.len(), sealed.len(), "every value gets its own IV");
        let opener = Keys::new("pässwörd");
        for (n, s) in sealed.iter().enumerate() {
            let want = vec![n as u8; n * 3];
            assert_eq!(
                &opener.open(alg, &s.salt, &s.cipher_value).unwrap()[..],
                &want[..]
            );
            assert_eq!(
                &open(alg, "pässwörd", &s.salt, &s.cipher_value).unwrap()[..],
                &want[..]
            );
        }
    }
}

/// The AES key follows the salt: values sealed elsewhere with their own salts open
/// through one `Keys`, whatever the order.
#[test]
fn aes_keys_follow_the_salt() {
    let values: Vec<Sealed> = (0..6u8)
        .map(|n| seal(Algorithm::Aes256, "pw", &[n; 5], Padding::Iso10126))
        .collect();
    let keys = Keys::new("pw");
    for i in [0, 1, 0, 2, 2, 5, 3, 4, 1] {
        let s = &values[i];
        assert_eq!(
            &keys
                .open(Algorithm::Aes256, &s.salt, &s.cipher_value)
                .unwrap()[..],
            &[i as u8; 5]
        );
    }
}

/// A CipherValue handed over opens in its own buffer to what `open` gives.
#[test]
fn open_vec_equals_open() {
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        for len in [0usize, 1, 7, 8, 15, 16, 17, 1000] {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let s = seal(alg, "pw", &pt, Padding::Iso10126);
            let keys = Keys::new("pw");
            let owned = keys.open_vec(alg, &s.salt, s.cipher_value.clone()).unwrap();
            assert_eq!(&owned[..], &pt[..]);
            let cut = s.cipher_value[..s.cipher_value.len() - 1].to_vec();
            assert!(matches!(
                keys.open_vec(alg, &s.salt, cut),
                Err(CryptoError::BadLength { .. })
            ));
        }
    }
}

/// Deterministic sealing through `Keys` is the one-value function's.
#[test]
fn keys_seal_with_matches_seal_with() {
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        let salt = vec![7u8; alg.salt_len()];
        let iv = vec![9u8; alg.block_len()];
        let keys = Keys::new("pw");
        for len in [0usize, 1, 8, 23, 64] {
            let pt = vec![0x41u8; len];
            let a = keys.seal_with(alg, &salt, &iv, &pt, Padding::Pkcs7);
            let b = seal_with(alg, "pw", &salt, &iv, &pt, Padding::Pkcs7);
            assert_eq!(a.cipher_value, b.cipher_value);
        }
    }
    assert_eq!(format!("{:?}", Keys::new("secret")), "Keys { .. }");
}

/// Sealing in place gives the CipherValue sealing a copy gives, at every length
/// around the block size, and it opens in place to the plaintext.
#[test]
fn seal_in_place_equals_seal_with() {
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        let block = alg.block_len();
        let salt = vec![3u8; alg.salt_len()];
        let iv = vec![5u8; block];
        let keys = Keys::new("pw");
        for len in 0..4 * block + 1 {
            let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let want = keys.seal_with(alg, &salt, &iv, &pt, Padding::Pkcs7);
            let rest = len % block;
            let mut last = pt[len - rest..].to_vec();
            last.resize(block, (block - rest) as u8);
            let mut buf = pt.clone();
            let got = keys.seal_in_place_with(alg, salt.clone(), iv.clone(), &mut buf, last);
            let mut value = got.iv.clone();
            value.extend_from_slice(&buf[..got.whole_len]);
            value.extend_from_slice(&got.last);
            assert_eq!(value, want.cipher_value, "{alg:?} {len}");

            let mut random = pt.clone();
            let sealed = keys.seal_in_place(alg, &mut random);
            let mut value = sealed.iv.clone();
            value.extend_from_slice(&random[..sealed.whole_len]);
            value.extend_from_slice(&sealed.last);
            assert_eq!(&open(alg, "pw", &sealed.salt, &value).unwrap()[..], &pt[..]);
            let range = keys.open_in_place(alg, &sealed.salt, &mut value).unwrap();
            assert_eq!(&value[range], &pt[..]);
        }
    }
}

#[test]
fn unknown_uri_is_named() {
    let e = Algorithm::from_uri("http://example.com/rot13").unwrap_err();
    assert!(e.to_string().contains("rot13"));
}
