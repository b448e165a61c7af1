//! Project deployment files (SPEC 4): `.dtproj`, `@Project.manifest`, `.params`,
//! `.conmgr`, and whole projects (a folder with its `.dtproj`, or an `.ispac`).
//!
//! [`file`] reads and re-protects one project file with byte fidelity; [`run`] carries
//! out `dtutil project` over a whole project (packages through [`crate::package`]).

pub mod file;
pub(crate) mod ispac;
mod layout;
pub mod lock;
mod reprotect;
mod run;
pub mod scan;
mod write;

pub use file::{Kind, ProjectError, Reprotected, Value};
pub use run::run;

use crate::package::{xml, ProtectionLevel, DPAPI_PREFIX};
use quick_xml::events::Event;
use serde::Serialize;

const SSIS_NS: &[u8] = b"www.microsoft.com/SqlServer/SSIS";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProjectFileInfo {
    /// `project manifest`, `project parameters` or `connection manager`.
    pub kind: String,
    pub protection_level: Option<u32>,
    pub protection_level_name: Option<String>,
    /// True when the level is not written in the file but read off its contents.
    pub level_inferred: bool,
    /// Sensitive values encrypted with a password (attribute form: Salt and IV on the
    /// element; a file encrypted as a whole counts as one, as a level 3 package does).
    /// The `.dtproj`'s PasswordVerifier is no sensitive value: `password_verifier`.
    pub encrypted: usize,
    pub user_key: usize,
    /// Sensitive values stored in the clear, blank ones included (as for packages).
    pub sensitive_clear: usize,
    /// Of those, the blank ones (as DontSaveSensitive leaves them).
    pub sensitive_blank: usize,
    pub bytes: usize,
    /// With a password: whether it opens the file (for a `.dtproj` at level 2, whether
    /// the PasswordVerifier decrypts to `SSIS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_correct: Option<bool>,
    /// `.dtproj` / manifest: `password`, `user key` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_verifier: Option<String>,
}

/// [`inspect`], and with a password, whether it opens the file.
pub fn inspect_with_password(
    doc: &[u8],
    password: Option<&str>,
) -> Result<Option<ProjectFileInfo>, String> {
    let Some(mut info) = inspect(doc)? else {
        return Ok(None);
    };
    let kind = match info.kind.as_str() {
        "project manifest" => Kind::Dtproj,
        "project parameters" => Kind::Params,
        _ => Kind::ConnectionManager,
    };
    if kind == Kind::Dtproj {
        if let Ok(s) = scan::scan(doc) {
            let verifier = s.elems.iter().enumerate().find(|(i, e)| {
                e.local() == "Property"
                    && s.ssis_attr(*i, "Name")
                        .is_some_and(|a| a.text() == "PasswordVerifier")
            });
            info.password_verifier = Some(
                match verifier {
                    None => "none",
                    Some((i, e))
                        if s.ssis_attr(i, "Salt").is_none() && !e.content(doc).is_empty() =>
                    {
                        "user key"
                    }
                    Some(_) => "password",
                }
                .into(),
            );
        }
    }
    if let Some(pw) = password {
        if info.encrypted > 0 || info.password_verifier.as_deref() == Some("password") {
            info.password_correct = match file::open(doc, kind, Some(pw)) {
                Ok(_) => Some(true),
                Err(ProjectError::WrongPassword) => Some(false),
                Err(e) => return Err(e.to_string()),
            };
        }
    }
    Ok(Some(info))
}

/// Reads a project file's kind and protection; `None` when it is not one.
pub fn inspect(doc: &[u8]) -> Result<Option<ProjectFileInfo>, String> {
    if doc.len() > xml::MAX_PACKAGE_BYTES {
        return Err("file too large".into());
    }
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().trim_text(false);
    let mut depth = 0usize;
    let mut kind = None;
    let mut declared_level = None;
    let mut root_encrypted = false;
    let (mut encrypted, mut user_key, mut clear, mut blank) = (0, 0, 0, 0);
    // The open sensitive element: its depth, and what its text was (Some(true): DPAPI).
    let mut in_sensitive: Option<(usize, Option<bool>)> = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            let (line, col) = xml::line_col(doc, reader.error_position() as usize);
            format!("not well-formed XML at line {line}, column {col}: {e}")
        })?;
        match event {
            Event::Eof => break,
            Event::DocType(_) => return Err("a DTD (<!DOCTYPE>) is not allowed".into()),
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_start = matches!(event, Event::Start(_));
                if depth >= xml::MAX_DEPTH {
                    return Err(format!(
                        "elements nest deeper than {} levels",
                        xml::MAX_DEPTH
                    ));
                }
                let name = e.name().as_ref().to_vec();
                let local = name.rsplit(|b| *b == b':').next().unwrap_or(&name).to_vec();
                let mut has_salt = false;
                let mut sensitive = false;
                let mut verifier = false;
                let mut marked_user_key = false;
                for a in e.attributes().flatten() {
                    let key = a.key.as_ref();
                    let key_local = key.rsplit(|b| *b == b':').next().unwrap_or(key);
                    match key_local {
                        b"Salt" => has_salt = true,
                        b"Name" if a.value.as_ref() == b"PasswordVerifier" => verifier = true,
                        b"Sensitive" if xml::unescape(&a.value) == "1" => sensitive = true,
                        b"Encrypted" if xml::unescape(&a.value) == "1" => marked_user_key = true,
                        b"ProtectionLevel" if local == b"Project" => {
                            declared_level = ProtectionLevel::from_name(&xml::unescape(&a.value));
                        }
                        _ => {}
                    }
                    if key.starts_with(b"xmlns")
                        && a.value.as_ref() == SSIS_NS
                        && kind.is_none()
                        && depth == 0
                    {
                        kind = Some(match local.as_slice() {
                            b"Parameters" => "project parameters",
                            _ => "project file",
                        });
                    }
                }
                if depth == 0 {
                    kind = match local.as_slice() {
                        b"Project" => Some("project manifest"),
                        b"Parameters" => Some("project parameters"),
                        b"ConnectionManager" => Some("connection manager"),
                        _ => kind,
                    };
                    root_encrypted = has_salt;
                }
                if has_salt && !verifier {
                    encrypted += 1;
                } else if marked_user_key {
                    user_key += 1;
                } else if sensitive && !has_salt && is_start {
                    in_sensitive = Some((depth, None));
                } else if sensitive && !has_salt {
                    (clear, blank) = (clear + 1, blank + 1);
                }
                if is_start {
                    depth += 1;
                }
            }
            Event::Text(t) if in_sensitive.is_some() => {
                let dpapi = t.starts_with(DPAPI_PREFIX.as_bytes());
                let blank = t.iter().all(xml::is_xml_whitespace);
                if let Some((_, seen)) = &mut in_sensitive {
                    if !blank || dpapi {
                        *seen = Some(seen.unwrap_or(false) || dpapi);
                    }
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let Some((_, seen)) = in_sensitive.filter(|(at, _)| *at == depth) {
                    match seen {
                        Some(true) => user_key += 1,
                        Some(false) => clear += 1,
                        None => (clear, blank) = (clear + 1, blank + 1),
                    }
                    in_sensitive = None;
                }
            }
            _ => {}
        }
    }
    let Some(kind) = kind else { return Ok(None) };
    // Parameters and connection managers do not record the level; their contents show it.
    let inferred = if root_encrypted {
        ProtectionLevel::EncryptAllWithPassword
    } else if encrypted > 0 {
        ProtectionLevel::EncryptSensitiveWithPassword
    } else if user_key > 0 {
        ProtectionLevel::EncryptSensitiveWithUserKey
    } else {
        ProtectionLevel::DontSaveSensitive
    };
    let level = declared_level.unwrap_or(inferred);
    Ok(Some(ProjectFileInfo {
        kind: kind.to_string(),
        protection_level: Some(level.number()),
        protection_level_name: Some(level.name().to_string()),
        level_inferred: declared_level.is_none(),
        encrypted,
        user_key,
        sensitive_clear: clear,
        sensitive_blank: blank,
        bytes: doc.len(),
        password_correct: None,
        password_verifier: None,
    }))
}
