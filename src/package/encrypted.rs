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
    decode_base64_pieces([text.as_bytes()], 0)
}

/// Base64 spread over pieces of text, XML whitespace anywhere: decoded a chunk at a
/// time into one buffer (memory: the decoded bytes and 64 KiB, whatever the size).
/// `spare`: bytes of room to leave in the buffer, so a caller that grows it around
/// the decoded bytes (a level 3 package's document) does not move them.
pub fn decode_base64_pieces<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]> + Clone,
    spare: usize,
) -> Result<Vec<u8>, String> {
    const CHUNK: usize = 64 << 10;
    let engine = b64();
    let total: usize = pieces.clone().into_iter().map(<[u8]>::len).sum();
    let mut out = Vec::with_capacity(total / 4 * 3 + 3 + spare);
    // SSIS writes a CipherValue as one run of base64, no whitespace: decoded in one
    // call. Whatever that refuses (whitespace, bad text) takes the path below, which
    // accepts the same base64 and names what is wrong.
    let mut iter = pieces.clone().into_iter();
    if let (Some(only), None) = (iter.next(), iter.next()) {
        if engine.decode_vec(only, &mut out).is_ok() {
            return Ok(out);
        }
        out.clear();
    }
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

/// Appends the base64 of the pieces' concatenation to `out`, each piece encoded
/// where it lies.
fn encode_base64_pieces(out: &mut Vec<u8>, pieces: &[&[u8]]) {
    let engine = &base64::engine::general_purpose::STANDARD;
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let mut at = out.len();
    out.resize(at + total.div_ceil(3) * 4, 0);
    // Bytes of a group of three split across pieces.
    let mut carry = [0u8; 3];
    let mut carried = 0;
    for piece in pieces {
        let mut piece = *piece;
        if carried > 0 {
            let take = (3 - carried).min(piece.len());
            carry[carried..carried + take].copy_from_slice(&piece[..take]);
            carried += take;
            piece = &piece[take..];
            if carried < 3 {
                continue;
            }
            at += engine
                .encode_slice(carry, &mut out[at..])
                .expect("sized for the encoding");
        }
        let whole = piece.len() / 3 * 3;
        at += engine
            .encode_slice(&piece[..whole], &mut out[at..])
            .expect("sized for the encoding");
        carried = piece.len() - whole;
        carry[..carried].copy_from_slice(&piece[whole..]);
    }
    at += engine
        .encode_slice(&carry[..carried], &mut out[at..])
        .expect("sized for the encoding");
    out.truncate(at);
}

/// Decodes the EncryptedData element at `outer` from the parts the scan collected.
/// `spare`: room to leave after the decoded CipherValue ([`decode_base64_pieces`]).
pub(super) fn encrypted_node(
    doc: &[u8],
    outer: Span,
    parts: &EncryptedParts,
    spare: usize,
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
    // Start tags only (`<EncryptionMethod`, `<x:EncryptionMethod`), not `</...>`, and
    // not in the CipherValue's text (base64 may spell the name; a level 3 package's
    // text is the size of the package).
    let raw = outer.slice(doc);
    let mut markup = Vec::with_capacity(parts.cipher_value.len() + 1);
    let mut from = outer.start;
    for text in &parts.cipher_value {
        markup.push(from - outer.start..text.start - outer.start);
        from = text.end;
    }
    markup.push(from - outer.start..raw.len());
    let methods = markup
        .into_iter()
        .flat_map(|part| {
            memchr::memmem::find_iter(&raw[part.clone()], b"EncryptionMethod")
                .map(move |i| part.start + i)
        })
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
        decode_base64_pieces(pieces, spare).map_err(|m| bad(format!("CipherValue: {m}")))?;
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

/// [`encrypted_data_xml`] appended to `out`.
fn write_encrypted_data(
    out: &mut Vec<u8>,
    algorithm: Algorithm,
    keys: &Keys<'_>,
    plaintext: &[u8],
) {
    let sealed = keys.seal(algorithm, plaintext, Padding::Iso10126);
    write_element(
        out,
        algorithm,
        &sealed.salt,
        &sealed.iv,
        &[&sealed.cipher_value],
    );
}

/// A whole package's EncryptedData appended to `out`: the plaintext (the package's
/// root, in the caller's buffer, which it leaves scrambled) is encrypted where it
/// lies and its CipherValue encoded straight into the output, so the package is
/// neither copied nor built apart.
pub(super) fn write_encrypted_package(
    out: &mut Vec<u8>,
    algorithm: Algorithm,
    keys: &Keys<'_>,
    plaintext: &mut [u8],
) {
    let sealed = keys.seal_in_place(algorithm, plaintext);
    let body: &[u8] = &plaintext[..sealed.whole_len];
    write_element(
        out,
        algorithm,
        &sealed.salt,
        &sealed.iv,
        &[&sealed.iv, body, &sealed.last],
    );
}

/// SSIS's EncryptedData element, its CipherValue the base64 of `cipher_value`'s pieces.
fn write_element(
    out: &mut Vec<u8>,
    algorithm: Algorithm,
    salt: &[u8],
    iv: &[u8],
    cipher_value: &[&[u8]],
) {
    let encoded_len = cipher_value
        .iter()
        .map(|p| p.len())
        .sum::<usize>()
        .div_ceil(3)
        * 4;
    out.reserve(encoded_len + 320);
    out.extend_from_slice(
        b"<EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\" Salt=\"",
    );
    out.extend_from_slice(encode_base64(salt).as_bytes());
    out.extend_from_slice(b"\" IV=\"");
    out.extend_from_slice(encode_base64(iv).as_bytes());
    out.extend_from_slice(b"\" xmlns=\"");
    out.extend_from_slice(XMLENC_NS.as_bytes());
    out.extend_from_slice(b"\"><EncryptionMethod Algorithm=\"");
    out.extend_from_slice(algorithm.uri().as_bytes());
    out.extend_from_slice(b"\" /><CipherData><CipherValue>");
    encode_base64_pieces(out, cipher_value);
    out.extend_from_slice(b"</CipherValue></CipherData></EncryptedData>");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces encode to the base64 of their concatenation, however they split.
    #[test]
    fn pieces_encode_as_one() {
        let bytes: Vec<u8> = (0..40u8).collect();
        let engine = &base64::engine::general_purpose::STANDARD;
        for a in 0..bytes.len() {
            for b in a..bytes.len() {
                let mut out = b"x".to_vec();
                encode_base64_pieces(&mut out, &[&bytes[..a], &bytes[a..b], &[], &bytes[b..]]);
                assert_eq!(out[1..], *engine.encode(&bytes).as_bytes(), "{a} {b}");
            }
        }
    }

    /// The one-call path and the chunked path decode alike, and refuse alike.
    #[test]
    fn one_run_and_pieces_decode_alike() {
        for text in [
            "aGVsbG8=",
            "aGVsbG8",
            "aGVs bG8=",
            "aGVs*bG8=",
            "aG=Vs",
            "aGVsbG8=aGVs",
            "",
        ] {
            let one = decode_base64_pieces([text.as_bytes()], 0);
            let split: Vec<&[u8]> = text.as_bytes().chunks(3).collect();
            let pieces = decode_base64_pieces(split, 0);
            assert_eq!(one, pieces, "{text}");
        }
    }
}
