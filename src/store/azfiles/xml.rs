//! The service's XML: error bodies and directory listings. No DTD is processed.

use quick_xml::events::Event;
use quick_xml::Reader;

/// The text of `<Error><NAME>` in an error body.
pub fn error_field(body: &[u8], name: &str) -> Option<String> {
    let mut reader = Reader::from_reader(body);
    let mut depth = 0usize;
    let mut capture = false;
    let mut out = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                capture = depth == 2 && e.local_name().as_ref() == name.as_bytes();
            }
            Ok(Event::End(_)) => {
                if capture {
                    return Some(out);
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Text(t)) if capture => out.push_str(&t.unescape().ok()?),
            Ok(Event::CData(t)) if capture => out.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::DocType(_)) | Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// One page of List Directories and Files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListPage {
    /// (name, is_directory)
    pub entries: Vec<(String, bool)>,
    pub next_marker: Option<String>,
}

/// Parses an `EnumerationResults` page. Names marked `Encoded="true"` are
/// percent-decoded.
pub fn list_page(body: &[u8]) -> Result<ListPage, String> {
    let mut reader = Reader::from_reader(body);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut page = ListPage::default();
    let mut text = String::new();
    let mut encoded = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("the listing is not valid XML: {e}"))?;
        match event {
            Event::DocType(_) => return Err("the listing carries a DTD; refused".into()),
            Event::Start(e) => {
                text.clear();
                if e.local_name().as_ref() == b"Name" {
                    encoded = e
                        .try_get_attribute("Encoded")
                        .ok()
                        .flatten()
                        .is_some_and(|a| a.value.as_ref().eq_ignore_ascii_case(b"true"));
                }
                path.push(e.local_name().as_ref().to_vec());
            }
            Event::Empty(_) => {}
            Event::Text(t) => text.push_str(
                &t.unescape()
                    .map_err(|e| format!("the listing is not valid XML: {e}"))?,
            ),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::End(_) => {
                let names: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
                match names.as_slice() {
                    [b"EnumerationResults", b"Entries", kind @ (b"File" | b"Directory"), b"Name"] =>
                    {
                        let name = if encoded {
                            percent_encoding::percent_decode_str(&text)
                                .decode_utf8_lossy()
                                .into_owned()
                        } else {
                            text.clone()
                        };
                        page.entries.push((name, *kind == b"Directory"));
                    }
                    [b"EnumerationResults", b"NextMarker"] if !text.trim().is_empty() => {
                        page.next_marker = Some(text.trim().to_string());
                    }
                    _ => {}
                }
                path.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_fields() {
        let body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ParentNotFound</Code><Message>The specified parent path does not exist.\nRequestId:x</Message></Error>";
        assert_eq!(error_field(body, "Code").as_deref(), Some("ParentNotFound"));
        assert!(error_field(body, "Message")
            .unwrap()
            .starts_with("The specified parent"));
        assert_eq!(error_field(b"", "Code"), None);
        assert_eq!(error_field(b"<!DOCTYPE x><Error/>", "Code"), None);
    }

    #[test]
    fn listing() {
        let body = br#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="x" ShareName="s" DirectoryPath="d"><Marker>m</Marker><MaxResults>2</MaxResults><Entries><File><Name>a &amp; b.dtsx</Name><Properties><Content-Length>3</Content-Length></Properties></File><Directory><Name Encoded="true">x%20y</Name><Properties/></Directory></Entries><NextMarker>n1</NextMarker></EnumerationResults>"#;
        let page = list_page(body).unwrap();
        assert_eq!(
            page.entries,
            vec![("a & b.dtsx".to_string(), false), ("x y".to_string(), true)]
        );
        assert_eq!(page.next_marker.as_deref(), Some("n1"));
        let last =
            list_page(br#"<EnumerationResults><Entries/><NextMarker/></EnumerationResults>"#)
                .unwrap();
        assert_eq!(last, ListPage::default());
    }
}
