//! The package's text encoding, handled at the edges: SSIS (.NET's XmlDocument) loads
//! UTF-16 packages that start with a byte order mark, so a UTF-16 package is decoded
//! to UTF-8 before the scan and the rewritten package is encoded back, byte for byte
//! in the encoding and with the BOM it came in. UTF-8 passes through untouched (a
//! UTF-8 BOM is part of the bytes the scanner keeps).

use super::PackageError;
use std::borrow::Cow;

/// How a package's bytes encode its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8, with or without a BOM (the BOM stays in the bytes).
    #[default]
    Utf8,
    Utf16 {
        big_endian: bool,
        bom: bool,
    },
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16 {
                big_endian: false, ..
            } => "UTF-16LE",
            Self::Utf16 {
                big_endian: true, ..
            } => "UTF-16BE",
        }
    }
}

/// Declared encodings that name UTF-16 as .NET reads them.
fn names_utf16(declared: &str) -> bool {
    ["utf-16", "utf-16le", "utf-16be", "unicode", "ucs-2"]
        .iter()
        .any(|n| declared.eq_ignore_ascii_case(n))
}

pub(super) fn names_utf16_bytes(declared: &[u8]) -> bool {
    std::str::from_utf8(declared).is_ok_and(names_utf16)
}

/// The package's text as UTF-8, and how to encode it back.
pub fn decode(input: &[u8]) -> Result<(Cow<'_, [u8]>, TextEncoding), PackageError> {
    let utf16 = if input.starts_with(b"\xFF\xFE") {
        Some((false, true))
    } else if input.starts_with(b"\xFE\xFF") {
        Some((true, true))
    } else if input.starts_with(b"<\0") {
        // Without a BOM .NET still recognises UTF-16 from a leading `<`.
        Some((false, false))
    } else if input.starts_with(b"\0<") {
        Some((true, false))
    } else {
        None
    };
    let Some((big_endian, bom)) = utf16 else {
        if let Some(declared) = declared_encoding(input) {
            if names_utf16(&declared) {
                return Err(PackageError::Unsupported(format!(
                    "the XML declaration says encoding=\"{declared}\" but the file is not UTF-16 (it has no UTF-16 byte order mark); re-save it in the encoding it declares"
                )));
            }
        }
        return Ok((Cow::Borrowed(input), TextEncoding::Utf8));
    };
    let body = &input[if bom { 2 } else { 0 }..];
    if !body.len().is_multiple_of(2) {
        return Err(PackageError::Unsupported(
            "the file is UTF-16 but has an odd number of bytes (it is cut short)".into(),
        ));
    }
    let units = body.chunks_exact(2).map(|p| {
        let pair = [p[0], p[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let mut text = String::with_capacity(body.len() / 2 + body.len() / 8);
    for (i, c) in char::decode_utf16(units).enumerate() {
        text.push(c.map_err(|_| {
            PackageError::Unsupported(format!(
                "the file is UTF-16 but holds an unpaired surrogate at byte {}",
                i * 2 + if bom { 2 } else { 0 }
            ))
        })?);
    }
    let encoding = TextEncoding::Utf16 { big_endian, bom };
    if let Some(declared) = declared_encoding(text.as_bytes()) {
        if !names_utf16(&declared) {
            return Err(PackageError::Unsupported(format!(
                "the file is {} but its XML declaration says encoding=\"{declared}\"; re-save it in one encoding",
                encoding.name()
            )));
        }
    }
    Ok((Cow::Owned(text.into_bytes()), encoding))
}

/// The rewritten package in the encoding its source came in.
pub fn encode(utf8: Vec<u8>, encoding: TextEncoding) -> Result<Vec<u8>, PackageError> {
    let TextEncoding::Utf16 { big_endian, bom } = encoding else {
        return Ok(utf8);
    };
    let text = String::from_utf8(utf8).map_err(|_| {
        PackageError::Unsupported(
            "the rewritten package is not valid text, so it cannot be written as UTF-16".into(),
        )
    })?;
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if bom {
        out.extend_from_slice(if big_endian { b"\xFE\xFF" } else { b"\xFF\xFE" });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    Ok(out)
}

/// The `encoding` of a leading `<?xml ...?>` declaration, if it has one.
fn declared_encoding(doc: &[u8]) -> Option<String> {
    let doc = doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc);
    let decl = doc.strip_prefix(b"<?xml")?;
    let decl = &decl[..memchr::memmem::find(decl, b"?>")?];
    let at = memchr::memmem::find(decl, b"encoding")?;
    let rest = decl[at + b"encoding".len()..].trim_ascii_start();
    let rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    let quote = *rest.first().filter(|q| **q == b'"' || **q == b'\'')?;
    let value = &rest[1..];
    let end = value.iter().position(|b| *b == quote)?;
    Some(String::from_utf8_lossy(&value[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        encode(
            text.as_bytes().to_vec(),
            TextEncoding::Utf16 { big_endian, bom },
        )
        .unwrap()
    }

    #[test]
    fn utf16_round_trips_byte_for_byte() {
        let text = "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n<a b=\"é 𝄞\"/>\r\n";
        for big_endian in [false, true] {
            for bom in [false, true] {
                let bytes = utf16(text, big_endian, bom);
                let (decoded, encoding) = decode(&bytes).unwrap();
                assert_eq!(decoded.as_ref(), text.as_bytes());
                assert_eq!(encoding, TextEncoding::Utf16 { big_endian, bom });
                assert_eq!(encode(decoded.into_owned(), encoding).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn utf8_passes_through_with_its_bom() {
        let bytes = b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>";
        let (decoded, encoding) = decode(bytes).unwrap();
        assert!(matches!(decoded, Cow::Borrowed(_)));
        assert_eq!(encoding, TextEncoding::Utf8);
        assert_eq!(encode(decoded.into_owned(), encoding).unwrap(), bytes);
    }

    #[test]
    fn declaration_and_bytes_must_agree() {
        let e = decode(b"<?xml version=\"1.0\" encoding=\"utf-16\"?><a/>").unwrap_err();
        assert!(e.to_string().contains("no UTF-16 byte order mark"), "{e}");
        let e = decode(&utf16(
            "<?xml version='1.0' encoding='utf-8'?><a/>",
            false,
            true,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("UTF-16LE"), "{e}");
        assert!(decode(&utf16("<?xml version='1.0'?><a/>", false, true)).is_ok());
        assert!(decode(&utf16(
            "<?xml version='1.0' encoding='Unicode'?><a/>",
            true,
            true
        ))
        .is_ok());
    }

    #[test]
    fn broken_utf16_is_refused() {
        let mut odd = utf16("<a/>", false, true);
        odd.pop();
        assert!(decode(&odd).unwrap_err().to_string().contains("odd number"));
        let lone = [0xFF, 0xFE, b'<', 0, 0x00, 0xD8, b'>', 0];
        assert!(decode(&lone).unwrap_err().to_string().contains("surrogate"));
    }
}
