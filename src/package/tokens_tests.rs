//! The tokenizer reads as quick-xml reads: the same tokens, spans, attributes and
//! errors, on every fixture, every fixture cut short, and markup made to go wrong.

use super::{Token, Tokens};
use std::path::{Path, PathBuf};

#[path = "tokens_reference.rs"]
mod reference;
use reference::{quick_xml_reading, tokens_reading};

fn same_reading(doc: &[u8], what: &str) {
    let from = if doc.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let theirs = quick_xml_reading(doc, from);
    let ours = tokens_reading(doc, from);
    if ours != theirs {
        let at = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
        panic!(
            "{what}: read differently at item {at}:\n  quick-xml: {:?}\n  tokens:    {:?}",
            theirs.get(at),
            ours.get(at)
        );
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    for dir in [
        "fixtures",
        "tests/data",
        "tests/golden",
        "../shared/fixtures/real",
    ] {
        files(&root.join(dir), &mut all);
    }
    all.sort();
    all
}

#[test]
fn every_fixture_reads_as_quick_xml_reads_it() {
    let all = fixtures();
    let real = all
        .iter()
        .filter(|p| p.to_string_lossy().contains("fixtures/real"))
        .count();
    // The real fixtures skip silently only when the shared folder is absent.
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/real")
        .is_dir()
    {
        assert!(real >= 20, "only {real} real fixtures found");
    }
    assert!(all.len() >= 10, "{all:?}");
    for path in &all {
        let doc = std::fs::read(path).unwrap();
        same_reading(&doc, &path.display().to_string());
    }
}

/// Every prefix of the small fixtures (every place a file can be cut), and 200 of
/// each larger one: unterminated tags, values, comments, end tags. (Every prefix of
/// them all would read ~10 GB in a debug build.)
#[test]
fn every_fixture_cut_short_fails_as_quick_xml_fails() {
    for path in fixtures() {
        let doc = std::fs::read(&path).unwrap();
        let step = if doc.len() < 10_000 {
            1
        } else {
            doc.len() / 200
        };
        for cut in (0..doc.len()).step_by(step) {
            same_reading(&doc[..cut], &format!("{} cut at {cut}", path.display()));
        }
    }
}

/// Each fixture with one byte changed to markup's own characters, at places spread
/// over it: quotes, `<`, `>`, `/`, `=`, `&`, whitespace, `!`, `?`.
#[test]
fn fixtures_with_a_byte_changed_read_as_quick_xml_reads_them() {
    for path in fixtures() {
        let doc = std::fs::read(&path).unwrap();
        if doc.is_empty() {
            continue;
        }
        let step = (doc.len() / 100).max(1);
        for (n, at) in (0..doc.len()).step_by(step).enumerate() {
            let mut changed = doc.clone();
            changed[at] = b"\"'<>/=& \n!?-]"[n % 13];
            same_reading(&changed, &format!("{} byte {at} changed", path.display()));
        }
    }
}

#[test]
fn edge_cases_read_as_quick_xml_reads_them() {
    let cases: &[&str] = &[
        "",
        "<",
        "<a",
        "<a>",
        "<a/>",
        "<a />",
        "<a/ >",
        "< a>",
        "<>",
        "<></>",
        "< >",
        "<a></a >",
        "<a></a\t\r\n>",
        "<a></ a>",
        "<a></b>",
        "</a>",
        "<a></a><b/>",
        "<a b='1'></a>",
        "<a b=\"1\"c=\"2\"/>",
        "<a b = '1' c\n=\n\"2\" />",
        "<a b=\"1>\" c='>'>x</a>",
        "<a b=\"it's\"/>",
        "<a b='say \"hi\"'/>",
        "<a b=1/>",
        "<a b/>",
        "<a b=/>",
        "<a b=\"1/>",
        "<a =\"1\"/>",
        "<a b==\"1\"/>",
        "<a b\"c=\"1\"/>",
        "<a'>'></a'>'>",
        "<a\"b\"></a\"b\">",
        "<a'b'></a'b'>",
        "<a\"></a\">\">",
        "<a' x='></a'>'>",
        "<a\" x=\"></a\">\">",
        "<a=b></a=b>",
        "<a/b></a/b>",
        "<a\u{1}b></a\u{1}b>",
        "<a b\u{1}=\"1\"/>",
        "<é attr=\"é\"></é>",
        "<a b=\"&amp;\" c=\"&\"/>",
        "<a>x &amp; y</a>",
        "<a>&</a>",
        "&",
        "x&y",
        "<a>text",
        "<a>text&",
        "<!-- c --><a/>",
        "<!---->",
        "<!--->",
        "<!-->",
        "<!-- -- -->",
        "<!--- -->",
        "<!-x-->",
        "<!-",
        "<!",
        "<!x>",
        "<a><![CDATA[x]]></a>",
        "<a><![CDATA[]]></a>",
        "<![CDATA[",
        "<![]]>",
        "<![CDAT]]>",
        "<![cdata[x]]>",
        "<a><![CDATA[x]>]]></a>",
        "<!DOCTYPE a>",
        "<!doctype a>",
        "<!DOCTYPE>",
        "<!DOCTYPE   >",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a/>",
        "<!DOCTYPE a [<!ENTITY x \"y\">",
        "<!Doc>",
        "<!D",
        "<?xml version=\"1.0\"?><a/>",
        "<?xml?>",
        "<?xml ?>",
        "<?xmlx?>",
        "<?XML ?>",
        "<?>",
        "<??>",
        "<?pi x?>",
        "<?pi",
        "<?pi ?",
        "<?pi >?>",
        "<a></a></a>",
        "<a><b></a></b>",
        "  <a/>  ",
        "<a/>x",
        "<a>\r\n        \r\n          <b/>\r\n</a>",
        "<a\r\n          b=\"1\"\r\n          c=\"2\">",
        "<a                 b=\"1\"                  />",
        "<a b=\"1\"                  ",
    ];
    for case in cases {
        same_reading(case.as_bytes(), &format!("{case:?}"));
    }
    let deep = "<a>".repeat(2000) + &"</a>".repeat(2000);
    same_reading(deep.as_bytes(), "deep");
    let many = format!(
        "<a {}/>",
        (0..5000)
            .map(|i| format!("n{i}=\"{i}\""))
            .collect::<Vec<_>>()
            .join(" ")
    );
    same_reading(many.as_bytes(), "many attributes");
}
