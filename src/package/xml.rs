//! Safe XML scanning helpers: limits, positions, and the checks quick-xml leaves to us.
//!
//! SSIS packages come from other people's machines. We never process a DTD, never
//! expand an entity beyond XML's five and character references, and bound size and
//! depth, so a hostile file costs bounded memory and time.

use quick_xml::events::attributes::AttrError;

/// Largest package we load (SSIS packages of hundreds of MB exist; GBs do not).
pub const MAX_PACKAGE_BYTES: usize = 1 << 30;
/// Deepest element nesting we accept. Real packages nest a few dozen levels.
pub const MAX_DEPTH: usize = 1024;

/// A byte range of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
    pub fn slice<'a>(&self, doc: &'a [u8]) -> &'a [u8] {
        &doc[self.start..self.end]
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// 1-based line and column of a byte offset, for error messages.
pub fn line_col(doc: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(doc.len());
    let before = &doc[..offset];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

/// The document is UTF-8 (else where it stops being) with no byte order mark past
/// `body_start` (where one would be text, not a mark). Both in one pass of cache-sized
/// pieces: two passes over a large package each read it from memory, a tenth of the
/// scan's time.
pub(super) fn check_text(doc: &[u8], body_start: usize) -> Result<(), (usize, &'static str)> {
    const PIECE: usize = 64 * 1024;
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let bom_finder = memchr::memmem::Finder::new(BOM);
    let mut bom = None;
    let mut at = 0;
    while at < doc.len() {
        let mut end = (at + PIECE).min(doc.len());
        if let Err(e) = std::str::from_utf8(&doc[at..end]) {
            // A character cut by the piece's end is read whole with the next piece.
            if e.error_len().is_some() || end == doc.len() {
                return Err((at + e.valid_up_to(), "invalid UTF-8"));
            }
            end = at + e.valid_up_to();
        }
        if bom.is_none() {
            // Back far enough to see a mark cut by the previous piece's end.
            let from = at.saturating_sub(BOM.len() - 1).max(body_start);
            if from < end {
                bom = bom_finder.find(&doc[from..end]).map(|i| from + i);
            }
        }
        at = end;
    }
    match bom {
        Some(at) => Err((at, "a byte order mark in the middle of the document")),
        None => Ok(()),
    }
}

/// Checks that every `&` in raw text or an attribute value starts one of XML's
/// predefined entities or a character reference. Any other entity would need a DTD,
/// which we refuse, so it makes the document malformed.
pub fn check_references(raw: &[u8]) -> Result<(), String> {
    for amp in memchr::memchr_iter(b'&', raw) {
        let rest = &raw[amp + 1..];
        let Some(semi) = memchr::memchr(b';', &rest[..rest.len().min(12)]) else {
            return Err("`&` that does not start an entity reference (write `&amp;`)".into());
        };
        let name = &rest[..semi];
        let ok = match name {
            b"amp" | b"lt" | b"gt" | b"quot" | b"apos" => true,
            [b'#', b'x', hex @ ..] => {
                !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit) && valid_char(hex, 16)
            }
            [b'#', dec @ ..] => {
                !dec.is_empty() && dec.iter().all(u8::is_ascii_digit) && valid_char(dec, 10)
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "undefined entity `&{};` (packages may not use DTD entities)",
                String::from_utf8_lossy(name)
            ));
        }
    }
    Ok(())
}

fn valid_char(digits: &[u8], radix: u32) -> bool {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| u32::from_str_radix(s, radix).ok())
        .and_then(char::from_u32)
        .is_some_and(|c| c == '\t' || c == '\n' || c == '\r' || c >= ' ')
}

/// Unescapes the five predefined entities and character references (already checked).
pub fn unescape(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if !text.contains('&') {
        return text.into_owned();
    }
    quick_xml::escape::unescape(&text)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| text.into_owned())
}

pub fn is_xml_whitespace(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A start tag's attributes, `(name, value)` borrowed from the tag, read by
/// quick-xml's XML rules (`name="value"` or `name='value'`, whitespace allowed around
/// `=`) and failing with its errors at its positions (from the tag's name on). Its own
/// iterator walks every value a byte at a time, a third of the scan's time on real
/// packages; values are found here with memchr. Reading stops at the first error.
pub struct Attributes<'a> {
    /// The tag from its name to before `>` (or `/>`), as quick-xml hands it over.
    tag: &'a [u8],
    at: usize,
}

impl<'a> Attributes<'a> {
    /// `name_len`: where the attributes begin (after the element's name).
    pub fn new(tag: &'a [u8], name_len: usize) -> Self {
        Self { tag, at: name_len }
    }

    fn fail(&mut self, error: AttrError) -> Option<<Self as Iterator>::Item> {
        self.at = self.tag.len();
        Some(Err(error))
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        let tag = self.tag;
        let len = tag.len();
        let non_blank = |from: usize| (from..len).find(|&i| !is_xml_whitespace(&tag[i]));
        let Some(start) = non_blank(self.at) else {
            self.at = len;
            return None;
        };
        // The name runs to `=` or whitespace; its first byte is part of it whatever it
        // is, as in quick-xml.
        let name_end = (start + 1..len)
            .find(|&i| tag[i] == b'=' || is_xml_whitespace(&tag[i]))
            .unwrap_or(len);
        let eq = if name_end < len && tag[name_end] == b'=' {
            name_end
        } else {
            match non_blank(name_end) {
                Some(i) if tag[i] == b'=' => i,
                Some(i) => return self.fail(AttrError::ExpectedEq(i)),
                None => return self.fail(AttrError::ExpectedEq(len)),
            }
        };
        let Some(open) = non_blank(eq + 1) else {
            return self.fail(AttrError::ExpectedValue(len));
        };
        let quote = tag[open];
        if quote != b'"' && quote != b'\'' {
            return self.fail(AttrError::UnquotedValue(open));
        }
        let Some(close) = memchr::memchr(quote, &tag[open + 1..]) else {
            return self.fail(AttrError::ExpectedQuote(len, quote));
        };
        let close = open + 1 + close;
        self.at = close + 1;
        Some(Ok((&tag[start..name_end], &tag[open + 1..close])))
    }
}

/// Most bytes of enclosing object names one label keeps.
const LABEL_BUDGET: usize = 256;
/// Most bytes of one object name in a label.
const LABEL_NAME_MAX: usize = 64;

/// The names of the objects enclosing a value, outermost first, for its label: the
/// outermost and the innermost that fit [`LABEL_BUDGET`], `…` for the rest. A label per
/// value holding every ancestor's whole name made memory quadratic (1,000 nested
/// executables with 1,000-character names and 2,000 values took 3.9 GB); this keeps
/// each label small and costs one pass over the ancestors.
pub fn bounded_ancestry(names: &[&str]) -> Vec<String> {
    let total: usize = names.iter().map(|n| n.len() + 1).sum();
    if total <= LABEL_BUDGET {
        return names.iter().map(|n| n.to_string()).collect();
    }
    let mut inner = Vec::new();
    let mut used = 0;
    for name in names.iter().skip(1).rev() {
        let name = shortened(name);
        if used + name.len() + 1 > LABEL_BUDGET {
            break;
        }
        used += name.len() + 1;
        inner.push(name);
    }
    let mut out = vec![shortened(names[0]), "…".to_string()];
    out.extend(inner.into_iter().rev());
    out
}

fn shortened(name: &str) -> String {
    if name.len() <= LABEL_NAME_MAX {
        return name.to_string();
    }
    let mut end = LABEL_NAME_MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &name[..end])
}

/// Attribute names seen on one tag.
#[derive(Default)]
pub(super) struct SeenNames<'a> {
    few: [&'a [u8]; SeenNames::FEW],
    count: usize,
    many: Option<std::collections::HashSet<&'a [u8]>>,
}

impl<'a> SeenNames<'a> {
    const FEW: usize = 16;

    /// False when the name was seen before.
    pub(super) fn insert(&mut self, name: &'a [u8]) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(name);
        }
        if self.few[..self.count].contains(&name) {
            return false;
        }
        if self.count < Self::FEW {
            self.few[self.count] = name;
            self.count += 1;
        } else {
            let mut set: std::collections::HashSet<&[u8]> = self.few.iter().copied().collect();
            set.insert(name);
            self.many = Some(set);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert!(check_references(b"a &amp; b &lt; &#65; &#x41;").is_ok());
        assert!(check_references(b"&xxe;").is_err());
        assert!(check_references(b"a & b").is_err());
        assert!(check_references(b"&#0;").is_err());
        assert!(check_references(b"&#x110000;").is_err());
    }

    #[test]
    fn labels_stay_small_however_deep_and_long() {
        let long = "n".repeat(1000);
        let names: Vec<&str> = vec![long.as_str(); 1000];
        let label = bounded_ancestry(&names).join("\\");
        assert!(
            label.len() < LABEL_BUDGET + 2 * LABEL_NAME_MAX + 16,
            "{}",
            label.len()
        );
        assert!(label.contains('…'));
        assert_eq!(bounded_ancestry(&["Package", "Seq"]), ["Package", "Seq"]);
    }

    #[test]
    fn duplicate_names_found_among_few_and_many() {
        let names: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
        for len in [1, 2, SeenNames::FEW, SeenNames::FEW + 1, 40] {
            for dup in 0..len {
                let mut seen = SeenNames::default();
                for n in &names[..len] {
                    assert!(seen.insert(n.as_bytes()), "{n} is new");
                }
                assert!(!seen.insert(names[dup].as_bytes()), "a{dup} of {len} seen");
                assert!(seen.insert(b"other"));
            }
        }
    }

    /// Attributes read as quick-xml reads them, errors and positions included, on
    /// well-formed and broken tags alike.
    #[test]
    fn attributes_as_quick_xml_reads_them() {
        let tags: &[&str] = &[
            "a",
            "a ",
            "a b=\"1\"",
            "a b='1' c=\"2\"",
            "a  b = \"x y\"\tc\n=\r'z'  ",
            "a b=\"it's\" c='say \"hi\"'",
            "a b=\"\"",
            "a b",
            "a b ",
            "a b c=\"1\"",
            "a b=",
            "a b= ",
            "a b=1",
            "a b=\"1",
            "a b='1\"",
            "a =\"1\"",
            "a ==\"1\"",
            "a b==\"1\"",
            "a b\"c=\"1\"",
            "a b=\"1\"c=\"2\"",
            "a b=\"1\" b=\"2\"",
            "a b=\"<&>\"",
            "a b=\"1\" /",
            "DTS:Executable DTS:refId=\"Package\" DTS:ObjectName=\"x\"",
        ];
        for tag in tags {
            let bytes = tag.as_bytes();
            let name_len = bytes
                .iter()
                .position(is_xml_whitespace)
                .unwrap_or(bytes.len());
            let ours: Vec<_> = Attributes::new(bytes, name_len)
                .map(|a| a.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect();
            let mut theirs = Vec::new();
            for a in
                quick_xml::events::attributes::Attributes::new(tag, name_len).with_checks(false)
            {
                let stop = a.is_err();
                theirs.push(a.map(|a| (a.key.as_ref().to_vec(), a.value.to_vec())));
                if stop {
                    break;
                }
            }
            assert_eq!(ours, theirs, "{tag}");
        }
    }

    /// As two passes over the whole document would find them: the first invalid UTF-8,
    /// else the first mark, wherever the pieces' ends cut a character or a mark.
    #[test]
    fn text_checked_in_pieces_as_in_two_passes() {
        let two_passes = |doc: &[u8], body_start: usize| match std::str::from_utf8(doc) {
            Err(e) => Err((e.valid_up_to(), "invalid UTF-8")),
            Ok(_) => match memchr::memmem::find(&doc[body_start..], b"\xEF\xBB\xBF") {
                Some(i) => Err((
                    body_start + i,
                    "a byte order mark in the middle of the document",
                )),
                None => Ok(()),
            },
        };
        let piece = 64 * 1024;
        for at in [
            0,
            1,
            piece - 3,
            piece - 2,
            piece - 1,
            piece,
            piece + 1,
            2 * piece - 2,
        ] {
            for insert in [
                &b"\xEF\xBB\xBF"[..],
                "é".as_bytes(),
                "€".as_bytes(),
                "😀".as_bytes(),
                b"\xFF",
                b"\xE2\x82",
            ] {
                let mut doc = vec![b'a'; 3 * piece];
                doc.splice(at..at, insert.iter().copied());
                for body_start in [0, 3] {
                    assert_eq!(
                        check_text(&doc, body_start),
                        two_passes(&doc, body_start),
                        "{insert:?} at {at}, body from {body_start}"
                    );
                }
                // Invalid UTF-8 after a mark is still reported first.
                let mut both = doc.clone();
                both.push(0xFF);
                assert_eq!(
                    check_text(&both, 0),
                    two_passes(&both, 0),
                    "{insert:?} at {at} and 0xFF"
                );
            }
        }
    }

    #[test]
    fn positions() {
        let doc = b"ab\ncd\nef";
        assert_eq!(line_col(doc, 0), (1, 1));
        assert_eq!(line_col(doc, 4), (2, 2));
        assert_eq!(line_col(doc, 6), (3, 1));
    }
}
