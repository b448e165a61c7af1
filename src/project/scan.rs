//! One pass over a project document: every element with its byte spans, attributes
//! and parent, so edits can replace exactly the bytes that must change.

use crate::package::xml;
use quick_xml::events::Event;

pub const SSIS_NS: &str = "www.microsoft.com/SqlServer/SSIS";

/// An attribute as written, with the whitespace before it.
#[derive(Debug, Clone)]
pub struct Attr {
    /// Start of the whitespace before the name.
    pub ws_start: usize,
    pub name_start: usize,
    pub name: String,
    /// The raw (escaped) value, without quotes.
    pub value: String,
    pub value_start: usize,
    pub value_end: usize,
    /// Just after the closing quote.
    pub end: usize,
}

impl Attr {
    /// The value as an XML reader (and so SSIS) reads it, references replaced:
    /// `Sensitive="&#49;"` is `1`.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        if self.value.contains('&') {
            std::borrow::Cow::Owned(xml::unescape(self.value.as_bytes()))
        } else {
            std::borrow::Cow::Borrowed(&self.value)
        }
    }
    pub fn prefix(&self) -> Option<&str> {
        self.name.split_once(':').map(|(p, _)| p)
    }
    pub fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }
    /// `Some(prefix)` for `xmlns:prefix`, `Some("")` for `xmlns`.
    pub fn declares(&self) -> Option<&str> {
        if self.name == "xmlns" {
            Some("")
        } else {
            self.name.strip_prefix("xmlns:")
        }
    }
    pub fn ws<'a>(&self, doc: &'a [u8]) -> &'a [u8] {
        &doc[self.ws_start..self.name_start]
    }
}

#[derive(Debug, Clone)]
pub struct Elem {
    pub name: String,
    pub depth: usize,
    pub parent: Option<usize>,
    /// `<`
    pub start: usize,
    /// Just after the qualified name in the start tag.
    pub name_end: usize,
    /// Just after the start tag's `>`.
    pub tag_end: usize,
    /// Start of the end tag (= `tag_end` when self-closing).
    pub content_end: usize,
    /// Just after the end tag.
    pub end: usize,
    pub self_closing: bool,
    pub attrs: Vec<Attr>,
    pub has_child_elements: bool,
}

impl Elem {
    pub fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }
    pub fn prefix(&self) -> &str {
        self.name.split_once(':').map_or("", |(p, _)| p)
    }
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
    pub fn content<'a>(&self, doc: &'a [u8]) -> &'a [u8] {
        &doc[self.tag_end..self.content_end]
    }
}

#[derive(Debug)]
pub struct Doc {
    pub elems: Vec<Elem>,
}

impl Doc {
    /// The namespace a prefix means at `elem` (`""` = the default namespace).
    pub fn resolve(&self, mut elem: usize, prefix: &str) -> Option<&str> {
        loop {
            let e = &self.elems[elem];
            if let Some(a) = e.attrs.iter().find(|a| a.declares() == Some(prefix)) {
                return Some(a.value.as_str());
            }
            elem = e.parent?;
        }
    }

    /// The prefix bound to `ns` at `elem`, nearest declaration first.
    pub fn prefix_for(&self, mut elem: usize, ns: &str) -> Option<String> {
        loop {
            let e = &self.elems[elem];
            for a in &e.attrs {
                if let Some(p) = a.declares() {
                    if a.value == ns && !p.is_empty() && self.resolve(elem, p) == Some(ns) {
                        return Some(p.to_string());
                    }
                }
            }
            elem = e.parent?;
        }
    }

    /// Whether attribute `a` of `elem` is in the SSIS namespace.
    pub fn attr_is_ssis(&self, elem: usize, a: &Attr) -> bool {
        match a.prefix() {
            Some("xmlns") | None => false,
            Some(p) => self.resolve(elem, p) == Some(SSIS_NS),
        }
    }

    pub fn ssis_attr<'a>(&'a self, elem: usize, local: &str) -> Option<&'a Attr> {
        self.elems[elem]
            .attrs
            .iter()
            .find(|a| a.local() == local && self.attr_is_ssis(elem, a))
    }

    pub fn elem_is_ssis(&self, elem: usize) -> bool {
        self.resolve(elem, self.elems[elem].prefix()) == Some(SSIS_NS)
    }

    pub fn children(&self, elem: usize) -> impl Iterator<Item = usize> + '_ {
        self.elems
            .iter()
            .enumerate()
            .skip(elem + 1)
            .take_while(move |(_, e)| e.depth > self.elems[elem].depth)
            .filter(move |(_, e)| e.parent == Some(elem))
            .map(|(i, _)| i)
    }

    pub fn root(&self) -> Option<usize> {
        self.elems.iter().position(|e| e.depth == 0)
    }
}

/// Splits a raw start tag (`<name a="v" ...>` or `.../>`), at `offset` in the document.
pub fn parse_tag(tag: &[u8], offset: usize) -> Result<(String, usize, Vec<Attr>), String> {
    let mut i = 1; // after '<'
    let name_start = i;
    while i < tag.len() && !xml::is_xml_whitespace(&tag[i]) && tag[i] != b'>' && tag[i] != b'/' {
        i += 1;
    }
    let name = String::from_utf8_lossy(&tag[name_start..i]).into_owned();
    let name_end = offset + i;
    let mut attrs = Vec::new();
    loop {
        let ws_start = i;
        while i < tag.len() && xml::is_xml_whitespace(&tag[i]) {
            i += 1;
        }
        if i >= tag.len() || tag[i] == b'>' || tag[i] == b'/' {
            break;
        }
        let n0 = i;
        while i < tag.len() && tag[i] != b'=' && !xml::is_xml_whitespace(&tag[i]) {
            i += 1;
        }
        let aname = String::from_utf8_lossy(&tag[n0..i]).into_owned();
        while i < tag.len() && (xml::is_xml_whitespace(&tag[i]) || tag[i] == b'=') {
            i += 1;
        }
        let quote = *tag.get(i).ok_or("attribute without a value")?;
        if quote != b'"' && quote != b'\'' {
            return Err(format!("attribute `{aname}` has an unquoted value"));
        }
        i += 1;
        let v0 = i;
        while i < tag.len() && tag[i] != quote {
            i += 1;
        }
        if i >= tag.len() {
            return Err(format!("attribute `{aname}` is not closed"));
        }
        let value = String::from_utf8_lossy(&tag[v0..i]).into_owned();
        i += 1;
        attrs.push(Attr {
            ws_start: offset + ws_start,
            name_start: offset + n0,
            name: aname,
            value,
            value_start: offset + v0,
            value_end: offset + i - 1,
            end: offset + i,
        });
    }
    Ok((name, name_end, attrs))
}

pub fn scan(doc: &[u8]) -> Result<Doc, String> {
    if doc.len() > xml::MAX_PACKAGE_BYTES {
        return Err(format!(
            "the file is {} bytes, over the {} byte limit",
            doc.len(),
            xml::MAX_PACKAGE_BYTES
        ));
    }
    // Found by fuzzing: a file with invalid UTF-8 (in an attribute value) was
    // re-protected at EncryptAll, and its own output then would not open.
    if let Err(e) = std::str::from_utf8(doc) {
        let (line, column) = xml::line_col(doc, e.valid_up_to());
        return Err(format!(
            "not valid UTF-8 at line {line}, column {column} (project files are UTF-8 XML)"
        ));
    }
    // quick-xml skips a BOM without counting it in its positions.
    let base = if doc.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut reader = quick_xml::Reader::from_reader(&doc[base..]);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut elems: Vec<Elem> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut roots = 0;
    loop {
        let before = base + reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            let (line, col) = xml::line_col(doc, base + reader.error_position() as usize);
            format!("not well-formed XML at line {line}, column {col}: {e}")
        })?;
        let after = base + reader.buffer_position() as usize;
        match event {
            Event::Eof => break,
            Event::DocType(_) => return Err("a DTD (<!DOCTYPE>) is not allowed".into()),
            Event::Start(_) | Event::Empty(_) => {
                if stack.len() >= xml::MAX_DEPTH {
                    return Err(format!(
                        "elements nest deeper than {} levels",
                        xml::MAX_DEPTH
                    ));
                }
                let raw = &doc[before..after];
                xml::check_references(raw).map_err(|m| {
                    let (line, col) = xml::line_col(doc, before);
                    format!("line {line}, column {col}: {m}")
                })?;
                let (name, name_end, attrs) = parse_tag(raw, before).map_err(|m| {
                    let (line, col) = xml::line_col(doc, before);
                    format!("not well-formed XML at line {line}, column {col}: {m}")
                })?;
                let self_closing = matches!(event, Event::Empty(_));
                if stack.is_empty() {
                    roots += 1;
                }
                if let Some(&p) = stack.last() {
                    elems[p].has_child_elements = true;
                }
                elems.push(Elem {
                    name,
                    depth: stack.len(),
                    parent: stack.last().copied(),
                    start: before,
                    name_end,
                    tag_end: after,
                    content_end: after,
                    end: after,
                    self_closing,
                    attrs,
                    has_child_elements: false,
                });
                if !self_closing {
                    stack.push(elems.len() - 1);
                }
            }
            Event::End(_) => {
                let i = stack.pop().ok_or("an end tag without a start tag")?;
                elems[i].content_end = before;
                elems[i].end = after;
            }
            Event::Text(t) => {
                xml::check_references(t.as_ref()).map_err(|m| {
                    let (line, col) = xml::line_col(doc, before);
                    format!("line {line}, column {col}: {m}")
                })?;
            }
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element (truncated?)".into());
    }
    if roots != 1 {
        return Err("not well-formed XML: no single root element".into());
    }
    Ok(Doc { elems })
}

/// How a document is laid out, to write new XML the way its producer did.
#[derive(Debug, Clone)]
pub struct Style {
    pub newline: &'static str,
    pub unit: &'static str,
    /// `.params` and `.conmgr`: every attribute on its own line.
    pub attrs_on_new_lines: bool,
    /// `.dtproj`: empty elements as `<X>` newline, indent, `</X>`.
    pub empty_as_newline: bool,
}

impl Style {
    pub fn detect(doc: &[u8], scan: &Doc) -> Self {
        let newline = if memchr::memmem::find(doc, b"\r\n").is_some() {
            "\r\n"
        } else {
            "\n"
        };
        let attrs_on_new_lines = scan.elems.iter().any(|e| {
            e.attrs
                .iter()
                .any(|a| a.declares().is_none() && a.ws(doc).contains(&b'\n'))
        });
        let (mut nl_empty, mut flat_empty) = (0, 0);
        for e in &scan.elems {
            if e.self_closing || e.has_child_elements {
                continue;
            }
            let c = e.content(doc);
            if c.is_empty() {
                flat_empty += 1;
            } else if c.iter().all(xml::is_xml_whitespace) && c.contains(&b'\n') {
                nl_empty += 1;
            }
        }
        Self {
            newline,
            unit: "  ",
            attrs_on_new_lines,
            empty_as_newline: nl_empty > flat_empty,
        }
    }
}

/// The spaces before `pos` back to the start of its line (empty if other text precedes).
pub fn indent_at(doc: &[u8], pos: usize) -> String {
    let line_start = memchr::memrchr(b'\n', &doc[..pos]).map_or(0, |i| i + 1);
    let lead = &doc[line_start..pos];
    if lead.iter().all(|b| *b == b' ' || *b == b'\t') {
        String::from_utf8_lossy(lead).into_owned()
    } else {
        String::new()
    }
}
