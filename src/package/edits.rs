//! A package's new bytes from its old ones and the spans re-protection replaces, and
//! the replacements made of a sensitive element's own bytes.

use super::scan::{self, Element};
use super::xml::{self, Span};
use super::PackageError;
use std::borrow::Cow;
use zeroize::Zeroizing;

/// Replaces non-overlapping spans; everything between them is copied untouched.
/// Overlapping spans (which a well-formed package never yields) are an error, not a
/// panic: the fuzzer found a root marked sensitive that did this.
pub(super) fn apply_edits(doc: &[u8], edits: &[(Span, Vec<u8>)]) -> Result<Vec<u8>, PackageError> {
    let order = edit_order(doc.len(), edits)?;
    let grow: usize = edits.iter().map(|(_, r)| r.len()).sum();
    let mut out = Vec::with_capacity(doc.len() + grow);
    let mut at = 0;
    for &i in &order {
        let (span, replacement) = &edits[i];
        out.extend_from_slice(&doc[at..span.start]);
        out.extend_from_slice(replacement);
        at = span.end;
    }
    out.extend_from_slice(&doc[at..]);
    Ok(out)
}

/// The edits' indexes in document order, refusing overlaps.
fn edit_order(doc_len: usize, edits: &[(Span, Vec<u8>)]) -> Result<Vec<usize>, PackageError> {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| (edits[i].0.start, edits[i].0.end));
    let mut at = 0;
    for &i in &order {
        let span = edits[i].0;
        if span.start < at || span.end > doc_len || span.start > span.end {
            return Err(PackageError::Unsupported(
                "the package's sensitive values, level marker or ID overlap; cannot rewrite it"
                    .into(),
            ));
        }
        at = span.end;
    }
    Ok(order)
}

/// [`apply_edits`] within the document's own buffer. The kept stretches between edits
/// move to their new places: those moving left front to back, then those moving right
/// back to front, so none is overwritten before it has moved; the replacements go in
/// last, into the gaps left for them.
pub(super) fn apply_edits_in_place(
    doc: &mut Vec<u8>,
    edits: &[(Span, Vec<u8>)],
) -> Result<(), PackageError> {
    let order = edit_order(doc.len(), edits)?;
    // (from, to, len) of each kept stretch, and where each replacement lands.
    let mut moves = Vec::with_capacity(order.len() + 1);
    let mut landing = Vec::with_capacity(order.len());
    let (mut from, mut to) = (0usize, 0usize);
    for &i in &order {
        let (span, replacement) = &edits[i];
        moves.push((from, to, span.start - from));
        to += span.start - from;
        landing.push((to, i));
        to += replacement.len();
        from = span.end;
    }
    moves.push((from, to, doc.len() - from));
    let new_len = to + (doc.len() - from);
    if new_len > doc.len() {
        doc.resize(new_len, 0);
    }
    for &(from, to, len) in moves.iter().filter(|(f, t, _)| t < f) {
        doc.copy_within(from..from + len, to);
    }
    for &(from, to, len) in moves.iter().rev().filter(|(f, t, _)| t > f) {
        doc.copy_within(from..from + len, to);
    }
    for (to, i) in landing {
        let replacement = &edits[i].1;
        doc[to..to + replacement.len()].copy_from_slice(replacement);
    }
    doc.truncate(new_len);
    Ok(())
}

const DTS_DECLARATION: &[u8] = b" xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"";

/// Encrypted elements carry their own `xmlns:DTS` (first, right after the name);
/// inside the package the root already declares it.
pub(super) fn strip_dts_namespace(element: &[u8]) -> Cow<'_, [u8]> {
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

pub(super) fn add_dts_namespace(element: &[u8]) -> Zeroizing<Vec<u8>> {
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
pub(super) fn blank_element(element: &[u8]) -> Result<Vec<u8>, PackageError> {
    let s = scan::scan(element).map_err(|_| PackageError::WrongPassword)?;
    let root: Element = s.root;
    let mut out = Vec::with_capacity(element.len());
    out.extend_from_slice(&element[..root.content.start]);
    out.extend_from_slice(&element[root.content.end..]);
    Ok(out)
}

pub(super) fn wrap_stub(encrypted: Vec<u8>, needs_stub: bool) -> Vec<u8> {
    if !needs_stub {
        return encrypted;
    }
    let mut out = b"<DTS:Property DTS:Name=\"ParameterValue\">".to_vec();
    out.extend_from_slice(&encrypted);
    out.extend_from_slice(b"</DTS:Property>");
    out
}
