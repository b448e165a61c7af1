//! SSIS's `<EncryptedData>` element (XML Encryption): decoding one the scan found,
//! and writing a new one. The cipher work itself is in [`crate::crypto`].

use super::scan::{err_at, XMLENC_NS};
use super::xml::{self, Span};
use super::PackageError;
use crate::crypto::Algorithm;
use crate::crypto::{CryptoError, Keys, Padding};
use base64::Engine;

/// A password-encrypted node (`<EncryptedData>`), decoded but not decrypted.
#[derive(Debug, Clone)]
pub struct EncryptedNode {
    pub algorithm: Algorithm,
    pub salt: Vec<u8>,
    pub cipher_value: Vec<u8>,
}

/// What the scan collects inside an EncryptedData element.
#[derive(Default)]
pub(super) struct EncryptedParts {
    pub salt: Option<String>,
    pub iv: Option<String>,
    /// The CipherValue's text, where it lies in the document: a whole level 3 package
    /// may be hundreds of MB of base64, so it is not copied out.
    pub cipher_value: Vec<Span>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}

pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    decode_base64_pieces([text.as_bytes()])
}

/// Base64 spread over pieces of text, XML whitespace anywhere: decoded a chunk at a
/// time into one buffer (memory: the decoded bytes and 64 KiB, whatever the size).
pub fn decode_base64_pieces<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]> + Clone,
) -> Result<Vec<u8>, String> {
    const CHUNK: usize = 64 << 10;
    let engine = b64();
    let total: usize = pieces.clone().into_iter().map(<[u8]>::len).sum();
    let mut out = Vec::with_capacity(total / 4 * 3 + 3);
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + 4);
    let mut ended = false;
    let flush = |chunk: &mut Vec<u8>, out: &mut Vec<u8>, ended: &mut bool| {
        if chunk.is_empty() {
            return Ok(());
        }
        // Padding closes the text: anything after it is not base64.
        if *ended {
            return Err("bad base64 (text after the closing `=` padding)".to_string());
        }
        *ended = chunk.last() == Some(&b'=');
        let r = engine
            .decode_vec(&*chunk, out)
            .map_err(|e| format!("bad base64 ({e})"));
        chunk.clear();
        r
    };
    for piece in pieces {
        for run in piece.split(xml::is_xml_whitespace) {
            let mut run = run;
            while !run.is_empty() {
                // Whole quads only, so each chunk decodes on its own.
                let room = CHUNK - chunk.len();
                let take = room.min(run.len());
                chunk.extend_from_slice(&run[..take]);
                run = &run[take..];
                if chunk.len() == CHUNK {
                    flush(&mut chunk, &mut out, &mut ended)?;
                }
            }
        }
    }
    flush(&mut chunk, &mut out, &mut ended)?;
    Ok(out)
}

pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes the EncryptedData element at `outer` from the parts the scan collected.
pub(super) fn encrypted_node(
    doc: &[u8],
    outer: Span,
    parts: &EncryptedParts,
) -> Result<EncryptedNode, PackageError> {
    let at = outer.start;
    let bad = |m: String| err_at(doc, at, format!("EncryptedData: {m}"));
    // The Algorithm attribute lives on the EncryptionMethod child; read it from the
    // element's raw text, which the scan has already checked for well-formedness.
    let algorithm_uri = (|| {
        let raw = outer.slice(doc);
        let m = memchr::memmem::find(raw, b"EncryptionMethod")?;
        let a = memchr::memmem::find(&raw[m..], b"Algorithm=")? + m + 10;
        let quote = *raw.get(a)?;
        let end = memchr::memchr(quote, &raw[a + 1..])? + a + 1;
        Some(String::from_utf8_lossy(&raw[a + 1..end]).into_owned())
    })();
    let uri = algorithm_uri.ok_or_else(|| bad("no EncryptionMethod Algorithm".into()))?;
    // Start tags only (`<EncryptionMethod`, `<x:EncryptionMethod`), not `</...>`.
    let raw = outer.slice(doc);
    let methods = memchr::memmem::find_iter(raw, b"EncryptionMethod")
        .filter(|&i| {
            let tag = memchr::memrchr(b'<', &raw[..i]);
            tag.is_some_and(|t| raw.get(t + 1) != Some(&b'/'))
        })
        .count();
    if methods > 1 {
        return Err(bad(format!(
            "{methods} EncryptionMethod elements; one algorithm expected"
        )));
    }
    let algorithm = Algorithm::from_uri(&uri)
        .map_err(|e: CryptoError| PackageError::Unsupported(format!("{e}")))?;
    let salt = match &parts.salt {
        Some(s) => decode_base64(s).map_err(|m| bad(format!("Salt: {m}")))?,
        None => Vec::new(),
    };
    let pieces = parts.cipher_value.iter().map(|span| span.slice(doc));
    if pieces.clone().all(|p| p.iter().all(xml::is_xml_whitespace)) {
        return Err(bad("empty CipherValue".into()));
    }
    let cipher_value =
        decode_base64_pieces(pieces).map_err(|m| bad(format!("CipherValue: {m}")))?;
    let block = algorithm.block_len();
    if let Some(iv) = &parts.iv {
        let iv = decode_base64(iv).map_err(|m| bad(format!("IV: {m}")))?;
        if iv.len() != block {
            return Err(bad(format!(
                "IV is {} bytes; {} needs {block}",
                iv.len(),
                algorithm.name()
            )));
        }
        if !cipher_value.starts_with(&iv) {
            return Err(bad(
                "IV attribute differs from CipherValue's first block".into()
            ));
        }
    }
    if cipher_value.len() < 2 * block || !cipher_value.len().is_multiple_of(block) {
        return Err(bad(format!(
            "CipherValue is {} bytes, not an IV and whole {block}-byte blocks (truncated?)",
            cipher_value.len()
        )));
    }
    if algorithm == Algorithm::Aes256 && salt.is_empty() {
        return Err(bad("AES-256 needs a Salt".into()));
    }
    Ok(EncryptedNode {
        algorithm,
        salt,
        cipher_value,
    })
}

/// SSIS's EncryptedData element for a sensitive element's XML (or a whole package).
pub(super) fn encrypted_data_xml(
    algorithm: Algorithm,
    keys: &Keys<'_>,
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    write_encrypted_data(&mut out, algorithm, keys, plaintext);
    out
}

/// [`encrypted_data_xml`] appended to `out`: a whole package's CipherValue is encoded
/// straight into the output, not built apart and copied in.
pub(super) fn write_encrypted_data(
    out: &mut Vec<u8>,
    algorithm: Algorithm,
    keys: &Keys<'_>,
    plaintext: &[u8],
) {
    let sealed = keys.seal(algorithm, plaintext, Padding::Iso10126);
    let encoded_len = sealed.cipher_value.len().div_ceil(3) * 4;
    out.reserve(encoded_len + 320);
    out.extend_from_slice(
        b"<EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\" Salt=\"",
    );
    out.extend_from_slice(encode_base64(&sealed.salt).as_bytes());
    out.extend_from_slice(b"\" IV=\"");
    out.extend_from_slice(encode_base64(&sealed.iv).as_bytes());
    out.extend_from_slice(b"\" xmlns=\"");
    out.extend_from_slice(XMLENC_NS.as_bytes());
    out.extend_from_slice(b"\"><EncryptionMethod Algorithm=\"");
    out.extend_from_slice(algorithm.uri().as_bytes());
    out.extend_from_slice(b"\" /><CipherData><CipherValue>");
    let at = out.len();
    out.resize(at + encoded_len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(&sealed.cipher_value, &mut out[at..])
        .expect("sized for the encoding");
    out.truncate(at + written);
    out.extend_from_slice(b"</CipherValue></CipherData></EncryptedData>");
}
