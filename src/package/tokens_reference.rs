//! The tokenizer held to quick-xml: both read one document and describe what they
//! read (each token's kind and span, a start tag's name and attributes, the error
//! and where it is) in the same words. Shared by the unit tests (`tokens_tests.rs`)
//! and the `xml_tokens` fuzz target, which include this file; the includer brings
//! `Token` and `Tokens` into scope.

use super::{Token, Tokens};
use quick_xml::events::Event;
use quick_xml::Reader;

/// What quick-xml's `Reader`, configured as the scan configured it, reads in
/// `doc[from..]`, up to its end or the first error.
pub fn quick_xml_reading(doc: &[u8], from: usize) -> Vec<String> {
    let mut reader = Reader::from_reader(&doc[from..]);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;
    let offset = |p: u64| from + p as usize;
    let mut out = Vec::new();
    loop {
        let before = offset(reader.buffer_position());
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                out.push(error(offset(reader.error_position()), &e));
                return out;
            }
        };
        let after = offset(reader.buffer_position());
        let line = match event {
            Event::Eof => {
                out.push("eof".into());
                return out;
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let content: &[u8] = e;
                let at = content.as_ptr() as usize - doc.as_ptr() as usize;
                let mut attrs = Vec::new();
                for a in e.attributes().with_checks(false) {
                    match a {
                        Ok(a) => attrs.push(attribute(a.key.as_ref(), &a.value)),
                        Err(e) => {
                            attrs.push(format!("error {e:?}"));
                            break;
                        }
                    }
                }
                start(
                    before..after,
                    at..at + content.len(),
                    e.name().as_ref().len(),
                    matches!(event, Event::Empty(_)),
                    &attrs,
                )
            }
            Event::End(_) => format!("end {before}..{after}"),
            Event::Text(_) => format!("text {before}..{after}"),
            Event::CData(_) => format!("cdata {before}..{after}"),
            Event::Comment(_) => format!("comment {before}..{after}"),
            Event::PI(_) => format!("pi {before}..{after}"),
            Event::Decl(_) => format!("decl {before}..{after} {}..{}", before + 2, after - 2),
            Event::DocType(_) => format!("doctype {before}..{after}"),
        };
        out.push(line);
    }
}

/// What [`Tokens`] reads in `doc[from..]`, in [`quick_xml_reading`]'s words. Also
/// checks what the tokenizer says beyond quick-xml: which text and which tags may
/// hold references.
pub fn tokens_reading(doc: &[u8], from: usize) -> Vec<String> {
    let mut tokens = Tokens::new(doc, from);
    let mut out = Vec::new();
    loop {
        let token = match tokens.next_token() {
            Ok(token) => token,
            Err(e) => {
                out.push(error(e.at, &e.error));
                return out;
            }
        };
        let line = match token {
            Token::Eof => {
                out.push("eof".into());
                return out;
            }
            Token::Start(tag) => {
                let mut attrs = Vec::new();
                let mut amp = false;
                for a in tokens.attributes(&tag) {
                    match a {
                        Ok((k, v)) => {
                            amp |= v.contains(&b'&');
                            attrs.push(attribute(k, v));
                        }
                        Err(e) => {
                            attrs.push(format!("error {e:?}"));
                            break;
                        }
                    }
                }
                assert!(
                    !amp || tag.may_have_references(),
                    "a `&` in a value of {tag:?} went unnoticed"
                );
                start(
                    tag.outer.start..tag.outer.end,
                    tag.content.start..tag.content.end,
                    tag.name_len,
                    tag.empty,
                    &attrs,
                )
            }
            Token::Text { span, has_amp } => {
                assert_eq!(has_amp, span.slice(doc).contains(&b'&'), "{span:?}");
                format!("text {}..{}", span.start, span.end)
            }
            Token::End(s) => format!("end {}..{}", s.start, s.end),
            Token::CData(s) => format!("cdata {}..{}", s.start, s.end),
            Token::Comment(s) => format!("comment {}..{}", s.start, s.end),
            Token::Pi(s) => format!("pi {}..{}", s.start, s.end),
            Token::Decl { outer, content } => format!(
                "decl {}..{} {}..{}",
                outer.start, outer.end, content.start, content.end
            ),
            Token::DocType(s) => format!("doctype {}..{}", s.start, s.end),
        };
        out.push(line);
    }
}

fn error(at: usize, e: &quick_xml::Error) -> String {
    format!("error at {at}: {e}")
}

fn attribute(key: &[u8], value: &[u8]) -> String {
    format!(
        "{}={:?}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(value)
    )
}

fn start(
    outer: std::ops::Range<usize>,
    content: std::ops::Range<usize>,
    name_len: usize,
    empty: bool,
    attrs: &[String],
) -> String {
    format!("start {outer:?} content {content:?} name {name_len} empty {empty} {attrs:?}")
}
