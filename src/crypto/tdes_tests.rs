use super::*;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::{Rng, RngCore, SeedableRng};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key3(k: &str) -> TdesEde3 {
    TdesEde3::from_key(&hex(&k.repeat(3)))
}

fn block(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap()
}

/// The FIPS 46-3 initial permutation, as published.
const IP_TABLE: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

#[test]
fn delta_swap_networks_are_the_fips_permutations() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(46);
    for _ in 0..1000 {
        let m = rng.next_u64();
        assert_eq!(ip(m), permute(m, 64, &IP_TABLE));
        assert_eq!(fp(ip(m)), m);
    }
    for n in 0..64 {
        let m = 1u64 << n;
        assert_eq!(ip(m), permute(m, 64, &IP_TABLE));
    }
}

/// NIST SP 800-20 (TMOVS) known answers; with K1 = K2 = K3 Triple DES is single DES.
#[test]
fn nist_sp800_20_known_answers() {
    // Variable plaintext (key 01..01).
    let k = key3("0101010101010101");
    for (pt, ct) in [
        ("8000000000000000", "95F8A5E5DD31D900"),
        ("4000000000000000", "DD7F121CA5015619"),
        ("2000000000000000", "2E8653104F3834EA"),
        ("1000000000000000", "4BD388FF6CD81D4F"),
    ] {
        assert_eq!(k.encrypt_u64(block(pt)), block(ct), "plaintext {pt}");
        // Inverse permutation test: the ciphertexts decrypt to the plaintexts.
        assert_eq!(k.decrypt_u64(block(ct)), block(pt), "ciphertext {ct}");
    }
    // Variable key (plaintext 0).
    for (key, ct) in [
        ("8001010101010101", "95A8D72813DAA94D"),
        ("4001010101010101", "0EEC1487DD8C26D5"),
        ("2001010101010101", "7AD16FFB79C45926"),
    ] {
        assert_eq!(key3(key).encrypt_u64(0), block(ct), "key {key}");
    }
    // Substitution table test.
    for (key, pt, ct) in [
        ("7CA110454A1A6E57", "01A1D6D039776742", "690F5B0D9A26939B"),
        ("0131D9619DC1376E", "5CD54CA83DEF57DA", "7A389D10354BD271"),
    ] {
        let k = key3(key);
        assert_eq!(k.encrypt_u64(block(pt)), block(ct), "key {key}");
        assert_eq!(k.decrypt_u64(block(ct)), block(pt), "key {key}");
    }
    // The textbook example (Stallings; Grabbe's worked DES).
    assert_eq!(
        key3("133457799BBCDFF1").encrypt_u64(block("0123456789ABCDEF")),
        block("85E813540F0AB405")
    );
}

/// NIST SP 800-67 Rev. 1, Appendix B: three distinct keys, ECB.
#[test]
fn nist_sp800_67_three_key_example() {
    let k = TdesEde3::from_key(&hex("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123"));
    let pt = b"The qufck brown fox jump";
    let ct = hex("A826FD8CE53B855FCCE21C8112256FE668D5C05DD9B6B900");
    for (p, c) in pt.chunks(8).zip(ct.chunks(8)) {
        let p = u64::from_be_bytes(p.try_into().unwrap());
        let c = u64::from_be_bytes(c.try_into().unwrap());
        assert_eq!(k.encrypt_u64(p), c);
        assert_eq!(k.decrypt_u64(c), p);
    }
}

/// Against RustCrypto's bit-by-bit implementation, CBC through `cbc`, random keys,
/// IVs and lengths (odd block counts included).
#[test]
fn same_as_rustcrypto_des_in_cbc() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(67);
    for _ in 0..200 {
        let mut key = [0u8; 24];
        let mut iv = [0u8; 8];
        rng.fill_bytes(&mut key);
        rng.fill_bytes(&mut iv);
        let blocks = rng.gen_range(1..40);
        let mut ours = vec![0u8; 8 * blocks];
        rng.fill_bytes(&mut ours);
        let plain = ours.clone();
        let mut theirs = ours.clone();
        cbc::Encryptor::<TdesEde3>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_mut::<NoPadding>(&mut ours, plain.len())
            .unwrap();
        cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_mut::<NoPadding>(&mut theirs, plain.len())
            .unwrap();
        assert_eq!(ours, theirs);
        cbc::Decryptor::<TdesEde3>::new_from_slices(&key, &iv)
            .unwrap()
            .decrypt_padded_mut::<NoPadding>(&mut ours)
            .unwrap();
        assert_eq!(ours, plain);
    }
}

#[test]
fn debug_shows_no_key() {
    let k = key3("133457799BBCDFF1");
    assert_eq!(format!("{k:?}"), "TdesEde3 { .. }");
}
