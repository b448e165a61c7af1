//! One pass over a DTSX document that finds every span re-protection may change:
//! the protection level marker, the package ID, sensitive elements, EncryptedData
//! nodes and DPAPI blobs. Everything else is left as bytes we never touch.

use super::encrypted::{encrypted_node, EncryptedNode, EncryptedParts};
use super::tokens::{StartTag, Token, Tokens};
use super::xml::{self, check_references, Span, MAX_DEPTH};
use super::PackageError;
use quick_xml::events::{BytesDecl, BytesStart};

pub const DTS_NS: &str = "www.microsoft.com/SqlServer/Dts";
pub const XMLENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const DPAPI_PREFIX: &str = "AQAAANCMnd8BFdERjHoAwE/Cl+sB";

/// An element's place in the document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Element {
    /// From `<` of the start tag to after the end tag's `>`.
    pub outer: Span,
    /// Between the start tag and the end tag (empty for `<x/>`).
    pub content: Span,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A sensitive value stored in the clear (levels 0, 5, and inside level 3).
    Clear,
    /// `<EncryptedData>` standing where the sensitive element was.
    Encrypted(EncryptedNode),
    /// A Windows DPAPI blob (`Encrypted="1"`); the span is that attribute, to drop.
    UserKey { encrypted_attribute: Span },
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub element: Element,
    /// Where it sits, for messages: `Package\Connection\Password`. Never a value.
    pub label: String,
    /// A sensitive parameter value written without SSIS's `ParameterValue` stub
    /// around it: encrypting it must add the stub.
    pub needs_stub: bool,
    /// A child of the root, or inside one of the root's `DTS:Property` children: where
    /// a package records its metadata, so re-protecting it may change what the package
    /// says about itself (real packages keep their sensitive values deeper).
    pub near_root: bool,
}

/// Where the protection level is recorded.
#[derive(Debug, Clone, Copy)]
pub enum LevelMarker {
    /// Formats 6 and 8: `DTS:ProtectionLevel="N"` on the root (value span).
    Attribute(Span),
    /// Formats 2 and 3: `<DTS:Property DTS:Name="ProtectionLevel">N</DTS:Property>`.
    Property(Span),
    /// Left out (level 1, the default): insert `text_before` + attribute at `at`.
    Absent { at: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKind {
    /// `DTS:Executable` (packages, package parts) or `DTS:ConnectionManager`.
    Dts(String),
    /// Level 3: the whole package is one EncryptedData.
    EncryptedAll,
    Other(String),
}

/// Everything the scan found.
#[derive(Debug, Clone)]
pub struct Scan {
    pub root_kind: RootKind,
    pub root: Element,
    /// The EncryptedData of a level 3 package.
    pub root_encrypted: Option<EncryptedNode>,
    /// Level 4: the root carries a DPAPI blob as its text.
    pub root_user_key: bool,
    pub level_marker: Option<LevelMarker>,
    /// Separator to put before an inserted level attribute.
    pub attribute_separator: String,
    pub format: Option<u32>,
    /// Root metadata: name → raw (escaped) value span. From root attributes
    /// (formats 6, 8) or the root's `DTS:Property` children (formats 2, 3).
    pub metadata: Vec<(String, Span)>,
    pub nodes: Vec<Node>,
}

impl Scan {
    pub fn metadata(&self, doc: &[u8], name: &str) -> Option<String> {
        self.metadata_span(name)
            .map(|s| xml::unescape(s.slice(doc)).trim().to_string())
    }

    pub fn metadata_span(&self, name: &str) -> Option<Span> {
        self.metadata
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| *s)
    }
}

/// Root metadata worth reporting or carrying to msdb.
const METADATA: &[&str] = &[
    "DTSID",
    "ExecutableType",
    "ObjectName",
    "Description",
    "VersionMajor",
    "VersionMinor",
    "VersionBuild",
    "VersionGUID",
    "VersionComments",
    "PackageType",
    "LastModifiedProductVersion",
    "CreationDate",
    "CreatorName",
    "CreatorComputerName",
];

#[derive(Default)]
struct Frame {
    start: usize,
    content_start: usize,
    /// The element's name, where it lies in the document.
    qname: Span,
    /// `DTS:Name` of a `DTS:Property`.
    property_name: Option<String>,
    object_name: Option<String>,
    sensitive_parameter: bool,
    parameter_value_stub: bool,
    /// This element is a node we record at its end.
    pending: Option<Pending>,
    /// Inside a recorded node: ignore nested structure.
    opaque: bool,
    /// Boxed: frames are moved for every element, and few are EncryptedData.
    encrypted: Option<Box<EncryptedParts>>,
    in_cipher_value: bool,
    user_key_attribute: Option<Span>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    Clear {
        needs_stub: bool,
    },
    Encrypted,
    UserKey,
    /// A sensitive parameter's `ParameterValue`: a stub or the value itself,
    /// decided by whether a nested `ParameterValue` appears.
    ParameterValue,
}

pub(super) fn err_at(doc: &[u8], offset: usize, message: impl Into<String>) -> PackageError {
    let (line, column) = xml::line_col(doc, offset);
    PackageError::Malformed {
        line,
        column,
        message: message.into(),
    }
}

fn offset_in(doc: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - doc.as_ptr() as usize
}

/// Scans a whole document (a package file, or the plaintext of a level 3 package).
pub fn scan(doc: &[u8]) -> Result<Scan, PackageError> {
    let body_start = if doc.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    if doc.starts_with(b"\xFF\xFE") || doc.starts_with(b"\xFE\xFF") {
        return Err(PackageError::Unsupported(
            "a UTF-16 byte order mark where UTF-8 text was expected".into(),
        ));
    }
    xml::check_text(doc, body_start).map_err(|(at, message)| err_at(doc, at, message))?;

    let mut tokens = Tokens::new(doc, body_start);
    let mut stack: Vec<Frame> = Vec::with_capacity(64);
    let mut scan = Scan {
        root_kind: RootKind::Other(String::new()),
        root: Element::default(),
        root_encrypted: None,
        root_user_key: false,
        level_marker: None,
        attribute_separator: " ".into(),
        format: None,
        metadata: Vec::new(),
        nodes: Vec::new(),
    };
    let mut seen_root = false;
    let mut root_done = false;

    loop {
        let token = tokens
            .next_token()
            .map_err(|e| err_at(doc, e.at, e.error.to_string()))?;
        match token {
            Token::Eof => break,
            Token::DocType(outer) => {
                return Err(err_at(
                    doc,
                    outer.start,
                    "a DTD (<!DOCTYPE>) is not allowed in a package",
                ))
            }
            Token::Decl { content, .. } => {
                // A UTF-16 package reaches the scan decoded (`text::decode` checked that
                // its bytes are what the declaration says). Read by quick-xml: once
                // per document.
                let content =
                    std::str::from_utf8(content.slice(doc)).expect("checked UTF-8, cut at ASCII");
                let d = BytesDecl::from_start(BytesStart::from_content(content, 3));
                if let Some(Ok(enc)) = d.encoding() {
                    if !enc.eq_ignore_ascii_case(b"utf-8") && !super::text::names_utf16_bytes(&enc)
                    {
                        return Err(PackageError::Unsupported(format!(
                            "the XML declaration says encoding=\"{}\"; only UTF-8 and UTF-16 packages are supported",
                            String::from_utf8_lossy(&enc)
                        )));
                    }
                }
            }
            Token::Pi(_) | Token::Comment(_) => {}
            Token::CData(outer) => {
                if stack.is_empty() {
                    return Err(err_at(doc, outer.start, "CDATA outside the root element"));
                }
            }
            Token::Text { span, has_amp } => {
                let raw = span.slice(doc);
                if stack.is_empty() {
                    if raw.iter().any(|b| !xml::is_xml_whitespace(b)) {
                        return Err(err_at(doc, span.start, "text outside the root element"));
                    }
                    continue;
                }
                if has_amp {
                    check_references(raw).map_err(|m| err_at(doc, span.start, m))?;
                }
                if stack.last().is_some_and(|f| f.in_cipher_value) {
                    if let Some(parts) = stack.iter_mut().rev().find_map(|f| f.encrypted.as_mut()) {
                        parts.cipher_value.push(span);
                    }
                }
            }
            Token::Start(tag) if root_done => {
                return Err(err_at(doc, tag.outer.start, "a second root element"));
            }
            Token::Start(tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(PackageError::TooDeep(MAX_DEPTH));
                }
                let frame = open_element(doc, &tokens, &tag, &stack, &mut scan)?;
                seen_root = true;
                stack.push(frame);
                if tag.empty {
                    let after = tag.outer.end;
                    close_element(doc, after, after, &mut stack, &mut scan, true)?;
                    root_done = stack.is_empty();
                }
            }
            Token::End(outer) => {
                close_element(doc, outer.end, outer.start, &mut stack, &mut scan, false)?;
                root_done = stack.is_empty();
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(err_at(
            doc,
            doc.len(),
            format!(
                "the file ends before </{}> (truncated?)",
                String::from_utf8_lossy(open.qname.slice(doc))
            ),
        ));
    }
    if !seen_root {
        return Err(err_at(doc, doc.len(), "no root element (empty or not XML)"));
    }
    Ok(scan)
}

/// Attribute values (spans) the scan looks at.
#[derive(Default)]
struct Interesting {
    xmlns: Option<Span>,
    salt: Option<Span>,
    iv: Option<Span>,
    dts_name: Option<Span>,
    object_name: Option<Span>,
    dts_sensitive: Option<Span>,
    sensitive: Option<Span>,
    encrypted: Option<Span>,
}

/// Local name of a possibly prefixed name.
fn local(name: &[u8]) -> &[u8] {
    name.iter()
        .rposition(|&b| b == b':')
        .map_or(name, |i| &name[i + 1..])
}

fn open_element(
    doc: &[u8],
    tokens: &Tokens<'_>,
    tag: &StartTag,
    stack: &[Frame],
    scan: &mut Scan,
) -> Result<Frame, PackageError> {
    // One pass over the attributes: full checks (duplicates, quoting, references) on
    // every tag, and the few values the scan cares about. quick-xml's own duplicate
    // check compares each attribute with every earlier one, quadratic in a hostile
    // tag's 100,000 attributes; a hash set is linear but costs an allocation and a
    // hash per attribute on every tag. So the first few names are compared in place
    // (real tags carry under a dozen) and a set takes over past that.
    let before = tag.outer.start;
    let check_values = tag.may_have_references();
    let mut attrs = Interesting::default();
    let mut seen = xml::SeenNames::default();
    for a in tokens.attributes(tag) {
        let (key, v) = a.map_err(|err| err_at(doc, before, format!("bad attribute: {err}")))?;
        if !seen.insert(key) {
            return Err(err_at(
                doc,
                before,
                format!(
                    "bad attribute: duplicated attribute `{}` (given twice in one tag)",
                    String::from_utf8_lossy(key)
                ),
            ));
        }
        if check_values {
            check_references(v).map_err(|m| err_at(doc, before, m))?;
        }
        if key.starts_with(b"xmlns") {
            super::level::check_dts_binding(key, v).map_err(|m| err_at(doc, before, m))?;
        }
        let slot = match key {
            b"xmlns" => &mut attrs.xmlns,
            b"Salt" => &mut attrs.salt,
            b"IV" => &mut attrs.iv,
            b"DTS:Name" => &mut attrs.dts_name,
            b"DTS:ObjectName" => &mut attrs.object_name,
            b"DTS:Sensitive" => &mut attrs.dts_sensitive,
            b"Sensitive" => &mut attrs.sensitive,
            b"Encrypted" => &mut attrs.encrypted,
            _ => continue,
        };
        let start = offset_in(doc, v);
        *slot = Some(Span::new(start, start + v.len()));
    }
    let value = |span: Option<Span>| span.map(|s| s.slice(doc));
    // The marks the rewrite keys on, as an XML reader (and so SSIS) reads them:
    // `Sensitive="&#49;"` is `1`, and read raw it would leave that value in the clear.
    let read = |span: Option<Span>| span.map(|s| decoded(s.slice(doc)));
    let qname = Span::new(tag.content.start, tag.content.start + tag.name_len);
    let mut frame = Frame {
        start: before,
        content_start: tag.outer.end,
        qname,
        ..Frame::default()
    };
    let parent = stack.last();
    let depth = stack.len();

    if parent.is_some_and(|p| p.opaque) {
        frame.opaque = true;
        if local(frame.qname.slice(doc)) == b"CipherValue"
            && stack.iter().any(|f| f.encrypted.is_some())
        {
            frame.in_cipher_value = true;
        }
        return Ok(frame);
    }

    let name = frame.qname.slice(doc);
    let local_name = local(name);
    let is_encrypted_data = local_name == b"EncryptedData"
        && read(attrs.xmlns).as_deref() == Some(XMLENC_NS.as_bytes());

    if depth == 0 {
        scan.root_kind = if is_encrypted_data {
            RootKind::EncryptedAll
        } else if name == b"DTS:Executable" || name == b"DTS:ConnectionManager" {
            RootKind::Dts(String::from_utf8_lossy(name).into_owned())
        } else {
            RootKind::Other(String::from_utf8_lossy(name).into_owned())
        };
        // quick-xml reads the root's attributes: once per document.
        let content =
            std::str::from_utf8(tag.content.slice(doc)).expect("checked UTF-8, cut at ASCII");
        root_attributes(doc, &BytesStart::from_content(content, tag.name_len), scan)?;
    }

    if is_encrypted_data {
        frame.opaque = true;
        frame.pending = Some(Pending::Encrypted);
        frame.encrypted = Some(Box::new(EncryptedParts {
            salt: value(attrs.salt).map(xml::unescape),
            iv: value(attrs.iv).map(xml::unescape),
            ..Default::default()
        }));
        return Ok(frame);
    }

    if name == b"DTS:Property" {
        frame.property_name = value(attrs.dts_name).map(xml::unescape);
    }
    frame.object_name = value(attrs.object_name).map(xml::unescape);
    let mark = |attr: &str, span: Option<Span>, words: bool| match read(span) {
        None => Ok(false),
        Some(v) => sensitive_mark(&v, words).ok_or_else(|| unclear_mark(doc, before, attr, &v)),
    };
    if name == b"DTS:PackageParameter" {
        frame.sensitive_parameter = mark("DTS:Sensitive", attrs.dts_sensitive, true)?;
    }

    let sensitive = mark("Sensitive", attrs.sensitive, false)?;
    if depth == 0 && name == b"DTS:Executable" && sensitive {
        // Blanking or encrypting it would replace the whole package.
        return Err(err_at(
            doc,
            before,
            "the root element is marked Sensitive=\"1\"; a package's root cannot be a sensitive value",
        ));
    }
    if sensitive {
        frame.opaque = true;
        match attrs.encrypted {
            Some(span) if *decoded(span.slice(doc)) == *b"1" => {
                frame.pending = Some(Pending::UserKey);
                frame.user_key_attribute = Some(attribute_extent(doc, span));
            }
            _ => frame.pending = Some(Pending::Clear { needs_stub: false }),
        }
        return Ok(frame);
    }

    if frame.property_name.as_deref() == Some("ParameterValue") {
        if let Some(p) = parent {
            if p.sensitive_parameter {
                // Either SSIS's stub (holding the value or its EncryptedData) or, in
                // files not written by SSIS, the value itself.
                frame.parameter_value_stub = true;
                frame.pending = Some(Pending::ParameterValue);
            } else if p.parameter_value_stub {
                frame.opaque = true;
                frame.pending = Some(Pending::Clear { needs_stub: false });
            }
        }
    }
    Ok(frame)
}

/// A Sensitive mark as SSIS writes it: `1` or `0`, and on a package parameter
/// (`words`) `True` or `False` in any case. `None` for any other value (blanks around
/// it, `-1`, `True` on an inner property), which SSIS's reader may take either way.
fn sensitive_mark(v: &[u8], words: bool) -> Option<bool> {
    match v {
        b"1" => Some(true),
        b"0" => Some(false),
        _ if v.eq_ignore_ascii_case(b"false") => Some(false),
        _ if words && v.eq_ignore_ascii_case(b"true") => Some(true),
        _ => None,
    }
}

/// A Sensitive mark dtutil cannot classify: its value would be neither left in the
/// clear nor encrypted on a guess, so the package is refused (review adversary4 F5).
fn unclear_mark(doc: &[u8], offset: usize, attr: &str, value: &[u8]) -> PackageError {
    let (line, column) = xml::line_col(doc, offset);
    let shown: String = String::from_utf8_lossy(value).chars().take(24).collect();
    let true_spelling = if attr == "Sensitive" { "1" } else { "True" };
    PackageError::Unsupported(format!(
        "line {line}, column {column}: the mark {attr}=\"{}\" is not one SSIS writes, so whether SSIS reads the value as sensitive cannot be told; nothing is written rather than leaving it in the clear or encrypting it on a guess. Write {attr}=\"{true_spelling}\" (sensitive) or remove the mark",
        shown.escape_debug()
    ))
}

/// An attribute value with its entity and character references replaced.
fn decoded(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if raw.contains(&b'&') {
        std::borrow::Cow::Owned(xml::unescape(raw).into_bytes())
    } else {
        std::borrow::Cow::Borrowed(raw)
    }
}

/// The span of ` name="value"` including the whitespace before it.
fn attribute_extent(doc: &[u8], value: Span) -> Span {
    // value.start - 1 is the opening quote; walk back over `name=` and whitespace.
    let mut start = value.start.saturating_sub(1);
    while start > 0 && doc[start - 1] != b' ' && !xml::is_xml_whitespace(&doc[start - 1]) {
        start -= 1;
    }
    while start > 0 && xml::is_xml_whitespace(&doc[start - 1]) {
        start -= 1;
    }
    Span::new(start, value.end + 1)
}

fn root_attributes(doc: &[u8], e: &BytesStart<'_>, scan: &mut Scan) -> Result<(), PackageError> {
    let mut level_attrs = 0;
    let mut last_attr_end = None;
    let mut package_type_end = None;
    for a in e.attributes().with_checks(false).flatten() {
        let key = a.key.as_ref();
        let std::borrow::Cow::Borrowed(v) = a.value else {
            continue;
        };
        let start = offset_in(doc, v);
        let span = Span::new(start, start + v.len());
        let extent = attribute_extent(doc, span);
        last_attr_end = Some(extent.end);
        if let Some(name) = key.strip_prefix(b"DTS:") {
            if name == b"ProtectionLevel" {
                level_attrs += 1;
                scan.level_marker = Some(LevelMarker::Attribute(span));
            }
            if name == b"PackageType" {
                package_type_end = Some(extent.end);
                // Copy the separator SSIS used before this attribute (newline + indent
                // in formats 6 and 8).
                let sep_end = extent.start
                    + doc[extent.start..]
                        .iter()
                        .take_while(|b| xml::is_xml_whitespace(b))
                        .count();
                scan.attribute_separator =
                    String::from_utf8_lossy(&doc[extent.start..sep_end]).into_owned();
            }
            if let Some(m) = METADATA.iter().find(|m| m.as_bytes() == name) {
                scan.metadata.push((m.to_string(), span));
            }
        }
        if key == b"Encrypted" && *decoded(v) == *b"1" {
            scan.root_user_key = true;
        }
    }
    if level_attrs > 1 {
        return Err(PackageError::Unsupported(
            "the root carries DTS:ProtectionLevel twice".into(),
        ));
    }
    if scan.level_marker.is_none() {
        if let Some(at) = package_type_end.or(last_attr_end) {
            scan.level_marker = Some(LevelMarker::Absent { at });
        }
    }
    Ok(())
}

fn close_element(
    doc: &[u8],
    end_tag_end: usize,
    content_end: usize,
    stack: &mut Vec<Frame>,
    scan: &mut Scan,
    self_closing: bool,
) -> Result<(), PackageError> {
    let frame = stack.pop().expect("balanced by quick-xml");
    let element = Element {
        outer: Span::new(frame.start, end_tag_end),
        content: if self_closing {
            Span::new(end_tag_end, end_tag_end)
        } else {
            Span::new(frame.content_start, content_end)
        },
    };
    let depth = stack.len();
    if depth == 0 {
        scan.root = element;
    }

    // The root's own DTS:Property children: format, level marker, metadata (formats 2, 3).
    if depth == 1 {
        if let Some(prop) = frame.property_name.as_deref() {
            let text = element.content;
            match prop {
                "PackageFormatVersion" => {
                    scan.format = std::str::from_utf8(text.slice(doc))
                        .ok()
                        .and_then(|s| s.trim().parse().ok());
                }
                "ProtectionLevel" => {
                    if matches!(scan.level_marker, Some(LevelMarker::Property(_))) {
                        return Err(err_at(
                            doc,
                            frame.start,
                            "the ProtectionLevel property appears twice",
                        ));
                    }
                    if matches!(scan.level_marker, Some(LevelMarker::Attribute(_))) {
                        return Err(err_at(
                            doc,
                            frame.start,
                            "the protection level is given twice: as the root's DTS:ProtectionLevel attribute and as a ProtectionLevel property",
                        ));
                    }
                    scan.level_marker = Some(LevelMarker::Property(text));
                }
                other => {
                    if let Some(m) = METADATA.iter().find(|m| **m == other) {
                        scan.metadata.push((m.to_string(), text));
                    }
                }
            }
        }
    }
    // Formats 2 and 3 name objects with a child property rather than an attribute.
    if frame.property_name.as_deref() == Some("ObjectName") {
        if let Some(parent) = stack.last_mut() {
            if parent.object_name.is_none() {
                parent.object_name = Some(xml::unescape(element.content.slice(doc)));
            }
        }
    }

    if let Some(parts) = frame.encrypted.as_ref() {
        // A level 3 package's document is built around its decrypted root, in the
        // buffer the CipherValue decodes into: room for what surrounds the root.
        let spare = if depth == 0 {
            element.outer.start + (doc.len() - element.outer.end)
        } else {
            0
        };
        let node = encrypted_node(doc, element.outer, parts, spare)?;
        if depth == 0 {
            scan.root_encrypted = Some(node);
        } else {
            record(
                doc,
                scan,
                stack,
                &frame,
                element,
                NodeKind::Encrypted(node),
                false,
            );
        }
        return Ok(());
    }
    if frame.in_cipher_value {
        return Ok(());
    }
    match frame.pending {
        Some(Pending::Clear { needs_stub }) => record(
            doc,
            scan,
            stack,
            &frame,
            element,
            NodeKind::Clear,
            needs_stub,
        ),
        Some(Pending::UserKey) => {
            let span = frame.user_key_attribute.expect("set with UserKey");
            record(
                doc,
                scan,
                stack,
                &frame,
                element,
                NodeKind::UserKey {
                    encrypted_attribute: span,
                },
                false,
            )
        }
        Some(Pending::ParameterValue) => {
            // A stub holds its value (or the value's EncryptedData) as a child, already
            // recorded. A value written without the stub is the sensitive element itself.
            let holds_node = scan
                .nodes
                .last()
                .is_some_and(|n| n.element.outer.start >= element.outer.start);
            if !holds_node {
                let content = element.content.slice(doc);
                if content.iter().any(|b| !xml::is_xml_whitespace(b)) {
                    record(doc, scan, stack, &frame, element, NodeKind::Clear, true)
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn record(
    doc: &[u8],
    scan: &mut Scan,
    stack: &[Frame],
    frame: &Frame,
    element: Element,
    kind: NodeKind,
    needs_stub: bool,
) {
    let ancestors: Vec<&str> = stack
        .iter()
        .filter_map(|f| f.object_name.as_deref())
        .collect();
    let mut label = xml::bounded_ancestry(&ancestors);
    let own = frame
        .property_name
        .clone()
        .unwrap_or_else(|| String::from_utf8_lossy(local(frame.qname.slice(doc))).into_owned());
    if matches!(kind, NodeKind::Encrypted(_)) {
        label.push("(encrypted value)".into());
    } else {
        label.push(own);
    }
    scan.nodes.push(Node {
        kind,
        element,
        label: label.join("\\"),
        needs_stub,
        near_root: stack.len() == 1 || stack.get(1).is_some_and(|f| f.property_name.is_some()),
    });
}
