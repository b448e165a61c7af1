//! The cipher work of SSIS password protection (SPEC 3, 4). Bytes in, bytes out:
//! nothing here knows XML.
//!
//! Two ciphers, both verified on real SSIS files:
//! - Triple DES, key from CryptoAPI's `CryptDeriveKey(SHA1)` over the password (the
//!   salt is written but not used by the key), random 8-byte IV;
//! - AES-256, key = PBKDF2-HMAC-SHA1(password, 8-byte salt, 1000, 32), random 16-byte IV.
//!
//! In both, CipherValue = IV || ciphertext. Packages pad with ISO 10126 (random filler,
//! last byte = length); project files with PKCS#7. Reading trusts only the last byte in
//! the package form, so both paddings read back.
//!
//! Written here rather than taken whole from a crate: no crate implements CryptoAPI's
//! `CryptDeriveKey` expansion, and the block modes' padding helpers reject ISO 10126
//! filler, so the padding (a few lines) is ours; AES/CBC/SHA1/PBKDF2 are RustCrypto's. Triple
//! DES is ours too, for speed ([`tdes`] says why).

mod tdes;

use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};
use rand::RngCore;
use serde::Serialize;
use sha1::{Digest, Sha1};
use std::cell::{OnceCell, RefCell};
use std::fmt;
use zeroize::Zeroizing;

pub const TRIPLEDES_URI: &str = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc";
pub const AES256_URI: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";

/// The cipher used for password-protected nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// `xmlenc#tripledes-cbc`: every SSIS version opens it.
    #[serde(rename = "3des")]
    TripleDes,
    /// `xmlenc#aes256-cbc`: written by SSIS 2019+ tools, needs the 2019+ runtime.
    Aes256,
}

impl Algorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "3des" | "tripledes" | "des3" | "tripledes-cbc" => Some(Self::TripleDes),
            "aes256" | "aes-256" | "aes" | "aes256-cbc" => Some(Self::Aes256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::TripleDes => "3des",
            Self::Aes256 => "aes256",
        }
    }
}

/// Why a protected value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// Padding that does not check out: nearly always a wrong password.
    WrongPassword,
    /// The CipherValue cannot hold an IV and whole blocks.
    BadLength {
        len: usize,
        block: usize,
    },
    /// The IV attribute disagrees in size with the algorithm.
    BadIv {
        len: usize,
        expected: usize,
    },
    UnknownAlgorithm(String),
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongPassword => f.write_str("the password is wrong (the decrypted data does not check out)"),
            Self::BadLength { len, block } => write!(
                f,
                "the encrypted value is {len} bytes, not an IV and whole {block}-byte blocks (truncated or damaged)"
            ),
            Self::BadIv { len, expected } => write!(f, "the IV is {len} bytes; this cipher needs {expected}"),
            Self::UnknownAlgorithm(uri) => write!(
                f,
                "unknown encryption algorithm `{uri}` (known: {TRIPLEDES_URI}, {AES256_URI})"
            ),
        }
    }
}

impl std::error::Error for CryptoError {}

impl Algorithm {
    pub fn from_uri(uri: &str) -> Result<Self, CryptoError> {
        match uri {
            TRIPLEDES_URI => Ok(Self::TripleDes),
            AES256_URI => Ok(Self::Aes256),
            other => Err(CryptoError::UnknownAlgorithm(other.to_string())),
        }
    }

    pub fn uri(self) -> &'static str {
        match self {
            Self::TripleDes => TRIPLEDES_URI,
            Self::Aes256 => AES256_URI,
        }
    }

    pub fn block_len(self) -> usize {
        match self {
            Self::TripleDes => 8,
            Self::Aes256 => 16,
        }
    }

    /// Salt sizes SSIS writes: 7 bytes for Triple DES (unused by the key), 8 for AES.
    pub fn salt_len(self) -> usize {
        match self {
            Self::TripleDes => 7,
            Self::Aes256 => 8,
        }
    }
}

/// How the plaintext is padded to whole blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Packages: random filler, last byte = pad length.
    Iso10126,
    /// Project files: every pad byte = pad length.
    Pkcs7,
}

/// CryptoAPI `CryptDeriveKey(CALG_3DES, SHA1 hash of password)`: the hash is expanded
/// by the HMAC-style ipad/opad construction and the first 24 bytes are the key.
pub fn derive_tripledes_key(password: &str) -> Zeroizing<[u8; 24]> {
    let h = Sha1::digest(password.as_bytes());
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, b) in h.iter().enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let a = Sha1::digest(ipad);
    let b = Sha1::digest(opad);
    let mut key = Zeroizing::new([0u8; 24]);
    key[..20].copy_from_slice(&a);
    key[20..].copy_from_slice(&b[..4]);
    key
}

/// .NET `Rfc2898DeriveBytes(password, salt, 1000).GetBytes(32)`.
pub fn derive_aes256_key(password: &str, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, 1000, &mut *key);
    key
}

/// A freshly encrypted value, ready to be written in either form.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub salt: Vec<u8>,
    pub iv: Vec<u8>,
    /// IV || ciphertext, as CipherValue (package form) carries it.
    pub cipher_value: Vec<u8>,
}

impl Sealed {
    /// The ciphertext without the IV block (project form stores the IV only in its attribute).
    pub fn ciphertext(&self) -> &[u8] {
        &self.cipher_value[self.iv.len()..]
    }
}

/// One password's ciphers, set up once and used for every value of a package: a
/// package holds thousands of sensitive values, and deriving the key for each (three
/// SHA-1s and a key schedule for Triple DES, 2,000 SHA-1s of PBKDF2 for AES) cost more
/// than encrypting them.
///
/// AES keys depend on the salt: values this sealer writes share one random salt per
/// sealer (each still gets its own random IV), and opening keeps the key of the last
/// salt seen, so a package written that way costs one PBKDF2.
pub struct Keys<'a> {
    password: &'a str,
    tdes: OnceCell<tdes::TdesEde3>,
    aes: RefCell<Option<(Vec<u8>, aes::Aes256)>>,
    seal_salt: OnceCell<Vec<u8>>,
}

impl fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl<'a> Keys<'a> {
    pub fn new(password: &'a str) -> Self {
        Self {
            password,
            tdes: OnceCell::new(),
            aes: RefCell::new(None),
            seal_salt: OnceCell::new(),
        }
    }

    fn tdes(&self) -> tdes::TdesEde3 {
        self.tdes
            .get_or_init(|| {
                tdes::TdesEde3::new_from_slice(&derive_tripledes_key(self.password)[..])
                    .expect("24-byte key")
            })
            .clone()
    }

    fn aes(&self, salt: &[u8]) -> aes::Aes256 {
        let mut last = self.aes.borrow_mut();
        match &*last {
            Some((s, cipher)) if s == salt => cipher.clone(),
            _ => {
                let key = derive_aes256_key(self.password, salt);
                let cipher = aes::Aes256::new_from_slice(&key[..]).expect("32-byte key");
                *last = Some((salt.to_vec(), cipher.clone()));
                cipher
            }
        }
    }

    /// Encrypts `plaintext` with a new random IV (and the sealer's salt).
    pub fn seal(&self, algorithm: Algorithm, plaintext: &[u8], padding: Padding) -> Sealed {
        let mut rng = rand::thread_rng();
        let salt = match algorithm {
            // The salt is written but plays no part in the Triple DES key.
            Algorithm::TripleDes => {
                let mut salt = vec![0u8; algorithm.salt_len()];
                rng.fill_bytes(&mut salt);
                salt
            }
            Algorithm::Aes256 => self
                .seal_salt
                .get_or_init(|| {
                    let mut salt = vec![0u8; algorithm.salt_len()];
                    rand::thread_rng().fill_bytes(&mut salt);
                    salt
                })
                .clone(),
        };
        let mut iv = vec![0u8; algorithm.block_len()];
        rng.fill_bytes(&mut iv);
        self.seal_with(algorithm, &salt, &iv, plaintext, padding)
    }

    /// Encrypts with a given salt and IV (deterministic; for tests and [`Keys::seal`]).
    pub fn seal_with(
        &self,
        algorithm: Algorithm,
        salt: &[u8],
        iv: &[u8],
        plaintext: &[u8],
        padding: Padding,
    ) -> Sealed {
        let block = algorithm.block_len();
        assert_eq!(iv.len(), block, "IV size must match the cipher block");
        let pad = block - plaintext.len() % block;
        let mut buf = Zeroizing::new(Vec::with_capacity(iv.len() + plaintext.len() + pad));
        buf.extend_from_slice(iv);
        buf.extend_from_slice(plaintext);
        match padding {
            Padding::Pkcs7 => buf.extend(std::iter::repeat_n(pad as u8, pad)),
            Padding::Iso10126 => {
                let mut filler = [0u8; 16];
                rand::thread_rng().fill_bytes(&mut filler[..pad - 1]);
                buf.extend_from_slice(&filler[..pad - 1]);
                buf.push(pad as u8);
            }
        }
        let body = &mut buf[block..];
        let len = body.len();
        match algorithm {
            Algorithm::TripleDes => {
                cbc::Encryptor::inner_iv_slice_init(self.tdes(), iv)
                    .expect("IV size checked above")
                    .encrypt_padded_mut::<NoPadding>(body, len)
                    .expect("padded to whole blocks above");
            }
            Algorithm::Aes256 => {
                cbc::Encryptor::inner_iv_slice_init(self.aes(salt), iv)
                    .expect("IV size checked above")
                    .encrypt_padded_mut::<NoPadding>(body, len)
                    .expect("padded to whole blocks above");
            }
        }
        Sealed {
            salt: salt.to_vec(),
            iv: iv.to_vec(),
            cipher_value: std::mem::take(&mut *buf),
        }
    }

    /// Decrypts a package-form CipherValue (IV || ciphertext): the IV used is
    /// CipherValue's first block, as SSIS does.
    pub fn open(
        &self,
        algorithm: Algorithm,
        salt: &[u8],
        cipher_value: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let block = algorithm.block_len();
        if cipher_value.len() < 2 * block || !cipher_value.len().is_multiple_of(block) {
            return Err(CryptoError::BadLength {
                len: cipher_value.len(),
                block,
            });
        }
        let (iv, body) = cipher_value.split_at(block);
        self.open_detached(algorithm, salt, iv, body)
    }

    /// Decrypts a ciphertext whose IV is stored apart (project form, SPEC 4).
    pub fn open_detached(
        &self,
        algorithm: Algorithm,
        salt: &[u8],
        iv: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let block = algorithm.block_len();
        if iv.len() != block {
            return Err(CryptoError::BadIv {
                len: iv.len(),
                expected: block,
            });
        }
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(block) {
            return Err(CryptoError::BadLength {
                len: ciphertext.len() + block,
                block,
            });
        }
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        self.decrypt_in_place(algorithm, salt, iv, &mut buf);
        let keep = unpadded_len(&buf, block)?;
        buf.truncate(keep);
        Ok(buf)
    }

    /// [`Keys::open`] of a CipherValue handed over: decrypted in its own buffer (a
    /// level 3 package's is as large as the package), the IV block dropped after.
    pub fn open_vec(
        &self,
        algorithm: Algorithm,
        salt: &[u8],
        cipher_value: Vec<u8>,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut buf = Zeroizing::new(cipher_value);
        let block = algorithm.block_len();
        if buf.len() < 2 * block || !buf.len().is_multiple_of(block) {
            return Err(CryptoError::BadLength {
                len: buf.len(),
                block,
            });
        }
        let (iv, body) = buf.split_at_mut(block);
        self.decrypt_in_place(algorithm, salt, iv, body);
        let end = block + unpadded_len(body, block)?;
        buf.copy_within(block..end, 0);
        buf.truncate(end - block);
        Ok(buf)
    }

    /// CBC-decrypts whole blocks in place (sizes checked by the caller).
    fn decrypt_in_place(&self, algorithm: Algorithm, salt: &[u8], iv: &[u8], body: &mut [u8]) {
        #[cfg(test)]
        DECRYPTIONS.with(|n| n.set(n.get() + 1));
        match algorithm {
            Algorithm::TripleDes => {
                cbc::Decryptor::inner_iv_slice_init(self.tdes(), iv)
                    .expect("IV size checked by the caller")
                    .decrypt_padded_mut::<NoPadding>(body)
                    .expect("whole blocks checked by the caller");
            }
            Algorithm::Aes256 => {
                cbc::Decryptor::inner_iv_slice_init(self.aes(salt), iv)
                    .expect("IV size checked by the caller")
                    .decrypt_padded_mut::<NoPadding>(body)
                    .expect("whole blocks checked by the caller");
            }
        }
    }
}

/// The plaintext's length without its padding. ISO 10126 fills with random bytes, so
/// only the length byte can be checked.
fn unpadded_len(decrypted: &[u8], block: usize) -> Result<usize, CryptoError> {
    let pad = *decrypted.last().expect("non-empty") as usize;
    if pad == 0 || pad > block {
        return Err(CryptoError::WrongPassword);
    }
    Ok(decrypted.len() - pad)
}

/// Encrypts `plaintext` with a new random salt and IV (one value; [`Keys`] for many).
pub fn seal(algorithm: Algorithm, password: &str, plaintext: &[u8], padding: Padding) -> Sealed {
    Keys::new(password).seal(algorithm, plaintext, padding)
}

/// Encrypts with a given salt and IV (deterministic; for tests and [`seal`]).
pub fn seal_with(
    algorithm: Algorithm,
    password: &str,
    salt: &[u8],
    iv: &[u8],
    plaintext: &[u8],
    padding: Padding,
) -> Sealed {
    Keys::new(password).seal_with(algorithm, salt, iv, plaintext, padding)
}

/// Decrypts a package-form CipherValue (IV || ciphertext) (one value; [`Keys`] for many).
pub fn open(
    algorithm: Algorithm,
    password: &str,
    salt: &[u8],
    cipher_value: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    Keys::new(password).open(algorithm, salt, cipher_value)
}

#[cfg(test)]
thread_local! {
    /// Decryptions on this thread: tests prove with it that a package is decrypted once.
    pub(crate) static DECRYPTIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Decrypts a ciphertext whose IV is stored apart (project form, SPEC 4).
pub fn open_detached(
    algorithm: Algorithm,
    password: &str,
    salt: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    Keys::new(password).open_detached(algorithm, salt, iv, ciphertext)
}

#[cfg(test)]
mod tests {
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
                    let back2 =
                        open_detached(alg, "pässwörd", &s.salt, &s.iv, s.ciphertext()).unwrap();
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

    #[test]
    fn unknown_uri_is_named() {
        let e = Algorithm::from_uri("http://example.com/rot13").unwrap_err();
        assert!(e.to_string().contains("rot13"));
    }
}
