//! Project deployment files (issue 6) on the real `ssisbuild_*` files (password `ssis123`),
//! read in place from the shared fixtures folder.

mod common;

use dtutil::error::ExitCode;
use dtutil::package;
use dtutil::package::ProtectionLevel;
use dtutil::plan::ProjectPlan as ProjectArgs;
use dtutil::plan::SecretSpec;
use dtutil::project::file::{self, Kind, ProjectError};
use dtutil::project::run;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const PW: &str = "ssis123";

fn fixture(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const DTPROJ2: &str = "ssisbuild_SampleSSISProject.EncryptSensitiveWithPassword.dtproj";
const DTPROJ3: &str = "ssisbuild_SampleSSISProject.EncryptAllWithPassword.dtproj";
const PARAMS2: &str = "ssisbuild_Project.EncryptSensitiveWithPassword.params";
const PARAMS3: &str = "ssisbuild_Project.EncryptAllWithPassword.params";
const FTP2: &str = "ssisbuild_FTP_Connection_Manager.EncryptSensitiveWithPassword.conmgr";
const DB2: &str = "ssisbuild_db-01_msdb.EncryptSensitiveWithPassword.conmgr";
const DB3: &str = "ssisbuild_db-01111.msdb.EncryptAllWithPassword.conmgr";
const PKG2: &str = "ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx";
const PART3: &str = "ssisbuild_PackagePart1.EncryptAllWithPassword.dtsxp";

fn texts(values: &[dtutil::project::Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.text.clone().unwrap_or_default())
        .collect()
}

#[test]
fn every_ssisbuild_project_file_decrypts_to_known_values() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let cases: &[(&str, Kind, &[&str])] = &[
        (PARAMS2, Kind::Params, &["db-01", "msdb"]),
        (PARAMS3, Kind::Params, &["db-01", "msdb", ""]),
        (FTP2, Kind::ConnectionManager, &["12345"]),
        (DB2, Kind::ConnectionManager, &["Rbylpvfhfekb1"]),
        (DB3, Kind::ConnectionManager, &[""]),
        (DTPROJ2, Kind::Dtproj, &["2"]),
    ];
    for (name, kind, expected) in cases {
        let opened = file::open(&fixture(&dir, name), *kind, Some(PW)).unwrap();
        assert_eq!(texts(&opened.values), *expected, "{name}");
    }
    // The level 2 .dtproj's PasswordVerifier decrypts to `SSIS`.
    let d2 = file::open(&fixture(&dir, DTPROJ2), Kind::Dtproj, Some(PW)).unwrap();
    assert_eq!(d2.verifier, Some(true));
    assert_eq!(d2.level, ProtectionLevel::EncryptSensitiveWithPassword);
    // At level 3 the whole manifest is sealed; it has no PasswordVerifier inside.
    let d3 = file::open(&fixture(&dir, DTPROJ3), Kind::Dtproj, Some(PW)).unwrap();
    assert_eq!(d3.level, ProtectionLevel::EncryptAllWithPassword);
    assert_eq!(d3.verifier, None);
    assert!(d3.values.len() == 1, "{:?}", d3.values);
    for name in [DTPROJ2, DTPROJ3, PARAMS2, PARAMS3, FTP2, DB2, DB3] {
        let kind = kind_of(name);
        let e = file::open(&fixture(&dir, name), kind, Some("wrong")).err();
        assert_eq!(e, Some(ProjectError::WrongPassword), "{name}");
        let e = file::open(&fixture(&dir, name), kind, None).err();
        assert_eq!(e, Some(ProjectError::NeedsPassword), "{name}");
    }
}

fn kind_of(name: &str) -> Kind {
    if name.ends_with(".dtproj") {
        Kind::Dtproj
    } else if name.ends_with(".params") {
        Kind::Params
    } else {
        Kind::ConnectionManager
    }
}

#[test]
fn level_0_removes_exactly_the_encryption() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    // The db-01 connection manager at level 0 is the original less the Salt/IV/xmlns:p4
    // attributes and the ciphertext: the layout WWI's DontSaveSensitive .conmgr shows.
    let src = fixture(&dir, DB2);
    let r = file::reprotect(
        &src,
        Kind::ConnectionManager,
        Some(PW),
        ProtectionLevel::DontSaveSensitive,
        None,
    )
    .unwrap();
    let text = String::from_utf8(src.clone()).unwrap();
    let start = text.find("\n        p4:Salt=").unwrap();
    let end = text.find("</DTS:Password>").unwrap();
    let expected = format!("{}>{}", &text[..start], &text[end..]);
    assert_eq!(String::from_utf8(r.bytes.clone()).unwrap(), expected);
    // Level 2 again then 0: byte-identical to the first level 0.
    let two = file::reprotect(
        &r.bytes,
        Kind::ConnectionManager,
        None,
        ProtectionLevel::EncryptSensitiveWithPassword,
        Some("n3w"),
    )
    .unwrap();
    let t2 = String::from_utf8(two.bytes.clone()).unwrap();
    assert!(t2.contains("Sensitive=\"1\"\n        p4:Salt=\""), "{t2}");
    assert!(
        t2.contains("\" xmlns:p4=\"www.microsoft.com/SqlServer/SSIS\">"),
        "{t2}"
    );
    let zero = file::reprotect(
        &two.bytes,
        Kind::ConnectionManager,
        Some("n3w"),
        ProtectionLevel::DontSaveSensitive,
        None,
    )
    .unwrap();
    assert_eq!(zero.bytes, r.bytes);

    // The .dtproj at level 0: the PasswordVerifier line goes, the name and the package
    // entries' levels change, the sensitive package parameter is blanked; nothing else.
    let d = fixture(&dir, DTPROJ2);
    let z = file::reprotect(
        &d,
        Kind::Dtproj,
        Some(PW),
        ProtectionLevel::DontSaveSensitive,
        None,
    )
    .unwrap();
    let zt = String::from_utf8(z.bytes.clone()).unwrap();
    assert!(!zt.contains("PasswordVerifier"));
    assert!(!zt.contains("Salt="));
    assert!(zt.contains("SSIS:ProtectionLevel=\"DontSaveSensitive\""));
    assert!(zt.contains("<SSIS:Property SSIS:Name=\"ProtectionLevel\">0</SSIS:Property>"));
    assert!(!zt.contains("<SSIS:Property SSIS:Name=\"ProtectionLevel\">2</SSIS:Property>"));
    let dt = String::from_utf8(d.clone()).unwrap();
    assert_eq!(
        line_diff(&dt, &zt),
        1 + 2 + 1 + 1,
        "verifier line, 2 package levels, project level, value"
    );
    // Back to 2 and 0 again: identical.
    let two = file::reprotect(
        &z.bytes,
        Kind::Dtproj,
        None,
        ProtectionLevel::EncryptSensitiveWithPassword,
        Some("x"),
    )
    .unwrap();
    let opened = file::open(&two.bytes, Kind::Dtproj, Some("x")).unwrap();
    assert_eq!(opened.verifier, Some(true));
    let z2 = file::reprotect(
        &two.bytes,
        Kind::Dtproj,
        Some("x"),
        ProtectionLevel::DontSaveSensitive,
        None,
    )
    .unwrap();
    assert_eq!(z2.bytes, z.bytes);
}

/// Lines that differ between `a` and `b` (each changed, added or removed line counts once).
fn line_diff(a: &str, b: &str) -> usize {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    // Longest common subsequence of lines.
    let mut t = vec![vec![0usize; y.len() + 1]; x.len() + 1];
    for i in (0..x.len()).rev() {
        for j in (0..y.len()).rev() {
            t[i][j] = if x[i] == y[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let common = t[0][0];
    (x.len() - common).max(y.len() - common)
}

#[test]
fn encrypt_all_files_open_and_seal_as_ssis_writes_them() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    for name in [PARAMS3, DB3, DTPROJ3] {
        let kind = kind_of(name);
        let src = fixture(&dir, name);
        let before = file::open(&src, kind, Some(PW)).unwrap();
        // 3 -> 2 -> 3 with a new password, then back to 2: values unchanged throughout.
        let two = file::reprotect(
            &src,
            kind,
            Some(PW),
            ProtectionLevel::EncryptSensitiveWithPassword,
            Some("p2"),
        )
        .unwrap();
        assert_eq!(two.level_before, ProtectionLevel::EncryptAllWithPassword);
        let o2 = file::open(&two.bytes, kind, Some("p2")).unwrap();
        assert_eq!(texts(&o2.values), texts(&before.values), "{name}");
        let three = file::reprotect(
            &two.bytes,
            kind,
            Some("p2"),
            ProtectionLevel::EncryptAllWithPassword,
            Some("p3"),
        )
        .unwrap();
        let o3 = file::open(&three.bytes, kind, Some("p3")).unwrap();
        assert_eq!(o3.level, ProtectionLevel::EncryptAllWithPassword);
        assert_eq!(texts(&o3.values), texts(&before.values), "{name}");
        // Outside the sealed element the file is unchanged, and the element is laid out
        // like SSIS's own (same attribute order, same separators).
        let (s, t) = (
            String::from_utf8_lossy(&src),
            String::from_utf8_lossy(&three.bytes),
        );
        let head = |x: &str| x[..x.find("Salt=").unwrap()].to_string();
        let tail = |x: &str| x[x.rfind("</").unwrap()..].to_string();
        assert_eq!(head(&s), head(&t), "{name}");
        assert_eq!(tail(&s), tail(&t), "{name}");
        let between = |x: &str| {
            let a = x.find("Salt=\"").unwrap();
            let b = x[a..].find('>').unwrap() + a;
            let mut v = x[a..b].to_string();
            for attr in ["Salt=\"", "IV=\""] {
                let i = v.find(attr).unwrap() + attr.len();
                let j = v[i..].find('"').unwrap() + i;
                v.replace_range(i..j, "");
            }
            v
        };
        assert_eq!(between(&s), between(&t), "{name}");
        // The plaintext SSIS sealed and the one we seal are the same bytes.
        let p_src = open_all(&src, PW);
        let p_new = open_all(&three.bytes, "p3");
        assert_eq!(p_src, p_new, "{name}");
    }
}

/// Decrypts a file's EncryptAll element directly (test oracle, independent of `file`).
fn open_all(doc: &[u8], pw: &str) -> String {
    use base64::Engine;
    let t = String::from_utf8_lossy(doc);
    let grab = |attr: &str| {
        let i = t.find(attr).unwrap() + attr.len();
        let j = t[i..].find('"').unwrap() + i;
        base64::engine::general_purpose::STANDARD
            .decode(&t[i..j])
            .unwrap()
    };
    let iv = grab(":IV=\"");
    let salt = grab(":Salt=\"");
    let i = t[t.find(":IV=\"").unwrap()..].find('>').unwrap() + t.find(":IV=\"").unwrap() + 1;
    let j = t[i..].find('<').unwrap() + i;
    let ct = base64::engine::general_purpose::STANDARD
        .decode(&t[i..j])
        .unwrap();
    let p =
        dtutil::crypto::open_detached(dtutil::crypto::Algorithm::TripleDes, pw, &salt, &iv, &ct)
            .unwrap();
    String::from_utf8(p.to_vec()).unwrap()
}

/// A project folder as SSDT keeps it, built from the fixtures (all at level 2, except
/// the package part, saved EncryptAll).
fn build_project(dir: &Path, into: &Path) {
    let files = [
        (DTPROJ2, "SampleSSISProject.dtproj"),
        (PARAMS2, "Project.params"),
        (DB2, "db-01 msdb.conmgr"),
        (FTP2, "FTP Connection Manager.conmgr"),
        (PKG2, "Package 221.dtsx"),
        (PART3, "PackagePart1.dtsxp"),
    ];
    for (from, to) in files {
        std::fs::write(into.join(to), fixture(dir, from)).unwrap();
    }
    std::fs::write(into.join("SampleSSISProject.database"), b"<Database />\r\n").unwrap();
}

/// Every file's decrypted content with `pw`: project values, and each package's
/// sensitive values via the package engine (at level 0, their clear XML).
fn project_content(folder: &Path, pw: Option<&str>) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let bytes = std::fs::read(folder.join(&name)).unwrap();
        let kind = if name.ends_with(".dtproj") {
            Some(Kind::Dtproj)
        } else if name.ends_with(".params") {
            Some(Kind::Params)
        } else if name.ends_with(".conmgr") {
            Some(Kind::ConnectionManager)
        } else {
            None
        };
        if let Some(kind) = kind {
            let o = file::open(&bytes, kind, pw).unwrap_or_else(|e| panic!("{name}: {e}"));
            if o.level == ProtectionLevel::EncryptSensitiveWithPassword && kind == Kind::Dtproj {
                assert_eq!(o.verifier, Some(true), "{name}");
            }
            out.push((name, texts(&o.values)));
        } else if name.ends_with(".dtsx") || name.ends_with(".dtsxp") {
            let r = package::rewrite(
                &bytes,
                &package::Options {
                    decrypt_password: pw,
                    target: package::Target::Level {
                        level: ProtectionLevel::DontSaveSensitive,
                        password: None,
                    },
                    algorithm: None,
                    regenerate_id: false,
                    allow_lost_values: false,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            out.push((name, vec![r.level_before.to_string()]));
        }
    }
    out
}

fn levels(folder: &Path, pw: Option<&str>) -> Vec<(String, ProtectionLevel)> {
    let mut out = Vec::new();
    for (name, kind) in [
        ("SampleSSISProject.dtproj", Kind::Dtproj),
        ("Project.params", Kind::Params),
        ("db-01 msdb.conmgr", Kind::ConnectionManager),
        ("FTP Connection Manager.conmgr", Kind::ConnectionManager),
    ] {
        let o = file::open(&std::fs::read(folder.join(name)).unwrap(), kind, pw).unwrap();
        out.push((name.to_string(), o.level));
    }
    for name in ["Package 221.dtsx", "PackagePart1.dtsxp"] {
        let info = package::inspect(&std::fs::read(folder.join(name)).unwrap(), pw).unwrap();
        out.push((
            name.to_string(),
            ProtectionLevel::from_number(info.protection_level.unwrap()).unwrap(),
        ));
    }
    out
}

fn args(
    path: &Path,
    decrypt: Option<&str>,
    level: ProtectionLevel,
    pw: Option<&str>,
) -> ProjectArgs {
    ProjectArgs {
        path: path.to_string_lossy().into_owned(),
        decrypt: decrypt.map(|p| SecretSpec::Literal(p.into())),
        encrypt_level: Some(level),
        encrypt_password: pw.map(|p| SecretSpec::Literal(p.into())),
        out: None,
        overwrite: false,
        dry_run: false,
        json: true,
        algorithm: None,
        allow_lost_sensitive: false,
    }
}

fn manifest_package_levels(dtproj: &[u8]) -> Vec<String> {
    let t = String::from_utf8_lossy(dtproj);
    t.match_indices("<SSIS:Property SSIS:Name=\"ProtectionLevel\">")
        .map(|(i, m)| t[i + m.len()..i + m.len() + 1].to_string())
        .collect()
}

#[test]
fn project_folder_reprotects_2_0_2_3() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path();
    build_project(&dir, proj);
    let values_of = |pw: Option<&str>| {
        project_content(proj, pw)
            .into_iter()
            .filter(|(n, _)| !n.ends_with(".dtsx") && !n.ends_with(".dtsxp"))
            .collect::<Vec<_>>()
    };
    let original = values_of(Some(PW));
    assert!(original
        .iter()
        .any(|(_, v)| v.contains(&"Rbylpvfhfekb1".to_string())));
    let database = std::fs::read(proj.join("SampleSSISProject.database")).unwrap();

    // 2 -> 0
    assert_eq!(
        run(&args(
            proj,
            Some(PW),
            ProtectionLevel::DontSaveSensitive,
            None
        ))
        .unwrap(),
        ExitCode::Success
    );
    assert!(
        levels(proj, None)
            .iter()
            .all(|(_, l)| *l == ProtectionLevel::DontSaveSensitive),
        "{:?}",
        levels(proj, None)
    );
    let zero = values_of(None);
    for (name, vals) in &zero {
        assert!(vals.iter().all(|v| v.is_empty()), "{name}: {vals:?}");
    }
    assert_eq!(
        zero.iter().map(|(n, v)| (n, v.len())).collect::<Vec<_>>(),
        original
            .iter()
            .map(|(n, v)| (n, v.len()))
            .collect::<Vec<_>>()
    );
    let dtproj = std::fs::read(proj.join("SampleSSISProject.dtproj")).unwrap();
    assert!(manifest_package_levels(&dtproj).iter().all(|l| l == "0"));
    assert!(!String::from_utf8_lossy(&dtproj).contains("PasswordVerifier"));

    // 0 -> 2 with a new password
    assert_eq!(
        run(&args(
            proj,
            None,
            ProtectionLevel::EncryptSensitiveWithPassword,
            Some("n3w-pw")
        ))
        .unwrap(),
        ExitCode::Success
    );
    assert!(levels(proj, Some("n3w-pw"))
        .iter()
        .all(|(_, l)| *l == ProtectionLevel::EncryptSensitiveWithPassword));
    assert_eq!(values_of(Some("n3w-pw")), zero);
    let dtproj = std::fs::read(proj.join("SampleSSISProject.dtproj")).unwrap();
    assert!(manifest_package_levels(&dtproj).iter().all(|l| l == "2"));
    assert_eq!(
        file::open(&dtproj, Kind::Dtproj, Some("n3w-pw"))
            .unwrap()
            .verifier,
        Some(true)
    );
    assert_eq!(
        file::open(&dtproj, Kind::Dtproj, Some(PW)).err(),
        Some(ProjectError::WrongPassword)
    );

    // 2 -> 3
    assert_eq!(
        run(&args(
            proj,
            Some("n3w-pw"),
            ProtectionLevel::EncryptAllWithPassword,
            Some("third")
        ))
        .unwrap(),
        ExitCode::Success
    );
    assert!(levels(proj, Some("third"))
        .iter()
        .all(|(_, l)| *l == ProtectionLevel::EncryptAllWithPassword));
    assert_eq!(values_of(Some("third")), zero);
    let dtproj = std::fs::read(proj.join("SampleSSISProject.dtproj")).unwrap();
    assert!(String::from_utf8_lossy(&dtproj)
        .contains("SSIS:ProtectionLevel=\"EncryptAllWithPassword\""));
    let inner = open_all(&dtproj, "third");
    let inner_levels = manifest_package_levels(inner.as_bytes());
    assert!(
        !inner_levels.is_empty() && inner_levels.iter().all(|l| l == "3"),
        "{inner_levels:?}"
    );
    assert_eq!(
        std::fs::read(proj.join("SampleSSISProject.database")).unwrap(),
        database
    );

    // And 3 -> 2 with the values that were there at the start, from the fixtures.
    let tmp2 = tempfile::tempdir().unwrap();
    build_project(&dir, tmp2.path());
    assert_eq!(
        run(&args(
            tmp2.path(),
            Some(PW),
            ProtectionLevel::EncryptAllWithPassword,
            Some("q")
        ))
        .unwrap(),
        ExitCode::Success
    );
    assert_eq!(
        run(&args(
            tmp2.path(),
            Some("q"),
            ProtectionLevel::EncryptSensitiveWithPassword,
            Some("r")
        ))
        .unwrap(),
        ExitCode::Success
    );
    let back: Vec<_> = project_content(tmp2.path(), Some("r"))
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".dtsx") && !n.ends_with(".dtsxp"))
        .collect();
    assert_eq!(back, original);
}

#[test]
fn wrong_password_is_exit_5_naming_the_file_and_writes_nothing() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    build_project(&dir, tmp.path());
    let snapshot = snapshot(tmp.path());
    let e = run(&args(
        tmp.path(),
        Some("nope"),
        ProtectionLevel::DontSaveSensitive,
        None,
    ))
    .unwrap_err();
    assert_eq!(e.exit, ExitCode::PackageCannotLoad);
    assert!(
        e.message.contains('`') && e.message.contains("password"),
        "{}",
        e.message
    );
    assert!(
        [
            "SampleSSISProject.dtproj",
            "Project.params",
            "db-01 msdb.conmgr",
            "FTP Connection Manager.conmgr",
            "Package 221.dtsx",
            "PackagePart1.dtsxp"
        ]
        .iter()
        .any(|n| e.message.contains(n)),
        "{}",
        e.message
    );
    assert_eq!(snapshot, snapshot_now(tmp.path()));
    // One file with another password: the others would succeed, still nothing written.
    std::fs::write(
        tmp.path().join("FTP Connection Manager.conmgr"),
        file::reprotect(
            &fixture(&dir, FTP2),
            Kind::ConnectionManager,
            Some(PW),
            ProtectionLevel::EncryptSensitiveWithPassword,
            Some("other"),
        )
        .unwrap()
        .bytes,
    )
    .unwrap();
    let snapshot = snapshot_now(tmp.path());
    let e = run(&args(
        tmp.path(),
        Some(PW),
        ProtectionLevel::DontSaveSensitive,
        None,
    ))
    .unwrap_err();
    assert_eq!(e.exit, ExitCode::PackageCannotLoad);
    assert!(
        e.message.contains("FTP Connection Manager.conmgr"),
        "{}",
        e.message
    );
    assert_eq!(snapshot, snapshot_now(tmp.path()));
    // Levels 1 and 4 are explained, not attempted.
    let e = run(&args(
        tmp.path(),
        Some(PW),
        ProtectionLevel::EncryptSensitiveWithUserKey,
        None,
    ))
    .unwrap_err();
    assert_eq!(e.exit, ExitCode::CommandLine);
    assert!(
        e.message.contains("DPAPI") && e.message.contains("Windows"),
        "{}",
        e.message
    );
}

fn snapshot(p: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot_now(p)
}

fn snapshot_now(p: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let b = std::fs::read(&path).unwrap();
            (path, b)
        })
        .collect();
    v.sort();
    v
}

/// An .ispac as SSDT builds one: OPC parts with URI-escaped names, mixed compression.
fn build_ispac(dir: &Path, path: &Path) -> Vec<(String, Vec<u8>)> {
    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod::{Deflated, Stored};
    let content_types = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"dtsx\" ContentType=\"text/xml\" /><Default Extension=\"conmgr\" ContentType=\"text/xml\" /><Default Extension=\"params\" ContentType=\"text/xml\" /><Default Extension=\"manifest\" ContentType=\"text/xml\" /></Types>".to_vec();
    // The manifest inside an .ispac is the SSIS:Project element as its own document.
    let dtproj = String::from_utf8(fixture(dir, DTPROJ2)).unwrap();
    let a = dtproj.find("<SSIS:Project ").unwrap();
    let b = dtproj.find("</SSIS:Project>").unwrap() + "</SSIS:Project>".len();
    let manifest = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>{}",
        &dtproj[a..b]
    )
    .into_bytes();
    let entries: Vec<(String, Vec<u8>, zip::CompressionMethod)> = vec![
        ("@Project.manifest".into(), manifest, Deflated),
        ("Package%20221.dtsx".into(), fixture(dir, PKG2), Deflated),
        ("db-01%20msdb.conmgr".into(), fixture(dir, DB2), Deflated),
        (
            "FTP%20Connection%20Manager.conmgr".into(),
            fixture(dir, FTP2),
            Stored,
        ),
        ("Project.params".into(), fixture(dir, PARAMS2), Deflated),
        ("[Content_Types].xml".into(), content_types, Deflated),
        (
            "readme%20unrelated.txt".into(),
            b"unrelated entry, kept byte for byte\r\n".to_vec(),
            Stored,
        ),
    ];
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes, method) in &entries {
        w.start_file(
            name.as_str(),
            SimpleFileOptions::default().compression_method(*method),
        )
        .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
    entries.into_iter().map(|(n, b, _)| (n, b)).collect()
}

struct ZipEntry {
    name: String,
    method: zip::CompressionMethod,
    data: Vec<u8>,
    raw: Vec<u8>,
}

fn read_zip(path: &Path) -> Vec<ZipEntry> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut raw = Vec::new();
        z.by_index_raw(i).unwrap().read_to_end(&mut raw).unwrap();
        let mut f = z.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        out.push(ZipEntry {
            name: f.name().unwrap().into_owned(),
            method: f.compression(),
            data,
            raw,
        });
    }
    out
}

#[test]
fn ispac_round_trips_with_unrelated_entries_byte_identical() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ispac = tmp.path().join("SampleSSISProject.ispac");
    build_ispac(&dir, &ispac);
    let before = read_zip(&ispac);

    // 2 -> 3 into another file, then 3 -> 2 in place, then 0.
    let out = tmp.path().join("out.ispac");
    let mut a = args(
        &ispac,
        Some(PW),
        ProtectionLevel::EncryptAllWithPassword,
        Some("zip-pw"),
    );
    a.out = Some(out.to_string_lossy().into_owned());
    assert_eq!(run(&a).unwrap(), ExitCode::Success);
    assert_eq!(read_zip(&ispac).len(), before.len(), "source untouched");
    let three = read_zip(&out);
    assert_eq!(
        three.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
        before.iter().map(|e| e.name.clone()).collect::<Vec<_>>()
    );
    for (x, y) in before.iter().zip(&three) {
        assert_eq!(x.method, y.method, "{}", x.name);
        if x.name.ends_with(".txt") || x.name.starts_with("[Content_Types]") {
            assert_eq!(x.raw, y.raw, "{} must be copied byte for byte", x.name);
        } else {
            assert_ne!(x.data, y.data, "{} must be re-protected", x.name);
        }
    }
    let manifest = &three[0].data;
    assert!(String::from_utf8_lossy(manifest)
        .contains("SSIS:ProtectionLevel=\"EncryptAllWithPassword\""));
    let m = file::open(manifest, Kind::Manifest, Some("zip-pw")).unwrap();
    assert_eq!(m.level, ProtectionLevel::EncryptAllWithPassword);

    assert_eq!(
        run(&args(
            &out,
            Some("zip-pw"),
            ProtectionLevel::EncryptSensitiveWithPassword,
            Some(PW)
        ))
        .unwrap(),
        ExitCode::Success
    );
    let two = read_zip(&out);
    for (x, y) in before.iter().zip(&two) {
        assert_eq!(x.name, y.name);
        if x.name.ends_with(".conmgr") || x.name.ends_with(".params") {
            let kind = if x.name.ends_with(".params") {
                Kind::Params
            } else {
                Kind::ConnectionManager
            };
            let v1 = file::open(&x.data, kind, Some(PW)).unwrap();
            let v2 = file::open(&y.data, kind, Some(PW)).unwrap();
            assert_eq!(texts(&v1.values), texts(&v2.values), "{}", x.name);
        }
        if x.name.ends_with(".txt") || x.name.starts_with("[Content_Types]") {
            assert_eq!(x.raw, y.raw);
        }
    }
    let m = file::open(&two[0].data, Kind::Manifest, Some(PW)).unwrap();
    assert_eq!(m.verifier, Some(true));
    let pkg = package::inspect(&two[1].data, Some(PW)).unwrap();
    assert_eq!(pkg.protection_level, Some(2));

    // Dry run writes nothing.
    let snap = std::fs::read(&out).unwrap();
    let mut d = args(&out, Some(PW), ProtectionLevel::DontSaveSensitive, None);
    d.dry_run = true;
    assert_eq!(run(&d).unwrap(), ExitCode::Success);
    assert_eq!(std::fs::read(&out).unwrap(), snap);
}

#[test]
fn inspect_reports_the_password_verifier_check() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let d2 = fixture(&dir, DTPROJ2);
    let ok = dtutil::project::inspect_with_password(&d2, Some(PW))
        .unwrap()
        .unwrap();
    assert_eq!(ok.password_correct, Some(true));
    assert_eq!(ok.password_verifier.as_deref(), Some("password"));
    let bad = dtutil::project::inspect_with_password(&d2, Some("x"))
        .unwrap()
        .unwrap();
    assert_eq!(bad.password_correct, Some(false));
    let wwi = fixture(&dir, "wwi_WWI_SSIS.DontSaveSensitive.dtproj");
    let none = dtutil::project::inspect_with_password(&wwi, Some("x"))
        .unwrap()
        .unwrap();
    assert_eq!(none.password_verifier.as_deref(), Some("none"));
    assert_eq!(none.password_correct, None);
    let wrox = fixture(&dir, "wrox_ProSSIS_Ch15.EncryptSensitiveWithUserKey.dtproj");
    let uk = dtutil::project::inspect_with_password(&wrox, None)
        .unwrap()
        .unwrap();
    assert_eq!(uk.password_verifier.as_deref(), Some("user key"));
}

#[test]
fn user_key_project_can_only_go_to_level_0() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let wrox = fixture(&dir, "wrox_ProSSIS_Ch15.EncryptSensitiveWithUserKey.dtproj");
    // Its only DPAPI value is the PasswordVerifier (no sensitive value is stored), so a
    // password level can be written: the verifier is made anew.
    let two = file::reprotect(
        &wrox,
        Kind::Dtproj,
        None,
        ProtectionLevel::EncryptSensitiveWithPassword,
        Some("x"),
    )
    .unwrap();
    assert_eq!(
        two.level_before,
        ProtectionLevel::EncryptSensitiveWithUserKey
    );
    assert_eq!(
        file::open(&two.bytes, Kind::Dtproj, Some("x"))
            .unwrap()
            .verifier,
        Some(true)
    );
    // A DPAPI value that is stored cannot be carried to a password level.
    let params = fixture(&dir, "wwi_Project.DontSaveSensitive.params");
    let t = String::from_utf8(params).unwrap().replacen(
        "SSIS:Sensitive=\"1\"></SSIS:Property>",
        "SSIS:Sensitive=\"1\">AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAA</SSIS:Property>",
        1,
    );
    let e = file::reprotect(
        t.as_bytes(),
        Kind::Params,
        None,
        ProtectionLevel::EncryptSensitiveWithPassword,
        Some("x"),
    )
    .unwrap_err();
    assert!(matches!(e, ProjectError::UserKey(_)), "{e}");
    let z = file::reprotect(
        t.as_bytes(),
        Kind::Params,
        None,
        ProtectionLevel::DontSaveSensitive,
        None,
    )
    .unwrap();
    assert_eq!(z.lost_values.len(), 1);
    let z = file::reprotect(
        &wrox,
        Kind::Dtproj,
        None,
        ProtectionLevel::DontSaveSensitive,
        None,
    )
    .unwrap();
    let t = String::from_utf8(z.bytes).unwrap();
    assert!(!t.contains("PasswordVerifier") && !t.contains("AQAAANCMnd8"));
    assert!(t.contains("SSIS:ProtectionLevel=\"DontSaveSensitive\""));
}

/// Runs without the shared fixtures: a synthetic connection manager and parameters file
/// go 0 -> 2 -> 3 -> 2 -> 0 and come back byte-identical at level 0.
#[test]
fn synthetic_files_round_trip_to_identical_level_0() {
    let conmgr = "\u{feff}<?xml version=\"1.0\"?>\r\n<DTS:ConnectionManager xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"\r\n  DTS:ObjectName=\"x\">\r\n  <DTS:ObjectData>\r\n    <DTS:ConnectionManager\r\n      DTS:ConnectionString=\"Data Source=a;User ID=u;\">\r\n      <DTS:Password\r\n        DTS:Name=\"Password\"\r\n        Sensitive=\"1\"></DTS:Password>\r\n    </DTS:ConnectionManager>\r\n  </DTS:ObjectData>\r\n</DTS:ConnectionManager>";
    let params = "\u{feff}<?xml version=\"1.0\"?>\n<SSIS:Parameters xmlns:SSIS=\"www.microsoft.com/SqlServer/SSIS\">\n  <SSIS:Parameter\n    SSIS:Name=\"P\">\n    <SSIS:Properties>\n      <SSIS:Property\n        SSIS:Name=\"Value\"\n        SSIS:Sensitive=\"1\"></SSIS:Property>\n    </SSIS:Properties>\n  </SSIS:Parameter>\n</SSIS:Parameters>";
    for (doc, kind, value) in [
        (conmgr, Kind::ConnectionManager, "s3cr&amp;t"),
        (params, Kind::Params, "v&lt;1&gt;"),
    ] {
        // Put a value in (as a user would type it) and check it survives every level.
        let with_value = doc.replacen("\"1\"></", &format!("\"1\">{value}</"), 1);
        let two = file::reprotect(
            with_value.as_bytes(),
            kind,
            None,
            ProtectionLevel::EncryptSensitiveWithPassword,
            Some("a"),
        )
        .unwrap();
        assert_eq!(
            texts(&file::open(&two.bytes, kind, Some("a")).unwrap().values),
            vec![value.to_string()]
        );
        let three = file::reprotect(
            &two.bytes,
            kind,
            Some("a"),
            ProtectionLevel::EncryptAllWithPassword,
            Some("b"),
        )
        .unwrap();
        assert_eq!(
            texts(&file::open(&three.bytes, kind, Some("b")).unwrap().values),
            vec![value.to_string()]
        );
        let back = file::reprotect(
            &three.bytes,
            kind,
            Some("b"),
            ProtectionLevel::EncryptSensitiveWithPassword,
            Some("c"),
        )
        .unwrap();
        assert_eq!(
            texts(&file::open(&back.bytes, kind, Some("c")).unwrap().values),
            vec![value.to_string()]
        );
        let zero = file::reprotect(
            &back.bytes,
            kind,
            Some("c"),
            ProtectionLevel::DontSaveSensitive,
            None,
        )
        .unwrap();
        assert_eq!(String::from_utf8(zero.bytes).unwrap(), doc, "{kind:?}");
        assert_eq!(
            file::reprotect(
                &three.bytes,
                kind,
                Some("x"),
                ProtectionLevel::DontSaveSensitive,
                None
            )
            .err(),
            Some(ProjectError::WrongPassword)
        );
    }
}
