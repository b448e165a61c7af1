use super::encrypted::encrypted_data_xml;
use super::*;

const PKG8: &str = r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:refId="Package"
  DTS:DTSID="{11111111-2222-3333-4444-555555555555}"
  DTS:ObjectName="Demo"
  DTS:PackageType="5"
  DTS:VersionBuild="3"
  DTS:VersionGUID="{AAAAAAAA-2222-3333-4444-555555555555}">
  <DTS:Property
    DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:ConnectionManagers>
    <DTS:ConnectionManager DTS:ObjectName="Conn">
      <DTS:ObjectData>
        <DTS:ConnectionManager DTS:ConnectionString="Data Source=x;">
          <DTS:Password
            DTS:Name="Password"
            Sensitive="1">s3cr&amp;t</DTS:Password>
        </DTS:ConnectionManager>
      </DTS:ObjectData>
    </DTS:ConnectionManager>
  </DTS:ConnectionManagers>
  <DTS:PackageParameters>
    <DTS:PackageParameter DTS:ObjectName="P" DTS:Sensitive="True">
      <DTS:Property DTS:Name="ParameterValue"><DTS:Property DTS:DataType="8" DTS:Name="ParameterValue">pv</DTS:Property></DTS:Property>
    </DTS:PackageParameter>
  </DTS:PackageParameters>
</DTS:Executable>
"#;

fn rw(
    input: &[u8],
    dec: Option<&str>,
    level: u32,
    pw: Option<&str>,
) -> Result<Rewritten, PackageError> {
    rewrite(
        input,
        &Options {
            decrypt_password: dec,
            target: Target::Level {
                level: ProtectionLevel::from_number(level).unwrap(),
                password: pw,
            },
            algorithm: None,
            regenerate_id: false,
            allow_lost_values: false,
        },
    )
}

#[test]
fn level1_implicit_becomes_2_3_and_back_to_clear_with_level5() {
    let info = inspect(PKG8.as_bytes(), None).unwrap();
    assert_eq!(info.protection_level, Some(1));
    assert_eq!(info.sensitive_clear, Some(2));
    assert_eq!(info.format, Some(8));

    let l2 = rw(PKG8.as_bytes(), None, 2, Some("pw")).unwrap();
    let text = String::from_utf8(l2.bytes.clone()).unwrap();
    assert!(
        text.contains("DTS:PackageType=\"5\"\n  DTS:ProtectionLevel=\"2\""),
        "{text}"
    );
    assert!(!text.contains("s3cr"));
    assert_eq!(text.matches("<EncryptedData").count(), 2);
    let i2 = inspect(&l2.bytes, None).unwrap();
    assert_eq!(i2.encrypted, Some(2));
    assert_eq!(i2.sensitive_clear, Some(0));

    let l5 = rw(&l2.bytes, Some("pw"), 5, None).unwrap();
    let expect = PKG8.replace(
        "DTS:PackageType=\"5\"\n",
        "DTS:PackageType=\"5\"\n  DTS:ProtectionLevel=\"5\"\n",
    );
    assert_eq!(String::from_utf8(l5.bytes.clone()).unwrap(), expect);

    let l3 = rw(&l5.bytes, None, 3, Some("new")).unwrap();
    assert!(l3
        .bytes
        .starts_with(b"<?xml version=\"1.0\"?>\n<EncryptedData"));
    assert!(matches!(
        rw(&l3.bytes, Some("bad"), 0, None),
        Err(PackageError::WrongPassword)
    ));
    let back = rw(&l3.bytes, Some("new"), 5, None).unwrap();
    assert_eq!(back.bytes, l5.bytes);

    let l0 = rw(&l5.bytes, None, 0, None).unwrap();
    let t0 = String::from_utf8(l0.bytes).unwrap();
    assert!(t0.contains("Sensitive=\"1\"></DTS:Password>"));
    assert!(t0.contains("DTS:Name=\"ParameterValue\"></DTS:Property></DTS:Property>"));
}

#[test]
fn wrong_and_missing_passwords() {
    let l2 = rw(PKG8.as_bytes(), None, 2, Some("right")).unwrap();
    assert!(matches!(
        rw(&l2.bytes, None, 0, None),
        Err(PackageError::NeedsPassword)
    ));
    for bad in ["wrong", "", "Right", "righ"] {
        assert!(
            matches!(
                rw(&l2.bytes, Some(bad), 0, None),
                Err(PackageError::WrongPassword)
            ),
            "{bad}"
        );
    }
}

#[test]
fn malformed_reports_position() {
    let e = inspect(
        b"<DTS:Executable xmlns:DTS=\"x\">\n<a></b></DTS:Executable>",
        None,
    )
    .unwrap_err();
    assert!(
        matches!(e, PackageError::Malformed { line: 2, .. }),
        "{e:?}"
    );
    let e = inspect(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>", None).unwrap_err();
    assert!(e.to_string().contains("DTD"), "{e}");
}

#[test]
fn regenerate_id_changes_only_root_id() {
    let r = rewrite(
        PKG8.as_bytes(),
        &Options {
            decrypt_password: None,
            target: Target::Keep,
            algorithm: None,
            regenerate_id: true,
            allow_lost_values: false,
        },
    )
    .unwrap();
    let id = r.new_id.unwrap();
    assert_eq!(
        String::from_utf8(r.bytes).unwrap(),
        PKG8.replace("{11111111-2222-3333-4444-555555555555}", &id)
    );
}

/// Edits made in the document's own buffer give what the copying path gives, for
/// edits that grow, shrink, insert, delete and touch both ends.
#[test]
fn edits_in_place_equal_edits_copied() {
    use proptest::prelude::*;
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec((0usize..200, 0usize..12, 0usize..30), 0..12),
    );
    proptest!(ProptestConfig::with_cases(2000), |((doc, raw) in strategy)| {
        // Non-overlapping spans from the raw (start, length, replacement length).
        let mut spans: Vec<(usize, usize, usize)> = raw
            .into_iter()
            .map(|(s, l, r)| (s.min(doc.len()), l, r))
            .collect();
        spans.sort();
        let mut edits = Vec::new();
        let mut at = 0;
        for (i, (start, len, rlen)) in spans.into_iter().enumerate() {
            if start < at {
                continue;
            }
            let end = (start + len).min(doc.len());
            edits.push((Span::new(start, end), vec![b'a' + (i as u8 % 26); rlen]));
            at = end;
        }
        edits.reverse(); // any order in, document order out
        let copied = apply_edits(&doc, &edits).unwrap();
        let mut in_place = doc.clone();
        apply_edits_in_place(&mut in_place, &edits).unwrap();
        prop_assert_eq!(in_place, copied);
    });
}

#[test]
fn overlapping_edits_refused_in_place_too() {
    let mut doc = b"0123456789".to_vec();
    let edits = vec![(Span::new(2, 6), vec![]), (Span::new(4, 8), vec![b'x'])];
    assert!(apply_edits_in_place(&mut doc, &edits).is_err());
    assert!(apply_edits(&doc, &edits).is_err());
    assert_eq!(doc, b"0123456789");
}

/// The owned rewrite (the pipeline's) writes what the borrowed one writes.
#[test]
fn rewrite_owned_equals_rewrite() {
    let options = Options {
        decrypt_password: None,
        target: Target::Level {
            level: ProtectionLevel::DontSaveSensitive,
            password: None,
        },
        algorithm: None,
        regenerate_id: false,
        allow_lost_values: false,
    };
    let a = rewrite(PKG8.as_bytes(), &options).unwrap();
    let b = rewrite_owned(PKG8.as_bytes().to_vec(), &options).unwrap();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.facts, b.facts);
    let keep = Options {
        target: Target::Keep,
        ..options
    };
    let same = rewrite_owned(PKG8.as_bytes().to_vec(), &keep).unwrap();
    assert_eq!(same.bytes, PKG8.as_bytes());
}

/// The EncryptedData element keeps SSIS's layout, and its value opens.
#[test]
fn encrypted_data_has_ssis_layout() {
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        let keys = Keys::new("pw");
        let xml = encrypted_data_xml(alg, &keys, b"<a>x</a>");
        let xml = String::from_utf8(xml).unwrap();
        let (head, rest) = xml.split_once("<CipherValue>").unwrap();
        let prefix = "<EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\" Salt=\"";
        assert!(head.starts_with(prefix), "{head}");
        let suffix = format!(
            "\" xmlns=\"http://www.w3.org/2001/04/xmlenc#\"><EncryptionMethod Algorithm=\"{}\" /><CipherData>",
            alg.uri()
        );
        assert!(head.ends_with(&suffix), "{head}");
        let (salt, _) = head[prefix.len()..].split_once("\" IV=\"").unwrap();
        let (value, tail) = rest.split_once("</CipherValue>").unwrap();
        assert_eq!(tail, "</CipherData></EncryptedData>");
        let salt = encrypted::decode_base64(salt).unwrap();
        let cipher_value = encrypted::decode_base64(value).unwrap();
        let plain = Keys::new("pw").open(alg, &salt, &cipher_value).unwrap();
        assert_eq!(&plain[..], b"<a>x</a>");
    }
}

#[test]
fn base64_with_or_without_whitespace() {
    assert_eq!(encrypted::decode_base64("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(
        encrypted::decode_base64(" aGVs\r\n\tbG8=\n").unwrap(),
        b"hello"
    );
    assert!(encrypted::decode_base64("aGVs*bG8=").is_err());
}

/// Adversary2 F4: the level is read as an XML reader reads it (`&#53;` is 5), and a
/// second name for SSIS's namespace, which would hide a level from dtutil but not from
/// SSIS, makes the package unreadable.
#[test]
fn the_level_is_read_as_ssis_reads_it() {
    let at = |level: &str| {
        PKG8.replacen(
            "DTS:PackageType=\"5\"",
            &format!("DTS:PackageType=\"5\" DTS:ProtectionLevel=\"{level}\""),
            1,
        )
    };
    for (spelled, level) in [("&#53;", 5), ("&#x35;", 5), (" 5 ", 5), ("&#50;", 2)] {
        let info = inspect(at(spelled).as_bytes(), Some("pw"))
            .unwrap_or_else(|e| panic!("{spelled}: {e}"));
        assert_eq!(info.protection_level, Some(level), "{spelled}");
    }
    let ns = "xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"";
    for (binding, level_attr) in [
        (
            " xmlns:Q=\"www.microsoft.com/SqlServer/Dts\"",
            "Q:ProtectionLevel=\"5\"",
        ),
        (
            " xmlns:Q=\"www.microsoft.com/SqlServer/&#68;ts\"",
            "Q:ProtectionLevel=\"5\"",
        ),
        (
            " xmlns=\"www.microsoft.com/SqlServer/Dts\"",
            "DTS:VersionBuild=\"3\"",
        ),
    ] {
        let doc = PKG8.replacen(ns, &format!("{ns}{binding}"), 1).replacen(
            "DTS:VersionBuild=\"3\"",
            level_attr,
            1,
        );
        assert!(
            matches!(
                inspect(doc.as_bytes(), None),
                Err(PackageError::Malformed { .. })
            ),
            "{binding}"
        );
    }
}

/// A level 2 package of `n` connection managers whose passwords are sealed by `seal`
/// (index -> the EncryptedData element): enough values to be shared among threads.
fn many_values(n: usize, seal: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let (head, tail) = PKG8.split_once("  <DTS:ConnectionManagers>").unwrap();
    let tail = &tail[tail.find("  <DTS:PackageParameters>").unwrap()..];
    let head = head.replacen(
        "DTS:PackageType=\"5\"",
        "DTS:PackageType=\"5\" DTS:ProtectionLevel=\"2\"",
        1,
    );
    let mut doc = head.into_bytes();
    doc.extend_from_slice(b"  <DTS:ConnectionManagers>\n");
    for i in 0..n {
        doc.extend_from_slice(format!("    <DTS:ConnectionManager DTS:ObjectName=\"Conn{i}\"><DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString=\"Data Source=srv{i};\">").as_bytes());
        doc.extend_from_slice(&seal(i));
        doc.extend_from_slice(
            b"</DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager>\n",
        );
    }
    doc.extend_from_slice(b"  </DTS:ConnectionManagers>\n");
    // The package parameter's value, in the clear, is re-protected too.
    doc.extend_from_slice(tail.as_bytes());
    doc
}

fn password_element(i: usize) -> Vec<u8> {
    format!("<DTS:Password xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:Name=\"Password\" Sensitive=\"1\">Secret-{i}</DTS:Password>").into_bytes()
}

/// Hundreds of values, opened and sealed on several threads, come out in their
/// places: each decrypts with the new password to its own value.
#[test]
fn many_values_are_reprotected_in_their_places() {
    for alg in [Algorithm::TripleDes, Algorithm::Aes256] {
        let keys = Keys::new("old");
        let n = 300;
        let doc = many_values(n, |i| encrypted_data_xml(alg, &keys, &password_element(i)));
        let out = rw(&doc, Some("old"), 2, Some("new")).unwrap();
        assert_eq!(out.facts.as_ref().unwrap().protection_level, Some(2));
        assert!(
            rw(&out.bytes, Some("old"), 0, None).is_err(),
            "old password"
        );
        let clear = rw(&out.bytes, Some("new"), 0, None).unwrap().bytes;
        let clear = String::from_utf8(clear).unwrap();
        let mut at = 0;
        for i in 0..n {
            let conn = format!("Data Source=srv{i};\"><DTS:Password DTS:Name=\"Password\" Sensitive=\"1\"></DTS:Password>");
            at += clear[at..]
                .find(&conn)
                .unwrap_or_else(|| panic!("value {i}"));
        }
        // The same, copied or in place, and at level 3 the whole.
        let owned = rewrite_owned(
            doc.clone(),
            &Options {
                decrypt_password: Some("old"),
                target: Target::Level {
                    level: ProtectionLevel::EncryptSensitiveWithPassword,
                    password: Some("new"),
                },
                algorithm: None,
                regenerate_id: false,
                allow_lost_values: false,
            },
        )
        .unwrap();
        assert_eq!(owned.bytes.len(), out.bytes.len());
        let five = rw(&out.bytes, Some("new"), 5, None).unwrap().bytes;
        let five = String::from_utf8(five).unwrap();
        for i in [0, 1, n / 2, n - 1] {
            assert!(five.contains(&format!(">Secret-{i}</DTS:Password>")), "{i}");
        }
    }
}

/// Among many values, the first that fails (in the document's order) is the one
/// reported, whichever thread reaches it first.
#[test]
fn the_first_failing_value_is_reported() {
    let keys = Keys::new("pw");
    let other = Keys::new("not the password");
    let alg = Algorithm::TripleDes;
    let wrong_key = PackageError::WrongPassword;
    let two_elements = |e: &PackageError| matches!(e, PackageError::Unsupported(m) if m.contains("a second root element"));
    for (bad_key_at, two_at) in [(100, 250), (250, 100), (0, 299), (299, 0), (150, 151)] {
        let doc = many_values(300, |i| {
            if i == bad_key_at {
                // One in 256 wrong keys passes the padding check; this password's doesn't.
                encrypted_data_xml(alg, &other, &password_element(i))
            } else if i == two_at {
                let mut two = password_element(i);
                two.extend_from_slice(b"<x/>");
                encrypted_data_xml(alg, &keys, &two)
            } else {
                encrypted_data_xml(alg, &keys, &password_element(i))
            }
        });
        for level in [0, 2, 5] {
            let err = rw(&doc, Some("pw"), level, Some("new").filter(|_| level == 2)).unwrap_err();
            if bad_key_at < two_at {
                assert_eq!(err, wrong_key, "{bad_key_at} {two_at} {level}");
            } else {
                assert!(two_elements(&err), "{bad_key_at} {two_at} {level}: {err}");
            }
        }
    }
}

/// Review adversary4 F5: a Sensitive mark SSIS does not write is never left in the
/// clear under a level that promises encryption: the package is refused (exit 5).
#[test]
fn an_unclear_sensitive_mark_is_refused() {
    let password = r#"Sensitive="1">s3cr&amp;t<"#;
    let parameter = r#"DTS:Sensitive="True">"#;
    let cases = [
        (password, r#"Sensitive="True">s3cr&amp;t<"#),
        (password, r#"Sensitive=" 1">s3cr&amp;t<"#),
        (password, r#"Sensitive="1 ">s3cr&amp;t<"#),
        (password, r#"Sensitive="-1">s3cr&amp;t<"#),
        (parameter, r#"DTS:Sensitive=" True ">"#),
        (parameter, r#"DTS:Sensitive="-1">"#),
        (parameter, r#"DTS:Sensitive="yes">"#),
    ];
    for (from, to) in cases {
        let package = PKG8.replace(from, to);
        assert_ne!(package, PKG8);
        let refused = rw(package.as_bytes(), None, 2, Some("pw"));
        let Err(PackageError::Unsupported(why)) = &refused else {
            panic!("{to}: {refused:?}");
        };
        assert!(why.contains("is not one SSIS writes"), "{why}");
        assert!(!why.contains("s3cr") && !why.contains("pv"), "{why}");
        assert!(inspect(package.as_bytes(), None).is_err(), "{to}");
    }
    // What SSIS writes, in either case, still reads; `0` and `False` are not sensitive.
    for (from, to, clear) in [
        (parameter, r#"DTS:Sensitive="true">"#, 2),
        (parameter, r#"DTS:Sensitive="1">"#, 2),
        (parameter, r#"DTS:Sensitive="False">"#, 1),
        (password, r#"Sensitive="0">s3cr&amp;t<"#, 1),
    ] {
        let package = PKG8.replace(from, to);
        let info = inspect(package.as_bytes(), None).unwrap();
        assert_eq!(info.sensitive_clear, Some(clear), "{to}");
    }
}
