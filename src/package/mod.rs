//! Reads and rewrites SSIS packages (DTSX) without disturbing them.
//!
//! A package is never parsed into a tree and serialised again: that would reorder
//! attributes, re-indent, change line endings. Instead one scan finds the spans that
//! re-protection must change (see [`scan`]), and the new package is the old bytes with
//! exactly those spans replaced. Nothing here knows where packages are stored.

mod edits;
mod encrypted;
mod inspect;
mod level;
pub mod objects;
mod scan;
mod sensitive_mark;
pub mod target;
mod text;
pub mod tokens;
mod values;
pub mod xml;

pub use inspect::{inspect, Facts, Info};
pub use level::ProtectionLevel;
pub use scan::{DPAPI_PREFIX, DTS_NS, XMLENC_NS};
pub use text::TextEncoding;

use crate::crypto::{Algorithm, CryptoError, Keys};
use edits::{apply_edits, apply_edits_in_place};
use scan::{LevelMarker, NodeKind, RootKind, Scan};
use std::borrow::Cow;
use std::fmt;
use values::{decrypted_error, open_node, try_map_in_order, ValueRecipe};
use xml::Span;
use zeroize::Zeroizing;

/// Why a package cannot be loaded or rewritten. All of these are dtutil's exit 5
/// ("package cannot be loaded") except [`PackageError::LostValues`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageError {
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    TooLarge(usize),
    TooDeep(usize),
    Unsupported(String),
    NotAPackage(String),
    /// Password-protected and no `/Decrypt` password given.
    NeedsPassword,
    WrongPassword,
    /// Level 4: the whole package is a DPAPI blob.
    UserKeyAll,
    /// Level 1 values cannot be read here; writing would lose them.
    LostValues(Vec<String>),
    /// The level is kept (`/I` alone, `batch --regenerate-ids`) and needs the package's
    /// password, which was not given.
    KeptLevelNeedsPassword(ProtectionLevel),
    /// The new level needs a password and none was given with it.
    LevelNeedsPassword(ProtectionLevel),
}

/// The options a package error's advice names, as the command that reports it spells
/// them (the error's `Display` speaks dtutil's switches).
#[derive(Debug, Clone, Copy)]
pub struct OptionNames {
    /// Gives the package's password.
    pub decrypt: &'static str,
    /// Gives the new level's password.
    pub encrypt_password: &'static str,
    /// Writes a level 1 package with its user-key values blank.
    pub allow_lost: &'static str,
}

impl OptionNames {
    pub const SWITCHES: Self = Self {
        decrypt: "/Decrypt",
        encrypt_password: "the fourth field of /ENCRYPT",
        allow_lost: "/Q or --allow-lost-sensitive",
    };
    /// `dtutil batch`'s long options.
    pub const BATCH: Self = Self {
        decrypt: "--decrypt",
        encrypt_password: "--encrypt \"LEVEL;PASSWORD\"",
        allow_lost: "--allow-lost-sensitive",
    };
    /// `dtutil project`'s long options.
    pub const PROJECT: Self = Self {
        decrypt: "--decrypt",
        encrypt_password: "--encrypt \"LEVEL;PASSWORD\"",
        allow_lost: "--allow-lost-sensitive",
    };
}

impl PackageError {
    /// The message with its advice naming `names`.
    pub fn advice_with(&self, names: OptionNames) -> String {
        let decrypt = names.decrypt;
        match self {
            Self::NeedsPassword => format!(
                "the package is protected with a password; give it with {decrypt} PASSWORD (or env:NAME / file:PATH)"
            ),
            Self::WrongPassword => format!(
                "the {decrypt} password is wrong (the encrypted data does not decrypt to XML)"
            ),
            // `/I` alone keeps the level: the password is the one it was saved with.
            Self::KeptLevelNeedsPassword(level) => format!(
                "protection level {level} is kept, which needs the package's password: give it with {decrypt}"
            ),
            Self::LevelNeedsPassword(level) => format!(
                "protection level {level} needs a password ({})",
                names.encrypt_password
            ),
            Self::LostValues(values) => format!(
                "the package is protected with EncryptSensitiveWithUserKey (level 1); these values can only be opened by the Windows user who saved it and would be written blank: {}. Add {} to write it anyway, or re-save it with a password on that machine",
                values.join(", "),
                names.allow_lost
            ),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { line, column, message } => {
                write!(f, "not well-formed XML at line {line}, column {column}: {message}")
            }
            Self::TooLarge(n) => write!(
                f,
                "the package is {n} bytes, over the {} byte limit",
                xml::MAX_PACKAGE_BYTES
            ),
            Self::TooDeep(n) => write!(f, "elements nest deeper than {n} levels"),
            Self::Unsupported(m) => f.write_str(m),
            Self::NotAPackage(root) => write!(
                f,
                "not an SSIS package: the root element is <{root}>, not <DTS:Executable>"
            ),
            Self::NeedsPassword
            | Self::WrongPassword
            | Self::KeptLevelNeedsPassword(_)
            | Self::LevelNeedsPassword(_)
            | Self::LostValues(_) => f.write_str(&self.advice_with(OptionNames::SWITCHES)),
            Self::UserKeyAll => f.write_str(
                "the package is protected with EncryptAllWithUserKey (level 4): only the Windows user who saved it can open it; re-save it with a password (level 3) on that machine",
            ),
        }
    }
}

impl std::error::Error for PackageError {}

impl From<CryptoError> for PackageError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::WrongPassword => Self::WrongPassword,
            other => Self::Unsupported(other.to_string()),
        }
    }
}

/// What re-protection should produce.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Same level and password (for `/IDRegenerate` alone).
    Keep,
    Level {
        level: ProtectionLevel,
        password: Option<&'a str>,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub decrypt_password: Option<&'a str>,
    pub target: Target<'a>,
    /// `None`: keep the package's own cipher (AES-256 where it had AES, else Triple DES).
    pub algorithm: Option<Algorithm>,
    pub regenerate_id: bool,
    /// Write a level 1 package whose DPAPI values will be blank.
    pub allow_lost_values: bool,
}

/// The result of a rewrite.
#[derive(Debug, Clone)]
pub struct Rewritten {
    pub bytes: Vec<u8>,
    pub level_before: ProtectionLevel,
    pub level_after: ProtectionLevel,
    /// Level 1 values written blank (labels, never values).
    pub lost_values: Vec<String>,
    pub new_id: Option<String>,
    /// The facts of the package as written, as the next reader would find them.
    pub facts: Result<Facts, PackageError>,
}

/// A package opened in memory, scanned (and, at level 3, decrypted) once: what a
/// rewrite and the facts of the package both work from.
pub struct Opened<'a> {
    /// The package's bytes as they came (any encoding).
    input: &'a [u8],
    /// How `input` encodes its text; `doc` is UTF-8 and a rewrite is encoded back.
    encoding: TextEncoding,
    doc: Cow<'a, [u8]>,
    scan: Scan,
    level: ProtectionLevel,
    /// Cipher of a level 3 package's outer node.
    whole_algorithm: Option<Algorithm>,
}

impl Opened<'_> {
    pub fn level(&self) -> ProtectionLevel {
        self.level
    }

    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// The package's objects (connections, tasks, components...); their lines are the
    /// file's own except in a package encrypted as a whole, where they are the
    /// decrypted document's.
    pub fn objects(&self) -> Result<Vec<objects::Object>, PackageError> {
        objects::read(&self.doc)
    }

    /// Labels of the sensitive values this package keeps with a Windows user key
    /// (DPAPI): what any other machine or account reads as blank.
    pub fn user_key_labels(&self) -> Vec<String> {
        self.scan
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::UserKey { .. }))
            .map(|n| n.label.clone())
            .collect()
    }
}

/// Opens a package: `password` opens a level 3 package (and nothing else yet).
pub fn open<'a>(input: &'a [u8], password: Option<&str>) -> Result<Opened<'a>, PackageError> {
    if input.len() > xml::MAX_PACKAGE_BYTES {
        return Err(PackageError::TooLarge(input.len()));
    }
    let (text, encoding) = text::decode(input)?;
    let outer = scan::scan(&text)?;
    open_scanned(input, (text, encoding), outer, password)
}

/// Opens a package whose outer document (`text`: `input` as UTF-8) is scanned already.
fn open_scanned<'a>(
    input: &'a [u8],
    (text, encoding): (Cow<'a, [u8]>, TextEncoding),
    mut outer: Scan,
    password: Option<&str>,
) -> Result<Opened<'a>, PackageError> {
    if input.len() > xml::MAX_PACKAGE_BYTES {
        return Err(PackageError::TooLarge(input.len()));
    }
    match &outer.root_kind {
        RootKind::EncryptedAll => {
            // Taken, not cloned: it is as large as the package.
            let node = outer.root_encrypted.take().expect("EncryptedData root");
            let password = password.ok_or(PackageError::NeedsPassword)?;
            // Decrypted where it was decoded, and the document built around it in that
            // buffer (the scan left room): a level 3 package is not copied. Zeroized
            // unless it opens.
            let mut doc = Zeroizing::new(node.cipher_value);
            let plain = Keys::new(password).open_in_place(node.algorithm, &node.salt, &mut doc)?;
            // Garbage from a wrong key that slipped past the padding check is not XML.
            if !doc[plain.clone()].starts_with(b"<") {
                return Err(PackageError::WrongPassword);
            }
            let root = outer.root.outer;
            doc.truncate(plain.end);
            doc.splice(..plain.start, text[..root.start].iter().copied());
            doc.extend_from_slice(&text[root.end..]);
            let inner = scan::scan(&doc).map_err(|e| {
                decrypted_error(&doc[root.start..root.start + plain.len()], e, "package")
            })?;
            if !matches!(inner.root_kind, RootKind::Dts(_)) {
                return Err(PackageError::WrongPassword);
            }
            Ok(Opened {
                input,
                encoding,
                doc: Cow::Owned(std::mem::take(&mut *doc)),
                scan: inner,
                level: ProtectionLevel::EncryptAllWithPassword,
                whole_algorithm: Some(node.algorithm),
            })
        }
        RootKind::Dts(name) if name == "DTS:Executable" => {
            if outer.root_user_key {
                return Err(PackageError::UserKeyAll);
            }
            let level = level_of(&text, &outer)?;
            Ok(Opened {
                input,
                encoding,
                doc: text,
                scan: outer,
                level,
                whole_algorithm: None,
            })
        }
        RootKind::Dts(name) | RootKind::Other(name) => Err(PackageError::NotAPackage(name.clone())),
    }
}

fn level_of(doc: &[u8], scan: &Scan) -> Result<ProtectionLevel, PackageError> {
    let number = match scan.level_marker {
        Some(LevelMarker::Attribute(s)) | Some(LevelMarker::Property(s)) => {
            // As an XML reader sees it: `&#53;` is the character 5 (SSIS reads it so).
            let text = xml::unescape(s.slice(doc)).trim().to_string();
            text.parse::<u32>().map_err(|_| {
                PackageError::Unsupported(format!("protection level `{text}` is not a number"))
            })?
        }
        Some(LevelMarker::Absent { .. }) | None => 1,
    };
    ProtectionLevel::from_number(number).ok_or_else(|| {
        PackageError::Unsupported(format!("unknown protection level {number} (known: 0-5)"))
    })
}

/// Re-protects a package (or regenerates its ID), changing only what must change.
pub fn rewrite(input: &[u8], options: &Options<'_>) -> Result<Rewritten, PackageError> {
    open(input, options.decrypt_password)?.rewrite(options)
}

/// [`rewrite`] of a package the caller hands over: the edits are made in its buffer
/// (it grows in place), so a large package is not held twice.
pub fn rewrite_owned(input: Vec<u8>, options: &Options<'_>) -> Result<Rewritten, PackageError> {
    let opened = open(&input, options.decrypt_password)?;
    let plan = opened.plan(options)?;
    if let (Cow::Owned(_), Some(edits)) = (&opened.doc, &plan.edits) {
        // Level 3 or UTF-16: the edits apply to the decrypted or decoded document,
        // in its own buffer.
        let Cow::Owned(mut decrypted) = opened.doc else {
            unreachable!("matched just above")
        };
        drop(input);
        apply_edits_in_place(&mut decrypted, edits)?;
        return plan.finish(decrypted);
    }
    drop(opened);
    let mut bytes = input;
    if let Some(edits) = &plan.edits {
        apply_edits_in_place(&mut bytes, edits)?;
    }
    plan.finish(bytes)
}

/// A rewrite worked out: the edits, and what follows once they are made.
struct Plan<'o> {
    /// `None`: the package goes out as it came in (same level, same ID).
    edits: Option<Vec<(Span, Vec<u8>)>>,
    level_before: ProtectionLevel,
    level_after: ProtectionLevel,
    lost: Vec<String>,
    new_id: Option<String>,
    /// Level 3: the edited document's root is sealed whole (root span, bytes after it).
    seal: Option<(Span, usize, Algorithm, Keys<'o>)>,
    ciphers_out: Vec<Algorithm>,
    /// `Some(password)`: the output's facts are read back from it.
    read_back: Option<Option<&'o str>>,
    facts: Facts,
    /// The source's text encoding: an edited package is encoded back to it.
    encoding: TextEncoding,
}

impl Plan<'_> {
    fn finish(self, mut bytes: Vec<u8>) -> Result<Rewritten, PackageError> {
        let mut ciphers_out = self.ciphers_out;
        if let Some((root, epilog, algorithm, keys)) = &self.seal {
            let root_end = bytes.len() - epilog;
            let plain_len = root_end - root.start;
            let mut whole = Vec::with_capacity(root.start + plain_len * 4 / 3 + 512 + epilog);
            whole.extend_from_slice(&bytes[..root.start]);
            // `bytes` is ours and replaced by `whole`: the root is encrypted in it.
            let (head, tail) = bytes.split_at_mut(root_end);
            encrypted::write_encrypted_package(
                &mut whole,
                *algorithm,
                keys,
                &mut head[root.start..],
            );
            whole.extend_from_slice(tail);
            bytes = whole;
            ciphers_out.push(*algorithm);
        }
        if self.edits.is_some() {
            bytes = text::encode(bytes, self.encoding)?;
        }
        let facts = match self.read_back {
            Some(password) => inspect(&bytes, password).map(|info| Facts::from(&info)),
            None if self.edits.is_none() => Ok(self.facts),
            None => {
                let mut facts = self.facts;
                facts.protection_level = Some(self.level_after.number());
                facts.algorithms = inspect::algorithm_names(ciphers_out);
                if self.new_id.is_some() {
                    facts.package_id.clone_from(&self.new_id);
                }
                Ok(facts)
            }
        };
        Ok(Rewritten {
            bytes,
            level_before: self.level_before,
            level_after: self.level_after,
            lost_values: self.lost,
            new_id: self.new_id,
            facts,
        })
    }
}

impl Opened<'_> {
    /// Re-protects the opened package (or regenerates its ID), changing only what
    /// must change. `options.decrypt_password` opens its encrypted values.
    pub fn rewrite(&self, options: &Options<'_>) -> Result<Rewritten, PackageError> {
        let plan = self.plan(options)?;
        let bytes = match &plan.edits {
            Some(edits) => apply_edits(&self.doc, edits)?,
            None => self.input.to_vec(),
        };
        plan.finish(bytes)
    }

    fn plan<'o>(&self, options: &Options<'o>) -> Result<Plan<'o>, PackageError> {
        let doc: &[u8] = &self.doc;
        let scan = &self.scan;
        let level_before = self.level;
        let (level_after, write_password) = match options.target {
            Target::Keep => (level_before, options.decrypt_password),
            Target::Level { level, password } => (level, password),
        };
        let keep = matches!(options.target, Target::Keep);
        if level_after.is_user_key() && !keep {
            return Err(PackageError::Unsupported(format!(
            "protection level {level_after} needs Windows DPAPI, which is not available here; use 2 or 3 with a password"
        )));
        }
        if keep && !options.regenerate_id {
            return Ok(Plan {
                edits: None,
                level_before,
                level_after,
                lost: Vec::new(),
                new_id: None,
                seal: None,
                ciphers_out: Vec::new(),
                read_back: None,
                facts: self.facts(),
                encoding: self.encoding,
            });
        }
        let algorithm = options
            .algorithm
            .or(self.whole_algorithm)
            .or_else(|| {
                scan.nodes.iter().find_map(|n| match &n.kind {
                    NodeKind::Encrypted(e) => Some(e.algorithm),
                    _ => None,
                })
            })
            .unwrap_or(Algorithm::TripleDes);
        let write_password = || -> Result<&'o str, PackageError> {
            write_password.ok_or(if keep {
                PackageError::KeptLevelNeedsPassword(level_after)
            } else {
                PackageError::LevelNeedsPassword(level_after)
            })
        };
        if level_after.needs_password() {
            write_password()?;
        }
        // Each password's keys are set up once for the package, not once per value.
        let write_keys = write_password().ok().map(Keys::new);
        let sealer = || {
            write_keys
                .as_ref()
                .ok_or_else(|| write_password().unwrap_err())
        };
        let opener = options.decrypt_password.map(Keys::new);
        // Keeping level 2 (a new ID alone) touches no value, yet the password asked for
        // must be the package's, as Windows dtutil loads the package with it: each
        // value is opened, so a wrong one fails rather than "succeeds" unchecked.
        if keep && level_after == ProtectionLevel::EncryptSensitiveWithPassword {
            let keys = sealer()?;
            try_map_in_order(&scan.nodes, |node| match &node.kind {
                NodeKind::Encrypted(enc) => open_node(enc, keys).map(drop),
                _ => Ok(()),
            })?;
        }

        let mut edits: Vec<(Span, Vec<u8>)> = Vec::new();
        let mut lost = Vec::new();
        // The output's facts are the input's, with the ciphers the output holds, unless
        // an edit may change what the package says about itself (`near_root`, or a
        // decrypted value that carries XML Encryption of its own): then it is read back.
        let mut ciphers_out: Vec<Algorithm> = Vec::new();
        let mut read_back = false;
        // Keeping the protection touches no node: only the ID changes (and a level 3
        // package is sealed again with its own password).
        let nodes = if keep {
            ciphers_out.extend(scan.nodes.iter().filter_map(|n| match &n.kind {
                NodeKind::Encrypted(e) => Some(e.algorithm),
                _ => None,
            }));
            &[][..]
        } else {
            &scan.nodes[..]
        };
        let recipe = ValueRecipe {
            doc,
            level_after,
            algorithm,
            decrypt_password: options.decrypt_password,
            write_password: write_password().ok(),
            sealer: sealer(),
            opener: opener.as_ref(),
        };
        let outcomes = try_map_in_order(nodes, |node| recipe.outcome(node))?;
        for (node, outcome) in nodes.iter().zip(outcomes) {
            read_back |= node.near_root || outcome.read_back;
            if level_after == ProtectionLevel::EncryptSensitiveWithPassword {
                ciphers_out.push(algorithm);
            }
            lost.extend(outcome.lost);
            edits.extend(outcome.edit);
        }
        // Level 0 drops sensitive values by definition: unreadable ones go with the rest
        // (the caller names them); other levels would silently carry blanks, so refuse.
        if !lost.is_empty()
            && !options.allow_lost_values
            && level_after != ProtectionLevel::DontSaveSensitive
        {
            return Err(PackageError::LostValues(lost));
        }
        if !keep
            && (level_after != level_before
                || matches!(scan.level_marker, Some(LevelMarker::Absent { .. })))
        {
            edits.push(level_edit(scan, level_after)?);
        }
        let mut new_id = None;
        if options.regenerate_id {
            let span = scan.metadata_span("DTSID").ok_or_else(|| {
                PackageError::Unsupported("the package has no DTS:DTSID to regenerate".into())
            })?;
            let id = format!("{{{}}}", uuid::Uuid::new_v4()).to_uppercase();
            edits.push((span, id.clone().into_bytes()));
            new_id = Some(id);
        }
        let seal = if level_after == ProtectionLevel::EncryptAllWithPassword {
            sealer()?;
            let keys = write_keys.expect("set up just above");
            let root = scan.root.outer;
            Some((root, doc.len() - root.end, algorithm, keys))
        } else {
            None
        };
        let read_back = read_back.then(|| {
            if keep {
                options.decrypt_password
            } else {
                write_password().ok()
            }
        });
        Ok(Plan {
            edits: Some(edits),
            level_before,
            level_after,
            lost,
            new_id,
            seal,
            ciphers_out,
            read_back,
            facts: self.facts(),
            encoding: self.encoding,
        })
    }
}

fn level_edit(scan: &Scan, level: ProtectionLevel) -> Result<(Span, Vec<u8>), PackageError> {
    let n = level.number().to_string().into_bytes();
    match scan.level_marker {
        Some(LevelMarker::Attribute(s)) | Some(LevelMarker::Property(s)) => Ok((s, n)),
        Some(LevelMarker::Absent { at }) => Ok((
            Span::new(at, at),
            format!(
                "{}DTS:ProtectionLevel=\"{}\"",
                scan.attribute_separator,
                level.number()
            )
            .into_bytes(),
        )),
        None => Err(PackageError::Unsupported(
            "cannot find where the package records its protection level".into(),
        )),
    }
}

#[cfg(test)]
mod tests;
