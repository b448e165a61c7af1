//! One project file (`.dtproj`, `@Project.manifest`, `.params`, `.conmgr`): what it
//! is and opening it (its sensitive values, an EncryptAll element decrypted). Writing
//! XML the way SSIS lays it out is in [`super::layout`]; re-protecting, in
//! [`super::reprotect`].
//!
//! Like the package engine, nothing is re-serialised: a scan finds the spans that must
//! change and only those bytes are replaced. The one exception is unavoidable: an
//! EncryptAll file's whole content is one ciphertext, so opening it writes the decrypted
//! (compact) XML out again, indented the way SSIS lays out that kind of file; sealing
//! it again compacts it exactly as SSIS does (whitespace-only text dropped).

use super::layout::{pretty, strip_tag};
use super::scan::{self, indent_at, Attr, Doc, Style, SSIS_NS};
use crate::crypto::{self, Algorithm, CryptoError};
use crate::package::{xml, ProtectionLevel, DPAPI_PREFIX};
use base64::Engine;
use std::fmt;

pub use super::reprotect::{reprotect, reprotect_allowing_lost};

pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// What a `.dtproj` `PasswordVerifier` holds once decrypted.
pub const VERIFIER_TEXT: &[u8] = b"SSIS";

pub(super) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Which project file a document is; it decides a few layout rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The Visual Studio project (`.dtproj`, an MSBuild file with the manifest inside).
    Dtproj,
    /// `@Project.manifest` in an `.ispac`.
    Manifest,
    Params,
    ConnectionManager,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Dtproj => "project file (.dtproj)",
            Self::Manifest => "project manifest",
            Self::Params => "project parameters",
            Self::ConnectionManager => "connection manager",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectError {
    Malformed(String),
    NeedsPassword,
    WrongPassword,
    /// Windows DPAPI values (levels 1 and 4), which only the saving user can open.
    UserKey(String),
    Unsupported(String),
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => f.write_str(m),
            Self::NeedsPassword => f.write_str(
                "the file is protected with a password; give it with --decrypt PASSWORD (or env:NAME / file:PATH)",
            ),
            Self::WrongPassword => f.write_str(
                "the --decrypt password is wrong (the encrypted data does not decrypt to XML)",
            ),
            Self::UserKey(m) => f.write_str(m),
            Self::Unsupported(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ProjectError {}

impl From<CryptoError> for ProjectError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::WrongPassword => Self::WrongPassword,
            other => Self::Unsupported(other.to_string()),
        }
    }
}

const AES_UNCONFIRMED: &str = "this value is encrypted with AES-256 (xmlenc#aes256-cbc, written by SSIS 2019+ tools); AES in project files is not supported yet: its key derivation is verified for packages only, and no real project file with a published password has been found to confirm it. Re-save the project with Triple DES (SSIS 2017 tools), or at DontSaveSensitive";

/// A sensitive value's state in the file.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Encrypted {
        salt: Vec<u8>,
        iv: Vec<u8>,
        ciphertext: Vec<u8>,
    },
    Clear,
    UserKey,
}

#[derive(Debug, Clone)]
pub(super) struct Sensitive {
    pub(super) elem: usize,
    pub(super) node: Node,
    pub(super) verifier: bool,
}

/// What re-protection produced, for reports (never values).
#[derive(Debug, Clone)]
pub struct Reprotected {
    pub bytes: Vec<u8>,
    pub level_before: ProtectionLevel,
    pub level_after: ProtectionLevel,
    /// Sensitive values (the PasswordVerifier not counted).
    pub values: usize,
    /// DPAPI values written blank (labels only).
    pub lost_values: Vec<String>,
}

/// A decrypted sensitive value, for checks and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub label: String,
    /// The raw (escaped) XML content; `None` for a DPAPI value that cannot be opened.
    pub text: Option<String>,
}

/// The file opened: sensitive values readable, layout as at level 0/2.
pub struct Opened {
    pub doc: Vec<u8>,
    pub level: ProtectionLevel,
    pub values: Vec<Value>,
    /// `Some(true)` when a PasswordVerifier decrypted to `SSIS`; `None` when absent.
    pub verifier: Option<bool>,
}

pub(super) fn malformed(m: String) -> ProjectError {
    ProjectError::Malformed(m)
}

fn b64(s: &str) -> Result<Vec<u8>, ProjectError> {
    B64.decode(s.trim())
        .map_err(|e| ProjectError::Malformed(format!("bad base64 in an encrypted value: {e}")))
}

/// The element that EncryptAll encrypts as a whole: the root, or `SSIS:Project` in a `.dtproj`.
pub(super) fn container(s: &Doc) -> Option<usize> {
    if let Some(p) = manifest_project(s) {
        return Some(p);
    }
    s.root()
}

pub(super) fn manifest_project(s: &Doc) -> Option<usize> {
    (0..s.elems.len()).find(|&i| s.elems[i].local() == "Project" && s.elem_is_ssis(i))
}

fn is_encrypted(s: &Doc, i: usize) -> bool {
    s.ssis_attr(i, "Salt").is_some() && s.ssis_attr(i, "IV").is_some()
}

pub(super) fn algorithm_of(s: &Doc, i: usize, iv_len: usize) -> Result<Algorithm, ProjectError> {
    let alg = match s.ssis_attr(i, "Algorithm") {
        Some(a) => Algorithm::from_uri(&a.value)?,
        None if iv_len == 16 => Algorithm::Aes256,
        None => Algorithm::TripleDes,
    };
    if alg == Algorithm::Aes256 {
        return Err(ProjectError::Unsupported(AES_UNCONFIRMED.into()));
    }
    Ok(alg)
}

/// Decrypts a project-form value: returns the plaintext without its BOM.
fn decrypt(
    s: &Doc,
    doc: &[u8],
    i: usize,
    password: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, ProjectError> {
    let e = &s.elems[i];
    let salt = b64(&s.ssis_attr(i, "Salt").expect("encrypted").value)?;
    let iv = b64(&s.ssis_attr(i, "IV").expect("encrypted").value)?;
    let text = String::from_utf8_lossy(e.content(doc)).into_owned();
    let ciphertext = b64(&text)?;
    let alg = algorithm_of(s, i, iv.len())?;
    open_value(alg, password, &salt, &iv, &ciphertext)
}

pub(super) fn open_value(
    alg: Algorithm,
    password: &str,
    salt: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, ProjectError> {
    let mut plain = crypto::open_detached(alg, password, salt, iv, ciphertext)?;
    // PKCS#7: every pad byte equals the length; open_detached checked only the last.
    // (Already removed; a wrong key nearly always fails the XML checks below.)
    if plain.starts_with(BOM) {
        plain.drain(..3);
    }
    if !plain.starts_with(b"<") || std::str::from_utf8(&plain).is_err() {
        return Err(ProjectError::WrongPassword);
    }
    scan::scan(&plain).map_err(|_| ProjectError::WrongPassword)?;
    Ok(plain)
}

/// The content of a decrypted element's root (`<X ...>content</X>`).
pub(super) fn inner_of(plain: &[u8]) -> Result<Vec<u8>, ProjectError> {
    let s = scan::scan(plain).map_err(|_| ProjectError::WrongPassword)?;
    let r = &s.elems[s.root().ok_or(ProjectError::WrongPassword)?];
    Ok(r.content(plain).to_vec())
}

/// Attributes that only serve the encryption: SSIS `Salt`, `IV`, `Algorithm`, and an
/// auto-generated `xmlns:pN` that nothing else on or under the element uses.
pub(super) fn crypto_attrs(s: &Doc, i: usize) -> Vec<usize> {
    let e = &s.elems[i];
    let mut out = Vec::new();
    for (k, a) in e.attrs.iter().enumerate() {
        if s.attr_is_ssis(i, a) && matches!(a.local(), "Salt" | "IV" | "Algorithm") {
            out.push(k);
        }
    }
    for (k, a) in e.attrs.iter().enumerate() {
        let Some(p) = a.declares() else { continue };
        if a.value != SSIS_NS || p.is_empty() {
            continue;
        }
        let auto = p.len() > 1 && p.starts_with('p') && p[1..].bytes().all(|b| b.is_ascii_digit());
        if !auto {
            continue;
        }
        let uses = |name: &str| name.split_once(':').map(|(q, _)| q) == Some(p);
        let used_here = uses(&e.name)
            || e.attrs
                .iter()
                .enumerate()
                .any(|(j, b)| !out.contains(&j) && b.declares().is_none() && uses(&b.name));
        let used_below = s.elems[i + 1..]
            .iter()
            .take_while(|d| d.start < e.end)
            .any(|d| uses(&d.name) || d.attrs.iter().any(|b| uses(&b.name)));
        if !used_here && !used_below {
            out.push(k);
        }
    }
    out
}

fn sensitive_attr(s: &Doc, i: usize) -> bool {
    s.elems[i].attrs.iter().any(|a| {
        a.local() == "Sensitive"
            && a.text() == "1"
            && (a.prefix().is_none() || s.attr_is_ssis(i, a))
    })
}

fn is_verifier(s: &Doc, i: usize) -> bool {
    s.elems[i].local() == "Property"
        && s.ssis_attr(i, "Name")
            .is_some_and(|a| a.text() == "PasswordVerifier")
}

pub(super) fn find_sensitive(s: &Doc, doc: &[u8]) -> Result<Vec<Sensitive>, ProjectError> {
    let mut out = Vec::new();
    let mut inside_until = 0;
    for (i, e) in s.elems.iter().enumerate() {
        if e.start < inside_until {
            continue;
        }
        let verifier = is_verifier(s, i);
        let node = if is_encrypted(s, i) {
            let salt = b64(&s.ssis_attr(i, "Salt").expect("checked").value)?;
            let iv = b64(&s.ssis_attr(i, "IV").expect("checked").value)?;
            let text = String::from_utf8_lossy(e.content(doc)).into_owned();
            Node::Encrypted {
                salt,
                iv,
                ciphertext: b64(&text)?,
            }
        } else if sensitive_attr(s, i) || verifier {
            if e.self_closing {
                continue;
            }
            let user_key = e
                .attrs
                .iter()
                .any(|a| a.local() == "Encrypted" && a.text() == "1")
                || trim(e.content(doc)).starts_with(DPAPI_PREFIX.as_bytes());
            if user_key {
                Node::UserKey
            } else {
                Node::Clear
            }
        } else {
            continue;
        };
        inside_until = e.end;
        out.push(Sensitive {
            elem: i,
            node,
            verifier,
        });
    }
    Ok(out)
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !xml::is_xml_whitespace(c))
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !xml::is_xml_whitespace(c))
        .map_or(start, |i| i + 1);
    &b[start..end]
}

/// A value's content as SSIS reads it: whitespace-only content is empty.
pub(super) fn normalise(content: &[u8]) -> Vec<u8> {
    if content.iter().all(xml::is_xml_whitespace) {
        Vec::new()
    } else {
        content.to_vec()
    }
}

pub(super) fn label(s: &Doc, i: usize) -> String {
    let mut parts = Vec::new();
    let mut at = Some(i);
    while let Some(k) = at {
        let e = &s.elems[k];
        if let Some(a) = e
            .attrs
            .iter()
            .find(|a| matches!(a.local(), "Name" | "ObjectName") && a.declares().is_none())
        {
            parts.push(a.value.clone());
        }
        at = e.parent;
    }
    parts.reverse();
    if parts.is_empty() {
        s.elems[i].name.clone()
    } else {
        parts.join("/")
    }
}

pub(super) fn level_attr(s: &Doc) -> Option<(usize, &Attr)> {
    let p = manifest_project(s)?;
    s.ssis_attr(p, "ProtectionLevel").map(|a| (p, a))
}

fn user_key_all(s: &Doc, doc: &[u8]) -> bool {
    let Some(c) = container(s) else { return false };
    let e = &s.elems[c];
    !e.has_child_elements && trim(e.content(doc)).starts_with(DPAPI_PREFIX.as_bytes())
}

/// Opens a file: decrypts an EncryptAll element and every sensitive value.
pub fn open(input: &[u8], kind: Kind, password: Option<&str>) -> Result<Opened, ProjectError> {
    let (doc, was_all) = expand(input, kind, password)?;
    let s = scan::scan(&doc).map_err(malformed)?;
    let nodes = find_sensitive(&s, &doc)?;
    let mut values = Vec::new();
    let mut verifier = None;
    for n in &nodes {
        let text = match &n.node {
            Node::Encrypted { .. } => {
                let pw = password.ok_or(ProjectError::NeedsPassword)?;
                let plain = decrypt(&s, &doc, n.elem, pw)?;
                Some(normalise(&inner_of(&plain)?))
            }
            Node::Clear => Some(normalise(s.elems[n.elem].content(&doc))),
            Node::UserKey => None,
        };
        if n.verifier {
            if matches!(n.node, Node::Encrypted { .. }) {
                let ok = text.as_deref() == Some(VERIFIER_TEXT);
                if !ok {
                    return Err(ProjectError::WrongPassword);
                }
                verifier = Some(true);
            }
            continue;
        }
        values.push(Value {
            label: label(&s, n.elem),
            text: text.map(|t| String::from_utf8_lossy(&t).into_owned()),
        });
    }
    let level = if was_all {
        ProtectionLevel::EncryptAllWithPassword
    } else {
        level_of(&s, &nodes)
    };
    Ok(Opened {
        doc,
        level,
        values,
        verifier,
    })
}

pub(super) fn level_of(s: &Doc, nodes: &[Sensitive]) -> ProtectionLevel {
    if let Some(l) = level_attr(s).and_then(|(_, a)| ProtectionLevel::from_name(&a.text())) {
        return l;
    }
    if nodes
        .iter()
        .any(|n| matches!(n.node, Node::Encrypted { .. }))
    {
        ProtectionLevel::EncryptSensitiveWithPassword
    } else if nodes.iter().any(|n| matches!(n.node, Node::UserKey)) {
        ProtectionLevel::EncryptSensitiveWithUserKey
    } else {
        ProtectionLevel::DontSaveSensitive
    }
}

pub(super) fn style_for(doc: &[u8], s: &Doc, kind: Kind) -> Style {
    let mut style = Style::detect(doc, s);
    match kind {
        // Every .dtproj seen writes empty elements over two lines, attributes on one.
        Kind::Dtproj => {
            style.empty_as_newline = true;
            style.attrs_on_new_lines = false;
        }
        // SSIS writes .params and .conmgr with one attribute per line.
        Kind::Params | Kind::ConnectionManager => style.attrs_on_new_lines = true,
        Kind::Manifest => {}
    }
    style
}

/// Replaces an EncryptAll element by its decrypted content, laid out as SSIS lays out
/// the same file at EncryptSensitive. Returns the document and whether it was EncryptAll.
pub(super) fn expand(
    input: &[u8],
    kind: Kind,
    password: Option<&str>,
) -> Result<(Vec<u8>, bool), ProjectError> {
    let s = scan::scan(input).map_err(malformed)?;
    if user_key_all(&s, input) {
        return Err(ProjectError::UserKey(
            "the file is protected with EncryptAllWithUserKey (level 4): only the Windows user who saved it can open it (DPAPI); re-save the project with a password on that machine".into(),
        ));
    }
    let Some(c) = container(&s).filter(|&c| is_encrypted(&s, c)) else {
        return Ok((input.to_vec(), false));
    };
    let password = password.ok_or(ProjectError::NeedsPassword)?;
    let plain = decrypt(&s, input, c, password)?;
    let ps = scan::scan(&plain).map_err(|_| ProjectError::WrongPassword)?;
    let proot = &ps.elems[ps.root().ok_or(ProjectError::WrongPassword)?];
    if proot.name != s.elems[c].name {
        return Err(ProjectError::WrongPassword);
    }
    let e = &s.elems[c];
    let style = style_for(input, &s, kind);
    let base = indent_at(input, e.start);
    // The start tag as written, less the encryption attributes, plus any attribute
    // that only the plaintext root has.
    let strip = crypto_attrs(&s, c);
    let mut tag = strip_tag(input, &s, c, &strip);
    let extra: Vec<&Attr> = proot
        .attrs
        .iter()
        .filter(|a| e.attr(&a.name).is_none())
        .collect();
    if !extra.is_empty() {
        let close = if tag.ends_with(b"/>") { 2 } else { 1 };
        let at = tag.len() - close;
        let mut add = Vec::new();
        for a in extra {
            add.extend_from_slice(format!(" {}=\"{}\"", a.name, a.value).as_bytes());
        }
        tag.splice(at..at, add);
    }
    let children =
        pretty(proot.content(&plain), &style, &base).map_err(|_| ProjectError::WrongPassword)?;
    let mut out = Vec::with_capacity(input.len() * 2);
    out.extend_from_slice(&input[..e.start]);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&children);
    out.extend_from_slice(format!("</{}>", e.name).as_bytes());
    out.extend_from_slice(&input[e.end..]);
    Ok((out, true))
}
