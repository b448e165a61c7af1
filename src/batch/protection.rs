//! What a batch run asked of the packages' protection (`--encrypt`'s level and
//! password, `--algorithm`), recorded on every row it writes, so that `--resume` can
//! tell an earlier run's output that is this run's result from one protected otherwise
//! (a typo in the password, another level): those are written again, never skipped as
//! done.
//!
//! The password is recorded only as a salted PBKDF2-HMAC-SHA256 digest, and only in
//! the report file (written owner-only; never in `--json` lines or the `--dry-run`
//! plan, and not made at all without a report). It confirms a guessed password
//! offline at 100,000 HMAC-SHA256 per guess: reports end up attached to tickets, so
//! docs/migration.md says to keep them as the packages are kept. The packages already
//! let anyone holding them test a guess far more cheaply (one SHA-1 for 3DES, 1000
//! PBKDF2-SHA1 rounds for AES). 100,000 rather than OWASP's 600,000: every `--report`
//! run and every `--resume` check pays it once per distinct digest, and the test
//! suite's unoptimised builds run batch hundreds of times. Reports before the count
//! was raised hold 10,000; each digest names its own count, so they are still read.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

const KDF: &str = "pbkdf2-sha256";
const ROUNDS: u32 = 100_000;
/// A report is read from disk: a digest claiming more rounds than any dtutil writes
/// would only make `--resume` hang, so it counts as not matching.
const MAX_ROUNDS: u32 = 1_000_000;

/// One run's protection request, as recorded on the rows it wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Protection {
    /// `--encrypt`'s level; none: each package kept its own (a plain copy, or
    /// `--regenerate-ids` alone).
    pub level: Option<u32>,
    /// `--algorithm`, or `keep`.
    pub algorithm: String,
    /// `pbkdf2-sha256$ROUNDS$SALT$DIGEST` of `--encrypt`'s password; never the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn derive(password: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, rounds, &mut out);
    out
}

fn new_digest(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    let digest = derive(password, &salt, ROUNDS);
    format!("{KDF}${ROUNDS}${}${}", B64.encode(salt), B64.encode(digest))
}

/// Whether `password` is the one `recorded` was made of (an unreadable digest is not).
fn matches(recorded: &str, password: &str) -> bool {
    let mut parts = recorded.split('$');
    let (Some(KDF), Some(rounds), Some(salt), Some(digest), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(digest)) =
        (rounds.parse::<u32>(), B64.decode(salt), B64.decode(digest))
    else {
        return false;
    };
    if rounds == 0 || rounds > MAX_ROUNDS || digest.len() != 32 {
        return false;
    }
    let ours = derive(password, &salt, rounds);
    // Every byte compared, whatever the first difference.
    ours.iter()
        .zip(&digest)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// This run's request: what its rows record, and how an earlier row compares.
#[derive(Debug, Clone)]
pub struct Asked {
    pub recorded: Protection,
    /// The earlier rows' password digests that this run's password matches.
    same_password: HashSet<String>,
}

impl Asked {
    /// `earlier`: the protection of the rows `--resume` may skip. Each distinct digest
    /// is checked once; one that matches is reused for this run's rows.
    pub fn new<'a>(
        level: Option<u32>,
        algorithm: Option<&str>,
        password: Option<&str>,
        earlier: impl IntoIterator<Item = &'a Protection>,
    ) -> Self {
        let mut same_password = HashSet::new();
        let mut checked = HashSet::new();
        if let Some(password) = password {
            for digest in earlier.into_iter().filter_map(|p| p.password.as_deref()) {
                if checked.insert(digest) && matches(digest, password) {
                    same_password.insert(digest.to_string());
                }
            }
        }
        let digest = password.map(|p| {
            same_password
                .iter()
                .min()
                .cloned()
                .unwrap_or_else(|| new_digest(p))
        });
        Self {
            recorded: Protection {
                level,
                algorithm: algorithm.unwrap_or("keep").to_string(),
                password: digest,
            },
            same_password,
        }
    }

    /// Why a row an earlier run wrote under `earlier` is not what this run asks, naming
    /// the option that differs; `None` when it is.
    pub fn differs(&self, earlier: Option<&Protection>) -> Option<String> {
        let now = &self.recorded;
        let Some(earlier) = earlier else {
            return Some(
                "the report does not record how an earlier run protected it (an older dtutil wrote it), so this run writes it again"
                    .into(),
            );
        };
        let why = match (earlier.level, now.level) {
            (Some(a), Some(b)) if a != b => {
                format!("an earlier run wrote it at --encrypt level {a}, this run asks level {b}")
            }
            (None, Some(b)) => {
                format!("an earlier run copied it without --encrypt, this run asks level {b}")
            }
            (Some(a), None) => format!(
                "an earlier run re-protected it to level {a} (--encrypt), this run copies it without --encrypt"
            ),
            _ if earlier.algorithm != now.algorithm => format!(
                "an earlier run wrote it with --algorithm {}, this run asks {}",
                earlier.algorithm, now.algorithm
            ),
            _ => match (&earlier.password, &now.password) {
                (None, None) => return None,
                (Some(digest), Some(_)) if self.same_password.contains(digest) => return None,
                _ => "an earlier run wrote it with another --encrypt password".to_string(),
            },
        };
        Some(format!("{why}, so this run writes it again"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(
        level: Option<u32>,
        alg: Option<&str>,
        pw: Option<&str>,
        earlier: &[Protection],
    ) -> Asked {
        Asked::new(level, alg, pw, earlier)
    }

    #[test]
    fn the_password_is_recorded_as_a_salted_digest_only() {
        let a = asked(Some(2), None, Some("right-pw"), &[]);
        let digest = a.recorded.password.clone().unwrap();
        assert!(!digest.contains("right-pw"));
        assert!(digest.starts_with("pbkdf2-sha256$100000$"), "{digest}");
        assert!(matches(&digest, "right-pw"));
        assert!(!matches(&digest, "typo-pw"));
        // A new salt on each run: equal passwords do not show as equal digests.
        let b = asked(Some(2), None, Some("right-pw"), &[]);
        assert_ne!(b.recorded.password.unwrap(), digest);
    }

    #[test]
    fn a_row_differs_by_level_algorithm_or_password() {
        let first = asked(Some(2), None, Some("typo-pw"), &[]).recorded;
        let earlier = [first.clone()];
        let same = asked(Some(2), None, Some("typo-pw"), &earlier);
        assert_eq!(same.differs(Some(&first)), None);
        // The matching digest is reused, not a new salt per run.
        assert_eq!(same.recorded, first);

        let other_pw = asked(Some(2), None, Some("right-pw"), &earlier);
        assert!(other_pw
            .differs(Some(&first))
            .unwrap()
            .contains("another --encrypt password"));
        let other_level = asked(Some(3), None, Some("typo-pw"), &earlier);
        assert!(other_level
            .differs(Some(&first))
            .unwrap()
            .contains("level 2, this run asks level 3"));
        let other_alg = asked(Some(2), Some("aes256"), Some("typo-pw"), &earlier);
        assert!(other_alg
            .differs(Some(&first))
            .unwrap()
            .contains("--algorithm keep, this run asks aes256"));
        let plain = asked(None, None, None, &earlier);
        assert!(plain
            .differs(Some(&first))
            .unwrap()
            .contains("without --encrypt"));
        let now_encrypted = asked(Some(3), None, Some("pw"), &[]);
        assert!(now_encrypted
            .differs(Some(&plain.recorded))
            .unwrap()
            .contains("copied it without --encrypt"));
        assert!(now_encrypted.differs(None).is_some());
        assert_eq!(plain.differs(Some(&plain.recorded)), None);
    }

    /// Reports written before the count was raised (10,000 rounds) are still read:
    /// each digest carries its own count.
    #[test]
    fn an_older_reports_digest_still_matches() {
        let salt = [7u8; 16];
        let old = format!(
            "{KDF}$10000${}${}",
            B64.encode(salt),
            B64.encode(derive("right-pw", &salt, 10_000))
        );
        assert!(matches(&old, "right-pw"));
        assert!(!matches(&old, "typo-pw"));
    }

    #[test]
    fn a_hostile_digest_never_matches_and_never_hangs() {
        for bad in [
            "",
            "pbkdf2-sha256$4294967295$AAAA$AAAA",
            "pbkdf2-sha256$0$AAAA$AAAA",
            "md5$1$AAAA$AAAA",
            "pbkdf2-sha256$10$!!$AAAA",
            "pbkdf2-sha256$10$AAAA$AAAA$extra",
        ] {
            assert!(!matches(bad, "pw"), "{bad}");
        }
    }
}
