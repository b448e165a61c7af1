//! Hostile inputs beyond the failure table (`cli_failures.rs`): entity-expansion bombs,
//! encrypted payloads that decrypt to hostile XML, giant and sparse files, lengths that
//! claim 2 GiB, IVs of the wrong size, CipherValue lengths off by one, bad padding,
//! duplicate markers. Each must end with a clear error and exit 5, within bounded memory
//! (the child's own peak RSS, from wait4) and time, with nothing written.
//!
//! Unix only: the dtutil runs are measured with wait4 (tests/harden).
#![cfg(unix)]

mod harden;

use base64::Engine as _;
use dtutil::crypto::Algorithm;
use dtutil::crypto::{self, Padding};
use harden::{clear_package, run_measured, snapshot};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const PW: &str = "right";
/// Peak RSS allowed for any hostile input (a debug dtutil idles at a few MiB).
const RSS_LIMIT_KIB: i64 = 96 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(30);
const DTS: &str = "www.microsoft.com/SqlServer/Dts";

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// The sensitive element as SSIS encrypts it (namespace declared first).
fn element_plaintext(value: &str) -> String {
    format!(
        r#"<DTS:Password xmlns:DTS="{DTS}" DTS:Name="Password" Sensitive="1">{value}</DTS:Password>"#
    )
}

/// A level 2 package whose one EncryptedData node carries these fields as they are.
fn level2(alg: &str, salt: &str, iv: &str, cipher: &str) -> String {
    clear_package("Hostile", "x")
        .replace("DTS:ProtectionLevel=\"5\"", "DTS:ProtectionLevel=\"2\"")
        .replace(
            r#"<DTS:Password DTS:Name="Password" Sensitive="1">x</DTS:Password>"#,
            &format!(
                r#"<EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element" Salt="{salt}" IV="{iv}" xmlns="http://www.w3.org/2001/04/xmlenc#"><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#{alg}" /><CipherData><CipherValue>{cipher}</CipherValue></CipherData></EncryptedData>"#
            ),
        )
}

fn alg_uri(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::TripleDes => "tripledes-cbc",
        Algorithm::Aes256 => "aes256-cbc",
    }
}

/// A level 2 node sealed with the right password around `plaintext`.
fn level2_sealed(alg: Algorithm, plaintext: &[u8]) -> String {
    let s = crypto::seal(alg, PW, plaintext, Padding::Iso10126);
    level2(
        alg_uri(alg),
        &b64(&s.salt),
        &b64(&s.iv),
        &b64(&s.cipher_value),
    )
}

/// A level 3 package: the whole (hostile) document sealed with the right password.
fn level3_sealed(alg: Algorithm, plaintext: &[u8]) -> String {
    let s = crypto::seal(alg, PW, plaintext, Padding::Iso10126);
    format!(
        "\u{feff}<?xml version=\"1.0\"?><EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\" Salt=\"{}\" IV=\"{}\" xmlns=\"http://www.w3.org/2001/04/xmlenc#\"><EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#{}\" /><CipherData><CipherValue>{}</CipherValue></CipherData></EncryptedData>",
        b64(&s.salt),
        b64(&s.iv),
        alg_uri(alg),
        b64(&s.cipher_value)
    )
}

/// A level 2 node whose decrypted last byte (the ISO 10126 pad length) is `last`: the
/// plaintext is block-aligned and ends in `last`, and the pad block SSIS would add is cut.
fn level2_with_pad_byte(alg: Algorithm, last: u8) -> String {
    let block = if alg == Algorithm::TripleDes { 8 } else { 16 };
    let mut plain = element_plaintext("v").into_bytes();
    while !(plain.len() + 1).is_multiple_of(block) {
        plain.push(b' ');
    }
    plain.push(last);
    let s = crypto::seal(alg, PW, &plain, Padding::Iso10126);
    let cut = &s.cipher_value[..s.cipher_value.len() - block];
    level2(alg_uri(alg), &b64(&s.salt), &b64(&s.iv), &b64(cut))
}

fn billion_laughs() -> String {
    let mut dtd = String::from("<!DOCTYPE DTS:Executable [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..=10 {
        let refs = format!("&lol{};", i - 1).repeat(10);
        dtd.push_str(&format!("<!ENTITY lol{i} \"{refs}\">\n"));
    }
    dtd.push(']');
    dtd.push('>');
    format!(
        "<?xml version=\"1.0\"?>\n{dtd}\n<DTS:Executable xmlns:DTS=\"{DTS}\" DTS:ExecutableType=\"Microsoft.Package\" DTS:ProtectionLevel=\"0\" DTS:ObjectName=\"&lol10;\"><DTS:Property DTS:Name=\"PackageFormatVersion\">8</DTS:Property><DTS:Description>&lol10;</DTS:Description></DTS:Executable>"
    )
}

#[test]
fn harden_launcher() {
    harden::launcher();
}

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(w.dir.path().join("out")).unwrap();
        std::fs::write(w.dir.path().join("out/existing.dtsx"), b"old content").unwrap();
        w
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn add(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        std::fs::write(self.path(name), bytes).unwrap();
        self.path(name).display().to_string()
    }
    fn out(&self) -> String {
        self.path("out/result.dtsx").display().to_string()
    }
}

/// Runs each way of loading `file` (copy to msdb-free FILE with re-protection, decrypt to
/// level 0, overwrite an existing destination, inspect) and checks the promise.
fn assert_refused(w: &World, name: &str, file: &str, needles: &[&str]) {
    assert_refused_by(w, name, file, needles, true);
}

/// `inspect`: whether `dtutil inspect` must refuse it too. It opens level 3 packages
/// with the password but never decrypts level 2 values, so a fault inside one (padding,
/// the decrypted XML) is for the commands that decrypt.
fn assert_refused_by(w: &World, name: &str, file: &str, needles: &[&str], inspect: bool) {
    let mut runs: Vec<Vec<String>> = vec![
        vec![
            "/FILE".into(),
            file.into(),
            "/Decrypt".into(),
            PW.into(),
            "/ENCRYPT".into(),
            format!("FILE;{};2;new", w.out()),
        ],
        vec![
            "/FILE".into(),
            file.into(),
            "/Decrypt".into(),
            PW.into(),
            "/Q".into(),
            "/ENCRYPT".into(),
            format!("FILE;{};0", w.path("out/existing.dtsx").display()),
        ],
    ];
    if inspect {
        runs.push(vec![
            "inspect".into(),
            "--password".into(),
            PW.into(),
            file.into(),
        ]);
    }
    for args in runs {
        let before = snapshot(w.dir.path());
        let run = run_measured(&args, &[], TIME_LIMIT);
        let after = snapshot(w.dir.path());
        let ctx = format!(
            "{name}: dtutil {args:?}\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert_eq!(run.code, Some(5), "exit code; {ctx}");
        assert!(!run.all_output().contains("panicked"), "a panic; {ctx}");
        assert!(!run.stderr.trim().is_empty(), "no error message; {ctx}");
        let err = run.stderr.to_lowercase();
        assert!(
            needles.iter().any(|n| err.contains(&n.to_lowercase())),
            "the message names none of {needles:?}; {ctx}"
        );
        assert!(
            run.max_rss_kib < RSS_LIMIT_KIB,
            "peak RSS {} KiB over {RSS_LIMIT_KIB} KiB; {ctx}",
            run.max_rss_kib
        );
        assert_eq!(before, after, "something was written; {ctx}");
    }
}

#[test]
fn entity_expansion_bombs_are_refused() {
    let w = World::new();
    let bomb = billion_laughs();
    let f = w.add("laughs.dtsx", &bomb);
    assert_refused(
        &w,
        "billion laughs (internal DTD)",
        &f,
        &["DTD", "DOCTYPE", "entit"],
    );
    // Quadratic blowup: one large entity referenced many times.
    let big = "x".repeat(50_000);
    let quad = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY big \"{big}\">]><DTS:Executable xmlns:DTS=\"{DTS}\">{}</DTS:Executable>",
        "&big;".repeat(50_000)
    );
    let f = w.add("quadratic.dtsx", &quad);
    assert_refused(&w, "quadratic blowup", &f, &["DTD", "DOCTYPE", "entit"]);
    // Parameter entities and an external DTD subset.
    let f = w.add(
        "param.dtsx",
        format!("<?xml version=\"1.0\"?><!DOCTYPE a SYSTEM \"http://127.0.0.1:9/x.dtd\" [<!ENTITY % p \"<!ENTITY e 'x'>\"> %p;]><DTS:Executable xmlns:DTS=\"{DTS}\">&e;</DTS:Executable>"),
    );
    assert_refused(&w, "parameter entities", &f, &["DTD", "DOCTYPE", "entit"]);
}

#[test]
fn encrypted_payloads_that_decrypt_to_hostile_xml_are_refused() {
    let w = World::new();
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        let tag = alg_uri(alg);
        // Level 3: the whole package is the bomb, sealed with the right password.
        let f = w.add(
            &format!("l3bomb-{tag}.dtsx"),
            level3_sealed(alg, billion_laughs().as_bytes()),
        );
        assert_refused(
            &w,
            "level 3 billion laughs",
            &f,
            &["DTD", "DOCTYPE", "entit"],
        );
        let deep = format!(
            "<DTS:Executable xmlns:DTS=\"{DTS}\">{}{}</DTS:Executable>",
            "<a>".repeat(100_000),
            "</a>".repeat(100_000)
        );
        let f = w.add(
            &format!("l3deep-{tag}.dtsx"),
            level3_sealed(alg, deep.as_bytes()),
        );
        assert_refused(&w, "level 3 100k-deep nesting", &f, &["deep", "nest"]);
        // Level 2: a node whose plaintext is not one element but a DTD, an entity, junk.
        for (what, plain) in [
            (
                "DTD in a node",
                format!(
                    "<!DOCTYPE x [<!ENTITY e \"y\">]>{}",
                    element_plaintext("&e;")
                ),
            ),
            ("undefined entity in a node", element_plaintext("&lol9;")),
            (
                "two elements in a node",
                format!("{0}{0}", element_plaintext("v")),
            ),
            (
                "unclosed element in a node",
                element_plaintext("v").replace("</DTS:Password>", ""),
            ),
            (
                "invalid UTF-8 in a node",
                element_plaintext("\u{0}").replace('\u{0}', "\u{fffd}"),
            ),
        ] {
            let mut bytes = plain.into_bytes();
            if what.starts_with("invalid UTF-8") {
                let at = bytes.iter().position(|&b| b == 0xEF).unwrap();
                bytes.splice(at..at + 3, [0xC3, 0x28, 0xFF]);
            }
            let f = w.add(
                &format!("node-{}-{tag}.dtsx", what.replace(' ', "_")),
                level2_sealed(alg, &bytes),
            );
            assert_refused_by(
                &w,
                what,
                &f,
                &[
                    "DTD",
                    "entit",
                    "XML",
                    "UTF-8",
                    "element",
                    "decrypt",
                    "node",
                    "well-formed",
                ],
                false,
            );
        }
    }
}

#[test]
fn iv_of_the_wrong_size_is_refused() {
    let w = World::new();
    let s3 = crypto::seal(
        Algorithm::TripleDes,
        PW,
        element_plaintext("v").as_bytes(),
        Padding::Iso10126,
    );
    let sa = crypto::seal(
        Algorithm::Aes256,
        PW,
        element_plaintext("v").as_bytes(),
        Padding::Iso10126,
    );
    for (what, pkg) in [
        (
            "Triple DES with a 16-byte IV",
            level2(
                "tripledes-cbc",
                &b64(&s3.salt),
                &b64(&[7u8; 16]),
                &b64(&s3.cipher_value),
            ),
        ),
        (
            "Triple DES with a 7-byte IV",
            level2(
                "tripledes-cbc",
                &b64(&s3.salt),
                &b64(&[7u8; 7]),
                &b64(&s3.cipher_value),
            ),
        ),
        (
            "AES with an 8-byte IV",
            level2(
                "aes256-cbc",
                &b64(&sa.salt),
                &b64(&[7u8; 8]),
                &b64(&sa.cipher_value),
            ),
        ),
        (
            "AES with an empty IV",
            level2("aes256-cbc", &b64(&sa.salt), "", &b64(&sa.cipher_value)),
        ),
        (
            "AES with a 1 MiB IV",
            level2(
                "aes256-cbc",
                &b64(&sa.salt),
                &b64(&vec![7u8; 1 << 20]),
                &b64(&sa.cipher_value),
            ),
        ),
    ] {
        let f = w.add(&format!("{}.dtsx", what.replace(' ', "_")), pkg);
        assert_refused(&w, what, &f, &["IV"]);
    }
}

#[test]
fn cipher_value_lengths_off_by_one_are_refused() {
    let w = World::new();
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        let block = if alg == Algorithm::TripleDes { 8 } else { 16 };
        let s = crypto::seal(
            alg,
            PW,
            element_plaintext("v").as_bytes(),
            Padding::Iso10126,
        );
        let cv = &s.cipher_value;
        let mut plus_one = cv.clone();
        plus_one.push(0);
        for (what, bytes) in [
            ("one byte short", cv[..cv.len() - 1].to_vec()),
            ("one byte long", plus_one),
            ("the IV block only", cv[..block].to_vec()),
            ("IV and one byte", cv[..block + 1].to_vec()),
            ("IV less one byte", cv[..block - 1].to_vec()),
            ("empty", Vec::new()),
        ] {
            let pkg = level2(alg_uri(alg), &b64(&s.salt), &b64(&s.iv), &b64(&bytes));
            let f = w.add(
                &format!("len-{}-{}.dtsx", what.replace(' ', "_"), alg_uri(alg)),
                pkg,
            );
            assert_refused(
                &w,
                what,
                &f,
                &[
                    "length",
                    "block",
                    "CipherValue",
                    "short",
                    "empty",
                    "IV",
                    "bytes",
                ],
            );
        }
    }
}

#[test]
fn bad_padding_is_refused() {
    let w = World::new();
    for (alg, lasts) in [
        (Algorithm::TripleDes, vec![0u8, 9, 0xFF, 8]),
        (Algorithm::Aes256, vec![0u8, 17, 0xFF, 16]),
    ] {
        for last in lasts {
            let f = w.add(
                &format!("pad-{last}-{}.dtsx", alg_uri(alg)),
                level2_with_pad_byte(alg, last),
            );
            // A pad length that fits the block (8, 16) cuts the XML short instead.
            assert_refused_by(
                &w,
                &format!("pad byte {last} ({alg:?})"),
                &f,
                &["password", "padding", "XML", "decrypt"],
                false,
            );
        }
    }
}

#[test]
fn duplicate_markers_are_refused() {
    let w = World::new();
    let clear = clear_package("Dup", "v");
    let prop = "<DTS:Property DTS:Name=\"PackageFormatVersion\">8</DTS:Property>";
    let l2 = level2_sealed(Algorithm::TripleDes, element_plaintext("v").as_bytes());
    let cases = [
        // Format 8: the attribute and a property both.
        ("attribute and property", clear.replace(prop, &format!("{prop}<DTS:Property DTS:Name=\"ProtectionLevel\">2</DTS:Property>")), vec!["ProtectionLevel", "protection level"]),
        // Two EncryptedData IV / Salt attributes, two algorithms, two CipherValues.
        ("two IV attributes", l2.replacen(" IV=\"", " IV=\"AAAAAAAAAAA=\" IV=\"", 1), vec!["IV", "attribute", "duplicate"]),
        ("two Salt attributes", l2.replacen(" Salt=\"", " Salt=\"AAAAAAAAAA==\" Salt=\"", 1), vec!["Salt", "attribute", "duplicate"]),
        ("two EncryptionMethods", l2.replacen("<CipherData>", "<EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\" /><CipherData>", 1), vec!["EncryptionMethod", "EncryptedData", "duplicate", "two", "algorithm"]),
        ("two CipherValues", l2.replacen("</CipherData>", "<CipherValue>AAAA</CipherValue></CipherData>", 1), vec!["CipherValue", "EncryptedData", "duplicate", "two"]),
    ];
    for (what, pkg, needles) in cases {
        let f = w.add(&format!("dup-{}.dtsx", what.replace(' ', "_")), pkg);
        assert_refused(&w, what, &f, &needles);
    }
}

/// A sparse file just over `MAX_PACKAGE_BYTES` (1 GiB) proves the size bound without
/// allocating it: refused by its length (exit 5), in a few MiB, for every reader.
#[test]
fn a_file_over_the_size_limit_is_refused_without_reading_it() {
    let w = World::new();
    let giant = w.path("giant.dtsx");
    let f = std::fs::File::create(&giant).unwrap();
    f.set_len(dtutil::package::xml::MAX_PACKAGE_BYTES as u64 + 1)
        .unwrap();
    drop(f);
    let g = giant.display().to_string();
    let out = w.out();
    let existing = w.path("out/existing.dtsx").display().to_string();
    for args in [
        vec!["/FILE", &g, "/COPY", &format!("FILE;{out}")],
        vec!["/FILE", &g, "/Q", "/MOVE", &format!("FILE;{existing}")],
        vec!["/FILE", &g, "/ENCRYPT", &format!("FILE;{out};2;new")],
        vec!["/FILE", &g, "/I"],
        vec!["inspect", &g],
    ] {
        let before = snapshot(w.dir.path());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let run = run_measured(&args, &[], TIME_LIMIT);
        let ctx = format!(
            "dtutil {args:?}\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert_eq!(run.code, Some(5), "{ctx}");
        assert!(run.stderr.contains("limit"), "{ctx}");
        assert!(
            run.max_rss_kib < RSS_LIMIT_KIB,
            "peak RSS {} KiB; {ctx}",
            run.max_rss_kib
        );
        assert_eq!(
            before,
            snapshot(w.dir.path()),
            "something was written; {ctx}"
        );
    }
}

/// A password file that never ends (`file:/dev/zero`) must not fill memory.
#[test]
fn an_endless_password_file_is_refused() {
    let w = World::new();
    let src = w.add("clear.dtsx", clear_package("P", "v"));
    let run = run_measured(
        &[
            "/FILE".into(),
            src,
            "/ENCRYPT".into(),
            format!("FILE;{};2;file:/dev/zero", w.out()),
        ],
        &[],
        TIME_LIMIT,
    );
    assert_eq!(run.code, Some(6), "{run:?}");
    assert!(run.stderr.contains("password file"), "{run:?}");
    assert!(run.max_rss_kib < RSS_LIMIT_KIB, "{run:?}");
    assert!(!Path::new(&w.out()).exists());
}

/// An Azure Files endpoint that claims a 2 GiB file (Content-Range total) is refused
/// before anything that size is reserved or downloaded.
#[test]
fn azure_files_claiming_2_gib_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut req = Vec::new();
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let body = b"<?xml";
                let head = format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/2147483648\r\nContent-Length: {}\r\nx-ms-version: 2022-11-02\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(body);
            });
        }
    });
    let w = World::new();
    let src = r"\\acct.file.core.windows.net\pkgs\big.dtsx";
    for args in [
        vec![
            "/FILE".to_string(),
            src.to_string(),
            "/COPY".into(),
            format!("FILE;{}", w.out()),
        ],
        vec![
            "/FILE".to_string(),
            src.to_string(),
            "/ENCRYPT".into(),
            format!("FILE;{};0", w.out()),
        ],
    ] {
        let env = [
            ("AZURE_STORAGE_ACCOUNT", "acct".to_string()),
            (
                "AZURE_STORAGE_KEY",
                "a2V5LWZvci10ZXN0cy1vbmx5LWtleS1mb3ItdGVzdHMtb25seQ==".into(),
            ),
            ("DTUTIL_AZURE_FILES_ENDPOINT", format!("http://{addr}/acct")),
            ("DTUTIL_AZURE_RETRY_DELAY_MS", "5".into()),
        ]
        .map(|(k, v)| (k.to_string(), v));
        let run = run_measured(&args, &env, TIME_LIMIT);
        let ctx = format!("dtutil {args:?}: {run:?}");
        assert_eq!(run.code, Some(5), "{ctx}");
        assert!(run.stderr.contains("limit"), "{ctx}");
        assert!(run.max_rss_kib < RSS_LIMIT_KIB, "{ctx}");
        assert!(!Path::new(&w.out()).exists(), "{ctx}");
    }
}
