//! Re-protecting one project file (`.dtproj`, `@Project.manifest`, `.params`, `.conmgr`).
//!
//! Like the package engine, nothing is re-serialised: a scan finds the spans that must
//! change and only those bytes are replaced. The one exception is unavoidable: an
//! EncryptAll file's whole content is one ciphertext, so opening it writes the decrypted
//! (compact) XML out again, indented the way SSIS lays out that kind of file; sealing
//! it again compacts it exactly as SSIS does (whitespace-only text dropped).

use super::scan::{self, indent_at, parse_tag, Attr, Doc, Style, SSIS_NS};
use crate::crypto::{self, Algorithm, CryptoError, Padding};
use crate::package::{xml, ProtectionLevel, DPAPI_PREFIX};
use base64::Engine;
use quick_xml::events::Event;
use std::fmt;

pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// What a `.dtproj` `PasswordVerifier` holds once decrypted.
pub const VERIFIER_TEXT: &[u8] = b"SSIS";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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
enum Node {
    Encrypted {
        salt: Vec<u8>,
        iv: Vec<u8>,
        ciphertext: Vec<u8>,
    },
    Clear,
    UserKey,
}

#[derive(Debug, Clone)]
struct Sensitive {
    elem: usize,
    node: Node,
    verifier: bool,
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

fn malformed(m: String) -> ProjectError {
    ProjectError::Malformed(m)
}

fn b64(s: &str) -> Result<Vec<u8>, ProjectError> {
    B64.decode(s.trim())
        .map_err(|e| ProjectError::Malformed(format!("bad base64 in an encrypted value: {e}")))
}

/// The element that EncryptAll encrypts as a whole: the root, or `SSIS:Project` in a `.dtproj`.
fn container(s: &Doc) -> Option<usize> {
    if let Some(p) = manifest_project(s) {
        return Some(p);
    }
    s.root()
}

fn manifest_project(s: &Doc) -> Option<usize> {
    (0..s.elems.len()).find(|&i| s.elems[i].local() == "Project" && s.elem_is_ssis(i))
}

fn is_encrypted(s: &Doc, i: usize) -> bool {
    s.ssis_attr(i, "Salt").is_some() && s.ssis_attr(i, "IV").is_some()
}

fn algorithm_of(s: &Doc, i: usize, iv_len: usize) -> Result<Algorithm, ProjectError> {
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

fn open_value(
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
fn inner_of(plain: &[u8]) -> Result<Vec<u8>, ProjectError> {
    let s = scan::scan(plain).map_err(|_| ProjectError::WrongPassword)?;
    let r = &s.elems[s.root().ok_or(ProjectError::WrongPassword)?];
    Ok(r.content(plain).to_vec())
}

/// Attributes that only serve the encryption: SSIS `Salt`, `IV`, `Algorithm`, and an
/// auto-generated `xmlns:pN` that nothing else on or under the element uses.
fn crypto_attrs(s: &Doc, i: usize) -> Vec<usize> {
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
        a.local() == "Sensitive" && a.value == "1" && (a.prefix().is_none() || s.attr_is_ssis(i, a))
    })
}

fn is_verifier(s: &Doc, i: usize) -> bool {
    s.elems[i].local() == "Property"
        && s.ssis_attr(i, "Name")
            .is_some_and(|a| a.value == "PasswordVerifier")
}

fn find_sensitive(s: &Doc, doc: &[u8]) -> Result<Vec<Sensitive>, ProjectError> {
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
                .any(|a| a.local() == "Encrypted" && a.value == "1")
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
fn normalise(content: &[u8]) -> Vec<u8> {
    if content.iter().all(xml::is_xml_whitespace) {
        Vec::new()
    } else {
        content.to_vec()
    }
}

fn label(s: &Doc, i: usize) -> String {
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

fn level_attr(s: &Doc) -> Option<(usize, &Attr)> {
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

fn level_of(s: &Doc, nodes: &[Sensitive]) -> ProtectionLevel {
    if let Some(l) = level_attr(s).and_then(|(_, a)| ProtectionLevel::from_name(&a.value)) {
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

fn style_for(doc: &[u8], s: &Doc, kind: Kind) -> Style {
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
fn expand(
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

/// The element's start tag without the attributes at `remove` (indexes).
fn strip_tag(doc: &[u8], s: &Doc, i: usize, remove: &[usize]) -> Vec<u8> {
    let e = &s.elems[i];
    let edits: Vec<(usize, usize, Vec<u8>)> = remove
        .iter()
        .map(|&k| (e.attrs[k].ws_start, e.attrs[k].end, Vec::new()))
        .collect();
    apply(&doc[e.start..e.tag_end], e.start, edits)
}

/// Applies (start, end, replacement) edits given in document offsets to `slice`
/// (which starts at `base`). Edits must not overlap; insertions sort before removals.
fn apply(slice: &[u8], base: usize, mut edits: Vec<(usize, usize, Vec<u8>)>) -> Vec<u8> {
    edits.sort_by_key(|(a, b, _)| (*a, *b));
    let mut out = Vec::with_capacity(slice.len() + edits.iter().map(|e| e.2.len()).sum::<usize>());
    let mut at = 0;
    for (start, end, rep) in edits {
        let (start, end) = (start - base, end - base);
        debug_assert!(start >= at, "edits overlap");
        out.extend_from_slice(&slice[at..start]);
        out.extend_from_slice(&rep);
        at = end;
    }
    out.extend_from_slice(&slice[at..]);
    out
}

fn quote_value(v: &str) -> String {
    v.replace('"', "&quot;")
}

fn format_tag(
    raw: &[u8],
    depth: usize,
    style: &Style,
    base: &str,
    self_closing: bool,
) -> Result<Vec<u8>, String> {
    let (name, _, attrs) = parse_tag(raw, 0)?;
    let mut out = format!("<{name}");
    for a in &attrs {
        if style.attrs_on_new_lines && a.declares().is_none() {
            out.push_str(style.newline);
            out.push_str(base);
            for _ in 0..=depth {
                out.push_str(style.unit);
            }
        } else {
            out.push(' ');
        }
        out.push_str(&format!("{}=\"{}\"", a.name, quote_value(&a.value)));
    }
    out.push_str(if self_closing { " />" } else { ">" });
    Ok(out.into_bytes())
}

/// Indents compact XML content (the children of an EncryptAll root) as SSIS does.
fn pretty(content: &[u8], style: &Style, base: &str) -> Result<Vec<u8>, String> {
    let indent = |out: &mut Vec<u8>, depth: usize| {
        out.extend_from_slice(style.newline.as_bytes());
        out.extend_from_slice(base.as_bytes());
        for _ in 0..depth {
            out.extend_from_slice(style.unit.as_bytes());
        }
    };
    let mut reader = quick_xml::Reader::from_reader(content);
    reader.config_mut().trim_text(false);
    let mut out = Vec::with_capacity(content.len() * 2);
    // (name, has element children, has text)
    let mut frames: Vec<(Vec<u8>, bool, bool)> = vec![(Vec::new(), false, false)];
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| e.to_string())?;
        let after = reader.buffer_position() as usize;
        let raw = &content[before..after];
        let depth = frames.len();
        match ev {
            Event::Eof => break,
            Event::Start(e) => {
                frames.last_mut().expect("root frame").1 = true;
                indent(&mut out, depth);
                out.extend(format_tag(raw, depth, style, base, false)?);
                frames.push((e.name().as_ref().to_vec(), false, false));
            }
            Event::Empty(_) => {
                frames.last_mut().expect("root frame").1 = true;
                indent(&mut out, depth);
                out.extend(format_tag(raw, depth, style, base, true)?);
            }
            Event::Text(_) => {
                if !raw.is_empty() {
                    frames.last_mut().expect("root frame").2 = true;
                    out.extend_from_slice(raw);
                }
            }
            Event::End(_) => {
                let (name, elems, text) = frames.pop().ok_or("unbalanced")?;
                let depth = frames.len();
                if !text && (elems || style.empty_as_newline) {
                    indent(&mut out, depth);
                }
                out.extend_from_slice(b"</");
                out.extend_from_slice(&name);
                out.push(b'>');
            }
            _ => {
                frames.last_mut().expect("root frame").1 = true;
                indent(&mut out, depth);
                out.extend_from_slice(raw);
            }
        }
    }
    let (_, elems, text) = &frames[0];
    if *elems && !*text {
        indent(&mut out, 0);
    }
    Ok(out)
}

/// The compact XML SSIS encrypts for EncryptAll: attributes single-spaced, whitespace-only
/// text dropped, the root's `ProtectionLevel` left on the outer element.
fn compact(doc: &[u8], s: &Doc, c: usize) -> Result<Vec<u8>, ProjectError> {
    let e = &s.elems[c];
    let mut out = Vec::with_capacity(e.end - e.start);
    out.extend_from_slice(format!("<{}", e.name).as_bytes());
    for a in &e.attrs {
        if s.attr_is_ssis(c, a)
            && matches!(a.local(), "ProtectionLevel" | "Salt" | "IV" | "Algorithm")
        {
            continue;
        }
        out.extend_from_slice(format!(" {}=\"{}\"", a.name, a.value).as_bytes());
    }
    if e.self_closing {
        out.extend_from_slice(b" />");
        return Ok(out);
    }
    out.push(b'>');
    let content = e.content(doc);
    let mut reader = quick_xml::Reader::from_reader(content);
    reader.config_mut().trim_text(false);
    // xml:space="preserve" keeps whitespace-only text (e.g. a row delimiter value).
    let space = |attrs: &[Attr], inherited: bool| {
        attrs
            .iter()
            .find(|a| a.name == "xml:space")
            .map_or(inherited, |a| a.value == "preserve")
    };
    let mut preserve = vec![space(&e.attrs, false)];
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader
            .read_event()
            .map_err(|x| ProjectError::Malformed(x.to_string()))?;
        let after = reader.buffer_position() as usize;
        let raw = &content[before..after];
        match ev {
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) => {
                let self_closing = matches!(ev, Event::Empty(_));
                let (name, _, attrs) = parse_tag(raw, 0).map_err(malformed)?;
                if !self_closing {
                    let inherited = *preserve.last().expect("root");
                    preserve.push(space(&attrs, inherited));
                }
                out.extend_from_slice(format!("<{name}").as_bytes());
                for a in &attrs {
                    out.extend_from_slice(
                        format!(" {}=\"{}\"", a.name, quote_value(&a.value)).as_bytes(),
                    );
                }
                out.extend_from_slice(if self_closing { b" />" } else { b">" });
            }
            Event::Text(_) => {
                if *preserve.last().expect("root") || !raw.iter().all(xml::is_xml_whitespace) {
                    out.extend_from_slice(raw);
                }
            }
            Event::End(x) => {
                preserve.pop();
                out.extend_from_slice(b"</");
                out.extend_from_slice(x.name().as_ref());
                out.push(b'>');
            }
            _ => out.extend_from_slice(raw),
        }
    }
    out.extend_from_slice(format!("</{}>", e.name).as_bytes());
    Ok(out)
}

/// `<name attrs xmlns:P="...">` as SSIS encrypts a sensitive element: its own attributes
/// (less the encryption ones), then declarations for the prefixes it uses.
fn canonical_start(s: &Doc, i: usize) -> String {
    let e = &s.elems[i];
    let strip = crypto_attrs(s, i);
    let mut out = format!("<{}", e.name);
    let kept: Vec<&Attr> = e
        .attrs
        .iter()
        .enumerate()
        .filter(|(k, _)| !strip.contains(k))
        .map(|(_, a)| a)
        .collect();
    for a in &kept {
        out.push_str(&format!(" {}=\"{}\"", a.name, a.value));
    }
    let declared: Vec<&str> = kept.iter().filter_map(|a| a.declares()).collect();
    let mut prefixes: Vec<&str> = vec![e.prefix()];
    for a in &kept {
        if a.declares().is_none() {
            if let Some(p) = a.prefix() {
                if !prefixes.contains(&p) {
                    prefixes.push(p);
                }
            }
        }
    }
    for p in prefixes {
        if p == "xml" || declared.contains(&p) {
            continue;
        }
        if let Some(uri) = s.resolve(i, p).filter(|u| !u.is_empty()) {
            if p.is_empty() {
                out.push_str(&format!(" xmlns=\"{uri}\""));
            } else {
                out.push_str(&format!(" xmlns:{p}=\"{uri}\""));
            }
        }
    }
    out.push('>');
    out
}

fn plaintext(s: &Doc, i: usize, inner: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let e = &s.elems[i];
    let mut p = zeroize::Zeroizing::new(Vec::with_capacity(inner.len() + 200));
    p.extend_from_slice(BOM);
    p.extend_from_slice(canonical_start(s, i).as_bytes());
    p.extend_from_slice(inner);
    p.extend_from_slice(format!("</{}>", e.name).as_bytes());
    p
}

/// The start tag with fresh `Salt`/`IV` attributes, where SSIS puts them.
fn crypto_start_tag(
    doc: &[u8],
    s: &Doc,
    i: usize,
    style: &Style,
    salt: &[u8],
    iv: &[u8],
) -> Vec<u8> {
    let e = &s.elems[i];
    let strip = crypto_attrs(s, i);
    let kept: Vec<(usize, &Attr)> = e
        .attrs
        .iter()
        .enumerate()
        .filter(|(k, _)| !strip.contains(k))
        .collect();
    // The SSIS prefix in scope (not counting the declarations being removed).
    let own = kept
        .iter()
        .find(|(_, a)| a.value == SSIS_NS && a.declares().is_some_and(|p| !p.is_empty()))
        .and_then(|(_, a)| a.declares().map(str::to_string));
    let inherited = e.parent.and_then(|p| s.prefix_for(p, SSIS_NS));
    let (prefix, declare) = match own.or(inherited) {
        Some(p) => (p, false),
        None => {
            let mut n = e.depth + 1;
            loop {
                let cand = format!("p{n}");
                let taken = kept
                    .iter()
                    .any(|(_, a)| a.declares() == Some(cand.as_str()))
                    || e.parent.and_then(|p| s.resolve(p, &cand)).is_some();
                if !taken {
                    break (cand, true);
                }
                n += 1;
            }
        }
    };
    let last_plain = kept.iter().rev().find(|(_, a)| a.declares().is_none());
    let sep = match last_plain {
        Some((_, a)) if a.ws(doc).contains(&b'\n') => {
            String::from_utf8_lossy(a.ws(doc)).into_owned()
        }
        _ if style.attrs_on_new_lines => {
            format!("{}{}{}", style.newline, indent_at(doc, e.start), style.unit)
        }
        _ => " ".to_string(),
    };
    let attrs = format!(
        "{sep}{prefix}:Salt=\"{}\"{sep}{prefix}:IV=\"{}\"",
        B64.encode(salt),
        B64.encode(iv)
    );
    let level_attr = kept
        .iter()
        .find(|(_, a)| a.local() == "ProtectionLevel" && s.attr_is_ssis(i, a));
    let at = match (e.local(), level_attr) {
        ("Project", Some((_, a))) => a.ws_start,
        _ => last_plain.map_or(e.name_end, |(_, a)| a.end),
    };
    let mut edits: Vec<(usize, usize, Vec<u8>)> = strip
        .iter()
        .map(|&k| (e.attrs[k].ws_start, e.attrs[k].end, Vec::new()))
        .collect();
    let decl_at = kept.last().map_or(e.name_end, |(_, a)| a.end);
    if declare && decl_at == at {
        edits.push((
            at,
            at,
            format!("{attrs} xmlns:{prefix}=\"{SSIS_NS}\"").into_bytes(),
        ));
    } else {
        edits.push((at, at, attrs.into_bytes()));
        if declare {
            edits.push((
                decl_at,
                decl_at,
                format!(" xmlns:{prefix}=\"{SSIS_NS}\"").into_bytes(),
            ));
        }
    }
    apply(&doc[e.start..e.tag_end], e.start, edits)
}

fn seal(alg: Algorithm, password: &str, plain: &[u8]) -> crypto::Sealed {
    crypto::seal(alg, password, plain, Padding::Pkcs7)
}

/// The span of an element with the whitespace before it (to remove it with its line).
fn with_leading_ws(doc: &[u8], start: usize, end: usize) -> (usize, usize) {
    let mut ws = start;
    while ws > 0 && xml::is_xml_whitespace(&doc[ws - 1]) {
        ws -= 1;
    }
    (ws, end)
}

/// Re-protects one project file.
///
/// `decrypt`: the current password (needed when anything is password-encrypted).
/// `level`: 0, 2 or 3; `password`: the new password for 2 and 3.
pub fn reprotect(
    input: &[u8],
    kind: Kind,
    decrypt_password: Option<&str>,
    level: ProtectionLevel,
    password: Option<&str>,
) -> Result<Reprotected, ProjectError> {
    let alg = Algorithm::TripleDes;
    if !matches!(
        level,
        ProtectionLevel::DontSaveSensitive
            | ProtectionLevel::EncryptSensitiveWithPassword
            | ProtectionLevel::EncryptAllWithPassword
    ) {
        return Err(ProjectError::Unsupported(format!(
            "project files can be written at levels 0, 2 and 3 here, not {level}"
        )));
    }
    let new_pw = || {
        password.ok_or_else(|| {
            ProjectError::Unsupported(format!("protection level {level} needs a password"))
        })
    };
    if level.needs_password() {
        new_pw()?;
    }
    let (doc, was_all) = expand(input, kind, decrypt_password)?;
    let s = scan::scan(&doc).map_err(malformed)?;
    let style = style_for(&doc, &s, kind);
    let nodes = find_sensitive(&s, &doc)?;
    let level_before = if was_all {
        ProtectionLevel::EncryptAllWithPassword
    } else {
        level_of(&s, &nodes)
    };

    // Open every value first: a wrong password fails before anything is built.
    let mut clear: Vec<Option<zeroize::Zeroizing<Vec<u8>>>> = Vec::with_capacity(nodes.len());
    let mut lost = Vec::new();
    for n in &nodes {
        clear.push(match &n.node {
            Node::Encrypted { salt, iv, ciphertext } => {
                let pw = decrypt_password.ok_or(ProjectError::NeedsPassword)?;
                let alg = algorithm_of(&s, n.elem, iv.len())?;
                let plain = open_value(alg, pw, salt, iv, ciphertext)?;
                let inner = inner_of(&plain)?;
                if n.verifier && inner != VERIFIER_TEXT {
                    return Err(ProjectError::WrongPassword);
                }
                Some(zeroize::Zeroizing::new(normalise(&inner)))
            }
            Node::Clear => Some(zeroize::Zeroizing::new(normalise(s.elems[n.elem].content(&doc)))),
            Node::UserKey if n.verifier || level == ProtectionLevel::DontSaveSensitive => {
                if !n.verifier {
                    lost.push(label(&s, n.elem));
                }
                None
            }
            Node::UserKey => {
                return Err(ProjectError::UserKey(format!(
                    "`{}` is protected with the Windows user key (DPAPI, level 1): only the Windows user who saved it can open it; write level 0 (its values are dropped) or re-save the project with a password on that machine",
                    label(&s, n.elem)
                )))
            }
        });
    }

    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    // Level markers: the manifest's name and each package entry's number.
    if let Some((_, a)) = level_attr(&s) {
        edits.push((a.value_start, a.value_end, level.name().as_bytes().to_vec()));
    }
    for (i, e) in s.elems.iter().enumerate() {
        if e.local() == "Property"
            && s.ssis_attr(i, "Name")
                .is_some_and(|a| a.value == "ProtectionLevel")
            && e.parent
                .and_then(|p| s.elems[p].parent)
                .is_some_and(|g| s.elems[g].local() == "PackageMetaData")
            && !e.self_closing
        {
            edits.push((
                e.tag_end,
                e.content_end,
                level.number().to_string().into_bytes(),
            ));
        }
    }
    let blank = |i: usize| -> Vec<u8> {
        if style.empty_as_newline {
            format!("{}{}", style.newline, indent_at(&doc, s.elems[i].start)).into_bytes()
        } else {
            Vec::new()
        }
    };
    let mut has_verifier = false;
    for (n, value) in nodes.iter().zip(&clear) {
        let e = &s.elems[n.elem];
        has_verifier |= n.verifier;
        let strip_crypto = || strip_tag(&doc, &s, n.elem, &crypto_attrs(&s, n.elem));
        match level {
            ProtectionLevel::EncryptSensitiveWithPassword => {
                let inner: &[u8] = if n.verifier {
                    VERIFIER_TEXT
                } else {
                    value.as_deref().map_or(&[][..], |v| &v[..])
                };
                let sealed = seal(alg, new_pw()?, &plaintext(&s, n.elem, inner));
                let mut rep = crypto_start_tag(&doc, &s, n.elem, &style, &sealed.salt, &sealed.iv);
                rep.extend_from_slice(B64.encode(sealed.ciphertext()).as_bytes());
                edits.push((e.start, e.content_end, rep));
            }
            _ if n.verifier => {
                let (a, b) = with_leading_ws(&doc, e.start, e.end);
                edits.push((a, b, Vec::new()));
            }
            ProtectionLevel::DontSaveSensitive => {
                let mut rep = strip_crypto();
                rep.extend(blank(n.elem));
                edits.push((e.start, e.content_end, rep));
            }
            _ => {
                // EncryptAll: values in the clear inside the sealed whole.
                let mut rep = strip_crypto();
                match value {
                    Some(v) if !v.is_empty() => rep.extend_from_slice(v),
                    _ => rep.extend(blank(n.elem)),
                }
                edits.push((e.start, e.content_end, rep));
            }
        }
    }
    if level == ProtectionLevel::EncryptSensitiveWithPassword && !has_verifier {
        if let Some(p) = manifest_project(&s) {
            edits.push(insert_verifier(&doc, &s, p, &style, new_pw()?)?);
        }
    }
    let values = nodes.iter().filter(|n| !n.verifier).count();
    let out = apply(&doc, 0, edits);
    let bytes = if level == ProtectionLevel::EncryptAllWithPassword {
        seal_all(&out, kind, alg, new_pw()?)?
    } else {
        out
    };
    // Never hand back a file that does not open again: the fuzzer found odd namespace
    // declarations (a foreign `xmlns:p1` beside `p1:` attributes) that made the sealed
    // result unreadable.
    open(&bytes, kind, password).map_err(|e| {
        ProjectError::Unsupported(format!(
            "the re-protected file would not open again ({e}); nothing written. Its namespace declarations are unusual: check the file's XML"
        ))
    })?;
    Ok(Reprotected {
        bytes,
        level_before,
        level_after: level,
        values,
        lost_values: lost,
    })
}

fn insert_verifier(
    doc: &[u8],
    s: &Doc,
    project: usize,
    style: &Style,
    password: &str,
) -> Result<(usize, usize, Vec<u8>), ProjectError> {
    let props = s
        .children(project)
        .find(|&c| s.elems[c].local() == "Properties" && s.elem_is_ssis(c))
        .ok_or_else(|| {
            ProjectError::Unsupported(
                "the project manifest has no SSIS:Properties to hold the PasswordVerifier".into(),
            )
        })?;
    let p = s.prefix_for(props, SSIS_NS).expect("SSIS element");
    let plain = format!(
        "<{p}:Property {p}:Name=\"PasswordVerifier\" {p}:Sensitive=\"1\" xmlns:{p}=\"{SSIS_NS}\">SSIS</{p}:Property>"
    );
    let mut bytes = BOM.to_vec();
    bytes.extend_from_slice(plain.as_bytes());
    let sealed = seal(Algorithm::TripleDes, password, &bytes);
    let elem = format!(
        "<{p}:Property {p}:Name=\"PasswordVerifier\" {p}:Sensitive=\"1\" {p}:Salt=\"{}\" {p}:IV=\"{}\">{}</{p}:Property>",
        B64.encode(&sealed.salt),
        B64.encode(&sealed.iv),
        B64.encode(sealed.ciphertext())
    );
    let kids: Vec<usize> = s.children(props).collect();
    let format_version = kids.iter().copied().find(|&k| {
        s.ssis_attr(k, "Name")
            .is_some_and(|a| a.value == "FormatVersion")
    });
    if let Some(fv) = format_version {
        let at = s.elems[fv].start;
        let ind = indent_at(doc, at);
        return Ok((at, at, format!("{elem}{}{ind}", style.newline).into_bytes()));
    }
    let pe = &s.elems[props];
    let (at, ind) = match kids.last() {
        Some(&k) => (s.elems[k].end, indent_at(doc, s.elems[k].start)),
        None => (
            pe.tag_end,
            format!("{}{}", indent_at(doc, pe.start), style.unit),
        ),
    };
    Ok((at, at, format!("{}{ind}{elem}", style.newline).into_bytes()))
}

/// Seals the EncryptAll element of a document whose values are all in the clear.
fn seal_all(
    doc: &[u8],
    kind: Kind,
    alg: Algorithm,
    password: &str,
) -> Result<Vec<u8>, ProjectError> {
    let s = scan::scan(doc).map_err(malformed)?;
    let c = container(&s).ok_or_else(|| ProjectError::Malformed("no root element".into()))?;
    let mut plain = zeroize::Zeroizing::new(BOM.to_vec());
    plain.extend(compact(doc, &s, c)?);
    let sealed = seal(alg, password, &plain);
    let style = style_for(doc, &s, kind);
    let e = &s.elems[c];
    let mut out = Vec::with_capacity(doc.len());
    out.extend_from_slice(&doc[..e.start]);
    let mut tag = crypto_start_tag(doc, &s, c, &style, &sealed.salt, &sealed.iv);
    if e.self_closing {
        // `<X ... />` -> `<X ...>`
        let cut = tag.len() - 2;
        tag.truncate(cut);
        while tag.last().is_some_and(xml::is_xml_whitespace) {
            tag.pop();
        }
        tag.push(b'>');
    }
    out.extend_from_slice(&tag);
    out.extend_from_slice(B64.encode(sealed.ciphertext()).as_bytes());
    out.extend_from_slice(format!("</{}>", e.name).as_bytes());
    out.extend_from_slice(&doc[e.end..]);
    Ok(out)
}
