//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The real SSIS files (SPEC 5), read in place; `None` (and a printed reason) when absent.
pub fn real_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("DTUTIL_REAL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: real SSIS fixtures not found at {} (set DTUTIL_REAL_FIXTURES)",
            dir.display()
        );
        None
    }
}

pub fn real_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.ends_with(".password") && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

pub fn password_of(path: &std::path::Path) -> Option<String> {
    let mut p = path.as_os_str().to_owned();
    p.push(".password");
    std::fs::read_to_string(PathBuf::from(p)).ok()
}

/// The protection level named in a fixture's file name.
pub fn level_in_name(name: &str) -> u32 {
    for (word, level) in [
        ("DontSaveSensitive", 0),
        ("EncryptSensitiveWithUserKey", 1),
        ("EncryptSensitiveWithPassword", 2),
        ("EncryptAllWithPassword", 3),
        ("EncryptAllWithUserKey", 4),
    ] {
        if name.contains(&format!(".{word}.")) {
            return level;
        }
    }
    panic!("no level in fixture name {name}")
}

/// `fmtN` in a fixture's file name.
pub fn format_in_name(name: &str) -> Option<u32> {
    name.split('.')
        .find_map(|part| part.strip_prefix("fmt").and_then(|n| n.parse().ok()))
}

/// Independent of the code under test: walks the XML with quick-xml and returns
/// (number of EncryptedData elements, texts of every sensitive element).
pub fn sensitive_texts(doc: &[u8]) -> (usize, Vec<String>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(doc);
    reader.config_mut().trim_text(false);
    let mut encrypted = 0;
    let mut texts = Vec::new();
    // Depth of the sensitive element we are inside, and its text so far.
    let mut inside: Option<(usize, String)> = None;
    let mut depth = 0usize;
    let mut sensitive_param = false;
    let mut stub_depth = None;
    loop {
        match reader.read_event().expect("well-formed") {
            Event::Eof => break,
            Event::Start(e) => {
                depth += 1;
                let name = e.name().as_ref().to_vec();
                if name.ends_with(b"EncryptedData") {
                    encrypted += 1;
                }
                let attr = |k: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k)
                        .map(|a| a.value.to_vec())
                };
                if name == b"DTS:PackageParameter" {
                    sensitive_param = attr(b"DTS:Sensitive").as_deref() == Some(b"True");
                }
                let is_param_value = attr(b"DTS:Name").as_deref() == Some(b"ParameterValue");
                if inside.is_none() {
                    if attr(b"Sensitive").as_deref() == Some(b"1")
                        || (is_param_value && stub_depth.is_some())
                    {
                        inside = Some((depth, String::new()));
                    } else if is_param_value && sensitive_param {
                        stub_depth = Some(depth);
                    }
                }
            }
            Event::Empty(e) if e.name().as_ref().ends_with(b"EncryptedData") => {
                encrypted += 1;
            }
            Event::Text(t) => {
                if let Some((_, s)) = inside.as_mut() {
                    s.push_str(&t.unescape().unwrap());
                }
            }
            Event::End(e) => {
                if inside.as_ref().is_some_and(|(d, _)| *d == depth) {
                    texts.push(inside.take().unwrap().1);
                }
                if stub_depth == Some(depth) {
                    stub_depth = None;
                }
                if e.name().as_ref() == b"DTS:PackageParameter" {
                    sensitive_param = false;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    (encrypted, texts)
}

/// Runs the built `dtutil` in `dir` with no terminal on stdin and none of the caller's
/// `AZURE_*` / `DTUTIL_*` variables (a developer's own settings must not steer a test),
/// then `env`.
pub fn dtutil_clean(
    dir: &std::path::Path,
    env: &[(String, String)],
    args: &[&str],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dtutil"));
    cmd.current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.output().unwrap()
}

/// An exit code with both output streams, for assertion messages.
pub fn shown(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
