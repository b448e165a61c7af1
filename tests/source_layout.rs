//! The developers' guide's shape rules, checked on the source itself: no source file
//! over 700 lines (unit-test files aside), and the layering a reviewer would grep for
//! (`crypto`, `package`, `store` and `ops` import nothing above them).

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 700;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Unit-test files (`tests.rs`, `*_tests.rs`) may be long.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_stem().unwrap().to_string_lossy();
    name == "tests" || name.ends_with("_tests")
}

#[test]
fn no_source_file_is_over_700_lines() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    assert!(files.len() > 50, "src/ was not found");
    let long: Vec<String> = files
        .iter()
        .filter(|p| !is_test_file(p))
        .filter_map(|p| {
            let n = std::fs::read_to_string(p).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

/// The modules a file names after `crate::`: `crate::a::b` gives `a`, and
/// `use crate::{a, b::c}` gives `a` and `b`.
fn crate_modules(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        out.push(ident(&group[j..]));
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

#[test]
fn lower_layers_import_nothing_above_them() {
    let rules: [(&str, &[&str]); 4] = [
        (
            "crypto",
            &["plan", "cli", "ops", "store", "package", "project", "batch"],
        ),
        (
            "package",
            &["plan", "cli", "ops", "store", "project", "batch"],
        ),
        ("store", &["cli", "ops", "package", "project", "batch"]),
        ("ops", &["project", "batch"]),
    ];
    let mut broken = Vec::new();
    for (layer, forbidden) in rules {
        let mut files = Vec::new();
        sources(&src().join(layer), &mut files);
        for file in files.iter().filter(|p| !is_test_file(p)) {
            let text = std::fs::read_to_string(file).unwrap();
            for module in crate_modules(&text) {
                if forbidden.contains(&module.as_str()) {
                    broken.push(format!("{} imports crate::{module}", file.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn import_parsing() {
    assert_eq!(
        crate_modules("use crate::{a::{x, y}, b};\nlet z = crate::c::f();"),
        vec!["a", "b", "c"]
    );
}
