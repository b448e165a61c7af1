//! What a package is: [`Info`] for `inspect` (protection, ciphers, sensitive values,
//! the metadata its root carries) and [`Facts`], the part later steps need (the
//! runtime check, msdb's columns), which a rewrite can hand on without opening its
//! output again.

use super::scan::{self, NodeKind, RootKind, Scan};
use super::ProtectionLevel;
use super::{open_scanned, xml, Opened, PackageError};
use crate::crypto::Algorithm;
use serde::Serialize;

/// What a package is, as far as can be told without (or with) its password.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Info {
    /// `package` or `package part`.
    pub kind: String,
    pub format: Option<u32>,
    /// The format could not be read (level 4) and was inferred from the product version.
    pub format_inferred: bool,
    pub protection_level: Option<u32>,
    pub protection_level_name: Option<String>,
    pub algorithms: Vec<String>,
    /// Sensitive values stored in the clear (blank ones included).
    pub sensitive_clear: Option<usize>,
    /// Of those, the blank ones (as DontSaveSensitive leaves them).
    pub sensitive_blank: Option<usize>,
    /// Password-encrypted nodes (a level 3 package counts as one).
    pub encrypted: Option<usize>,
    /// Windows DPAPI blobs (user-key protection).
    pub user_key: Option<usize>,
    pub package_id: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub version_guid: Option<String>,
    pub last_modified_product_version: Option<String>,
    pub description: Option<String>,
    pub package_type: Option<u32>,
    /// False when the package is encrypted as a whole and no password was given.
    pub contents_visible: bool,
    pub bytes: usize,
}

/// What a package says about itself that later steps need: what a runtime makes of
/// it (format, product version, ciphers) and the columns msdb files it with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub protection_level: Option<u32>,
    pub format: Option<u32>,
    pub algorithms: Vec<String>,
    pub package_id: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub version_guid: Option<String>,
    pub last_modified_product_version: Option<String>,
    pub package_type: Option<u32>,
}

impl From<&Info> for Facts {
    fn from(info: &Info) -> Self {
        Self {
            protection_level: info.protection_level,
            format: info.format,
            algorithms: info.algorithms.clone(),
            package_id: info.package_id.clone(),
            description: info.description.clone(),
            version: info.version.clone(),
            version_guid: info.version_guid.clone(),
            last_modified_product_version: info.last_modified_product_version.clone(),
            package_type: info.package_type,
        }
    }
}

impl<'a> From<&'a Info> for std::borrow::Cow<'a, Facts> {
    fn from(info: &'a Info) -> Self {
        std::borrow::Cow::Owned(Facts::from(info))
    }
}

impl<'a> From<&'a Facts> for std::borrow::Cow<'a, Facts> {
    fn from(facts: &'a Facts) -> Self {
        std::borrow::Cow::Borrowed(facts)
    }
}

impl Opened<'_> {
    /// The facts of the opened package, from the scan it was opened with.
    pub fn facts(&self) -> Facts {
        let mut info = Info::default();
        fill_metadata(&mut info, &self.doc, &self.scan);
        info.protection_level = Some(self.level.number());
        let nodes = self.scan.nodes.iter().filter_map(|n| match &n.kind {
            NodeKind::Encrypted(e) => Some(e.algorithm),
            _ => None,
        });
        info.algorithms = algorithm_names(self.whole_algorithm.into_iter().chain(nodes).collect());
        Facts::from(&info)
    }
}

/// Cipher names as `inspect` lists them: sorted, each once.
pub(super) fn algorithm_names(mut algorithms: Vec<Algorithm>) -> Vec<String> {
    algorithms.sort_by_key(|a| a.name());
    algorithms.dedup();
    algorithms.iter().map(|a| a.name().to_string()).collect()
}

/// Reports what a package is. Without the password a level 3 package shows only
/// that it is encrypted as a whole.
pub fn inspect(input: &[u8], password: Option<&str>) -> Result<Info, PackageError> {
    let mut info = Info {
        bytes: input.len(),
        ..Info::default()
    };
    let (text, encoding) = super::text::decode(input)?;
    let outer = scan::scan(&text)?;
    if outer.root_user_key {
        info.kind = "package".into();
        info.protection_level = Some(4);
        info.protection_level_name = Some(ProtectionLevel::EncryptAllWithUserKey.name().into());
        info.user_key = Some(1);
        fill_metadata(&mut info, &text, &outer);
        if info.format.is_none() {
            info.format = infer_hidden_format(&text, &outer);
            info.format_inferred = info.format.is_some();
        }
        return Ok(info);
    }
    if outer.root_kind == RootKind::EncryptedAll && password.is_none() {
        let node = outer.root_encrypted.as_ref().expect("EncryptedData root");
        info.kind = "package".into();
        info.protection_level = Some(3);
        info.protection_level_name = Some(ProtectionLevel::EncryptAllWithPassword.name().into());
        info.algorithms = vec![node.algorithm.name().into()];
        info.encrypted = Some(1);
        return Ok(info);
    }
    let opened = open_scanned(input, (text, encoding), outer, password)?;
    let doc = &opened.doc;
    let scan = &opened.scan;
    info.contents_visible = true;
    info.protection_level = Some(opened.level.number());
    info.protection_level_name = Some(opened.level.name().into());
    fill_metadata(&mut info, doc, scan);
    let mut algorithms: Vec<Algorithm> = opened.whole_algorithm.into_iter().collect();
    let (mut clear, mut blank, mut encrypted, mut user_key) = (0, 0, 0, 0);
    for node in &scan.nodes {
        match &node.kind {
            NodeKind::Clear => {
                clear += 1;
                let content = node.element.content.slice(doc);
                if content.iter().all(xml::is_xml_whitespace) {
                    blank += 1;
                }
            }
            NodeKind::Encrypted(e) => {
                encrypted += 1;
                algorithms.push(e.algorithm);
            }
            NodeKind::UserKey { .. } => user_key += 1,
        }
    }
    if opened.whole_algorithm.is_some() {
        encrypted += 1;
    }
    info.algorithms = algorithm_names(algorithms);
    info.sensitive_clear = Some(clear);
    info.sensitive_blank = Some(blank);
    info.encrypted = Some(encrypted);
    info.user_key = Some(user_key);
    Ok(info)
}

fn fill_metadata(info: &mut Info, doc: &[u8], scan: &Scan) {
    info.kind = match scan.metadata(doc, "PackageType").as_deref() {
        Some("7") => "package part".into(),
        _ => "package".into(),
    };
    info.format = scan.format;
    info.package_id = scan.metadata(doc, "DTSID");
    info.name = scan.metadata(doc, "ObjectName");
    info.version_guid = scan.metadata(doc, "VersionGUID");
    info.description = scan.metadata(doc, "Description").filter(|d| !d.is_empty());
    info.last_modified_product_version = scan.metadata(doc, "LastModifiedProductVersion");
    info.package_type = scan
        .metadata(doc, "PackageType")
        .and_then(|t| t.parse().ok());
    // SSIS leaves out version numbers that have their default (1, 0, 0).
    let part = |n: &str, default: &str| scan.metadata(doc, n).unwrap_or_else(|| default.into());
    info.version = Some(format!(
        "{}.{}.{}",
        part("VersionMajor", "1"),
        part("VersionMinor", "0"),
        part("VersionBuild", "0")
    ));
}

/// A level 4 package hides its PackageFormatVersion inside the DPAPI blob, but the
/// root's `DTS:ExecutableType` (an attribute in every format) names the release that
/// wrote it: 2005 (format 2), 2008 (3), 2012 (6), 2014 and later (8).
fn infer_hidden_format(doc: &[u8], scan: &Scan) -> Option<u32> {
    match scan.metadata(doc, "ExecutableType")?.as_str() {
        "MSDTS.Package.1" => Some(2),
        "SSIS.Package.2" => Some(3),
        "SSIS.Package.3" => Some(6),
        "Microsoft.Package" => Some(8),
        _ => None,
    }
}
