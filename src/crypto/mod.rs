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
use std::fmt;
use std::sync::{Mutex, OnceLock};
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

/// A plaintext sealed where it lay ([`Keys::seal_in_place`]).
#[derive(Debug, Clone)]
pub struct SealedInPlace {
    pub salt: Vec<u8>,
    pub iv: Vec<u8>,
    /// How many leading bytes of the plaintext buffer are now ciphertext.
    pub whole_len: usize,
    /// The final ciphertext block: the plaintext's last partial block and the padding.
    pub last: Vec<u8>,
}

/// One password's ciphers, set up once and used for every value of a package: a
/// package holds thousands of sensitive values, and deriving the key for each (three
/// SHA-1s and a key schedule for Triple DES, 2,000 SHA-1s of PBKDF2 for AES) cost more
/// than encrypting them.
///
/// AES keys depend on the salt: values this sealer writes share one random salt per
/// sealer (each still gets its own random IV), and opening keeps the key of the last
/// salt seen, so a package written that way costs one PBKDF2.
///
/// Shared by the threads that seal and open a package's values (`Sync`): the keys
/// are set up once whichever thread needs them first.
pub struct Keys<'a> {
    password: &'a str,
    tdes: OnceLock<tdes::TdesEde3>,
    aes: Mutex<Option<(Vec<u8>, aes::Aes256)>>,
    seal_salt: OnceLock<Vec<u8>>,
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
            tdes: OnceLock::new(),
            aes: Mutex::new(None),
            seal_salt: OnceLock::new(),
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
        // A thread that panicked holding it left a whole key or none.
        let mut last = self
            .aes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
        let salt = self.seal_salt(algorithm);
        let mut iv = vec![0u8; algorithm.block_len()];
        rand::thread_rng().fill_bytes(&mut iv);
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
        self.encrypt_in_place(algorithm, salt, iv, &mut buf[block..]);
        Sealed {
            salt: salt.to_vec(),
            iv: iv.to_vec(),
            cipher_value: std::mem::take(&mut *buf),
        }
    }

    /// Seals a whole package's plaintext where it lies, padded with ISO 10126: its
    /// whole blocks become ciphertext in place and the final block (the rest and the
    /// padding) comes back apart. IV || `plaintext[..whole_len]` || `last` is the
    /// CipherValue [`Keys::seal`] would give, without copying a package-sized buffer.
    pub fn seal_in_place(&self, algorithm: Algorithm, plaintext: &mut [u8]) -> SealedInPlace {
        let mut rng = rand::thread_rng();
        let salt = self.seal_salt(algorithm);
        let mut iv = vec![0u8; algorithm.block_len()];
        rng.fill_bytes(&mut iv);
        let block = algorithm.block_len();
        let rest = plaintext.len() % block;
        let mut last = vec![0u8; block];
        last[..rest].copy_from_slice(&plaintext[plaintext.len() - rest..]);
        rng.fill_bytes(&mut last[rest..block - 1]);
        last[block - 1] = (block - rest) as u8;
        self.seal_in_place_with(algorithm, salt, iv, plaintext, last)
    }

    /// [`Keys::seal_in_place`] with a given salt, IV and padded final block (`last`:
    /// the plaintext's trailing partial block followed by its padding).
    pub fn seal_in_place_with(
        &self,
        algorithm: Algorithm,
        salt: Vec<u8>,
        iv: Vec<u8>,
        plaintext: &mut [u8],
        mut last: Vec<u8>,
    ) -> SealedInPlace {
        let block = algorithm.block_len();
        assert_eq!(iv.len(), block, "IV size must match the cipher block");
        assert_eq!(last.len(), block, "one final block");
        let whole_len = plaintext.len() - plaintext.len() % block;
        let whole = &mut plaintext[..whole_len];
        self.encrypt_in_place(algorithm, &salt, &iv, whole);
        // CBC goes on from the last ciphertext block: a new chain with it as the IV.
        let chain = if whole_len == 0 {
            &iv[..]
        } else {
            &whole[whole_len - block..]
        };
        let chain = chain.to_vec();
        self.encrypt_in_place(algorithm, &salt, &chain, &mut last);
        SealedInPlace {
            salt,
            iv,
            whole_len,
            last,
        }
    }

    /// The salt values sealed with this password carry.
    fn seal_salt(&self, algorithm: Algorithm) -> Vec<u8> {
        match algorithm {
            // The salt is written but plays no part in the Triple DES key.
            Algorithm::TripleDes => {
                let mut salt = vec![0u8; algorithm.salt_len()];
                rand::thread_rng().fill_bytes(&mut salt);
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
        }
    }

    /// CBC-encrypts whole blocks in place (sizes checked by the caller).
    fn encrypt_in_place(&self, algorithm: Algorithm, salt: &[u8], iv: &[u8], body: &mut [u8]) {
        let len = body.len();
        match algorithm {
            Algorithm::TripleDes => {
                cbc::Encryptor::inner_iv_slice_init(self.tdes(), iv)
                    .expect("IV size checked by the caller")
                    .encrypt_padded_mut::<NoPadding>(body, len)
                    .expect("whole blocks checked by the caller");
            }
            Algorithm::Aes256 => {
                cbc::Encryptor::inner_iv_slice_init(self.aes(salt), iv)
                    .expect("IV size checked by the caller")
                    .encrypt_padded_mut::<NoPadding>(body, len)
                    .expect("whole blocks checked by the caller");
            }
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

    /// Decrypts a package-form CipherValue (IV || ciphertext) where it lies: the
    /// plaintext's range in `cipher_value` (after the IV block, before the padding).
    pub fn open_in_place(
        &self,
        algorithm: Algorithm,
        salt: &[u8],
        cipher_value: &mut [u8],
    ) -> Result<std::ops::Range<usize>, CryptoError> {
        let block = algorithm.block_len();
        if cipher_value.len() < 2 * block || !cipher_value.len().is_multiple_of(block) {
            return Err(CryptoError::BadLength {
                len: cipher_value.len(),
                block,
            });
        }
        let (iv, body) = cipher_value.split_at_mut(block);
        self.decrypt_in_place(algorithm, salt, iv, body);
        Ok(block..block + unpadded_len(body, block)?)
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
        let plain = self.open_in_place(algorithm, salt, &mut buf)?;
        buf.copy_within(plain.clone(), 0);
        buf.truncate(plain.len());
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
mod tests;
