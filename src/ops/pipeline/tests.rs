use super::*;
use crate::crypto::DECRYPTIONS;
use crate::package::Info;

/// Format 8, level 1 (implicit), two sensitive values.
const PKG8: &str = r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:refId="Package"
  DTS:DTSID="{11111111-2222-3333-4444-555555555555}"
  DTS:ObjectName="Demo"
  DTS:Description="what it does"
  DTS:LastModifiedProductVersion="14.0.3002.68"
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

/// Format 3: metadata in the root's property children, level as a property.
const PKG3: &str = r#"<?xml version="1.0"?><DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:ExecutableType="SSIS.Package.2"><DTS:Property DTS:Name="PackageFormatVersion">3</DTS:Property><DTS:Property DTS:Name="ObjectName">Old</DTS:Property><DTS:Property DTS:Name="DTSID">{22222222-2222-3333-4444-555555555555}</DTS:Property><DTS:Property DTS:Name="Description">d &amp; e</DTS:Property><DTS:Property DTS:Name="PackageType">5</DTS:Property><DTS:Property DTS:Name="ProtectionLevel">0</DTS:Property><DTS:Property DTS:Name="VersionMajor">2</DTS:Property><DTS:Property DTS:Name="VersionBuild">7</DTS:Property>
<DTS:ConnectionManager><DTS:Property DTS:Name="ObjectName">C</DTS:Property><DTS:ObjectData><DTS:ConnectionManager><DTS:Property DTS:Name="Password" Sensitive="1">pw1</DTS:Property></DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager></DTS:Executable>"#;

/// A sensitive value where the package keeps its metadata: encrypting it hides the
/// description, so the facts of the output must be read from the output.
const NEAR_ROOT: &str = r#"<?xml version="1.0"?><DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:ExecutableType="SSIS.Package.2"><DTS:Property DTS:Name="PackageFormatVersion">3</DTS:Property><DTS:Property DTS:Name="DTSID">{33333333-2222-3333-4444-555555555555}</DTS:Property><DTS:Property DTS:Name="Description" Sensitive="1">hidden</DTS:Property><DTS:Property DTS:Name="ProtectionLevel">0</DTS:Property></DTS:Executable>"#;

fn level(n: u32) -> ProtectionLevel {
    ProtectionLevel::from_number(n).unwrap()
}

fn reprotect_to(n: u32, password: Option<&str>) -> Option<Reprotect<'_>> {
    Some(Reprotect {
        target: Target::Level {
            level: level(n),
            password,
        },
        algorithm: None,
        regenerate_id: false,
        allow_lost_values: false,
    })
}

fn protect(source: &str, n: u32, password: &str, algorithm: Algorithm) -> Vec<u8> {
    let mut reprotect = reprotect_to(n, Some(password)).unwrap();
    reprotect.algorithm = Some(algorithm);
    let recipe = Recipe {
        decrypt: None,
        reprotect: Some(reprotect),
    };
    prepare(source.as_bytes().to_vec(), &recipe).unwrap().bytes
}

fn decryptions() -> usize {
    DECRYPTIONS.with(|n| n.get())
}

fn runtime() -> Runtime {
    Runtime::parse("2017").unwrap()
}

#[test]
fn level3_to_sql_with_a_target_is_decrypted_once() {
    let source = protect(PKG8, 3, "old", Algorithm::TripleDes);
    let before = decryptions();
    let recipe = Recipe {
        decrypt: Some("old"),
        reprotect: reprotect_to(3, Some("new")),
    };
    let package = prepare(source, &recipe).unwrap();
    assert!(package.check_target(runtime()).unwrap().ok());
    let meta = package.msdb_meta();
    assert_eq!(decryptions() - before, 1, "the whole package, once");
    assert_eq!(
        meta.id.as_deref(),
        Some("{11111111-2222-3333-4444-555555555555}")
    );
    assert!(meta.is_encrypted);
    assert_eq!(meta.description.as_deref(), Some("what it does"));
    // The counter counts: reading the output again decrypts it again.
    package::inspect(&package.bytes, Some("new")).unwrap();
    assert_eq!(decryptions() - before, 2);
}

#[test]
fn level3_copied_as_it_is_is_opened_once_for_both_steps() {
    let source = protect(PKG8, 3, "pw", Algorithm::Aes256);
    let before = decryptions();
    let recipe = Recipe {
        decrypt: Some("pw"),
        reprotect: None,
    };
    let package = prepare(source.clone(), &recipe).unwrap();
    assert_eq!(decryptions(), before, "a plain copy opens nothing up front");
    assert_eq!(package.bytes, source);
    let verdict = package.check_target(runtime()).unwrap();
    assert!(!verdict.ok(), "AES-256 cannot run on 2017");
    assert_eq!(package.msdb_meta().version_build, 3);
    assert_eq!(decryptions() - before, 1);
}

#[test]
fn each_encrypted_value_is_decrypted_once() {
    let source = protect(PKG8, 2, "old", Algorithm::TripleDes);
    let before = decryptions();
    let recipe = Recipe {
        decrypt: Some("old"),
        reprotect: reprotect_to(2, Some("new")),
    };
    let package = prepare(source, &recipe).unwrap();
    package.check_target(runtime()).unwrap();
    package.msdb_meta();
    assert_eq!(decryptions() - before, 2, "two sensitive values");
}

#[test]
fn a_copy_of_an_unreadable_package_gets_default_columns_and_a_target_error() {
    let recipe = Recipe {
        decrypt: None,
        reprotect: None,
    };
    let package = prepare(b"<not a package".to_vec(), &recipe).unwrap();
    assert_eq!(package.msdb_meta(), PackageMeta::default());
    assert!(package.check_target(runtime()).is_err());
}

/// The facts a rewrite hands on are what reading its output would give.
#[test]
fn handed_on_facts_match_the_output_read_back() {
    let sources: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("pkg8", PKG8.as_bytes().to_vec(), None),
        ("pkg3", PKG3.as_bytes().to_vec(), None),
        ("near root", NEAR_ROOT.as_bytes().to_vec(), None),
        (
            "pkg8 level 2 aes",
            protect(PKG8, 2, "in", Algorithm::Aes256),
            Some("in"),
        ),
        (
            "pkg3 level 2 3des",
            protect(PKG3, 2, "in", Algorithm::TripleDes),
            Some("in"),
        ),
        (
            "near root level 2",
            protect(NEAR_ROOT, 2, "in", Algorithm::TripleDes),
            Some("in"),
        ),
        (
            "pkg3 level 3 aes",
            protect(PKG3, 3, "in", Algorithm::Aes256),
            Some("in"),
        ),
    ];
    let mut checked = 0;
    for (name, source, decrypt) in &sources {
        for n in [0u32, 2, 3, 5] {
            for password in [Some("in"), Some("out")] {
                for algorithm in [None, Some(Algorithm::TripleDes), Some(Algorithm::Aes256)] {
                    for regenerate_id in [false, true] {
                        let mut reprotect = reprotect_to(n, password).unwrap();
                        reprotect.algorithm = algorithm;
                        reprotect.regenerate_id = regenerate_id;
                        check_facts(name, source, *decrypt, reprotect, password);
                        checked += 1;
                    }
                }
            }
        }
        for algorithm in [None, Some(Algorithm::Aes256)] {
            let reprotect = Reprotect {
                target: Target::Keep,
                algorithm,
                regenerate_id: true,
                allow_lost_values: false,
            };
            check_facts(name, source, *decrypt, reprotect, *decrypt);
            checked += 1;
        }
    }
    assert_eq!(checked, 7 * (4 * 2 * 3 * 2 + 2));
}

fn check_facts(
    name: &str,
    source: &[u8],
    decrypt: Option<&str>,
    reprotect: Reprotect<'_>,
    opener: Option<&str>,
) {
    let recipe = Recipe {
        decrypt,
        reprotect: Some(reprotect),
    };
    let package = prepare(source.to_vec(), &recipe).unwrap();
    let read_back = package::inspect(&package.bytes, opener).map(|i: Info| Facts::from(&i));
    assert_eq!(
        package.facts().cloned().map_err(Clone::clone),
        read_back,
        "{name} -> {reprotect:?}"
    );
}

#[test]
fn near_root_values_are_read_back() {
    let recipe = Recipe {
        decrypt: None,
        reprotect: reprotect_to(2, Some("pw")),
    };
    let package = prepare(NEAR_ROOT.as_bytes().to_vec(), &recipe).unwrap();
    // Encrypted, the description is no longer the package's to show.
    assert_eq!(package.facts().unwrap().description, None);
    let copy = prepare(
        NEAR_ROOT.as_bytes().to_vec(),
        &Recipe {
            decrypt: None,
            reprotect: None,
        },
    )
    .unwrap();
    assert_eq!(copy.facts().unwrap().description.as_deref(), Some("hidden"));
}
