//! Writing project XML the way SSIS lays it out: the start tags it encrypts (canonical
//! attributes and namespace declarations), the compact form of an EncryptAll element
//! and the indented form it is opened to, and span edits.

use super::file::{crypto_attrs, malformed, ProjectError, B64, BOM};
use super::scan::{indent_at, parse_tag, Attr, Doc, Style, SSIS_NS};
use crate::crypto::{self, Algorithm, Padding};
use crate::package::xml;
use base64::Engine;
use quick_xml::events::Event;

/// The element's start tag without the attributes at `remove` (indexes).
pub(super) fn strip_tag(doc: &[u8], s: &Doc, i: usize, remove: &[usize]) -> Vec<u8> {
    let e = &s.elems[i];
    let edits: Vec<(usize, usize, Vec<u8>)> = remove
        .iter()
        .map(|&k| (e.attrs[k].ws_start, e.attrs[k].end, Vec::new()))
        .collect();
    apply(&doc[e.start..e.tag_end], e.start, edits)
}

/// Applies (start, end, replacement) edits given in document offsets to `slice`
/// (which starts at `base`). Edits must not overlap; insertions sort before removals.
pub(super) fn apply(slice: &[u8], base: usize, mut edits: Vec<(usize, usize, Vec<u8>)>) -> Vec<u8> {
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
pub(super) fn pretty(content: &[u8], style: &Style, base: &str) -> Result<Vec<u8>, String> {
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
pub(super) fn compact(doc: &[u8], s: &Doc, c: usize) -> Result<Vec<u8>, ProjectError> {
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

pub(super) fn plaintext(s: &Doc, i: usize, inner: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let e = &s.elems[i];
    let mut p = zeroize::Zeroizing::new(Vec::with_capacity(inner.len() + 200));
    p.extend_from_slice(BOM);
    p.extend_from_slice(canonical_start(s, i).as_bytes());
    p.extend_from_slice(inner);
    p.extend_from_slice(format!("</{}>", e.name).as_bytes());
    p
}

/// The start tag with fresh `Salt`/`IV` attributes, where SSIS puts them.
pub(super) fn crypto_start_tag(
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

pub(super) fn seal(alg: Algorithm, password: &str, plain: &[u8]) -> crypto::Sealed {
    crypto::seal(alg, password, plain, Padding::Pkcs7)
}

/// The span of an element with the whitespace before it (to remove it with its line).
pub(super) fn with_leading_ws(doc: &[u8], start: usize, end: usize) -> (usize, usize) {
    let mut ws = start;
    while ws > 0 && xml::is_xml_whitespace(&doc[ws - 1]) {
        ws -= 1;
    }
    (ws, end)
}
