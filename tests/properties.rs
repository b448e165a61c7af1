//! Property tests: for random sensitive values, passwords (non-ASCII too) and package
//! layouts, encrypting then decrypting gives back the package byte for byte.

use dtutil::crypto::Algorithm;
use dtutil::package::ProtectionLevel;
use dtutil::package::{inspect, rewrite, Options, Target};
use proptest::prelude::*;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Debug, Clone)]
struct Layout {
    newline: &'static str,
    indent: &'static str,
    format8: bool,
    bom: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop_oneof![Just(""), Just("\n"), Just("\r\n")],
        prop_oneof![Just(""), Just("  "), Just("\t")],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(newline, indent, format8, bom)| Layout {
            newline,
            indent,
            format8,
            bom,
        })
}

/// A clear (ServerStorage, level 5) package holding `values` as sensitive elements.
fn package(values: &[String], param: Option<&str>, l: &Layout) -> Vec<u8> {
    let (nl, ind) = (l.newline, l.indent);
    let mut s = String::new();
    if l.bom {
        s.push('\u{FEFF}');
    }
    s.push_str("<?xml version=\"1.0\"?>");
    s.push_str(nl);
    if l.format8 {
        s.push_str(&format!("<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\"{nl}{ind}DTS:DTSID=\"{{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}}\"{nl}{ind}DTS:PackageType=\"5\"{nl}{ind}DTS:ProtectionLevel=\"5\">{nl}{ind}<DTS:Property DTS:Name=\"PackageFormatVersion\">8</DTS:Property>{nl}"));
    } else {
        s.push_str(&format!("<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:ExecutableType=\"SSIS.Package.2\">{nl}<DTS:Property DTS:Name=\"PackageFormatVersion\">3</DTS:Property>{nl}<DTS:Property DTS:Name=\"ProtectionLevel\">5</DTS:Property>{nl}<DTS:Property DTS:Name=\"DTSID\">{{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}}</DTS:Property>{nl}"));
    }
    for (i, v) in values.iter().enumerate() {
        s.push_str(&format!(
            "{ind}<DTS:ConnectionManager DTS:ObjectName=\"C{i}\">{nl}{ind}{ind}<DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString=\"x\">{nl}{ind}{ind}{ind}<DTS:Password DTS:Name=\"Password\" Sensitive=\"1\">{}</DTS:Password>{nl}{ind}{ind}</DTS:ConnectionManager></DTS:ObjectData>{nl}{ind}</DTS:ConnectionManager>{nl}",
            escape(v)
        ));
    }
    if let (Some(p), true) = (param, l.format8) {
        s.push_str(&format!("{ind}<DTS:PackageParameters><DTS:PackageParameter DTS:ObjectName=\"P\" DTS:Sensitive=\"True\">{nl}{ind}{ind}<DTS:Property DTS:Name=\"ParameterValue\"><DTS:Property DTS:DataType=\"8\" DTS:Name=\"ParameterValue\">{}</DTS:Property></DTS:Property>{nl}{ind}</DTS:PackageParameter></DTS:PackageParameters>{nl}", escape(p)));
    }
    s.push_str("</DTS:Executable>");
    s.push_str(nl);
    s.into_bytes()
}

fn to(
    level: u32,
    bytes: &[u8],
    dec: Option<&str>,
    pw: Option<&str>,
    alg: Option<Algorithm>,
) -> Vec<u8> {
    rewrite(
        bytes,
        &Options {
            decrypt_password: dec,
            target: Target::Level {
                level: ProtectionLevel::from_number(level).unwrap(),
                password: pw,
            },
            algorithm: alg,
            regenerate_id: false,
            allow_lost_values: false,
        },
    )
    .unwrap()
    .bytes
}

fn value() -> impl Strategy<Value = String> {
    // Any text XML can carry: no control characters but tab/newline, no lone CR
    // (XML normalises line ends), non-ASCII welcome.
    "[\\PC\t\n]{0,40}".prop_map(|s| s.replace('\r', ""))
}

fn password() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{1,24}", "\\PC{1,12}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn encrypt_then_decrypt_is_identity(
        values in prop::collection::vec(value(), 0..5),
        param in prop::option::of(value()),
        layout in layout(),
        pw in password(),
        pw2 in password(),
        aes in any::<bool>(),
    ) {
        let alg = Some(if aes { Algorithm::Aes256 } else { Algorithm::TripleDes });
        let clear = package(&values, param.as_deref(), &layout);
        prop_assert!(inspect(&clear, None).is_ok());

        let l2 = to(2, &clear, None, Some(&pw), alg);
        for v in values.iter().filter(|v| v.len() > 3) {
            prop_assert!(!String::from_utf8_lossy(&l2).contains(&escape(v)));
        }
        prop_assert_eq!(to(5, &l2, Some(&pw), None, None), clear.clone());

        let l3 = to(3, &l2, Some(&pw), Some(&pw2), alg);
        prop_assert_eq!(to(5, &l3, Some(&pw2), None, None), clear.clone());

        // Re-keying level 2 -> 2 and 3 -> 3 keeps the content.
        let l2b = to(2, &l2, Some(&pw), Some(&pw2), None);
        prop_assert_eq!(to(5, &l2b, Some(&pw2), None, None), clear.clone());
        let l3b = to(3, &l3, Some(&pw2), Some(&pw), None);
        prop_assert_eq!(to(5, &l3b, Some(&pw), None, None), clear);
    }
}
