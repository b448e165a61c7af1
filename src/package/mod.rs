//! Reads and rewrites SSIS packages (DTSX) without disturbing them.
//!
//! A package is never parsed into a tree and serialised again: that would reorder
//! attributes, re-indent, change line endings. Instead one scan finds the spans that
//! re-protection must change (see [`scan`]), and the new package is the old bytes with
//! exactly those spans replaced. Nothing here knows where packages are stored.

mod level;
mod scan;
pub mod target;
pub mod xml;

pub use level::ProtectionLevel;
pub use scan::{DPAPI_PREFIX, DTS_NS, XMLENC_NS};

use crate::crypto::{self, Algorithm, CryptoError, Padding};
use scan::{Element, EncryptedNode, LevelMarker, NodeKind, RootKind, Scan};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
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
            Self::NeedsPassword => f.write_str(
                "the package is protected with a password; give it with /Decrypt PASSWORD (or env:NAME / file:PATH)",
            ),
            Self::WrongPassword => f.write_str(
                "the /Decrypt password is wrong (the encrypted data does not decrypt to XML)",
            ),
            Self::UserKeyAll => f.write_str(
                "the package is protected with EncryptAllWithUserKey (level 4): only the Windows user who saved it can open it; re-save it with a password (level 3) on that machine",
            ),
            Self::LostValues(names) => write!(
                f,
                "the package is protected with EncryptSensitiveWithUserKey (level 1); these values can only be opened by the Windows user who saved it and would be written blank: {}. Add /Q or --allow-lost-sensitive to write it anyway, or re-save it with a password on that machine",
                names.join(", ")
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

/// What a package is, as far as can be told without (or with) its password.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Info {
    /// `package` or `package part`.
    pub kind: String,
    pub format: Option<u32>,
    /// The format could not be read (level 4) and was inferred from the product version.
    pub format_inferred: bool,
    pub protection_level: Option<u32>,
    pub protection_level_name: Option<String>,
    pub algorithms: Vec<String>,
    /// Sensitive values stored in the clear (blank ones included).
    pub sensitive_clear: Option<usize>,
    /// Of those, the blank ones (as DontSaveSensitive leaves them).
    pub sensitive_blank: Option<usize>,
    /// Password-encrypted nodes (a level 3 package counts as one).
    pub encrypted: Option<usize>,
    /// Windows DPAPI blobs (user-key protection).
    pub user_key: Option<usize>,
    pub package_id: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub version_guid: Option<String>,
    pub last_modified_product_version: Option<String>,
    pub description: Option<String>,
    pub package_type: Option<u32>,
    /// False when the package is encrypted as a whole and no password was given.
    pub contents_visible: bool,
    pub bytes: usize,
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
}

/// A package opened in memory: its clear document (decrypted when level 3).
struct Opened<'a> {
    doc: Cow<'a, [u8]>,
    scan: Scan,
    level: ProtectionLevel,
    /// Cipher of a level 3 package's outer node.
    whole_algorithm: Option<Algorithm>,
}

fn open<'a>(input: &'a [u8], password: Option<&str>) -> Result<Opened<'a>, PackageError> {
    if input.len() > xml::MAX_PACKAGE_BYTES {
        return Err(PackageError::TooLarge(input.len()));
    }
    let outer = scan::scan(input)?;
    match &outer.root_kind {
        RootKind::EncryptedAll => {
            let node = outer.root_encrypted.clone().expect("EncryptedData root");
            let password = password.ok_or(PackageError::NeedsPassword)?;
            let plain = crypto::open(node.algorithm, password, &node.salt, &node.cipher_value)?;
            let root = outer.root.outer;
            let mut doc = Vec::with_capacity(input.len() * 3 / 4 + 64);
            doc.extend_from_slice(&input[..root.start]);
            doc.extend_from_slice(&plain);
            doc.extend_from_slice(&input[root.end..]);
            // Garbage from a wrong key that slipped past the padding check is not XML.
            if !plain.starts_with(b"<") {
                return Err(PackageError::WrongPassword);
            }
            let inner = scan::scan(&doc).map_err(|e| decrypted_error(&plain, e, "package"))?;
            if !matches!(inner.root_kind, RootKind::Dts(_)) {
                return Err(PackageError::WrongPassword);
            }
            Ok(Opened {
                doc: Cow::Owned(doc),
                scan: inner,
                level: ProtectionLevel::EncryptAllWithPassword,
                whole_algorithm: Some(node.algorithm),
            })
        }
        RootKind::Dts(name) if name == "DTS:Executable" => {
            if outer.root_user_key {
                return Err(PackageError::UserKeyAll);
            }
            let level = level_of(input, &outer)?;
            Ok(Opened {
                doc: Cow::Borrowed(input),
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
            let text = String::from_utf8_lossy(s.slice(doc)).trim().to_string();
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

/// Reports what a package is. Without the password a level 3 package shows only
/// that it is encrypted as a whole.
pub fn inspect(input: &[u8], password: Option<&str>) -> Result<Info, PackageError> {
    let mut info = Info {
        bytes: input.len(),
        ..Info::default()
    };
    let outer = scan::scan(input)?;
    if outer.root_user_key {
        info.kind = "package".into();
        info.protection_level = Some(4);
        info.protection_level_name = Some(ProtectionLevel::EncryptAllWithUserKey.name().into());
        info.user_key = Some(1);
        fill_metadata(&mut info, input, &outer);
        if info.format.is_none() {
            info.format = infer_hidden_format(input, &outer);
            info.format_inferred = info.format.is_some();
        }
        return Ok(info);
    }
    if outer.root_kind == RootKind::EncryptedAll && password.is_none() {
        let node = outer.root_encrypted.as_ref().expect("EncryptedData root");
        info.kind = "package".into();
        info.protection_level = Some(3);
        info.protection_level_name = Some(ProtectionLevel::EncryptAllWithPassword.name().into());
        info.algorithms = vec![node.algorithm.name().into()];
        info.encrypted = Some(1);
        return Ok(info);
    }
    let opened = open(input, password)?;
    let doc = &opened.doc;
    let scan = &opened.scan;
    info.contents_visible = true;
    info.protection_level = Some(opened.level.number());
    info.protection_level_name = Some(opened.level.name().into());
    fill_metadata(&mut info, doc, scan);
    let mut algorithms: Vec<Algorithm> = opened.whole_algorithm.into_iter().collect();
    let (mut clear, mut blank, mut encrypted, mut user_key) = (0, 0, 0, 0);
    for node in &scan.nodes {
        match &node.kind {
            NodeKind::Clear => {
                clear += 1;
                let content = node.element.content.slice(doc);
                if content.iter().all(xml::is_xml_whitespace) {
                    blank += 1;
                }
            }
            NodeKind::Encrypted(e) => {
                encrypted += 1;
                algorithms.push(e.algorithm);
            }
            NodeKind::UserKey { .. } => user_key += 1,
        }
    }
    if opened.whole_algorithm.is_some() {
        encrypted += 1;
    }
    algorithms.sort_by_key(|a| a.name());
    algorithms.dedup();
    info.algorithms = algorithms.iter().map(|a| a.name().to_string()).collect();
    info.sensitive_clear = Some(clear);
    info.sensitive_blank = Some(blank);
    info.encrypted = Some(encrypted);
    info.user_key = Some(user_key);
    Ok(info)
}

fn fill_metadata(info: &mut Info, doc: &[u8], scan: &Scan) {
    info.kind = match scan.metadata(doc, "PackageType").as_deref() {
        Some("7") => "package part".into(),
        _ => "package".into(),
    };
    info.format = scan.format;
    info.package_id = scan.metadata(doc, "DTSID");
    info.name = scan.metadata(doc, "ObjectName");
    info.version_guid = scan.metadata(doc, "VersionGUID");
    info.description = scan.metadata(doc, "Description").filter(|d| !d.is_empty());
    info.last_modified_product_version = scan.metadata(doc, "LastModifiedProductVersion");
    info.package_type = scan
        .metadata(doc, "PackageType")
        .and_then(|t| t.parse().ok());
    // SSIS leaves out version numbers that have their default (1, 0, 0).
    let part = |n: &str, default: &str| scan.metadata(doc, n).unwrap_or_else(|| default.into());
    info.version = Some(format!(
        "{}.{}.{}",
        part("VersionMajor", "1"),
        part("VersionMinor", "0"),
        part("VersionBuild", "0")
    ));
}

/// A level 4 package hides its PackageFormatVersion inside the DPAPI blob, but the
/// root's `DTS:ExecutableType` (an attribute in every format) names the release that
/// wrote it: 2005 (format 2), 2008 (3), 2012 (6), 2014 and later (8).
fn infer_hidden_format(doc: &[u8], scan: &Scan) -> Option<u32> {
    match scan.metadata(doc, "ExecutableType")?.as_str() {
        "MSDTS.Package.1" => Some(2),
        "SSIS.Package.2" => Some(3),
        "SSIS.Package.3" => Some(6),
        "Microsoft.Package" => Some(8),
        _ => None,
    }
}

/// Re-protects a package (or regenerates its ID), changing only what must change.
pub fn rewrite(input: &[u8], options: &Options<'_>) -> Result<Rewritten, PackageError> {
    let opened = open(input, options.decrypt_password)?;
    let doc: &[u8] = &opened.doc;
    let scan = &opened.scan;
    let level_before = opened.level;
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
        return Ok(Rewritten {
            bytes: input.to_vec(),
            level_before,
            level_after,
            lost_values: Vec::new(),
            new_id: None,
        });
    }
    let algorithm = options
        .algorithm
        .or(opened.whole_algorithm)
        .or_else(|| {
            scan.nodes.iter().find_map(|n| match &n.kind {
                NodeKind::Encrypted(e) => Some(e.algorithm),
                _ => None,
            })
        })
        .unwrap_or(Algorithm::TripleDes);
    let write_password = || -> Result<&str, PackageError> {
        write_password.ok_or_else(|| {
            PackageError::Unsupported(format!(
                "protection level {level_after} needs a password (the fourth field of /ENCRYPT)"
            ))
        })
    };
    if level_after.needs_password() {
        write_password()?;
    }

    let mut edits: Vec<(Span, Vec<u8>)> = Vec::new();
    let mut lost = Vec::new();
    // Keeping the protection touches no node: only the ID changes (and a level 3
    // package is sealed again with its own password).
    let nodes = if keep { &[][..] } else { &scan.nodes[..] };
    for node in nodes {
        let outer = node.element.outer;
        match &node.kind {
            NodeKind::Encrypted(enc) => {
                let password = options
                    .decrypt_password
                    .ok_or(PackageError::NeedsPassword)?;
                let plain = open_node(enc, password)?;
                let clear = strip_dts_namespace(&plain);
                let replacement = match level_after {
                    ProtectionLevel::DontSaveSensitive => blank_element(&clear)?,
                    ProtectionLevel::EncryptSensitiveWithPassword => {
                        let password_out = write_password()?;
                        if password_out == password && algorithm == enc.algorithm {
                            continue; // same key: the node's bytes stay as SSIS wrote them
                        }
                        encrypted_data_xml(algorithm, password_out, &plain)
                    }
                    _ => clear.to_vec(),
                };
                edits.push((outer, replacement));
            }
            NodeKind::Clear => match level_after {
                ProtectionLevel::DontSaveSensitive if !node.element.content.is_empty() => {
                    edits.push((node.element.content, Vec::new()));
                }
                ProtectionLevel::EncryptSensitiveWithPassword => {
                    let plain = add_dts_namespace(outer.slice(doc));
                    let ed = encrypted_data_xml(algorithm, write_password()?, &plain);
                    edits.push((outer, wrap_stub(ed, node.needs_stub)));
                }
                _ => {}
            },
            NodeKind::UserKey {
                encrypted_attribute,
            } => {
                lost.push(node.label.clone());
                let e = node.element;
                let mut blank = Vec::new();
                blank.extend_from_slice(&doc[e.outer.start..encrypted_attribute.start]);
                blank.extend_from_slice(&doc[encrypted_attribute.end..e.content.start]);
                blank.extend_from_slice(&doc[e.content.end..e.outer.end]);
                let replacement = match level_after {
                    ProtectionLevel::EncryptSensitiveWithPassword => wrap_stub(
                        encrypted_data_xml(
                            algorithm,
                            write_password()?,
                            &add_dts_namespace(&blank),
                        ),
                        node.needs_stub,
                    ),
                    _ => blank,
                };
                edits.push((outer, replacement));
            }
        }
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
    let mut bytes = apply_edits(doc, edits)?;
    if level_after == ProtectionLevel::EncryptAllWithPassword {
        let root = scan.root.outer;
        let epilog = doc.len() - root.end;
        let root_end = bytes.len() - epilog;
        let ed = encrypted_data_xml(algorithm, write_password()?, &bytes[root.start..root_end]);
        let mut whole = Vec::with_capacity(root.start + ed.len() + epilog);
        whole.extend_from_slice(&bytes[..root.start]);
        whole.extend_from_slice(&ed);
        whole.extend_from_slice(&bytes[root_end..]);
        bytes = whole;
    }
    Ok(Rewritten {
        bytes,
        level_before,
        level_after,
        lost_values: lost,
        new_id,
    })
}

fn open_node(enc: &EncryptedNode, password: &str) -> Result<Zeroizing<Vec<u8>>, PackageError> {
    let plain = crypto::open(enc.algorithm, password, &enc.salt, &enc.cipher_value)?;
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
fn decrypted_error(plain: &[u8], error: PackageError, what: &str) -> PackageError {
    if plain.len() >= 16 && plain.starts_with(b"<") && std::str::from_utf8(plain).is_ok() {
        PackageError::Unsupported(format!(
            "the encrypted {what} decrypts to XML that cannot be loaded: {error}"
        ))
    } else {
        PackageError::WrongPassword
    }
}

const DTS_DECLARATION: &[u8] = b" xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"";

/// Encrypted elements carry their own `xmlns:DTS` (first, right after the name);
/// inside the package the root already declares it.
fn strip_dts_namespace(element: &[u8]) -> Cow<'_, [u8]> {
    let name_end = element
        .iter()
        .position(|b| xml::is_xml_whitespace(b) || *b == b'>' || *b == b'/')
        .unwrap_or(element.len());
    if element[name_end..].starts_with(DTS_DECLARATION) {
        let mut out = Vec::with_capacity(element.len());
        out.extend_from_slice(&element[..name_end]);
        out.extend_from_slice(&element[name_end + DTS_DECLARATION.len()..]);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(element)
    }
}

fn add_dts_namespace(element: &[u8]) -> Zeroizing<Vec<u8>> {
    let name_end = element
        .iter()
        .position(|b| xml::is_xml_whitespace(b) || *b == b'>' || *b == b'/')
        .unwrap_or(element.len());
    let mut out = Zeroizing::new(Vec::with_capacity(element.len() + DTS_DECLARATION.len()));
    out.extend_from_slice(&element[..name_end]);
    if !element[name_end..].starts_with(DTS_DECLARATION) {
        out.extend_from_slice(DTS_DECLARATION);
    }
    out.extend_from_slice(&element[name_end..]);
    out
}

/// The element with its content removed, as DontSaveSensitive stores it.
fn blank_element(element: &[u8]) -> Result<Vec<u8>, PackageError> {
    let s = scan::scan(element).map_err(|_| PackageError::WrongPassword)?;
    let root: Element = s.root;
    let mut out = Vec::with_capacity(element.len());
    out.extend_from_slice(&element[..root.content.start]);
    out.extend_from_slice(&element[root.content.end..]);
    Ok(out)
}

fn wrap_stub(encrypted: Vec<u8>, needs_stub: bool) -> Vec<u8> {
    if !needs_stub {
        return encrypted;
    }
    let mut out = b"<DTS:Property DTS:Name=\"ParameterValue\">".to_vec();
    out.extend_from_slice(&encrypted);
    out.extend_from_slice(b"</DTS:Property>");
    out
}

/// SSIS's EncryptedData element for a sensitive element's XML (or a whole package).
fn encrypted_data_xml(algorithm: Algorithm, password: &str, plaintext: &[u8]) -> Vec<u8> {
    let sealed = crypto::seal(algorithm, password, plaintext, Padding::Iso10126);
    let cipher_value = scan::encode_base64(&sealed.cipher_value);
    format!(
        "<EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\" Salt=\"{}\" IV=\"{}\" xmlns=\"{XMLENC_NS}\"><EncryptionMethod Algorithm=\"{}\" /><CipherData><CipherValue>{cipher_value}</CipherValue></CipherData></EncryptedData>",
        scan::encode_base64(&sealed.salt),
        scan::encode_base64(&sealed.iv),
        algorithm.uri(),
    )
    .into_bytes()
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

/// Replaces non-overlapping spans; everything between them is copied untouched.
/// Overlapping spans (which a well-formed package never yields) are an error, not a
/// panic: the fuzzer found a root marked sensitive that did this.
fn apply_edits(doc: &[u8], mut edits: Vec<(Span, Vec<u8>)>) -> Result<Vec<u8>, PackageError> {
    edits.sort_by_key(|(s, _)| (s.start, s.end));
    let grow: usize = edits.iter().map(|(_, r)| r.len()).sum();
    let mut out = Vec::with_capacity(doc.len() + grow);
    let mut at = 0;
    for (span, replacement) in edits {
        if span.start < at || span.end > doc.len() {
            return Err(PackageError::Unsupported(
                "the package's sensitive values, level marker or ID overlap; cannot rewrite it"
                    .into(),
            ));
        }
        out.extend_from_slice(&doc[at..span.start]);
        out.extend_from_slice(&replacement);
        at = span.end;
    }
    out.extend_from_slice(&doc[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests;
