//! The scan's XML tokenizer: markup and text of a document as spans, read by exactly
//! the rules of quick-xml's `Reader` as the scan configured it (end names checked,
//! empty elements not expanded, text untrimmed), and failing with quick-xml's errors
//! at quick-xml's error positions.
//!
//! Why our own: the scan of a level 0 package ran at ~810 MB/s on a quiet machine
//! (the 50.8 MB package of `examples/bench.rs` in 63 ms, `inspect` in-process) over
//! quick-xml, where issue 12 asks for 1 GB/s. quick-xml finds a tag's end with one
//! pass over it (quote-aware), then our attribute iterator walked it again and the
//! reference check a third time; every value crossed three searches, each a call with
//! its own set-up, in tags of ~250 bytes. Here a well-formed tag is read once: name,
//! `name="value"` pairs and the `>` in one walk, each value's closing quote and any
//! `&` found by one search. Anything else (attributes with no space between them,
//! quotes in names, unterminated tags...) falls back to quick-xml's own two-step
//! reading, written out below as it is there, so every document reads as before. The
//! differential tests (`tokens_tests.rs` over every fixture, cut short and altered;
//! the `xml_tokens` fuzz target on arbitrary bytes, both through
//! `tokens_reference.rs`) hold the two to the same tokens, spans, attributes and
//! errors. With it the same scan runs at ~1,250 MB/s (40 ms), the one-pass UTF-8 and
//! byte order mark check (`scan::check_text`) included.

use super::xml::{self, is_xml_whitespace, Span};
use quick_xml::errors::{Error, IllFormedError, SyntaxError};
use quick_xml::events::attributes::AttrError;

/// One piece of the document. Positions are absolute offsets into the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Text between markup (never empty); `has_amp` if it holds a `&`.
    Text {
        span: Span,
        has_amp: bool,
    },
    Start(StartTag),
    /// `</name>`, from `<` to after `>`.
    End(Span),
    /// `<![CDATA[...]]>`: the whole section.
    CData(Span),
    Comment(Span),
    /// A processing instruction other than the XML declaration.
    Pi(Span),
    /// `<?xml ...?>`; `content` is between `<?` and `?>`.
    Decl {
        outer: Span,
        content: Span,
    },
    DocType(Span),
    Eof,
}

/// A start tag (`<name ...>`) or an empty element (`<name .../>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTag {
    /// From `<` to after `>`.
    pub outer: Span,
    /// The name and attributes: after `<`, before `>` (or `/>`).
    pub content: Span,
    pub name_len: usize,
    pub empty: bool,
    /// The attributes were read with the tag (into [`Tokens::attributes`]).
    read: bool,
    /// Some attribute value holds a `&` (only known when `read`).
    has_amp: bool,
}

impl StartTag {
    pub fn name<'a>(&self, doc: &'a [u8]) -> &'a [u8] {
        &doc[self.content.start..self.content.start + self.name_len]
    }

    /// Whether any attribute value may hold a reference to check.
    pub fn may_have_references(&self) -> bool {
        !self.read || self.has_amp
    }
}

/// A tokenizer error: where quick-xml reports it, and quick-xml's error.
#[derive(Debug, Clone)]
pub struct TokenError {
    pub at: usize,
    pub error: Error,
}

/// The tokens of `doc[from..]` (`from` past a byte order mark).
pub struct Tokens<'a> {
    doc: &'a [u8],
    pos: usize,
    /// Names of the open elements, and whether each holds a quote (which makes
    /// quick-xml read its end tag differently from a plain comparison).
    open: Vec<(Span, bool)>,
    /// The attributes of the last start tag read in one walk: (name, value).
    attrs: Vec<(Span, Span)>,
    done: bool,
}

/// The first byte at or after `at` that is not XML whitespace (or the end). Between
/// attributes SSIS writes a line break and an indent of up to dozens of spaces:
/// eight are passed at a time.
fn skip_whitespace(doc: &[u8], mut at: usize) -> usize {
    while doc.get(at..at + 8) == Some(b"        ") {
        at += 8;
    }
    while at < doc.len() && is_xml_whitespace(&doc[at]) {
        at += 1;
    }
    at
}

/// Whether `b` may continue a name read in one walk. Whitespace, `=`, `>`, `/` and
/// quotes end it; so do other control bytes, which quick-xml would take as part of
/// the name: a name stopped at one is followed by neither whitespace nor `=`, `>`,
/// `/>`, so the walk gives way to quick-xml's reading there.
fn in_name(b: u8) -> bool {
    b > b' ' && !matches!(b, b'=' | b'>' | b'/' | b'"' | b'\'')
}

/// The end of the name starting at `at`: the first byte not [`in_name`].
fn name_end(doc: &[u8], mut at: usize) -> usize {
    while at < doc.len() && in_name(doc[at]) {
        at += 1;
    }
    at
}

impl<'a> Tokens<'a> {
    pub fn new(doc: &'a [u8], from: usize) -> Self {
        Self {
            doc,
            pos: from,
            open: Vec::with_capacity(64),
            attrs: Vec::with_capacity(16),
            done: false,
        }
    }

    /// The attributes of `tag`, the last start tag returned, as quick-xml's
    /// `attributes().with_checks(false)` gives them: stopping at the first error.
    pub fn attributes(&self, tag: &StartTag) -> TagAttributes<'_> {
        if tag.read {
            TagAttributes::Read {
                doc: self.doc,
                attrs: self.attrs.iter(),
            }
        } else {
            TagAttributes::Parsed(xml::Attributes::new(
                tag.content.slice(self.doc),
                tag.name_len,
            ))
        }
    }

    fn fail(&mut self, at: usize, error: impl Into<Error>) -> Result<Token, TokenError> {
        self.done = true;
        Err(TokenError {
            at,
            error: error.into(),
        })
    }

    pub fn next_token(&mut self) -> Result<Token, TokenError> {
        if self.done {
            return Ok(Token::Eof);
        }
        let doc = self.doc;
        let start = self.pos;
        let rest = &doc[start..];
        let Some(lt) = memchr::memchr2(b'<', b'&', rest) else {
            self.done = true;
            self.pos = doc.len();
            if rest.is_empty() {
                return Ok(Token::Eof);
            }
            return Ok(Token::Text {
                span: Span::new(start, doc.len()),
                has_amp: false,
            });
        };
        if rest[lt] == b'&' {
            let lt = memchr::memchr(b'<', &rest[lt..]).map_or(doc.len(), |i| start + lt + i);
            self.pos = lt;
            return Ok(Token::Text {
                span: Span::new(start, lt),
                has_amp: true,
            });
        }
        if lt > 0 {
            self.pos = start + lt;
            return Ok(Token::Text {
                span: Span::new(start, start + lt),
                has_amp: false,
            });
        }
        self.markup(start)
    }

    /// The markup starting with `<` at `lt`.
    fn markup(&mut self, lt: usize) -> Result<Token, TokenError> {
        match self.doc.get(lt + 1) {
            None => self.fail(lt, SyntaxError::UnclosedTag),
            Some(b'!') => self.bang(lt),
            Some(b'/') => self.end_tag(lt),
            Some(b'?') => self.question_mark(lt),
            Some(_) => self.start_tag(lt),
        }
    }

    /// Comments, CDATA and DOCTYPE, as quick-xml's `read_bang_element` and `emit_bang`.
    fn bang(&mut self, lt: usize) -> Result<Token, TokenError> {
        let doc = self.doc;
        // From `!` on, as quick-xml sees it.
        let chunk = &doc[lt + 1..];
        let (found, unclosed) = match chunk.get(1) {
            Some(b'-') => (
                // The first `>` at 5 or more past `!` with `--` before it.
                memchr::memmem::find(chunk.get(3..).unwrap_or_default(), b"-->").map(|j| j + 5),
                SyntaxError::UnclosedComment,
            ),
            Some(b'[') => (
                memchr::memmem::find(chunk, b"]]>").map(|j| j + 2),
                SyntaxError::UnclosedCData,
            ),
            Some(b'D' | b'd') => (doctype_end(chunk), SyntaxError::UnclosedDoctype),
            _ => return self.fail(lt, SyntaxError::InvalidBangMarkup),
        };
        let Some(gt) = found else {
            return self.fail(lt, unclosed);
        };
        // `buf`: between `<` and `>`.
        let buf = &chunk[..gt];
        let outer = Span::new(lt, lt + 1 + gt + 1);
        self.pos = outer.end;
        match unclosed {
            SyntaxError::UnclosedComment if buf.starts_with(b"!--") => Ok(Token::Comment(outer)),
            SyntaxError::UnclosedCData if buf.starts_with(b"![CDATA[") => Ok(Token::CData(outer)),
            SyntaxError::UnclosedDoctype
                if buf.len() >= 8 && buf[..8].eq_ignore_ascii_case(b"!DOCTYPE") =>
            {
                if buf[8..].iter().all(is_xml_whitespace) {
                    return self.fail(outer.end - 1, IllFormedError::MissingDoctypeName);
                }
                Ok(Token::DocType(outer))
            }
            _ => self.fail(lt, unclosed),
        }
    }

    /// `<?...?>`, as quick-xml's `PiParser` and `emit_question_mark`.
    fn question_mark(&mut self, lt: usize) -> Result<Token, TokenError> {
        let doc = self.doc;
        // From `?` on: the first `>` after a `?` (the opening one counts).
        let Some(q) = memchr::memmem::find(&doc[lt + 1..], b"?>") else {
            return self.fail(lt, SyntaxError::UnclosedPIOrXmlDecl);
        };
        let gt = lt + 1 + q + 1;
        if q == 0 {
            // `<?>`: quick-xml wants at least `<??>`.
            return self.fail(lt, SyntaxError::UnclosedPIOrXmlDecl);
        }
        let outer = Span::new(lt, gt + 1);
        self.pos = outer.end;
        let content = Span::new(lt + 2, gt - 1);
        let text = content.slice(doc);
        if text.starts_with(b"xml") && (text.len() == 3 || is_xml_whitespace(&text[3])) {
            Ok(Token::Decl { outer, content })
        } else {
            Ok(Token::Pi(outer))
        }
    }

    fn end_tag(&mut self, lt: usize) -> Result<Token, TokenError> {
        let doc = self.doc;
        if let Some(&(name, false)) = self.open.last() {
            // `</name>` exactly: quick-xml would find the same `>` (no quotes before it)
            // and the same name.
            let n = name.end - name.start;
            let at = lt + 2;
            if doc.get(at + n) == Some(&b'>') && doc[at..at + n] == doc[name.start..name.end] {
                self.open.pop();
                self.pos = at + n + 1;
                return Ok(Token::End(Span::new(lt, self.pos)));
            }
        }
        // As quick-xml's `emit_end`, after reading to the `>` as for a start tag.
        let Some(gt) = tag_end(doc, lt + 1) else {
            return self.fail(lt, SyntaxError::UnclosedTag);
        };
        let content = &doc[lt + 2..gt];
        let name = match content.iter().rposition(|b| !is_xml_whitespace(b)) {
            Some(last) => &content[..last + 1],
            None => content,
        };
        let decode = |b: &[u8]| std::str::from_utf8(b).unwrap_or_default().to_string();
        match self.open.pop() {
            Some((expected, _)) if expected.slice(doc) != name => self.fail(
                lt,
                IllFormedError::MismatchedEndTag {
                    expected: decode(expected.slice(doc)),
                    found: decode(name),
                },
            ),
            Some(_) => {
                self.pos = gt + 1;
                Ok(Token::End(Span::new(lt, gt + 1)))
            }
            None => self.fail(lt, IllFormedError::UnmatchedEndTag(decode(name))),
        }
    }

    fn start_tag(&mut self, lt: usize) -> Result<Token, TokenError> {
        let doc = self.doc;
        let from = lt + 1;
        let tag = match self.read_tag(from) {
            Some(tag) => tag,
            None => {
                // quick-xml's way: the first `>` outside quotes, then the name.
                let Some(gt) = tag_end(doc, from) else {
                    return self.fail(lt, SyntaxError::UnclosedTag);
                };
                let inner = &doc[from..gt];
                let empty = inner.last() == Some(&b'/');
                let content = Span::new(from, gt - usize::from(empty));
                let name_len = content
                    .slice(doc)
                    .iter()
                    .position(is_xml_whitespace)
                    .unwrap_or(content.end - content.start);
                StartTag {
                    outer: Span::new(lt, gt + 1),
                    content,
                    name_len,
                    empty,
                    read: false,
                    has_amp: false,
                }
            }
        };
        if !tag.empty {
            let name = Span::new(from, from + tag.name_len);
            let quoted = memchr::memchr2(b'"', b'\'', name.slice(doc)).is_some();
            self.open.push((name, quoted));
        }
        self.pos = tag.outer.end;
        Ok(Token::Start(tag))
    }

    /// A well-formed tag in one walk: `name`, then ` name="value"` pairs separated by
    /// whitespace, then `>` or `/>`. None at anything else (quick-xml's reading takes
    /// over); the attributes read land in `self.attrs`.
    fn read_tag(&mut self, from: usize) -> Option<StartTag> {
        let doc = self.doc;
        let mut at = name_end(doc, from);
        let name_len = at - from;
        if name_len == 0 {
            return None;
        }
        self.attrs.clear();
        let mut has_amp = false;
        loop {
            let gap = at;
            at = skip_whitespace(doc, at);
            let (content_end, empty, gt) = match doc.get(at)? {
                b'>' => (at, false, at),
                b'/' if doc.get(at + 1) == Some(&b'>') => (at, true, at + 1),
                _ if at == gap => return None,
                _ => {
                    // An attribute: `name`, `=` (whitespace around it), a quoted value.
                    let key = Span::new(at, name_end(doc, at));
                    if key.is_empty() {
                        return None;
                    }
                    at = skip_whitespace(doc, key.end);
                    if doc.get(at) != Some(&b'=') {
                        return None;
                    }
                    at = skip_whitespace(doc, at + 1);
                    let quote = *doc.get(at)?;
                    if quote != b'"' && quote != b'\'' {
                        return None;
                    }
                    let value = at + 1;
                    let mut close = value;
                    loop {
                        close += memchr::memchr2(quote, b'&', doc.get(close..)?)?;
                        if doc[close] == quote {
                            break;
                        }
                        has_amp = true;
                        close += 1;
                    }
                    self.attrs.push((key, Span::new(value, close)));
                    at = close + 1;
                    continue;
                }
            };
            return Some(StartTag {
                outer: Span::new(from - 1, gt + 1),
                content: Span::new(from, content_end),
                name_len,
                empty,
                read: true,
                has_amp,
            });
        }
    }
}

/// After `<`: the first `>` outside quotes, as quick-xml's `ElementParser` finds it.
fn tag_end(doc: &[u8], from: usize) -> Option<usize> {
    let mut quote = None;
    for i in memchr::memchr3_iter(b'>', b'"', b'\'', &doc[from..]) {
        let b = doc[from + i];
        match quote {
            None if b == b'>' => return Some(from + i),
            None => quote = Some(b),
            Some(q) if q == b => quote = None,
            Some(_) => {}
        }
    }
    None
}

/// `chunk` from `!` of `<!D...`: its `>` with `<` and `>` balanced, as quick-xml.
fn doctype_end(chunk: &[u8]) -> Option<usize> {
    let mut balance = 0i32;
    for i in memchr::memchr2_iter(b'<', b'>', chunk) {
        if chunk[i] == b'<' {
            balance += 1;
        } else if balance == 0 {
            return Some(i);
        } else {
            balance -= 1;
        }
    }
    None
}

/// A start tag's attributes: read with the tag, or parsed from its content.
pub enum TagAttributes<'a> {
    Read {
        doc: &'a [u8],
        attrs: std::slice::Iter<'a, (Span, Span)>,
    },
    Parsed(xml::Attributes<'a>),
}

impl<'a> Iterator for TagAttributes<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Read { doc, attrs } => {
                attrs.next().map(|(k, v)| Ok((k.slice(doc), v.slice(doc))))
            }
            Self::Parsed(attrs) => attrs.next(),
        }
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
