//! Findings as one SARIF 2.1.0 log, shaped for GitHub code scanning: every rule in
//! `tool.driver.rules`, every finding a result with a physical location (the package
//! file, and its line where the file shows one) and a logical one (the object's
//! refId). Validated against the OASIS schema in `tests/assess_sarif.rs`.

use super::engine::Finding;
use super::rules::{Rule, RULES};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// What a URI path segment may not hold as it is.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'^');

/// `Connection with host name may fail` → `ConnectionWithHostNameMayFail`.
fn pascal(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().expect("not empty").to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

fn rule_json(rule: &Rule) -> Value {
    let mut value = json!({
        "id": rule.id,
        "name": pascal(rule.title),
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": format!("{}. {}", rule.title, rule.recommendation) },
        "help": { "text": rule.recommendation },
        "defaultConfiguration": { "level": rule.severity.sarif_level() },
        "properties": {
            "tags": [ if rule.id.starts_with("DTU") { "dtutil" } else { "dma" }, "ssis", "azure-ssis-ir" ],
        },
    });
    if let Some(uri) = rule.help_uri {
        value["helpUri"] = json!(uri);
    }
    value
}

/// A package's name as a URI reference: a relative path with `/` and its
/// segments percent-encoded; `sql://`, `dts:` and Azure names keep their scheme.
pub fn package_uri(name: &str) -> String {
    let unified = name.replace('\\', "/");
    let (scheme, rest) = match unified.find("://") {
        Some(i) => (&unified[..i + 3], &unified[i + 3..]),
        None => match unified.strip_prefix("dts:") {
            Some(rest) => ("dts:", rest),
            None => ("", unified.trim_start_matches("./")),
        },
    };
    let encoded: Vec<String> = rest
        .split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    let joined = encoded.join("/");
    if scheme.is_empty() && unified.starts_with("//") {
        // A UNC name (\\host\share\x.dtsx) as a file URI.
        return format!("file:{joined}");
    }
    if scheme.is_empty() && unified.starts_with('/') {
        return format!("file://{joined}");
    }
    format!("{scheme}{joined}")
}

fn result_json(f: &Finding) -> Value {
    let rule_index = RULES.iter().position(|r| r.id == f.rule).unwrap_or(0);
    let mut physical = json!({ "artifactLocation": { "uri": package_uri(&f.package) } });
    physical["region"] = json!({ "startLine": f.line.unwrap_or(1) });
    // The message is read as text (GitHub shows it): package text escaped as in the
    // text report; `properties` keep the values as they are.
    let mut text = format!("{}: {}", f.title, crate::redact::inline(&f.message));
    if !f.evidence.is_empty() {
        text.push_str(&format!(
            " (evidence: {})",
            crate::redact::inline(&f.evidence)
        ));
    }
    let fingerprint = Sha256::digest(format!(
        "{}\n{}\n{}\n{}",
        f.rule, f.package, f.location, f.message
    ));
    json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": f.severity.sarif_level(),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": physical,
            "logicalLocations": [{ "fullyQualifiedName": f.location, "kind": "object" }],
        }],
        "partialFingerprints": { "dtutilFinding/v1": hex(&fingerprint[..16]) },
        "properties": {
            "package": f.package,
            "evidence": f.evidence,
            "recommendation": f.recommendation,
        },
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The whole log.
pub fn log(results: &[Vec<Finding>]) -> Value {
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "dtutil assess",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": RULES.iter().map(rule_json).collect::<Vec<_>>(),
            }},
            "results": results.iter().flatten().map(result_json).collect::<Vec<_>>(),
            "columnKind": "unicodeCodePoints",
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_names() {
        assert_eq!(
            package_uri("pkgs\\Package 221.dtsx"),
            "pkgs/Package%20221.dtsx"
        );
        assert_eq!(package_uri("./a/b.dtsx"), "a/b.dtsx");
        assert_eq!(package_uri("sql://db1/ETL/Load"), "sql://db1/ETL/Load");
        assert_eq!(package_uri("dts:File System\\X"), "dts:File%20System/X");
        assert_eq!(package_uri("/abs/x.dtsx"), "file:///abs/x.dtsx");
        assert_eq!(package_uri("\\\\h\\s\\x.dtsx"), "file://h/s/x.dtsx");
        assert_eq!(
            pascal("Connection with host name may fail"),
            "ConnectionWithHostNameMayFail"
        );
        assert_eq!(
            pascal("ORC and Parquet file format aren't by default enabled"),
            "ORCAndParquetFileFormatArenTByDefaultEnabled"
        );
    }
}
