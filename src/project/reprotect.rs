//! Re-protecting one project file: every sensitive value (and the PasswordVerifier of
//! a `.dtproj`) to the new level, changing only the bytes that must change.

use super::file::{
    algorithm_of, container, crypto_attrs, expand, find_sensitive, inner_of, label, level_attr,
    level_of, malformed, manifest_project, normalise, open, open_value, style_for, Kind, Node,
    ProjectError, Reprotected, B64, BOM, VERIFIER_TEXT,
};
use super::layout::{
    apply, compact, crypto_start_tag, plaintext, seal, strip_tag, with_leading_ws,
};
use super::scan::{self, indent_at, Doc, Style, SSIS_NS};
use crate::crypto::Algorithm;
use crate::package::{xml, ProtectionLevel};
use base64::Engine;

/// Re-protects one project file.
///
/// `decrypt`: the current password (needed when anything is password-encrypted).
/// `level`: 0, 2 or 3; `password`: the new password for 2 and 3. A value protected
/// with a Windows user key (level 1) is refused unless the level is 0; see
/// [`reprotect_allowing_lost`].
pub fn reprotect(
    input: &[u8],
    kind: Kind,
    decrypt_password: Option<&str>,
    level: ProtectionLevel,
    password: Option<&str>,
) -> Result<Reprotected, ProjectError> {
    reprotect_allowing_lost(input, kind, decrypt_password, level, password, false)
}

/// [`reprotect`], with `allow_lost`: user-key values (which only their Windows user can
/// open) are written blank at any level and named in `lost_values`
/// (`--allow-lost-sensitive`).
pub fn reprotect_allowing_lost(
    input: &[u8],
    kind: Kind,
    decrypt_password: Option<&str>,
    level: ProtectionLevel,
    password: Option<&str>,
    allow_lost: bool,
) -> Result<Reprotected, ProjectError> {
    let alg = Algorithm::TripleDes;
    if !matches!(
        level,
        ProtectionLevel::DontSaveSensitive
            | ProtectionLevel::EncryptSensitiveWithPassword
            | ProtectionLevel::EncryptAllWithPassword
    ) {
        return Err(ProjectError::Unsupported(format!(
            "project files can be written at levels 0, 2 and 3 here, not {level}"
        )));
    }
    let new_pw = || {
        password.ok_or_else(|| {
            ProjectError::Unsupported(format!("protection level {level} needs a password"))
        })
    };
    if level.needs_password() {
        new_pw()?;
    }
    let (doc, was_all) = expand(input, kind, decrypt_password)?;
    let s = scan::scan(&doc).map_err(malformed)?;
    let style = style_for(&doc, &s, kind);
    let nodes = find_sensitive(&s, &doc)?;
    let level_before = if was_all {
        ProtectionLevel::EncryptAllWithPassword
    } else {
        level_of(&s, &nodes)
    };

    // Open every value first: a wrong password fails before anything is built.
    let mut clear: Vec<Option<zeroize::Zeroizing<Vec<u8>>>> = Vec::with_capacity(nodes.len());
    let mut lost = Vec::new();
    for n in &nodes {
        clear.push(match &n.node {
            Node::Encrypted { salt, iv, ciphertext } => {
                let pw = decrypt_password.ok_or(ProjectError::NeedsPassword)?;
                let alg = algorithm_of(&s, n.elem, iv.len())?;
                let plain = open_value(alg, pw, salt, iv, ciphertext)?;
                let inner = inner_of(&plain)?;
                if n.verifier && inner != VERIFIER_TEXT {
                    return Err(ProjectError::WrongPassword);
                }
                Some(zeroize::Zeroizing::new(normalise(&inner)))
            }
            Node::Clear => Some(zeroize::Zeroizing::new(normalise(s.elems[n.elem].content(&doc)))),
            Node::UserKey
                if n.verifier || allow_lost || level == ProtectionLevel::DontSaveSensitive =>
            {
                if !n.verifier {
                    lost.push(label(&s, n.elem));
                }
                None
            }
            Node::UserKey => {
                return Err(ProjectError::UserKey(format!(
                    "`{}` is protected with the Windows user key (DPAPI, level 1): only the Windows user who saved it can open it; add --allow-lost-sensitive to write it blank (or write level 0, which drops every value), or re-save the project with a password on that machine",
                    label(&s, n.elem)
                )))
            }
        });
    }

    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    // Level markers: the manifest's name and each package entry's number.
    if let Some((_, a)) = level_attr(&s) {
        edits.push((a.value_start, a.value_end, level.name().as_bytes().to_vec()));
    }
    for (i, e) in s.elems.iter().enumerate() {
        if e.local() == "Property"
            && s.ssis_attr(i, "Name")
                .is_some_and(|a| a.text() == "ProtectionLevel")
            && e.parent
                .and_then(|p| s.elems[p].parent)
                .is_some_and(|g| s.elems[g].local() == "PackageMetaData")
            && !e.self_closing
        {
            edits.push((
                e.tag_end,
                e.content_end,
                level.number().to_string().into_bytes(),
            ));
        }
    }
    let blank = |i: usize| -> Vec<u8> {
        if style.empty_as_newline {
            format!("{}{}", style.newline, indent_at(&doc, s.elems[i].start)).into_bytes()
        } else {
            Vec::new()
        }
    };
    let mut has_verifier = false;
    for (n, value) in nodes.iter().zip(&clear) {
        let e = &s.elems[n.elem];
        has_verifier |= n.verifier;
        let strip_crypto = || strip_tag(&doc, &s, n.elem, &crypto_attrs(&s, n.elem));
        match level {
            ProtectionLevel::EncryptSensitiveWithPassword => {
                let inner: &[u8] = if n.verifier {
                    VERIFIER_TEXT
                } else {
                    value.as_deref().map_or(&[][..], |v| &v[..])
                };
                let sealed = seal(alg, new_pw()?, &plaintext(&s, n.elem, inner));
                let mut rep = crypto_start_tag(&doc, &s, n.elem, &style, &sealed.salt, &sealed.iv);
                rep.extend_from_slice(B64.encode(sealed.ciphertext()).as_bytes());
                edits.push((e.start, e.content_end, rep));
            }
            _ if n.verifier => {
                let (a, b) = with_leading_ws(&doc, e.start, e.end);
                edits.push((a, b, Vec::new()));
            }
            ProtectionLevel::DontSaveSensitive => {
                let mut rep = strip_crypto();
                rep.extend(blank(n.elem));
                edits.push((e.start, e.content_end, rep));
            }
            _ => {
                // EncryptAll: values in the clear inside the sealed whole.
                let mut rep = strip_crypto();
                match value {
                    Some(v) if !v.is_empty() => rep.extend_from_slice(v),
                    _ => rep.extend(blank(n.elem)),
                }
                edits.push((e.start, e.content_end, rep));
            }
        }
    }
    if level == ProtectionLevel::EncryptSensitiveWithPassword && !has_verifier {
        if let Some(p) = manifest_project(&s) {
            edits.push(insert_verifier(&doc, &s, p, &style, new_pw()?)?);
        }
    }
    let values = nodes.iter().filter(|n| !n.verifier).count();
    let out = apply(&doc, 0, edits);
    let bytes = if level == ProtectionLevel::EncryptAllWithPassword {
        seal_all(&out, kind, alg, new_pw()?)?
    } else {
        out
    };
    // Never hand back a file that does not open again: the fuzzer found odd namespace
    // declarations (a foreign `xmlns:p1` beside `p1:` attributes) that made the sealed
    // result unreadable.
    open(&bytes, kind, password).map_err(|e| {
        ProjectError::Unsupported(format!(
            "the re-protected file would not open again ({e}); nothing written. Its namespace declarations are unusual: check the file's XML"
        ))
    })?;
    Ok(Reprotected {
        bytes,
        level_before,
        level_after: level,
        values,
        lost_values: lost,
    })
}

fn insert_verifier(
    doc: &[u8],
    s: &Doc,
    project: usize,
    style: &Style,
    password: &str,
) -> Result<(usize, usize, Vec<u8>), ProjectError> {
    let props = s
        .children(project)
        .find(|&c| s.elems[c].local() == "Properties" && s.elem_is_ssis(c))
        .ok_or_else(|| {
            ProjectError::Unsupported(
                "the project manifest has no SSIS:Properties to hold the PasswordVerifier".into(),
            )
        })?;
    let p = s.prefix_for(props, SSIS_NS).expect("SSIS element");
    let plain = format!(
        "<{p}:Property {p}:Name=\"PasswordVerifier\" {p}:Sensitive=\"1\" xmlns:{p}=\"{SSIS_NS}\">SSIS</{p}:Property>"
    );
    let mut bytes = BOM.to_vec();
    bytes.extend_from_slice(plain.as_bytes());
    let sealed = seal(Algorithm::TripleDes, password, &bytes);
    let elem = format!(
        "<{p}:Property {p}:Name=\"PasswordVerifier\" {p}:Sensitive=\"1\" {p}:Salt=\"{}\" {p}:IV=\"{}\">{}</{p}:Property>",
        B64.encode(&sealed.salt),
        B64.encode(&sealed.iv),
        B64.encode(sealed.ciphertext())
    );
    let kids: Vec<usize> = s.children(props).collect();
    let format_version = kids.iter().copied().find(|&k| {
        s.ssis_attr(k, "Name")
            .is_some_and(|a| a.value == "FormatVersion")
    });
    if let Some(fv) = format_version {
        let at = s.elems[fv].start;
        let ind = indent_at(doc, at);
        return Ok((at, at, format!("{elem}{}{ind}", style.newline).into_bytes()));
    }
    let pe = &s.elems[props];
    let (at, ind) = match kids.last() {
        Some(&k) => (s.elems[k].end, indent_at(doc, s.elems[k].start)),
        None => (
            pe.tag_end,
            format!("{}{}", indent_at(doc, pe.start), style.unit),
        ),
    };
    Ok((at, at, format!("{}{ind}{elem}", style.newline).into_bytes()))
}

/// Seals the EncryptAll element of a document whose values are all in the clear.
fn seal_all(
    doc: &[u8],
    kind: Kind,
    alg: Algorithm,
    password: &str,
) -> Result<Vec<u8>, ProjectError> {
    let s = scan::scan(doc).map_err(malformed)?;
    let c = container(&s).ok_or_else(|| ProjectError::Malformed("no root element".into()))?;
    let mut plain = zeroize::Zeroizing::new(BOM.to_vec());
    plain.extend(compact(doc, &s, c)?);
    let sealed = seal(alg, password, &plain);
    let style = style_for(doc, &s, kind);
    let e = &s.elems[c];
    let mut out = Vec::with_capacity(doc.len());
    out.extend_from_slice(&doc[..e.start]);
    let mut tag = crypto_start_tag(doc, &s, c, &style, &sealed.salt, &sealed.iv);
    if e.self_closing {
        // `<X ... />` -> `<X ...>`
        let cut = tag.len() - 2;
        tag.truncate(cut);
        while tag.last().is_some_and(xml::is_xml_whitespace) {
            tag.pop();
        }
        tag.push(b'>');
    }
    out.extend_from_slice(&tag);
    out.extend_from_slice(B64.encode(sealed.ciphertext()).as_bytes());
    out.extend_from_slice(format!("</{}>", e.name).as_bytes());
    out.extend_from_slice(&doc[e.end..]);
    Ok(out)
}
