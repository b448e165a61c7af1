//! Re-protecting a package's sensitive values: what each node becomes, worked out on
//! every core. A package may hold thousands of values, each opened (Triple DES or
//! AES, then read as XML) and sealed again on its own; the values are independent,
//! so they are shared among threads and their edits gathered back in document order.

use super::edits::{add_dts_namespace, blank_element, strip_dts_namespace, wrap_stub};
use super::encrypted::{encrypted_data_xml, EncryptedNode};
use super::scan::{self, Node, NodeKind};
use super::xml::Span;
use super::{PackageError, ProtectionLevel};
use crate::crypto::{Algorithm, Keys};
use std::sync::atomic::{AtomicUsize, Ordering};
use zeroize::Zeroizing;

/// Values a thread is given at least: below this, starting a thread costs more than
/// the values' cipher work (a few microseconds each). Fuzzing starts threads for any
/// two values, so the fuzz targets run the threaded path.
const VALUES_PER_THREAD: usize = if cfg!(fuzzing) { 1 } else { 64 };

/// Threads at most: the values of a large package take tens of milliseconds in all.
const MAX_THREADS: usize = 8;

/// The cores this process may use, asked once: Linux answers from the affinity mask
/// and the cgroup's CPU quota (three files read), which a batch of small packages
/// would otherwise pay for each package.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` of each item, in order, or the error of the first item (in order) that fails,
/// as a loop that stops there would give. The items are split in runs, one per core;
/// once an item fails, later items are skipped.
pub(super) fn try_map_in_order<T, R, E>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let wanted = (items.len() / VALUES_PER_THREAD).min(MAX_THREADS);
    // Most packages have too few values to share: the cores are not even asked.
    let threads = if wanted < 2 { 1 } else { cores().min(wanted) };
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    // The index of the first item known to fail: items after it are not needed.
    let first_failed = AtomicUsize::new(usize::MAX);
    let run = |start: usize, run: &[T]| -> Vec<Result<R, E>> {
        let mut out = Vec::with_capacity(run.len());
        for (i, item) in (start..).zip(run) {
            if i > first_failed.load(Ordering::Relaxed) {
                break;
            }
            let result = f(item);
            let failed = result.is_err();
            out.push(result);
            if failed {
                first_failed.fetch_min(i, Ordering::Relaxed);
                break;
            }
        }
        out
    };
    let per_thread = items.len().div_ceil(threads);
    let runs: Vec<Vec<Result<R, E>>> = std::thread::scope(|s| {
        let mut chunks = items.chunks(per_thread).enumerate();
        let (_, first) = chunks.next().expect("at least one item per thread");
        let others: Vec<_> = chunks
            .map(|(k, chunk)| {
                let run = &run;
                s.spawn(move || run(k * per_thread, chunk))
            })
            .collect();
        let mut runs = vec![run(0, first)];
        for handle in others {
            match handle.join() {
                Ok(done) => runs.push(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        runs
    });
    // A run cut short ends in its own error or follows an earlier one.
    runs.into_iter().flatten().collect()
}

/// How the values are re-protected: the same for every node of a package.
pub(super) struct ValueRecipe<'a, 'o> {
    pub doc: &'a [u8],
    pub level_after: ProtectionLevel,
    pub algorithm: Algorithm,
    pub decrypt_password: Option<&'o str>,
    pub write_password: Option<&'o str>,
    /// The keys of the password the values are written with (`Err`: none was given).
    pub sealer: Result<&'a Keys<'o>, PackageError>,
    pub opener: Option<&'a Keys<'o>>,
}

/// What one sensitive node becomes.
pub(super) struct NodeOutcome {
    /// The node's new bytes (`None`: it stays as it is).
    pub edit: Option<(Span, Vec<u8>)>,
    /// The label of a Windows user-key value that is written blank.
    pub lost: Option<String>,
    /// The value carries XML Encryption of its own: the output's facts are read back.
    pub read_back: bool,
}

impl ValueRecipe<'_, '_> {
    fn sealer(&self) -> Result<&Keys<'_>, PackageError> {
        self.sealer.clone()
    }

    /// The new bytes of `node` at the target level.
    pub(super) fn outcome(&self, node: &Node) -> Result<NodeOutcome, PackageError> {
        let outer = node.element.outer;
        let algorithm = self.algorithm;
        let mut outcome = NodeOutcome {
            edit: None,
            lost: None,
            read_back: false,
        };
        match &node.kind {
            NodeKind::Encrypted(enc) => {
                let password = self.decrypt_password.ok_or(PackageError::NeedsPassword)?;
                let plain = open_node(enc, self.opener.expect("a decrypt password"))?;
                let clear = strip_dts_namespace(&plain);
                outcome.read_back = memchr::memmem::find(&plain, b"EncryptedData").is_some();
                let replacement = match self.level_after {
                    ProtectionLevel::DontSaveSensitive => blank_element(&clear)?,
                    ProtectionLevel::EncryptSensitiveWithPassword => {
                        let sealer = self.sealer()?;
                        if self.write_password == Some(password) && algorithm == enc.algorithm {
                            // Same key: the node's bytes stay as SSIS wrote them.
                            return Ok(outcome);
                        }
                        encrypted_data_xml(algorithm, sealer, &plain)
                    }
                    _ => clear.to_vec(),
                };
                outcome.edit = Some((outer, replacement));
            }
            NodeKind::Clear => match self.level_after {
                ProtectionLevel::DontSaveSensitive if !node.element.content.is_empty() => {
                    outcome.edit = Some((node.element.content, Vec::new()));
                }
                ProtectionLevel::EncryptSensitiveWithPassword => {
                    let plain = add_dts_namespace(outer.slice(self.doc));
                    let ed = encrypted_data_xml(algorithm, self.sealer()?, &plain);
                    outcome.edit = Some((outer, wrap_stub(ed, node.needs_stub)));
                }
                _ => {}
            },
            NodeKind::UserKey {
                encrypted_attribute,
            } => {
                outcome.lost = Some(node.label.clone());
                let doc = self.doc;
                let e = node.element;
                let mut blank = Vec::new();
                blank.extend_from_slice(&doc[e.outer.start..encrypted_attribute.start]);
                blank.extend_from_slice(&doc[encrypted_attribute.end..e.content.start]);
                blank.extend_from_slice(&doc[e.content.end..e.outer.end]);
                let replacement = match self.level_after {
                    ProtectionLevel::EncryptSensitiveWithPassword => wrap_stub(
                        encrypted_data_xml(algorithm, self.sealer()?, &add_dts_namespace(&blank)),
                        node.needs_stub,
                    ),
                    _ => blank,
                };
                outcome.edit = Some((outer, replacement));
            }
        }
        Ok(outcome)
    }
}

/// Decrypts one value and checks that it is one well-formed element.
pub(super) fn open_node(
    enc: &EncryptedNode,
    keys: &Keys<'_>,
) -> Result<Zeroizing<Vec<u8>>, PackageError> {
    let plain = keys.open(enc.algorithm, &enc.salt, &enc.cipher_value)?;
    // A wrong key passes the one-byte padding check now and then; its output is not
    // a well-formed element.
    if !plain.starts_with(b"<") {
        return Err(PackageError::WrongPassword);
    }
    match scan::scan(&plain) {
        Ok(s) if s.root.outer.start == 0 && s.root.outer.end == plain.len() => Ok(plain),
        Ok(_) => Err(decrypted_error(
            &plain,
            PackageError::Unsupported("it holds more than one element".into()),
            "value",
        )),
        Err(e) => Err(decrypted_error(&plain, e, "value")),
    }
}

/// Why decrypted data did not load. Text that is valid UTF-8 and starts with `<` came
/// from the right key (a wrong one gives random bytes), so the real reason (a DTD, an
/// entity, deep nesting...) is named rather than blaming the password.
pub(super) fn decrypted_error(plain: &[u8], error: PackageError, what: &str) -> PackageError {
    if plain.len() >= 16 && plain.starts_with(b"<") && std::str::from_utf8(plain).is_ok() {
        PackageError::Unsupported(format!(
            "the encrypted {what} decrypts to XML that cannot be loaded: {error}"
        ))
    } else {
        PackageError::WrongPassword
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In order, whatever the split; the first failure in order wins, as in a loop.
    #[test]
    fn in_order_and_first_failure_wins() {
        let items: Vec<usize> = (0..1000).collect();
        let doubled = try_map_in_order(&items, |&i| Ok::<_, usize>(i * 2)).unwrap();
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        for bad in [[0, 999], [400, 700], [700, 999], [999, 999], [1, 600]] {
            let result =
                try_map_in_order(&items, |&i| if bad.contains(&i) { Err(i) } else { Ok(i) });
            assert_eq!(result, Err(bad[0]), "{bad:?}");
        }
        assert!(try_map_in_order(&[] as &[usize], |&i| Ok::<_, ()>(i))
            .unwrap()
            .is_empty());
    }

    /// Work really is shared when there is enough of it.
    #[test]
    fn shares_the_work_among_threads() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let items: Vec<usize> = (0..VALUES_PER_THREAD * 4).collect();
        let threads =
            try_map_in_order(&items, |_| Ok::<_, ()>(std::thread::current().id())).unwrap();
        let mut distinct = threads.clone();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            cores.min(4).min(MAX_THREADS),
            "one run per thread, in order"
        );
    }
}
